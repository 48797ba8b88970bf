//! Settings: built-in defaults, overridden by `STUDYHALL_*` environment variables, overridden
//! by command-line flags (clap reads both).

use crate::clock::Clock;
use crate::db::Location;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

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
}

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
        }
    }
}
