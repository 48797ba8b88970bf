//! The only home of SQL. One file per table family; functions take any executor of the store,
//! so a caller can run several of them in one transaction.
// The one module that names the backend's types (clippy.toml keeps them out of the rest).
#![allow(clippy::disallowed_types)]

pub mod analytics;
pub mod anki;
pub mod changes;
pub mod checkpoint;
pub mod classes;
pub mod cloze;
pub mod controls;
pub mod copy;
pub mod decks;
pub mod exams;
pub mod grade_writer;
pub mod hot;
pub mod identities;
pub mod jobs;
mod lease;
pub mod mail;
pub mod media;
pub mod meta;
pub mod outbox;
pub mod pending_imports;
pub mod practice;
pub mod reports;
pub mod reviews;
pub mod sessions;
pub mod stats;
pub mod throttle;
pub mod users;

use secrecy::{ExposeSecret, SecretString};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Transaction};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The store's connection pool, as everything above `db` names it: which backend runs is
/// this module's business alone. sqlx's `Any` driver picks SQLite or PostgreSQL from the URL
/// at run time, so every query below is written once, in the SQL both accept, and the few
/// that cannot be (JSON batches, SQLite's single-writer lock) branch on [`Backend`].
pub type Pool = AnyPool;
/// One connection of the store (or a transaction, through `&mut *tx`).
pub type Conn = sqlx::AnyConnection;
/// A write transaction.
pub type Tx = Transaction<'static, Any>;
/// Anything a query can run on: a pool, or a connection (a transaction, through `&mut *tx`);
/// it knows its backend, for the few statements written in each dialect.
pub trait Executor<'e>: sqlx::Executor<'e, Database = Any> {
    /// The backend the statement will run on.
    fn backend(&self) -> Backend;
}

impl<'e> Executor<'e> for &'e Pool {
    fn backend(&self) -> Backend {
        Backend::of(self)
    }
}

impl<'e> Executor<'e> for &'e mut Conn {
    fn backend(&self) -> Backend {
        Backend::of_conn(self)
    }
}

/// sqlx's name for its SQLite driver.
const SQLITE_NAME: &str = "SQLite";

/// The migrations of each backend, embedded in the binary. Both create the same tables,
/// columns and tallies; PostgreSQL's start from the schema SQLite's twenty steps reached.
pub static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
/// PostgreSQL's migrations.
pub static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Every PostgreSQL statement that reads only a learner's decks (a JSON array parameter, the
/// other parameters ids and days), by the function that runs it: for the plan test in
/// `tests/api/many_courses.rs`, which checks on a site of thousands of decks that each finds
/// its rows by index, so that its cost follows the learner's decks and not the site's.
#[doc(hidden)]
pub fn scoped_postgres_statements() -> [(&'static str, &'static str); 7] {
    [
        (
            "decks::list_with_counts",
            decks::IN_DECKS_WITH_COUNTS_POSTGRES,
        ),
        ("stats::deck_stages", stats::DECK_STAGES_IN_POSTGRES),
        ("controls::suspended", controls::SUSPENDED_IN_POSTGRES),
        ("controls::leeches", controls::LEECHES_IN_POSTGRES),
        ("reviews::first_new", reviews::FIRST_NEW_IN_DECKS_POSTGRES),
        (
            "reviews::next_due_day",
            reviews::NEXT_DUE_DAY_IN_DECKS_POSTGRES,
        ),
        ("reviews::queue_head", reviews::QUEUE_HEAD_FILTERED_POSTGRES),
    ]
}

/// Which database a site keeps its data in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file on this machine (the embedded default).
    Sqlite,
    /// A PostgreSQL server, which several app servers may share.
    Postgres,
}

impl Backend {
    /// The backend a pool talks to.
    pub fn of(pool: &Pool) -> Self {
        if pool.connect_options().database_url.scheme() == "sqlite" {
            Self::Sqlite
        } else {
            Self::Postgres
        }
    }

    /// The backend a connection talks to.
    pub fn of_conn(conn: &Conn) -> Self {
        if conn.backend_name() == SQLITE_NAME {
            Self::Sqlite
        } else {
            Self::Postgres
        }
    }

    /// The migrations for this backend.
    pub fn migrator(self) -> &'static sqlx::migrate::Migrator {
        match self {
            Self::Sqlite => &SQLITE_MIGRATOR,
            Self::Postgres => &POSTGRES_MIGRATOR,
        }
    }
}

/// Where the store is, as `--database` gives it: a file path (or `sqlite:` URL), or a
/// `postgres://` URL.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file, created with its folder if missing.
    File(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl Location {
    /// The backend at this location.
    pub fn backend(&self) -> Backend {
        match self {
            Self::File(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }
}

impl Location {
    /// This PostgreSQL location with `password` set in its URL (percent-encoded), so the URL
    /// a command line shows need not carry it.
    pub fn with_password(self, password: &SecretString) -> Result<Self, String> {
        let Self::Postgres(url) = self else {
            return Err("a password is for a PostgreSQL database, not a SQLite file".to_owned());
        };
        let mut parsed =
            url::Url::parse(&url).map_err(|e| format!("the database URL cannot be read: {e}"))?;
        parsed
            .set_password(Some(password.expose_secret()))
            .map_err(|()| "the database URL has no host to log in to".to_owned())?;
        Ok(Self::Postgres(parsed.into()))
    }
}

impl Location {
    /// This location as it may be shown to an operator to copy back into a settings file:
    /// a PostgreSQL URL without its password (in the user part or the query), and whether
    /// there was one.
    pub fn without_password(&self) -> (String, bool) {
        let Self::Postgres(url) = self else {
            return (self.to_string(), false);
        };
        let Ok(mut parsed) = url::Url::parse(url) else {
            return (mask_password(url), true);
        };
        let mut had = parsed.password().is_some();
        let _ = parsed.set_password(None);
        let kept: Vec<(String, String)> = parsed
            .query_pairs()
            .filter(|(key, _)| !key.eq_ignore_ascii_case("password"))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if parsed.query_pairs().count() != kept.len() {
            had = true;
            if kept.is_empty() {
                parsed.set_query(None);
            } else {
                parsed.query_pairs_mut().clear().extend_pairs(kept);
            }
        }
        (parsed.into(), had)
    }
}

impl FromStr for Location {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(Self::Postgres(s.to_owned()));
        }
        let path = s
            .strip_prefix("sqlite://")
            .or_else(|| s.strip_prefix("sqlite:"))
            .unwrap_or(s);
        if path.is_empty() {
            return Err("the database path is empty".to_owned());
        }
        if path.contains("://") {
            let scheme = s.split_once("://").map_or("", |(scheme, _)| scheme);
            return Err(format!(
                "unknown database URL scheme {scheme:?}: give a file path, a sqlite: URL or a \
                 postgres:// URL"
            ));
        }
        Ok(Self::File(PathBuf::from(path)))
    }
}

impl From<PathBuf> for Location {
    fn from(path: PathBuf) -> Self {
        Self::File(path)
    }
}

impl From<&PathBuf> for Location {
    fn from(path: &PathBuf) -> Self {
        Self::File(path.clone())
    }
}

impl From<&Location> for Location {
    fn from(location: &Location) -> Self {
        location.clone()
    }
}

impl From<&Path> for Location {
    fn from(path: &Path) -> Self {
        Self::File(path.to_owned())
    }
}

/// Shown in logs and messages: a PostgreSQL URL's password is masked.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Postgres(url) => f.write_str(&mask_password(url)),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Location({self})")
    }
}

/// `postgres://user:secret@host/db` becomes `postgres://user:***@host/db`, and a
/// `password=` in the query is masked too; a URL that cannot be read is not shown at all
/// (it might hold a password where the parser did not expect one).
fn mask_password(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "(a database URL that cannot be read)".to_owned();
    };
    if parsed.password().is_some() {
        // Fails only for URLs that cannot have a password, which this one has.
        let _ = parsed.set_password(Some("***"));
    }
    let masked: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(key, value)| {
            let value = if key.eq_ignore_ascii_case("password") {
                "***".to_owned()
            } else {
                value.into_owned()
            };
            (key.into_owned(), value)
        })
        .collect();
    if !masked.is_empty() {
        parsed.query_pairs_mut().clear().extend_pairs(masked);
    }
    parsed.into()
}

/// A SQLite URL for `path`, with `%`, `?` and `#` escaped (sqlx decodes them).
fn sqlite_url(path: &Path, mode: &str) -> String {
    let mut escaped = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => escaped.push_str("%25"),
            '?' => escaped.push_str("%3F"),
            '#' => escaped.push_str("%23"),
            c => escaped.push(c),
        }
    }
    format!("sqlite://{escaped}?mode={mode}")
}

/// Every SQLite connection's settings, run as it opens (the `Any` driver takes only a URL).
///
/// WAL lets readers run beside the one writer; `synchronous = NORMAL` in WAL mode survives a
/// crash of the process (every commit is in the OS before it returns) but may lose the last
/// commits on power loss, which docs/operations.md states. Foreign keys are on for every connection.
const SQLITE_SETTINGS: &str = "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;
    PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -16000;";

/// A SQLite pool on `path` that runs `settings` on every new connection.
async fn sqlite_pool(
    path: &Path,
    mode: &str,
    settings: String,
    options: AnyPoolOptions,
) -> Result<AnyPool, sqlx::Error> {
    let settings: Arc<str> = Arc::from(settings);
    let url: AnyConnectOptions = sqlite_url(path, mode).parse()?;
    options
        // A connection to a file does not go away; sqlx would otherwise hand every acquire to
        // the connection's thread for a ping first (two context switches per statement).
        .test_before_acquire(false)
        .after_connect(move |conn, _| {
            let settings = settings.clone();
            Box::pin(async move {
                sqlx::raw_sql(sqlx::AssertSqlSafe(settings.to_string()))
                    .execute(conn)
                    .await?;
                Ok(())
            })
        })
        .connect_with(url)
        .await
}

/// How many connections the store keeps (the `[postgres] pool_size` and `[sqlite] readers`
/// settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSizes {
    /// Connections each app server keeps to PostgreSQL.
    pub postgres: u32,
    /// Read-only connections to the SQLite file (beside its one writer and the workers' own).
    pub sqlite_readers: u32,
}

impl Default for PoolSizes {
    fn default() -> Self {
        Self {
            postgres: 16,
            sqlite_readers: 8,
        }
    }
}

/// Every PostgreSQL connection's settings, run as it opens.
///
/// `plan_cache_mode = force_generic_plan`: each statement is planned once per connection, not
/// once per call. Left to choose, PostgreSQL compares the generic plan's estimated cost with the
/// custom plans' and, on a site of many courses, judged the generic queue head dearer (it cannot
/// see how short the learner's deck list is) and so planned it again on every request: 1.9 ms
/// of planning for 0.12 ms of execution, the large site's review page at a fifth of the fresh
/// site's. Every statement here is keyed by the learner, a deck or a class, whose plans do not
/// turn on the values (docs/performance.md has the figures).
const POSTGRES_SETTINGS: &str = "SET plan_cache_mode = force_generic_plan";

/// How long a PostgreSQL connection may sit unused before it is pinged at its next acquire.
const POSTGRES_IDLE_PING: Duration = Duration::from_secs(10);

/// A PostgreSQL pool. Requests wait at most a few seconds for a connection, so a database
/// that is down answers 503 quickly instead of holding every worker.
async fn postgres_pool(url: &str, size: u32) -> Result<AnyPool, sqlx::Error> {
    AnyPoolOptions::new()
        .max_connections(size)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        // sqlx pings a connection at every acquire by default: a round trip to the database
        // before each statement. Only a connection idle for a while is asked whether it is
        // still there; a busy one that died (the database restarted) fails its statement,
        // answers 503, and is dropped when it goes back (sqlx pings on release).
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > POSTGRES_IDLE_PING {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::raw_sql(POSTGRES_SETTINGS).execute(conn).await?;
                Ok(())
            })
        })
        .connect(url)
        .await
}

/// Creates the database's folder (readable by this user only, if it is new) and the file
/// itself with mode 0600 when missing: it holds password hashes and every student's history.
/// SQLite gives its `-wal` and `-shm` files the database file's mode.
fn create_folder(path: &Path) -> Result<(), sqlx::Error> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(sqlx::Error::Io)?;
    }
    create_private_file(path).map_err(sqlx::Error::Io)
}

/// Creates an empty file readable and writable by this user only, unless it exists.
pub fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Opens the store as one pool (creating a missing file) and applies pending migrations:
/// for the command line, tests and tools. The server uses [`Db::open`].
pub async fn connect(location: impl Into<Location>) -> Result<Pool, sqlx::Error> {
    sqlx::any::install_default_drivers();
    let location = location.into();
    let pool = match &location {
        Location::File(path) => {
            create_folder(path)?;
            let options = AnyPoolOptions::new().max_connections(8).min_connections(1);
            let settings = format!("{SQLITE_SETTINGS} PRAGMA journal_mode = WAL;");
            sqlite_pool(path, "rwc", settings, options).await?
        }
        Location::Postgres(url) => postgres_pool(url, PoolSizes::default().postgres).await?,
    };
    location.backend().migrator().run(&pool).await?;
    Ok(pool)
}

/// The server's database.
///
/// On SQLite: one writer connection, for which writers queue in async code, and a pool of
/// read-only connections. SQLite allows one writer at a time anyway; queueing here instead of
/// in SQLite's busy handler (which sleeps 1, 2, 5 ... 100 ms between retries) keeps write
/// latency low under load, and read-only readers cannot write by mistake.
///
/// On PostgreSQL: one pool for both, shared with the other app servers on the same database.
#[derive(Debug, Clone)]
pub struct Db {
    backend: Backend,
    read: Pool,
    write: Pool,
    /// The SQLite file, for the review page's per-thread reader (`hot`).
    file: Option<Arc<Path>>,
    /// Copies SQLite's write-ahead log back on a thread of its own.
    checkpointer: Option<checkpoint::Checkpointer>,
    /// Writes the grades' batches on SQLite, on a thread of its own (`grade_writer`).
    grade_writer: Option<Arc<grade_writer::GradeWriter>>,
    /// PostgreSQL's address, for the connection that listens for changes (`changes`).
    postgres_url: Option<Arc<SecretString>>,
}

impl Db {
    /// Opens the store (creating a missing file) and applies pending migrations, with the
    /// default pool sizes.
    pub async fn open(location: impl Into<Location>) -> Result<Self, sqlx::Error> {
        Self::open_with(location, PoolSizes::default()).await
    }

    /// Opens the store with these pool sizes.
    pub async fn open_with(
        location: impl Into<Location>,
        sizes: PoolSizes,
    ) -> Result<Self, sqlx::Error> {
        sqlx::any::install_default_drivers();
        match &location.into() {
            Location::File(path) => Self::open_file(path, sizes.sqlite_readers).await,
            Location::Postgres(url) => {
                let pool = postgres_pool(url, sizes.postgres).await?;
                POSTGRES_MIGRATOR.run(&pool).await?;
                Ok(Self {
                    backend: Backend::Postgres,
                    read: pool.clone(),
                    write: pool,
                    file: None,
                    checkpointer: None,
                    grade_writer: None,
                    postgres_url: Some(Arc::new(SecretString::from(url.as_str()))),
                })
            }
        }
    }

    async fn open_file(path: &Path, readers: u32) -> Result<Self, sqlx::Error> {
        create_folder(path)?;
        // `checkpoint` does it off the commit path. When the log starts over, a file that
        // grew larger (under a bulk import, say) is cut back to 16 MB.
        let writer_settings = format!(
            "{SQLITE_SETTINGS} PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
             PRAGMA journal_size_limit = {};",
            checkpoint::LOG_FILE_LIMIT_BYTES
        );
        let write = sqlite_pool(
            path,
            "rwc",
            writer_settings,
            AnyPoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(30)),
        )
        .await?;
        SQLITE_MIGRATOR.run(&write).await?;
        let read = sqlite_pool(
            path,
            "ro",
            SQLITE_SETTINGS.to_owned(),
            AnyPoolOptions::new()
                .max_connections(readers)
                .min_connections(1),
        )
        .await?;
        let checkpointer = checkpoint::Checkpointer::start(path).map_err(sqlx::Error::Io)?;
        let grade_writer = grade_writer::GradeWriter::new(path, write.clone());
        Ok(Self {
            backend: Backend::Sqlite,
            read,
            write,
            file: Some(Arc::from(path)),
            checkpointer: Some(checkpointer),
            grade_writer: Some(Arc::new(grade_writer)),
            postgres_url: None,
        })
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether other app servers may write to this store too (PostgreSQL): then nothing this
    /// server remembers of the store's rows may be trusted across requests.
    pub fn may_be_shared(&self) -> bool {
        may_be_shared(&self.write)
    }

    /// After a commit of a writer that appends without pause: on SQLite, lets the background
    /// checkpointer bound the write-ahead log.
    pub async fn after_commit(&self) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.after_commit().await;
        }
    }

    /// A listener for the changes other app servers make, where they may make them
    /// (PostgreSQL).
    pub fn changes(&self) -> Option<changes::Listener> {
        use secrecy::ExposeSecret;
        let url = self.postgres_url.as_ref()?;
        Some(changes::Listener::new(SecretString::from(
            url.expose_secret(),
        )))
    }

    /// The SQLite grade writer, when the store is a SQLite file: the group commit writes its
    /// batches there instead of through sqlx.
    pub fn grade_writer(&self) -> Option<&grade_writer::GradeWriter> {
        self.grade_writer.as_deref()
    }

    /// The SQLite file, when the store is one (the review page reads it on its own thread).
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The pool for reads (read-only on SQLite).
    pub fn reader(&self) -> &Pool {
        &self.read
    }

    /// The writer's pool, for single-statement writes.
    pub fn writer(&self) -> &Pool {
        &self.write
    }

    /// Starts a write transaction (see [`begin_write`]).
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        begin_write(&self.write).await
    }

    /// Starts a write transaction that changes only `rows` (see [`begin_write_of`]).
    pub async fn begin_write_of(&self, rows: &[Rows]) -> Result<Tx, sqlx::Error> {
        begin_write_of(&self.write, rows).await
    }

    /// Closes both pools (the writer last, which checkpoints SQLite's log) and the grade
    /// writer's connection.
    pub async fn close(&self) {
        if let Some(writer) = &self.grade_writer {
            writer.close().await;
        }
        self.read.close().await;
        self.write.close().await;
    }
}

/// Whether other app servers may use the store behind `pool` too (PostgreSQL).
pub fn may_be_shared(pool: &Pool) -> bool {
    Backend::of(pool) == Backend::Postgres
}

/// The key of the advisory lock PostgreSQL write transactions take (any constant will do;
/// this is "studyhall" in ASCII, truncated to 63 bits): exclusively by a transaction that may
/// change anyone's rows, shared by one that changes only the rows of [`Rows`] it names.
const WRITE_LOCK: i64 = 0x7374_7564_7968_616c;

/// The rows a write transaction changes, for PostgreSQL's locks: a user's own (their
/// schedules, history, tallies, controls, sessions, preferences), or the rows kept under a
/// name (a login throttle's client or account key). Two keys may share a lock (ids are folded
/// into 31 bits, names hashed): that only makes two writers wait for each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rows(i32, i32);

impl Rows {
    /// A user's own rows.
    pub fn of_user(user_id: i64) -> Self {
        // The fold keeps the low 31 bits: ids that far apart are years of sign-ups apart.
        Self(1, i32::try_from(user_id & 0x7fff_ffff).unwrap_or(0))
    }

    /// The rows kept under a name (FNV-1a of its bytes).
    pub fn named(name: &str) -> Self {
        let hash = name.bytes().fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        Self(2, i32::try_from(hash & 0x7fff_ffff).unwrap_or(0))
    }
}

/// Starts a write transaction, which runs alone among write transactions on the store.
///
/// SQLite: `BEGIN IMMEDIATE` takes the write lock at once, so two writers queue on the busy
/// timeout instead of failing when a read lock cannot be upgraded.
///
/// PostgreSQL: the transaction takes a transaction-scoped advisory lock first, exclusively,
/// so it runs alone among write transactions from every app server on the database, as on
/// SQLite. Its read-then-write steps (the first account becomes the admin; an import checks
/// a deck's name) stay correct without a retry loop for serialization failures, and
/// single-statement writes, which need no such lock, still run beside it. Writes that change
/// one student's rows take [`begin_write_of`] instead, and run side by side.
pub async fn begin_write(pool: &Pool) -> Result<Tx, sqlx::Error> {
    match Backend::of(pool) {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => {
            let mut tx = pool.begin().await?;
            sqlx::query("SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock($1)) AS held")
                .bind(WRITE_LOCK)
                .execute(&mut *tx)
                .await?;
            Ok(tx)
        }
    }
}

/// Starts a write transaction that changes only `rows` (a student's grade, their preferences,
/// a login's throttle).
///
/// SQLite: as [`begin_write`] (one writer at a time is SQLite's rule anyway).
///
/// PostgreSQL: the site's write lock shared, so it waits for any [`begin_write`] (which may
/// change these rows too) and runs beside every other one of its kind, then each of `rows`'s
/// locks exclusively, in one order for everyone (so two batches of several students never
/// wait for each other in a circle). Two writes of the same student still run one after
/// the other, and a grade still reads the state it replaces.
pub async fn begin_write_of(pool: &Pool, rows: &[Rows]) -> Result<Tx, sqlx::Error> {
    if Backend::of(pool) == Backend::Sqlite {
        return pool.begin_with("BEGIN IMMEDIATE").await;
    }
    let mut rows = rows.to_vec();
    rows.sort_unstable();
    rows.dedup();
    let mut tx = pool.begin().await?;
    // One statement: the shared lock is the first row, the others follow sorted. `OFFSET 0`
    // keeps the sorted subquery whole, so the locks are taken in its order.
    let mut sql = String::from(
        "SELECT COUNT(*) FROM (SELECT CASE WHEN o.n = 0 THEN pg_advisory_xact_lock_shared($1)
           ELSE pg_advisory_xact_lock(o.k, o.i) END AS held
         FROM (SELECT n, k, i FROM (VALUES (0, 0, 0)",
    );
    for (n, _) in rows.iter().enumerate() {
        let at = 2 + 2 * n;
        sql.push_str(&format!(", ({}, ${at}::int4, ${}::int4)", n + 1, at + 1));
    }
    sql.push_str(") AS v (n, k, i) ORDER BY n OFFSET 0) AS o) AS locks");
    // Only placeholders are formatted into the statement; the keys are bound.
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(WRITE_LOCK);
    for Rows(k, i) in &rows {
        query = query.bind(*k).bind(*i);
    }
    query.execute(&mut *tx).await?;
    Ok(tx)
}

/// Writes a consistent, compacted copy of a SQLite store to `target` with `VACUUM INTO`: it
/// reads one snapshot, so it is safe while the server writes. PostgreSQL sites back up with
/// `pg_dump` (docs/operations.md).
pub async fn backup_into(pool: &Pool, target: &Path) -> Result<(), sqlx::Error> {
    if Backend::of(pool) != Backend::Sqlite {
        return Err(sqlx::Error::Configuration(
            "studyhall backup copies a SQLite file; back up PostgreSQL with pg_dump".into(),
        ));
    }
    // VACUUM INTO writes into an existing empty file, keeping its 0600 mode.
    create_private_file(target).map_err(sqlx::Error::Io)?;
    sqlx::query("VACUUM INTO $1")
        .bind(target.to_string_lossy().into_owned())
        .execute(pool)
        .await?;
    Ok(())
}

/// A 0/1 column read as a bool. Both backends store flags as integers (SQLite has no boolean
/// type, and one column type on both keeps the queries the same), so a struct's `bool` field
/// reads through this with `#[sqlx(try_from = "Flag")]`. Reads a real boolean too.
#[derive(Debug, Clone, Copy)]
pub struct Flag(pub bool);

impl From<Flag> for bool {
    fn from(flag: Flag) -> Self {
        flag.0
    }
}

impl sqlx::Type<Any> for Flag {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <i64 as sqlx::Type<Any>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <i64 as sqlx::Type<Any>>::compatible(ty) || <bool as sqlx::Type<Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, Any> for Flag {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        use sqlx::ValueRef;
        if <bool as sqlx::Type<Any>>::compatible(&value.type_info()) {
            <bool as sqlx::Decode<Any>>::decode(value).map(Flag)
        } else {
            <i64 as sqlx::Decode<Any>>::decode(value).map(|n| Flag(n != 0))
        }
    }
}

/// What a request is told while the store cannot be reached.
pub const UNREACHABLE: &str =
    "The database cannot be reached at the moment. Please try again in a few seconds.";
/// Seconds a client is asked to wait then.
pub const UNREACHABLE_RETRY_SECS: u64 = 5;

/// Whether an error says the store cannot be reached (a PostgreSQL server down, restarting or
/// out of connections, or the network to it gone), as opposed to a failing statement: such
/// requests answer 503, and the pool reconnects by itself once the server is back.
pub fn is_unreachable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception); 57P01-57P03: the server is shutting down,
        // crashed or still starting.
        sqlx::Error::Database(e) => e
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}

/// Whether an error is a UNIQUE constraint failure.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_password_never_shows_wherever_it_sits() {
        for (url, secret) in [
            ("postgres://u:s3cret@host/db", "s3cret"),
            ("postgres://u:p%40ss@host/db", "p%40ss"),
            (
                "postgres://u@host/db?sslmode=require&password=s3cret",
                "s3cret",
            ),
            ("postgress://u:s3cret@host/db", "s3cret"),
        ] {
            let shown = match url.parse::<Location>() {
                Ok(location) => location.to_string(),
                Err(message) => message,
            };
            assert!(!shown.contains(secret), "{url} shown as {shown}");
        }
        let shown = "postgres://u:s3cret@host/db?sslmode=require"
            .parse::<Location>()
            .map(|l| l.to_string());
        assert_eq!(
            shown.as_deref(),
            Ok("postgres://u:***@host/db?sslmode=require")
        );
    }
}
