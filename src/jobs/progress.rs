//! How far a running job has come, as its handler tells it and its runner stores it.

use std::sync::{Arc, Mutex};

type Reader = Box<dyn Fn() -> (u64, u64) + Send + Sync>;

enum Source {
    /// Set by the handler: (done, total).
    Set(u64, u64),
    /// Read from the work itself whenever the runner asks (the optimizer keeps its own count).
    Follow(Reader),
}

/// A running job's progress: done of total (a total of 0: not known yet). Cheap to clone; the
/// runner reads it about once a second.
#[derive(Clone)]
pub struct Progress(Arc<Mutex<Source>>);

impl Default for Progress {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(Source::Set(0, 0))))
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
        self.0.lock().unwrap_or_else(|e| e.into_inner())
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
}
