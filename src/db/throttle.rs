//! The login throttle's shared state (migration 0021): an address's window of password
//! checks and an account's backoff from an address, read and written inside one write
//! transaction so that servers sharing the store take turns.

use super::Executor;

/// An address's window: (started, used).
pub async fn window(
    db: impl Executor<'_>,
    client: &str,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT started, used FROM login_windows WHERE client = $1")
        .bind(client)
        .fetch_optional(db)
        .await
}

/// An account's backoff from an address: (failures, next allowed, last failure).
pub async fn backoff(
    db: impl Executor<'_>,
    account: &str,
    client: &str,
) -> Result<Option<(i64, i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT failures, next_allowed, last_failure FROM login_backoffs
         WHERE account = $1 AND client = $2",
    )
    .bind(account)
    .bind(client)
    .fetch_optional(db)
    .await
}

/// Stores an address's window.
pub async fn set_window(
    db: impl Executor<'_>,
    client: &str,
    started: i64,
    used: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO login_windows (client, started, used) VALUES ($1, $2, $3)
         ON CONFLICT (client) DO UPDATE SET started = excluded.started, used = excluded.used",
    )
    .bind(client)
    .bind(started)
    .bind(used)
    .execute(db)
    .await?;
    Ok(())
}

/// Stores an account's backoff from an address, or forgets it (None).
pub async fn set_backoff(
    db: impl Executor<'_>,
    account: &str,
    client: &str,
    backoff: Option<(i64, i64, i64)>,
) -> Result<(), sqlx::Error> {
    match backoff {
        Some((failures, next_allowed, last)) => {
            sqlx::query(
                "INSERT INTO login_backoffs (account, client, failures, next_allowed, last_failure)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (account, client) DO UPDATE SET failures = excluded.failures,
                     next_allowed = excluded.next_allowed, last_failure = excluded.last_failure",
            )
            .bind(account)
            .bind(client)
            .bind(failures)
            .bind(next_allowed)
            .bind(last)
            .execute(db)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM login_backoffs WHERE account = $1 AND client = $2")
                .bind(account)
                .bind(client)
                .execute(db)
                .await?;
        }
    }
    Ok(())
}

/// Gives an address back one reserved check.
pub async fn give_back(db: impl Executor<'_>, client: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE login_windows SET used = CASE WHEN used > 0 THEN used - 1 ELSE 0 END
         WHERE client = $1",
    )
    .bind(client)
    .execute(db)
    .await?;
    Ok(())
}

/// Forgets windows that started before `window_from` and backoffs last failed before
/// `backoff_from`, bounding the tables.
pub async fn forget_old(
    db: &mut super::Conn,
    window_from: i64,
    backoff_from: i64,
) -> Result<(), sqlx::Error> {
    // Logins from different addresses run at once on PostgreSQL (`begin_write_of`): each
    // sweeps the rows no other is sweeping, so two sweeps never wait on each other.
    let (windows, backoffs) = match super::Backend::of_conn(db) {
        super::Backend::Sqlite => (
            "DELETE FROM login_windows WHERE started < $1",
            "DELETE FROM login_backoffs WHERE last_failure < $1",
        ),
        super::Backend::Postgres => (
            "DELETE FROM login_windows WHERE ctid IN
               (SELECT ctid FROM login_windows WHERE started < $1 FOR UPDATE SKIP LOCKED)",
            "DELETE FROM login_backoffs WHERE ctid IN
               (SELECT ctid FROM login_backoffs WHERE last_failure < $1 FOR UPDATE SKIP LOCKED)",
        ),
    };
    sqlx::query(windows)
        .bind(window_from)
        .execute(&mut *db)
        .await?;
    sqlx::query(backoffs)
        .bind(backoff_from)
        .execute(&mut *db)
        .await?;
    Ok(())
}
