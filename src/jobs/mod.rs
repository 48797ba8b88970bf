//! Background work that runs once across the app servers of a site: asked for by a request on
//! any server, run by whichever server takes it first, shown on any server's pages while it
//! runs. The FSRS fits are the first such work (`study::fits`); mail has a sender of its own
//! on the outbox table ([`mail`]).
//!
//! The queue is a table (`db::jobs`), not memory, because with several servers on one
//! PostgreSQL database the server that shows a page may not be the one that runs the job, and
//! a server may stop mid-job. Each server runs a [`Runner`]: it claims the oldest queued job
//! of a kind it knows, up to its cap at once, and runs that kind's [`Handler`]. While a job
//! runs, its server renews the claim's lease and stores the job's progress, at most once a
//! second; a job whose server stopped answering goes back to the queue once its lease has run
//! out, and fails after [`MAX_ATTEMPTS`] claims. A single SQLite server works the same way
//! (its claims take the file's write lock, so they stay short).
//!
//! Times here are the system clock's (a [`Clock`] of the runner's own), not the site's
//! movable clock: the tests move the site's clock by days, which must not make a running
//! job's lease look expired.

pub mod mail;
mod progress;
mod queue;
mod runner;

pub use progress::Progress;
pub use queue::{Queue, Status};
pub use runner::{Runner, RunnerHandle};

use crate::clock::Clock;
use futures_util::future::BoxFuture;
use std::time::Duration;

/// How long a claim holds without news from its server.
pub const LEASE: Duration = Duration::from_secs(60);
/// How often a running job's server may write its progress (and renews the lease at least
/// every quarter lease).
pub const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// How often an idle runner looks for work queued by another server (its own server wakes it
/// at once).
pub const POLL: Duration = Duration::from_secs(1);
/// Claims of one job before it fails (a job that kills its server should not kill them all).
pub const MAX_ATTEMPTS: i64 = 3;
/// How long finished jobs are kept, to show why one failed.
pub const KEEP_FINISHED: Duration = Duration::from_secs(7 * 86_400);

/// Jobs that run at once on a server of `cores` cores: half of them, at least one and at most
/// four. A fit keeps a core busy for seconds to minutes and holds its histories in memory (19
/// at once took 13.6 s of CPU and 300 MiB on two cores), so the rest wait their turn rather
/// than slow the grades and each other.
pub fn cap_for(cores: usize) -> usize {
    (cores / 2).clamp(1, 4)
}

/// The cap for this machine.
pub fn default_cap() -> usize {
    cap_for(std::thread::available_parallelism().map_or(1, usize::from))
}

/// A claimed job, as its handler gets it.
#[derive(Debug, Clone)]
pub struct Job {
    /// Its row.
    pub id: i64,
    /// What it is about (a class's id, for its fit).
    pub key: String,
    /// Its input, as JSON.
    pub payload: String,
    /// Which claim this is: above 1, an earlier server stopped while running it.
    pub attempt: i64,
}

/// Runs the jobs of one kind. A job may run again after its server stopped mid-way, so a
/// handler should leave the same result when run twice.
pub trait Handler: Send + Sync + 'static {
    /// Runs `job`, telling `progress` how far it has come.
    fn run(&self, job: Job, progress: Progress) -> BoxFuture<'static, anyhow::Result<()>>;
}

impl<F, Fut> Handler for F
where
    F: Fn(Job, Progress) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    fn run(&self, job: Job, progress: Progress) -> BoxFuture<'static, anyhow::Result<()>> {
        Box::pin(self(job, progress))
    }
}

/// A name for this server among those claiming jobs: its process id and random bits, so two
/// servers on one machine, or one started again, never share it.
pub fn instance_id() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        hex::encode(rand::random::<[u8; 6]>())
    )
}

/// Milliseconds since the epoch, by `clock`.
fn millis(clock: &Clock) -> i64 {
    clock.now().as_millisecond()
}

/// A duration in milliseconds, as the table counts.
fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_the_cores_run_jobs_at_least_one_at_most_four() {
        assert_eq!(cap_for(1), 1);
        assert_eq!(cap_for(2), 1);
        assert_eq!(cap_for(8), 4);
        assert_eq!(cap_for(64), 4);
    }

    #[test]
    fn two_instance_ids_differ() {
        assert_ne!(instance_id(), instance_id());
    }
}
