//! Review states (the schedule) and the append-only review history.

use sqlx::{FromRow, SqliteConnection, SqliteExecutor};

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

/// A state read through a LEFT JOIN or from an event's "before" columns: all NULL when the
/// card was new to the user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromRow)]
pub struct MaybeState {
    /// n.
    pub repetitions: Option<i64>,
    /// EF in hundredths.
    pub easiness_hundredths: Option<i64>,
    /// I in days.
    pub interval_days: Option<i64>,
    /// Due day.
    pub due_day: Option<i64>,
    /// Lapses.
    pub lapses: Option<i64>,
    /// Last review, Unix seconds.
    pub last_reviewed_at: Option<i64>,
}

impl MaybeState {
    /// The state, or None for a new card.
    pub fn get(&self) -> Option<StateRow> {
        Some(StateRow {
            repetitions: self.repetitions?,
            easiness_hundredths: self.easiness_hundredths?,
            interval_days: self.interval_days?,
            due_day: self.due_day?,
            lapses: self.lapses.unwrap_or(0),
            last_reviewed_at: self.last_reviewed_at.unwrap_or(0),
        })
    }
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
    /// For an undo: the day weight of the event it takes back (subtracted).
    pub takes_back: Option<DayWeight>,
}

/// What one event adds to its day in `review_days`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayWeight {
    /// Reviews (grades and repeats).
    pub reviews: i64,
    /// Grades of mature cards.
    pub mature_reviews: i64,
    /// Of those, graded 3 or more.
    pub mature_passed: i64,
    /// First grades of new cards (the daily new-card limit counts these).
    pub introduced: i64,
}

impl DayWeight {
    /// The weight of a grade or repeat given `quality` to a card whose interval was
    /// `interval_before` days (None: new).
    pub fn of(kind: &str, quality: Option<i64>, interval_before: Option<i64>) -> Self {
        let mature =
            kind == "grade" && interval_before.unwrap_or(0) >= super::stats::MATURE_INTERVAL_DAYS;
        Self {
            reviews: 1,
            mature_reviews: i64::from(mature),
            mature_passed: i64::from(mature && quality.unwrap_or(0) >= 3),
            introduced: i64::from(kind == "grade" && interval_before.is_none()),
        }
    }
}

impl NewEvent<'_> {
    /// What this event adds to its day.
    pub fn day_weight(&self) -> DayWeight {
        match (self.kind, self.takes_back) {
            ("undo", Some(w)) => DayWeight {
                reviews: -w.reviews,
                mature_reviews: -w.mature_reviews,
                mature_passed: -w.mature_passed,
                introduced: -w.introduced,
            },
            ("undo", None) => DayWeight::default(),
            (kind, _) => DayWeight::of(
                kind,
                self.quality.map(i64::from),
                self.before.map(|b| b.interval_days),
            ),
        }
    }
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
    /// The grade.
    pub quality: Option<i64>,
    /// The deck of the card.
    pub deck_id: i64,
    /// The state the event started from.
    #[sqlx(flatten)]
    pub before: MaybeState,
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

/// The user's latest grade or repeat of study day `today` that has not been undone: what
/// "Undo" takes back. Undo reaches back through today's session only.
pub async fn last_undoable(
    db: impl SqliteExecutor<'_>,
    user_id: i64,
    today: i32,
) -> Result<Option<EventRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.id, r.card_id, r.kind, r.quality, c.deck_id,
                r.repetitions_before AS repetitions, r.easiness_before AS easiness_hundredths,
                r.interval_before AS interval_days, r.due_day_before AS due_day,
                r.lapses_before AS lapses, r.last_reviewed_before AS last_reviewed_at
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

/// The first unseen card of deck ?2 (not in the decks listed in ?3) for user ?1.
pub(super) const FIRST_NEW_IN_DECK: &str =
    "SELECT c.id, c.deck_id, c.front, c.back, c.kind, c.generator, c.position, c.tags
     FROM cards c
     WHERE c.deck_id = ?2 AND (?3 = '' OR instr(?3, ',' || c.deck_id || ',') = 0)
       AND NOT EXISTS (SELECT 1 FROM review_states s WHERE s.user_id = ?1 AND s.card_id = c.id)
     ORDER BY c.position, c.id LIMIT 1";

/// The first unseen card over every deck (?2 is NULL) but those listed in ?3, the decks
/// interleaved by position, for user ?1.
pub(super) const FIRST_NEW_INTERLEAVED: &str =
    "SELECT c.id, c.deck_id, c.front, c.back, c.kind, c.generator, c.position, c.tags
     FROM cards c
     WHERE ?2 IS NULL AND (?3 = '' OR instr(?3, ',' || c.deck_id || ',') = 0)
       AND NOT EXISTS (SELECT 1 FROM review_states s WHERE s.user_id = ?1 AND s.card_id = c.id)
     ORDER BY c.position, c.deck_id, c.id LIMIT 1";

/// The next card this user never reviewed, in deck `only` (or all) but not in the `hidden`
/// deck list. New cards come interleaved across the decks in scope, by position: the first
/// card of every deck, then the second, and so on, so a student meets every deck (the
/// generated problems included) from the first day.
pub async fn first_new(
    db: impl SqliteExecutor<'_>,
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

/// The first day after ?2 a card of user ?1 is due, in deck ?3 (all when NULL) but not in
/// the decks listed in ?4.
pub(super) const NEXT_DUE_DAY_FILTERED: &str =
    "SELECT MIN(s.due_day) FROM review_states s JOIN cards c ON c.id = s.card_id
     WHERE s.user_id = ?1 AND s.due_day > ?2 AND (?3 IS NULL OR c.deck_id = ?3)
       AND (?4 = '' OR instr(?4, ',' || c.deck_id || ',') = 0)";

/// The earliest day after `today` on which a card falls due, in deck `only` (or all) but not
/// in the `hidden` deck list.
pub async fn next_due_day(
    db: impl SqliteExecutor<'_>,
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
    db: impl SqliteExecutor<'_>,
    user_id: i64,
    today: i32,
    only: Option<i64>,
    hidden: &str,
) -> Result<QueueHeadRow, sqlx::Error> {
    if only.is_none() && hidden.is_empty() {
        // The common case, in its own statement: with the deck filters written out of the
        // SQL rather than switched off per row by `?3 IS NULL OR ...`, the counts are plain
        // index range counts (the filtered due count measured 4.6 times a plain one).
        return sqlx::query_as(QUEUE_HEAD_ALL_DECKS)
            .bind(user_id)
            .bind(today)
            .fetch_one(db)
            .await;
    }
    sqlx::query_as(QUEUE_HEAD_FILTERED)
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
    ($day:literal) => {
        concat!(
            "(SELECT json_group_array(json_array(r.card_id, c.deck_id, r.quality,
                       r.kind = 'grade' AND r.repetitions_before IS NULL) ORDER BY r.id)
              FROM reviews r JOIN cards c ON c.id = r.card_id
              WHERE r.user_id = ?1 AND r.study_day = ",
            $day,
            " AND r.kind IN ('grade', 'repeat')
                AND NOT EXISTS (SELECT 1 FROM reviews u WHERE u.undoes = r.id)) AS today_events,"
        )
    };
}

/// `queue_head` in deck ?3 (or all when NULL) without the decks listed in ?4 (",3,7,"):
/// ?1 the user, ?2 and ?5 today.
pub(super) const QUEUE_HEAD_FILTERED: &str = concat!(
    "WITH pick AS (
            SELECT s.card_id, s.repetitions, s.easiness_hundredths, s.interval_days, s.due_day,
                   s.lapses, s.last_reviewed_at
            FROM review_states s
            WHERE s.user_id = ?1 AND s.due_day <= ?2
              AND (?3 IS NULL OR EXISTS (SELECT 1 FROM cards c WHERE c.id = s.card_id AND c.deck_id = ?3))
              AND (?4 = '' OR EXISTS (SELECT 1 FROM cards c WHERE c.id = s.card_id
                                      AND instr(?4, ',' || c.deck_id || ',') = 0))
            ORDER BY s.due_day, s.card_id LIMIT 1)
         SELECT
",
    today_events!("?5"),
    "
           (SELECT COALESCE(SUM(t.cards), 0) FROM due_tally t WHERE t.user_id = ?1 AND t.due_day <= ?2
              AND (?3 IS NULL OR t.deck_id = ?3)
              AND (?4 = '' OR instr(?4, ',' || t.deck_id || ',') = 0)) AS due_count,
           (SELECT COALESCE(SUM(t.cards), 0) FROM deck_tally t WHERE (?3 IS NULL OR t.deck_id = ?3)
              AND (?4 = '' OR instr(?4, ',' || t.deck_id || ',') = 0))
             - (SELECT COALESCE(SUM(t.cards), 0) FROM studied_tally t WHERE t.user_id = ?1
                  AND (?3 IS NULL OR t.deck_id = ?3)
                  AND (?4 = '' OR instr(?4, ',' || t.deck_id || ',') = 0)) AS new_count,
           c.id AS card_id, c.deck_id, d.name AS deck_name, c.front, c.back, c.kind, c.generator, c.position, c.tags,
           p.repetitions, p.easiness_hundredths, p.interval_days, p.due_day, p.lapses, p.last_reviewed_at
         FROM (SELECT 1) AS one
         LEFT JOIN pick p
         LEFT JOIN cards c ON c.id = p.card_id
         LEFT JOIN decks d ON d.id = c.deck_id"
);

/// `queue_head` over every deck, nothing hidden: ?1 the user, ?2 today.
pub(super) const QUEUE_HEAD_ALL_DECKS: &str = concat!(
    "WITH pick AS (
            SELECT s.card_id, s.repetitions, s.easiness_hundredths, s.interval_days, s.due_day,
                   s.lapses, s.last_reviewed_at
            FROM review_states s
            WHERE s.user_id = ?1 AND s.due_day <= ?2
            ORDER BY s.due_day, s.card_id LIMIT 1)
         SELECT
",
    today_events!("?2"),
    "
           (SELECT COALESCE(SUM(cards), 0) FROM due_tally WHERE user_id = ?1 AND due_day <= ?2)
             AS due_count,
           (SELECT COALESCE(SUM(cards), 0) FROM deck_tally)
             - (SELECT COALESCE(SUM(cards), 0) FROM studied_tally WHERE user_id = ?1) AS new_count,
           c.id AS card_id, c.deck_id, d.name AS deck_name, c.front, c.back, c.kind, c.generator, c.position, c.tags,
           p.repetitions, p.easiness_hundredths, p.interval_days, p.due_day, p.lapses, p.last_reviewed_at
         FROM (SELECT 1) AS one
         LEFT JOIN pick p
         LEFT JOIN cards c ON c.id = p.card_id
         LEFT JOIN decks d ON d.id = c.deck_id"
);

/// What grading one card needs to know, read inside the grade's transaction.
#[derive(Debug, Clone, FromRow)]
pub struct GradeContextRow {
    /// The card's state (all NULL: the card is new to this user).
    #[sqlx(flatten)]
    pub state: MaybeState,
    /// The grade of this card's latest standing event today, if any.
    pub last_quality_today: Option<i64>,
    /// This card's standing grades and repeats today.
    pub events_today: i64,
    /// New cards this user introduced today.
    pub introduced_today: i64,
}

/// How a write changes a card's state besides appending its event.
#[derive(Debug, Clone, Copy)]
pub enum StateChange<'a> {
    /// Leave it (a same-day repeat).
    Keep,
    /// Save this state.
    Put(&'a StateRow),
    /// Delete it: the card is new again (undo of its first grade).
    Delete,
}

/// A grade's context within a batch: `idx` is its position in the batch.
#[derive(Debug, Clone, FromRow)]
struct BatchContextRow {
    idx: i64,
    card_deck: Option<i64>,
    #[sqlx(flatten)]
    context: GradeContextRow,
}

/// The grading contexts of a whole batch of `(user, card, study day)` in one query (the batch
/// travels as one JSON parameter), each with its card's deck; None where the card does not
/// exist.
pub async fn grade_contexts(
    db: impl SqliteExecutor<'_>,
    items: &[(i64, i64, i32)],
) -> Result<Vec<Option<(i64, GradeContextRow)>>, sqlx::Error> {
    let json = serde_json::to_string(items).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let rows: Vec<BatchContextRow> = sqlx::query_as(
        "WITH j AS (
            SELECT CAST(key AS INTEGER) AS idx, json_extract(value, '$[0]') AS u,
                   json_extract(value, '$[1]') AS c, json_extract(value, '$[2]') AS d
            FROM json_each(?1))
         SELECT j.idx, c.deck_id AS card_deck,
                s.repetitions, s.easiness_hundredths, s.interval_days, s.due_day, s.lapses,
                s.last_reviewed_at,
                (SELECT r.quality FROM reviews r
                   WHERE r.user_id = j.u AND r.card_id = j.c AND r.study_day = j.d
                     AND r.kind IN ('grade', 'repeat')
                     AND NOT EXISTS (SELECT 1 FROM reviews u WHERE u.undoes = r.id)
                   ORDER BY r.id DESC LIMIT 1) AS last_quality_today,
                (SELECT COUNT(*) FROM reviews r
                   WHERE r.user_id = j.u AND r.card_id = j.c AND r.study_day = j.d
                     AND r.kind IN ('grade', 'repeat')
                     AND NOT EXISTS (SELECT 1 FROM reviews u WHERE u.undoes = r.id)) AS events_today,
                COALESCE((SELECT introduced FROM review_days
                          WHERE user_id = j.u AND study_day = j.d), 0) AS introduced_today
         FROM j
         LEFT JOIN cards c ON c.id = j.c
         LEFT JOIN review_states s ON s.user_id = j.u AND s.card_id = j.c
         ORDER BY j.idx",
    )
    .bind(json)
    .fetch_all(db)
    .await?;
    let mut out = vec![None; items.len()];
    for row in rows {
        if let Some(slot) = usize::try_from(row.idx).ok().and_then(|i| out.get_mut(i))
            && let Some(deck) = row.card_deck
        {
            *slot = Some((deck, row.context));
        }
    }
    Ok(out)
}

/// Everything a batch of grades writes, gathered to be written in one round trip.
#[derive(Debug, Default)]
pub struct BatchWrites {
    states: Vec<serde_json::Value>,
    /// `[user, card]` of states to delete (an undo of a card's first grade).
    deletes: Vec<serde_json::Value>,
    events: Vec<serde_json::Value>,
    days: std::collections::BTreeMap<(i64, i32), DayWeight>,
}

impl BatchWrites {
    /// Adds one event and its state change. Grades and undos both come through here, so the
    /// history, the states and the day rollup have one write path.
    pub fn push(&mut self, change: StateChange<'_>, e: &NewEvent<'_>) {
        match change {
            StateChange::Put(s) => self.states.push(serde_json::json!([
                e.user_id,
                e.card_id,
                s.repetitions,
                s.easiness_hundredths,
                s.interval_days,
                s.due_day,
                s.lapses,
                s.last_reviewed_at
            ])),
            StateChange::Delete => self.deletes.push(serde_json::json!([e.user_id, e.card_id])),
            StateChange::Keep => {}
        }
        let b = e.before.as_ref();
        let a = e.after.as_ref();
        self.events.push(serde_json::json!([
            e.user_id,
            e.card_id,
            e.study_day,
            e.kind,
            e.reviewed_at,
            e.quality,
            b.map(|s| s.repetitions),
            b.map(|s| s.easiness_hundredths),
            b.map(|s| s.interval_days),
            b.map(|s| s.due_day),
            b.map(|s| s.lapses),
            b.map(|s| s.last_reviewed_at),
            a.map(|s| s.repetitions),
            a.map(|s| s.easiness_hundredths),
            a.map(|s| s.interval_days),
            a.map(|s| s.due_day),
            e.response_ms,
            e.variant_seed,
            e.answer,
            e.suggested_quality,
            e.undoes
        ]));
        let w = e.day_weight();
        let day = self.days.entry((e.user_id, e.study_day)).or_default();
        day.reviews += w.reviews;
        day.mature_reviews += w.mature_reviews;
        day.mature_passed += w.mature_passed;
        day.introduced += w.introduced;
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// Writes a batch (grades, or an undo): states, events (in order, so ids follow the batch)
/// and day counts, as three statements over three JSON parameters in one round trip; an
/// undo's deleted state goes first, in a statement of its own.
pub async fn record_batch(db: &mut SqliteConnection, w: &BatchWrites) -> Result<(), sqlx::Error> {
    let days: Vec<serde_json::Value> = w
        .days
        .iter()
        .map(|((user, day), d)| {
            serde_json::json!([
                user,
                day,
                d.reviews,
                d.mature_reviews,
                d.mature_passed,
                d.introduced
            ])
        })
        .collect();
    let encode = |v: &Vec<serde_json::Value>| {
        serde_json::to_string(v).map_err(|e| sqlx::Error::Encode(Box::new(e)))
    };
    if !w.deletes.is_empty() {
        // Its own statement: sqlx counts the parameter numbers a statement skips against the
        // arguments of the statements after it, so one more JSON parameter below would shift.
        sqlx::query(
            "DELETE FROM review_states WHERE (user_id, card_id) IN
                 (SELECT value ->> 0, value ->> 1 FROM json_each(?1))",
        )
        .bind(encode(&w.deletes)?)
        .execute(&mut *db)
        .await?;
    }
    sqlx::query(
        "INSERT INTO review_states (user_id, card_id, repetitions, easiness_hundredths,
             interval_days, due_day, lapses, last_reviewed_at)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
                value ->> 6, value ->> 7
         FROM json_each(?1) WHERE true
         ON CONFLICT (user_id, card_id) DO UPDATE SET
             repetitions = excluded.repetitions,
             easiness_hundredths = excluded.easiness_hundredths,
             interval_days = excluded.interval_days,
             due_day = excluded.due_day,
             lapses = excluded.lapses,
             last_reviewed_at = excluded.last_reviewed_at;
         INSERT INTO reviews (user_id, card_id, study_day, kind, reviewed_at, quality,
             repetitions_before, easiness_before, interval_before, due_day_before, lapses_before,
             last_reviewed_before, repetitions_after, easiness_after, interval_after, due_day_after,
             response_ms, variant_seed, answer, suggested_quality, undoes)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
                value ->> 6, value ->> 7, value ->> 8, value ->> 9, value ->> 10, value ->> 11,
                value ->> 12, value ->> 13, value ->> 14, value ->> 15, value ->> 16, value ->> 17,
                value ->> 18, value ->> 19, value ->> 20
         FROM json_each(?2) ORDER BY CAST(key AS INTEGER);
         INSERT INTO review_days (user_id, study_day, reviews, mature_reviews, mature_passed,
             introduced)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5
         FROM json_each(?3) WHERE true
         ON CONFLICT (user_id, study_day) DO UPDATE SET
             reviews = reviews + excluded.reviews,
             mature_reviews = mature_reviews + excluded.mature_reviews,
             mature_passed = mature_passed + excluded.mature_passed,
             introduced = introduced + excluded.introduced",
    )
    .bind(encode(&w.states)?)
    .bind(encode(&w.events)?)
    .bind(encode(&days)?)
    .execute(db)
    .await?;
    Ok(())
}

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
    db: impl SqliteExecutor<'_>,
    user_id: i64,
    card_id: Option<i64>,
) -> Result<Vec<HistoryRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.card_id, c.front, r.kind, r.reviewed_at, r.quality, r.interval_after,
                r.easiness_after, r.due_day_after
         FROM reviews r JOIN cards c ON c.id = r.card_id
         WHERE r.user_id = ?1 AND (?2 IS NULL OR r.card_id = ?2)
         ORDER BY r.id",
    )
    .bind(user_id)
    .bind(card_id)
    .fetch_all(db)
    .await
}
