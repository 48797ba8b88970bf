//! Mail (issue 27): the operator's settings, the messages' words, and the SMTP transport
//! (`lettre`, over rustls). Use cases write messages into the outbox (`db::outbox`) in the
//! transaction of what causes them; the sender in `jobs::mail` sends them once across the app
//! servers.

pub mod compose;
pub mod settings;
pub mod smtp;

pub use settings::{MailSettings, Tls};

use futures_util::future::BoxFuture;

/// A message as it leaves: what the outbox row holds.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The recipient.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Plain text.
    pub text: String,
    /// HTML.
    pub html: String,
    /// The one-click unsubscribe link (RFC 8058), if the message can be stopped.
    pub unsubscribe_url: Option<String>,
    /// `Message-ID`, the same on every try.
    pub message_id: String,
    /// When the message was written (the outbox row's time, by the site's clock): its `Date`
    /// header, which RFC 5322 defines as when the message was ready to enter the mail system,
    /// the same on every try.
    pub written_at: jiff::Timestamp,
}

/// Why a send failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// A refusal that trying again will not change (a 5xx reply, a malformed address).
    pub permanent: bool,
    /// What happened.
    pub message: String,
}

/// What sends messages: SMTP in the server, a counter in tests.
pub trait Transport: Send + Sync + 'static {
    /// Sends `message`.
    fn send<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Result<(), SendError>>;
}

/// The site's mail as use cases see it: where links point, and how `Message-ID`s end.
#[derive(Debug, Clone)]
pub struct Site {
    /// The public address, without a trailing slash.
    pub public_url: String,
}

impl Site {
    /// The site for these settings.
    pub fn of(settings: &MailSettings) -> Self {
        Self {
            public_url: settings.public_url.clone(),
        }
    }

    /// A link to `path` (which starts with `/`).
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }

    /// A new `Message-ID`: random, at the site's host.
    pub fn message_id(&self) -> String {
        let host = url::Url::parse(&self.public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "studyhall.invalid".to_owned());
        format!("<{}@{host}>", hex::encode(rand::random::<[u8; 16]>()))
    }
}
