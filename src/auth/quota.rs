//! Hourly budgets for people who have accounts, beside the per-request write budget of
//! [`super::budget`]:
//!
//! - **What an instructor creates**: classes, exams, decks and imports (by count, and by the
//!   bytes of card text they add). Each is a bucket per user as deep as an hour's allowance
//!   that refills evenly over the hour, so a term's set-up in one sitting passes while a
//!   script cannot add 300 classes in a third of a second, or grow the database by gigabytes
//!   an hour through imports.
//! - **Wrong join codes**: a bucket per account (or, on `/register`, per typed username) and
//!   one per client address. A join code has 50 bits; at these rates guessing one takes
//!   longer than the universe has existed, where 1,700 guesses a second would not have.
//!   Attempts are reserved before the code is looked up and given back when the code is
//!   right, so concurrent guesses cannot all slip through, and students who type their code
//!   right never use the budget.
//!
//! The budgets are **per process**: several app servers on one PostgreSQL database each keep
//! their own, so a site of N servers allows up to N times these figures. That is acceptable
//! here because each figure is far below what does harm (one more server adds 20 classes an
//! hour, not 300 a second); sharing them through the store, as the login throttle does
//! (`study::accounts`), would cost a write transaction on every creation and every join.

use super::throttle::Client;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Classes one instructor may create an hour (a whole term's sections in one sitting).
pub const CLASSES_PER_HOUR: u64 = 20;
/// Exams one instructor may add an hour (a few per class for twenty classes, with
/// corrections).
pub const EXAMS_PER_HOUR: u64 = 200;
/// Decks one instructor may create in the editor an hour.
pub const DECKS_PER_HOUR: u64 = 50;
/// Imports (or import previews) one instructor may make an hour.
pub const IMPORTS_PER_HOUR: u64 = 30;
/// Bytes of card text (fronts and backs) one instructor's imports may add an hour: a large
/// Anki deck is a few megabytes of text.
pub const IMPORT_BYTES_PER_HOUR: u64 = 50 * 1024 * 1024;
/// Bytes of media files (images, sounds and the package's other files) one instructor's
/// imports may bring an hour: five packages at the largest an import may bring (200 MiB), so
/// a term's decks in one sitting pass while a script cannot grow the database by tens of
/// gigabytes an hour.
pub const IMPORT_MEDIA_BYTES_PER_HOUR: u64 = 1024 * 1024 * 1024;
/// Wrong join codes one account (or one typed username on `/register`) may enter an hour.
pub const WRONG_CODES_PER_ACCOUNT: u64 = 10;
/// Wrong join codes one client address (an IPv6 /64) may enter an hour: a lecture hall
/// behind one address mistypes a few dozen.
pub const WRONG_CODES_PER_ADDRESS: u64 = 200;

/// Milliseconds in the hour every bucket refills over.
const HOUR_MS: u64 = 3_600_000;
/// Buckets kept before full ones are forgotten.
const SWEEP_AT: usize = 50_000;

/// What an hourly budget counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Classes created.
    Class,
    /// Exams added.
    Exam,
    /// Decks created in the editor.
    Deck,
    /// Imports made (a preview counts; its confirmation does not count again).
    Import,
    /// Bytes of card text imported.
    ImportBytes,
    /// Bytes of media files imported.
    ImportMediaBytes,
}

impl Kind {
    /// The hourly allowance.
    pub fn per_hour(self) -> u64 {
        match self {
            Kind::Class => CLASSES_PER_HOUR,
            Kind::Exam => EXAMS_PER_HOUR,
            Kind::Deck => DECKS_PER_HOUR,
            Kind::Import => IMPORTS_PER_HOUR,
            Kind::ImportBytes => IMPORT_BYTES_PER_HOUR,
            Kind::ImportMediaBytes => IMPORT_MEDIA_BYTES_PER_HOUR,
        }
    }

    /// The allowance as a person reads it.
    fn allowance(self) -> String {
        match self {
            Kind::Class => format!("{CLASSES_PER_HOUR} new classes an hour"),
            Kind::Exam => format!("{EXAMS_PER_HOUR} new exams an hour"),
            Kind::Deck => format!("{DECKS_PER_HOUR} new decks an hour"),
            Kind::Import => format!("{IMPORTS_PER_HOUR} imports an hour"),
            Kind::ImportBytes => format!(
                "{} MiB of imported card text an hour",
                IMPORT_BYTES_PER_HOUR / 1024 / 1024
            ),
            Kind::ImportMediaBytes => format!(
                "{} MiB of imported images, sounds and other media files an hour",
                IMPORT_MEDIA_BYTES_PER_HOUR / 1024 / 1024
            ),
        }
    }
}

/// A budget spent: what was refused, and when to try again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OverBudget {
    /// What the person is told.
    pub message: String,
    /// Seconds until the request would pass.
    pub retry_after_secs: u64,
}

/// Who is entering a join code: the account, or on `/register` (before there is one) the
/// username typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guesser {
    /// A signed-in user.
    User(i64),
    /// A username typed on the registration form.
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Make(i64, Kind),
    CodeUser(i64),
    CodeName(String),
    CodeAddress(Client),
}

impl Key {
    fn per_hour(&self) -> u64 {
        match self {
            Key::Make(_, kind) => kind.per_hour(),
            Key::CodeUser(_) | Key::CodeName(_) => WRONG_CODES_PER_ACCOUNT,
            Key::CodeAddress(_) => WRONG_CODES_PER_ADDRESS,
        }
    }
}

/// A bucket of `per_hour` units, kept in units × [`HOUR_MS`] so that it refills by
/// `per_hour` every millisecond without rounding.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    scaled: u64,
    at_ms: i64,
}

fn full(per_hour: u64) -> u64 {
    per_hour.saturating_mul(HOUR_MS)
}

fn refilled(b: Bucket, per_hour: u64, now_ms: i64) -> u64 {
    let elapsed = u64::try_from(now_ms - b.at_ms).unwrap_or(0);
    b.scaled
        .saturating_add(elapsed.saturating_mul(per_hour))
        .min(full(per_hour))
}

/// A reserved join-code attempt: counted as wrong unless [`Quotas::code_was_right`] gives it
/// back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "give the attempt back when the code is right"]
pub struct CodeAttempt {
    keys: [Key; 2],
}

/// Every user's and address's hourly budgets, shared by the workers of one process.
#[derive(Debug, Default)]
pub struct Quotas {
    buckets: Mutex<HashMap<Key, Bucket>>,
}

impl Quotas {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Bucket>> {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes `costs` from `user_id`'s budgets at `now_ms`, all or none: either every bucket
    /// has room and each pays, or nothing is taken and the refusal names the first bucket
    /// short and when it will have room.
    pub fn spend(
        &self,
        user_id: i64,
        costs: &[(Kind, u64)],
        now_ms: i64,
    ) -> Result<(), OverBudget> {
        let mut buckets = self.lock();
        sweep(&mut buckets, now_ms);
        let keys: Vec<(Key, u64)> = costs
            .iter()
            .map(|&(kind, amount)| (Key::Make(user_id, kind), amount))
            .collect();
        if let Err((key, wait)) = take(&mut buckets, &keys, now_ms) {
            let Key::Make(_, kind) = key else {
                return Err(refusal("You have reached an hourly limit", wait));
            };
            let cost = costs.iter().find(|c| c.0 == kind).map_or(0, |c| c.1);
            let message = if cost > kind.per_hour() {
                format!(
                    "This is more than an hour's allowance at once (the limit is {}).",
                    kind.allowance()
                )
            } else {
                format!("You have reached the limit of {}", kind.allowance())
            };
            return Err(refusal(&message, wait));
        }
        Ok(())
    }

    /// Reserves one join-code attempt for `guesser` from `ip` at `now_ms`, or refuses when
    /// the account's or the address's budget of wrong codes is spent. The attempt counts as
    /// a wrong code until [`Quotas::code_was_right`].
    pub fn begin_code(
        &self,
        guesser: &Guesser,
        ip: IpAddr,
        now_ms: i64,
    ) -> Result<CodeAttempt, OverBudget> {
        let account = match guesser {
            Guesser::User(id) => Key::CodeUser(*id),
            Guesser::Name(name) => Key::CodeName(super::throttle::account_key(name)),
        };
        let keys = [account, Key::CodeAddress(Client::from(ip))];
        let mut buckets = self.lock();
        sweep(&mut buckets, now_ms);
        let costs = [(keys[0].clone(), 1), (keys[1].clone(), 1)];
        take(&mut buckets, &costs, now_ms).map_err(|(_, wait)| {
            refusal(
                "Too many wrong join codes have been entered from here",
                wait,
            )
        })?;
        Ok(CodeAttempt { keys })
    }

    /// The code was right (or never checked): the attempt is given back.
    pub fn code_was_right(&self, attempt: CodeAttempt) {
        let mut buckets = self.lock();
        for key in attempt.keys {
            let per_hour = key.per_hour();
            if let Some(b) = buckets.get_mut(&key) {
                b.scaled = b.scaled.saturating_add(HOUR_MS).min(full(per_hour));
            }
        }
    }
}

fn refusal(what: &str, wait_ms: u64) -> OverBudget {
    let secs = wait_ms.div_ceil(1000).max(1);
    let when = if secs < 120 {
        format!("{secs} seconds")
    } else {
        format!("{} minutes", secs.div_ceil(60))
    };
    OverBudget {
        message: format!("{}; try again in {when}.", what.trim_end_matches('.')),
        retry_after_secs: secs,
    }
}

/// Takes each `(key, amount)` if every bucket has room; else takes nothing and says which
/// bucket is short and how many milliseconds until it has room.
fn take(
    buckets: &mut HashMap<Key, Bucket>,
    costs: &[(Key, u64)],
    now_ms: i64,
) -> Result<(), (Key, u64)> {
    let mut after = Vec::with_capacity(costs.len());
    for (key, amount) in costs {
        let per_hour = key.per_hour();
        let have = buckets
            .get(key)
            .map_or(full(per_hour), |b| refilled(*b, per_hour, now_ms));
        let need = amount.saturating_mul(HOUR_MS);
        if need > full(per_hour) {
            return Err((key.clone(), HOUR_MS));
        }
        if have < need {
            return Err((key.clone(), (need - have).div_ceil(per_hour.max(1))));
        }
        after.push((key.clone(), have - need));
    }
    for (key, scaled) in after {
        buckets.insert(
            key,
            Bucket {
                scaled,
                at_ms: now_ms,
            },
        );
    }
    Ok(())
}

/// Forgets full buckets once there are many, bounding memory.
fn sweep(buckets: &mut HashMap<Key, Bucket>, now_ms: i64) {
    if buckets.len() >= SWEEP_AT {
        buckets.retain(|key, b| {
            let per_hour = key.per_hour();
            refilled(*b, per_hour, now_ms) < full(per_hour)
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
    fn an_hours_allowance_at_once_then_an_even_refill_over_the_hour() {
        let q = Quotas::default();
        for _ in 0..CLASSES_PER_HOUR {
            q.spend(1, &[(Kind::Class, 1)], 0).unwrap();
        }
        let refused = q.spend(1, &[(Kind::Class, 1)], 0).unwrap_err();
        // One class comes back every 3 minutes.
        assert_eq!(refused.retry_after_secs, 3600 / CLASSES_PER_HOUR);
        assert!(
            refused.message.contains("20 new classes an hour"),
            "{refused}"
        );
        assert!(refused.message.contains("3 minutes"), "{refused}");
        assert!(
            q.spend(2, &[(Kind::Class, 1)], 0).is_ok(),
            "budgets are per user"
        );
        assert!(q.spend(1, &[(Kind::Exam, 1)], 0).is_ok(), "and per kind");
        let step = i64::try_from(HOUR_MS / CLASSES_PER_HOUR).unwrap();
        assert!(q.spend(1, &[(Kind::Class, 1)], step - 1).is_err());
        assert!(q.spend(1, &[(Kind::Class, 1)], step).is_ok());
        assert!(q.spend(1, &[(Kind::Class, 1)], step).is_err());
        // A long pause refills the bucket, never past one hour's allowance.
        let later = 10 * i64::try_from(HOUR_MS).unwrap();
        for _ in 0..CLASSES_PER_HOUR {
            q.spend(1, &[(Kind::Class, 1)], later).unwrap();
        }
        assert!(q.spend(1, &[(Kind::Class, 1)], later).is_err());
    }

    #[test]
    fn an_import_pays_by_count_and_by_bytes_all_or_nothing() {
        let q = Quotas::default();
        let mib = 1024 * 1024;
        let big = [(Kind::Import, 1), (Kind::ImportBytes, 20 * mib)];
        q.spend(1, &big, 0).unwrap();
        q.spend(1, &big, 0).unwrap();
        let refused = q.spend(1, &big, 0).unwrap_err();
        assert!(
            refused.message.contains("MiB of imported card text"),
            "{refused}"
        );
        // The refused import took no count: small imports still have all 28 left.
        for _ in 0..IMPORTS_PER_HOUR - 2 {
            q.spend(1, &[(Kind::Import, 1), (Kind::ImportBytes, 1)], 0)
                .unwrap();
        }
        let refused = q
            .spend(1, &[(Kind::Import, 1), (Kind::ImportBytes, 1)], 0)
            .unwrap_err();
        assert!(refused.message.contains("30 imports an hour"), "{refused}");
        // More than an hour's bytes at once can never pass, and says so.
        let huge = q
            .spend(2, &[(Kind::Import, 1), (Kind::ImportBytes, 51 * mib)], 0)
            .unwrap_err();
        assert!(
            huge.message.contains("more than an hour's allowance"),
            "{huge}"
        );
    }

    #[test]
    fn wrong_codes_are_counted_per_account_and_per_address_and_right_ones_given_back() {
        let q = Quotas::default();
        let home = ip("10.0.0.1");
        for _ in 0..WRONG_CODES_PER_ACCOUNT {
            let _wrong = q.begin_code(&Guesser::User(1), home, 0).unwrap();
        }
        assert!(q.begin_code(&Guesser::User(1), home, 0).is_err());
        // Another account at the same address is not stopped, and right codes cost nothing.
        for _ in 0..50 {
            let right = q.begin_code(&Guesser::User(2), home, 0).unwrap();
            q.code_was_right(right);
        }
        // The address's budget covers every account and typed name behind it.
        for i in 0..WRONG_CODES_PER_ADDRESS - WRONG_CODES_PER_ACCOUNT {
            let name = Guesser::Name(format!("user{}", i / 5));
            let _wrong = q.begin_code(&name, ip("10.0.0.1"), 0).unwrap();
        }
        let refused = q.begin_code(&Guesser::User(3), home, 0).unwrap_err();
        assert_eq!(refused.retry_after_secs, 3600 / WRONG_CODES_PER_ADDRESS);
        assert!(q.begin_code(&Guesser::User(3), ip("10.0.0.2"), 0).is_ok());
    }
}
