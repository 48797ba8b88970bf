//! Accounts.

use sqlx::{FromRow, SqliteExecutor};

/// A stored account.
#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    /// Id.
    pub id: i64,
    /// Login name as registered.
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// admin | instructor | student.
    pub role: String,
    /// IANA time zone.
    pub time_zone: String,
    /// 0..=23.
    pub day_starts_hour: i64,
    /// New cards a day.
    pub new_per_day: i64,
}

/// Creates an account; the first account of a database becomes admin, later ones get
/// `role`. One statement, so two first registrations racing cannot both become admin.
pub async fn create(
    db: impl SqliteExecutor<'_>,
    username: &str,
    password_hash: &str,
    role: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO users (username, password_hash, role, created_at)
         SELECT ?1, ?2, CASE WHEN EXISTS (SELECT 1 FROM users) THEN ?3 ELSE 'admin' END, ?4
         RETURNING id",
    )
    .bind(username)
    .bind(password_hash)
    .bind(role)
    .bind(now)
    .fetch_one(db)
    .await
}

/// The account with this name, ignoring case.
pub async fn find_by_username(
    db: impl SqliteExecutor<'_>,
    username: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, username, password_hash, role, time_zone, day_starts_hour, new_per_day
         FROM users WHERE username = ?1",
    )
    .bind(username)
    .fetch_optional(db)
    .await
}

/// The account with this id.
pub async fn find(db: impl SqliteExecutor<'_>, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, username, password_hash, role, time_zone, day_starts_hour, new_per_day
         FROM users WHERE id = ?1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Replaces a user's password hash.
pub async fn set_password_hash(
    db: impl SqliteExecutor<'_>,
    id: i64,
    password_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = ?2 WHERE id = ?1")
        .bind(id)
        .bind(password_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Saves a user's study preferences.
pub async fn set_preferences(
    db: impl SqliteExecutor<'_>,
    id: i64,
    time_zone: &str,
    day_starts_hour: u8,
    new_per_day: u32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET time_zone = ?2, day_starts_hour = ?3, new_per_day = ?4 WHERE id = ?1",
    )
    .bind(id)
    .bind(time_zone)
    .bind(i64::from(day_starts_hour))
    .bind(i64::from(new_per_day))
    .execute(db)
    .await?;
    Ok(())
}
