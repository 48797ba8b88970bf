//! Checked answers to generated problems.

use crate::db::Executor;
use sqlx::FromRow;

/// A stored attempt.
#[derive(Debug, Clone, FromRow)]
pub struct AttemptRow {
    /// Id.
    pub id: i64,
    /// Family id.
    pub family: String,
    /// Variant seed.
    pub seed: i64,
    /// What was typed.
    pub answer: String,
    /// The verdict.
    #[sqlx(try_from = "crate::db::Flag")]
    pub correct: bool,
    /// The misconception named, if any.
    pub misconception: Option<String>,
    /// The grade suggested for a review.
    pub suggested_quality: i64,
    /// Time from showing the problem to the answer.
    pub response_ms: Option<i64>,
    /// The generated card, when answered in a review.
    pub card_id: Option<i64>,
}

/// A new attempt.
#[derive(Debug, Clone)]
pub struct NewAttempt<'a> {
    /// Whose.
    pub user_id: i64,
    /// Family id.
    pub family: &'a str,
    /// Variant seed.
    pub seed: i64,
    /// What was typed.
    pub answer: &'a str,
    /// The verdict.
    pub correct: bool,
    /// The misconception named.
    pub misconception: Option<&'a str>,
    /// Suggested grade.
    pub suggested_quality: u8,
    /// Response time.
    pub response_ms: Option<i64>,
    /// The card under review.
    pub card_id: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
}

/// Stores an attempt.
pub async fn insert(db: impl Executor<'_>, a: &NewAttempt<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO practice_attempts (user_id, family, seed, answer, correct, misconception,
             suggested_quality, response_ms, card_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(a.user_id)
    .bind(a.family)
    .bind(a.seed)
    .bind(a.answer)
    .bind(i64::from(a.correct))
    .bind(a.misconception)
    .bind(i64::from(a.suggested_quality))
    .bind(a.response_ms)
    .bind(a.card_id)
    .bind(a.created_at)
    .fetch_one(db)
    .await
}

/// One of this user's attempts (another user's is None).
pub async fn find(
    db: impl Executor<'_>,
    user_id: i64,
    id: i64,
) -> Result<Option<AttemptRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, family, seed, answer, correct, misconception, suggested_quality, response_ms,
                card_id
         FROM practice_attempts WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(db)
    .await
}
