//! The operator's mail settings: `STUDYHALL_SMTP_HOST`, `_PORT`, `_TLS` (`none`, `starttls`,
//! `tls`), `_USER`, `_PASSWORD` (a secret, never printed), `_FROM`, `_CA_FILE` (an extra
//! certificate authority to trust, for a server whose certificate no public one signed), and
//! `STUDYHALL_PUBLIC_URL` for the links in messages. Without a host, mail is off and every mail feature is hidden.

use secrecy::SecretString;
use std::fmt;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// Plain text (a relay on the same machine, or the tests' server).
    None,
    /// Plain, then upgraded with STARTTLS (port 587), which must succeed.
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl Tls {
    fn name(self) -> &'static str {
        match self {
            Tls::None => "none",
            Tls::Starttls => "starttls",
            Tls::Tls => "tls",
        }
    }
}

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// The SMTP server's host name.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// How the connection is protected.
    pub tls: Tls,
    /// The login, if the server wants one.
    pub user: Option<String>,
    /// Its password.
    pub password: Option<SecretString>,
    /// The sender, as the `From` header shows it (`studyhall <noreply@example.org>`).
    pub from: String,
    /// The site's address as students reach it, for links (no trailing slash).
    pub public_url: String,
    /// A PEM file of certificate authorities trusted besides the public ones (Mozilla's, built
    /// in), for an SMTP server whose certificate an organisation's own authority signed.
    pub ca_file: Option<std::path::PathBuf>,
}

/// The settings file's keys of mail (top level, beside `public_url`), each also read from its
/// variable: `STUDYHALL_SMTP_HOST` and so on (`config::env_name`).
pub const KEYS: &[&str] = &[
    "smtp_host",
    "smtp_port",
    "smtp_tls",
    "smtp_user",
    "smtp_password",
    "smtp_from",
    "smtp_ca_file",
];

/// The layers' raw values, as the merged layers hold them (`config.rs` merges the layers and
/// hands over these keys; [`MailLayer::check`] reads them).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailLayer {
    /// `smtp_host`.
    pub smtp_host: Option<String>,
    /// `smtp_port`.
    pub smtp_port: Option<String>,
    /// `smtp_tls`.
    pub smtp_tls: Option<String>,
    /// `smtp_user`.
    pub smtp_user: Option<String>,
    /// `smtp_password`.
    pub smtp_password: Option<SecretString>,
    /// `smtp_from`.
    pub smtp_from: Option<String>,
    /// `smtp_ca_file`.
    pub smtp_ca_file: Option<String>,
    /// `public_url` (a top-level setting that sign-on reads too: set by `config.rs`).
    #[serde(skip)]
    pub public_url: Option<String>,
}

impl MailLayer {
    /// Takes the mail keys ([`KEYS`]) out of the merged layers' table and reads them.
    pub fn take_from(
        table: &mut config::Map<String, config::Value>,
        public_url: &str,
    ) -> Result<Self, config::ConfigError> {
        let mine: config::Map<String, config::Value> = KEYS
            .iter()
            .filter_map(|key| Some(((*key).to_owned(), table.remove(*key)?)))
            .collect();
        let mut layer: Self = config::Value::new(None, mine).try_deserialize()?;
        layer.public_url = Some(public_url.to_owned());
        Ok(layer)
    }

    /// The settings, None without a host; an error names its key.
    pub fn check(self) -> Result<Option<MailSettings>, (&'static str, String)> {
        let Some(host) = self.smtp_host.filter(|h| !h.trim().is_empty()) else {
            return Ok(None);
        };
        let host = host.trim().to_owned();
        if host
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
        {
            return Err(("smtp_host", "must be a host name or address".to_owned()));
        }
        let tls = match self.smtp_tls.as_deref().map(str::trim) {
            None | Some("starttls") => Tls::Starttls,
            Some("tls") => Tls::Tls,
            Some("none") => Tls::None,
            Some(other) => {
                return Err((
                    "smtp_tls",
                    format!("\"{other}\" is not one of none, starttls, tls"),
                ));
            }
        };
        let port = match self.smtp_port.as_deref().map(str::trim) {
            None => match tls {
                Tls::None => 25,
                Tls::Starttls => 587,
                Tls::Tls => 465,
            },
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or(("smtp_port", "must be a port number, 1 to 65535".to_owned()))?,
        };
        // A login over a plain connection would send the password in the clear to anyone on
        // the path: only to this machine (a relay on localhost) without TLS.
        let has_login = self.smtp_user.as_deref().is_some_and(|u| !u.is_empty());
        if tls == Tls::None && has_login && !is_loopback(&host) {
            return Err((
                "smtp_tls",
                "is none, which would send smtp_user's password in the clear: use starttls or \
                 tls (none only to a relay on this machine)"
                    .to_owned(),
            ));
        }
        let from = self
            .smtp_from
            .map(|f| f.trim().to_owned())
            .filter(|f| !f.is_empty())
            .ok_or((
                "smtp_from",
                "is needed with smtp_host: the sender's address".to_owned(),
            ))?;
        if from.parse::<lettre::message::Mailbox>().is_err() || from.contains(['\r', '\n']) {
            return Err((
                "smtp_from",
                "must be an address such as studyhall <noreply@example.org>".to_owned(),
            ));
        }
        let public_url = self
            .public_url
            .map(|u| u.trim().trim_end_matches('/').to_owned())
            .filter(|u| !u.is_empty())
            .ok_or((
                "public_url",
                "is needed with smtp_host: the site's address for the links in messages".to_owned(),
            ))?;
        match url::Url::parse(&public_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => {
                return Err((
                    "public_url",
                    "must be an http or https address such as https://study.example.org".to_owned(),
                ));
            }
        }
        let ca_file = self
            .smtp_ca_file
            .map(|f| f.trim().to_owned())
            .filter(|f| !f.is_empty())
            .map(std::path::PathBuf::from);
        if ca_file.is_some() && tls == Tls::None {
            return Err((
                "smtp_ca_file",
                "is for TLS: set smtp_tls to starttls or tls".to_owned(),
            ));
        }
        Ok(Some(MailSettings {
            host,
            port,
            tls,
            user: self.smtp_user.filter(|u| !u.is_empty()),
            password: self.smtp_password,
            from,
            public_url,
            ca_file,
        }))
    }
}

/// The lines `studyhall settings` prints (the password masked).
impl fmt::Display for MailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "smtp_host = {:?}", self.host)?;
        writeln!(f, "smtp_port = \"{}\"", self.port)?;
        writeln!(f, "smtp_tls = {:?}", self.tls.name())?;
        if let Some(user) = &self.user {
            writeln!(f, "smtp_user = {user:?}")?;
        }
        if self.password.is_some() {
            writeln!(f, "# smtp_password: set, and never printed")?;
        }
        // `public_url` is printed with the top-level keys (sign-on reads it too).
        writeln!(f, "smtp_from = {:?}", self.from)?;
        if let Some(file) = &self.ca_file {
            writeln!(f, "smtp_ca_file = {:?}", file.display().to_string())?;
        }
        Ok(())
    }
}

/// Whether `host` names this machine (`localhost` or a loopback address).
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(pairs: &[(&str, &str)]) -> MailLayer {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| (*v).to_owned())
        };
        MailLayer {
            smtp_host: get("smtp_host"),
            smtp_port: get("smtp_port"),
            smtp_tls: get("smtp_tls"),
            smtp_user: get("smtp_user"),
            smtp_password: get("smtp_password").map(SecretString::from),
            smtp_from: get("smtp_from"),
            smtp_ca_file: get("smtp_ca_file"),
            public_url: get("public_url"),
        }
    }

    #[test]
    fn no_host_is_no_mail_and_a_host_needs_a_sender_and_a_public_url() {
        assert!(layer(&[]).check().unwrap().is_none());
        let err = layer(&[("smtp_host", "mail.example.org")])
            .check()
            .unwrap_err();
        assert_eq!(err.0, "smtp_from");
        let err = layer(&[
            ("smtp_host", "mail.example.org"),
            ("smtp_from", "studyhall <noreply@example.org>"),
        ])
        .check()
        .unwrap_err();
        assert_eq!(err.0, "public_url");
        let ok = layer(&[
            ("smtp_host", "mail.example.org"),
            ("smtp_from", "studyhall <noreply@example.org>"),
            ("public_url", "https://study.example.org/"),
            ("smtp_password", "hunter22"),
            ("smtp_user", "studyhall"),
        ])
        .check()
        .unwrap()
        .unwrap();
        assert_eq!((ok.port, ok.tls), (587, Tls::Starttls));
        assert_eq!(ok.public_url, "https://study.example.org");
        for shown in [ok.to_string(), format!("{ok:?}")] {
            assert!(!shown.contains("hunter22"), "{shown}");
        }
    }

    #[test]
    fn a_bad_tls_port_or_sender_is_named() {
        let base = [
            ("smtp_host", "mail.example.org"),
            ("public_url", "https://study.example.org"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut all = base.to_vec();
            all.extend_from_slice(extra);
            layer(&all).check()
        };
        let from = ("smtp_from", "noreply@example.org");
        assert_eq!(
            with(&[from, ("smtp_tls", "ssl")]).unwrap_err().0,
            "smtp_tls"
        );
        assert_eq!(
            with(&[from, ("smtp_port", "0")]).unwrap_err().0,
            "smtp_port"
        );
        assert_eq!(
            with(&[("smtp_from", "a@b.org\r\nBcc: eve@example.org")])
                .unwrap_err()
                .0,
            "smtp_from"
        );
        let tls = with(&[from, ("smtp_tls", "tls")]).unwrap().unwrap();
        assert_eq!(tls.port, 465);
        assert_eq!(tls.ca_file, None);
        // An extra authority only with TLS.
        let ca = ("smtp_ca_file", "/etc/studyhall/smtp-ca.pem");
        assert_eq!(
            with(&[from, ("smtp_tls", "none"), ca]).unwrap_err().0,
            "smtp_ca_file"
        );
        assert!(with(&[from, ("smtp_tls", "starttls"), ca]).is_ok());
        // A login without TLS only to this machine.
        let plain_login = [from, ("smtp_tls", "none"), ("smtp_user", "studyhall")];
        assert_eq!(with(&plain_login).unwrap_err().0, "smtp_tls");
        assert!(with(&[from, ("smtp_tls", "none")]).unwrap().is_some());
        for host in ["127.0.0.1", "localhost", "::1"] {
            let mut local = plain_login.to_vec();
            local.push(("smtp_host", host));
            let mut all = vec![("public_url", "https://study.example.org")];
            all.extend(local);
            assert!(layer(&all).check().is_ok(), "{host}");
        }
    }

    /// Settings as `studyhall` loads them from `args` and the variables `vars`.
    fn load(
        args: &[&str],
        vars: &[(&str, &str)],
    ) -> Result<crate::config::Settings, crate::config::SettingsError> {
        use clap::Parser;
        let cli = crate::config::Cli::try_parse_from(args).expect("a command line");
        let env = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        crate::config::Settings::load_from(
            &cli,
            env,
            std::path::Path::new("/nonexistent/studyhall.toml"),
        )
    }

    fn settings_file(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::Builder::new()
            .suffix(".toml")
            .tempfile()
            .expect("a temporary file");
        std::fs::write(file.path(), text).expect("written");
        file
    }

    #[test]
    fn the_smtp_settings_come_from_their_variables_and_the_password_never_prints() {
        let vars = [
            ("STUDYHALL_SMTP_HOST", "smtp.example.org"),
            ("STUDYHALL_SMTP_PORT", "2525"),
            ("STUDYHALL_SMTP_TLS", "tls"),
            ("STUDYHALL_SMTP_USER", "studyhall"),
            ("STUDYHALL_SMTP_PASSWORD", "s3cret-smtp"),
            ("STUDYHALL_SMTP_FROM", "studyhall <noreply@example.org>"),
            ("STUDYHALL_PUBLIC_URL", "https://study.example.org/"),
            ("STUDYHALL_SMTP_CA_FILE", "/etc/studyhall/smtp-ca.pem"),
        ];
        let settings = load(&["studyhall"], &vars).expect("loads");
        let mail = settings.mail.as_ref().expect("mail is on");
        assert_eq!(
            mail.ca_file.as_deref(),
            Some(std::path::Path::new("/etc/studyhall/smtp-ca.pem"))
        );
        assert_eq!(
            (mail.host.as_str(), mail.port, mail.tls),
            ("smtp.example.org", 2525, Tls::Tls)
        );
        assert_eq!(mail.public_url, "https://study.example.org");
        for shown in [settings.to_string(), format!("{settings:?}")] {
            assert!(!shown.contains("s3cret-smtp"), "{shown}");
        }
        let file = settings_file(&settings.to_string());
        let path = file.path().to_str().expect("utf-8 path");
        let again = load(
            &["studyhall", "--config", path],
            &[("STUDYHALL_SMTP_PASSWORD", "s3cret-smtp")],
        )
        .expect("the printout loads");
        assert_eq!(again.to_string(), settings.to_string());
        assert!(load(&["studyhall"], &[]).expect("loads").mail.is_none());
        let error = load(
            &["studyhall"],
            &[("STUDYHALL_SMTP_HOST", "smtp.example.org")],
        )
        .expect_err("a host without a sender is refused")
        .to_string();
        assert!(error.contains("smtp_from"), "{error}");
    }

    #[test]
    fn mail_keys_are_read_by_the_mail_settings_as_a_file_spells_them_and_misspelt_ones_refused() {
        let file = settings_file(
            "public_url = \"https://study.example.org\"\nsmtp_host = \"smtp.example.org\"\n\
             smtp_port = 2525\nsmtp_from = \"noreply@example.org\"\n",
        );
        let path = file.path().to_str().expect("utf-8 path");
        let settings = load(&["studyhall", "--config", path], &[]).expect("loads");
        let mail = settings.mail.expect("mail is on");
        assert_eq!(mail.port, 2525, "a bare number in the file");
        let file = settings_file("smtp_hots = \"smtp.example.org\"\n");
        let path = file.path().to_str().expect("utf-8 path");
        let error = load(&["studyhall", "--config", path], &[])
            .expect_err("a misspelt mail key is refused")
            .to_string();
        assert!(error.contains("smtp_hots"), "{error}");
    }
}
