//! Imports between their preview and their confirmation.

use crate::db::Executor;
use sqlx::FromRow;

/// An import waiting for its owner to confirm it.
#[derive(Debug, Clone, FromRow)]
pub struct PendingImport {
    /// The random key the confirmation form carries.
    pub token: String,
    /// The deck it goes into.
    pub deck_name: String,
    /// The parsed cards, as JSON.
    pub cards: String,
    /// The package's files kept with the deck and the hashes of the media its cards use, all
    /// stored already, as JSON.
    pub files: String,
    /// When the preview was made.
    pub created_at: i64,
}

/// Keeps `user_id`'s import for confirmation, replacing any earlier one.
pub async fn save(
    db: impl Executor<'_>,
    user_id: i64,
    token: &str,
    deck_name: &str,
    cards: &str,
    files: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO pending_imports (user_id, token, deck_name, cards, files, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (user_id) DO UPDATE SET token = excluded.token,
             deck_name = excluded.deck_name, cards = excluded.cards, files = excluded.files,
             created_at = excluded.created_at",
    )
    .bind(user_id)
    .bind(token)
    .bind(deck_name)
    .bind(cards)
    .bind(files)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Puts back `user_id`'s import `pending` (taken, then refused before anything was
/// written), unless they have previewed another since.
pub async fn put_back(
    db: impl Executor<'_>,
    user_id: i64,
    pending: &PendingImport,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO pending_imports (user_id, token, deck_name, cards, files, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(user_id)
    .bind(&pending.token)
    .bind(&pending.deck_name)
    .bind(&pending.cards)
    .bind(&pending.files)
    .bind(pending.created_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Takes (reads and deletes) `user_id`'s import with this token, if it is still there.
pub async fn take(
    db: impl Executor<'_>,
    user_id: i64,
    token: &str,
) -> Result<Option<PendingImport>, sqlx::Error> {
    sqlx::query_as(
        "DELETE FROM pending_imports WHERE user_id = $1 AND token = $2
         RETURNING token, deck_name, cards, files, created_at",
    )
    .bind(user_id)
    .bind(token)
    .fetch_optional(db)
    .await
}

/// Drops imports previewed before `before` and never confirmed.
pub async fn drop_older_than(db: impl Executor<'_>, before: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM pending_imports WHERE created_at < $1")
            .bind(before)
            .execute(db)
            .await?
            .rows_affected(),
    )
}
