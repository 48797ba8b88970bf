//! Accounts.

use crate::db::Executor;
use sqlx::FromRow;

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
    /// Whether the account is disabled.
    #[sqlx(try_from = "crate::db::Flag")]
    pub disabled: bool,
}

/// A line of the admin's user list.
#[derive(Debug, Clone, FromRow)]
pub struct UserListRow {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: String,
    /// Disabled?
    #[sqlx(try_from = "crate::db::Flag")]
    pub disabled: bool,
    /// Must choose a new password at next login?
    #[sqlx(try_from = "crate::db::Flag")]
    pub must_change_password: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Reviews recorded.
    pub reviews: i64,
}

/// Accounts whose name contains `search` (all when empty), by name, at most `limit`.
pub async fn list(
    db: impl Executor<'_>,
    search: &str,
    limit: i64,
) -> Result<Vec<UserListRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id, u.username, u.role, u.disabled, u.must_change_password, u.created_at,
                (SELECT COALESCE(CAST(SUM(reviews) AS BIGINT), 0) FROM review_days d WHERE d.user_id = u.id) AS reviews
         FROM users u
         WHERE $1 = '' OR instr(lower(u.username), lower($1)) > 0
         ORDER BY u.username COLLATE NOCASE LIMIT $2",
    )
    .bind(search)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Sets a user's role, given here (an admin's choice): no provider's groups hold it.
pub async fn set_role(db: impl Executor<'_>, id: i64, role: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE users SET role = $2, role_source = NULL WHERE id = $1")
        .bind(id)
        .bind(role)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Disables or enables an account.
pub async fn set_disabled(
    db: impl Executor<'_>,
    id: i64,
    disabled: bool,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE users SET disabled = $2 WHERE id = $1")
        .bind(id)
        .bind(i64::from(disabled))
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces a password hash and says whether the user must change it at next login.
pub async fn set_password(
    db: impl Executor<'_>,
    id: i64,
    password_hash: &str,
    must_change: bool,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE users SET password_hash = $2, must_change_password = $3 WHERE id = $1")
            .bind(id)
            .bind(password_hash)
            .bind(i64::from(must_change))
            .execute(db)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Creates an account; the first account of a database becomes admin (and the break-glass
/// admin: the operator's own, made before anyone else could register), later ones get `role`.
/// One statement, so two first registrations racing cannot both become admin.
pub async fn create(
    db: impl Executor<'_>,
    username: &str,
    password_hash: &str,
    role: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO users (username, password_hash, role, created_at, break_glass)
         SELECT $1, $2, CASE WHEN EXISTS (SELECT 1 FROM users) THEN $3 ELSE 'admin' END, $4,
                CASE WHEN EXISTS (SELECT 1 FROM users) THEN 0 ELSE 1 END
         RETURNING id",
    )
    .bind(username)
    .bind(password_hash)
    .bind(role)
    .bind(now)
    .fetch_one(db)
    .await
}

/// Creates an account with exactly `role` (no first-account rule: an account made by sign-on
/// is an admin only through the provider's mapped groups).
pub async fn create_with_role(
    db: impl Executor<'_>,
    username: &str,
    password_hash: &str,
    role: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO users (username, password_hash, role, created_at)
         VALUES ($1, $2, $3, $4) RETURNING id",
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
    db: impl Executor<'_>,
    username: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, username, password_hash, role, time_zone, day_starts_hour, new_per_day, disabled
         FROM users WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(db)
    .await
}

/// The account with this id.
pub async fn find(db: impl Executor<'_>, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, username, password_hash, role, time_zone, day_starts_hour, new_per_day, disabled
         FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Replaces a user's password hash.
pub async fn set_password_hash(
    db: impl Executor<'_>,
    id: i64,
    password_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $2, must_change_password = 0 WHERE id = $1")
        .bind(id)
        .bind(password_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Saves a user's study preferences.
pub async fn set_preferences(
    db: impl Executor<'_>,
    id: i64,
    time_zone: &str,
    day_starts_hour: u8,
    new_per_day: u32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET time_zone = $2, day_starts_hour = $3, new_per_day = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(time_zone)
    .bind(i64::from(day_starts_hour))
    .bind(i64::from(new_per_day))
    .execute(db)
    .await?;
    Ok(())
}

/// Allows `count` more new cards on study day `day` (added to any extension already granted
/// for that day; an older day's extension is replaced), up to 9,999.
pub async fn extend_new_cards(
    db: impl Executor<'_>,
    user_id: i64,
    day: i32,
    count: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET
            extra_new = CASE WHEN extra_new_day = $2 AND extra_new + $3 > 9999 THEN 9999
                             WHEN extra_new_day = $2 THEN extra_new + $3
                             WHEN $3 > 9999 THEN 9999 ELSE $3 END,
            extra_new_day = $2
         WHERE id = $1",
    )
    .bind(user_id)
    .bind(day)
    .bind(count)
    .execute(db)
    .await?;
    Ok(())
}

/// Sets a user's time zone (an IANA name already checked).
pub async fn set_time_zone(
    db: impl Executor<'_>,
    id: i64,
    time_zone: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET time_zone = $2 WHERE id = $1")
        .bind(id)
        .bind(time_zone)
        .execute(db)
        .await?;
    Ok(())
}

/// Sets a user's grade buttons: "four" or "six".
pub async fn set_grade_buttons(
    db: impl Executor<'_>,
    id: i64,
    layout: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET grade_buttons = $2 WHERE id = $1")
        .bind(id)
        .bind(layout)
        .execute(db)
        .await?;
    Ok(())
}

/// A user's scheduler's stored name ("sm2" or "fsrs").
pub async fn scheduler_of(db: impl Executor<'_>, id: i64) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT scheduler FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(db)
        .await
}

/// Sets a user's scheduler and, when `chosen`, the desired retention as their own choice
/// (otherwise they follow their class's default).
pub async fn set_scheduler(
    db: impl Executor<'_>,
    id: i64,
    scheduler: crate::srs::scheduler::Scheduler,
    chosen: bool,
) -> Result<(), sqlx::Error> {
    let retention = match scheduler {
        crate::srs::scheduler::Scheduler::Fsrs { retention_pct } => i64::from(retention_pct),
        crate::srs::scheduler::Scheduler::Sm2 => 90,
    };
    sqlx::query(
        "UPDATE users SET scheduler = $2, desired_retention = $3, retention_chosen = $4
         WHERE id = $1",
    )
    .bind(id)
    .bind(scheduler.name())
    .bind(retention)
    .bind(i64::from(chosen))
    .execute(db)
    .await?;
    Ok(())
}

/// The login names of the site's administrators who may log in, alphabetically, at most
/// `limit`: whom a report's reader is told to ask about a deck only the admins edit.
pub async fn admin_names(db: impl Executor<'_>, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT username FROM users WHERE role = 'admin' AND disabled = 0
         ORDER BY username LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Where an account's role came from and whether it is the break-glass admin.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct RoleOrigin {
    /// The role.
    pub role: String,
    /// The key of the provider whose groups gave the role; None when it was given here.
    pub role_source: Option<String>,
    /// The admin made by `studyhall create-admin`.
    #[sqlx(try_from = "crate::db::Flag")]
    pub break_glass: bool,
}

/// Where `id`'s role came from.
pub async fn role_origin(
    db: impl Executor<'_>,
    id: i64,
) -> Result<Option<RoleOrigin>, sqlx::Error> {
    sqlx::query_as("SELECT role, role_source, break_glass FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Sets a user's role as provider `source`'s groups give it.
pub async fn set_role_from(
    db: impl Executor<'_>,
    id: i64,
    role: &str,
    source: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET role = $2, role_source = $3 WHERE id = $1")
        .bind(id)
        .bind(role)
        .bind(source)
        .execute(db)
        .await?;
    Ok(())
}

/// Marks `id` the break-glass admin (`studyhall create-admin`).
pub async fn mark_break_glass(db: impl Executor<'_>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET break_glass = 1 WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}
