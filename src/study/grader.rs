//! Group commit for grades. One task owns the write path for grades: it takes every grade
//! that is waiting, records them all in one transaction, commits once, and only then answers
//! each request. Under load this turns hundreds of small transactions (each paying SQLite's
//! commit and several thread hops while holding the write lock) into a few large ones; when
//! idle, a lone grade is committed at once, so latency stays as low as before.
//!
//! On SQLite a batch is one job for the grade writer's thread (`db::grade_writer`): the
//! contexts, the decisions and the writes run there inline, on rusqlite with statements
//! prepared once, and the job answers after the commit. PostgreSQL's batches go through sqlx.
//!
//! On PostgreSQL a batch locks only its students' rows (`db::begin_write_of`), so several
//! batches commit at once: a few tasks take turns at the queue, and while one waits for its
//! commit to reach the disk the next one writes.

use super::StudyError;
use super::review::{GradeRequest, Graded, grade_batch};
use crate::db;
use tokio::sync::{mpsc, oneshot};

/// Most grades in one transaction, bounding the time any one waits for the commit.
const MAX_BATCH: usize = 256;
/// Grades waiting before senders are made to wait too (backpressure).
const QUEUE: usize = 4096;
/// Batches in flight at once on PostgreSQL (SQLite has one writer: one).
const POSTGRES_BATCHES: usize = 4;
/// Most grades in one batch on PostgreSQL: each student in a batch is one more advisory lock
/// held to its commit, out of PostgreSQL's shared lock table (`max_locks_per_transaction`,
/// 64 by default, times the connections), which every server's batches share.
const POSTGRES_MAX_BATCH: usize = 64;

struct Job {
    request: GradeRequest,
    reply: oneshot::Sender<Result<Graded, StudyError>>,
}

/// The handle handlers grade through.
#[derive(Debug, Clone)]
pub struct Grader {
    jobs: mpsc::Sender<Job>,
}

impl Grader {
    /// Starts the grading task on the current Tokio runtime, writing to `db`.
    pub fn spawn(db: db::Db, max_interval_days: u32) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let (tasks, most) = if db.may_be_shared() {
            (POSTGRES_BATCHES, POSTGRES_MAX_BATCH)
        } else {
            (1, MAX_BATCH)
        };
        let queue = std::sync::Arc::new(tokio::sync::Mutex::new(queue));
        for _ in 0..tasks {
            tokio::spawn(run(queue.clone(), db.clone(), most, max_interval_days));
        }
        Self { jobs }
    }

    /// Records a grade; answers once it is committed.
    pub async fn grade(&self, request: GradeRequest) -> Result<Graded, StudyError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { request, reply })
            .await
            .map_err(|_| StudyError::Internal(anyhow::anyhow!("the grading task has stopped")))?;
        answer.await.map_err(|_| {
            StudyError::Internal(anyhow::anyhow!("the grading task dropped a grade"))
        })?
    }
}

async fn run(
    queue: std::sync::Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    db: db::Db,
    most: usize,
    max_interval_days: u32,
) {
    let mut batch = Vec::with_capacity(most);
    // The queue is held only while taking a batch: the next task takes the next one.
    while queue.lock().await.recv_many(&mut batch, most).await > 0 {
        commit_batch(&db, std::mem::take(&mut batch), max_interval_days).await;
        // A stream of grades would otherwise grow SQLite's log without bound
        // (`db::checkpoint`).
        db.after_commit().await;
    }
}

/// Records a batch in one transaction. A refused grade (not due, unknown card...) writes
/// nothing and does not disturb the others; a database failure rolls the whole batch back and
/// every grade in it gets the error, so no answer ever claims a grade that was not committed.
async fn commit_batch(db: &db::Db, batch: Vec<Job>, max_interval_days: u32) {
    let requests: Vec<GradeRequest> = batch.iter().map(|job| job.request.clone()).collect();
    match record(db, requests, max_interval_days, db.grade_writer().is_some()).await {
        Ok(results) => {
            for (job, result) in batch.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
        }
        Err(e) => {
            tracing::error!(grades = batch.len(), "grade batch failed: {e}");
            for job in batch {
                let error = if db::is_unreachable(&e) {
                    StudyError::Busy {
                        message: db::UNREACHABLE.to_owned(),
                        retry_after_secs: db::UNREACHABLE_RETRY_SECS,
                    }
                } else {
                    StudyError::Internal(anyhow::anyhow!("recording the grade failed: {e}"))
                };
                let _ = job.reply.send(Err(error));
            }
        }
    }
}

/// A batch's verdicts, each grade's own.
type Verdicts = Vec<Result<Graded, StudyError>>;

/// Records `requests` in one transaction and commits it: on SQLite's grade writer
/// (`db::grade_writer`, one hand-off to its thread for the whole batch) when `inline`, else
/// through sqlx (PostgreSQL's path). An error means nothing of the batch was kept.
async fn record(
    db: &db::Db,
    requests: Vec<GradeRequest>,
    max_interval_days: u32,
    inline: bool,
) -> Result<Verdicts, sqlx::Error> {
    if inline && let Some(writer) = db.grade_writer() {
        return writer
            .transaction(async move |tx| grade_batch(tx, &requests, max_interval_days).await)
            .await;
    }
    // The batch changes only its students' rows: on PostgreSQL other servers' batches of
    // other students commit beside it.
    let rows: Vec<db::Rows> = requests
        .iter()
        .map(|r| db::Rows::of_user(r.user_id))
        .collect();
    let mut tx = db.begin_write_of(&rows).await?;
    let results = match grade_batch(&mut *tx, &requests, max_interval_days).await {
        Ok(results) => results,
        Err(e) => {
            let _ = tx.rollback().await;
            return Err(e);
        }
    };
    tx.commit().await?;
    Ok(results)
}

/// Records one batch of grades as the group commit does, through the SQLite grade writer
/// (`inline`) or through sqlx: for the test that compares the two paths over random histories.
#[doc(hidden)]
pub async fn record_batch_through(
    db: &db::Db,
    requests: Vec<GradeRequest>,
    max_interval_days: u32,
    inline: bool,
) -> Result<Verdicts, sqlx::Error> {
    record(db, requests, max_interval_days, inline).await
}
