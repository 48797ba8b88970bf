//! Aggregates of one user's schedule and history for /stats.

use crate::db::{Backend, Executor, Pool};
use sqlx::FromRow;

use crate::srs::rollup::MATURE_INTERVAL_DAYS;

/// Headline counts.
#[derive(Debug, Clone, Copy, FromRow)]
pub struct Counts {
    /// Grades and repeats today that stand.
    pub reviews_today: i64,
    /// Cards ever reviewed.
    pub learned: i64,
    /// Cards due by today.
    pub due_today: i64,
    /// Cards due tomorrow.
    pub due_tomorrow: i64,
}

/// Headline counts for `today`.
pub async fn counts(
    db: impl Executor<'_>,
    user_id: i64,
    today: i32,
) -> Result<Counts, sqlx::Error> {
    sqlx::query_as(
        "SELECT
           (SELECT COALESCE(CAST(SUM(reviews) AS BIGINT), 0) FROM review_days
              WHERE user_id = $1 AND study_day = $2) AS reviews_today,
           (SELECT COALESCE(CAST(SUM(cards) AS BIGINT), 0) FROM studied_tally WHERE user_id = $1) AS learned,
           (SELECT COALESCE(CAST(SUM(cards) AS BIGINT), 0) FROM due_tally WHERE user_id = $1 AND due_day <= $2)
             AS due_today,
           (SELECT COALESCE(CAST(SUM(cards) AS BIGINT), 0) FROM due_tally WHERE user_id = $1 AND due_day = $2 + 1)
             AS due_tomorrow",
    )
    .bind(user_id)
    .bind(today)
    .fetch_one(db)
    .await
}

/// Cards due per day before `until` (exclusive), overdue days included: `(day, count)`.
pub async fn due_per_day(
    db: impl Executor<'_>,
    user_id: i64,
    until: i32,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT due_day, CAST(SUM(cards) AS BIGINT) FROM due_tally WHERE user_id = $1 AND due_day < $2
         GROUP BY due_day HAVING CAST(SUM(cards) AS BIGINT) > 0 ORDER BY due_day",
    )
    .bind(user_id)
    .bind(until)
    .fetch_all(db)
    .await
}

/// Reviews per study day in `from..=to` that stand: `(day, count)`.
pub async fn reviews_per_day(
    db: impl Executor<'_>,
    user_id: i64,
    from: i32,
    to: i32,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT study_day, reviews FROM review_days
         WHERE user_id = $1 AND study_day BETWEEN $2 AND $3 AND reviews > 0
         ORDER BY study_day",
    )
    .bind(user_id)
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await
}

/// Reviews of mature cards, and how many of them passed (grade 3 or more): `(total, passed)`.
pub async fn mature_retention(
    db: impl Executor<'_>,
    user_id: i64,
) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT COALESCE(CAST(SUM(mature_reviews) AS BIGINT), 0), COALESCE(CAST(SUM(mature_passed) AS BIGINT), 0)
         FROM review_days WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_one(db)
    .await
}

/// Rebuilds `review_days` from the history (as migration 0003 first filled it): for tools
/// that write history directly, and as the reference the rollup is tested against.
pub async fn rebuild_review_days(db: &Pool) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM review_days")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO review_days (user_id, study_day, reviews, mature_reviews, mature_passed,
             introduced)
         SELECT r.user_id, r.study_day, COUNT(*),
                COALESCE(CAST(SUM(CASE WHEN r.kind = 'grade' AND r.interval_before >= $1 THEN 1 ELSE 0 END) AS BIGINT), 0),
                COALESCE(CAST(SUM(CASE WHEN r.kind = 'grade' AND r.interval_before >= $1 AND r.quality >= 3 THEN 1 ELSE 0 END) AS BIGINT), 0),
                COALESCE(CAST(SUM(CASE WHEN r.kind = 'grade' AND r.interval_before IS NULL THEN 1 ELSE 0 END) AS BIGINT), 0)
         FROM standing_reviews r
         GROUP BY r.user_id, r.study_day",
    )
    .bind(MATURE_INTERVAL_DAYS)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// One deck's cards for one user, by stage.
#[derive(Debug, Clone, FromRow)]
pub struct DeckStagesRow {
    /// Deck id.
    pub id: i64,
    /// Deck name.
    pub name: String,
    /// Cards in the deck.
    pub total: i64,
    /// Cards reviewed, interval under 21 days.
    pub learning: i64,
    /// Cards with an interval of 21 days or more.
    pub mature: i64,
}

/// `deck_stages`'s statement over the decks `$where` picks (sizes from the deck tally).
macro_rules! deck_stages_of {
    ($($where:tt)*) => {
        concat!(
            "WITH mine AS (
                SELECT c.deck_id,
                       CAST(SUM(CASE WHEN s.interval_days < $2 THEN 1 ELSE 0 END) AS BIGINT) AS learning,
                       CAST(SUM(CASE WHEN s.interval_days >= $2 THEN 1 ELSE 0 END) AS BIGINT) AS mature
                FROM review_states s JOIN cards c ON c.id = s.card_id
                WHERE s.user_id = $1 GROUP BY c.deck_id)
             SELECT d.id, d.name, COALESCE(z.cards, 0) AS total, COALESCE(m.learning, 0) AS learning,
                    COALESCE(m.mature, 0) AS mature
             FROM decks d LEFT JOIN deck_tally z ON z.deck_id = d.id
                  LEFT JOIN mine m ON m.deck_id = d.id ",
            $($where)*,
            " ORDER BY d.name COLLATE NOCASE"
        )
    };
}

/// `deck_stages` in the decks of $3, on PostgreSQL.
pub(in crate::db) const DECK_STAGES_IN_POSTGRES: &str =
    deck_stages_of!(concat!("WHERE ", crate::in_decks!(postgres, "d.id", "$3")));

/// The decks of `decks` (a JSON array; every deck when `None`) with this user's learning and
/// mature counts.
pub async fn deck_stages(
    db: impl Executor<'_>,
    user_id: i64,
    decks: Option<&str>,
) -> Result<Vec<DeckStagesRow>, sqlx::Error> {
    let Some(decks) = decks else {
        return sqlx::query_as(deck_stages_of!(""))
            .bind(user_id)
            .bind(MATURE_INTERVAL_DAYS)
            .fetch_all(db)
            .await;
    };
    let sql = match db.backend() {
        Backend::Sqlite => {
            deck_stages_of!(concat!("WHERE ", crate::in_decks!(sqlite, "d.id", "$3")))
        }
        Backend::Postgres => DECK_STAGES_IN_POSTGRES,
    };
    sqlx::query_as(sql)
        .bind(user_id)
        .bind(MATURE_INTERVAL_DAYS)
        .bind(decks)
        .fetch_all(db)
        .await
}

/// The study days from `from` on with at least one review that stands, latest first.
pub async fn study_days_desc(
    db: impl Executor<'_>,
    user_id: i64,
    from: i32,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT study_day FROM review_days WHERE user_id = $1 AND study_day >= $2 AND reviews > 0
         ORDER BY study_day DESC",
    )
    .bind(user_id)
    .bind(from)
    .fetch_all(db)
    .await
}

/// Today's study time (the sum of answer times, in milliseconds) and the cards due tomorrow,
/// for the end of a session.
pub async fn session_summary(
    db: impl Executor<'_>,
    user_id: i64,
    today: i32,
) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT (SELECT COALESCE(CAST(SUM(r.response_ms) AS BIGINT), 0) FROM standing_reviews r
                 WHERE r.user_id = $1 AND r.study_day = $2),
                (SELECT COALESCE(CAST(SUM(cards) AS BIGINT), 0) FROM due_tally
                 WHERE user_id = $1 AND due_day = $2 + 1)",
    )
    .bind(user_id)
    .bind(today)
    .fetch_one(db)
    .await
}
