//! A short-lived in-process cache of session lookups. Every page needs the session's user, its
//! rights and the decks it may see; without the cache that is one or two more statements per
//! request, the largest single cost left on the review page. Entries live a few seconds at
//! most, and every change to what they hold drops them at once:
//!
//! - On SQLite this server is the only writer, and the use cases tell it what went stale
//!   (`study::Stale`).
//! - On PostgreSQL other app servers write too: the database's triggers send a notice at the
//!   commit of every such change (`db::changes`), and a task of each server forgets what it
//!   names. While that listener is not connected the cache serves nothing, and a request that
//!   writes always reads its session from the database, so a logout through one server holds
//!   for every write on every server from its commit on (a page read in the milliseconds
//!   before the notice arrives may still show the old state; docs/security.md).
//!
//! A lookup is kept only if nothing was forgotten while it ran (a generation number taken
//! before the read), so a change that commits between the read and the insert is not
//! outlived by the entry it made stale.

use super::extract::CurrentUser;
use crate::db::changes::Change;
use std::collections::HashMap;
use std::sync::Mutex;

/// How long an entry may be reused.
pub const TTL_SECS: i64 = 5;
/// Entries kept before the cache is cleared (bounds memory).
const MAX_ENTRIES: usize = 50_000;

struct Entry {
    user: CurrentUser,
    expires_at: i64,
    cached_at: i64,
}

#[derive(Default)]
struct Entries {
    map: HashMap<Vec<u8>, Entry>,
    /// Counts forgetting; a lookup started before the latest one is not kept.
    generation: u64,
    /// Whether entries may be served: always for a store only this server writes; for a
    /// shared one, only while this server hears of every change.
    serving: bool,
}

/// Session token hash -> user.
pub struct SessionCache {
    entries: Mutex<Entries>,
    /// Other app servers write to the store too (PostgreSQL).
    shared: bool,
}

impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionCache")
    }
}

/// Taken before a lookup and handed back with it: the entry is kept only if nothing was
/// forgotten in between.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(Option<u64>);

impl SessionCache {
    /// A cache for a store only this server writes (SQLite).
    pub fn local() -> Self {
        Self {
            entries: Mutex::new(Entries {
                serving: true,
                ..Entries::default()
            }),
            shared: false,
        }
    }

    /// A cache for a store other servers write too: it serves nothing until it hears
    /// `Change::Listening`.
    pub fn shared() -> Self {
        Self {
            entries: Mutex::default(),
            shared: true,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a request of this kind may take its user from the cache: every request on a
    /// store only this server writes; on a shared store, only requests that change nothing
    /// (a write reads its session where the other servers' logouts already are).
    pub fn may_serve(&self, writes: bool) -> bool {
        !(writes && self.shared)
    }

    /// The cached user of a token hash at `now`, if fresh and the session unexpired.
    pub fn get(&self, token_hash: &[u8], now: i64) -> Option<CurrentUser> {
        let entries = self.lock();
        if !entries.serving {
            return None;
        }
        entries
            .map
            .get(token_hash)
            .filter(|e| now < e.expires_at && now - e.cached_at < TTL_SECS && now >= e.cached_at)
            .map(|e| e.user.clone())
    }

    /// To take before reading a session from the store.
    pub fn ticket(&self) -> Ticket {
        let entries = self.lock();
        Ticket(entries.serving.then_some(entries.generation))
    }

    /// Remembers a lookup made after `ticket`, unless something was forgotten since.
    pub fn put(
        &self,
        ticket: Ticket,
        token_hash: Vec<u8>,
        user: CurrentUser,
        expires_at: i64,
        now: i64,
    ) {
        let mut entries = self.lock();
        if ticket.0 != Some(entries.generation) || !entries.serving {
            return;
        }
        if entries.map.len() >= MAX_ENTRIES {
            entries.map.clear();
        }
        entries.map.insert(
            token_hash,
            Entry {
                user,
                expires_at,
                cached_at: now,
            },
        );
    }

    /// Forgets everything (after a change to which decks whole classes may see).
    pub fn forget_all(&self) {
        let mut entries = self.lock();
        entries.generation += 1;
        entries.map.clear();
    }

    /// Forgets every session of a user (after logout, a password or preference change).
    pub fn forget_user(&self, user_id: i64) {
        let mut entries = self.lock();
        entries.generation += 1;
        entries.map.retain(|_, e| e.user.id != user_id);
    }

    /// What the store's change notices say (`db::changes`, on a shared store).
    pub fn heard(&self, change: Change) {
        match change {
            Change::User(user_id) => self.forget_user(user_id),
            Change::Everyone => self.forget_all(),
            // A review page's data, not what a session holds.
            Change::Queue(_) | Change::Queues => {}
            Change::Lost | Change::Listening => {
                let mut entries = self.lock();
                entries.generation += 1;
                entries.map.clear();
                entries.serving = change == Change::Listening;
            }
        }
    }

    /// Forgets what the store's change notices name, for as long as this server runs, and
    /// has `queues` (the kept review queues) forget it too. Waits (a few seconds at most)
    /// until it listens, so a server starts with its caches serving.
    pub async fn follow(
        self: std::sync::Arc<Self>,
        mut changes: crate::db::changes::Listener,
        queues: std::sync::Arc<crate::study::review::QueueCache>,
    ) {
        let first = std::time::Duration::from_secs(3);
        if let Ok(change) = tokio::time::timeout(first, changes.next()).await {
            self.heard(change);
            queues.heard(change);
        }
        tokio::spawn(async move {
            loop {
                let change = changes.next().await;
                self.heard(change);
                queues.heard(change);
            }
        });
    }
}

/// The use cases (and the jobs they start) say what went stale; this cache drops it.
impl crate::study::Forget for SessionCache {
    fn forget(&self, stale: crate::study::Stale) {
        match stale {
            crate::study::Stale::User(user_id) => self.forget_user(user_id),
            crate::study::Stale::Everyone => self.forget_all(),
        }
    }
}
