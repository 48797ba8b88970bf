//! A write budget per user: every request that appends a row a student controls (a grade, a
//! repeat, an undo, a practice answer, a report) takes one token from the user's bucket. The
//! bucket is deep enough that no person studying, however fast, ever meets it (and the
//! benchmark's simulated students, grading as fast as the server answers, do not either); it
//! stops a script from growing the database by gigabytes an hour on one login (4,000 practice
//! answers a second would be about 3 GB an hour).

use std::collections::HashMap;
use std::sync::Mutex;

/// Writes a user may make at once.
pub const BURST: u32 = 2_000;
/// Writes a second the bucket refills with.
pub const PER_SECOND: u32 = 20;
/// Users remembered before full buckets are forgotten.
const SWEEP_AT: usize = 50_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens, in thousandths.
    milli: u64,
    at_ms: i64,
}

/// Every user's bucket.
#[derive(Debug, Default)]
pub struct WriteBudget {
    buckets: Mutex<HashMap<i64, Bucket>>,
}

const FULL: u64 = BURST as u64 * 1000;

fn refilled(b: Bucket, now_ms: i64) -> u64 {
    let elapsed = u64::try_from(now_ms - b.at_ms).unwrap_or(0);
    b.milli
        .saturating_add(elapsed.saturating_mul(u64::from(PER_SECOND)))
        .min(FULL)
}

impl WriteBudget {
    /// Takes one write from `user_id`'s bucket at `now_ms`, or says how many seconds until
    /// one is available.
    pub fn spend(&self, user_id: i64, now_ms: i64) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, b| refilled(*b, now_ms) < FULL);
        }
        let bucket = buckets.entry(user_id).or_insert(Bucket {
            milli: FULL,
            at_ms: now_ms,
        });
        let milli = refilled(*bucket, now_ms);
        if milli < 1000 {
            let wait_ms = (1000 - milli).div_ceil(u64::from(PER_SECOND));
            return Err(wait_ms.div_ceil(1000).max(1));
        }
        *bucket = Bucket {
            milli: milli - 1000,
            at_ms: now_ms,
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_refill_rate() {
        let b = WriteBudget::default();
        for _ in 0..BURST {
            b.spend(7, 0).unwrap();
        }
        assert_eq!(b.spend(7, 0), Err(1));
        assert!(b.spend(8, 0).is_ok(), "buckets are per user");
        // One write per 1/PER_SECOND seconds comes back.
        let step = 1000 / i64::from(PER_SECOND);
        assert!(b.spend(7, step).is_ok());
        assert!(b.spend(7, step).is_err());
        // A long pause refills the bucket, but never past the burst.
        for _ in 0..BURST {
            b.spend(7, 3_600_000).unwrap();
        }
        assert!(b.spend(7, 3_600_000).is_err());
    }
}
