//! Login sessions. Only a hash of each token is stored.

use crate::db::{Backend, Executor};
use sqlx::FromRow;

/// A live session joined with its user.
#[derive(Debug, Clone, FromRow)]
pub struct SessionUser {
    /// The session's row id.
    pub session_id: i64,
    /// The session's CSRF token.
    pub csrf_token: String,
    /// When the session ends.
    pub expires_at: i64,
    /// The user, as a learner is built from.
    #[sqlx(flatten)]
    pub user: LearnerRow,
}

/// A user with what schedules them: the account's columns a `study::Learner` and the page
/// header are built from.
#[derive(Debug, Clone, FromRow)]
pub struct LearnerRow {
    /// User id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// admin | instructor | student.
    pub role: String,
    /// IANA time zone.
    pub time_zone: String,
    /// 0..=23.
    pub day_starts_hour: i64,
    /// New cards a day.
    pub new_per_day: i64,
    /// The study day of a one-day extension of the new-card limit, if any.
    pub extra_new_day: Option<i64>,
    /// How many more new cards that day allows.
    pub extra_new: i64,
    /// four | six.
    pub grade_buttons: String,
    /// sm2 | fsrs.
    pub scheduler: String,
    /// FSRS's desired retention in percent: the user's own, or their class's default.
    pub desired_retention: i64,
    /// Whether the user chose their own retention.
    #[sqlx(try_from = "crate::db::Flag")]
    pub retention_chosen: bool,
    /// The FSRS parameters the user is scheduled with (`fsrs_parameters_of_user!`), JSON.
    pub fsrs_parameters: Option<String>,
    /// The exams of the user's classes that are not long past, JSON (`exams_of_user!`).
    pub exams: Option<String>,
    /// The user must choose a new password before anything else.
    #[sqlx(try_from = "crate::db::Flag")]
    pub must_change_password: bool,
    /// Cards a class fit moved in the last week, not yet dismissed (`schedule_notices`).
    pub notice_cards: Option<i64>,
    /// When that was, Unix seconds.
    pub notice_at: Option<i64>,
    /// The card of the newest reply to the user's reports they have not read, if any.
    pub reply_card: Option<i64>,
    /// How many replies to their reports they have not read.
    pub unread_replies: i64,
    /// The newest exam set for one of their classes they have not looked at, JSON
    /// (`exam_notice_of_user!`, read by `db::exams::notice_from_json`).
    pub exam_notice: Option<String>,
}

/// Stores a new session.
pub async fn create(
    db: impl Executor<'_>,
    token_hash: &[u8],
    user_id: i64,
    csrf_token: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(csrf_token)
    .bind(now)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// The user of an unexpired session.
pub async fn find_user(
    db: impl Executor<'_>,
    token_hash: &[u8],
    now: i64,
) -> Result<Option<SessionUser>, sqlx::Error> {
    let sql = match db.backend() {
        Backend::Sqlite => session_lookup!(sqlite),
        Backend::Postgres => session_lookup!(postgres),
    };
    sqlx::query_as(sql)
        .bind(token_hash)
        .bind(now)
        .fetch_optional(db)
        .await
}

/// `find_user`'s statement in a dialect (the exams' JSON is written in each).
macro_rules! session_lookup {
    ($dialect:ident) => {
        concat!(
            "SELECT s.id AS session_id, s.csrf_token, s.expires_at, ",
            learner_columns!($dialect),
            " FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0"
        )
    };
}
use session_lookup;

/// `LearnerRow`'s columns of the user `u`, in a dialect.
macro_rules! learner_columns {
    ($dialect:ident) => {
        concat!(
            "u.id, u.username, u.role, u.time_zone,
                u.day_starts_hour, u.new_per_day, u.extra_new_day, u.extra_new, u.grade_buttons,
                u.scheduler, ",
            crate::retention_of_user!(),
            " AS desired_retention, u.retention_chosen,
                ",
            crate::fsrs_parameters_of_user!(),
            " AS fsrs_parameters, ",
            crate::exams_of_user!($dialect),
            " AS exams, u.must_change_password,
              (SELECT n.cards FROM schedule_notices n
                WHERE n.user_id = u.id AND n.changed_at > $2 - 604800) AS notice_cards,
              (SELECT n.changed_at FROM schedule_notices n
                WHERE n.user_id = u.id AND n.changed_at > $2 - 604800) AS notice_at,
              (SELECT r.card_id FROM card_reports r
                WHERE r.user_id = u.id AND r.replied_at IS NOT NULL AND r.reply_seen_at IS NULL
                ORDER BY r.replied_at DESC, r.id DESC LIMIT 1) AS reply_card,
              (SELECT COUNT(*) FROM card_reports r
                WHERE r.user_id = u.id AND r.replied_at IS NOT NULL
                  AND r.reply_seen_at IS NULL) AS unread_replies, ",
            crate::exam_notice_of_user!($dialect),
            " AS exam_notice"
        )
    };
}
use learner_columns;

/// A user who may log in (not disabled), as a learner is built from at `now` (exams long
/// past are left out): for work that runs without a request (a job, a launch), where no
/// session names the user.
pub async fn learner(
    db: impl Executor<'_>,
    user_id: i64,
    now: i64,
) -> Result<Option<LearnerRow>, sqlx::Error> {
    let sql = match db.backend() {
        Backend::Sqlite => concat!(
            "SELECT ",
            learner_columns!(sqlite),
            " FROM users u WHERE u.id = $1 AND u.disabled = 0"
        ),
        Backend::Postgres => concat!(
            "SELECT ",
            learner_columns!(postgres),
            " FROM users u WHERE u.id = $1 AND u.disabled = 0"
        ),
    };
    // `exams_of_user!` reads the time as $2, as in the session lookup.
    sqlx::query_as(sql)
        .bind(user_id)
        .bind(now)
        .fetch_optional(db)
        .await
}

/// Ends one session.
pub async fn delete(db: impl Executor<'_>, session_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(session_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends every session of a user (disabled account, password reset).
pub async fn delete_all(db: impl Executor<'_>, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends every session of a user but one (after a password change).
pub async fn delete_others(
    db: impl Executor<'_>,
    user_id: i64,
    keep_session_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
        .bind(user_id)
        .bind(keep_session_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Forgets expired sessions.
pub async fn delete_expired(db: impl Executor<'_>, now: i64) -> Result<u64, sqlx::Error> {
    // On PostgreSQL logins of different students run at once (`begin_write_of`): each
    // sweeps the rows no other is sweeping, so two sweeps never wait on each other.
    let sql = match db.backend() {
        Backend::Sqlite => "DELETE FROM sessions WHERE expires_at <= $1",
        Backend::Postgres => {
            "DELETE FROM sessions WHERE id IN
               (SELECT id FROM sessions WHERE expires_at <= $1 FOR UPDATE SKIP LOCKED)"
        }
    };
    let done = sqlx::query(sql).bind(now).execute(db).await?;
    Ok(done.rows_affected())
}

/// Deletes all but the newest `keep` sessions of a user; returns how many went.
pub async fn keep_newest(
    db: impl Executor<'_>,
    user_id: i64,
    keep: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "DELETE FROM sessions WHERE user_id = $1 AND id NOT IN
            (SELECT id FROM sessions WHERE user_id = $1 ORDER BY id DESC LIMIT $2)",
    )
    .bind(user_id)
    .bind(keep)
    .execute(db)
    .await?
    .rows_affected())
}
