//! The outbox (migration 0029): every message, written in the transaction that causes it and
//! sent by one app server's sender (`jobs::mail`). These are the sender's statements.
//!
//! A claim (`db::lease`, shared with the jobs table) takes a batch of the oldest pending rows
//! whose time has come and marks them sending under the claiming server's name, once across
//! the servers (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the write lock on SQLite). Every later
//! write of a claim names the server and the attempt, so a server whose lease ran out, and
//! whose row another server has claimed again, changes nothing. A failed try waits its
//! backoff in `next_attempt_at` (`jobs::mail::backoff`), which the claim respects.

use super::Executor;
use super::lease::{self, Leased};
use sqlx::FromRow;

/// A message to write into the outbox.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    /// The account it is for (None: none, such as a test message).
    pub user_id: Option<i64>,
    /// What it is: `confirm`, `reset`, `reminder`.
    pub kind: &'a str,
    /// The recipient's address (already checked).
    pub to: &'a str,
    /// The subject line.
    pub subject: &'a str,
    /// The plain-text body.
    pub text: &'a str,
    /// The HTML body.
    pub html: &'a str,
    /// The one-click unsubscribe link (RFC 8058), for messages one can stop.
    pub unsubscribe_url: Option<&'a str>,
}

/// A claimed message, as the sender gets it.
#[derive(Debug, Clone, FromRow)]
pub struct Claimed {
    /// Its row.
    pub id: i64,
    /// The account it is for, if any.
    pub user_id: Option<i64>,
    /// Its kind.
    pub kind: String,
    /// The recipient.
    pub to_address: String,
    /// Subject.
    pub subject: String,
    /// Plain text.
    pub body_text: String,
    /// HTML.
    pub body_html: String,
    /// The one-click unsubscribe link, if any.
    pub unsubscribe_url: Option<String>,
    /// The `Message-ID` (the same on every try).
    pub message_id: String,
    /// This claim's number: 1 the first time.
    pub attempts: i64,
    /// When it was written (milliseconds): its `Date` header, the same on every try.
    pub created_at: i64,
}

/// Writes `message` into the outbox, to be sent from `now_ms` on, in the caller's transaction.
/// Returns its id.
pub async fn add(
    db: impl Executor<'_>,
    message: &NewMessage<'_>,
    message_id: &str,
    now_ms: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO outbox (user_id, kind, to_address, subject, body_text, body_html,
                             unsubscribe_url, message_id, state, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $9) RETURNING id",
    )
    .bind(message.user_id)
    .bind(message.kind)
    .bind(message.to)
    .bind(message.subject)
    .bind(message.text)
    .bind(message.html)
    .bind(message.unsubscribe_url)
    .bind(message_id)
    .bind(now_ms)
    .fetch_one(db)
    .await
}

/// Whether a pending row may be claimed at `now_ms`, or a claim's lease ran out (a read, so an
/// idle server's polls write nothing).
pub async fn any_work(db: impl Executor<'_>, now_ms: i64) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM outbox WHERE (state = 'pending' AND next_attempt_at <= $1)
            OR (state = 'sending' AND lease_until < $1) LIMIT 1",
    )
    .bind(now_ms)
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}

/// Puts the rows whose claim's lease ran out before `now_ms` back to pending (their server
/// stopped, perhaps after sending: they are sent once more), or marks them failed when they
/// have had `max_attempts` tries (the news of a failed reminder is news again,
/// `db::mail::untell_failed`). Returns the rows taken back.
pub async fn take_back_expired(
    db: &mut super::Conn,
    now_ms: i64,
    max_attempts: i64,
) -> Result<u64, sqlx::Error> {
    let failed: Vec<(Option<i64>, String)> = sqlx::query_as(
        "UPDATE outbox SET state = 'failed',
             last_error = 'its server stopped answering on every try',
             claimed_by = NULL, lease_until = NULL, next_attempt_at = $1
         WHERE state = 'sending' AND lease_until < $1 AND attempts >= $2
         RETURNING user_id, kind",
    )
    .bind(now_ms)
    .bind(max_attempts)
    .fetch_all(&mut *db)
    .await?;
    for (user_id, kind) in &failed {
        if let (Some(user_id), "reminder") = (user_id, kind.as_str()) {
            super::mail::untell_failed(db, *user_id).await?;
        }
    }
    let pending = sqlx::query(
        "UPDATE outbox SET state = 'pending', claimed_by = NULL, lease_until = NULL,
             next_attempt_at = $1
         WHERE state = 'sending' AND lease_until < $1",
    )
    .bind(now_ms)
    .execute(&mut *db)
    .await?
    .rows_affected();
    Ok(pending + failed.len() as u64)
}

/// Claims up to `limit` of the oldest pending rows whose time has come, for server
/// `instance`, holding them until `lease_until_ms`.
pub async fn claim(
    db: impl Executor<'_>,
    instance: &str,
    now_ms: i64,
    lease_until_ms: i64,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    lease::claim(db, &OUTBOX, None, instance, now_ms, lease_until_ms, limit).await
}

/// The outbox as `db::lease` claims from it: pending, then sending; the earliest due first.
const OUTBOX: Leased = Leased {
    table: "outbox",
    waiting: "pending",
    claimed: "sending",
    ready_at: "next_attempt_at",
    order: "next_attempt_at, id",
    reset: "",
    returning: "id, user_id, kind, to_address, subject, body_text, body_html, unsubscribe_url, \
                message_id, attempts, created_at",
};

/// Marks a claimed row sent. False when the claim is no longer this server's.
pub async fn mark_sent(
    db: impl Executor<'_>,
    message: &Claimed,
    instance: &str,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        // A sent reset or confirmation link is live for an hour or a day: its words are not
        // kept (the outbox row is kept 30 days; tokens are stored only hashed elsewhere).
        "UPDATE outbox SET state = 'sent', sent_at = $1, lease_until = NULL, last_error = NULL,
             body_text = CASE WHEN kind IN ('reset', 'confirm') THEN '' ELSE body_text END,
             body_html = CASE WHEN kind IN ('reset', 'confirm') THEN '' ELSE body_html END
         WHERE id = $2 AND state = 'sending' AND claimed_by = $3 AND attempts = $4",
    )
    .bind(now_ms)
    .bind(message.id)
    .bind(instance)
    .bind(message.attempts)
    .execute(db)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Records a failed try: pending again from `retry_at_ms`, or failed for good when
/// `retry_at_ms` is None (then the news of a reminder is news again: call
/// `db::mail::untell_failed` in the same transaction). False when the claim is no longer this
/// server's.
pub async fn mark_failed(
    db: impl Executor<'_>,
    message: &Claimed,
    instance: &str,
    error: &str,
    retry_at_ms: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE outbox SET
             state = CASE WHEN $1 IS NULL THEN 'failed' ELSE 'pending' END,
             next_attempt_at = COALESCE($1, next_attempt_at),
             last_error = $2, claimed_by = NULL, lease_until = NULL,
             body_text = CASE WHEN $1 IS NULL AND kind IN ('reset', 'confirm') THEN ''
                              ELSE body_text END,
             body_html = CASE WHEN $1 IS NULL AND kind IN ('reset', 'confirm') THEN ''
                              ELSE body_html END
         WHERE id = $3 AND state = 'sending' AND claimed_by = $4 AND attempts = $5",
    )
    .bind(retry_at_ms)
    .bind(error)
    .bind(message.id)
    .bind(instance)
    .bind(message.attempts)
    .execute(db)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Hands a claimed row back unsent (its try not counted). False when the claim is no longer
/// this server's.
pub async fn unclaim(
    db: impl Executor<'_>,
    message: &Claimed,
    instance: &str,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE outbox SET state = 'pending', claimed_by = NULL, lease_until = NULL,
                attempts = attempts - 1
         WHERE id = $1 AND state = 'sending' AND claimed_by = $2 AND attempts = $3",
    )
    .bind(message.id)
    .bind(instance)
    .bind(message.attempts)
    .execute(db)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Puts the rows server `instance` is sending back to pending as it stops (not sent yet as
/// far as it knows: its sends were cancelled).
pub async fn release(db: impl Executor<'_>, instance: &str) -> Result<u64, sqlx::Error> {
    lease::release(db, &OUTBOX, instance).await
}

/// Messages of `kind` written for `user_id` since `since_ms` (the reset's limit per account).
pub async fn count_recent(
    db: impl Executor<'_>,
    user_id: i64,
    kind: &str,
    since_ms: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE user_id = $1 AND kind = $2 AND created_at >= $3",
    )
    .bind(user_id)
    .bind(kind)
    .bind(since_ms)
    .fetch_one(db)
    .await
}

/// A row's state, for tests and tools: (state, attempts, last error).
pub async fn state_of(
    db: impl Executor<'_>,
    id: i64,
) -> Result<Option<(String, i64, Option<String>)>, sqlx::Error> {
    sqlx::query_as("SELECT state, attempts, last_error FROM outbox WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Deletes the rows sent or failed before `before_ms`.
pub async fn prune(db: impl Executor<'_>, before_ms: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM outbox WHERE state IN ('sent', 'failed') AND created_at < $1")
            .bind(before_ms)
            .execute(db)
            .await?
            .rows_affected(),
    )
}
