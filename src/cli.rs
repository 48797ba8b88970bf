//! What the subcommands do, apart from parsing: kept in the library so tests can call it.

use crate::db::{Location, Pool};
use crate::domain::{DeckName, Password, Username};
use crate::import::Format;
use crate::study::{accounts, import::ImportReport};
use anyhow::Context;
use std::path::Path;

/// The address to print for a bound `host:port` (an unspecified host prints as 127.0.0.1).
pub fn url_of(bind: &str, port: u16) -> String {
    let host = bind.rsplit_once(':').map_or(bind, |(h, _)| h);
    let host = match host {
        "0.0.0.0" | "[::]" | "" => "127.0.0.1",
        h => h,
    };
    format!("http://{host}:{port}/")
}

/// `studyhall import FILE --deck NAME`: all of the file or nothing.
pub async fn import_file(
    pool: &Pool,
    file: &Path,
    deck: &str,
    format: Option<Format>,
) -> anyhow::Result<ImportReport> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let file_name = file
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let parsed = crate::study::import::read_deck_file(&bytes, &file_name, format)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {}", file.display(), e))?;
    let name = DeckName::parse(deck)?;
    let now = jiff::Timestamp::now().as_second();
    crate::study::import::import_deck(pool, &name, &parsed, None, true, now)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e))
}

/// `studyhall backup FILE`: refuses to overwrite an existing file.
pub async fn backup(pool: &Pool, file: &Path) -> anyhow::Result<()> {
    if file.exists() {
        anyhow::bail!("{} already exists; choose a new file name", file.display());
    }
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    crate::db::backup_into(pool, file)
        .await
        .with_context(|| format!("backing up to {} failed", file.display()))
}

/// `studyhall migrate-to postgres://...`: the SQLite site at `source` into the empty
/// PostgreSQL database at `target` (migrated first). Returns the table of row counts.
pub async fn migrate_to(source: &Location, target: &Location) -> anyhow::Result<String> {
    let (Location::File(path), Location::Postgres(_)) = (source, target) else {
        anyhow::bail!(
            "migrate-to copies a SQLite file (--database FILE) into PostgreSQL (a postgres:// URL)"
        );
    };
    if !path.exists() {
        anyhow::bail!("{} does not exist", path.display());
    }
    let from = crate::db::connect(source)
        .await
        .with_context(|| format!("cannot open {source}"))?;
    let to = crate::db::connect(target)
        .await
        .with_context(|| format!("cannot open {target}"))?;
    let report = crate::db::copy::sqlite_to_postgres(&from, &to).await;
    from.close().await;
    to.close().await;
    let report = report.with_context(|| format!("copying into {target} failed"))?;
    let mut out = String::new();
    for (table, rows, copied) in &report.tables {
        out.push_str(&format!(
            "  {table:<20} {rows:>10} rows, {copied:>10} copied\n"
        ));
    }
    Ok(out)
}

/// `studyhall create-admin NAME`.
pub async fn create_admin(pool: &Pool, name: &str, password: &str) -> anyhow::Result<()> {
    let username = Username::parse(name)?;
    let password = Password::parse(password, username.as_str())?;
    accounts::create_break_glass_admin(
        pool,
        &username,
        &password,
        jiff::Timestamp::now().as_second(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}", e))?;
    Ok(())
}

/// An error and its causes as one line, each cause said once: database drivers' errors often
/// repeat their source's text in their own ("error returned from database: X", then X).
pub fn error_chain(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_print_a_host_a_browser_can_open() {
        assert_eq!(url_of("127.0.0.1:8080", 8080), "http://127.0.0.1:8080/");
        assert_eq!(url_of("0.0.0.0:0", 41234), "http://127.0.0.1:41234/");
    }

    #[test]
    fn an_error_chain_says_each_cause_once() {
        #[derive(Debug)]
        struct Repeats(std::io::Error);
        impl std::fmt::Display for Repeats {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "error returned from database: {}", self.0)
            }
        }
        impl std::error::Error for Repeats {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let inner = std::io::Error::other("database \"x\" does not exist");
        let e = anyhow::Error::new(Repeats(inner)).context("cannot open x");
        assert_eq!(
            error_chain(&e),
            "cannot open x: error returned from database: database \"x\" does not exist"
        );
        let e = anyhow::anyhow!("refused").context("copying failed");
        assert_eq!(error_chain(&e), "copying failed: refused");
    }
}
