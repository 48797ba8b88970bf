//! Login throttling: each client address gets a budget of failed logins per window; past it,
//! logins from that address are refused with 429 and Retry-After until the window ends. The
//! budget is per address so that an attacker hammering one account from one place does not
//! lock its owner out elsewhere.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Failed logins an address may make in one window.
pub const MAX_FAILURES: u32 = 10;
/// The window, in seconds.
pub const WINDOW_SECS: i64 = 15 * 60;
/// Addresses remembered before old windows are swept, bounding memory.
const SWEEP_AT: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    started: i64,
    failures: u32,
}

/// Failed-login counts per client address, in memory.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    windows: Mutex<HashMap<IpAddr, Window>>,
}

impl LoginThrottle {
    /// `Err(seconds to wait)` when `ip` has used up its failures at `now` (Unix seconds).
    pub fn check(&self, ip: IpAddr, now: i64) -> Result<(), u64> {
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        match windows.get(&ip) {
            Some(w) if now < w.started + WINDOW_SECS && w.failures >= MAX_FAILURES => {
                Err(u64::try_from(w.started + WINDOW_SECS - now)
                    .unwrap_or(1)
                    .max(1))
            }
            _ => Ok(()),
        }
    }

    /// Counts one failed login from `ip`.
    pub fn record_failure(&self, ip: IpAddr, now: i64) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, w| now < w.started + WINDOW_SECS);
        }
        let window = windows.entry(ip).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now >= window.started + WINDOW_SECS {
            *window = Window {
                started: now,
                failures: 0,
            };
        }
        window.failures += 1;
    }

    /// Forgets `ip`'s failures after a successful login.
    pub fn record_success(&self, ip: IpAddr) {
        self.windows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_throttled_after_its_budget_and_only_for_the_window() {
        let t = LoginThrottle::default();
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            assert!(t.check(a, 1000).is_ok());
            t.record_failure(a, 1000);
        }
        assert_eq!(t.check(a, 1000), Err(WINDOW_SECS as u64));
        assert_eq!(t.check(a, 1000 + WINDOW_SECS - 1), Err(1));
        assert!(t.check(b, 1000).is_ok());
        assert!(t.check(a, 1000 + WINDOW_SECS).is_ok());
    }

    #[test]
    fn a_success_clears_the_count() {
        let t = LoginThrottle::default();
        let a: IpAddr = "::1".parse().unwrap();
        for _ in 0..MAX_FAILURES - 1 {
            t.record_failure(a, 0);
        }
        t.record_success(a);
        t.record_failure(a, 0);
        assert!(t.check(a, 0).is_ok());
    }
}
