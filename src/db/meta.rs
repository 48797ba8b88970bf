//! Facts about the database itself.

use crate::db::Executor;

/// The value stored under `key`.
pub async fn get(db: impl Executor<'_>, key: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM app_meta WHERE key = $1")
        .bind(key)
        .fetch_optional(db)
        .await
}

/// Stores `value` under `key`, replacing what was there.
pub async fn set(db: impl Executor<'_>, key: &str, value: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO app_meta (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(db)
    .await?;
    Ok(())
}

/// Stores `value` under `key` unless a value is there already: of several app servers
/// starting at once, the first one's value stays and the others read it back.
pub async fn insert_absent(
    db: impl Executor<'_>,
    key: &str,
    value: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO app_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .bind(key)
        .bind(value)
        .execute(db)
        .await?;
    Ok(())
}
