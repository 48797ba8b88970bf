//! The SMTP transport: `lettre` over rustls (STARTTLS or TLS from the first byte, as the
//! operator says), one connection pool per server; without TLS, a connection per message
//! with `TCP_NODELAY` (see `Plain`).

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
    /// Without TLS (a relay on this machine): connected here, with `TCP_NODELAY`.
    plain: Option<Plain>,
}

/// A server spoken to without TLS, over a connection of our own: `lettre` writes a message's
/// body and its closing `.` in two writes before it reads, and with Nagle's algorithm on (its
/// transport has no switch for it) the second waits for the server's delayed acknowledgement
/// of the first, 40 ms on Linux: on a relay close by that was most of every send (aiosmtpd on
/// the loopback: 19 messages a second, and 260 with `TCP_NODELAY`, in a replay of the
/// exchange). The TLS modes keep `lettre`'s transport (its rustls set-up and its pool).
struct Plain {
    host: String,
    port: u16,
    credentials: Option<Credentials>,
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
        let credentials = settings.user.as_ref().map(|user| {
            let password = settings
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_owned())
                .unwrap_or_default();
            Credentials::new(user.clone(), password)
        });
        if let Some(credentials) = &credentials {
            builder = builder.credentials(credentials.clone());
        }
        Ok(Self {
            transport: builder.build(),
            from: settings.from.parse()?,
            plain: matches!(settings.tls, Tls::None).then(|| Plain {
                host: settings.host.clone(),
                port: settings.port,
                credentials,
            }),
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

fn send_error(e: &lettre::transport::smtp::Error) -> SendError {
    SendError {
        permanent: e.is_permanent(),
        message: e.to_string(),
    }
}

impl Plain {
    /// Sends `built` over a new connection with `TCP_NODELAY`: connect within [`TIMEOUT`],
    /// then EHLO, login if configured, the message and QUIT within another.
    async fn send(&self, built: &Message) -> Result<(), SendError> {
        use lettre::transport::smtp::authentication::DEFAULT_MECHANISMS;
        use lettre::transport::smtp::client::AsyncSmtpConnection;
        use lettre::transport::smtp::extension::ClientId;
        let transient = |message: String| SendError {
            permanent: false,
            message,
        };
        let stream = tokio::time::timeout(
            TIMEOUT,
            tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| transient("connecting to the mail server timed out".to_owned()))?
        .map_err(|e| transient(format!("connecting to the mail server failed: {e}")))?;
        stream
            .set_nodelay(true)
            .map_err(|e| transient(format!("setting TCP_NODELAY failed: {e}")))?;
        let exchange = async {
            let mut conn =
                AsyncSmtpConnection::connect_with_transport(Box::new(stream), &ClientId::default())
                    .await
                    .map_err(|e| send_error(&e))?;
            if let Some(credentials) = &self.credentials {
                conn.auth(DEFAULT_MECHANISMS, credentials)
                    .await
                    .map_err(|e| send_error(&e))?;
            }
            conn.send(built.envelope(), &built.formatted())
                .await
                .map_err(|e| send_error(&e))?;
            // Sent: a failed goodbye changes nothing.
            let _ = conn.quit().await;
            Ok(())
        };
        tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| transient("the mail server did not answer in time".to_owned()))?
    }
}

impl Transport for Smtp {
    fn send<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let built = build(&self.from, message)?;
            if let Some(plain) = &self.plain {
                return plain.send(&built).await;
            }
            self.transport
                .send(built)
                .await
                .map(|_| ())
                .map_err(|e| send_error(&e))
        })
    }
}
