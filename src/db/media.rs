//! Media files by content hash (`media`), which cards use them (`card_media`) and which decks
//! keep them without a card showing them (`deck_media`: an Anki package's other files). A
//! file neither a card nor a deck keeps any more goes (triggers, migrations 0027 and 0036).

use super::Executor;
use sqlx::FromRow;

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

/// Stores a file under its hash unless it is there already (then `uploaded_by` becomes the
/// latest to bring it, who may see it before a card uses it).
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
         ON CONFLICT (hash) DO UPDATE SET uploaded_by = excluded.uploaded_by,
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
    sqlx::query(
        "DELETE FROM media WHERE created_at < $1
           AND NOT EXISTS (SELECT 1 FROM card_media m WHERE m.hash = media.hash)
           AND NOT EXISTS (SELECT 1 FROM deck_media d WHERE d.hash = media.hash)",
    )
    .bind(before)
    .execute(db)
    .await?;
    Ok(())
}

/// Keeps stored file `hash` with deck `deck_id` under `name` (a name the deck keeps already
/// is left as it is); returns whether it was added.
pub async fn keep_for_deck(
    db: impl Executor<'_>,
    deck_id: i64,
    name: &str,
    hash: &str,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO deck_media (deck_id, name, hash) SELECT $1, $2, hash FROM media
         WHERE hash = $3 ON CONFLICT DO NOTHING",
    )
    .bind(deck_id)
    .bind(name)
    .bind(hash)
    .execute(db)
    .await?
    .rows_affected()
        > 0)
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
    let total: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(SUM(m.size) AS BIGINT) FROM deck_media d JOIN media m ON m.hash = d.hash
         WHERE d.deck_id = $1",
    )
    .bind(deck_id)
    .fetch_one(db)
    .await?;
    Ok(total.unwrap_or(0))
}
