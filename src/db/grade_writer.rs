//! The SQLite grade writer: the group commit's batches of grades (`study::grader`) written on a
//! thread of their own, through rusqlite, with every statement prepared once.
//!
//! Through sqlx each statement of a batch was a hand-off to the connection's thread and back,
//! and its rows travelled as JSON text that SQLite parsed again (begin, the contexts, the
//! writes, commit: four round trips and three JSON documents per batch). Here the whole batch,
//! the reading, the deciding and the writing, is one job for this thread: its statements bind
//! each grade's values directly and run inline, and the batch commits before the job answers.
//!
//! One writer at a time (decision 0004) still holds: a batch first takes the store's writer
//! connection out of its pool, as any write transaction does, and holds it until its commit,
//! so the batch never meets another writer in SQLite's busy handler. The statements are
//! `reviews`' own; the sqlx path stays the reference (a test compares the two over random
//! histories) and the path on PostgreSQL.

use super::Pool;
use super::reviews::{
    ADD_DAY_ONE, ADD_EVENT_ONE, BatchWrites, DELETE_STATE_ONE, GRADE_CONTEXT_ONE, GradeContextRow,
    GradeStore, MaybeState, PUT_STATE_ONE,
};
use rusqlite::{Connection, OpenFlags, params};
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{LazyLock, OnceLock};
use std::task::{Context, Poll, Waker};
use tokio::sync::oneshot;

/// A job for the writer's thread.
type Job = Box<dyn FnOnce(&mut Thread) + Send>;

/// The writer of one SQLite file. Its thread starts with the first batch and ends when the
/// last handle goes.
#[derive(Debug)]
pub struct GradeWriter {
    path: PathBuf,
    /// The store's writer pool: holding its one connection is holding the write lock.
    lock: Pool,
    jobs: OnceLock<mpsc::Sender<Job>>,
}

/// The thread's side: its connection, opened at its first job (and again after a close).
struct Thread {
    path: PathBuf,
    conn: Option<Connection>,
}

/// A rusqlite failure, as the store's error type.
fn failed(e: rusqlite::Error) -> sqlx::Error {
    sqlx::Error::Protocol(format!("the grade writer: {e}"))
}

fn stopped() -> sqlx::Error {
    sqlx::Error::Protocol("the grade writer's thread has stopped".to_owned())
}

/// `exams::window_loads`' statement with rusqlite's numbered parameters.
static WINDOW_LOADS: LazyLock<String> =
    LazyLock::new(|| super::hot::numbered(&super::exams::window_loads_sql(super::Backend::Sqlite)));

impl GradeWriter {
    /// The writer of the SQLite file at `path`, whose writer pool is `lock`.
    pub(crate) fn new(path: &Path, lock: Pool) -> Self {
        Self {
            path: path.to_owned(),
            lock,
            jobs: OnceLock::new(),
        }
    }

    fn sender(&self) -> Result<&mpsc::Sender<Job>, sqlx::Error> {
        if let Some(jobs) = self.jobs.get() {
            return Ok(jobs);
        }
        let (jobs, queue) = mpsc::channel::<Job>();
        let path = self.path.clone();
        // Two batches racing to start the thread: the loser's thread finds its queue closed
        // and ends at once.
        std::thread::Builder::new()
            .name("grade-writer".into())
            .spawn(move || {
                let mut thread = Thread { path, conn: None };
                for job in queue {
                    job(&mut thread);
                }
            })
            .map_err(sqlx::Error::Io)?;
        Ok(self.jobs.get_or_init(|| jobs))
    }

    /// Runs `write` in one write transaction on the writer's thread and commits it; rolls it
    /// back if `write` fails (or panics) or the commit does. Answers only once the transaction
    /// has ended, either way. `write`'s future must never wait: the writer's statements run
    /// inline, so it is polled once, on the thread.
    pub async fn transaction<T: Send + 'static>(
        &self,
        write: impl AsyncFnOnce(&mut WriteTx<'_>) -> Result<T, sqlx::Error> + Send + 'static,
    ) -> Result<T, sqlx::Error> {
        // The store's one writer (decision 0004): no other write transaction starts meanwhile.
        let held = self.lock.acquire().await?;
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |thread| {
            let _ = reply.send(thread.transaction(write));
        });
        self.sender()?.send(job).map_err(|_| stopped())?;
        let result = answer.await.map_err(|_| stopped())?;
        drop(held);
        result
    }

    /// Closes the writer's connection (the store is closing: the last connection to close
    /// checkpoints the log and removes it). A later batch opens it again.
    pub async fn close(&self) {
        let Some(jobs) = self.jobs.get() else {
            return;
        };
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |thread| {
            thread.conn = None;
            let _ = reply.send(());
        });
        if jobs.send(job).is_ok() {
            let _ = answer.await;
        }
    }
}

impl Thread {
    fn connection(&mut self) -> Result<&Connection, sqlx::Error> {
        if self.conn.is_none() {
            self.conn = Some(open(&self.path).map_err(failed)?);
        }
        self.conn.as_ref().ok_or_else(stopped)
    }

    fn transaction<T>(
        &mut self,
        write: impl AsyncFnOnce(&mut WriteTx<'_>) -> Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        let conn = self.connection()?;
        conn.prepare_cached("BEGIN IMMEDIATE")
            .and_then(|mut s| s.execute([]))
            .map_err(failed)?;
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let mut tx = WriteTx { conn };
            let future = std::pin::pin!(write(&mut tx));
            match future.poll(&mut Context::from_waker(Waker::noop())) {
                Poll::Ready(result) => result,
                Poll::Pending => Err(sqlx::Error::Protocol(
                    "a write on the grade writer waited".to_owned(),
                )),
            }
        }));
        let result = match outcome {
            Ok(Ok(value)) => match conn
                .prepare_cached("COMMIT")
                .and_then(|mut s| s.execute([]))
            {
                Ok(_) => return Ok(value),
                Err(e) => Err(failed(e)),
            },
            Ok(Err(e)) => Err(e),
            Err(_) => Err(sqlx::Error::Protocol(
                "a write on the grade writer panicked".to_owned(),
            )),
        };
        // A failed commit may leave the transaction open; nothing of it is kept.
        if !conn.is_autocommit() && conn.execute_batch("ROLLBACK").is_err() {
            // A connection that cannot roll back is not used again.
            self.conn = None;
        }
        result
    }
}

/// Opens the writer's connection with the server writer's settings (`db::open_file`): the
/// log is checkpointed by `db::checkpoint`, never inside a commit.
fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch(&format!(
        "{} PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {};",
        super::SQLITE_SETTINGS,
        super::checkpoint::LOG_FILE_LIMIT_BYTES
    ))?;
    Ok(conn)
}

/// A write transaction on the grade writer's connection.
pub struct WriteTx<'c> {
    conn: &'c Connection,
}

/// The columns of `GRADE_CONTEXT_ONE`, in the order the row reader takes them.
#[cfg(test)]
const CONTEXT_COLUMNS: [&str; 14] = [
    "idx",
    "card_deck",
    "repetitions",
    "easiness_hundredths",
    "interval_days",
    "due_day",
    "lapses",
    "last_reviewed_at",
    "graded_day",
    "stability",
    "difficulty",
    "last_quality_today",
    "events_today",
    "introduced_today",
];

impl WriteTx<'_> {
    fn contexts(
        &self,
        items: &[(i64, i64, i32)],
    ) -> rusqlite::Result<Vec<Option<(i64, GradeContextRow)>>> {
        let mut statement = self.conn.prepare_cached(&GRADE_CONTEXT_ONE)?;
        items
            .iter()
            .map(|&(user, card, day)| {
                statement
                    .query_row((user, card, day), |r| {
                        let deck: Option<i64> = r.get(1)?;
                        Ok(deck.map(|deck| {
                            Ok::<_, rusqlite::Error>((
                                deck,
                                GradeContextRow {
                                    state: MaybeState {
                                        repetitions: r.get(2)?,
                                        easiness_hundredths: r.get(3)?,
                                        interval_days: r.get(4)?,
                                        due_day: r.get(5)?,
                                        lapses: r.get(6)?,
                                        last_reviewed_at: r.get(7)?,
                                        graded_day: r.get(8)?,
                                    },
                                    stability: r.get(9)?,
                                    difficulty: r.get(10)?,
                                    last_quality_today: r.get(11)?,
                                    events_today: r.get(12)?,
                                    introduced_today: r.get(13)?,
                                },
                            ))
                        }))
                    })
                    .and_then(Option::transpose)
            })
            .collect()
    }

    fn loads(
        &self,
        user_id: i64,
        decks: &[i64],
        first: i32,
        last: i32,
    ) -> rusqlite::Result<HashMap<i32, u32>> {
        let decks = serde_json::to_string(decks)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        let mut statement = self.conn.prepare_cached(&WINDOW_LOADS)?;
        let rows = statement.query_map((user_id, first, last, decks), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })?;
        let mut loads = HashMap::new();
        for row in rows {
            let (day, n) = row?;
            if let (Ok(day), Ok(n)) = (i32::try_from(day), u32::try_from(n)) {
                loads.insert(day, n);
            }
        }
        Ok(loads)
    }

    fn record(&self, w: &BatchWrites) -> rusqlite::Result<()> {
        if !w.deletes.is_empty() {
            let mut delete = self.conn.prepare_cached(DELETE_STATE_ONE)?;
            for k in &w.deletes {
                delete.execute((k.user_id, k.card_id))?;
            }
        }
        if !w.states.is_empty() {
            let mut put = self.conn.prepare_cached(PUT_STATE_ONE)?;
            for s in &w.states {
                put.execute(params![
                    s.user_id,
                    s.card_id,
                    s.repetitions,
                    s.easiness_hundredths,
                    s.interval_days,
                    s.due_day,
                    s.lapses,
                    s.last_reviewed_at,
                    s.graded_day,
                    s.stability,
                    s.difficulty,
                ])?;
            }
        }
        let mut add = self.conn.prepare_cached(ADD_EVENT_ONE)?;
        for e in &w.events {
            add.execute(params![
                e.user_id,
                e.card_id,
                e.study_day,
                e.kind,
                e.reviewed_at,
                e.quality,
                e.repetitions_before,
                e.easiness_before,
                e.interval_before,
                e.due_day_before,
                e.lapses_before,
                e.last_reviewed_before,
                e.repetitions_after,
                e.easiness_after,
                e.interval_after,
                e.due_day_after,
                e.response_ms,
                e.variant_seed,
                e.answer,
                e.suggested_quality,
                e.undoes,
            ])?;
        }
        let mut day = self.conn.prepare_cached(ADD_DAY_ONE)?;
        for (&(user_id, study_day), d) in &w.days {
            day.execute(params![
                user_id,
                study_day,
                d.reviews,
                d.mature_reviews,
                d.mature_passed,
                d.introduced,
            ])?;
        }
        Ok(())
    }
}

impl GradeStore for WriteTx<'_> {
    async fn grade_contexts(
        &mut self,
        items: &[(i64, i64, i32)],
    ) -> Result<Vec<Option<(i64, GradeContextRow)>>, sqlx::Error> {
        self.contexts(items).map_err(failed)
    }

    async fn window_loads(
        &mut self,
        user_id: i64,
        decks: &[i64],
        first: i32,
        last: i32,
    ) -> Result<HashMap<i32, u32>, sqlx::Error> {
        self.loads(user_id, decks, first, last).map_err(failed)
    }

    async fn record_batch(&mut self, w: &BatchWrites) -> Result<(), sqlx::Error> {
        self.record(w).map_err(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The context statement lists its columns where the row reader looks for them, and every
    /// statement of the writer prepares on the schema.
    #[tokio::test]
    async fn the_writers_statements_prepare_and_read_their_columns_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("writer.db");
        let pool = crate::db::connect(crate::db::Location::File(path.clone()))
            .await
            .unwrap();
        pool.close().await;
        let conn = open(&path).unwrap();
        let statement = conn.prepare(&GRADE_CONTEXT_ONE).unwrap();
        assert_eq!(statement.column_names(), CONTEXT_COLUMNS);
        for sql in [
            DELETE_STATE_ONE,
            PUT_STATE_ONE,
            ADD_EVENT_ONE,
            ADD_DAY_ONE,
            WINDOW_LOADS.as_str(),
        ] {
            conn.prepare(sql).unwrap();
        }
    }
}
