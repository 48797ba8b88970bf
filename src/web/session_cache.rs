//! A short-lived in-process cache of session lookups. Every page needs the session's user;
//! without the cache that is one more database round trip per request, the largest single
//! cost left on the review page. Entries live a few seconds at most, and every change this
//! server makes to a session or to what it caches (logout, password, preferences) drops the
//! user's entries at once, so the cache never outlives a change made through this server.

use super::extract::CurrentUser;
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

/// Session token hash -> user.
#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<Vec<u8>, Entry>>,
    /// Off where other app servers share the store: a logout or a password change made
    /// through one of them must end the session on all of them at once, and this server
    /// would not hear of it, so every request reads the session from the store.
    off: bool,
}

impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionCache")
    }
}

impl SessionCache {
    /// A cache for a store this server may share with others: it keeps nothing.
    pub fn off() -> Self {
        Self {
            entries: Mutex::default(),
            off: true,
        }
    }

    /// The cached user of a token hash at `now`, if fresh and the session unexpired.
    pub fn get(&self, token_hash: &[u8], now: i64) -> Option<CurrentUser> {
        if self.off {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(token_hash)
            .filter(|e| now < e.expires_at && now - e.cached_at < TTL_SECS && now >= e.cached_at)
            .map(|e| e.user.clone())
    }

    /// Remembers a lookup.
    pub fn put(&self, token_hash: Vec<u8>, user: CurrentUser, expires_at: i64, now: i64) {
        if self.off {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
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
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Forgets every session of a user (after logout, a password or preference change).
    pub fn forget_user(&self, user_id: i64) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, e| e.user.id != user_id);
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
