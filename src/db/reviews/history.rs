//! A user's review history as the card page and the CSV download show it.

use crate::db::Executor;
use sqlx::FromRow;

/// One line of a user's review history, for the card page and the CSV download.
#[derive(Debug, Clone, FromRow)]
pub struct HistoryRow {
    /// Card id.
    pub card_id: i64,
    /// The card's front.
    pub front: String,
    /// grade | repeat | undo.
    pub kind: String,
    /// Unix seconds.
    pub reviewed_at: i64,
    /// The grade (none for an undo).
    pub quality: Option<i64>,
    /// The interval after it, days.
    pub interval_after: Option<i64>,
    /// EF after it, hundredths.
    pub easiness_after: Option<i64>,
    /// Next due day after it.
    pub due_day_after: Option<i64>,
}

/// A user's whole review history, or that of one card, oldest first.
pub async fn history(
    db: impl Executor<'_>,
    user_id: i64,
    card_id: Option<i64>,
) -> Result<Vec<HistoryRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.card_id, c.front, r.kind, r.reviewed_at, r.quality, r.interval_after,
                r.easiness_after, r.due_day_after
         FROM reviews r JOIN cards c ON c.id = r.card_id
         WHERE r.user_id = $1 AND ($2 IS NULL OR r.card_id = $2)
         ORDER BY r.id",
    )
    .bind(user_id)
    .bind(card_id)
    .fetch_all(db)
    .await
}
