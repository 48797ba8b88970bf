//! The review page's one read, run on the calling thread. Through sqlx every query is a
//! hand-off to the connection's own thread and back (about five context switches per page);
//! here each actix worker keeps its own read-only connection to the same file, on the same
//! bundled SQLite, with the statement prepared once. The query takes tens of microseconds, so
//! running it inline costs the worker less than the hand-off did. Everything else stays on
//! sqlx: writes, and pages heavy enough that they must not hold a worker.

use super::decks::CardRow;
use super::reviews::{MaybeState, QUEUE_HEAD_ALL_DECKS, QueueHeadRow};
use rusqlite::OptionalExtension;
use rusqlite::{Connection, OpenFlags};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

thread_local! {
    /// This thread's connection and the file it reads (a process may serve several files:
    /// the tests run many servers at once).
    static READER: RefCell<Option<(PathBuf, Connection)>> = const { RefCell::new(None) };
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "query_only", true)?;
    conn.pragma_update(None, "cache_size", -16000)?;
    Ok(conn)
}

/// Runs `f` on this thread's connection to `path`, opening it the first time.
fn with_reader<T>(
    path: &Path,
    f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    READER.with(|cell| {
        let mut slot = cell.borrow_mut();
        match slot.as_ref() {
            Some((open_path, conn)) if open_path == path => f(conn),
            _ => {
                let conn = open(path)?;
                let result = f(&conn);
                *slot = Some((path.to_owned(), conn));
                result
            }
        }
    })
}

/// `reviews::queue_head` over every deck with nothing hidden, for `user_id` on day `today`.
pub fn queue_head_all_decks(
    path: &Path,
    user_id: i64,
    today: i32,
) -> rusqlite::Result<QueueHeadRow> {
    with_reader(path, |conn| {
        let mut statement = conn.prepare_cached(QUEUE_HEAD_ALL_DECKS)?;
        statement.query_row((user_id, today), |r| {
            Ok(QueueHeadRow {
                today_events: r.get("today_events")?,
                due_count: r.get("due_count")?,
                new_count: r.get("new_count")?,
                card_id: r.get("card_id")?,
                deck_id: r.get("deck_id")?,
                deck_name: r.get("deck_name")?,
                front: r.get("front")?,
                back: r.get("back")?,
                kind: r.get("kind")?,
                generator: r.get("generator")?,
                position: r.get("position")?,
                tags: r.get("tags")?,
                state: MaybeState {
                    repetitions: r.get("repetitions")?,
                    easiness_hundredths: r.get("easiness_hundredths")?,
                    interval_days: r.get("interval_days")?,
                    due_day: r.get("due_day")?,
                    lapses: r.get("lapses")?,
                    last_reviewed_at: r.get("last_reviewed_at")?,
                },
            })
        })
    })
}

/// `reviews::first_new` over every deck: the first card this user has never seen, the decks
/// interleaved by position. The page asks for it when nothing is due, so a student working
/// through new cards pays no hand-off either.
pub fn first_new_all_decks(path: &Path, user_id: i64) -> rusqlite::Result<Option<CardRow>> {
    with_reader(path, |conn| {
        let mut statement = conn.prepare_cached(
            "SELECT c.id, c.deck_id, c.front, c.back, c.kind, c.generator, c.position, c.tags
             FROM cards c
             WHERE NOT EXISTS (SELECT 1 FROM review_states s WHERE s.user_id = ?1 AND s.card_id = c.id)
             ORDER BY c.position, c.deck_id, c.id LIMIT 1",
        )?;
        statement
            .query_row((user_id,), |r| {
                Ok(CardRow {
                    id: r.get(0)?,
                    deck_id: r.get(1)?,
                    front: r.get(2)?,
                    back: r.get(3)?,
                    kind: r.get(4)?,
                    generator: r.get(5)?,
                    position: r.get(6)?,
                    tags: r.get(7)?,
                })
            })
            .optional()
    })
}

/// `reviews::next_due_day` over every deck: the first day after `today` a card is due.
pub fn next_due_day_all_decks(
    path: &Path,
    user_id: i64,
    today: i32,
) -> rusqlite::Result<Option<i64>> {
    with_reader(path, |conn| {
        let mut statement = conn.prepare_cached(
            "SELECT MIN(due_day) FROM review_states WHERE user_id = ?1 AND due_day > ?2",
        )?;
        statement.query_row((user_id, today), |r| r.get(0))
    })
}
