//! Review states (the schedule) and the append-only review history.

use sqlx::{FromRow, SqliteExecutor};

use super::decks::CardRow;

/// A card's schedule for one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct StateRow {
    /// n.
    pub repetitions: i64,
    /// EF in hundredths.
    pub easiness_hundredths: i64,
    /// I in days.
    pub interval_days: i64,
    /// Next due study day.
    pub due_day: i64,
    /// Times forgotten after being learned.
    pub lapses: i64,
    /// Unix seconds of the last review.
    pub last_reviewed_at: i64,
}

/// One history event to append.
#[derive(Debug, Clone, Default)]
pub struct NewEvent<'a> {
    /// Whose.
    pub user_id: i64,
    /// Which card.
    pub card_id: i64,
    /// grade | repeat | undo.
    pub kind: &'a str,
    /// For an undo, the event it takes back.
    pub undoes: Option<i64>,
    /// Unix seconds.
    pub reviewed_at: i64,
    /// The user's study day then.
    pub study_day: i32,
    /// The grade, 0..=5 (none for undo).
    pub quality: Option<u8>,
    /// The state before (None: the card was new).
    pub before: Option<StateRow>,
    /// The state after (None: the card is new again).
    pub after: Option<StateRow>,
    /// Time from showing the card to the grade.
    pub response_ms: Option<i64>,
    /// Generated problems: the variant's seed.
    pub variant_seed: Option<&'a str>,
    /// Generated problems: what the student typed.
    pub answer: Option<&'a str>,
    /// Generated problems: the grade the checker suggested.
    pub suggested_quality: Option<u8>,
}

/// A history event as read back for undo.
#[derive(Debug, Clone, FromRow)]
pub struct EventRow {
    /// Id.
    pub id: i64,
    /// Card.
    pub card_id: i64,
    /// grade | repeat.
    pub kind: String,
    /// The deck of the card.
    pub deck_id: i64,
    /// n before (NULL: was new).
    pub repetitions_before: Option<i64>,
    /// EF before.
    pub easiness_before: Option<i64>,
    /// I before.
    pub interval_before: Option<i64>,
    /// Due day before.
    pub due_day_before: Option<i64>,
    /// Lapses before.
    pub lapses_before: Option<i64>,
    /// Last review time before.
    pub last_reviewed_before: Option<i64>,
}

impl EventRow {
    /// The state this event started from (None when the card was new).
    pub fn before(&self) -> Option<StateRow> {
        Some(StateRow {
            repetitions: self.repetitions_before?,
            easiness_hundredths: self.easiness_before?,
            interval_days: self.interval_before?,
            due_day: self.due_day_before?,
            lapses: self.lapses_before.unwrap_or(0),
            last_reviewed_at: self.last_reviewed_before.unwrap_or(0),
        })
    }
}

/// One of today's grade or repeat events that has not been undone.
#[derive(Debug, Clone, FromRow)]
pub struct TodayEventRow {
    /// Card.
    pub card_id: i64,
    /// Its deck.
    pub deck_id: i64,
    /// grade | repeat.
    pub kind: String,
    /// The grade.
    pub quality: i64,
    /// Whether this grade introduced a new card.
    pub was_new: bool,
}

/// A user's state of one card.
pub async fn state(
    db: impl SqliteExecutor<'_>,
    user_id: i64,
    card_id: i64,
) -> Result<Option<StateRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT repetitions, easiness_hundredths, interval_days, due_day, lapses, last_reviewed_at
         FROM review_states WHERE user_id = ?1 AND card_id = ?2",
    )
    .bind(user_id)
    .bind(card_id)
    .fetch_optional(db)
    .await
}

/// Saves a user's state of one card.
pub async fn put_state(
    db: impl SqliteExecutor<'_>,
    user_id: i64,
    card_id: i64,
    s: &StateRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO review_states (user_id, card_id, repetitions, easiness_hundredths,
             interval_days, due_day, lapses, last_reviewed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (user_id, card_id) DO UPDATE SET
             repetitions = excluded.repetitions,
             easiness_hundredths = excluded.easiness_hundredths,
             interval_days = excluded.interval_days,
             due_day = excluded.due_day,
             lapses = excluded.lapses,
             last_reviewed_at = excluded.last_reviewed_at",
    )
    .bind(user_id)
    .bind(card_id)
    .bind(s.repetitions)
    .bind(s.easiness_hundredths)
    .bind(s.interval_days)
    .bind(s.due_day)
    .bind(s.lapses)
    .bind(s.last_reviewed_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Makes a card new again for a user.
pub async fn delete_state(
    db: impl SqliteExecutor<'_>,
    user_id: i64,
    card_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM review_states WHERE user_id = ?1 AND card_id = ?2")
        .bind(user_id)
        .bind(card_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Appends one event to the history.
pub async fn append(db: impl SqliteExecutor<'_>, e: &NewEvent<'_>) -> Result<i64, sqlx::Error> {
    let b = e.before.as_ref();
    let a = e.after.as_ref();
    sqlx::query_scalar(
        "INSERT INTO reviews (user_id, card_id, kind, undoes, reviewed_at, study_day, quality,
             repetitions_before, easiness_before, interval_before, due_day_before, lapses_before,
             last_reviewed_before, repetitions_after, easiness_after, interval_after, due_day_after,
             response_ms, variant_seed, answer, suggested_quality)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
             ?18, ?19, ?20, ?21)
         RETURNING id",
    )
    .bind(e.user_id)
    .bind(e.card_id)
    .bind(e.kind)
    .bind(e.undoes)
    .bind(e.reviewed_at)
    .bind(e.study_day)
    .bind(e.quality.map(i64::from))
    .bind(b.map(|s| s.repetitions))
    .bind(b.map(|s| s.easiness_hundredths))
    .bind(b.map(|s| s.interval_days))
    .bind(b.map(|s| s.due_day))
    .bind(b.map(|s| s.lapses))
    .bind(b.map(|s| s.last_reviewed_at))
    .bind(a.map(|s| s.repetitions))
    .bind(a.map(|s| s.easiness_hundredths))
    .bind(a.map(|s| s.interval_days))
    .bind(a.map(|s| s.due_day))
    .bind(e.response_ms)
    .bind(e.variant_seed)
    .bind(e.answer)
    .bind(e.suggested_quality.map(i64::from))
    .fetch_one(db)
    .await
}

/// The user's latest grade or repeat of study day `today` that has not been undone: what
/// "Undo" takes back. Undo reaches back through today's session only.
pub async fn last_undoable(
    db: impl SqliteExecutor<'_>,
    user_id: i64,
    today: i32,
) -> Result<Option<EventRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.id, r.card_id, r.kind, c.deck_id, r.repetitions_before, r.easiness_before,
                r.interval_before, r.due_day_before, r.lapses_before, r.last_reviewed_before
         FROM reviews r JOIN cards c ON c.id = r.card_id
         WHERE r.user_id = ?1 AND r.study_day = ?2 AND r.kind IN ('grade', 'repeat')
           AND NOT EXISTS (SELECT 1 FROM reviews u WHERE u.undoes = r.id)
         ORDER BY r.id DESC LIMIT 1",
    )
    .bind(user_id)
    .bind(today)
    .fetch_optional(db)
    .await
}

/// Today's grades and repeats that stand (not undone), oldest first.
pub async fn today_events(
    db: impl SqliteExecutor<'_>,
    user_id: i64,
    today: i32,
) -> Result<Vec<TodayEventRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.card_id, c.deck_id, r.kind, r.quality,
                (r.kind = 'grade' AND r.repetitions_before IS NULL) AS was_new
         FROM reviews r JOIN cards c ON c.id = r.card_id
         WHERE r.user_id = ?1 AND r.study_day = ?2 AND r.kind IN ('grade', 'repeat')
           AND NOT EXISTS (SELECT 1 FROM reviews u WHERE u.undoes = r.id)
         ORDER BY r.id",
    )
    .bind(user_id)
    .bind(today)
    .fetch_all(db)
    .await
}

/// The first card due by `today`, oldest due first, optionally in one deck.
pub async fn first_due(
    db: impl SqliteExecutor<'_>,
    user_id: i64,
    today: i32,
    deck_id: Option<i64>,
) -> Result<Option<CardRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.id, c.deck_id, c.front, c.back, c.kind, c.generator, c.position
         FROM review_states s JOIN cards c ON c.id = s.card_id
         WHERE s.user_id = ?1 AND s.due_day <= ?2 AND (?3 IS NULL OR c.deck_id = ?3)
         ORDER BY s.due_day, c.deck_id, c.position, c.id LIMIT 1",
    )
    .bind(user_id)
    .bind(today)
    .bind(deck_id)
    .fetch_optional(db)
    .await
}

/// The first card this user never reviewed, in deck order.
pub async fn first_new(
    db: impl SqliteExecutor<'_>,
    user_id: i64,
    deck_id: Option<i64>,
) -> Result<Option<CardRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.id, c.deck_id, c.front, c.back, c.kind, c.generator, c.position
         FROM cards c
         WHERE (?2 IS NULL OR c.deck_id = ?2)
           AND NOT EXISTS (SELECT 1 FROM review_states s WHERE s.user_id = ?1 AND s.card_id = c.id)
         ORDER BY c.deck_id, c.position, c.id LIMIT 1",
    )
    .bind(user_id)
    .bind(deck_id)
    .fetch_optional(db)
    .await
}

/// How many cards are due by `today` and how many were never reviewed, optionally in one deck.
pub async fn queue_counts(
    db: impl SqliteExecutor<'_>,
    user_id: i64,
    today: i32,
    deck_id: Option<i64>,
) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT
           (SELECT COUNT(*) FROM review_states s JOIN cards c ON c.id = s.card_id
             WHERE s.user_id = ?1 AND s.due_day <= ?2 AND (?3 IS NULL OR c.deck_id = ?3)),
           (SELECT COUNT(*) FROM cards c WHERE (?3 IS NULL OR c.deck_id = ?3) AND NOT EXISTS
             (SELECT 1 FROM review_states s WHERE s.user_id = ?1 AND s.card_id = c.id))",
    )
    .bind(user_id)
    .bind(today)
    .bind(deck_id)
    .fetch_one(db)
    .await
}

/// The earliest day after `today` on which a card falls due, optionally in one deck.
pub async fn next_due_day(
    db: impl SqliteExecutor<'_>,
    user_id: i64,
    today: i32,
    deck_id: Option<i64>,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT MIN(s.due_day) FROM review_states s JOIN cards c ON c.id = s.card_id
         WHERE s.user_id = ?1 AND s.due_day > ?2 AND (?3 IS NULL OR c.deck_id = ?3)",
    )
    .bind(user_id)
    .bind(today)
    .bind(deck_id)
    .fetch_one(db)
    .await
}
