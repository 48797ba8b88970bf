//! Leased rows: work that one app server at a time claims from a table shared by all of them,
//! the jobs table (`db::jobs`) and the outbox (`db::outbox`). Both claim and let go the same
//! way; these are those statements, written once.
//!
//! A claim is one statement that picks the oldest waiting rows whose time has come and marks
//! them claimed under the server's name, with a lease and one more attempt: on PostgreSQL the
//! pick locks its rows and skips rows another server is claiming (`FOR UPDATE SKIP LOCKED`),
//! so servers claim side by side without waiting on each other or taking the same row; on
//! SQLite the statement runs under the file's one write lock, which orders claims by itself.
//! The claim takes at most its limit of rows (on PostgreSQL the pick is a materialised CTE,
//! run once; see [`claim`]).
//! Every later write of a claim names the server and the attempt it claimed (`claimed_by`,
//! `attempts`), so a server whose lease ran out, and whose row another server has claimed
//! again, changes nothing. What a table does when a lease runs out (the jobs' queue takes the
//! job back as it was, the outbox after its backoff) stays with the table.

use super::{Backend, Executor};
use sqlx::any::AnyRow;

/// A table whose rows the servers claim: its name, its states and columns.
#[derive(Debug)]
pub(super) struct Leased {
    /// The table.
    pub table: &'static str,
    /// The state of a row waiting for a server.
    pub waiting: &'static str,
    /// The state of a claimed row.
    pub claimed: &'static str,
    /// The column saying from when (Unix ms) a waiting row may be claimed.
    pub ready_at: &'static str,
    /// The order rows are claimed in (oldest first).
    pub order: &'static str,
    /// More columns a claim, and a release, set (`progress_done = 0`), or empty.
    pub reset: &'static str,
    /// The columns a claim returns.
    pub returning: &'static str,
}

impl Leased {
    fn reset(&self) -> String {
        if self.reset.is_empty() {
            String::new()
        } else {
            format!(", {}", self.reset)
        }
    }
}

/// Claims up to `limit` of the oldest waiting rows of `t` ready at `now_ms` (and passing
/// `filter`, an SQL condition on `$5` with its value), for server `instance`, holding them
/// until `lease_until_ms`. The condition is `'static`, as every fragment of `Leased` is: SQL
/// is written in the source, never built from input, which travels only as `$5`.
pub(super) async fn claim<'e, T>(
    db: impl Executor<'e>,
    t: &Leased,
    filter: Option<(&'static str, &str)>,
    instance: &str,
    now_ms: i64,
    lease_until_ms: i64,
    limit: i64,
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin,
{
    let (condition, value) = match filter {
        Some((condition, value)) => (format!(" AND {condition}"), Some(value)),
        None => (String::new(), None),
    };
    let Leased {
        table,
        waiting,
        claimed,
        ready_at,
        order,
        returning,
        ..
    } = t;
    let pick = format!(
        "SELECT id FROM {table} WHERE state = '{waiting}' AND {ready_at} <= $3{condition}
         ORDER BY {order} LIMIT $4"
    );
    let update = format!(
        "UPDATE {table} SET state = '{claimed}', claimed_by = $1, lease_until = $2,
                attempts = attempts + 1{reset}",
        reset = t.reset(),
    );
    let sql = match db.backend() {
        // The pick runs once, as a materialised CTE: written inside `id IN (...)`, PostgreSQL
        // may run it again for every row it looks at, and each run, skipping the rows it has
        // just locked, picks another one, so the claim took every waiting row whatever its
        // limit.
        Backend::Postgres => format!(
            "WITH picked AS MATERIALIZED ({pick} FOR UPDATE SKIP LOCKED)
             {update} WHERE id IN (SELECT id FROM picked) AND state = '{waiting}'
             RETURNING {returning}"
        ),
        Backend::Sqlite => {
            format!("{update} WHERE id IN ({pick}) AND state = '{waiting}' RETURNING {returning}")
        }
    };
    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(instance)
        .bind(lease_until_ms)
        .bind(now_ms)
        .bind(limit);
    if let Some(value) = value {
        query = query.bind(value);
    }
    query.fetch_all(db).await
}

/// Puts the rows of `t` server `instance` holds back to waiting, as it stops (another server,
/// or this one started again, takes them at once instead of after their lease). Returns how
/// many.
pub(super) async fn release(
    db: impl Executor<'_>,
    t: &Leased,
    instance: &str,
) -> Result<u64, sqlx::Error> {
    let sql = format!(
        "UPDATE {table} SET state = '{waiting}', claimed_by = NULL, lease_until = NULL{reset}
         WHERE state = '{claimed}' AND claimed_by = $1",
        table = t.table,
        waiting = t.waiting,
        claimed = t.claimed,
        reset = t.reset(),
    );
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(instance)
        .execute(db)
        .await?
        .rows_affected())
}
