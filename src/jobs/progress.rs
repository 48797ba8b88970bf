//! How far a running job has come, as its handler tells it and its runner stores it; and the
//! runner's word to stop, for work that aborting its task cannot reach (a blocking thread).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

type Reader = Box<dyn Fn() -> (u64, u64) + Send + Sync>;
type OnCancel = Box<dyn Fn() + Send + Sync>;

enum Source {
    /// Set by the handler: (done, total).
    Set(u64, u64),
    /// Read from the work itself whenever the runner asks (the optimizer keeps its own count).
    Follow(Reader),
}

/// A running job's progress: done of total (a total of 0: not known yet). Cheap to clone; the
/// runner reads it about once a second, and cancels it when the job must stop (the server
/// stops, or the job's lease ran out and another server took it).
#[derive(Clone)]
pub struct Progress(Arc<Inner>);

struct Inner {
    source: Mutex<Source>,
    cancelled: AtomicBool,
    on_cancel: Mutex<Vec<OnCancel>>,
}

impl Default for Progress {
    fn default() -> Self {
        Self(Arc::new(Inner {
            source: Mutex::new(Source::Set(0, 0)),
            cancelled: AtomicBool::new(false),
            on_cancel: Mutex::new(Vec::new()),
        }))
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (done, total) = self.read();
        write!(f, "Progress({done} of {total})")
    }
}

impl Progress {
    fn lock(&self) -> std::sync::MutexGuard<'_, Source> {
        self.0.source.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tells the work to stop: runs every hook given to [`Progress::on_cancel`] once.
    pub fn cancel(&self) {
        if self.0.cancelled.swap(true, Ordering::SeqCst) {
            return;
        }
        let hooks = self.0.on_cancel.lock().unwrap_or_else(|e| e.into_inner());
        for hook in hooks.iter() {
            hook();
        }
    }

    /// Whether the work was told to stop.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// Runs `hook` when the job is cancelled (at once if it already was): how work on a
    /// blocking thread learns to stop.
    pub fn on_cancel(&self, hook: impl Fn() + Send + Sync + 'static) {
        let mut hooks = self.0.on_cancel.lock().unwrap_or_else(|e| e.into_inner());
        if self.is_cancelled() {
            drop(hooks);
            hook();
            return;
        }
        hooks.push(Box::new(hook));
    }

    /// `done` of `total`.
    pub fn set(&self, done: u64, total: u64) {
        *self.lock() = Source::Set(done, total);
    }

    /// From now on, whatever `read` says.
    pub fn follow(&self, read: impl Fn() -> (u64, u64) + Send + Sync + 'static) {
        *self.lock() = Source::Follow(Box::new(read));
    }

    /// Done of total, now.
    pub fn read(&self) -> (u64, u64) {
        match &*self.lock() {
            Source::Set(done, total) => (*done, *total),
            Source::Follow(read) => read(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_what_was_set_or_what_it_follows() {
        let p = Progress::default();
        assert_eq!(p.read(), (0, 0));
        p.set(3, 10);
        assert_eq!(p.clone().read(), (3, 10));
        let count = Arc::new(std::sync::atomic::AtomicU64::new(5));
        let c = count.clone();
        p.follow(move || (c.load(std::sync::atomic::Ordering::Relaxed), 9));
        assert_eq!(p.read(), (5, 9));
        count.store(7, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(p.read(), (7, 9));
    }

    #[test]
    fn a_cancel_reaches_hooks_given_before_and_after_it_once() {
        let progress = Progress::default();
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let before = count.clone();
        progress.on_cancel(move || {
            before.fetch_add(1, Ordering::SeqCst);
        });
        assert!(!progress.is_cancelled());
        progress.cancel();
        progress.cancel();
        assert_eq!(
            count.load(Ordering::SeqCst),
            1,
            "once, however often cancelled"
        );
        let after = count.clone();
        progress.on_cancel(move || {
            after.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(count.load(Ordering::SeqCst), 2, "a late hook runs at once");
        assert!(progress.is_cancelled());
    }
}
