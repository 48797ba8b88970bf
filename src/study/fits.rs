//! Fitting FSRS parameters, to a class or to one student, as background jobs: the optimizer
//! runs on a blocking thread for seconds to minutes, the page shows its progress meanwhile,
//! and the result is saved with what it was fitted on. A student's own fit is kept (and
//! schedules them) only where it predicts their later reviews better than what they had.

use super::{Forget, Stale};
use crate::db::{self, Db};
use crate::srs::evaluate;
use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type Progress = Arc<Mutex<fsrs::CombinedProgressState>>;

/// What is being fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FitOf {
    /// A class's pooled reviews.
    Class(i64),
    /// One student's own reviews.
    Student(i64),
}

/// Fits that run at once on a machine of `cores` cores: half of them, at least one and at
/// most four. A fit keeps a core busy for seconds to minutes and holds its histories in
/// memory (19 at once took 13.6 s of CPU and 300 MiB on two cores), so the rest wait their
/// turn rather than slow the grades and each other.
pub fn cap_for(cores: usize) -> usize {
    (cores / 2).clamp(1, 4)
}

/// The fits queued and running, at most `cap` running at once, the others started in the
/// order they were asked for. Per process: each app server runs its own fits (a class's fit
/// runs on the server its instructor asked).
#[derive(Debug)]
pub struct FitJobs {
    cap: usize,
    queue: Mutex<Queue>,
}

#[derive(Debug, Default)]
struct Queue {
    jobs: HashMap<FitOf, Job>,
    next_ticket: u64,
    running: usize,
}

#[derive(Debug)]
struct Job {
    /// Its place in the order of asking.
    ticket: u64,
    progress: Progress,
    /// Queued: what starts it. Running: None.
    go: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Default for FitJobs {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::with_cap(cap_for(cores))
    }
}

/// How far a running fit has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FitProgress {
    /// Items trained on so far.
    pub done: usize,
    /// Items to train on in all.
    pub total: usize,
}

/// Where a fit asked for is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FitStatus {
    /// Waiting for a place: `ahead` fits (running or queued) go before it.
    Queued {
        /// Fits that go first.
        ahead: usize,
    },
    /// Running, this far.
    Running(FitProgress),
}

/// What a fit job needs of the server.
#[derive(Debug, Clone)]
pub struct FitContext {
    /// The database.
    pub db: Db,
    /// Sessions carry the parameters, so a fit drops them.
    pub sessions: Arc<dyn Forget>,
    /// The longest interval.
    pub max_interval_days: u32,
    /// When the fit was asked for.
    pub now: Timestamp,
}

/// Takes a finished (or failed, or panicked) job off the queue and starts the next.
struct Finished {
    jobs: Arc<FitJobs>,
    what: FitOf,
}

impl Drop for Finished {
    fn drop(&mut self) {
        let mut queue = self.jobs.lock();
        // A job that never started held no place.
        if let Some(Job { go: None, .. }) = queue.jobs.remove(&self.what) {
            queue.running = queue.running.saturating_sub(1);
        }
        admit(&mut queue, self.jobs.cap);
    }
}

/// Starts the longest-waiting queued fits while there is room.
fn admit(queue: &mut Queue, cap: usize) {
    while queue.running < cap {
        let Some(job) = queue
            .jobs
            .values_mut()
            .filter(|j| j.go.is_some())
            .min_by_key(|j| j.ticket)
        else {
            return;
        };
        if let Some(go) = job.go.take() {
            // A job whose task is gone frees its place when its guard drops.
            let _ = go.send(());
        }
        queue.running += 1;
    }
}

impl FitJobs {
    /// Fits with at most `cap` (at least 1) running at once.
    pub fn with_cap(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            queue: Mutex::default(),
        }
    }

    /// How many fits run at once.
    pub fn cap(&self) -> usize {
        self.cap
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where `what`'s fit is, if one is queued or running.
    pub fn status(&self, what: FitOf) -> Option<FitStatus> {
        let queue = self.lock();
        let job = queue.jobs.get(&what)?;
        if job.go.is_some() {
            let ahead = queue
                .jobs
                .values()
                .filter(|j| j.ticket < job.ticket)
                .count();
            return Some(FitStatus::Queued { ahead });
        }
        let state = job.progress.lock().unwrap_or_else(|e| e.into_inner());
        Some(FitStatus::Running(FitProgress {
            done: state.current(),
            total: state.total(),
        }))
    }

    /// The progress of `what`'s fit, if one is queued (nothing done yet) or running.
    pub fn progress(&self, what: FitOf) -> Option<FitProgress> {
        Some(match self.status(what)? {
            FitStatus::Queued { .. } => FitProgress { done: 0, total: 0 },
            FitStatus::Running(p) => p,
        })
    }

    /// Queues a fit of `what` unless one is queued or running. Returns whether it was queued.
    pub fn start(self: &Arc<Self>, what: FitOf, context: FitContext) -> bool {
        self.enqueue(what, move |progress| async move {
            match what {
                FitOf::Class(class_id) => fit_class(&context, class_id, progress).await,
                FitOf::Student(user_id) => fit_student(&context, user_id, progress).await,
            }
        })
    }

    /// Queues `job` as the fit of `what` (unless one is queued or running); it runs once its
    /// turn comes and a place is free.
    fn enqueue<F, Fut>(self: &Arc<Self>, what: FitOf, job: F) -> bool
    where
        F: FnOnce(Progress) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let progress: Progress = fsrs::CombinedProgressState::new_shared();
        let (go, started) = tokio::sync::oneshot::channel();
        {
            let mut queue = self.lock();
            if queue.jobs.contains_key(&what) {
                return false;
            }
            let ticket = queue.next_ticket;
            queue.next_ticket += 1;
            queue.jobs.insert(
                what,
                Job {
                    ticket,
                    progress: progress.clone(),
                    go: Some(go),
                },
            );
            admit(&mut queue, self.cap);
        }
        let finished = Finished {
            jobs: self.clone(),
            what,
        };
        tokio::spawn(async move {
            let _finished = finished;
            if started.await.is_err() {
                return;
            }
            if let Err(e) = job(progress).await {
                tracing::error!(?what, "fitting FSRS parameters failed: {e:#}");
            }
        });
        true
    }
}

/// The optimizer on the earlier half of `histories`, off the async threads: the split day,
/// the items trained on, and the parameters.
async fn fit_histories(
    histories: &[Vec<(i32, u8)>],
    progress: Progress,
) -> anyhow::Result<(i32, usize, Vec<f32>)> {
    let Some((split_day, items)) = evaluate::training_set(histories) else {
        anyhow::bail!("there are no reviews to fit on");
    };
    let reviews = items.len();
    let parameters = tokio::task::spawn_blocking(move || evaluate::fit(items, Some(progress)))
        .await?
        .map_err(anyhow::Error::msg)?;
    Ok((split_day, reviews, parameters))
}

async fn fit_class(c: &FitContext, class_id: i64, progress: Progress) -> anyhow::Result<()> {
    let rows = db::analytics::histories(c.db.reader(), class_id).await?;
    let histories = evaluate::histories_by_card(&rows);
    let (split_day, reviews, parameters) = fit_histories(&histories, progress).await?;
    let fit = db::analytics::FitRow {
        parameters: serde_json::to_string(&parameters)?,
        reviews: i64::try_from(reviews)?,
        split_day: i64::from(split_day),
        fitted_at: c.now.as_second(),
    };
    db::analytics::save_fit(c.db.writer(), class_id, &fit).await?;
    super::scheduling::reschedule_class(&c.db, &*c.sessions, class_id, c.max_interval_days, c.now)
        .await?;
    Ok(())
}

async fn fit_student(c: &FitContext, user_id: i64, progress: Progress) -> anyhow::Result<()> {
    let rows = db::reviews::standing_history(c.db.reader(), user_id, None).await?;
    let histories: Vec<Vec<(i32, u8)>> = rows
        .chunk_by(|a, b| a.0 == b.0)
        .map(|card| {
            card.iter()
                .filter_map(|e| Some((i32::try_from(e.1).ok()?, u8::try_from(e.2).ok()?)))
                .collect()
        })
        .collect();
    let (split_day, reviews, own) = fit_histories(&histories, progress).await?;
    let baseline: Vec<f32> = db::classes::class_parameters_of(c.db.reader(), user_id)
        .await?
        .and_then(|p| serde_json::from_str(&p).ok())
        .unwrap_or_default();
    let Some(scores) = evaluate::own_fit(&histories, &own, &baseline, split_day) else {
        anyhow::bail!("no later reviews to score the fit on");
    };
    let fit = db::analytics::StudentFitRow {
        parameters: serde_json::to_string(&own)?,
        reviews: i64::try_from(reviews)?,
        split_day: i64::from(split_day),
        fitted_at: c.now.as_second(),
        scored: i64::try_from(scores.scored)?,
        own_log_loss: scores.own.log_loss,
        baseline_log_loss: scores.baseline.log_loss,
        kept: scores.kept(),
    };
    db::analytics::save_student_fit(c.db.writer(), user_id, &fit).await?;
    c.sessions.forget(Stale::User(user_id));
    // Under FSRS the cards follow whichever parameters now schedule the student.
    super::scheduling::reschedule_if_fsrs(c.db.writer(), user_id, c.max_interval_days, c.now)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Waits until `check` holds (the jobs run on other tasks).
    async fn until(check: impl Fn() -> bool) {
        for _ in 0..500 {
            if check() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        panic!("the fit queue never got there");
    }

    #[test]
    fn half_the_cores_run_fits_at_least_one_at_most_four() {
        assert_eq!(cap_for(1), 1);
        assert_eq!(cap_for(2), 1);
        assert_eq!(cap_for(8), 4);
        assert_eq!(cap_for(64), 4);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fits_past_the_cap_wait_in_order_and_all_finish() {
        let jobs = Arc::new(FitJobs::with_cap(2));
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut release = Vec::new();
        for class in 0..5 {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            release.push(tx);
            let (running, most) = (running.clone(), most.clone());
            assert!(jobs.enqueue(FitOf::Class(class), move |_| async move {
                use std::sync::atomic::Ordering::SeqCst;
                let now = running.fetch_add(1, SeqCst) + 1;
                most.fetch_max(now, SeqCst);
                let _ = rx.await;
                running.fetch_sub(1, SeqCst);
                Ok(())
            }));
        }
        // The same fit asked for again while it waits is not queued twice.
        assert!(!jobs.enqueue(FitOf::Class(4), |_| async { Ok(()) }));
        let running_now = |n| {
            let running = running.clone();
            move || running.load(std::sync::atomic::Ordering::SeqCst) == n
        };
        until(running_now(2)).await;
        assert!(matches!(
            jobs.status(FitOf::Class(0)),
            Some(FitStatus::Running(_))
        ));
        assert!(matches!(
            jobs.status(FitOf::Class(1)),
            Some(FitStatus::Running(_))
        ));
        assert_eq!(
            jobs.status(FitOf::Class(2)),
            Some(FitStatus::Queued { ahead: 2 })
        );
        assert_eq!(
            jobs.status(FitOf::Class(4)),
            Some(FitStatus::Queued { ahead: 4 })
        );
        // The first to finish lets the longest-waiting one start.
        release.remove(1).send(()).unwrap();
        until(|| jobs.status(FitOf::Class(1)).is_none()).await;
        until(|| matches!(jobs.status(FitOf::Class(2)), Some(FitStatus::Running(_)))).await;
        assert_eq!(
            jobs.status(FitOf::Class(3)),
            Some(FitStatus::Queued { ahead: 2 })
        );
        for tx in release {
            let _ = tx.send(());
        }
        until(|| (0..5).all(|c| jobs.status(FitOf::Class(c)).is_none())).await;
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 2);
        // A failing fit gives its place back too.
        assert!(jobs.enqueue(FitOf::Student(1), |_| async { anyhow::bail!("no reviews") }));
        until(|| jobs.status(FitOf::Student(1)).is_none()).await;
        assert!(jobs.enqueue(FitOf::Student(1), |_| async { Ok(()) }));
        until(|| jobs.status(FitOf::Student(1)).is_none()).await;
    }
}
