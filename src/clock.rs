//! The one source of "now". Production reads the system clock; tests running the real server
//! in-process move it forward to see tomorrow's schedule without waiting a day.

use jiff::Timestamp;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// The system clock plus an offset that starts at zero.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_seconds: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// Now, as this clock tells it.
    pub fn now(&self) -> Timestamp {
        let offset = self.offset_seconds.load(Ordering::Relaxed);
        let now = Timestamp::now();
        now.checked_add(jiff::SignedDuration::from_secs(offset))
            .unwrap_or(now)
    }

    /// Moves this clock (and every clone of it) forward by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.offset_seconds.fetch_add(seconds, Ordering::Relaxed);
    }
}
