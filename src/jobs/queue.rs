//! Asking for a job and reading where it is: what a request does, on whichever server.

use crate::clock::Clock;
use crate::db::{self, Db};
use std::sync::Arc;
use tokio::sync::Notify;

/// Where an open job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Waiting for a server to take it: `ahead` jobs (running or queued, on any server) go
    /// before it.
    Queued {
        /// Jobs that go first.
        ahead: usize,
    },
    /// Running on some server: `done` of `total` (0 while not known).
    Running {
        /// Work done.
        done: u64,
        /// Work in all.
        total: u64,
    },
}

/// The site's queue of jobs, as this server reaches it: the store, and this server's runner
/// to wake when it queues something (other servers find it at their next poll).
#[derive(Debug, Clone)]
pub struct Queue {
    db: Db,
    wake: Arc<Notify>,
    cap: usize,
    clock: Clock,
}

impl Queue {
    /// The queue on `db`, whose runner here runs at most `cap` (at least 1) jobs at once.
    pub fn new(db: Db, cap: usize) -> Self {
        Self {
            db,
            wake: Arc::new(Notify::new()),
            cap: cap.max(1),
            clock: Clock::system(),
        }
    }

    /// The same queue with times read from `clock` (tests move it to run out leases).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// How many jobs this server runs at once.
    pub fn cap(&self) -> usize {
        self.cap
    }

    pub(super) fn db(&self) -> &Db {
        &self.db
    }

    pub(super) fn clock(&self) -> &Clock {
        &self.clock
    }

    pub(super) fn wake(&self) -> &Notify {
        &self.wake
    }

    /// Queues a job of `kind` for `key` with its input `payload` (JSON), unless one is queued
    /// or running. Returns whether it was queued.
    pub async fn enqueue(&self, kind: &str, key: &str, payload: &str) -> Result<bool, sqlx::Error> {
        let now = super::millis(&self.clock);
        let queued = db::jobs::enqueue(self.db.writer(), kind, key, payload, now)
            .await?
            .is_some();
        if queued {
            self.wake.notify_one();
        }
        Ok(queued)
    }

    /// Where the open job of `kind` for `key` is, if there is one.
    pub async fn status(&self, kind: &str, key: &str) -> Result<Option<Status>, sqlx::Error> {
        let db = self.db.reader();
        let Some(job) = db::jobs::open_job(db, kind, key).await? else {
            return Ok(None);
        };
        Ok(Some(if job.state == "queued" {
            let ahead = db::jobs::ahead_of(db, job.id).await?;
            Status::Queued {
                ahead: usize::try_from(ahead).unwrap_or(0),
            }
        } else {
            Status::Running {
                done: u64::try_from(job.progress_done).unwrap_or(0),
                total: u64::try_from(job.progress_total).unwrap_or(0),
            }
        }))
    }
}
