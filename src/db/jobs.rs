//! The jobs table (migration 0022): background work asked for once and run once across the app
//! servers sharing the store. `jobs::Runner` is the rule; these are its statements.
//!
//! A claim (`db::lease`, shared with the outbox) takes the oldest queued job and marks it
//! running under the claiming server's name, once across the servers (`FOR UPDATE SKIP
//! LOCKED` on PostgreSQL, the write lock on SQLite). Every later write of a claim (progress,
//! lease, the end) names the server and the attempt it claimed, so a server whose lease ran
//! out, and whose job another server has taken again, changes nothing.

use super::Executor;
use super::lease::{self, Leased};
use sqlx::FromRow;

/// A job a server has claimed.
#[derive(Debug, Clone, FromRow)]
pub struct Claimed {
    /// Its row.
    pub id: i64,
    /// What kind of work it is.
    pub kind: String,
    /// What it is about (unique among the open jobs of its kind).
    pub key: String,
    /// Its input, as JSON.
    pub payload: String,
    /// This claim's number: 1 the first time the job is taken.
    pub attempts: i64,
}

/// A job not finished yet, as a page shows it.
#[derive(Debug, Clone, FromRow)]
pub struct OpenJob {
    /// Its row (its place in the queue).
    pub id: i64,
    /// `queued` or `running`.
    pub state: String,
    /// How far it has come, of `progress_total`.
    pub progress_done: i64,
    /// Its work in all (0 while unknown).
    pub progress_total: i64,
}

/// Queues a job of `kind` for `key`, unless one is queued or running. Returns its id, or None
/// when one was open already.
pub async fn enqueue(
    db: impl Executor<'_>,
    kind: &str,
    key: &str,
    payload: &str,
    now_ms: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO jobs (kind, key, payload, state, run_after, created_at)
         VALUES ($1, $2, $3, 'queued', $4, $4)
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(kind)
    .bind(key)
    .bind(payload)
    .bind(now_ms)
    .fetch_optional(db)
    .await
}

/// Whether a queued job of one of `kinds` (`,a,b,`) may be claimed at `now_ms` (a read, so
/// an idle server's polls write nothing).
pub async fn any_claimable(
    db: impl Executor<'_>,
    now_ms: i64,
    kinds: &str,
) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM jobs WHERE state = 'queued' AND run_after <= $1
           AND instr($2, ',' || kind || ',') > 0 LIMIT 1",
    )
    .bind(now_ms)
    .bind(kinds)
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}

/// Takes the oldest queued job of one of `kinds` (`,a,b,`: a server claims only the kinds it
/// knows, which matters while servers of two versions run side by side) for server
/// `instance`, holding it until `lease_until_ms`.
pub async fn claim(
    db: impl Executor<'_>,
    instance: &str,
    kinds: &str,
    now_ms: i64,
    lease_until_ms: i64,
) -> Result<Option<Claimed>, sqlx::Error> {
    let claimed = lease::claim(
        db,
        &JOBS,
        Some(("instr($5, ',' || kind || ',') > 0", kinds)),
        instance,
        now_ms,
        lease_until_ms,
        1,
    )
    .await?;
    Ok(claimed.into_iter().next())
}

/// The jobs table as `db::lease` claims from it: queued, then running; in the order asked.
const JOBS: Leased = Leased {
    table: "jobs",
    waiting: "queued",
    claimed: "running",
    ready_at: "run_after",
    order: "id",
    reset: "progress_done = 0, progress_total = 0",
    returning: "id, kind, key, payload, attempts",
};

/// Whether a running job's lease ran out before `now_ms` (a read, as [`any_claimable`]).
pub async fn any_expired(db: impl Executor<'_>, now_ms: i64) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM jobs WHERE state = 'running' AND lease_until < $1 LIMIT 1",
    )
    .bind(now_ms)
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}

/// Puts the running jobs whose lease ran out before `now_ms` back in the queue (in their old
/// place: the queue is in id order), except those tried `max_attempts` times already, which
/// fail. Returns (requeued, failed).
pub async fn requeue_expired(
    db: &mut super::Conn,
    now_ms: i64,
    max_attempts: i64,
) -> Result<(u64, u64), sqlx::Error> {
    let failed = sqlx::query(
        "UPDATE jobs SET state = 'failed', finished_at = $1, lease_until = NULL,
                error = 'its server stopped answering on every try'
         WHERE state = 'running' AND lease_until < $1 AND attempts >= $2",
    )
    .bind(now_ms)
    .bind(max_attempts)
    .execute(&mut *db)
    .await?
    .rows_affected();
    let requeued = sqlx::query(
        "UPDATE jobs SET state = 'queued', claimed_by = NULL, lease_until = NULL,
                progress_done = 0, progress_total = 0
         WHERE state = 'running' AND lease_until < $1",
    )
    .bind(now_ms)
    .execute(&mut *db)
    .await?
    .rows_affected();
    Ok((requeued, failed))
}

/// Renews a claim's lease and stores its progress. False when the claim is no longer this
/// server's (its lease ran out and the job was taken again).
pub async fn heartbeat(
    db: impl Executor<'_>,
    job: &Claimed,
    instance: &str,
    lease_until_ms: i64,
    (done, total): (i64, i64),
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE jobs SET lease_until = $1, progress_done = $2, progress_total = $3
         WHERE id = $4 AND state = 'running' AND claimed_by = $5 AND attempts = $6",
    )
    .bind(lease_until_ms)
    .bind(done)
    .bind(total)
    .bind(job.id)
    .bind(instance)
    .bind(job.attempts)
    .execute(db)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Ends a claim: done, or failed with `error`. False when the claim is no longer this
/// server's.
pub async fn finish(
    db: impl Executor<'_>,
    job: &Claimed,
    instance: &str,
    now_ms: i64,
    error: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE jobs SET state = CASE WHEN $1 IS NULL THEN 'done' ELSE 'failed' END,
                error = $1, finished_at = $2, lease_until = NULL
         WHERE id = $3 AND state = 'running' AND claimed_by = $4 AND attempts = $5",
    )
    .bind(error)
    .bind(now_ms)
    .bind(job.id)
    .bind(instance)
    .bind(job.attempts)
    .execute(db)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Puts the jobs server `instance` runs back in the queue, as it stops: another server (or
/// this one, started again) takes them at once instead of after their lease.
pub async fn release(db: impl Executor<'_>, instance: &str) -> Result<u64, sqlx::Error> {
    lease::release(db, &JOBS, instance).await
}

/// The open (queued or running) job of `kind` for `key`, if there is one.
pub async fn open_job(
    db: impl Executor<'_>,
    kind: &str,
    key: &str,
) -> Result<Option<OpenJob>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, state, progress_done, progress_total FROM jobs
         WHERE kind = $1 AND key = $2 AND state IN ('queued', 'running')",
    )
    .bind(kind)
    .bind(key)
    .fetch_optional(db)
    .await
}

/// Open jobs asked for before job `id` (queued or running, of any kind): those that go
/// before it.
pub async fn ahead_of(db: impl Executor<'_>, id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND id < $1)
              + (SELECT COUNT(*) FROM jobs WHERE state = 'running' AND id < $1)",
    )
    .bind(id)
    .fetch_one(db)
    .await
}

/// A job's row, for tests and tools: (state, claimed by, attempts, error).
pub async fn state_of(
    db: impl Executor<'_>,
    id: i64,
) -> Result<Option<(String, Option<String>, i64, Option<String>)>, sqlx::Error> {
    sqlx::query_as("SELECT state, claimed_by, attempts, error FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Deletes the jobs that finished before `before_ms`.
pub async fn prune(db: impl Executor<'_>, before_ms: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at < $1")
            .bind(before_ms)
            .execute(db)
            .await?
            .rows_affected(),
    )
}
