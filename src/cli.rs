//! What the subcommands do, apart from parsing: kept in the library so tests can call it.

use crate::db::Pool;
use crate::domain::{DeckName, Password, Role, Username};
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

/// `studyhall create-admin NAME`.
pub async fn create_admin(pool: &Pool, name: &str, password: &str) -> anyhow::Result<()> {
    let username = Username::parse(name)?;
    let password = Password::parse(password, username.as_str())?;
    accounts::register(
        pool,
        &username,
        &password,
        Role::Admin,
        jiff::Timestamp::now().as_second(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_print_a_host_a_browser_can_open() {
        assert_eq!(url_of("127.0.0.1:8080", 8080), "http://127.0.0.1:8080/");
        assert_eq!(url_of("0.0.0.0:0", 41234), "http://127.0.0.1:41234/");
    }
}
