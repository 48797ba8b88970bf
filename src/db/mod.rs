//! The only home of SQL. One file per table family; functions take any SQLite executor, so a
//! caller can run several of them in one transaction.
// The one module that names the backend's types (clippy.toml keeps them out of the rest).
#![allow(clippy::disallowed_types)]

pub mod analytics;
pub mod anki;
pub mod checkpoint;
pub mod classes;
pub mod decks;
pub mod exams;
pub mod hot;
pub mod meta;
pub mod pending_imports;
pub mod practice;
pub mod reports;
pub mod reviews;
pub mod sessions;
pub mod stats;
pub mod users;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::path::Path;
use std::time::Duration;

/// The store's connection pool, as everything above `db` names it: which backend runs is
/// this module's business alone.
pub type Pool = SqlitePool;
/// One connection of the store (or a transaction, through `&mut *tx`).
pub type Conn = sqlx::SqliteConnection;
/// A write transaction.
pub type Tx = Transaction<'static, Sqlite>;
/// Anything a query can run on: a pool, a connection, a transaction.
pub use sqlx::SqliteExecutor as Executor;

/// The migrations in `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

fn options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        .pragma("temp_store", "memory")
        .pragma("cache_size", "-16000")
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

/// Opens (creating if missing) the database file as one pool and applies pending migrations:
/// for the command line, tests and tools. The server uses [`Db::open`].
///
/// WAL lets readers run beside the one writer; `synchronous = NORMAL` in WAL mode survives a
/// crash of the process (every commit is in the OS before it returns) but may lose the last
/// commits on power loss, which the README states. Foreign keys are on for every connection.
pub async fn connect(path: &Path) -> Result<SqlitePool, sqlx::Error> {
    create_folder(path)?;
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .min_connections(1)
        .connect_with(options(path))
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// The server's database: one writer connection, for which writers queue in async code, and a
/// pool of read-only connections. SQLite allows one writer at a time anyway; queueing here
/// instead of in SQLite's busy handler (which sleeps 1, 2, 5 ... 100 ms between retries)
/// keeps write latency low under load, and read-only readers cannot write by mistake.
#[derive(Debug, Clone)]
pub struct Db {
    read: SqlitePool,
    write: SqlitePool,
    /// The file, for the review page's per-thread reader (`hot`).
    path: std::sync::Arc<Path>,
    /// Copies the write-ahead log back on a thread of its own.
    checkpointer: checkpoint::Checkpointer,
}

impl Db {
    /// Opens the file (creating it and applying migrations through the writer).
    pub async fn open(path: &Path) -> Result<Self, sqlx::Error> {
        create_folder(path)?;
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            // `checkpoint` does it off the commit path. When the log starts over, a file that
            // grew larger (under a bulk import, say) is cut back to 16 MB.
            .connect_with(options(path).pragma("wal_autocheckpoint", "0").pragma(
                "journal_size_limit",
                checkpoint::LOG_FILE_LIMIT_BYTES.to_string(),
            ))
            .await?;
        MIGRATOR.run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .connect_with(options(path).read_only(true))
            .await?;
        let checkpointer = checkpoint::Checkpointer::start(path).map_err(sqlx::Error::Io)?;
        Ok(Self {
            read,
            write,
            path: std::sync::Arc::from(path),
            checkpointer,
        })
    }

    /// The background checkpointer, for writers that append without pause.
    pub fn checkpointer(&self) -> &checkpoint::Checkpointer {
        &self.checkpointer
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The read-only pool.
    pub fn reader(&self) -> &SqlitePool {
        &self.read
    }

    /// The single writer connection's pool, for single-statement writes.
    pub fn writer(&self) -> &SqlitePool {
        &self.write
    }

    /// Starts a write transaction on the writer connection.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        begin_write(&self.write).await
    }

    /// Closes both pools (the writer last, which checkpoints the WAL).
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// Starts a write transaction that takes SQLite's write lock at once, so two writers queue on
/// the busy timeout instead of failing when a read lock cannot be upgraded.
pub async fn begin_write(pool: &SqlitePool) -> Result<Tx, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// Writes a consistent, compacted copy of the database to `target` with `VACUUM INTO`: it
/// reads one snapshot, so it is safe while the server writes.
pub async fn backup_into(pool: &SqlitePool, target: &Path) -> Result<(), sqlx::Error> {
    // VACUUM INTO writes into an existing empty file, keeping its 0600 mode.
    create_private_file(target).map_err(sqlx::Error::Io)?;
    sqlx::query("VACUUM INTO ?1")
        .bind(target.to_string_lossy().into_owned())
        .execute(pool)
        .await?;
    Ok(())
}

/// Whether an error is a UNIQUE constraint failure.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}
