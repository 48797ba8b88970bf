//! Media files by content hash (`media`), which cards use them (`card_media`) and which decks
//! keep them without a card showing them (`deck_media`: an Anki package's other files). A
//! file neither a card nor a deck keeps any more goes (triggers, migrations 0027 and 0036).

use super::{Backend, Executor};
use sqlx::FromRow;

// The queries that read files' sizes and ages, named so that a test can ask SQLite how it
// runs them: each must answer from an index (migration 0038), never from the rows, whose
// bytes come first (on SQLite, reading a column after a large blob reads the blob's
// overflow pages). SQLite's planner takes the hash's unique index for `hash = ?` and then
// reads the row, so the size queries name the covering index there (`INDEXED BY`, which
// also makes a query fail rather than scan should the index ever go); PostgreSQL keeps large
// values out of line and reads a size without the bytes.

/// The unused files stored before `$1`.
pub const DROP_UNUSED_BEFORE: &str = "DELETE FROM media WHERE created_at < $1
           AND NOT EXISTS (SELECT 1 FROM card_media m WHERE m.hash = media.hash)
           AND NOT EXISTS (SELECT 1 FROM deck_media d WHERE d.hash = media.hash)";

macro_rules! kept_bytes {
    ($media:literal) => {
        concat!(
            "SELECT CAST(SUM(m.size) AS BIGINT) FROM deck_media d JOIN ",
            $media,
            " ON m.hash = d.hash WHERE d.deck_id = $1"
        )
    };
}
macro_rules! deck_card_files {
    ($media:literal) => {
        concat!(
            "SELECT hash, size FROM ",
            $media,
            " WHERE hash IN (SELECT m.hash FROM card_media m JOIN cards c ON c.id = m.card_id
              WHERE c.deck_id = $1)"
        )
    };
}
macro_rules! size_of {
    ($media:literal) => {
        concat!("SELECT size FROM ", $media, " WHERE hash = $1")
    };
}

/// The bytes of the files deck `$1` keeps without a card (SQLite's form).
pub const KEPT_BYTES: &str = kept_bytes!("media m INDEXED BY media_size");
/// The files deck `$1`'s cards use, with their sizes (SQLite's form).
pub const DECK_CARD_FILES: &str = deck_card_files!("media INDEXED BY media_size");
/// The size of file `$1` (SQLite's form).
pub const SIZE_OF: &str = size_of!("media INDEXED BY media_size");

/// `sqlite` on SQLite, `postgres` on PostgreSQL.
fn on(backend: Backend, sqlite: &'static str, postgres: &'static str) -> &'static str {
    match backend {
        Backend::Sqlite => sqlite,
        Backend::Postgres => postgres,
    }
}

/// A stored file as served.
#[derive(Debug, Clone, FromRow)]
pub struct MediaRow {
    /// Its `Content-Type`.
    pub content_type: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Who stored it, if they still exist.
    pub uploaded_by: Option<i64>,
}

/// Stores a file under its hash unless it is there already (then `uploaded_by`, if given,
/// becomes the latest to bring it, who may see it before a card uses it).
pub async fn store(
    db: impl Executor<'_>,
    hash: &str,
    content_type: &str,
    bytes: &[u8],
    uploaded_by: Option<i64>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO media (hash, content_type, bytes, size, uploaded_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (hash) DO UPDATE
             SET uploaded_by = COALESCE(excluded.uploaded_by, media.uploaded_by),
                 created_at = excluded.created_at",
    )
    .bind(hash)
    .bind(content_type)
    .bind(bytes)
    .bind(bytes.len() as i64)
    .bind(uploaded_by)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// File `hash`, if stored.
pub async fn get(db: impl Executor<'_>, hash: &str) -> Result<Option<MediaRow>, sqlx::Error> {
    sqlx::query_as("SELECT content_type, bytes, uploaded_by FROM media WHERE hash = $1")
        .bind(hash)
        .fetch_optional(db)
        .await
}

/// The `Content-Type` of file `hash` and who last brought it, if stored (without reading
/// its bytes).
pub async fn about(
    db: impl Executor<'_>,
    hash: &str,
) -> Result<Option<(String, Option<i64>)>, sqlx::Error> {
    sqlx::query_as("SELECT content_type, uploaded_by FROM media WHERE hash = $1")
        .bind(hash)
        .fetch_optional(db)
        .await
}

/// The `Content-Type` of file `hash`, if stored (without reading its bytes).
pub async fn type_of(db: impl Executor<'_>, hash: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT content_type FROM media WHERE hash = $1")
        .bind(hash)
        .fetch_optional(db)
        .await
}

/// The decks of the cards that use file `hash`.
pub async fn decks_using(db: impl Executor<'_>, hash: &str) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT c.deck_id FROM card_media m JOIN cards c ON c.id = m.card_id
         WHERE m.hash = $1",
    )
    .bind(hash)
    .fetch_all(db)
    .await
}

/// The files card `card_id` uses.
pub async fn of_card(db: impl Executor<'_>, card_id: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT hash FROM card_media WHERE card_id = $1")
        .bind(card_id)
        .fetch_all(db)
        .await
}

/// Records that card `card_id` uses file `hash`, if that file is stored.
pub async fn link(db: impl Executor<'_>, card_id: i64, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO card_media (card_id, hash) SELECT $1, hash FROM media WHERE hash = $2
         ON CONFLICT DO NOTHING",
    )
    .bind(card_id)
    .bind(hash)
    .execute(db)
    .await?;
    Ok(())
}

/// Records that card `card_id` no longer uses file `hash` (the file goes if it was the last).
pub async fn unlink(db: impl Executor<'_>, card_id: i64, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM card_media WHERE card_id = $1 AND hash = $2")
        .bind(card_id)
        .bind(hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Removes files stored before `before` (Unix seconds) that no card uses: an import's
/// preview that was never confirmed.
pub async fn drop_unused_before(db: impl Executor<'_>, before: i64) -> Result<(), sqlx::Error> {
    sqlx::query(DROP_UNUSED_BEFORE)
        .bind(before)
        .execute(db)
        .await?;
    Ok(())
}

/// Keeps stored file `hash` with deck `deck_id` under `name`: a name the deck keeps with
/// other bytes takes the new ones (a package imported again brings the file as it is now;
/// the old bytes go if nothing else keeps them); returns whether it was added or changed.
pub async fn keep_for_deck(
    db: &mut super::Conn,
    deck_id: i64,
    name: &str,
    hash: &str,
) -> Result<bool, sqlx::Error> {
    let replaced = sqlx::query(
        "DELETE FROM deck_media WHERE deck_id = $1 AND name = $2 AND hash <> $3
           AND EXISTS (SELECT 1 FROM media WHERE hash = $3)",
    )
    .bind(deck_id)
    .bind(name)
    .bind(hash)
    .execute(&mut *db)
    .await?
    .rows_affected()
        > 0;
    let added = sqlx::query(
        "INSERT INTO deck_media (deck_id, name, hash) SELECT $1, $2, hash FROM media
         WHERE hash = $3 ON CONFLICT DO NOTHING",
    )
    .bind(deck_id)
    .bind(name)
    .bind(hash)
    .execute(&mut *db)
    .await?
    .rows_affected()
        > 0;
    Ok(replaced || added)
}

/// Whether a deck keeps file `hash` as one of a package's other files (never served).
pub async fn kept_anywhere(db: impl Executor<'_>, hash: &str) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM deck_media WHERE hash = $1 LIMIT 1")
        .bind(hash)
        .fetch_optional(db)
        .await?;
    Ok(found.is_some())
}

/// The files deck `deck_id` keeps without a card: (name, hash), by name.
pub async fn kept_by_deck(
    db: impl Executor<'_>,
    deck_id: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT name, hash FROM deck_media WHERE deck_id = $1 ORDER BY name")
        .bind(deck_id)
        .fetch_all(db)
        .await
}

/// The bytes of the files deck `deck_id` keeps without a card.
pub async fn kept_bytes(db: impl Executor<'_>, deck_id: i64) -> Result<i64, sqlx::Error> {
    let sql = on(db.backend(), KEPT_BYTES, kept_bytes!("media m"));
    let total: Option<i64> = sqlx::query_scalar(sql).bind(deck_id).fetch_one(db).await?;
    Ok(total.unwrap_or(0))
}

/// The files the cards of deck `deck_id` use, each once, with their sizes: read from the
/// `media_size` index, never from the files' rows (migration 0038).
pub async fn deck_card_files(
    db: impl Executor<'_>,
    deck_id: i64,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let sql = on(db.backend(), DECK_CARD_FILES, deck_card_files!("media"));
    sqlx::query_as(sql).bind(deck_id).fetch_all(db).await
}

/// The size of stored file `hash`, if it is stored (from the `media_size` index).
pub async fn size_of(db: impl Executor<'_>, hash: &str) -> Result<Option<i64>, sqlx::Error> {
    let sql = on(db.backend(), SIZE_OF, size_of!("media"));
    sqlx::query_scalar(sql).bind(hash).fetch_optional(db).await
}
