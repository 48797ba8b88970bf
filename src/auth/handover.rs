//! Temporary passwords on their way to the admin who reset them. The reset is a POST; the
//! password is shown on the page it redirects to (post/redirect/get), so reloading that page
//! cannot reset the password again. It is kept here, in memory only, under a random key in
//! that redirect, for that admin, once, for a few minutes: never in a URL, a log or the
//! database.

use std::collections::HashMap;
use std::sync::Mutex;

/// How long a temporary password waits to be shown.
const KEEP_SECS: i64 = 300;
/// Most waiting at once (a bound on memory).
const MAX_WAITING: usize = 1_000;

struct Waiting {
    admin_id: i64,
    username: String,
    password: String,
    expires_at: i64,
}

/// Temporary passwords waiting to be shown once.
#[derive(Default)]
pub struct Handover {
    waiting: Mutex<HashMap<String, Waiting>>,
}

impl std::fmt::Debug for Handover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Handover")
    }
}

impl Handover {
    /// Keeps `password` (of `username`) for `admin_id`; returns the key for the redirect.
    pub fn put(&self, admin_id: i64, username: String, password: String, now: i64) -> String {
        let key = super::session::random_token();
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        waiting.retain(|_, w| w.expires_at > now);
        if waiting.len() >= MAX_WAITING {
            waiting.clear();
        }
        waiting.insert(
            key.clone(),
            Waiting {
                admin_id,
                username,
                password,
                expires_at: now + KEEP_SECS,
            },
        );
        key
    }

    /// The (username, password) under `key` for `admin_id`, removed: a second look finds
    /// nothing, and neither does another admin.
    pub fn take(&self, key: &str, admin_id: i64, now: i64) -> Option<(String, String)> {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        match waiting.get(key) {
            Some(w) if w.admin_id == admin_id && w.expires_at > now => {
                waiting.remove(key).map(|w| (w.username, w.password))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_shown_once_to_its_admin_only_and_not_for_long() {
        let h = Handover::default();
        let key = h.put(1, "ada".into(), "secret".into(), 0);
        assert_eq!(h.take(&key, 2, 0), None, "another admin");
        assert_eq!(h.take(&key, 1, 0), Some(("ada".into(), "secret".into())));
        assert_eq!(h.take(&key, 1, 0), None, "only once");
        let key = h.put(1, "bob".into(), "secret".into(), 0);
        assert_eq!(h.take(&key, 1, KEEP_SECS), None, "expired");
    }
}
