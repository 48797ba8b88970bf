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

/// The condition "`$column` is one of the decks of the JSON array parameter `$param`", in a
/// dialect: how every scoped query filters by the learner's decks.
///
/// On PostgreSQL `= ANY(array)`, not `IN (SELECT unnest(...))`: the planner turns the subquery
/// into a semi join and, its generic plan not knowing the list is two decks long, hashes a
/// sequential scan of every deck on the site against it (the deck list page 0.09 ms on a fresh
/// site, 0.8 ms beside 2,000 other decks), where `= ANY` is an index condition, one lookup
/// per listed deck whatever the site holds.
#[macro_export]
macro_rules! in_decks {
    (sqlite, $column:literal, $param:literal) => {
        concat!($column, " IN ", $crate::decks_in!(sqlite, $param))
    };
    (postgres, $column:literal, $param:literal) => {
        concat!(
            $column,
            " = ANY(CAST(translate(",
            $param,
            ", '[]', '{}') AS BIGINT[]))"
        )
    };
}

/// The decks of a JSON array parameter (`[3,7]`) as a subquery, in a dialect: what a scoped
/// query reads its decks from, one index lookup per deck, so that its cost follows the
/// learner's decks and not the site's.
#[macro_export]
macro_rules! decks_in {
    (sqlite, $param:literal) => {
        concat!("(SELECT value FROM json_each(", $param, "))")
    };
    // An array, not `json_array_elements_text`: the planner reckons a set-returning JSON
    // function at 100 rows and then scans a whole tally table to hash it (5 ms on a site of
    // 2,000 decks), where `unnest` of an array is reckoned at 10 and looked up by index.
    (postgres, $param:literal) => {
        concat!(
            "(SELECT unnest(CAST(translate(",
            $param,
            ", '[]', '{}') AS BIGINT[])) AS value)"
        )
    };
}

/// The condition "user `$user` took card `$card` out of study day `$day`'s queue": suspended,
/// buried that day, or (with `skipped`) skipped that day (`card_controls`, migration 0025).
#[macro_export]
macro_rules! held_back {
    ($user:literal, $card:literal, $day:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM card_controls f WHERE f.user_id = ",
            $user,
            " AND f.card_id = ",
            $card,
            " AND (f.suspended_at IS NOT NULL OR f.buried_day = ",
            $day,
            "))"
        )
    };
    ($user:literal, $card:literal, $day:literal, skipped) => {
        concat!(
            "EXISTS (SELECT 1 FROM card_controls f WHERE f.user_id = ",
            $user,
            " AND f.card_id = ",
            $card,
            " AND (f.suspended_at IS NOT NULL OR f.buried_day = ",
            $day,
            " OR f.skipped_day = ",
            $day,
            "))"
        )
    };
}

/// The first unseen card over every deck, the decks interleaved by position, for user $1 on
/// study day $2 (not suspended, buried or skipped that day).
pub(in crate::db) const FIRST_NEW_EVERY_DECK: &str = concat!(
    "SELECT c.id, c.deck_id, c.front, c.back, c.kind, c.generator, c.position, c.tags, c.format
     FROM cards c
     WHERE NOT EXISTS (SELECT 1 FROM review_states s WHERE s.user_id = $1 AND s.card_id = c.id)
       AND NOT ",
    crate::held_back!("$1", "c.id", "$2", skipped),
    " ORDER BY c.position, c.deck_id, c.id LIMIT 1"
);

/// The first unseen card of the decks in $2 (a JSON array) for user $1, interleaved by
/// position: each deck's first unseen card (its `(deck_id, position)` index), then the first
/// of those. A site's other decks are never read.
macro_rules! first_new_in_decks {
    ($dialect:ident) => {
        concat!(
            "SELECT c.id, c.deck_id, c.front, c.back, c.kind, c.generator, c.position, c.tags, c.format
             FROM cards c
             WHERE c.id IN (
                SELECT (SELECT c2.id FROM cards c2
                        WHERE c2.deck_id = v.value
                          AND NOT EXISTS (SELECT 1 FROM review_states s
                                          WHERE s.user_id = $1 AND s.card_id = c2.id)
                          AND NOT ",
            crate::held_back!("$1", "c2.id", "$3", skipped),
            "
                        ORDER BY c2.position, c2.id LIMIT 1)
                FROM ",
            crate::decks_in!($dialect, "$2"),
            " AS v)
             ORDER BY c.position, c.deck_id, c.id LIMIT 1"
        )
    };
}

/// `first_new_in_decks!` on SQLite.
pub(in crate::db) const FIRST_NEW_IN_DECKS: &str = first_new_in_decks!(sqlite);
/// The same on PostgreSQL.
pub(in crate::db) const FIRST_NEW_IN_DECKS_POSTGRES: &str = first_new_in_decks!(postgres);

/// The next card this user never reviewed, in the decks of `decks` (a JSON array; every deck
/// when `None`). New cards come interleaved across the decks in scope, by position: the
/// first card of every deck, then the second, and so on, so a student meets every deck (the
/// generated problems included) from the first day. Cards the user suspended, or buried or
/// skipped on study day `today`, wait.
pub async fn first_new(
    db: impl Executor<'_>,
    user_id: i64,
    today: i32,
    decks: Option<&str>,
) -> Result<Option<CardRow>, sqlx::Error> {
    let Some(decks) = decks else {
        return sqlx::query_as(FIRST_NEW_EVERY_DECK)
            .bind(user_id)
            .bind(today)
            .fetch_optional(db)
            .await;
    };
    let sql = match db.backend() {
        Backend::Sqlite => FIRST_NEW_IN_DECKS,
        Backend::Postgres => FIRST_NEW_IN_DECKS_POSTGRES,
    };
    sqlx::query_as(sql)
        .bind(user_id)
        .bind(decks)
        .bind(today)
        .fetch_optional(db)
        .await
}

/// "User $1 suspended card `$card`".
macro_rules! suspended {
    ($card:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM card_controls f WHERE f.user_id = $1 AND f.card_id = ",
            $card,
            " AND f.suspended_at IS NOT NULL)"
        )
    };
}

/// The first day after $2 a card of user $1 is due, over every deck (not a suspended one).
pub(in crate::db) const NEXT_DUE_DAY_EVERY_DECK: &str = concat!(
    "SELECT MIN(s.due_day) FROM review_states s WHERE s.user_id = $1 AND s.due_day > $2",
    " AND NOT ",
    suspended!("s.card_id")
);

/// The first day after $2 a card of user $1 is due, in the decks of $3 (a JSON array).
macro_rules! next_due_day_in_decks {
    ($dialect:ident) => {
        concat!(
            "SELECT MIN(s.due_day) FROM review_states s JOIN cards c ON c.id = s.card_id
             WHERE s.user_id = $1 AND s.due_day > $2 AND NOT ",
            suspended!("s.card_id"),
            " AND ",
            crate::in_decks!($dialect, "c.deck_id", "$3")
        )
    };
}

/// `next_due_day_in_decks!` on SQLite.
pub(in crate::db) const NEXT_DUE_DAY_IN_DECKS: &str = next_due_day_in_decks!(sqlite);
/// The same on PostgreSQL.
pub(in crate::db) const NEXT_DUE_DAY_IN_DECKS_POSTGRES: &str = next_due_day_in_decks!(postgres);

/// The earliest day after `today` on which a card falls due, in the decks of `decks` (every
/// deck when `None`).
pub async fn next_due_day(
    db: impl Executor<'_>,
    user_id: i64,
    today: i32,
    decks: Option<&str>,
) -> Result<Option<i64>, sqlx::Error> {
    let Some(decks) = decks else {
        return sqlx::query_scalar(NEXT_DUE_DAY_EVERY_DECK)
            .bind(user_id)
            .bind(today)
            .fetch_one(db)
            .await;
    };
    let sql = match db.backend() {
        Backend::Sqlite => NEXT_DUE_DAY_IN_DECKS,
        Backend::Postgres => NEXT_DUE_DAY_IN_DECKS_POSTGRES,
    };
    sqlx::query_scalar(sql)
        .bind(user_id)
        .bind(today)
        .bind(decks)
        .fetch_one(db)
        .await
}

/// The versions of user $1's review data and of the site's cards (migration 0041's triggers
/// keep them on SQLite): a kept copy of the review page's reads is current while both stand.
pub(in crate::db) const QUEUE_VERSIONS: &str =
    "SELECT COALESCE((SELECT version FROM queue_versions WHERE user_id = $1), 0),
            COALESCE((SELECT version FROM queue_versions WHERE user_id = 0), 0)";

/// The version of `user_id`'s schedules, history and card controls, and of every card and
/// deck (`QUEUE_VERSIONS`).
pub async fn queue_versions(
    db: impl Executor<'_>,
    user_id: i64,
) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(QUEUE_VERSIONS)
        .bind(user_id)
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
    /// The user's controls in force today (suspended, buried or skipped cards) as a JSON
    /// array of `[card_id, suspended (1), buried today (2) or skipped (0), skip order or
    /// null]`.
    pub controls: String,
    /// Cards due by today (not suspended or buried).
    pub due_count: i64,
    /// Cards never reviewed (not suspended or buried).
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
    /// How its sides are stored (`markup::Format`).
    pub format: Option<String>,
    /// The due card's state.
    #[sqlx(flatten)]
    pub state: MaybeState,
    /// Its FSRS stability, for a student on FSRS (the grade buttons preview FSRS).
    pub stability: Option<f64>,
    /// Its FSRS difficulty.
    pub difficulty: Option<f64>,
    /// Its standing failed grades (`controls::failures`: the page flags a leech), 0 when no
    /// card is due.
    pub failures: i64,
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
                format: self.format.clone().unwrap_or_default(),
            },
            self.state.get()?,
        ))
    }
}

/// Counts and the first due card, in the decks of `decks` (a JSON array; every deck when
/// `None`), in one query. Ties on the due day go by card id, which the `review_states_due`
/// index yields without sorting. Over every deck (a learner who sees them all, the common
/// case on a one-course site) the per-row card checks are skipped. The counts are sums over
/// the tallies that triggers keep (migration 0013): a few rows per deck in scope.
pub async fn queue_head(
    db: impl Executor<'_>,
    user_id: i64,
    today: i32,
    decks: Option<&str>,
) -> Result<QueueHeadRow, sqlx::Error> {
    let Some(decks) = decks else {
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
    };
    let sql = match db.backend() {
        Backend::Sqlite => QUEUE_HEAD_FILTERED,
        Backend::Postgres => QUEUE_HEAD_FILTERED_POSTGRES,
    };
    sqlx::query_as(sql)
        .bind(user_id)
        .bind(today)
        .bind(decks)
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

/// The queue head's `controls` column, today being $2: the user's controls in force today.
macro_rules! controls_today {
    (sqlite) => {
        "(SELECT json_group_array(json_array(f.card_id,
                   CASE WHEN f.suspended_at IS NOT NULL THEN 1 WHEN f.buried_day = $2 THEN 2
                        ELSE 0 END,
                   CASE WHEN f.skipped_day = $2 THEN f.skip_seq END))
          FROM card_controls f
          WHERE f.user_id = $1
            AND (f.suspended_at IS NOT NULL OR f.buried_day = $2 OR f.skipped_day = $2)) AS controls,"
    };
    (postgres) => {
        "(SELECT CAST(COALESCE(json_agg(json_build_array(f.card_id,
                   CASE WHEN f.suspended_at IS NOT NULL THEN 1 WHEN f.buried_day = $2 THEN 2
                        ELSE 0 END,
                   CASE WHEN f.skipped_day = $2 THEN f.skip_seq END)), '[]') AS TEXT)
          FROM card_controls f
          WHERE f.user_id = $1
            AND (f.suspended_at IS NOT NULL OR f.buried_day = $2 OR f.skipped_day = $2)) AS controls,"
    };
}

/// The queue head's picked card with its state and deck, after its counts: one text for both
/// statements.
macro_rules! head_card {
    () => {
        "
           c.id AS card_id, c.deck_id, d.name AS deck_name, c.front, c.back, c.kind, c.generator, c.position, c.tags, c.format,
           p.repetitions, p.easiness_hundredths, p.interval_days, p.due_day, p.lapses, p.last_reviewed_at,
           p.graded_day, p.stability, p.difficulty,
           (SELECT COUNT(*) FROM standing_reviews r
             WHERE r.user_id = $1 AND r.card_id = p.card_id AND r.kind = 'grade'
               AND r.quality < 3) AS failures
         FROM (SELECT 1) AS one
         LEFT JOIN pick p ON true
         LEFT JOIN cards c ON c.id = p.card_id
         LEFT JOIN decks d ON d.id = c.deck_id"
    };
}

/// `queue_head` in the decks of $3 (a JSON array): $1 the user, $2 and $4 today. The deck
/// card counts are read for those decks only (one lookup each), the user's own tallies and
/// due schedules are filtered by them.
macro_rules! queue_head_filtered {
    ($dialect:ident) => {
        concat!(
    "WITH pick AS (
            SELECT s.card_id, s.repetitions, s.easiness_hundredths, s.interval_days, s.due_day,
                   s.lapses, s.last_reviewed_at, s.graded_day, s.stability, s.difficulty
            FROM review_states s
            WHERE s.user_id = $1 AND s.due_day <= $2
              AND EXISTS (SELECT 1 FROM cards c WHERE c.id = s.card_id AND ", crate::in_decks!($dialect, "c.deck_id", "$3"),
    ")
              AND NOT ",
    crate::held_back!("$1", "s.card_id", "$2", skipped),
    "
            ORDER BY s.due_day, s.card_id LIMIT 1)
         SELECT
",
    today_events!($dialect, "$4"),
    controls_today!($dialect),
    "
           (SELECT CAST(COALESCE(SUM(t.cards), 0) AS BIGINT) FROM due_tally t WHERE t.user_id = $1 AND t.due_day <= $2
              AND ", crate::in_decks!($dialect, "t.deck_id", "$3"),
    ")
             - (SELECT COUNT(*) FROM card_controls f
                  JOIN review_states s ON s.user_id = f.user_id AND s.card_id = f.card_id
                  JOIN cards c ON c.id = f.card_id
                WHERE f.user_id = $1 AND s.due_day <= $2
                  AND (f.suspended_at IS NOT NULL OR f.buried_day = $2) AND ", crate::in_decks!($dialect, "c.deck_id", "$3"),
    ") AS due_count,
           (SELECT CAST(COALESCE(SUM(t.cards), 0) AS BIGINT) FROM deck_tally t WHERE ", crate::in_decks!($dialect, "t.deck_id", "$3"),
    ")
             - (SELECT CAST(COALESCE(SUM(t.cards), 0) AS BIGINT) FROM studied_tally t WHERE t.user_id = $1
                  AND ", crate::in_decks!($dialect, "t.deck_id", "$3"),
    ")
             - (SELECT COUNT(*) FROM card_controls f JOIN cards c ON c.id = f.card_id
                WHERE f.user_id = $1 AND (f.suspended_at IS NOT NULL OR f.buried_day = $2)
                  AND NOT EXISTS (SELECT 1 FROM review_states s
                                  WHERE s.user_id = $1 AND s.card_id = f.card_id)
                  AND ", crate::in_decks!($dialect, "c.deck_id", "$3"),
    ") AS new_count,
",
    head_card!()
        )
    };
}

/// `queue_head` in the decks of $3, on SQLite.
pub(in crate::db) const QUEUE_HEAD_FILTERED: &str = queue_head_filtered!(sqlite);
/// The same on PostgreSQL.
pub(in crate::db) const QUEUE_HEAD_FILTERED_POSTGRES: &str = queue_head_filtered!(postgres);

/// `queue_head` over every deck: $1 the user, $2 today.
macro_rules! queue_head_all_decks {
    ($dialect:ident) => {
        concat!(
    "WITH pick AS (
            SELECT s.card_id, s.repetitions, s.easiness_hundredths, s.interval_days, s.due_day,
                   s.lapses, s.last_reviewed_at, s.graded_day, s.stability, s.difficulty
            FROM review_states s
            WHERE s.user_id = $1 AND s.due_day <= $2 AND NOT ",
    crate::held_back!("$1", "s.card_id", "$2", skipped),
    "
            ORDER BY s.due_day, s.card_id LIMIT 1)
         SELECT
",
    today_events!($dialect, "$2"),
    controls_today!($dialect),
    "
           (SELECT CAST(COALESCE(SUM(cards), 0) AS BIGINT) FROM due_tally WHERE user_id = $1 AND due_day <= $2)
             - (SELECT COUNT(*) FROM card_controls f
                  JOIN review_states s ON s.user_id = f.user_id AND s.card_id = f.card_id
                WHERE f.user_id = $1 AND s.due_day <= $2
                  AND (f.suspended_at IS NOT NULL OR f.buried_day = $2))
             AS due_count,
           (SELECT CAST(COALESCE(SUM(cards), 0) AS BIGINT) FROM deck_tally)
             - (SELECT CAST(COALESCE(SUM(cards), 0) AS BIGINT) FROM studied_tally WHERE user_id = $1)
             - (SELECT COUNT(*) FROM card_controls f
                WHERE f.user_id = $1 AND (f.suspended_at IS NOT NULL OR f.buried_day = $2)
                  AND NOT EXISTS (SELECT 1 FROM review_states s
                                  WHERE s.user_id = $1 AND s.card_id = f.card_id)) AS new_count,
",
    head_card!()
        )
    };
}

/// `queue_head` over every deck, on SQLite.
pub(in crate::db) const QUEUE_HEAD_ALL_DECKS: &str = queue_head_all_decks!(sqlite);
/// The same on PostgreSQL.
const QUEUE_HEAD_ALL_DECKS_POSTGRES: &str = queue_head_all_decks!(postgres);
