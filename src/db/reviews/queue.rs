//! The review page's reads: the head of the queue with its counts, the first new card, the
//! next due day, and today's events. `db::hot` runs the same statements on the worker thread.

use super::{MaybeState, StateRow};
use crate::db::decks::CardRow;
use crate::db::{Backend, Executor};
use sqlx::FromRow;

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
    #[sqlx(try_from = "crate::db::Flag")]
    pub was_new: bool,
}

/// Today's grades and repeats that stand (not undone), oldest first.
pub async fn today_events(
    db: impl Executor<'_>,
    user_id: i64,
    today: i32,
) -> Result<Vec<TodayEventRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.card_id, c.deck_id, r.kind, r.quality,
                CASE WHEN r.kind = 'grade' AND r.repetitions_before IS NULL THEN 1 ELSE 0 END AS was_new
         FROM standing_reviews r JOIN cards c ON c.id = r.card_id
         WHERE r.user_id = $1 AND r.study_day = $2
         ORDER BY r.id",
    )
    .bind(user_id)
    .bind(today)
    .fetch_all(db)
    .await
}

/// The first unseen card of deck $2 (not in the decks listed in $3) for user $1.
pub(in crate::db) const FIRST_NEW_IN_DECK: &str =
    "SELECT c.id, c.deck_id, c.front, c.back, c.kind, c.generator, c.position, c.tags
     FROM cards c
     WHERE c.deck_id = $2 AND ($3 = '' OR instr($3, ',' || c.deck_id || ',') = 0)
       AND NOT EXISTS (SELECT 1 FROM review_states s WHERE s.user_id = $1 AND s.card_id = c.id)
     ORDER BY c.position, c.id LIMIT 1";

/// The first unseen card over every deck ($2 is NULL) but those listed in $3, the decks
/// interleaved by position, for user $1.
pub(in crate::db) const FIRST_NEW_INTERLEAVED: &str =
    "SELECT c.id, c.deck_id, c.front, c.back, c.kind, c.generator, c.position, c.tags
     FROM cards c
     WHERE $2 IS NULL AND ($3 = '' OR instr($3, ',' || c.deck_id || ',') = 0)
       AND NOT EXISTS (SELECT 1 FROM review_states s WHERE s.user_id = $1 AND s.card_id = c.id)
     ORDER BY c.position, c.deck_id, c.id LIMIT 1";

/// The next card this user never reviewed, in deck `only` (or all) but not in the `hidden`
/// deck list. New cards come interleaved across the decks in scope, by position: the first
/// card of every deck, then the second, and so on, so a student meets every deck (the
/// generated problems included) from the first day.
pub async fn first_new(
    db: impl Executor<'_>,
    user_id: i64,
    only: Option<i64>,
    hidden: &str,
) -> Result<Option<CardRow>, sqlx::Error> {
    // Two statements, so that each gets its index: (deck_id, position) for one deck,
    // (position, deck_id, id) for the interleaved walk over all of them.
    let sql = if only.is_some() {
        FIRST_NEW_IN_DECK
    } else {
        FIRST_NEW_INTERLEAVED
    };
    sqlx::query_as(sql)
        .bind(user_id)
        .bind(only)
        .bind(hidden)
        .fetch_optional(db)
        .await
}

/// The first day after $2 a card of user $1 is due, in deck $3 (all when NULL) but not in
/// the decks listed in $4.
pub(in crate::db) const NEXT_DUE_DAY_FILTERED: &str =
    "SELECT MIN(s.due_day) FROM review_states s JOIN cards c ON c.id = s.card_id
     WHERE s.user_id = $1 AND s.due_day > $2 AND ($3 IS NULL OR c.deck_id = $3)
       AND ($4 = '' OR instr($4, ',' || c.deck_id || ',') = 0)";

/// The earliest day after `today` on which a card falls due, in deck `only` (or all) but not
/// in the `hidden` deck list.
pub async fn next_due_day(
    db: impl Executor<'_>,
    user_id: i64,
    today: i32,
    only: Option<i64>,
    hidden: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(NEXT_DUE_DAY_FILTERED)
        .bind(user_id)
        .bind(today)
        .bind(only)
        .bind(hidden)
        .fetch_one(db)
        .await
}

/// The head of a user's queue in one round trip: counts, and the first due card with its
/// state and deck name (oldest due first).
#[derive(Debug, Clone, FromRow)]
pub struct QueueHeadRow {
    /// Today's standing grades and repeats, oldest first, as a JSON array of
    /// `[card_id, deck_id, quality, introduced]` (folded in here to save a round trip).
    pub today_events: String,
    /// Cards due by today.
    pub due_count: i64,
    /// Cards never reviewed.
    pub new_count: i64,
    /// The first due card, if any.
    pub card_id: Option<i64>,
    /// Its deck.
    pub deck_id: Option<i64>,
    /// Its deck's name.
    pub deck_name: Option<String>,
    /// Prompt.
    pub front: Option<String>,
    /// Answer.
    pub back: Option<String>,
    /// basic | generated.
    pub kind: Option<String>,
    /// Practice family of a generated card.
    pub generator: Option<String>,
    /// Position in its deck.
    pub position: Option<i64>,
    /// Tags.
    pub tags: Option<String>,
    /// The due card's state.
    #[sqlx(flatten)]
    pub state: MaybeState,
    /// Its FSRS stability, for a student on FSRS (the grade buttons preview FSRS).
    pub stability: Option<f64>,
    /// Its FSRS difficulty.
    pub difficulty: Option<f64>,
}

impl QueueHeadRow {
    /// The due card and its state, if there is one.
    pub fn due(&self) -> Option<(CardRow, StateRow)> {
        Some((
            CardRow {
                id: self.card_id?,
                deck_id: self.deck_id?,
                front: self.front.clone()?,
                back: self.back.clone()?,
                kind: self.kind.clone()?,
                generator: self.generator.clone(),
                position: self.position?,
                tags: self.tags.clone().unwrap_or_default(),
            },
            self.state.get()?,
        ))
    }
}

/// Counts and the first due card, in deck `only` (or all) but not in the `hidden` deck list,
/// in one query. Ties on the due day go by card id, which the `review_states_due` index yields
/// without sorting. With no deck chosen and nothing hidden (the common case) the per-row card
/// checks are skipped. The counts are sums over the tallies that triggers keep (migration
/// 0013): a few rows, where counting read every schedule the student has.
pub async fn queue_head(
    db: impl Executor<'_>,
    user_id: i64,
    today: i32,
    only: Option<i64>,
    hidden: &str,
) -> Result<QueueHeadRow, sqlx::Error> {
    if only.is_none() && hidden.is_empty() {
        // The common case, in its own statement: with the deck filters written out of the
        // SQL rather than switched off per row by `$3 IS NULL OR ...`, the counts are plain
        // index range counts (the filtered due count measured 4.6 times a plain one).
        let sql = match db.backend() {
            Backend::Sqlite => QUEUE_HEAD_ALL_DECKS,
            Backend::Postgres => QUEUE_HEAD_ALL_DECKS_POSTGRES,
        };
        return sqlx::query_as(sql)
            .bind(user_id)
            .bind(today)
            .fetch_one(db)
            .await;
    }
    let sql = match db.backend() {
        Backend::Sqlite => QUEUE_HEAD_FILTERED,
        Backend::Postgres => QUEUE_HEAD_FILTERED_POSTGRES,
    };
    sqlx::query_as(sql)
        .bind(user_id)
        .bind(today)
        .bind(only)
        .bind(hidden)
        .bind(today)
        .fetch_one(db)
        .await
}

/// The queue head's `today_events` column, today being parameter `$day`: today's standing
/// grades and repeats as `[card_id, deck_id, quality, introduced]`, oldest first. One text for
/// both statements (a macro, so they stay `&'static str` literals).
macro_rules! today_events {
    (sqlite, $day:literal) => {
        concat!(
            "(SELECT json_group_array(json_array(r.card_id, c.deck_id, r.quality,
                       r.kind = 'grade' AND r.repetitions_before IS NULL) ORDER BY r.id)
              FROM standing_reviews r JOIN cards c ON c.id = r.card_id
              WHERE r.user_id = $1 AND r.study_day = ",
            $day,
            ") AS today_events,"
        )
    };
    (postgres, $day:literal) => {
        concat!(
            "(SELECT CAST(COALESCE(json_agg(json_build_array(r.card_id, c.deck_id, r.quality,
                       CASE WHEN r.kind = 'grade' AND r.repetitions_before IS NULL
                            THEN 1 ELSE 0 END) ORDER BY r.id), '[]') AS TEXT)
              FROM standing_reviews r JOIN cards c ON c.id = r.card_id
              WHERE r.user_id = $1 AND r.study_day = ",
            $day,
            ") AS today_events,"
        )
    };
}

/// The queue head's picked card with its state and deck, after its counts: one text for both
/// statements.
macro_rules! head_card {
    () => {
        "
           c.id AS card_id, c.deck_id, d.name AS deck_name, c.front, c.back, c.kind, c.generator, c.position, c.tags,
           p.repetitions, p.easiness_hundredths, p.interval_days, p.due_day, p.lapses, p.last_reviewed_at,
           p.graded_day, p.stability, p.difficulty
         FROM (SELECT 1) AS one
         LEFT JOIN pick p ON true
         LEFT JOIN cards c ON c.id = p.card_id
         LEFT JOIN decks d ON d.id = c.deck_id"
    };
}

/// `queue_head` in deck $3 (or all when NULL) without the decks listed in $4 (",3,7,"):
/// $1 the user, $2 and $5 today.
macro_rules! queue_head_filtered {
    ($dialect:ident) => {
        concat!(
    "WITH pick AS (
            SELECT s.card_id, s.repetitions, s.easiness_hundredths, s.interval_days, s.due_day,
                   s.lapses, s.last_reviewed_at, s.graded_day, s.stability, s.difficulty
            FROM review_states s
            WHERE s.user_id = $1 AND s.due_day <= $2
              AND ($3 IS NULL OR EXISTS (SELECT 1 FROM cards c WHERE c.id = s.card_id AND c.deck_id = $3))
              AND ($4 = '' OR EXISTS (SELECT 1 FROM cards c WHERE c.id = s.card_id
                                      AND instr($4, ',' || c.deck_id || ',') = 0))
            ORDER BY s.due_day, s.card_id LIMIT 1)
         SELECT
",
    today_events!($dialect, "$5"),
    "
           (SELECT CAST(COALESCE(SUM(t.cards), 0) AS BIGINT) FROM due_tally t WHERE t.user_id = $1 AND t.due_day <= $2
              AND ($3 IS NULL OR t.deck_id = $3)
              AND ($4 = '' OR instr($4, ',' || t.deck_id || ',') = 0)) AS due_count,
           (SELECT CAST(COALESCE(SUM(t.cards), 0) AS BIGINT) FROM deck_tally t WHERE ($3 IS NULL OR t.deck_id = $3)
              AND ($4 = '' OR instr($4, ',' || t.deck_id || ',') = 0))
             - (SELECT CAST(COALESCE(SUM(t.cards), 0) AS BIGINT) FROM studied_tally t WHERE t.user_id = $1
                  AND ($3 IS NULL OR t.deck_id = $3)
                  AND ($4 = '' OR instr($4, ',' || t.deck_id || ',') = 0)) AS new_count,
",
    head_card!()
        )
    };
}

/// `queue_head` in deck $3 (or all when NULL) without the decks listed in $4, on SQLite.
pub(in crate::db) const QUEUE_HEAD_FILTERED: &str = queue_head_filtered!(sqlite);
/// The same on PostgreSQL.
const QUEUE_HEAD_FILTERED_POSTGRES: &str = queue_head_filtered!(postgres);

/// `queue_head` over every deck, nothing hidden: $1 the user, $2 today.
macro_rules! queue_head_all_decks {
    ($dialect:ident) => {
        concat!(
    "WITH pick AS (
            SELECT s.card_id, s.repetitions, s.easiness_hundredths, s.interval_days, s.due_day,
                   s.lapses, s.last_reviewed_at, s.graded_day, s.stability, s.difficulty
            FROM review_states s
            WHERE s.user_id = $1 AND s.due_day <= $2
            ORDER BY s.due_day, s.card_id LIMIT 1)
         SELECT
",
    today_events!($dialect, "$2"),
    "
           (SELECT CAST(COALESCE(SUM(cards), 0) AS BIGINT) FROM due_tally WHERE user_id = $1 AND due_day <= $2)
             AS due_count,
           (SELECT CAST(COALESCE(SUM(cards), 0) AS BIGINT) FROM deck_tally)
             - (SELECT CAST(COALESCE(SUM(cards), 0) AS BIGINT) FROM studied_tally WHERE user_id = $1) AS new_count,
",
    head_card!()
        )
    };
}

/// `queue_head` over every deck, on SQLite.
pub(in crate::db) const QUEUE_HEAD_ALL_DECKS: &str = queue_head_all_decks!(sqlite);
/// The same on PostgreSQL.
const QUEUE_HEAD_ALL_DECKS_POSTGRES: &str = queue_head_all_decks!(postgres);
