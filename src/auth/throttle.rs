//! Throttling of password checks and registrations, in memory. Three budgets:
//!
//! - **Per client address**: at most [`ADDRESS_FAILURES`] failed password checks in a
//!   [`ADDRESS_WINDOW_SECS`] window, whatever account they target. This stops one machine
//!   spraying guesses across many accounts. A success does not give budget back.
//! - **Per account and address**: the first [`FREE_FAILURES`] failures cost nothing; after
//!   that each failure makes the next attempt on that account from that address wait twice as
//!   long (1 s, 2 s, 4 s ... up to [`MAX_BACKOFF_SECS`]). This slows a guesser to about a
//!   hundred guesses a day per address without ever locking the account: its owner, at
//!   another address, is not slowed at all. A success resets only that pair.
//! - **Registrations per address**: a bucket of [`REGISTRATION_BURST`] that refills one every
//!   [`REGISTRATION_REFILL_SECS`] seconds, so a lecture hall behind one NAT can sign up on day
//!   one while a script cannot create accounts without end.
//!
//! A failure is *reserved* before the password is hashed ([`LoginThrottle::begin`]) and only
//! given back when the password turns out right, so concurrent attempts cannot all pass the
//! check before any of them is counted. IPv6 clients are counted by /64 network, as one
//! host commonly holds a whole /64.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Failed password checks one address may make per window.
pub const ADDRESS_FAILURES: u32 = 100;
/// The per-address window, in seconds.
pub const ADDRESS_WINDOW_SECS: i64 = 15 * 60;
/// Failures on one account from one address before backoff starts.
pub const FREE_FAILURES: u32 = 5;
/// The longest wait between attempts on one account from one address.
pub const MAX_BACKOFF_SECS: i64 = 15 * 60;
/// How long an account's failures are remembered after the last one.
pub const ACCOUNT_MEMORY_SECS: i64 = 24 * 3600;
/// Registrations an address may make at once.
pub const REGISTRATION_BURST: u32 = 100;
/// Seconds for one more registration to become available.
pub const REGISTRATION_REFILL_SECS: i64 = 6;
/// Entries kept in a map before stale ones are swept.
const SWEEP_AT: usize = 20_000;

/// Where a request comes from, for counting: the address, or its /64 for IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Client(u128);

impl From<IpAddr> for Client {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Client(u128::from(u32::from(v4))),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Client(u128::from(u32::from(v4))),
                None => Client((u128::from(v6) >> 64) << 64 | 1 << 63),
            },
        }
    }
}

/// An address's window of password checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// When it started (Unix seconds).
    pub started: i64,
    /// Checks reserved in it.
    pub used: u32,
}

/// One account's failures from one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Failures in a row.
    pub failures: u32,
    /// The next check may start then.
    pub next_allowed: i64,
    /// The last failure.
    pub last: i64,
}

/// The rule of [`LoginThrottle::begin`], on the state it reads: the address's window and the
/// pair's backoff after one more reserved check at `now`, or how long to wait. The same rule
/// runs on the store's copy of the state where several app servers share one
/// (`study::accounts`).
pub fn reserve(
    window: Option<Window>,
    backoff: Option<Backoff>,
    now: i64,
) -> Result<(Window, Backoff), RetryAfter> {
    let mut window = window
        .filter(|w| now < w.started + ADDRESS_WINDOW_SECS)
        .unwrap_or(Window {
            started: now,
            used: 0,
        });
    if window.used >= ADDRESS_FAILURES {
        return Err(secs(window.started + ADDRESS_WINDOW_SECS, now));
    }
    let previous = backoff.filter(|b| now < b.last + ACCOUNT_MEMORY_SECS);
    if let Some(b) = previous
        && now < b.next_allowed
    {
        return Err(secs(b.next_allowed, now));
    }
    let failures = previous.map_or(0, |b| b.failures) + 1;
    // Times are whole seconds: a wait of b seconds from somewhere inside second `now` must
    // end at the start of second now + b + 1, or it could last almost nothing.
    let wait = backoff_secs(failures);
    window.used += 1;
    Ok((
        window,
        Backoff {
            failures,
            next_allowed: now + wait + i64::from(wait > 0),
            last: now,
        },
    ))
}

/// The key an address is counted under in a store: the address (or its /64) in hex.
pub fn client_key(ip: IpAddr) -> String {
    format!("{:032x}", Client::from(ip).0)
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: u32,
    refilled_at: i64,
}

#[derive(Debug, Default)]
struct State {
    addresses: HashMap<Client, Window>,
    accounts: HashMap<(String, Client), Backoff>,
    registrations: HashMap<Client, Bucket>,
}

/// The throttle's state, shared by every worker.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    state: Mutex<State>,
}

/// A reserved password check: counted as a failure unless [`LoginThrottle::succeeded`] or
/// [`LoginThrottle::cancel`] says otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "report how the check ended"]
pub struct Attempt {
    client: Client,
    account: String,
    previous: Option<(u32, i64, i64)>,
}

/// How long to wait, in seconds (at least 1).
pub type RetryAfter = u64;

fn secs(until: i64, now: i64) -> RetryAfter {
    u64::try_from(until - now).unwrap_or(1).max(1)
}

/// The wait after `failures` failures on one account from one address.
pub fn backoff_secs(failures: u32) -> i64 {
    if failures < FREE_FAILURES {
        0
    } else {
        let doublings = (failures - FREE_FAILURES).min(20);
        (1i64 << doublings).min(MAX_BACKOFF_SECS)
    }
}

/// Account names compare as the database compares them: trimmed, case-insensitive.
pub fn account_key(username: &str) -> String {
    username.trim().to_lowercase().chars().take(64).collect()
}

impl LoginThrottle {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reserves one password check on `username` from `ip` at `now` (Unix seconds), or says
    /// how long to wait. The reservation counts as a failure until told otherwise.
    pub fn begin(&self, ip: IpAddr, username: &str, now: i64) -> Result<Attempt, RetryAfter> {
        let client = Client::from(ip);
        let account = account_key(username);
        let mut state = self.lock();
        sweep(&mut state, now);
        let key = (account, client);
        let previous = state
            .accounts
            .get(&key)
            .copied()
            .filter(|b| now < b.last + ACCOUNT_MEMORY_SECS);
        let (window, backoff) = reserve(state.addresses.get(&client).copied(), previous, now)?;
        state.addresses.insert(client, window);
        state.accounts.insert(key.clone(), backoff);
        Ok(Attempt {
            client,
            account: key.0,
            previous: previous.map(|b| (b.failures, b.next_allowed, b.last)),
        })
    }

    /// The password was right: the address gets its reservation back and this account's
    /// count at this address starts over.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut state = self.lock();
        give_back(&mut state, attempt.client);
        state.accounts.remove(&(attempt.account, attempt.client));
    }

    /// The check never ran (the server was too busy, or failed): undo the reservation.
    pub fn cancel(&self, attempt: Attempt) {
        let mut state = self.lock();
        give_back(&mut state, attempt.client);
        let key = (attempt.account, attempt.client);
        match attempt.previous {
            Some((failures, next_allowed, last)) => {
                state.accounts.insert(
                    key,
                    Backoff {
                        failures,
                        next_allowed,
                        last,
                    },
                );
            }
            None => {
                state.accounts.remove(&key);
            }
        }
    }

    /// Takes one registration from `ip`'s bucket, or says how long to wait.
    pub fn register(&self, ip: IpAddr, now: i64) -> Result<(), RetryAfter> {
        let client = Client::from(ip);
        let mut state = self.lock();
        sweep(&mut state, now);
        let bucket = state.registrations.entry(client).or_insert(Bucket {
            tokens: REGISTRATION_BURST,
            refilled_at: now,
        });
        let earned = (now - bucket.refilled_at).max(0) / REGISTRATION_REFILL_SECS;
        if earned > 0 {
            let earned = u32::try_from(earned).unwrap_or(u32::MAX);
            bucket.tokens = bucket.tokens.saturating_add(earned).min(REGISTRATION_BURST);
            bucket.refilled_at = now;
        }
        if bucket.tokens == 0 {
            return Err(secs(bucket.refilled_at + REGISTRATION_REFILL_SECS, now));
        }
        bucket.tokens -= 1;
        Ok(())
    }
}

impl LoginThrottle {
    /// Gives back a registration that never ran (the hashing pool was full).
    pub fn refund_registration(&self, ip: IpAddr) {
        if let Some(bucket) = self.lock().registrations.get_mut(&Client::from(ip)) {
            bucket.tokens = (bucket.tokens + 1).min(REGISTRATION_BURST);
        }
    }
}

fn give_back(state: &mut State, client: Client) {
    if let Some(w) = state.addresses.get_mut(&client) {
        w.used = w.used.saturating_sub(1);
    }
}

/// Drops entries that no longer matter once a map grows large, bounding memory.
fn sweep(state: &mut State, now: i64) {
    if state.addresses.len() >= SWEEP_AT {
        state
            .addresses
            .retain(|_, w| now < w.started + ADDRESS_WINDOW_SECS);
    }
    if state.accounts.len() >= SWEEP_AT {
        state
            .accounts
            .retain(|_, b| now < b.last + ACCOUNT_MEMORY_SECS);
        if state.accounts.len() >= SWEEP_AT {
            // Under a wide attack, keep only the pairs that are being slowed right now.
            state.accounts.retain(|_, b| now < b.next_allowed);
        }
    }
    if state.registrations.len() >= SWEEP_AT {
        state.registrations.retain(|_, b| {
            now < b.refilled_at
                + REGISTRATION_REFILL_SECS * i64::from(REGISTRATION_BURST - b.tokens)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn reservations_are_counted_before_any_check_finishes() {
        let t = LoginThrottle::default();
        let a = ip("10.0.0.1");
        // Concurrent attempts on one account: the free ones, then one more that starts the
        // backoff, then nothing until it has passed.
        let mut passed = 0;
        for _ in 0..120 {
            if t.begin(a, "alice", 1000).is_ok() {
                passed += 1;
            }
        }
        assert_eq!(passed, FREE_FAILURES);
        // The 1 s wait is a whole second whenever in second 1000 the last failure came.
        assert_eq!(t.begin(a, "alice", 1000), Err(2));
        assert_eq!(t.begin(a, "alice", 1001), Err(1));
        assert!(t.begin(a, "alice", 1002).is_ok());
        assert_eq!(t.begin(a, "alice", 1002), Err(3));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff_secs(FREE_FAILURES - 1), 0);
        assert_eq!(backoff_secs(FREE_FAILURES), 1);
        assert_eq!(backoff_secs(FREE_FAILURES + 3), 8);
        assert_eq!(backoff_secs(FREE_FAILURES + 40), MAX_BACKOFF_SECS);
    }

    #[test]
    fn the_owner_elsewhere_is_not_slowed_and_a_success_resets_only_its_pair() {
        let t = LoginThrottle::default();
        let (attacker, owner) = (ip("10.0.0.1"), ip("10.0.0.2"));
        for s in 0..30 {
            let _ = t.begin(attacker, "alice", 1000 + s);
        }
        assert!(t.begin(attacker, "alice", 1030).is_err());
        let at_home = t.begin(owner, "Alice ", 1030).unwrap();
        t.succeeded(at_home);
        // The attacker logs into their own account: alice stays slowed for them.
        let own = t.begin(attacker, "mallory", 1030).unwrap();
        t.succeeded(own);
        assert!(t.begin(attacker, "alice", 1030).is_err());
    }

    #[test]
    fn an_address_has_a_budget_across_accounts_that_successes_do_not_refill() {
        let t = LoginThrottle::default();
        let a = ip("2001:db8::1");
        for i in 0..ADDRESS_FAILURES {
            let _ = t.begin(a, &format!("user{i}"), 0).unwrap();
        }
        // Another host in the same /64 shares the budget.
        let retry = t.begin(ip("2001:db8::2"), "someone", 0).unwrap_err();
        assert_eq!(retry, ADDRESS_WINDOW_SECS as u64);
        assert!(t.begin(ip("2001:db8:0:1::1"), "someone", 0).is_ok());
        assert!(t.begin(a, "someone", ADDRESS_WINDOW_SECS).is_ok());
    }

    #[test]
    fn a_cancelled_check_costs_nothing() {
        let t = LoginThrottle::default();
        let a = ip("10.0.0.1");
        for _ in 0..50 {
            let attempt = t.begin(a, "bob", 0).unwrap();
            t.cancel(attempt);
        }
        for _ in 0..FREE_FAILURES {
            assert!(t.begin(a, "bob", 0).is_ok());
        }
    }

    #[test]
    fn registrations_come_in_a_burst_then_refill() {
        let t = LoginThrottle::default();
        let a = ip("10.0.0.9");
        for _ in 0..REGISTRATION_BURST {
            t.register(a, 0).unwrap();
        }
        assert_eq!(t.register(a, 0), Err(REGISTRATION_REFILL_SECS as u64));
        assert!(t.register(ip("10.0.0.10"), 0).is_ok());
        t.register(a, REGISTRATION_REFILL_SECS).unwrap();
        assert!(t.register(a, REGISTRATION_REFILL_SECS).is_err());
    }
}
