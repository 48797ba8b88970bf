//! The review page's reads, run on the calling thread. Through sqlx every query is a
//! hand-off to the connection's own thread and back (about five context switches per page);
//! here each HTTP worker thread keeps its own read-only connection to the same file, on the same
//! bundled SQLite, with each statement prepared once. The queries take tens of microseconds,
//! so running them inline costs the worker less than the hand-off did. Everything else stays
//! on sqlx: writes, and pages heavy enough that they must not hold a worker. The statements
//! are `reviews`' own, so both paths ask exactly the same question; the sqlx functions there
//! stay the reference (a test compares the two) and the path for a database that is not an
//! in-process SQLite file: on PostgreSQL each function here runs its sqlx twin on one of this
//! thread's spare connections (below).

use super::Db;
use super::decks::CardRow;
use super::reviews::{
    FIRST_NEW_EVERY_DECK, FIRST_NEW_IN_DECKS, MaybeState, NEXT_DUE_DAY_EVERY_DECK,
    NEXT_DUE_DAY_IN_DECKS, QUEUE_HEAD_ALL_DECKS, QUEUE_HEAD_FILTERED, QUEUE_VERSIONS, QueueHeadRow,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row};
use secrecy::{ExposeSecret, SecretString};
use sqlx::AnyConnection;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// The statements with rusqlite's numbered parameters (`?1`): the shared texts number them
/// `$1`, which sqlx reads on both backends but SQLite itself numbers by first appearance.
pub(crate) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

static HEAD_ALL_DECKS: LazyLock<String> = LazyLock::new(|| numbered(QUEUE_HEAD_ALL_DECKS));
static HEAD_FILTERED: LazyLock<String> = LazyLock::new(|| numbered(QUEUE_HEAD_FILTERED));

/// How the filtered queue head names its decks (`$3`): a JSON array unpacked by `json_each`.
const DECKS_AS_JSON: &str = "(SELECT value FROM json_each(?3))";

/// The list lengths the filtered queue head is also prepared for with the decks bound one
/// parameter each (`?3`, then `?5`, `?6` ...). Unpacking the JSON array four times a page cost
/// more than the rest of the statement's deck filter (on the large benchmark site, 29 µs for
/// the statement against 21 µs with the ids bound); a student's list is padded to the next
/// length by repeating its last deck (a repeat in `IN` changes nothing), so each thread keeps
/// at most these seven statements. Longer lists take the JSON text.
const BOUND_DECK_LISTS: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];

/// The filtered queue head with `n` decks bound, one per entry of `BOUND_DECK_LISTS`.
static HEAD_FILTERED_BOUND: LazyLock<Vec<String>> = LazyLock::new(|| {
    BOUND_DECK_LISTS
        .iter()
        .map(|&n| {
            let params: Vec<String> = std::iter::once("?3".to_owned())
                .chain((5..n + 4).map(|i| format!("?{i}")))
                .collect();
            HEAD_FILTERED.replace(DECKS_AS_JSON, &format!("({})", params.join(", ")))
        })
        .collect()
});
static VERSIONS: LazyLock<String> = LazyLock::new(|| numbered(QUEUE_VERSIONS));
static NEW_EVERY_DECK: LazyLock<String> = LazyLock::new(|| numbered(FIRST_NEW_EVERY_DECK));
static NEW_IN_DECKS: LazyLock<String> = LazyLock::new(|| numbered(FIRST_NEW_IN_DECKS));
static NEXT_DUE_EVERY_DECK: LazyLock<String> = LazyLock::new(|| numbered(NEXT_DUE_DAY_EVERY_DECK));
static NEXT_DUE_IN_DECKS: LazyLock<String> = LazyLock::new(|| numbered(NEXT_DUE_DAY_IN_DECKS));

/// A rusqlite failure, as the store's error type.
fn failed(e: rusqlite::Error) -> sqlx::Error {
    sqlx::Error::Protocol(format!("the review queue: {e}"))
}

thread_local! {
    /// This thread's connection and the file it reads (a process may serve several files:
    /// the tests run many servers at once).
    static READER: RefCell<Option<(PathBuf, Connection)>> = const { RefCell::new(None) };
}

thread_local! {
    /// This thread's spare PostgreSQL connections for these reads, taken out of the pool
    /// (`detach`), each with the URL it leads to and when it was last used. sqlx pings a pooled
    /// connection every time it goes back to the pool, a second round trip for a page whose own
    /// work is one statement; a spare goes back to this list without one.
    static SPARE: RefCell<Vec<Spare>> = const { RefCell::new(Vec::new()) };
    /// Spare connections this thread holds, in use or not.
    static SPARES_HELD: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The most spare connections one HTTP worker thread holds, beyond the pool's; past that a
/// read takes a pooled connection like every other statement.
pub const SPARES_PER_THREAD: usize = 8;

/// A spare connection; its database's URL is the key (a process may serve several databases:
/// the tests run many servers).
struct Spare {
    url: Arc<SecretString>,
    conn: AnyConnection,
    used: Instant,
}

/// A spare connection while a read uses it (counted in `SPARES_HELD`, as the list's are).
/// Dropped without being put back (the read failed, or its request went away in the middle of
/// the statement) it closes and no longer counts.
struct InUse(Option<AnyConnection>);

impl InUse {
    /// Back to this thread's list, still counted.
    fn put_back(mut self, url: &Arc<SecretString>) {
        if let Some(conn) = self.0.take() {
            SPARE.with_borrow_mut(|list| {
                list.push(Spare {
                    url: url.clone(),
                    conn,
                    used: Instant::now(),
                });
            });
        }
    }
}

impl Drop for InUse {
    fn drop(&mut self) {
        if self.0.is_some() {
            SPARES_HELD.set(SPARES_HELD.get() - 1);
        }
    }
}

/// Runs `read` on a spare connection to the store's PostgreSQL database, or on the pool when
/// this thread holds as many as it may.
async fn on_spare<T>(
    db: &Db,
    url: &Arc<SecretString>,
    read: impl AsyncFnOnce(&mut AnyConnection) -> Result<T, sqlx::Error>,
) -> Result<T, sqlx::Error> {
    let spare = SPARE.with_borrow_mut(|list| {
        let at = list
            .iter()
            .position(|s| s.url.expose_secret() == url.expose_secret())?;
        Some(list.swap_remove(at))
    });
    let mut held = match spare {
        Some(spare) => {
            let stale = spare.used.elapsed() > super::POSTGRES_IDLE_PING;
            let mut held = InUse(Some(spare.conn));
            // One that sat unused a while is asked first whether it is still there, as the
            // pool asks its own (`db::postgres_pool`); a dead one is dropped and another taken.
            if stale
                && let Some(conn) = held.0.as_mut()
                && sqlx::Connection::ping(conn).await.is_err()
            {
                drop(held);
                return Box::pin(on_spare(db, url, read)).await;
            }
            held
        }
        None if SPARES_HELD.get() < SPARES_PER_THREAD => {
            let mut pooled = db.reader().acquire().await?;
            if SPARES_HELD.get() >= SPARES_PER_THREAD {
                // Others on this thread took the last places while this one waited.
                return read(&mut *pooled).await;
            }
            SPARES_HELD.set(SPARES_HELD.get() + 1);
            InUse(Some(pooled.detach()))
        }
        None => return read(&mut *db.reader().acquire().await?).await,
    };
    let Some(conn) = held.0.as_mut() else {
        unreachable!("a spare in use holds its connection")
    };
    let result = read(conn).await;
    if result.is_ok() {
        held.put_back(url);
    }
    // Otherwise it may have died with the statement (the database restarted): `held` closes it.
    result
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

/// The queue head's columns in the order both statements list them (a test checks), read by
/// position: rusqlite finds a column by name by comparing the name with each column's in turn,
/// which for these 24 was 7% of the review page's CPU (perf, 2026-12-07).
const HEAD_COLUMNS: [&str; 24] = [
    "today_events",
    "controls",
    "due_count",
    "new_count",
    "card_id",
    "deck_id",
    "deck_name",
    "front",
    "back",
    "kind",
    "generator",
    "position",
    "tags",
    "format",
    "repetitions",
    "easiness_hundredths",
    "interval_days",
    "due_day",
    "lapses",
    "last_reviewed_at",
    "graded_day",
    "stability",
    "difficulty",
    "failures",
];

/// The position of `name` in `HEAD_COLUMNS`, at compile time (a name not there fails the build).
const fn head(name: &str) -> usize {
    let mut i = 0;
    while i < HEAD_COLUMNS.len() {
        let (a, b) = (HEAD_COLUMNS[i].as_bytes(), name.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("not a column of the queue head")
}

fn queue_head_row(r: &Row<'_>) -> rusqlite::Result<QueueHeadRow> {
    Ok(QueueHeadRow {
        today_events: r.get(const { head("today_events") })?,
        controls: r.get(const { head("controls") })?,
        due_count: r.get(const { head("due_count") })?,
        new_count: r.get(const { head("new_count") })?,
        card_id: r.get(const { head("card_id") })?,
        deck_id: r.get(const { head("deck_id") })?,
        deck_name: r.get(const { head("deck_name") })?,
        front: r.get(const { head("front") })?,
        back: r.get(const { head("back") })?,
        kind: r.get(const { head("kind") })?,
        generator: r.get(const { head("generator") })?,
        position: r.get(const { head("position") })?,
        tags: r.get(const { head("tags") })?,
        format: r.get(const { head("format") })?,
        state: MaybeState {
            repetitions: r.get(const { head("repetitions") })?,
            easiness_hundredths: r.get(const { head("easiness_hundredths") })?,
            interval_days: r.get(const { head("interval_days") })?,
            due_day: r.get(const { head("due_day") })?,
            lapses: r.get(const { head("lapses") })?,
            last_reviewed_at: r.get(const { head("last_reviewed_at") })?,
            graded_day: r.get(const { head("graded_day") })?,
        },
        stability: r.get(const { head("stability") })?,
        difficulty: r.get(const { head("difficulty") })?,
        failures: r.get(const { head("failures") })?,
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
        format: r.get(8)?,
    })
}

/// `reviews::queue_versions`: what a kept copy of `user_id`'s review page is checked
/// against, on a store whose triggers keep them (SQLite). `None` on PostgreSQL, where that
/// check would be the round trip the copy saves: notices tell each server instead
/// (`study::review::cache`).
pub async fn queue_versions(db: &Db, user_id: i64) -> Result<Option<(i64, i64)>, sqlx::Error> {
    let Some(path) = db.file() else {
        return match &db.postgres_url {
            Some(_) => Ok(None),
            None => super::reviews::queue_versions(db.reader(), user_id)
                .await
                .map(Some),
        };
    };
    with_reader(path, |conn| {
        conn.prepare_cached(&VERSIONS)?
            .query_row([user_id], |r| Ok((r.get(0)?, r.get(1)?)))
    })
    .map(Some)
    .map_err(failed)
}

/// `reviews::queue_head`: counts and the first due card for `user_id` on day `today`, in
/// the decks of `decks` (a JSON array; every deck when `None`).
pub async fn queue_head(
    db: &Db,
    user_id: i64,
    today: i32,
    decks: Option<&str>,
) -> Result<QueueHeadRow, sqlx::Error> {
    let Some(path) = db.file() else {
        return match &db.postgres_url {
            Some(url) => {
                on_spare(db, url, async |conn| {
                    super::reviews::queue_head(conn, user_id, today, decks).await
                })
                .await
            }
            None => super::reviews::queue_head(db.reader(), user_id, today, decks).await,
        };
    };
    with_reader(path, |conn| match decks {
        None => conn
            .prepare_cached(&HEAD_ALL_DECKS)?
            .query_row((user_id, today), queue_head_row),
        Some(decks) => match bound_decks(decks) {
            Some((at, ids)) => {
                let mut params: Vec<i64> =
                    vec![user_id, i64::from(today), ids[0], i64::from(today)];
                params.extend(&ids[1..]);
                conn.prepare_cached(&HEAD_FILTERED_BOUND[at])?
                    .query_row(rusqlite::params_from_iter(params), queue_head_row)
            }
            None => conn
                .prepare_cached(&HEAD_FILTERED)?
                .query_row((user_id, today, decks, today), queue_head_row),
        },
    })
    .map_err(failed)
}

/// The deck ids of the JSON array `decks`, padded to the next length of `BOUND_DECK_LISTS`
/// (whose index comes first), or None when it is empty, longer than the longest, or not a
/// list of ids (the JSON statement then answers).
fn bound_decks(decks: &str) -> Option<(usize, Vec<i64>)> {
    let mut ids: Vec<i64> = serde_json::from_str(decks).ok()?;
    let last = *ids.last()?;
    let at = BOUND_DECK_LISTS.iter().position(|&n| n >= ids.len())?;
    ids.resize(BOUND_DECK_LISTS[at], last);
    Some((at, ids))
}

/// `reviews::first_new`: the next card this user never saw. The page asks for it when nothing
/// is due, so a student working through new cards pays no hand-off either.
pub async fn first_new(
    db: &Db,
    user_id: i64,
    today: i32,
    decks: Option<&str>,
) -> Result<Option<CardRow>, sqlx::Error> {
    let Some(path) = db.file() else {
        return match &db.postgres_url {
            Some(url) => {
                on_spare(db, url, async |conn| {
                    super::reviews::first_new(conn, user_id, today, decks).await
                })
                .await
            }
            None => super::reviews::first_new(db.reader(), user_id, today, decks).await,
        };
    };
    with_reader(path, |conn| {
        match decks {
            None => conn
                .prepare_cached(&NEW_EVERY_DECK)?
                .query_row((user_id, today), card_row),
            Some(decks) => conn
                .prepare_cached(&NEW_IN_DECKS)?
                .query_row((user_id, decks, today), card_row),
        }
        .optional()
    })
    .map_err(failed)
}

/// `reviews::next_due_day`: the first day after `today` a card is due.
pub async fn next_due_day(
    db: &Db,
    user_id: i64,
    today: i32,
    decks: Option<&str>,
) -> Result<Option<i64>, sqlx::Error> {
    let Some(path) = db.file() else {
        return match &db.postgres_url {
            Some(url) => {
                on_spare(db, url, async |conn| {
                    super::reviews::next_due_day(conn, user_id, today, decks).await
                })
                .await
            }
            None => super::reviews::next_due_day(db.reader(), user_id, today, decks).await,
        };
    };
    with_reader(path, |conn| match decks {
        None => conn
            .prepare_cached(&NEXT_DUE_EVERY_DECK)?
            .query_row((user_id, today), |r| r.get(0)),
        Some(decks) => conn
            .prepare_cached(&NEXT_DUE_IN_DECKS)?
            .query_row((user_id, today, decks), |r| r.get(0)),
    })
    .map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both queue head statements list their columns as `HEAD_COLUMNS` says, which the row
    /// reader relies on.
    #[tokio::test]
    async fn the_queue_heads_columns_are_where_the_reader_looks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hot.db");
        let pool = crate::db::connect(crate::db::Location::File(path.clone()))
            .await
            .unwrap();
        pool.close().await;
        let conn = open(&path).unwrap();
        for sql in [&*HEAD_ALL_DECKS, &*HEAD_FILTERED]
            .into_iter()
            .chain(HEAD_FILTERED_BOUND.iter())
        {
            let statement = conn.prepare(sql).unwrap();
            assert_eq!(statement.column_names(), HEAD_COLUMNS);
        }
    }

    /// Every use of the deck list is bound, with one parameter per deck (the parameters the
    /// JSON statement had, `?1` to `?4`, keep their places).
    #[test]
    fn the_bound_statements_name_each_deck_once_in_every_place() {
        let uses = HEAD_FILTERED.matches(DECKS_AS_JSON).count();
        assert!(uses >= 4, "{uses}");
        for (sql, n) in HEAD_FILTERED_BOUND.iter().zip(BOUND_DECK_LISTS) {
            assert!(!sql.contains("json_each"));
            assert_eq!(
                sql.matches("?3, ").count() + sql.matches("(?3)").count(),
                uses
            );
            // The last deck is `?{n + 3}` (`?4` stays the day), and there is none after it.
            if n > 1 {
                assert!(sql.contains(&format!("?{})", n + 3)), "{n}");
            }
            assert!(!sql.contains(&format!("?{}", n + 4)), "{n}");
        }
        assert_eq!(bound_decks("[7]"), Some((0, vec![7])));
        assert_eq!(bound_decks("[7,9,11]"), Some((2, vec![7, 9, 11, 11])));
        assert_eq!(bound_decks("[]"), None);
        assert_eq!(bound_decks("not json"), None);
        let long: Vec<i64> = (1..=65).collect();
        assert_eq!(bound_decks(&serde_json::to_string(&long).unwrap()), None);
    }
}
