//! The loop each server runs: claim while there is room, run each claim's handler beside a
//! heartbeat that stores its progress and renews its lease, record how it ended.

use super::{Handler, Job, Progress, Queue, millis, ms};
use crate::db;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// A server's runner of jobs, before it starts: the kinds it knows and their handlers.
pub struct Runner {
    queue: Queue,
    instance: String,
    handlers: HashMap<String, Arc<dyn Handler>>,
    poll: std::time::Duration,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("instance", &self.instance)
            .field("kinds", &self.handlers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

struct Shared {
    queue: Queue,
    instance: String,
    handlers: HashMap<String, Arc<dyn Handler>>,
    /// The kinds this runner claims, as `,a,b,` for the claim's statement.
    kinds: String,
    poll: std::time::Duration,
}

/// A started runner: stop it as the server stops.
#[derive(Debug)]
pub struct RunnerHandle {
    task: tokio::task::JoinHandle<()>,
    queue: Queue,
    instance: String,
}

impl Runner {
    /// A runner of `queue`'s jobs, claiming them as server `instance`.
    pub fn new(queue: Queue, instance: impl Into<String>) -> Self {
        Self {
            queue,
            instance: instance.into(),
            handlers: HashMap::new(),
            poll: super::POLL,
        }
    }

    /// Runs the jobs of `kind` with `handler`.
    pub fn handle(mut self, kind: &str, handler: impl Handler) -> Self {
        self.handlers.insert(kind.to_owned(), Arc::new(handler));
        self
    }

    /// Looks for other servers' jobs every `poll` (tests make it short).
    pub fn polling_every(mut self, poll: std::time::Duration) -> Self {
        self.poll = poll;
        self
    }

    /// Starts claiming and running jobs on a task of its own.
    pub fn spawn(self) -> RunnerHandle {
        let mut kinds: Vec<&str> = self.handlers.keys().map(String::as_str).collect();
        kinds.sort_unstable();
        let kinds = format!(",{},", kinds.join(","));
        let handle_queue = self.queue.clone();
        let instance = self.instance.clone();
        let shared = Arc::new(Shared {
            queue: self.queue,
            instance: self.instance,
            handlers: self.handlers,
            kinds,
            poll: self.poll,
        });
        RunnerHandle {
            task: tokio::spawn(shared.run()),
            queue: handle_queue,
            instance,
        }
    }
}

impl RunnerHandle {
    /// This server's name in the `claimed_by` column.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Stops claiming, drops the jobs running here and puts them back in the queue, for
    /// another server (or this one, started again) to take at once.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
        match db::jobs::release(self.queue.db().writer(), &self.instance).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "jobs put back in the queue as the server stops"),
            Err(e) => tracing::warn!("could not put this server's jobs back in the queue: {e}"),
        }
    }
}

/// A job's work, stopped when the task waiting for it is dropped: its task aborted, and its
/// progress cancelled, which reaches work on a blocking thread that aborting cannot (the
/// optimizer would run on for minutes, and hold the process's exit).
struct AbortOnDrop(tokio::task::JoinHandle<anyhow::Result<()>>, Progress);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.1.cancel();
        self.0.abort();
    }
}

impl Shared {
    async fn run(self: Arc<Self>) {
        let mut running = JoinSet::new();
        let mut pruned: Option<Instant> = None;
        loop {
            while running.try_join_next().is_some() {}
            while running.len() < self.queue.cap() {
                match self.claim_one().await {
                    Ok(Some(job)) => {
                        running.spawn(self.clone().run_job(job));
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!("claiming a job failed: {e}");
                        break;
                    }
                }
            }
            if pruned.is_none_or(|at| at.elapsed() > Duration::from_secs(3600)) {
                pruned = Some(Instant::now());
                let before = millis(self.queue.clock()) - ms(super::KEEP_FINISHED);
                if let Err(e) = db::jobs::prune(self.queue.db().writer(), before).await {
                    tracing::warn!("deleting old finished jobs failed: {e}");
                }
            }
            tokio::select! {
                () = self.queue.wake().notified() => {}
                () = tokio::time::sleep(self.poll) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
    }

    /// Puts jobs whose lease ran out back in the queue, then takes the oldest queued one of a
    /// kind this runner knows. Reads first, so that an idle server's polls write nothing.
    async fn claim_one(&self) -> Result<Option<db::jobs::Claimed>, sqlx::Error> {
        let db = self.queue.db();
        let now = millis(self.queue.clock());
        if db::jobs::any_expired(db.reader(), now).await? {
            let mut tx = db.begin_write().await?;
            let (requeued, failed) =
                db::jobs::requeue_expired(&mut tx, now, super::MAX_ATTEMPTS).await?;
            tx.commit().await?;
            tracing::warn!(
                requeued,
                failed,
                "jobs whose server stopped answering were taken back"
            );
        }
        if !db::jobs::any_claimable(db.reader(), now, &self.kinds).await? {
            return Ok(None);
        }
        let lease_until = now + ms(super::LEASE);
        db::jobs::claim(db.writer(), &self.instance, &self.kinds, now, lease_until).await
    }

    /// Runs a claimed job to its end, storing its progress meanwhile, and records the end.
    async fn run_job(self: Arc<Self>, claimed: db::jobs::Claimed) {
        let progress = Progress::default();
        let outcome = match self.handlers.get(&claimed.kind) {
            None => Err(format!("no handler for jobs of kind {}", claimed.kind)),
            Some(handler) => {
                let job = Job {
                    id: claimed.id,
                    key: claimed.key.clone(),
                    payload: claimed.payload.clone(),
                    attempt: claimed.attempts,
                };
                // On a task of its own, so that a panic ends the job, not the runner.
                // Dropped with this task (as the server stops), it stops too.
                let work = AbortOnDrop(
                    tokio::spawn(handler.run(job, progress.clone())),
                    progress.clone(),
                );
                self.heartbeat_until(&claimed, &progress, work).await
            }
        };
        let error = outcome.err();
        if let Some(error) = &error {
            tracing::error!(job = claimed.id, kind = %claimed.kind, "job failed: {error}");
        }
        let now = millis(self.queue.clock());
        match db::jobs::finish(
            self.queue.db().writer(),
            &claimed,
            &self.instance,
            now,
            error.as_deref(),
        )
        .await
        {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                job = claimed.id,
                "a job ended after its lease ran out and another server took it"
            ),
            Err(e) => tracing::warn!(job = claimed.id, "could not record a job's end: {e}"),
        }
    }

    /// Waits for `work`, meanwhile storing its progress when it moved (at most once per
    /// `PROGRESS_EVERY`) and renewing the lease at least every quarter lease.
    async fn heartbeat_until(
        &self,
        claimed: &db::jobs::Claimed,
        progress: &Progress,
        mut work: AbortOnDrop,
    ) -> Result<(), String> {
        let mut tick = tokio::time::interval(super::PROGRESS_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stored = (0, 0);
        let mut renewed = Instant::now();
        loop {
            tokio::select! {
                result = &mut work.0 => {
                    return match result {
                        Ok(Ok(())) => Ok(()),
                        Ok(Err(e)) => Err(format!("{e:#}")),
                        Err(e) if e.is_panic() => Err("the job panicked".to_owned()),
                        Err(e) => Err(format!("the job stopped: {e}")),
                    };
                }
                _ = tick.tick() => {}
            }
            let now = progress.read();
            if now == stored && renewed.elapsed() < super::LEASE / 4 {
                continue;
            }
            let lease_until = millis(self.queue.clock()) + ms(super::LEASE);
            let now_i64 = (
                i64::try_from(now.0).unwrap_or(i64::MAX),
                i64::try_from(now.1).unwrap_or(i64::MAX),
            );
            match db::jobs::heartbeat(
                self.queue.db().writer(),
                claimed,
                &self.instance,
                lease_until,
                now_i64,
            )
            .await
            {
                Ok(true) => {
                    stored = now;
                    renewed = Instant::now();
                }
                Ok(false) => {
                    // Another server runs it now: stop this run rather than do its work twice.
                    tracing::warn!(
                        job = claimed.id,
                        "a job's lease ran out and another server took it; this run stops"
                    );
                    return Err("its lease ran out and another server took it".to_owned());
                }
                Err(e) => tracing::warn!(job = claimed.id, "could not store a job's progress: {e}"),
            }
        }
    }
}
