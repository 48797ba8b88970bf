//! The review page's reads, run on the calling thread. Through sqlx every query is a
//! hand-off to the connection's own thread and back (about five context switches per page);
//! here each actix worker keeps its own read-only connection to the same file, on the same
//! bundled SQLite, with each statement prepared once. The queries take tens of microseconds,
//! so running them inline costs the worker less than the hand-off did. Everything else stays
//! on sqlx: writes, and pages heavy enough that they must not hold a worker. The statements
//! are `reviews`' own, so both paths ask exactly the same question; the sqlx functions there
//! stay the reference (a test compares the two) and the path for a database that is not an
//! in-process SQLite file.

use super::decks::CardRow;
use super::reviews::{
    FIRST_NEW_IN_DECK, FIRST_NEW_INTERLEAVED, MaybeState, NEXT_DUE_DAY_FILTERED,
    QUEUE_HEAD_ALL_DECKS, QUEUE_HEAD_FILTERED, QueueHeadRow,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row};
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

fn queue_head_row(r: &Row<'_>) -> rusqlite::Result<QueueHeadRow> {
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
            graded_day: r.get("graded_day")?,
        },
        stability: r.get("stability")?,
        difficulty: r.get("difficulty")?,
    })
}

fn card_row(r: &Row<'_>) -> rusqlite::Result<CardRow> {
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
}

/// `reviews::queue_head`: counts and the first due card for `user_id` on day `today`, in
/// deck `only` (or all) but not in the `hidden` deck list.
pub fn queue_head(
    path: &Path,
    user_id: i64,
    today: i32,
    only: Option<i64>,
    hidden: &str,
) -> rusqlite::Result<QueueHeadRow> {
    with_reader(path, |conn| {
        if only.is_none() && hidden.is_empty() {
            conn.prepare_cached(QUEUE_HEAD_ALL_DECKS)?
                .query_row((user_id, today), queue_head_row)
        } else {
            conn.prepare_cached(QUEUE_HEAD_FILTERED)?
                .query_row((user_id, today, only, hidden, today), queue_head_row)
        }
    })
}

/// `reviews::first_new`: the next card this user never saw. The page asks for it when nothing
/// is due, so a student working through new cards pays no hand-off either.
pub fn first_new(
    path: &Path,
    user_id: i64,
    only: Option<i64>,
    hidden: &str,
) -> rusqlite::Result<Option<CardRow>> {
    with_reader(path, |conn| {
        let sql = if only.is_some() {
            FIRST_NEW_IN_DECK
        } else {
            FIRST_NEW_INTERLEAVED
        };
        conn.prepare_cached(sql)?
            .query_row((user_id, only, hidden), card_row)
            .optional()
    })
}

/// `reviews::next_due_day`: the first day after `today` a card is due.
pub fn next_due_day(
    path: &Path,
    user_id: i64,
    today: i32,
    only: Option<i64>,
    hidden: &str,
) -> rusqlite::Result<Option<i64>> {
    with_reader(path, |conn| {
        conn.prepare_cached(NEXT_DUE_DAY_FILTERED)?
            .query_row((user_id, today, only, hidden), |r| r.get(0))
    })
}
