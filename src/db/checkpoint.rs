//! Checkpoints off the commit path. SQLite's automatic checkpoint runs inside the commit that
//! crosses its threshold, so one grade batch in every few pays for copying the whole
//! write-ahead log back into the database (13% of the server's time under a stream of grades).
//! Here a thread of its own copies the log as it grows (a passive checkpoint never blocks the
//! writer), and the writer only steps in when the log has grown past [`RESTART_FRAMES`]: a
//! passive checkpoint never finishes while a writer appends without pause, and the log starts
//! over only once everything in it has been copied. The writer's restart then copies just
//! what arrived since the thread's last pass, so the log stays bounded at a small cost.

use rusqlite::Connection;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// Log frames (pages) past which the writer restarts the log: 8 MB of 4 KB pages. The log
/// grows on while the thread finishes its pass, so it peaks at about twice this.
pub const RESTART_FRAMES: i64 = 2048;

/// The log file's size past which the writer restarts the log even if the thread has not
/// reported (it may be starved of CPU): twice the threshold, in 4 KB pages. A restart cuts a
/// larger file back to this (`journal_size_limit`), so the file only grows past it when the
/// log itself has.
pub const LOG_FILE_LIMIT_BYTES: u64 = 2 * RESTART_FRAMES as u64 * 4096;

/// How long the thread rests when the log is fully copied.
const IDLE: Duration = Duration::from_millis(100);

/// How long the thread waits between passes while the log keeps growing: each pass syncs
/// the files, so back-to-back passes would spend the disk on syncs rather than on copying.
const PACE: Duration = Duration::from_millis(10);

#[derive(Debug, Default)]
struct Shared {
    /// The log file.
    wal: std::path::PathBuf,
    /// Frames in the log at the thread's last pass.
    log_frames: AtomicI64,
    stop: AtomicBool,
    /// A writer waiting for the log to start over.
    restart: Mutex<Option<oneshot::Sender<bool>>>,
    wake: (Mutex<bool>, Condvar),
}

/// The background checkpointer of one database file. Dropping the last handle stops it.
#[derive(Debug, Clone)]
pub struct Checkpointer {
    shared: Arc<Shared>,
    _guard: Arc<StopOnDrop>,
}

#[derive(Debug)]
struct StopOnDrop(Arc<Shared>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop.store(true, Ordering::Relaxed);
        self.0.wake.1.notify_all();
    }
}

impl Checkpointer {
    /// Starts the thread on its own connection to `path`.
    pub fn start(path: &Path) -> std::io::Result<Self> {
        let conn = Connection::open(path)
            .and_then(|c| {
                c.busy_timeout(Duration::from_secs(5))?;
                Ok(c)
            })
            .map_err(std::io::Error::other)?;
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let shared = Arc::new(Shared {
            wal: wal.into(),
            ..Shared::default()
        });
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("checkpoint".into())
            .spawn(move || run(conn, &thread_shared))?;
        Ok(Self {
            _guard: Arc::new(StopOnDrop(shared.clone())),
            shared,
        })
    }

    /// What a writer that may append without pause calls after each commit: the thread copies
    /// the new frames, and past [`RESTART_FRAMES`] the writer waits for the log to start over.
    pub async fn after_commit(&self) {
        self.nudge();
        if self.log_too_long() && !self.restart().await {
            tracing::debug!("the write-ahead log could not start over yet: a reader holds it");
        }
    }

    /// Tells the thread the log has grown.
    fn nudge(&self) {
        let (lock, wake) = &self.shared.wake;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        wake.notify_one();
    }

    /// Whether the writer should have the log restarted before it writes again.
    fn log_too_long(&self) -> bool {
        self.shared.log_frames.load(Ordering::Relaxed) >= RESTART_FRAMES
            || std::fs::metadata(&self.shared.wal).is_ok_and(|m| m.len() > LOG_FILE_LIMIT_BYTES)
    }

    /// Has the thread copy the rest of the log and start it over, and waits for that. The
    /// caller writes nothing meanwhile, so the copy catches up; its readers finish within
    /// microseconds. Returns whether the log was restarted.
    async fn restart(&self) -> bool {
        let (reply, done) = oneshot::channel();
        *self
            .shared
            .restart
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(reply);
        self.nudge();
        done.await.unwrap_or(false)
    }
}

fn run(conn: Connection, shared: &Shared) {
    while !shared.stop.load(Ordering::Relaxed) {
        let restart = shared
            .restart
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let sql = if restart.is_some() {
            "PRAGMA wal_checkpoint(RESTART)"
        } else {
            "PRAGMA wal_checkpoint(PASSIVE)"
        };
        let pass = conn.query_row(sql, [], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        });
        let copied_all = match pass {
            Ok((busy, log, copied)) => {
                let restarted = restart.is_some() && busy == 0;
                shared
                    .log_frames
                    .store(if restarted { 0 } else { log }, Ordering::Relaxed);
                if let Some(reply) = restart {
                    let _ = reply.send(restarted);
                }
                log == copied
            }
            Err(e) => {
                tracing::warn!("checkpoint failed: {e}");
                true
            }
        };
        if !copied_all {
            std::thread::sleep(PACE);
            continue;
        }
        let (lock, wake) = &shared.wake;
        let mut nudged = lock.lock().unwrap_or_else(|e| e.into_inner());
        if !*nudged {
            nudged = wake
                .wait_timeout(nudged, IDLE)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        *nudged = false;
    }
}
