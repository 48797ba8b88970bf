//! Notices of changes made by any app server sharing a PostgreSQL database: the triggers of
//! migration `postgres/0030` send one on channel `studyhall_stale` when something a cached
//! session holds changes (a logout, a role, a class joined, a deck assigned ...), delivered
//! when the change commits. Each server listens on a connection of its own and forgets what
//! the notice names, so its session cache holds across servers.
//!
//! Notices are not queued for a listener that is not connected: whoever reads these must
//! treat [`Change::Lost`] as "anything may have changed" and trust nothing cached until the
//! next [`Change::Listening`].

use sqlx::postgres::PgListener;
use std::time::Duration;

/// The channel the triggers notify on.
pub const CHANNEL: &str = "studyhall_stale";

/// What a notice (or the connection) says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Listening from now on: notices of every later commit will arrive.
    Listening,
    /// The connection is gone: notices of commits from now until the next `Listening` are
    /// lost.
    Lost,
    /// The sessions of this user went stale.
    User(i64),
    /// What whole classes see or how they are scheduled changed: every session is stale.
    Everyone,
    /// This student's schedules, history or card controls changed (migration
    /// `postgres/0041`): kept copies of their review page are stale, their sessions are not.
    Queue(i64),
    /// A card changed: every kept copy of a review page is stale.
    Queues,
}

impl Change {
    /// A notice's payload: a user id, or `*`; `q` and a user id, or `q*`, for review pages
    /// (anything unreadable counts as everyone).
    pub fn of_payload(payload: &str) -> Self {
        match payload.strip_prefix('q') {
            Some("*") => Self::Queues,
            Some(user) => user.parse().map_or(Self::Everyone, Self::Queue),
            None => payload.parse().map_or(Self::Everyone, Self::User),
        }
    }
}

/// A listener on the store's change notices that reconnects by itself.
pub struct Listener {
    url: secrecy::SecretString,
    connection: Option<PgListener>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Listener")
    }
}

/// Pause between attempts to reconnect.
const RETRY: Duration = Duration::from_millis(500);

impl Listener {
    /// A listener for the PostgreSQL database at `url` (not connected until [`Self::next`]).
    pub fn new(url: secrecy::SecretString) -> Self {
        Self {
            url,
            connection: None,
        }
    }

    /// The next change. The first call (and the first after a `Lost`) connects, retrying
    /// until it can, and answers `Listening`.
    pub async fn next(&mut self) -> Change {
        let Some(connection) = self.connection.as_mut() else {
            loop {
                match self.connect().await {
                    Ok(connection) => {
                        self.connection = Some(connection);
                        return Change::Listening;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot listen for changes; retrying");
                        tokio::time::sleep(RETRY).await;
                    }
                }
            }
        };
        match connection.try_recv().await {
            Ok(Some(notice)) => Change::of_payload(notice.payload()),
            Ok(None) | Err(_) => {
                self.connection = None;
                tracing::warn!("lost the connection that listens for changes");
                Change::Lost
            }
        }
    }

    async fn connect(&self) -> Result<PgListener, sqlx::Error> {
        use secrecy::ExposeSecret;
        let mut connection = PgListener::connect(self.url.expose_secret()).await?;
        connection.listen(CHANNEL).await?;
        Ok(connection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_names_a_user_or_everyone() {
        assert_eq!(Change::of_payload("42"), Change::User(42));
        assert_eq!(Change::of_payload("*"), Change::Everyone);
        assert_eq!(Change::of_payload(""), Change::Everyone);
        assert_eq!(Change::of_payload("q42"), Change::Queue(42));
        assert_eq!(Change::of_payload("q*"), Change::Queues);
        assert_eq!(Change::of_payload("qx"), Change::Everyone);
    }
}
