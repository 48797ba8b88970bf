//! Settings, in four layers, each overriding the one before: built-in defaults, a settings
//! file (TOML: `--config FILE`, `STUDYHALL_CONFIG`, or `studyhall.toml` in the working folder
//! when it exists), `STUDYHALL_*` environment variables (a section's key joined with `__`:
//! `STUDYHALL_POSTGRES__POOL_SIZE`), and command-line flags. The `config` crate merges the
//! layers; secrets (`postgres.password` today, a sign-on client secret and an SMTP password
//! later) are `secrecy` strings, so no `Debug`, log line or `studyhall settings` shows them,
//! and they belong in the file or the environment, never in a flag that `ps` shows.

use crate::clock::Clock;
use crate::db::{Location, PoolSizes};
use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::SecretString;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "studyhall",
    version,
    about = "A spaced-repetition study server for a class",
    after_help = "Every flag can also be set in the settings file or by its STUDYHALL_* variable \
                  (docs/operations.md lists them); `studyhall settings` prints what is in effect."
)]
pub struct Cli {
    /// A settings file (TOML). Without it, `studyhall.toml` in the working folder is read
    /// when it exists.
    #[arg(
        long = "config",
        env = "STUDYHALL_CONFIG",
        global = true,
        value_name = "FILE"
    )]
    pub config_file: Option<PathBuf>,

    /// Where the data lives: a SQLite file (created, with its folder, if missing; a `sqlite:`
    /// URL works too) or a `postgres://user@host/db` URL [default: data/studyhall.db].
    #[arg(long, global = true, value_name = "FILE|URL")]
    pub database: Option<String>,

    /// Server options (also accepted after `serve`).
    #[command(flatten)]
    pub serve: ServeArgs,

    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default).
    Serve,
    /// Import a deck file (Quizwiz/Quizlet export, TSV or CSV) into a deck, creating it.
    Import {
        /// The file to read.
        file: PathBuf,
        /// The deck to import into; created if missing.
        #[arg(long)]
        deck: String,
        /// The file's format; guessed from its name and first line when `auto`.
        #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
        format: FormatArg,
    },
    /// Write a consistent copy of the database to FILE, also while the server runs.
    Backup {
        /// The copy to write; must not exist yet.
        file: PathBuf,
    },
    /// Copy this SQLite site (users, sessions, decks, cards, classes, the whole history) into
    /// an empty PostgreSQL database, checking every table's row count.
    MigrateTo {
        /// The target, `postgres://user@host/db`; its database must exist and be empty.
        target: Location,
    },
    /// Create an admin account; the password is read from standard input.
    CreateAdmin {
        /// The new admin's username.
        name: String,
    },
    /// Print the settings in effect (defaults, file, environment and flags merged), secrets
    /// masked.
    Settings,
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Guess from the file name and first line.
    Auto,
    /// Quizwiz/Quizlet page export.
    Quizwiz,
    /// term<TAB>definition lines.
    Tsv,
    /// CSV with a front,back header.
    Csv,
}

/// Options of the server. None has a default here: a flag given overrides the layers below
/// it, a flag left out leaves them be (the defaults live in [`DEFAULTS`]).
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Address and port to listen on [default: 127.0.0.1:8080].
    #[arg(long, global = true, value_name = "ADDR")]
    pub bind: Option<String>,

    /// Whether anyone may create an account at /register [default: open].
    #[arg(long, value_enum, global = true)]
    pub registration: Option<Registration>,

    /// The longest interval SM-2 may schedule, in days [default: 36500].
    #[arg(long, global = true, value_name = "N")]
    pub max_interval_days: Option<u32>,

    /// Mark the session cookie Secure (set this when serving over https).
    #[arg(long, global = true)]
    pub secure_cookies: bool,

    /// The server runs behind one reverse proxy that appends each client's address to
    /// X-Forwarded-For: throttles count that address. Without it the header is ignored, since
    /// anyone can send it.
    #[arg(long, global = true)]
    pub behind_proxy: bool,

    /// How long a client has to send a connection's first request line and headers
    /// (`10s`, `1m`; at least 1s); it is answered 408 and closed after that [default: 10s].
    #[arg(long, global = true, value_name = "T")]
    pub header_timeout: Option<String>,

    /// How long an idle connection is kept open after a response, waiting for its next
    /// request (at least 1s) [default: 15s].
    #[arg(long, global = true, value_name = "T")]
    pub keep_alive_timeout: Option<String>,

    /// The longest pause allowed between two pieces of a request body; a body that stops
    /// arriving is answered 408 and its connection closed [default: 15s].
    #[arg(long, global = true, value_name = "T")]
    pub body_idle_timeout: Option<String>,

    /// How long a whole request body may take to arrive (a 2 MiB deck file needs about a
    /// minute at 300 kbit/s) [default: 60s].
    #[arg(long, global = true, value_name = "T")]
    pub body_timeout: Option<String>,

    /// How long a connection being closed may linger for the client to read the last response
    /// and hang up (at least 1s) [default: 2s].
    #[arg(long, global = true, value_name = "T")]
    pub disconnect_timeout: Option<String>,

    /// The most connections open at once, over all workers; lowered at start to fit the
    /// process's open-file limit with room left for the database and uploads [default: 4096].
    #[arg(long, global = true, value_name = "N")]
    pub max_connections: Option<u32>,
}

/// The defaults, as a settings file would spell them: the bottom layer.
pub const DEFAULTS: &str = r#"
bind = "127.0.0.1:8080"
database = "data/studyhall.db"
registration = "open"
max_interval_days = 36500
secure_cookies = false
behind_proxy = false
header_timeout = "10s"
keep_alive_timeout = "15s"
body_idle_timeout = "15s"
body_timeout = "60s"
disconnect_timeout = "2s"
max_connections = 4096
public_url = ""
local_login = "on"

[postgres]
pool_size = 16

[sqlite]
readers = 8
"#;

/// Every key a layer may set, as `section.key`; each is also read from the environment
/// variable `STUDYHALL_` + the key in capitals with `.` as `__`.
const KEYS: &[&str] = &[
    "bind",
    "database",
    "registration",
    "max_interval_days",
    "secure_cookies",
    "behind_proxy",
    "header_timeout",
    "keep_alive_timeout",
    "body_idle_timeout",
    "body_timeout",
    "disconnect_timeout",
    "max_connections",
    "public_url",
    "local_login",
    "postgres.pool_size",
    "postgres.password",
    "sqlite.readers",
];

/// Older names of variables, still read when the new one is not set.
const ENV_ALIASES: &[(&str, &str)] = &[("STUDYHALL_POOL_SIZE", "postgres.pool_size")];

/// The environment variable for a key.
pub fn env_name(key: &str) -> String {
    format!("STUDYHALL_{}", key.replace('.', "__").to_ascii_uppercase())
}

/// The merged layers, as read (before checks).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Layered {
    bind: String,
    database: String,
    registration: Registration,
    max_interval_days: u32,
    secure_cookies: bool,
    behind_proxy: bool,
    header_timeout: DurationText,
    keep_alive_timeout: DurationText,
    body_idle_timeout: DurationText,
    body_timeout: DurationText,
    disconnect_timeout: DurationText,
    max_connections: u32,
    public_url: String,
    local_login: String,
    postgres: PostgresLayer,
    sqlite: SqliteLayer,
    #[serde(default)]
    oidc: crate::auth::oidc::settings::OidcLayer,
    /// Mail's keys, taken out of the merged table before the rest is read
    /// (`src/mail/settings.rs`).
    #[serde(skip)]
    mail: crate::mail::settings::MailLayer,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PostgresLayer {
    pool_size: u32,
    /// Merged into the database URL, so the URL on a command line need not carry it.
    password: Option<SecretString>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SqliteLayer {
    readers: u32,
}

/// A duration as a layer spells it: `"10s"`, or a bare number of seconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DurationText {
    Seconds(u64),
    Text(String),
}

impl DurationText {
    fn read(&self, key: &str) -> Result<Duration, SettingsError> {
        let text = match self {
            Self::Seconds(n) => n.to_string(),
            Self::Text(t) => t.clone(),
        };
        parse_duration(&text).map_err(|message| SettingsError::Invalid {
            key: key.to_owned(),
            message,
        })
    }
}

/// Why the settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A layer could not be read or merged (a missing or malformed file, a key of the wrong
    /// type, an unknown key).
    #[error("reading the settings: {0}")]
    Read(#[from] config::ConfigError),
    /// A value out of its range.
    #[error("setting {key}: {message}")]
    Invalid {
        /// The key, as the file spells it.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// A duration from the command line: a whole number followed by `ms`, `s` or `m` (seconds when
/// no unit is given).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("\"{text}\" is not a duration such as 500ms, 10s or 1m"))?;
    let duration = match unit.trim() {
        "ms" => Duration::from_millis(number),
        "" | "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        other => return Err(format!("unknown unit \"{other}\"; use ms, s or m")),
    };
    if duration.is_zero() {
        return Err("a timeout must be longer than zero".to_owned());
    }
    Ok(duration)
}

/// How long the server waits for each part of a request and for idle connections; every one
/// of them is what keeps a slow or silent client from holding a connection open for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// For a connection's first request line and headers (the HTTP server's `client_request_timeout`).
    pub header: Duration,
    /// For the next request on an idle kept-alive connection.
    pub keep_alive: Duration,
    /// Between two pieces of a request body.
    pub body_idle: Duration,
    /// For a whole request body.
    pub body: Duration,
    /// For a closing connection to be hung up by its client.
    pub disconnect: Duration,
}

/// The shortest header, keep-alive and disconnect timeout. The HTTP server computes their
/// deadlines from a clock it updates every 500 ms, and a deadline already past when its timer
/// is armed never wakes the connection: a 300 ms timeout could hold a silent connection for
/// ever.
pub const MIN_SERVER_TIMEOUT: Duration = Duration::from_secs(1);

impl Timeouts {
    /// These timeouts with the HTTP server's three raised to [`MIN_SERVER_TIMEOUT`] (the
    /// body's are kept by studyhall's own timers, which are exact).
    pub fn with_server_floor(self) -> Self {
        Self {
            header: self.header.max(MIN_SERVER_TIMEOUT),
            keep_alive: self.keep_alive.max(MIN_SERVER_TIMEOUT),
            disconnect: self.disconnect.max(MIN_SERVER_TIMEOUT),
            ..self
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            header: Duration::from_secs(10),
            keep_alive: Duration::from_secs(15),
            body_idle: Duration::from_secs(15),
            body: Duration::from_secs(60),
            disconnect: Duration::from_secs(2),
        }
    }
}

/// The default of `--max-connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// Whether /register is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    /// Anyone may register.
    Open,
    /// Only admins create accounts (`studyhall create-admin`).
    Closed,
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `host:port`; port 0 picks a free one.
    pub bind: String,
    /// The store: a SQLite file or a PostgreSQL URL (its password masked when shown).
    pub database: Location,
    /// Connections the store keeps.
    pub pool_sizes: PoolSizes,
    /// Whether /register is open.
    pub registration: Registration,
    /// The SM-2 interval cap.
    pub max_interval_days: u32,
    /// Whether cookies get the Secure flag.
    pub secure_cookies: bool,
    /// Whether to take the client's address from the proxy's X-Forwarded-For.
    pub behind_proxy: bool,
    /// Where "now" comes from.
    pub clock: Clock,
    /// How long slow and idle clients are waited for.
    pub timeouts: Timeouts,
    /// The most connections open at once (lowered to fit the open-file limit).
    pub max_connections: usize,
    /// Sign-on: the public URL, local passwords on or off, the OpenID Connect providers.
    pub sign_on: crate::auth::oidc::settings::SignOn,
    /// Where mail goes (None: no SMTP server, every mail feature hidden).
    pub mail: Option<crate::mail::MailSettings>,
}

/// The settings file read when none is named.
pub const DEFAULT_FILE: &str = "studyhall.toml";

impl Settings {
    /// The settings in effect for this command line, in this process's environment.
    pub fn load(cli: &Cli) -> Result<Self, SettingsError> {
        // `vars_os`: a variable that is not Unicode (no setting is) must not stop the start.
        let env = std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        });
        Self::load_from(cli, env, Path::new(DEFAULT_FILE))
    }

    /// The settings for a command line and an environment; `default_file` is read when the
    /// command line names no file and it exists.
    pub fn load_from(
        cli: &Cli,
        env: impl IntoIterator<Item = (String, String)>,
        default_file: &Path,
    ) -> Result<Self, SettingsError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        builder = match &cli.config_file {
            // TOML whatever the file is called (`/etc/studyhall/settings`, `site.conf`).
            Some(file) => builder.add_source(
                config::File::from(file.as_path())
                    .format(config::FileFormat::Toml)
                    .required(true),
            ),
            None => builder.add_source(
                config::File::from(default_file)
                    .format(config::FileFormat::Toml)
                    .required(false),
            ),
        };
        let merged = builder
            .add_source(
                config::Environment::with_prefix("STUDYHALL")
                    .prefix_separator("_")
                    .separator("__")
                    // Values stay strings until their field reads them: a password of
                    // `0123` or `1e3` must reach PostgreSQL as typed, and numbers and
                    // booleans are read from strings by the fields anyway.
                    .try_parsing(false)
                    // An empty variable is unset, as it was for clap.
                    .ignore_empty(true)
                    .source(Some(known_variables(env))),
            )
            .set_override_option("bind", cli.serve.bind.clone())?
            .set_override_option("database", cli.database.clone())?
            .set_override_option(
                "registration",
                cli.serve.registration.map(|r| match r {
                    Registration::Open => "open",
                    Registration::Closed => "closed",
                }),
            )?
            .set_override_option("max_interval_days", cli.serve.max_interval_days)?
            .set_override_option("secure_cookies", cli.serve.secure_cookies.then_some(true))?
            .set_override_option("behind_proxy", cli.serve.behind_proxy.then_some(true))?
            .set_override_option("header_timeout", cli.serve.header_timeout.clone())?
            .set_override_option("keep_alive_timeout", cli.serve.keep_alive_timeout.clone())?
            .set_override_option("body_idle_timeout", cli.serve.body_idle_timeout.clone())?
            .set_override_option("body_timeout", cli.serve.body_timeout.clone())?
            .set_override_option("disconnect_timeout", cli.serve.disconnect_timeout.clone())?
            .set_override_option("max_connections", cli.serve.max_connections)?
            .build()?;
        // Each area's keys are read by its own settings module; the rest here.
        let mut table: config::Map<String, config::Value> = merged.try_deserialize()?;
        let public_url = table
            .get("public_url")
            .and_then(|v| v.clone().into_string().ok())
            .unwrap_or_default();
        let mail = crate::mail::settings::MailLayer::take_from(&mut table, &public_url)?;
        let mut layered: Layered = config::Value::new(None, table).try_deserialize()?;
        layered.mail = mail;
        layered.check()
    }

    /// Defaults for a store, on a free port of the loopback interface.
    pub fn for_database(database: impl Into<Location>) -> Self {
        Self {
            bind: "127.0.0.1:0".to_owned(),
            database: database.into(),
            pool_sizes: PoolSizes::default(),
            registration: Registration::Open,
            max_interval_days: crate::srs::sm2::DEFAULT_MAX_INTERVAL_DAYS,
            secure_cookies: false,
            behind_proxy: false,
            clock: Clock::system(),
            timeouts: Timeouts::default(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            sign_on: crate::auth::oidc::settings::SignOn::default(),
            mail: None,
        }
    }
}

/// The environment variables that name a setting (others with the prefix, such as the test
/// scripts' `STUDYHALL_TEST_POSTGRES`, are not settings and are left out), older names
/// renamed.
fn known_variables(env: impl IntoIterator<Item = (String, String)>) -> config::Map<String, String> {
    let names: Vec<String> = KEYS
        .iter()
        .chain(crate::mail::settings::KEYS)
        .map(|k| env_name(k))
        .collect();
    let mut known = config::Map::new();
    let mut aliased = Vec::new();
    for (name, value) in env {
        if names.contains(&name) {
            known.insert(name, value);
        } else if let Some((_, key)) = ENV_ALIASES
            .iter()
            .chain(crate::auth::oidc::settings::ENV_NAMES)
            .find(|(old, _)| *old == name)
        {
            aliased.push((env_name(key), value));
        }
    }
    for (name, value) in aliased {
        known.entry(name).or_insert(value);
    }
    known
}

impl Layered {
    /// Checks ranges and builds the settings.
    fn check(self) -> Result<Settings, SettingsError> {
        let invalid = |key: &str, message: &str| SettingsError::Invalid {
            key: key.to_owned(),
            message: message.to_owned(),
        };
        if !(1..=36_500).contains(&self.max_interval_days) {
            return Err(invalid("max_interval_days", "must be 1 to 36500 days"));
        }
        if self.max_connections == 0 {
            return Err(invalid("max_connections", "must be at least 1"));
        }
        if !(1..=1000).contains(&self.postgres.pool_size) {
            return Err(invalid(
                "postgres.pool_size",
                "must be 1 to 1000 connections",
            ));
        }
        if !(1..=64).contains(&self.sqlite.readers) {
            return Err(invalid("sqlite.readers", "must be 1 to 64 connections"));
        }
        let mut database: Location = self
            .database
            .parse()
            .map_err(|message: String| invalid("database", &message))?;
        if let Some(password) = &self.postgres.password {
            database = database
                .with_password(password)
                .map_err(|message| invalid("postgres.password", &message))?;
        }
        let sign_on = crate::auth::oidc::settings::SignOn::check(
            &self.public_url,
            &self.local_login,
            self.oidc,
        )
        .map_err(|(key, message)| SettingsError::Invalid { key, message })?;
        let mail = self
            .mail
            .check()
            .map_err(|(key, message)| invalid(key, &message))?;
        Ok(Settings {
            mail,
            bind: self.bind,
            database,
            pool_sizes: PoolSizes {
                postgres: self.postgres.pool_size,
                sqlite_readers: self.sqlite.readers,
            },
            registration: self.registration,
            max_interval_days: self.max_interval_days,
            secure_cookies: self.secure_cookies,
            behind_proxy: self.behind_proxy,
            clock: Clock::system(),
            timeouts: Timeouts {
                header: self.header_timeout.read("header_timeout")?,
                keep_alive: self.keep_alive_timeout.read("keep_alive_timeout")?,
                body_idle: self.body_idle_timeout.read("body_idle_timeout")?,
                body: self.body_timeout.read("body_timeout")?,
                disconnect: self.disconnect_timeout.read("disconnect_timeout")?,
            },
            max_connections: self.max_connections as usize,
            sign_on,
        })
    }
}

/// A duration as a settings file spells it: `10s`, or `1500ms` when not whole seconds.
fn duration_text(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// What `studyhall settings` prints: every setting as a settings file would spell it, the
/// database's password masked.
impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let registration = match self.registration {
            Registration::Open => "open",
            Registration::Closed => "closed",
        };
        let t = &self.timeouts;
        writeln!(f, "bind = {:?}", self.bind)?;
        let (database, had_password) = self.database.without_password();
        writeln!(f, "database = {database:?}")?;
        writeln!(f, "registration = {registration:?}")?;
        writeln!(f, "max_interval_days = {}", self.max_interval_days)?;
        writeln!(f, "secure_cookies = {}", self.secure_cookies)?;
        writeln!(f, "behind_proxy = {}", self.behind_proxy)?;
        writeln!(f, "header_timeout = \"{}\"", duration_text(t.header))?;
        writeln!(
            f,
            "keep_alive_timeout = \"{}\"",
            duration_text(t.keep_alive)
        )?;
        writeln!(f, "body_idle_timeout = \"{}\"", duration_text(t.body_idle))?;
        writeln!(f, "body_timeout = \"{}\"", duration_text(t.body))?;
        writeln!(
            f,
            "disconnect_timeout = \"{}\"",
            duration_text(t.disconnect)
        )?;
        writeln!(f, "max_connections = {}", self.max_connections)?;
        write!(
            f,
            "{}",
            crate::auth::oidc::settings::TopLevel(&self.sign_on)
        )?;
        if let Some(mail) = &self.mail {
            write!(f, "{mail}")?;
        }
        writeln!(f, "\n[postgres]\npool_size = {}", self.pool_sizes.postgres)?;
        if had_password {
            writeln!(f, "# password: set, and never printed")?;
        }
        writeln!(
            f,
            "\n[sqlite]\nreaders = {}",
            self.pool_sizes.sqlite_readers
        )?;
        write!(f, "{}", self.sign_on)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_with_their_unit_and_refuse_zero_or_nonsense() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5h").is_err());
    }

    #[test]
    fn server_timeouts_are_never_shorter_than_its_clock_tick_allows() {
        let short = Duration::from_millis(300);
        let floored = Timeouts {
            header: short,
            keep_alive: short,
            body_idle: short,
            body: short,
            disconnect: short,
        }
        .with_server_floor();
        assert_eq!(floored.header, MIN_SERVER_TIMEOUT);
        assert_eq!(floored.keep_alive, MIN_SERVER_TIMEOUT);
        assert_eq!(floored.disconnect, MIN_SERVER_TIMEOUT);
        assert_eq!((floored.body_idle, floored.body), (short, short));
        assert_eq!(Timeouts::default().with_server_floor(), Timeouts::default());
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn load(args: &[&str], vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let cli = Cli::try_parse_from(args).map_err(|e| SettingsError::Invalid {
            key: "command line".to_owned(),
            message: e.to_string(),
        })?;
        Settings::load_from(&cli, env(vars), Path::new("/nonexistent/studyhall.toml"))
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
    fn the_defaults_are_the_timeouts_and_limits_defaults() {
        let settings = load(&["studyhall"], &[]).expect("defaults load");
        assert_eq!(settings.timeouts, Timeouts::default());
        assert_eq!(settings.max_connections, DEFAULT_MAX_CONNECTIONS);
        assert_eq!(settings.pool_sizes, PoolSizes::default());
        assert_eq!(settings.bind, "127.0.0.1:8080");
        assert_eq!(settings.database.to_string(), "data/studyhall.db");
        assert_eq!(settings.registration, Registration::Open);
    }

    #[test]
    fn a_flag_beats_the_environment_which_beats_the_file_which_beats_the_default() {
        let file = settings_file(
            "bind = \"0.0.0.0:9000\"\nmax_connections = 100\nheader_timeout = \"3s\"\n\
             [postgres]\npool_size = 4\n",
        );
        let path = file.path().to_str().expect("utf-8 path");
        let vars = [
            ("STUDYHALL_MAX_CONNECTIONS", "200"),
            ("STUDYHALL_POSTGRES__POOL_SIZE", "6"),
        ];
        let from_file = load(&["studyhall", "--config", path], &[]).expect("loads");
        assert_eq!(from_file.bind, "0.0.0.0:9000");
        assert_eq!(from_file.max_connections, 100);
        assert_eq!(from_file.timeouts.header, Duration::from_secs(3));
        assert_eq!(from_file.pool_sizes.postgres, 4);
        let from_env = load(&["studyhall", "--config", path], &vars).expect("loads");
        assert_eq!(from_env.max_connections, 200);
        assert_eq!(from_env.pool_sizes.postgres, 6);
        assert_eq!(
            from_env.bind, "0.0.0.0:9000",
            "the file still fills the rest"
        );
        let from_flag = load(
            &["studyhall", "--config", path, "--max-connections", "300"],
            &vars,
        )
        .expect("loads");
        assert_eq!(from_flag.max_connections, 300);
    }

    #[test]
    fn the_older_pool_size_variable_is_read_unless_the_new_one_is_set() {
        let old = load(&["studyhall"], &[("STUDYHALL_POOL_SIZE", "5")]).expect("loads");
        assert_eq!(old.pool_sizes.postgres, 5);
        let both = load(
            &["studyhall"],
            &[
                ("STUDYHALL_POOL_SIZE", "5"),
                ("STUDYHALL_POSTGRES__POOL_SIZE", "7"),
            ],
        )
        .expect("loads");
        assert_eq!(both.pool_sizes.postgres, 7);
    }

    #[test]
    fn variables_with_the_prefix_that_are_not_settings_are_left_alone() {
        let settings = load(
            &["studyhall"],
            &[("STUDYHALL_TEST_POSTGRES", "postgres://x@y/z")],
        )
        .expect("an unrelated variable is no error");
        assert_eq!(settings.pool_sizes, PoolSizes::default());
    }

    #[test]
    fn a_misspelt_key_or_a_bad_value_is_named_in_the_error() {
        let file = settings_file("bnd = \"0.0.0.0:1\"\n");
        let path = file.path().to_str().expect("utf-8 path");
        let error = load(&["studyhall", "--config", path], &[])
            .expect_err("an unknown key is refused")
            .to_string();
        assert!(error.contains("bnd"), "{error}");
        let error = load(&["studyhall"], &[("STUDYHALL_HEADER_TIMEOUT", "5h")])
            .expect_err("an unknown unit is refused")
            .to_string();
        assert!(error.contains("header_timeout"), "{error}");
        let error = load(&["studyhall"], &[("STUDYHALL_POSTGRES__POOL_SIZE", "0")])
            .expect_err("an empty pool is refused")
            .to_string();
        assert!(error.contains("postgres.pool_size"), "{error}");
        let error = load(&["studyhall", "--config", "/nonexistent/named.toml"], &[])
            .expect_err("a named file must exist")
            .to_string();
        assert!(error.contains("named.toml"), "{error}");
    }

    #[test]
    fn the_database_password_joins_the_url_and_never_prints() {
        let secret = "s3cret-pass:word@x";
        let settings = load(
            &[
                "studyhall",
                "--database",
                "postgres://teacher@db.example/studyhall",
            ],
            &[("STUDYHALL_POSTGRES__PASSWORD", secret)],
        )
        .expect("loads");
        let Location::Postgres(url) = &settings.database else {
            panic!("a PostgreSQL location");
        };
        assert!(
            url.starts_with("postgres://teacher:s3cret-pass%3Aword%40x@db.example/"),
            "{url}"
        );
        for shown in [
            format!("{settings}"),
            format!("{settings:?}"),
            settings.database.to_string(),
        ] {
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(!shown.contains("s3cret-pass%3A"), "{shown}");
        }
        let file = settings_file("[postgres]\npassword = \"hunter22\"\n");
        let path = file.path().to_str().expect("utf-8 path");
        let error = load(&["studyhall", "--config", path], &[])
            .expect_err("a password with a SQLite file makes no sense")
            .to_string();
        assert!(!error.contains("hunter22"), "{error}");
    }

    #[test]
    fn the_printed_settings_read_back_as_the_same_settings() {
        let first = load(
            &[
                "studyhall",
                "--header-timeout",
                "1500ms",
                "--registration",
                "closed",
            ],
            &[("STUDYHALL_SQLITE__READERS", "3")],
        )
        .expect("loads");
        let file = settings_file(&first.to_string());
        let path = file.path().to_str().expect("utf-8 path");
        let again = load(&["studyhall", "--config", path], &[]).expect("the printout loads");
        assert_eq!(again.to_string(), first.to_string());
        assert_eq!(again.timeouts.header, Duration::from_millis(1500));
        assert_eq!(again.pool_sizes.sqlite_readers, 3);
        assert_eq!(again.registration, Registration::Closed);
    }

    #[test]
    fn values_reach_their_settings_as_typed_and_empty_variables_are_unset() {
        let settings = load(
            &[
                "studyhall",
                "--database",
                "postgres://teacher@db.example/studyhall",
            ],
            &[
                ("STUDYHALL_POSTGRES__PASSWORD", "0123"),
                ("STUDYHALL_SECURE_COOKIES", "true"),
                ("STUDYHALL_MAX_CONNECTIONS", "77"),
                ("STUDYHALL_BIND", ""),
            ],
        )
        .expect("loads");
        let Location::Postgres(url) = &settings.database else {
            panic!("a PostgreSQL location");
        };
        assert!(url.contains(":0123@"), "a leading zero is kept");
        assert!(settings.secure_cookies);
        assert_eq!(settings.max_connections, 77);
        assert_eq!(
            settings.bind, "127.0.0.1:8080",
            "an empty variable is unset"
        );
        let printed = settings.to_string();
        assert!(printed.contains("database = \"postgres://teacher@db.example/studyhall\""));
        assert!(
            printed.contains("# password: set, and never printed"),
            "{printed}"
        );
    }

    #[test]
    fn a_settings_file_is_toml_whatever_its_name() {
        let file = tempfile::NamedTempFile::new().expect("a temporary file");
        std::fs::write(file.path(), "max_connections = 12\n").expect("written");
        let path = file.path().to_str().expect("utf-8 path");
        let settings = load(&["studyhall", "--config", path], &[]).expect("loads");
        assert_eq!(settings.max_connections, 12);
    }
}
