//! A student's controls on a card outside grading it (`card_controls`, migration 0025):
//! suspended, buried for a study day, skipped today; and the leeches, the cards a student has
//! failed again and again, read from the standing history.

use crate::db::{Backend, Executor};
use sqlx::FromRow;

/// Suspends `card_id` for `user_id` (out of every queue until unsuspended).
pub async fn suspend(
    db: impl Executor<'_>,
    user_id: i64,
    card_id: i64,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO card_controls (user_id, card_id, suspended_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, card_id) DO UPDATE SET suspended_at = excluded.suspended_at",
    )
    .bind(user_id)
    .bind(card_id)
    .bind(at)
    .execute(db)
    .await?;
    Ok(())
}

/// Unsuspends `card_id` for `user_id`: whether it was suspended.
pub async fn unsuspend(
    db: impl Executor<'_>,
    user_id: i64,
    card_id: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE card_controls SET suspended_at = NULL
         WHERE user_id = $1 AND card_id = $2 AND suspended_at IS NOT NULL",
    )
    .bind(user_id)
    .bind(card_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Buries `card_id` for `user_id` on study day `day`: out of that day's queue only.
pub async fn bury(
    db: impl Executor<'_>,
    user_id: i64,
    card_id: i64,
    day: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO card_controls (user_id, card_id, buried_day) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, card_id) DO UPDATE SET buried_day = excluded.buried_day",
    )
    .bind(user_id)
    .bind(card_id)
    .bind(day)
    .execute(db)
    .await?;
    Ok(())
}

/// Skips `card_id` for `user_id` on study day `day`: it goes after every card of that day's
/// queue not skipped, and after the cards skipped before it.
pub async fn skip(
    db: impl Executor<'_>,
    user_id: i64,
    card_id: i64,
    day: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO card_controls (user_id, card_id, skipped_day, skip_seq)
         VALUES ($1, $2, $3,
                 (SELECT COALESCE(MAX(skip_seq), 0) + 1 FROM card_controls WHERE user_id = $1))
         ON CONFLICT (user_id, card_id)
         DO UPDATE SET skipped_day = excluded.skipped_day, skip_seq = excluded.skip_seq",
    )
    .bind(user_id)
    .bind(card_id)
    .bind(day)
    .execute(db)
    .await?;
    Ok(())
}

/// A control in force on a study day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct ActiveControl {
    /// The card.
    pub card_id: i64,
    /// Suspended, or buried that day: out of the day's queue.
    #[sqlx(try_from = "crate::db::Flag")]
    pub hidden: bool,
    /// Skipped that day: its place at the back of the queue.
    pub skip_seq: Option<i64>,
}

/// The controls of `user_id` in force on study day `today`, over every deck.
pub async fn active(
    db: impl Executor<'_>,
    user_id: i64,
    today: i32,
) -> Result<Vec<ActiveControl>, sqlx::Error> {
    sqlx::query_as(
        "SELECT card_id,
                CASE WHEN suspended_at IS NOT NULL OR buried_day = $2 THEN 1 ELSE 0 END AS hidden,
                CASE WHEN skipped_day = $2 THEN skip_seq END AS skip_seq
         FROM card_controls
         WHERE user_id = $1 AND (suspended_at IS NOT NULL OR buried_day = $2 OR skipped_day = $2)
         ORDER BY skip_seq, card_id",
    )
    .bind(user_id)
    .bind(today)
    .fetch_all(db)
    .await
}

/// Whether `user_id` has suspended `card_id`.
pub async fn is_suspended(
    db: impl Executor<'_>,
    user_id: i64,
    card_id: i64,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM card_controls
         WHERE user_id = $1 AND card_id = $2 AND suspended_at IS NOT NULL",
    )
    .bind(user_id)
    .bind(card_id)
    .fetch_one(db)
    .await?;
    Ok(n > 0)
}

/// A card in one of a student's lists (suspended cards, leeches).
#[derive(Debug, Clone, FromRow)]
pub struct ListedCard {
    /// The card.
    pub card_id: i64,
    /// Its prompt.
    pub front: String,
    /// How its sides are stored (`markup::Format`): lists show an HTML front as text.
    #[sqlx(default)]
    pub format: String,
    /// Its deck.
    pub deck_id: i64,
    /// The deck's name.
    pub deck_name: String,
    /// Suspended cards: when (Unix seconds); leeches: how many times failed.
    pub figure: i64,
}

macro_rules! suspended_in {
    ($($where:tt)*) => {
        concat!(
            "SELECT c.id AS card_id, c.front, c.format, c.deck_id, d.name AS deck_name,
                    f.suspended_at AS figure
             FROM card_controls f JOIN cards c ON c.id = f.card_id JOIN decks d ON d.id = c.deck_id
             WHERE f.user_id = $1 AND f.suspended_at IS NOT NULL ",
            $($where)*,
            " ORDER BY f.suspended_at DESC, c.id LIMIT 500"
        )
    };
}

/// `suspended` in the decks of $2, on PostgreSQL.
pub(in crate::db) const SUSPENDED_IN_POSTGRES: &str = suspended_in!(concat!(
    "AND ",
    crate::in_decks!(postgres, "c.deck_id", "$2")
));

/// The cards `user_id` has suspended, in the decks of `decks` (a JSON array; every deck when
/// `None`), the latest first.
pub async fn suspended(
    db: impl Executor<'_>,
    user_id: i64,
    decks: Option<&str>,
) -> Result<Vec<ListedCard>, sqlx::Error> {
    let Some(decks) = decks else {
        return sqlx::query_as(suspended_in!(""))
            .bind(user_id)
            .fetch_all(db)
            .await;
    };
    let sql = match db.backend() {
        Backend::Sqlite => {
            suspended_in!(concat!("AND ", crate::in_decks!(sqlite, "c.deck_id", "$2")))
        }
        Backend::Postgres => SUSPENDED_IN_POSTGRES,
    };
    sqlx::query_as(sql)
        .bind(user_id)
        .bind(decks)
        .fetch_all(db)
        .await
}

/// A failure, as the leech count reckons it: a standing grade (not a same-day repeat, not
/// undone) below 3.
macro_rules! leeches_in {
    ($($where:tt)*) => {
        concat!(
            "SELECT c.id AS card_id, c.front, c.format, c.deck_id, d.name AS deck_name, l.failures AS figure
             FROM (SELECT r.card_id, COUNT(*) AS failures FROM standing_reviews r
                   WHERE r.user_id = $1 AND r.kind = 'grade' AND r.quality < 3
                   GROUP BY r.card_id HAVING COUNT(*) >= $2) l
             JOIN cards c ON c.id = l.card_id JOIN decks d ON d.id = c.deck_id ",
            $($where)*,
            " ORDER BY l.failures DESC, c.id LIMIT 500"
        )
    };
}

/// `leeches` in the decks of $3, on PostgreSQL.
pub(in crate::db) const LEECHES_IN_POSTGRES: &str = leeches_in!(concat!(
    "WHERE ",
    crate::in_decks!(postgres, "c.deck_id", "$3")
));

/// The cards `user_id` has failed at least `threshold` times, in the decks of `decks` (a JSON
/// array; every deck when `None`), the most failed first.
pub async fn leeches(
    db: impl Executor<'_>,
    user_id: i64,
    threshold: i64,
    decks: Option<&str>,
) -> Result<Vec<ListedCard>, sqlx::Error> {
    let Some(decks) = decks else {
        return sqlx::query_as(leeches_in!(""))
            .bind(user_id)
            .bind(threshold)
            .fetch_all(db)
            .await;
    };
    let sql = match db.backend() {
        Backend::Sqlite => leeches_in!(concat!(
            "WHERE ",
            crate::in_decks!(sqlite, "c.deck_id", "$3")
        )),
        Backend::Postgres => LEECHES_IN_POSTGRES,
    };
    sqlx::query_as(sql)
        .bind(user_id)
        .bind(threshold)
        .bind(decks)
        .fetch_all(db)
        .await
}

/// How many times `user_id` has failed `card_id` (standing grades below 3).
pub async fn failures(
    db: impl Executor<'_>,
    user_id: i64,
    card_id: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM standing_reviews
         WHERE user_id = $1 AND card_id = $2 AND kind = 'grade' AND quality < 3",
    )
    .bind(user_id)
    .bind(card_id)
    .fetch_one(db)
    .await
}

/// The cards of deck `deck_id` `user_id` failed (a standing grade or repeat below 3) on study
/// day `since` or later, by position.
pub async fn failed_since(
    db: impl Executor<'_>,
    user_id: i64,
    deck_id: i64,
    since: i32,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT c.id FROM cards c
         WHERE c.deck_id = $2 AND c.kind <> 'generated'
           AND EXISTS (SELECT 1 FROM standing_reviews r
                       WHERE r.user_id = $1 AND r.card_id = c.id AND r.study_day >= $3
                         AND r.quality < 3)
         ORDER BY c.position, c.id",
    )
    .bind(user_id)
    .bind(deck_id)
    .bind(since)
    .fetch_all(db)
    .await
}

/// The cards of deck `deck_id` a custom session may show (not generated problems), by
/// position.
pub async fn deck_card_ids(db: impl Executor<'_>, deck_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM cards WHERE deck_id = $1 AND kind <> 'generated' ORDER BY position, id",
    )
    .bind(deck_id)
    .fetch_all(db)
    .await
}

/// A card out of `user_id`'s queue on study day `today` that is scheduled: when it falls due,
/// and whether it is suspended (else buried today), for /stats to count what the review page
/// will show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct HeldSchedule {
    /// The card.
    pub card_id: i64,
    /// Its due day.
    pub due_day: i64,
    /// Suspended (out until unsuspended); otherwise buried today (back tomorrow).
    #[sqlx(try_from = "crate::db::Flag")]
    pub suspended: bool,
}

/// The scheduled cards `user_id` has suspended, or buried on `today`.
pub async fn held_schedules(
    db: impl Executor<'_>,
    user_id: i64,
    today: i32,
) -> Result<Vec<HeldSchedule>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.card_id, s.due_day,
                CASE WHEN c.suspended_at IS NOT NULL THEN 1 ELSE 0 END AS suspended
         FROM card_controls c
         JOIN review_states s ON s.user_id = c.user_id AND s.card_id = c.card_id
         WHERE c.user_id = $1 AND (c.suspended_at IS NOT NULL OR c.buried_day = $2)",
    )
    .bind(user_id)
    .bind(today)
    .fetch_all(db)
    .await
}
