//! Students' e-mail addresses and the single-use tokens sent to them (migration 0029).

use super::Executor;
use sqlx::FromRow;

/// A student's address.
#[derive(Debug, Clone, FromRow)]
pub struct AddressRow {
    /// The address as typed.
    pub address: String,
    /// When it was confirmed (Unix seconds), if it was.
    pub confirmed_at: Option<i64>,
    /// The sign-on identity that brought it (None: the user typed it, or confirmed it by
    /// the mailed link).
    pub source_identity: Option<i64>,
}

/// The address of `user_id`, if they gave one.
pub async fn address_of(
    db: impl Executor<'_>,
    user_id: i64,
) -> Result<Option<AddressRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT address, confirmed_at, source_identity FROM mail_addresses WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(db)
    .await
}

/// Voids the unused tokens of `user_id` sent to another address than `address` (None: any),
/// and fails their pending messages to it with `reason`: a link or a message to an address
/// the account no longer has must not work or go out.
async fn leave_address(
    db: &mut super::Conn,
    user_id: i64,
    address: Option<&str>,
    reason: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE mail_tokens SET used_at = $2
         WHERE user_id = $1 AND used_at IS NULL AND ($3 IS NULL OR lower(address) <> lower($3))",
    )
    .bind(user_id)
    .bind(now)
    .bind(address)
    .execute(&mut *db)
    .await?;
    sqlx::query(
        "UPDATE outbox SET state = 'failed', last_error = $2
         WHERE user_id = $1 AND state = 'pending'
           AND ($3 IS NULL OR lower(to_address) <> lower($3))",
    )
    .bind(user_id)
    .bind(reason)
    .bind(address)
    .execute(&mut *db)
    .await?;
    untell_failed(db, user_id).await?;
    Ok(())
}

/// Sets the address of `user_id`, unconfirmed and the user's own (no identity brought it);
/// the links and pending messages to an earlier address are void.
pub async fn set_address(
    db: &mut super::Conn,
    user_id: i64,
    address: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    leave_address(db, user_id, Some(address), "address changed", now).await?;
    sqlx::query(
        "INSERT INTO mail_addresses (user_id, address, confirmed_at, created_at)
         VALUES ($1, $2, NULL, $3)
         ON CONFLICT (user_id) DO UPDATE SET address = $2, confirmed_at = NULL, created_at = $3,
                                             source_identity = NULL",
    )
    .bind(user_id)
    .bind(address)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Sets the address of `user_id` to one sign-on identity `identity_id` brought, confirmed at
/// `now` or not (`confirmed`); the reminder settings stay; the links and pending messages to
/// an earlier address are void.
pub async fn set_address_from(
    db: &mut super::Conn,
    user_id: i64,
    address: &str,
    confirmed: bool,
    identity_id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    leave_address(db, user_id, Some(address), "address changed", now).await?;
    sqlx::query(
        "INSERT INTO mail_addresses (user_id, address, confirmed_at, created_at, source_identity)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id) DO UPDATE SET address = $2, confirmed_at = $3, created_at = $4,
                                             source_identity = $5",
    )
    .bind(user_id)
    .bind(address)
    .bind(confirmed.then_some(now))
    .bind(now)
    .bind(identity_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Takes back the confirmation of `user_id`'s address if identity `identity_id` brought it
/// (the identity is being unlinked): the address stays, unconfirmed and the user's own.
pub async fn release_address(
    db: impl Executor<'_>,
    user_id: i64,
    identity_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE mail_addresses SET confirmed_at = NULL, source_identity = NULL
         WHERE user_id = $1 AND source_identity = $2",
    )
    .bind(user_id)
    .bind(identity_id)
    .execute(db)
    .await?;
    Ok(())
}

/// An account whose confirmed address is the one asked about, and what confirmed it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ConfirmedOwner {
    /// The account.
    pub user_id: i64,
    /// The key of the provider whose sign-on confirmed it (the identity that brought it);
    /// None when the user proved it by the mailed link. An identity since removed gives `""`,
    /// which names no provider.
    pub confirmed_by: Option<String>,
    /// The issuer of that identity (None with `confirmed_by`).
    pub issuer: Option<String>,
}

/// The accounts (at most `limit`) whose confirmed address is `address`, ignoring case, with
/// what confirmed each: the caller decides which confirmations it still trusts (a provider's
/// authority may have been taken away since).
pub async fn confirmed_owners(
    db: impl Executor<'_>,
    address: &str,
    limit: i64,
) -> Result<Vec<ConfirmedOwner>, sqlx::Error> {
    sqlx::query_as(
        "SELECT m.user_id,
                CASE WHEN m.source_identity IS NULL THEN NULL
                     ELSE COALESCE(i.provider, '') END AS confirmed_by,
                CASE WHEN m.source_identity IS NULL THEN NULL
                     ELSE COALESCE(i.issuer, '') END AS issuer
         FROM mail_addresses m LEFT JOIN identities i ON i.id = m.source_identity
         WHERE lower(m.address) = lower($1) AND m.confirmed_at IS NOT NULL
         ORDER BY m.user_id LIMIT $2",
    )
    .bind(address)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Marks the address of `user_id` confirmed, if it is still `address`, and the user's own
/// (the mailed link proved it; sign-on no longer changes it). Returns whether it was.
pub async fn confirm_address(
    db: impl Executor<'_>,
    user_id: i64,
    address: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE mail_addresses SET confirmed_at = $3, source_identity = NULL
         WHERE user_id = $1 AND address = $2",
    )
    .bind(user_id)
    .bind(address)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// Removes the address of `user_id`, voiding its unused links and failing its pending
/// messages ("address removed").
pub async fn remove_address(
    db: &mut super::Conn,
    user_id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    leave_address(db, user_id, None, "address removed", now).await?;
    sqlx::query("DELETE FROM mail_addresses WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *db)
        .await?;
    Ok(())
}

/// An account a password reset may be for: its id, name, password hash and confirmed address.
#[derive(Debug, Clone, FromRow)]
pub struct ResetTarget {
    /// The account.
    pub user_id: i64,
    /// Its login name.
    pub username: String,
    /// Its password hash now (stamped into the token).
    pub password_hash: String,
    /// Its confirmed address.
    pub address: String,
    /// Whether it is the break-glass admin (`studyhall create-admin`).
    #[sqlx(try_from = "crate::db::Flag")]
    pub break_glass: bool,
}

/// The enabled accounts with a confirmed address whose login name or address is `typed`, and
/// a password (not `no_password`, the mark of an account made by sign-on).
pub async fn reset_targets(
    db: impl Executor<'_>,
    typed: &str,
    no_password: &str,
) -> Result<Vec<ResetTarget>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id AS user_id, u.username, u.password_hash, m.address, u.break_glass
         FROM users u JOIN mail_addresses m ON m.user_id = u.id
         WHERE m.confirmed_at IS NOT NULL AND u.disabled = 0 AND u.password_hash <> $2
           AND (lower(u.username) = lower($1) OR lower(m.address) = lower($1))
         ORDER BY u.id LIMIT 5",
    )
    .bind(typed)
    .bind(no_password)
    .fetch_all(db)
    .await
}

/// A token to store (its hash only).
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    /// SHA-256 of the token, hex.
    pub hash: &'a str,
    /// Whose.
    pub user_id: i64,
    /// `confirm` or `reset`.
    pub purpose: &'a str,
    /// The address it was sent to.
    pub address: &'a str,
    /// A digest of the password hash it was issued under.
    pub password_stamp: &'a str,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Stores a token, voiding the earlier unused tokens of the same purpose for that account
/// (only the newest request's link works).
pub async fn add_token(db: &mut super::Conn, token: &NewToken<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE mail_tokens SET used_at = $3
         WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
    )
    .bind(token.user_id)
    .bind(token.purpose)
    .bind(token.created_at)
    .execute(&mut *db)
    .await?;
    sqlx::query("DELETE FROM mail_tokens WHERE expires_at < $1")
        .bind(token.created_at - 86_400)
        .execute(&mut *db)
        .await?;
    sqlx::query(
        "INSERT INTO mail_tokens (token_hash, user_id, purpose, address, password_stamp,
                                  created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(token.hash)
    .bind(token.user_id)
    .bind(token.purpose)
    .bind(token.address)
    .bind(token.password_stamp)
    .bind(token.created_at)
    .bind(token.expires_at)
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// A stored token that is still usable.
#[derive(Debug, Clone, FromRow)]
pub struct TokenRow {
    /// Whose.
    pub user_id: i64,
    /// The address it was sent to.
    pub address: String,
    /// The password-hash digest it was issued under.
    pub password_stamp: String,
    /// The account's password hash now.
    pub password_hash: String,
}

/// The unused, unexpired token of `purpose` whose hash is `hash`, with its account's password
/// hash now; only while the token's address is still the account's (for a reset, its
/// confirmed one).
pub async fn live_token(
    db: impl Executor<'_>,
    hash: &str,
    purpose: &str,
    now: i64,
) -> Result<Option<TokenRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.user_id, t.address, t.password_stamp, u.password_hash
         FROM mail_tokens t JOIN users u ON u.id = t.user_id
              JOIN mail_addresses m ON m.user_id = t.user_id
                                   AND lower(m.address) = lower(t.address)
         WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL
           AND (t.purpose <> 'reset' OR m.confirmed_at IS NOT NULL)
           AND t.expires_at > $3 AND u.disabled = 0",
    )
    .bind(hash)
    .bind(purpose)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Uses a token up. False when it was used already (by a request at the same moment).
pub async fn use_token(db: impl Executor<'_>, hash: &str, now: i64) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query(
            "UPDATE mail_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
        )
        .bind(hash)
        .bind(now)
        .execute(db)
        .await?
        .rows_affected()
            == 1,
    )
}

/// Turns reminders on at local `hour` (daily, or weekly), keeping the unsubscribe token or
/// setting `token` when there is none; or off (`hour` None). Only a confirmed address takes
/// them: false otherwise.
pub async fn set_reminders(
    db: impl Executor<'_>,
    user_id: i64,
    hour: Option<i64>,
    weekly: bool,
    token: &str,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE mail_addresses SET remind_hour = $2, remind_weekly = $3,
                unsubscribe_token = COALESCE(unsubscribe_token, $4)
         WHERE user_id = $1 AND confirmed_at IS NOT NULL",
    )
    .bind(user_id)
    .bind(hour)
    .bind(i64::from(weekly))
    .bind(token)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// The reminder settings of `user_id`: (hour, weekly).
pub async fn reminders_of(
    db: impl Executor<'_>,
    user_id: i64,
) -> Result<Option<(Option<i64>, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT remind_hour, remind_weekly FROM mail_addresses WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(db)
        .await
}

/// Turns reminders off for the address whose unsubscribe token is `token`, and fails the
/// account's pending reminders ("unsubscribed"). False for an unknown token (a known one
/// answers true however often).
pub async fn unsubscribe(db: &mut super::Conn, token: &str) -> Result<bool, sqlx::Error> {
    let user_id: Option<i64> = sqlx::query_scalar(
        "UPDATE mail_addresses SET remind_hour = NULL WHERE unsubscribe_token = $1
         RETURNING user_id",
    )
    .bind(token)
    .fetch_optional(&mut *db)
    .await?;
    let Some(user_id) = user_id else {
        return Ok(false);
    };
    drop_reminders(db, user_id).await?;
    Ok(true)
}

/// Whether `token` is some address's unsubscribe token.
pub async fn unsubscribe_token_known(
    db: impl Executor<'_>,
    token: &str,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT user_id FROM mail_addresses WHERE unsubscribe_token = $1",
    )
    .bind(token)
    .fetch_optional(db)
    .await?
    .is_some())
}

/// Fails the pending reminders of `user_id` ("unsubscribed"): reminders turned off stop the
/// ones already written too.
/// The news they told is news again ([`untell_failed`]).
pub async fn drop_reminders(db: &mut super::Conn, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbox SET state = 'failed', last_error = 'unsubscribed'
         WHERE user_id = $1 AND kind = 'reminder' AND state = 'pending'",
    )
    .bind(user_id)
    .execute(&mut *db)
    .await?;
    untell_failed(db, user_id).await
}

/// A student who asked for reminders, as the reminders' pass reads them.
#[derive(Debug, Clone, FromRow)]
pub struct ReminderRow {
    /// The account.
    pub user_id: i64,
    /// Its login name.
    pub username: String,
    /// Its IANA time zone.
    pub time_zone: String,
    /// The confirmed address.
    pub address: String,
    /// The local hour.
    pub remind_hour: i64,
    /// 1 for a weekly digest.
    pub remind_weekly: i64,
    /// The local date (day number) of the last reminder.
    pub reminded_day: Option<i64>,
    /// The unsubscribe link's token.
    pub unsubscribe_token: String,
}

/// Up to `limit` students with reminders on and a confirmed address, after user `after`.
pub async fn reminder_batch(
    db: impl Executor<'_>,
    after: i64,
    limit: i64,
) -> Result<Vec<ReminderRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id AS user_id, u.username, u.time_zone, m.address, m.remind_hour,
                m.remind_weekly, m.reminded_day, m.unsubscribe_token
         FROM mail_addresses m JOIN users u ON u.id = m.user_id
         WHERE m.remind_hour IS NOT NULL AND m.confirmed_at IS NOT NULL
           AND m.unsubscribe_token IS NOT NULL AND u.disabled = 0 AND m.user_id > $1
         ORDER BY m.user_id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Marks local date `day` reminded for `user_id`, unless it was already (by another server):
/// true when this call marked it.
pub async fn mark_reminded(
    db: impl Executor<'_>,
    user_id: i64,
    day: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE mail_addresses SET reminded_day = $2
         WHERE user_id = $1 AND remind_hour IS NOT NULL
           AND (reminded_day IS NULL OR reminded_day < $2)",
    )
    .bind(user_id)
    .bind(day)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// Whether `user_id` reviewed anything on study day `day`.
pub async fn studied_on(
    db: impl Executor<'_>,
    user_id: i64,
    day: i32,
) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT reviews FROM review_days WHERE user_id = $1 AND study_day = $2 AND reviews > 0",
    )
    .bind(user_id)
    .bind(day)
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}

/// Cards of `user_id` due on or before study day `day`, by deck: (deck id, deck name, count),
/// leaving out suspended cards and cards buried that day.
pub async fn due_by_deck(
    db: impl Executor<'_>,
    user_id: i64,
    day: i32,
) -> Result<Vec<(i64, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT d.id, d.name, COUNT(*) FROM review_states s
         JOIN cards c ON c.id = s.card_id JOIN decks d ON d.id = c.deck_id
         WHERE s.user_id = $1 AND s.due_day <= $2
           AND NOT EXISTS (SELECT 1 FROM card_controls k
                           WHERE k.user_id = s.user_id AND k.card_id = s.card_id
                             AND (k.suspended_at IS NOT NULL OR k.buried_day = $2))
         GROUP BY d.id, d.name ORDER BY COUNT(*) DESC, d.name",
    )
    .bind(user_id)
    .bind(day)
    .fetch_all(db)
    .await
}

/// What a reminder tells a student beside their due cards: news the pages show them too, each
/// only until a reminder has mentioned it ([`mark_mailed`]).
#[derive(Debug, Clone, Default)]
pub struct Notices {
    /// Replies to their reports they have not read, and no reminder mentioned: the reports'
    /// ids.
    pub unread_replies: Vec<i64>,
    /// Cards a fit rescheduled in the last week, if one did and no reminder mentioned it:
    /// (cards, when).
    pub rescheduled: Option<(i64, i64)>,
    /// Exams set for their classes they have not seen on a page yet (`exam_notices`), and no
    /// reminder mentioned: (exam id, name, study day).
    pub new_exams: Vec<(i64, String, i64)>,
    /// Their next exam on or after the day asked: (name, study day).
    pub next_exam: Option<(String, i64)>,
}

/// The notices of `user_id` at `now` (Unix seconds) on study day `today`.
pub async fn notices(
    db: &super::Pool,
    user_id: i64,
    now: i64,
    today: i32,
) -> Result<Notices, sqlx::Error> {
    let unread_replies: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM card_reports
         WHERE user_id = $1 AND replied_at IS NOT NULL AND reply_seen_at IS NULL
           AND reply_mailed_at IS NULL ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    let rescheduled: Option<(i64, i64)> = sqlx::query_as(
        "SELECT cards, changed_at FROM schedule_notices
         WHERE user_id = $1 AND changed_at > $2 - 604800 AND mailed_at IS NULL",
    )
    .bind(user_id)
    .bind(now)
    .fetch_optional(db)
    .await?;
    let new_exams: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT e.id, e.name, e.exam_day FROM exam_notices n
         JOIN class_exams e ON e.id = n.exam_id
         JOIN class_members m ON m.class_id = e.class_id AND m.user_id = n.user_id
         WHERE n.user_id = $1 AND e.exam_day >= $2 AND n.mailed_at IS NULL
         ORDER BY e.exam_day, e.id",
    )
    .bind(user_id)
    .bind(today)
    .fetch_all(db)
    .await?;
    let next_exam: Option<(String, i64)> = sqlx::query_as(
        "SELECT e.name, e.exam_day FROM class_exams e
         JOIN class_members m ON m.class_id = e.class_id
         WHERE m.user_id = $1 AND e.exam_day >= $2 ORDER BY e.exam_day, e.id LIMIT 1",
    )
    .bind(user_id)
    .bind(today)
    .fetch_optional(db)
    .await?;
    Ok(Notices {
        unread_replies,
        rescheduled,
        new_exams,
        next_exam,
    })
}

/// Records that a reminder written at `now` (Unix seconds: its outbox row's time) mentioned
/// `notices`, in its transaction: the next reminders leave them out (the pages still show them
/// until seen), unless it fails ([`untell_failed`]).
pub async fn mark_mailed(
    tx: &mut super::Conn,
    user_id: i64,
    notices: &Notices,
    now: i64,
) -> Result<(), sqlx::Error> {
    for report in &notices.unread_replies {
        sqlx::query(
            "UPDATE card_reports SET reply_mailed_at = $1
             WHERE id = $2 AND user_id = $3 AND reply_mailed_at IS NULL",
        )
        .bind(now)
        .bind(report)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    }
    for (exam, ..) in &notices.new_exams {
        sqlx::query("UPDATE exam_notices SET mailed_at = $1 WHERE user_id = $2 AND exam_id = $3")
            .bind(now)
            .bind(user_id)
            .bind(exam)
            .execute(&mut *tx)
            .await?;
    }
    if let Some((_, changed_at)) = notices.rescheduled {
        // Only the rescheduling it told of: a newer one replaced the row and is news.
        sqlx::query(
            "UPDATE schedule_notices SET mailed_at = $1 WHERE user_id = $2 AND changed_at = $3",
        )
        .bind(now)
        .bind(user_id)
        .bind(changed_at)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Makes the news that `user_id`'s failed reminders told news again, in the transaction that
/// failed them: a reminder that never went out (tries used up, unsubscribed, its address
/// changed or removed) told nothing, so the next reminder tells it. A reminder's marks carry
/// its time ([`mark_mailed`]: the outbox row's `created_at`, in seconds); one reminder a day
/// per student, so the time names the reminder.
pub async fn untell_failed(db: &mut super::Conn, user_id: i64) -> Result<(), sqlx::Error> {
    for (table, column) in [
        ("card_reports", "reply_mailed_at"),
        ("exam_notices", "mailed_at"),
        ("schedule_notices", "mailed_at"),
    ] {
        // Only fixed names are formatted into the statement; the values are bound.
        let sql = format!(
            "UPDATE {table} SET {column} = NULL
             WHERE user_id = $1 AND {column} IS NOT NULL AND EXISTS (
                 SELECT 1 FROM outbox o WHERE o.user_id = $1 AND o.kind = 'reminder'
                    AND o.state = 'failed' AND o.created_at / 1000 = {table}.{column})"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .execute(&mut *db)
            .await?;
    }
    Ok(())
}
