//! Settings: built-in defaults, overridden by `STUDYHALL_*` environment variables, overridden
//! by command-line flags (clap reads both).

use crate::clock::Clock;
use crate::db::Location;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "studyhall",
    version,
    about = "A spaced-repetition study server for a class"
)]
pub struct Cli {
    /// Where the data lives: a SQLite file (created, with its folder, if missing; a `sqlite:`
    /// URL works too) or a `postgres://user@host/db` URL.
    #[arg(
        long,
        env = "STUDYHALL_DATABASE",
        default_value = "data/studyhall.db",
        global = true
    )]
    pub database: Location,

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

/// Options of the server.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(
        long,
        env = "STUDYHALL_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: String,

    /// Whether anyone may create an account at /register.
    #[arg(long, env = "STUDYHALL_REGISTRATION", value_enum, default_value_t = Registration::Open, global = true)]
    pub registration: Registration,

    /// The longest interval SM-2 may schedule, in days.
    #[arg(long, env = "STUDYHALL_MAX_INTERVAL_DAYS", default_value_t = 36_500,
          value_parser = clap::value_parser!(u32).range(1..=36_500), global = true)]
    pub max_interval_days: u32,

    /// Mark the session cookie Secure (set this when serving over https).
    #[arg(long, env = "STUDYHALL_SECURE_COOKIES", global = true)]
    pub secure_cookies: bool,

    /// The server runs behind one reverse proxy that appends each client's address to
    /// X-Forwarded-For: throttles count that address. Without it the header is ignored, since
    /// anyone can send it.
    #[arg(long, env = "STUDYHALL_BEHIND_PROXY", global = true)]
    pub behind_proxy: bool,

    /// How long a client has to send a connection's first request line and headers
    /// (`10s`, `1m`; at least 1s); it is answered 408 and closed after that.
    #[arg(long, env = "STUDYHALL_HEADER_TIMEOUT", default_value = "10s",
          value_parser = parse_duration, global = true)]
    pub header_timeout: Duration,

    /// How long an idle connection is kept open after a response, waiting for its next
    /// request (at least 1s).
    #[arg(long, env = "STUDYHALL_KEEP_ALIVE_TIMEOUT", default_value = "15s",
          value_parser = parse_duration, global = true)]
    pub keep_alive_timeout: Duration,

    /// The longest pause allowed between two pieces of a request body; a body that stops
    /// arriving is answered 408 and its connection closed.
    #[arg(long, env = "STUDYHALL_BODY_IDLE_TIMEOUT", default_value = "15s",
          value_parser = parse_duration, global = true)]
    pub body_idle_timeout: Duration,

    /// How long a whole request body may take to arrive (a 2 MiB deck file needs about a
    /// minute at 300 kbit/s).
    #[arg(long, env = "STUDYHALL_BODY_TIMEOUT", default_value = "60s",
          value_parser = parse_duration, global = true)]
    pub body_timeout: Duration,

    /// How long a connection being closed may linger for the client to read the last response
    /// and hang up (at least 1s).
    #[arg(long, env = "STUDYHALL_DISCONNECT_TIMEOUT", default_value = "2s",
          value_parser = parse_duration, global = true)]
    pub disconnect_timeout: Duration,

    /// The most connections open at once, over all workers; lowered at start to fit the
    /// process's open-file limit with room left for the database and uploads.
    #[arg(long, env = "STUDYHALL_MAX_CONNECTIONS", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub max_connections: u32,
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
    /// For a connection's first request line and headers (actix's `client_request_timeout`).
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

/// The shortest header, keep-alive and disconnect timeout. actix computes their deadlines from
/// a clock it updates every 500 ms, and a deadline already past when its timer is armed never
/// wakes the connection: a 300 ms timeout could hold a silent connection for ever.
pub const MIN_ACTIX_TIMEOUT: Duration = Duration::from_secs(1);

impl Timeouts {
    /// These timeouts with actix's three raised to [`MIN_ACTIX_TIMEOUT`] (the body's are kept
    /// by studyhall's own timers, which are exact).
    pub fn with_actix_floor(self) -> Self {
        Self {
            header: self.header.max(MIN_ACTIX_TIMEOUT),
            keep_alive: self.keep_alive.max(MIN_ACTIX_TIMEOUT),
            disconnect: self.disconnect.max(MIN_ACTIX_TIMEOUT),
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
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
    /// The store: a SQLite file or a PostgreSQL URL.
    pub database: Location,
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
}

impl Settings {
    /// Settings from the parsed command line.
    pub fn from_cli(database: Location, serve: ServeArgs) -> Self {
        Self {
            bind: serve.bind,
            database,
            registration: serve.registration,
            max_interval_days: serve.max_interval_days,
            secure_cookies: serve.secure_cookies,
            behind_proxy: serve.behind_proxy,
            clock: Clock::system(),
            timeouts: Timeouts {
                header: serve.header_timeout,
                keep_alive: serve.keep_alive_timeout,
                body_idle: serve.body_idle_timeout,
                body: serve.body_timeout,
                disconnect: serve.disconnect_timeout,
            },
            max_connections: serve.max_connections as usize,
        }
    }

    /// Defaults for a store, on a free port of the loopback interface.
    pub fn for_database(database: impl Into<Location>) -> Self {
        Self {
            bind: "127.0.0.1:0".to_owned(),
            database: database.into(),
            registration: Registration::Open,
            max_interval_days: crate::srs::sm2::DEFAULT_MAX_INTERVAL_DAYS,
            secure_cookies: false,
            behind_proxy: false,
            clock: Clock::system(),
            timeouts: Timeouts::default(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
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
    fn actix_timeouts_are_never_shorter_than_its_clock_tick_allows() {
        let short = Duration::from_millis(300);
        let floored = Timeouts {
            header: short,
            keep_alive: short,
            body_idle: short,
            body: short,
            disconnect: short,
        }
        .with_actix_floor();
        assert_eq!(floored.header, MIN_ACTIX_TIMEOUT);
        assert_eq!(floored.keep_alive, MIN_ACTIX_TIMEOUT);
        assert_eq!(floored.disconnect, MIN_ACTIX_TIMEOUT);
        assert_eq!((floored.body_idle, floored.body), (short, short));
        assert_eq!(Timeouts::default().with_actix_floor(), Timeouts::default());
    }

    #[test]
    fn the_flags_defaults_are_the_timeouts_defaults() {
        let cli = Cli::parse_from(["studyhall"]);
        let settings = Settings::from_cli(cli.database, cli.serve);
        assert_eq!(settings.timeouts, Timeouts::default());
        assert_eq!(settings.max_connections, DEFAULT_MAX_CONNECTIONS);
    }
}
