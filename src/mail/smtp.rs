//! The SMTP transport: `lettre`'s SMTP client over a connection per message (no pool: a send
//! cut off at its timeout would have put a connection back mid-exchange), over rustls when the
//! operator asks for STARTTLS or TLS from the first byte; without TLS over a socket of our own
//! with `TCP_NODELAY` (see [`Smtp`]). Each step of the exchange is ours, so a refusal counts as
//! permanent only where it is about the message (`RCPT TO`, the reply after the data): a
//! refused greeting, login or sender is the configuration's fault, and is retried.

use super::{MailSettings, Outgoing, SendError, Tls, Transport};
use futures_util::future::BoxFuture;
use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use secrecy::ExposeSecret;
use std::time::Duration;

/// How long connecting may take; twice this, the exchange up to the server's reply to the data
/// (the sender's own timeout, `jobs::mail::SEND_TIMEOUT`, bounds the whole send).
const TIMEOUT: Duration = Duration::from_secs(30);
/// How long the goodbye may take once the message is accepted (its outcome changes nothing).
const QUIT_TIMEOUT: Duration = Duration::from_secs(2);

/// Sends through the operator's SMTP server, a connection per message. Without TLS (a relay
/// on this machine) the socket is ours, with `TCP_NODELAY`: `lettre` writes a message's body
/// and its closing `.` in two writes before it reads, and with Nagle's algorithm on the second
/// waits for the server's delayed acknowledgement of the first, 40 ms on Linux: on a relay
/// close by that was most of every send (aiosmtpd on the loopback: 19 messages a second, and
/// 260 with `TCP_NODELAY`, in a replay of the exchange). With TLS `lettre` connects (its
/// connection has no switch for `TCP_NODELAY`, and it upgrades only sockets it made).
pub struct Smtp {
    from: Mailbox,
    host: String,
    port: u16,
    tls: Tls,
    credentials: Option<Credentials>,
    /// The operator's extra certificate authorities (`smtp_ca_file`), as PEM, read at start.
    extra_roots: Option<Vec<u8>>,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl Smtp {
    /// A transport for `settings` (connects for each message).
    pub fn new(settings: &MailSettings) -> anyhow::Result<Self> {
        let credentials = settings.user.as_ref().map(|user| {
            let password = settings
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_owned())
                .unwrap_or_default();
            Credentials::new(user.clone(), password)
        });
        let extra_roots = match &settings.ca_file {
            Some(file) => {
                let pem = std::fs::read(file).map_err(|e| {
                    anyhow::anyhow!("smtp_ca_file: cannot read {}: {e}", file.display())
                })?;
                if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                    anyhow::bail!(
                        "smtp_ca_file: {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                        file.display()
                    );
                }
                // A file that holds no certificate rustls can use fails here, naming it.
                Certificate::from_pem(&pem)
                    .and_then(|ca| {
                        TlsParameters::builder(settings.host.clone())
                            .add_root_certificate(ca)
                            .build()
                    })
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "smtp_ca_file: {} holds no certificate that can be used: {e}",
                            file.display()
                        )
                    })?;
                Some(pem)
            }
            None => None,
        };
        let smtp = Self {
            from: settings.from.parse()?,
            host: settings.host.clone(),
            port: settings.port,
            tls: settings.tls,
            credentials,
            extra_roots,
        };
        if !matches!(settings.tls, Tls::None) {
            // A bad host name for the certificate, or a bad authority file, shows at start-up,
            // not at the first send.
            smtp.tls_parameters()
                .map_err(|e| anyhow::anyhow!("the SMTP TLS settings: {e}"))?;
        }
        Ok(smtp)
    }

    /// The TLS settings: the public authorities (Mozilla's, built in) and the operator's.
    fn tls_parameters(&self) -> Result<TlsParameters, lettre::transport::smtp::Error> {
        let mut builder = TlsParameters::builder(self.host.clone());
        if let Some(pem) = &self.extra_roots {
            builder = builder.add_root_certificate(Certificate::from_pem(pem)?);
        }
        builder.build()
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
        .date(
            std::time::UNIX_EPOCH
                + std::time::Duration::from_millis(
                    u64::try_from(message.written_at.as_millisecond()).unwrap_or(0),
                ),
        )
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

/// A failure to retry later, whatever the server said.
fn transient(context: &str, e: &lettre::transport::smtp::Error) -> SendError {
    SendError {
        permanent: false,
        message: format!("{context}: {e}"),
    }
}

/// A failure of the connection or its TLS handshake, retried; a server certificate signed by
/// an authority not trusted says what to do about it.
fn tls_failure(context: &str, e: &lettre::transport::smtp::Error) -> SendError {
    let mut chain = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !chain.contains(&text) {
            chain = format!("{chain}: {text}");
        }
        source = cause.source();
    }
    SendError {
        permanent: false,
        message: certificate_message(context, &chain),
    }
}

/// The words for a failed connection whose errors read `chain`: an unknown authority gets the
/// advice of `STUDYHALL_SMTP_CA_FILE`; another certificate error (a name it does not hold, an
/// expired one) says what it is, as the TLS library put it.
fn certificate_message(context: &str, chain: &str) -> String {
    let folded = chain.to_lowercase().replace([' ', '_'], "");
    if folded.contains("unknownissuer") {
        format!(
            "{context}: the mail server's certificate is not trusted ({chain}); if an \
             authority of your own signed it, give its certificate in STUDYHALL_SMTP_CA_FILE"
        )
    } else if folded.contains("certificate") {
        format!("{context}: the mail server's certificate was refused ({chain})")
    } else {
        format!("{context}: {chain}")
    }
}

/// A failure that is about this message: final when the server said so (a 5xx reply).
fn about_message(context: &str, e: &lettre::transport::smtp::Error) -> SendError {
    SendError {
        permanent: e.is_permanent(),
        message: format!("{context}: {e}"),
    }
}

impl Smtp {
    /// Connects (TLS as configured), says hello and logs in, within [`TIMEOUT`].
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let hello = ClientId::default();
        let timed_out = || SendError {
            permanent: false,
            message: "connecting to the mail server timed out".to_owned(),
        };
        let tls = || {
            self.tls_parameters()
                .map_err(|e| transient("the TLS settings are not valid", &e))
        };
        let mut conn = match self.tls {
            Tls::None => {
                let stream = tokio::time::timeout(
                    TIMEOUT,
                    tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
                )
                .await
                .map_err(|_| timed_out())?
                .map_err(|e| SendError {
                    permanent: false,
                    message: format!("connecting to the mail server failed: {e}"),
                })?;
                stream.set_nodelay(true).map_err(|e| SendError {
                    permanent: false,
                    message: format!("setting TCP_NODELAY failed: {e}"),
                })?;
                AsyncSmtpConnection::connect_with_transport(Box::new(stream), &hello)
                    .await
                    .map_err(|e| transient("the mail server's greeting", &e))?
            }
            Tls::Starttls | Tls::Tls => {
                let wrapped = matches!(self.tls, Tls::Tls).then(tls).transpose()?;
                AsyncSmtpConnection::connect_tokio1(
                    (self.host.as_str(), self.port),
                    Some(TIMEOUT),
                    &hello,
                    wrapped,
                    None,
                )
                .await
                .map_err(|e| tls_failure("connecting to the mail server failed", &e))?
            }
        };
        if matches!(self.tls, Tls::Starttls) {
            conn.starttls(tls()?, &hello)
                .await
                .map_err(|e| tls_failure("STARTTLS failed", &e))?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials)
                .await
                .map_err(|e| transient("the mail server refused the login", &e))?;
        }
        Ok(conn)
    }

    /// `MAIL FROM`, `RCPT TO`, `DATA` and the message (as `lettre`'s `send`, with each
    /// refusal judged by its step).
    async fn deliver(conn: &mut AsyncSmtpConnection, built: &Message) -> Result<(), SendError> {
        let envelope = built.envelope();
        let email = built.formatted();
        let mut options = Vec::new();
        let non_ascii = envelope
            .from()
            .into_iter()
            .chain(envelope.to())
            .any(|a: &lettre::Address| !AsRef::<str>::as_ref(a).is_ascii());
        if non_ascii {
            if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
                return Err(SendError {
                    permanent: true,
                    message: "the address is not ASCII and the mail server lacks SMTPUTF8"
                        .to_owned(),
                });
            }
            options.push(MailParameter::SmtpUtfEight);
        }
        if !email.is_ascii() {
            if !conn.server_info().supports_feature(Extension::EightBitMime) {
                return Err(SendError {
                    permanent: false,
                    message: "the mail server lacks 8BITMIME".to_owned(),
                });
            }
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        conn.command(Mail::new(envelope.from().cloned(), options))
            .await
            .map_err(|e| transient("the mail server refused the sender", &e))?;
        for to in envelope.to() {
            conn.command(Rcpt::new(to.clone(), vec![]))
                .await
                .map_err(|e| about_message("the mail server refused the recipient", &e))?;
        }
        conn.command(Data)
            .await
            .map_err(|e| transient("the mail server refused DATA", &e))?;
        conn.message(&email)
            .await
            .map_err(|e| about_message("the mail server refused the message", &e))?;
        Ok(())
    }

    /// Sends `built` over a new connection: connecting and the exchange up to the reply to the
    /// data within twice [`TIMEOUT`] (`lettre`'s own timeout bounds only the connect), then
    /// QUIT within [`QUIT_TIMEOUT`], its outcome ignored: once the data is accepted the
    /// message is delivered, and a server that stalls after its 250 must not make it a
    /// retried one.
    async fn send_built(&self, built: &Message) -> Result<(), SendError> {
        let exchange = async {
            let mut conn = self.connect().await?;
            Self::deliver(&mut conn, built).await?;
            Ok::<_, SendError>(conn)
        };
        let mut conn = tokio::time::timeout(TIMEOUT * 2, exchange)
            .await
            .map_err(|_| SendError {
                permanent: false,
                message: "the mail server did not answer in time".to_owned(),
            })??;
        let _ = tokio::time::timeout(QUIT_TIMEOUT, conn.quit()).await;
        Ok(())
    }
}

impl Transport for Smtp {
    fn send<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let built = build(&self.from, message)?;
            self.send_built(&built).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::CertificateError;

    fn said(error: CertificateError) -> String {
        certificate_message(
            "connecting",
            &rustls::Error::InvalidCertificate(error).to_string(),
        )
    }

    #[test]
    fn only_an_unknown_authority_gets_the_ca_file_advice() {
        let unknown = said(CertificateError::UnknownIssuer);
        assert!(unknown.contains("STUDYHALL_SMTP_CA_FILE"), "{unknown}");
        for other in [CertificateError::Expired, CertificateError::NotValidForName] {
            let text = said(other);
            assert!(!text.contains("STUDYHALL_SMTP_CA_FILE"), "{text}");
            assert!(text.contains("certificate was refused"), "{text}");
        }
        let expired = said(CertificateError::Expired);
        assert!(expired.contains("Expired"), "{expired}");
        assert_eq!(
            certificate_message("connecting", "connection refused"),
            "connecting: connection refused"
        );
    }

    #[test]
    fn a_corrupt_ca_file_names_the_setting_and_the_file() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            file.path(),
            "-----BEGIN CERTIFICATE-----\nMIIBnotacertificate==\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        for tls in [Tls::None, Tls::Tls] {
            let settings = crate::mail::MailSettings {
                host: "mail.example.org".to_owned(),
                port: 465,
                tls,
                user: None,
                password: None,
                from: "studyhall <noreply@example.org>".to_owned(),
                public_url: "https://studyhall.example.org".to_owned(),
                ca_file: Some(file.path().to_owned()),
            };
            let Err(error) = Smtp::new(&settings) else {
                panic!("a corrupt CA file was taken");
            };
            let error = error.to_string();
            assert!(error.starts_with("smtp_ca_file: "), "{error}");
            assert!(
                error.contains(&file.path().display().to_string()),
                "{error}"
            );
        }
    }
}
