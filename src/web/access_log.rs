//! The access log, cheap enough for the hot path. A line per request cost the review page 10%
//! of its throughput (formatting and writing under the subscriber's lock), so each request
//! only adds to a few counters; a summary line goes out every [`SUMMARY_SECS`] seconds while
//! there is traffic, and a request gets a line of its own only when it fails on the server's
//! side (5xx) or is slow. `RUST_LOG=studyhall=debug` brings back a line for every request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How often the summary is written while requests come in.
pub const SUMMARY_SECS: u64 = 10;
/// A request slower than this gets its own line.
pub const SLOW_MICROS: u64 = 500_000;

/// Counters since the last summary.
#[derive(Debug, Default)]
pub struct AccessLog {
    requests: AtomicU64,
    client_errors: AtomicU64,
    server_errors: AtomicU64,
    slow: AtomicU64,
    total_micros: AtomicU64,
    max_micros: AtomicU64,
}

/// One summary: what the counters held when it was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Requests answered.
    pub requests: u64,
    /// 4xx answers.
    pub client_errors: u64,
    /// 5xx answers.
    pub server_errors: u64,
    /// Answers slower than [`SLOW_MICROS`].
    pub slow: u64,
    /// Mean time to answer, µs.
    pub mean_micros: u64,
    /// Longest time to answer, µs.
    pub max_micros: u64,
}

impl AccessLog {
    /// Counts one answered request; says whether it deserves a line of its own.
    pub fn record(&self, status: u16, micros: u64) -> bool {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.total_micros.fetch_add(micros, Ordering::Relaxed);
        self.max_micros.fetch_max(micros, Ordering::Relaxed);
        let slow = micros >= SLOW_MICROS;
        if slow {
            self.slow.fetch_add(1, Ordering::Relaxed);
        }
        match status {
            400..=499 => {
                self.client_errors.fetch_add(1, Ordering::Relaxed);
            }
            500..=599 => {
                self.server_errors.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
        slow || status >= 500
    }

    /// Takes the counters (resetting them); None when nothing came in.
    pub fn take(&self) -> Option<Summary> {
        let requests = self.requests.swap(0, Ordering::Relaxed);
        let summary = Summary {
            requests,
            client_errors: self.client_errors.swap(0, Ordering::Relaxed),
            server_errors: self.server_errors.swap(0, Ordering::Relaxed),
            slow: self.slow.swap(0, Ordering::Relaxed),
            mean_micros: self.total_micros.swap(0, Ordering::Relaxed) / requests.max(1),
            max_micros: self.max_micros.swap(0, Ordering::Relaxed),
        };
        (requests > 0).then_some(summary)
    }

    /// Writes a summary every [`SUMMARY_SECS`] seconds while there is traffic, for as long as
    /// the server runs.
    pub fn spawn_summaries(log: std::sync::Arc<Self>) {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(SUMMARY_SECS));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            every.tick().await;
            loop {
                every.tick().await;
                if let Some(s) = log.take() {
                    tracing::info!(
                        requests = s.requests,
                        per_second = s.requests / SUMMARY_SECS,
                        client_errors = s.client_errors,
                        server_errors = s.server_errors,
                        slow = s.slow,
                        mean_ms = s.mean_micros as f64 / 1000.0,
                        max_ms = s.max_micros as f64 / 1000.0,
                        "traffic in the last {SUMMARY_SECS} s"
                    );
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_picks_out_what_needs_a_line() {
        let log = AccessLog::default();
        assert!(!log.record(200, 1_000));
        assert!(!log.record(404, 3_000));
        assert!(log.record(503, 2_000), "a server error gets its own line");
        assert!(log.record(200, SLOW_MICROS), "so does a slow answer");
        assert_eq!(
            log.take(),
            Some(Summary {
                requests: 4,
                client_errors: 1,
                server_errors: 1,
                slow: 1,
                mean_micros: (6_000 + SLOW_MICROS) / 4,
                max_micros: SLOW_MICROS,
            })
        );
        assert_eq!(log.take(), None, "taking resets");
    }
}
