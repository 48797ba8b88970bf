//! The SMTP transport: `lettre` over rustls (STARTTLS or TLS from the first byte, as the
//! operator says), one connection pool per server.

use super::{MailSettings, Outgoing, SendError, Tls, Transport};
use futures_util::future::BoxFuture;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use std::time::Duration;

/// How long one exchange with the SMTP server may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Sends through the operator's SMTP server.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl Smtp {
    /// A transport for `settings` (connects on first use).
    pub fn new(settings: &MailSettings) -> anyhow::Result<Self> {
        let builder = match settings.tls {
            Tls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host),
            Tls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)?,
            Tls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host)?,
        };
        let mut builder = builder.port(settings.port).timeout(Some(TIMEOUT));
        if let Some(user) = &settings.user {
            let password = settings
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Self {
            transport: builder.build(),
            from: settings.from.parse()?,
        })
    }
}

/// The message `lettre` sends: text and HTML alternatives, and the RFC 8058 headers when it
/// can be unsubscribed from.
pub fn build(from: &Mailbox, message: &Outgoing) -> Result<Message, SendError> {
    let permanent = |message: String| SendError {
        permanent: true,
        message,
    };
    let to: Mailbox = message
        .to
        .parse()
        .map_err(|e| permanent(format!("the address is not valid: {e}")))?;
    let mut built = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(message.subject.clone())
        .message_id(Some(message.message_id.clone()))
        .multipart(MultiPart::alternative_plain_html(
            message.text.clone(),
            message.html.clone(),
        ))
        .map_err(|e| permanent(format!("the message could not be built: {e}")))?;
    if let Some(url) = &message.unsubscribe_url {
        if url.contains(['\r', '\n', '>']) {
            return Err(permanent("a malformed unsubscribe link".to_owned()));
        }
        let headers = built.headers_mut();
        headers.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{url}>"),
        ));
        headers.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".to_owned(),
        ));
    }
    Ok(built)
}

impl Transport for Smtp {
    fn send<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let built = build(&self.from, message)?;
            self.transport
                .send(built)
                .await
                .map(|_| ())
                .map_err(|e| SendError {
                    permanent: e.is_permanent(),
                    message: e.to_string(),
                })
        })
    }
}
