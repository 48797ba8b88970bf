//! Media files by content hash (`media`), and which cards use them (`card_media`). A file no
//! card uses any more goes with its last card (a trigger, migration 0027).

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
           AND NOT EXISTS (SELECT 1 FROM card_media m WHERE m.hash = media.hash)",
    )
    .bind(before)
    .execute(db)
    .await?;
    Ok(())
}
