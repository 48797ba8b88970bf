//! Students' reports of problems with cards, and who hears of them: the instructor of every
//! class the reporter belongs to that studies the card's deck (assigned to the class, or
//! public), and the deck's owner if they teach; a report nobody else would see goes to the
//! admins.

use crate::db::{Executor, Pool};
use crate::domain::{ReportMessage, ReportReply};
use sqlx::FromRow;

/// Whether the user `$1` (an admin when `$2` is 1) hears of report `r` on card `c` of deck
/// `d`. A macro, so that `concat!` builds each query as one static string.
macro_rules! hears_of {
    () => {
        "(d.owner_id = $1
          OR EXISTS (SELECT 1 FROM classes k JOIN class_members m ON m.class_id = k.id
                     WHERE k.owner_id = $1 AND m.user_id = r.user_id
                       AND (d.public = 1 OR EXISTS (SELECT 1 FROM class_decks cd
                                                    WHERE cd.class_id = k.id AND cd.deck_id = d.id)))
          OR ($2 = 1
              AND NOT EXISTS (SELECT 1 FROM users o WHERE o.id = d.owner_id
                              AND o.role IN ('instructor', 'admin'))
              AND NOT EXISTS (SELECT 1 FROM classes k JOIN class_members m ON m.class_id = k.id
                              WHERE m.user_id = r.user_id
                                AND (d.public = 1 OR EXISTS (SELECT 1 FROM class_decks cd
                                                             WHERE cd.class_id = k.id AND cd.deck_id = d.id)))))"
    };
}

/// A report as the triage lists show it.
#[derive(Debug, Clone, FromRow)]
pub struct ReportRow {
    /// Id.
    pub id: i64,
    /// The card.
    pub card_id: i64,
    /// Its front.
    pub front: String,
    /// How its sides are stored (`markup::Format`): lists show an HTML front as text.
    #[sqlx(default)]
    pub format: String,
    /// Its deck.
    pub deck_id: i64,
    /// Its deck's name.
    pub deck_name: String,
    /// The deck's owner, if any (the shipped decks have none).
    pub owner_id: Option<i64>,
    /// The owner's name while they teach (and so may edit the deck); `None` when only the
    /// admins may.
    pub owner_name: Option<String>,
    /// Who reported it.
    pub username: String,
    /// What they said.
    pub message: String,
    /// Unix seconds.
    pub created_at: i64,
    /// When it was resolved, Unix seconds; `None` while open.
    pub resolved_at: Option<i64>,
    /// Who resolved it, by name.
    pub resolver: Option<String>,
    /// The reply the student was sent, if any.
    pub reply: Option<String>,
}

/// The columns of a `ReportRow`, over a report `r`, its card `c`, its deck `d` and its
/// reporter `u`.
macro_rules! report_columns {
    () => {
        "SELECT r.id, r.card_id, c.front, c.format, c.deck_id, d.name AS deck_name, d.owner_id,
                (SELECT o.username FROM users o
                  WHERE o.id = d.owner_id AND o.role IN ('instructor', 'admin')) AS owner_name,
                u.username, r.message, r.created_at, r.resolved_at,
                (SELECT b.username FROM users b WHERE b.id = r.resolved_by) AS resolver, r.reply"
    };
}

/// Which reports a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shown {
    /// Those waiting for someone (the default).
    #[default]
    Open,
    /// Those resolved, with their replies.
    Resolved,
    /// Both.
    All,
}

impl Shown {
    /// The filter as the inbox queries bind it (`$3`).
    fn code(self) -> i64 {
        match self {
            Shown::All => 0,
            Shown::Open => 1,
            Shown::Resolved => 2,
        }
    }
}

/// Files a report (its text already parsed: no NUL reaches the table).
pub async fn create(
    db: impl Executor<'_>,
    card_id: i64,
    user_id: i64,
    message: &ReportMessage,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO card_reports (card_id, user_id, message, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(card_id)
    .bind(user_id)
    .bind(message.as_str())
    .bind(now)
    .fetch_one(db)
    .await
}

/// Open reports by members of a class on cards the class studies (its decks and the public
/// ones), oldest first.
pub async fn open_for_class(
    db: impl Executor<'_>,
    class_id: i64,
) -> Result<Vec<ReportRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        report_columns!(),
        " FROM card_reports r
         JOIN cards c ON c.id = r.card_id
         JOIN decks d ON d.id = c.deck_id
         JOIN users u ON u.id = r.user_id
         WHERE r.resolved_at IS NULL
           AND (d.public = 1 OR EXISTS (SELECT 1 FROM class_decks cd
                                        WHERE cd.class_id = $1 AND cd.deck_id = c.deck_id))
           AND EXISTS (SELECT 1 FROM class_members m WHERE m.class_id = $1 AND m.user_id = r.user_id)
         ORDER BY r.id"
    ))
    .bind(class_id)
    .fetch_all(db)
    .await
}

/// Resolves a report listed for a class run by `owner_id`; false if there is no such report.
pub async fn resolve(
    db: impl Executor<'_>,
    report_id: i64,
    class_id: i64,
    owner_id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE card_reports SET resolved_at = $4, resolved_by = $3
         WHERE id = $1 AND resolved_at IS NULL
           AND EXISTS (SELECT 1 FROM classes k WHERE k.id = $2 AND k.owner_id = $3)
           AND EXISTS (SELECT 1 FROM cards c JOIN decks d ON d.id = c.deck_id
                       WHERE c.id = card_reports.card_id
                         AND (d.public = 1 OR EXISTS (SELECT 1 FROM class_decks cd
                                                      WHERE cd.class_id = $2 AND cd.deck_id = d.id)))
           AND EXISTS (SELECT 1 FROM class_members m WHERE m.class_id = $2 AND m.user_id = card_reports.user_id)",
    )
    .bind(report_id)
    .bind(class_id)
    .bind(owner_id)
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Where a page of the inbox starts: keyset paging by report id, so a page costs the same
/// however deep it is, and resolving a report does not shift the pages after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxCursor {
    /// The oldest reports.
    First,
    /// The reports after this id (the next page).
    After(i64),
    /// The reports before this id (the previous page).
    Before(i64),
}

/// One page of an inbox, oldest first, and what lies around it.
#[derive(Debug, Clone)]
pub struct InboxPage {
    /// The reports on this page.
    pub rows: Vec<ReportRow>,
    /// Whether older reports exist (a previous page).
    pub older: bool,
    /// Whether newer reports exist (a next page).
    pub newer: bool,
    /// Every report of the filter this user hears of.
    pub total: i64,
}

/// The joins and conditions of an inbox query, for user `$1` (an admin when `$2` is 1) and
/// the filter `$3` (`Shown::code`); the caller adds the cursor and the order.
macro_rules! inbox_from {
    () => {
        concat!(
            " FROM card_reports r
              JOIN cards c ON c.id = r.card_id
              JOIN decks d ON d.id = c.deck_id
              JOIN users u ON u.id = r.user_id
              WHERE ($3 = 0 OR ($3 = 1 AND r.resolved_at IS NULL)
                            OR ($3 = 2 AND r.resolved_at IS NOT NULL)) AND ",
            hears_of!()
        )
    };
}

/// A page of at most `limit` reports user `user_id` hears of, those `shown`, from `cursor`
/// (their inbox at /reports), with whether there are more on either side and how many there
/// are in all.
pub async fn inbox(
    db: &Pool,
    user_id: i64,
    is_admin: bool,
    shown: Shown,
    cursor: InboxCursor,
    limit: i64,
) -> Result<InboxPage, sqlx::Error> {
    let admin = i64::from(is_admin);
    let shown = shown.code();
    // One row more than the page says whether the page's own direction goes on.
    let (mut rows, backwards): (Vec<ReportRow>, bool) = match cursor {
        InboxCursor::First | InboxCursor::After(_) => {
            let after = match cursor {
                InboxCursor::After(id) => id,
                _ => i64::MIN,
            };
            let rows = sqlx::query_as(concat!(
                report_columns!(),
                inbox_from!(),
                " AND r.id > $4 ORDER BY r.id LIMIT $5"
            ))
            .bind(user_id)
            .bind(admin)
            .bind(shown)
            .bind(after)
            .bind(limit + 1)
            .fetch_all(db)
            .await?;
            (rows, false)
        }
        InboxCursor::Before(before) => {
            let rows = sqlx::query_as(concat!(
                report_columns!(),
                inbox_from!(),
                " AND r.id < $4 ORDER BY r.id DESC LIMIT $5"
            ))
            .bind(user_id)
            .bind(admin)
            .bind(shown)
            .bind(before)
            .bind(limit + 1)
            .fetch_all(db)
            .await?;
            (rows, true)
        }
    };
    let limit = usize::try_from(limit).unwrap_or(0);
    let beyond = rows.len() > limit;
    rows.truncate(limit);
    if backwards {
        rows.reverse();
    }
    // The side the page came from: rows beyond the cursor's id (or the cursor itself when the
    // page is empty, past either end).
    let (older, newer) = match cursor {
        InboxCursor::First => (false, beyond),
        InboxCursor::After(id) => {
            let first = rows.first().map_or(id.saturating_add(1), |r| r.id);
            (any_before(db, user_id, admin, shown, first).await?, beyond)
        }
        InboxCursor::Before(id) => {
            let last = rows.last().map_or(id.saturating_sub(1), |r| r.id);
            (beyond, any_after(db, user_id, admin, shown, last).await?)
        }
    };
    let total = sqlx::query_scalar(concat!("SELECT COUNT(*)", inbox_from!()))
        .bind(user_id)
        .bind(admin)
        .bind(shown)
        .fetch_one(db)
        .await?;
    Ok(InboxPage {
        rows,
        older,
        newer,
        total,
    })
}

/// Whether user `user_id` hears of a report of the filter older than report `id`.
async fn any_before(
    db: &Pool,
    user_id: i64,
    admin: i64,
    shown: i64,
    id: i64,
) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar(concat!(
        "SELECT r.id",
        inbox_from!(),
        " AND r.id < $4 LIMIT 1"
    ))
    .bind(user_id)
    .bind(admin)
    .bind(shown)
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}

/// Whether user `user_id` hears of a report of the filter newer than report `id`.
async fn any_after(
    db: &Pool,
    user_id: i64,
    admin: i64,
    shown: i64,
    id: i64,
) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar(concat!(
        "SELECT r.id",
        inbox_from!(),
        " AND r.id > $4 LIMIT 1"
    ))
    .bind(user_id)
    .bind(admin)
    .bind(shown)
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}

/// Replies to (and so resolves) a report `user_id` hears of: its reporter's id, or `None` if
/// they do not hear of it. A reply's text is unread (`reply_seen_at` NULL) until the reporter
/// opens the card or dismisses the notice.
pub async fn reply(
    db: impl Executor<'_>,
    report_id: i64,
    user_id: i64,
    is_admin: bool,
    text: Option<&ReportReply>,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(concat!(
        "UPDATE card_reports SET reply = COALESCE($4, reply), replied_at = CASE WHEN $4 IS NULL
                THEN replied_at ELSE $5 END,
                reply_seen_at = CASE WHEN $4 IS NULL THEN reply_seen_at ELSE NULL END,
                reply_mailed_at = CASE WHEN $4 IS NULL THEN reply_mailed_at ELSE NULL END,
                resolved_at = $5, resolved_by = $1
         WHERE id = $3 AND EXISTS (
            SELECT 1 FROM card_reports r JOIN cards c ON c.id = r.card_id
            JOIN decks d ON d.id = c.deck_id WHERE r.id = $3 AND ",
        hears_of!(),
        ") RETURNING user_id"
    ))
    .bind(user_id)
    .bind(i64::from(is_admin))
    .bind(report_id)
    .bind(text.map(ReportReply::as_str))
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Marks the replies to `user_id`'s reports as read: those on `card_id`, or all of them when
/// it is `None`. Returns how many were unread.
pub async fn mark_replies_read(
    db: impl Executor<'_>,
    user_id: i64,
    card_id: Option<i64>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE card_reports SET reply_seen_at = $3
         WHERE user_id = $1 AND ($2 IS NULL OR card_id = $2)
           AND replied_at IS NOT NULL AND reply_seen_at IS NULL",
    )
    .bind(user_id)
    .bind(card_id)
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Who hears of report `report_id` filed by `reporter_id`, by name (instructors and the deck's
/// owner), or an empty list when it goes to the admins.
pub async fn audience(
    db: &Pool,
    report_id: i64,
    reporter_id: i64,
) -> Result<Option<Vec<String>>, sqlx::Error> {
    let mine: Option<i64> =
        sqlx::query_scalar("SELECT id FROM card_reports WHERE id = $1 AND user_id = $2")
            .bind(report_id)
            .bind(reporter_id)
            .fetch_optional(db)
            .await?;
    let Some(report_id) = mine else {
        return Ok(None);
    };
    let names = sqlx::query_scalar(
        "SELECT DISTINCT u.username FROM card_reports r
         JOIN cards c ON c.id = r.card_id JOIN decks d ON d.id = c.deck_id
         JOIN users u ON u.id = d.owner_id AND u.role IN ('instructor', 'admin')
         WHERE r.id = $1
         UNION
         SELECT DISTINCT u.username FROM card_reports r
         JOIN cards c ON c.id = r.card_id JOIN decks d ON d.id = c.deck_id
         JOIN class_members m ON m.user_id = r.user_id
         JOIN classes k ON k.id = m.class_id
         JOIN users u ON u.id = k.owner_id
         WHERE r.id = $1 AND (d.public = 1 OR EXISTS (SELECT 1 FROM class_decks cd
                                                    WHERE cd.class_id = k.id AND cd.deck_id = d.id))
         ORDER BY 1",
    )
    .bind(report_id)
    .fetch_all(db)
    .await?;
    Ok(Some(names))
}

/// A user's report on a card, with any reply, as the card's page shows it.
#[derive(Debug, Clone, FromRow)]
pub struct MyReport {
    /// What they said.
    pub message: String,
    /// The reply, if any.
    pub reply: Option<String>,
    /// Whether it was resolved.
    #[sqlx(try_from = "crate::db::Flag")]
    pub resolved: bool,
    /// Whether the reply is news to them (they had not opened the card since).
    #[sqlx(try_from = "crate::db::Flag")]
    pub unread: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// The report's id (the page's anchor for it).
    pub id: i64,
}

/// `user_id`'s reports on `card_id`, newest first.
pub async fn mine_on_card(
    db: impl Executor<'_>,
    user_id: i64,
    card_id: i64,
) -> Result<Vec<MyReport>, sqlx::Error> {
    sqlx::query_as(
        "SELECT message, reply, CASE WHEN resolved_at IS NULL THEN 0 ELSE 1 END AS resolved,
                CASE WHEN replied_at IS NOT NULL AND reply_seen_at IS NULL THEN 1 ELSE 0 END AS unread,
                created_at, id FROM card_reports
         WHERE user_id = $1 AND card_id = $2 ORDER BY id DESC",
    )
    .bind(user_id)
    .bind(card_id)
    .fetch_all(db)
    .await
}
