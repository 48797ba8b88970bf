//! What grades and undos write, and what they read inside their transaction first. Both go
//! through one batch writer, `record_batch`.

use super::{MaybeState, StateRow};
use crate::db::{Backend, Conn, Executor};
use crate::srs::rollup::DayWeight;
use sqlx::FromRow;
use std::collections::HashMap;
use std::sync::LazyLock;

/// One history event to append.
#[derive(Debug, Clone, Default)]
pub struct NewEvent<'a> {
    /// The card's FSRS memory (stability, difficulty) after a grade, for a student on FSRS:
    /// saved with the state.
    pub memory_after: Option<(f64, f64)>,
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

impl NewEvent<'_> {
    /// What this event adds to its day.
    pub fn day_weight(&self) -> DayWeight {
        match (self.kind, self.takes_back) {
            ("undo", Some(w)) => w.taken_back(),
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
    /// A generated card's variant, so an undo can bring back the same numbers.
    pub variant_seed: Option<String>,
    /// The state the event started from.
    #[sqlx(flatten)]
    pub before: MaybeState,
}

/// A user's state of one card.
pub async fn state(
    db: impl Executor<'_>,
    user_id: i64,
    card_id: i64,
) -> Result<Option<StateRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT repetitions, easiness_hundredths, interval_days, due_day, lapses, last_reviewed_at,
                graded_day
         FROM review_states WHERE user_id = $1 AND card_id = $2",
    )
    .bind(user_id)
    .bind(card_id)
    .fetch_optional(db)
    .await
}

/// The user's latest grade or repeat of study day `today` that has not been undone: what
/// "Undo" takes back. Undo reaches back through today's session only.
pub async fn last_undoable(
    db: impl Executor<'_>,
    user_id: i64,
    today: i32,
) -> Result<Option<EventRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.id, r.card_id, r.kind, r.quality, c.deck_id, r.variant_seed,
                r.repetitions_before AS repetitions, r.easiness_before AS easiness_hundredths,
                r.interval_before AS interval_days, r.due_day_before AS due_day,
                r.lapses_before AS lapses, r.last_reviewed_before AS last_reviewed_at
         FROM standing_reviews r JOIN cards c ON c.id = r.card_id
         WHERE r.user_id = $1 AND r.study_day = $2
         ORDER BY r.id DESC LIMIT 1",
    )
    .bind(user_id)
    .bind(today)
    .fetch_optional(db)
    .await
}

/// The study day of the user's latest standing grade of a card other than event `except`:
/// when the state an undo restores was graded (the history's before-columns do not keep it).
pub async fn last_grade_day(
    db: impl Executor<'_>,
    user_id: i64,
    card_id: i64,
    except: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT study_day FROM standing_reviews
         WHERE user_id = $1 AND card_id = $2 AND kind = 'grade' AND id <> $3
         ORDER BY id DESC LIMIT 1",
    )
    .bind(user_id)
    .bind(card_id)
    .bind(except)
    .fetch_optional(db)
    .await
}

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
    /// The card's FSRS stability, for a student on FSRS.
    pub stability: Option<f64>,
    /// The card's FSRS difficulty, for a student on FSRS.
    pub difficulty: Option<f64>,
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

/// Where a batch of grades reads what it needs and writes what it decided: a transaction
/// through sqlx ([`Conn`]), or the SQLite grade writer's (`db::grade_writer`), which runs the
/// same statements inline on its own thread. The grading itself (`study::review`) is written
/// once, against this.
// The futures are only ever awaited by the one caller that picked the store.
#[allow(async_fn_in_trait)]
pub trait GradeStore {
    /// [`grade_contexts`].
    async fn grade_contexts(
        &mut self,
        items: &[(i64, i64, i32)],
    ) -> Result<Vec<Option<(i64, GradeContextRow)>>, sqlx::Error>;
    /// `exams::window_loads`.
    async fn window_loads(
        &mut self,
        user_id: i64,
        decks: &[i64],
        first: i32,
        last: i32,
    ) -> Result<HashMap<i32, u32>, sqlx::Error>;
    /// [`record_batch`].
    async fn record_batch(&mut self, w: &BatchWrites) -> Result<(), sqlx::Error>;
}

impl GradeStore for Conn {
    async fn grade_contexts(
        &mut self,
        items: &[(i64, i64, i32)],
    ) -> Result<Vec<Option<(i64, GradeContextRow)>>, sqlx::Error> {
        grade_contexts(self, items).await
    }

    async fn window_loads(
        &mut self,
        user_id: i64,
        decks: &[i64],
        first: i32,
        last: i32,
    ) -> Result<HashMap<i32, u32>, sqlx::Error> {
        crate::db::exams::window_loads(self, user_id, decks, first, last).await
    }

    async fn record_batch(&mut self, w: &BatchWrites) -> Result<(), sqlx::Error> {
        record_batch(self, w).await
    }
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
    db: impl Executor<'_>,
    items: &[(i64, i64, i32)],
) -> Result<Vec<Option<(i64, GradeContextRow)>>, sqlx::Error> {
    let json = serde_json::to_string(items).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let sql: &str = match db.backend() {
        Backend::Sqlite => &GRADE_CONTEXTS[0],
        Backend::Postgres => &GRADE_CONTEXTS[1],
    };
    let rows: Vec<BatchContextRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
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

/// The part of `grade_contexts`' statement both dialects and both paths share: it reads its
/// rows from `j` (idx, user, card, study day).
const GRADE_CONTEXT_BODY: &str = "SELECT j.idx, c.deck_id AS card_deck,
                s.repetitions, s.easiness_hundredths, s.interval_days, s.due_day, s.lapses,
                s.last_reviewed_at, s.graded_day, s.stability, s.difficulty,
                (SELECT r.quality FROM standing_reviews r
                   WHERE r.user_id = j.u AND r.card_id = j.c AND r.study_day = j.d
                   ORDER BY r.id DESC LIMIT 1) AS last_quality_today,
                (SELECT COUNT(*) FROM standing_reviews r
                   WHERE r.user_id = j.u AND r.card_id = j.c AND r.study_day = j.d)
                  AS events_today,
                COALESCE((SELECT introduced FROM review_days
                          WHERE user_id = j.u AND study_day = j.d), 0) AS introduced_today
         FROM j
         LEFT JOIN cards c ON c.id = j.c
         LEFT JOIN review_states s ON s.user_id = j.u AND s.card_id = j.c
         ORDER BY j.idx";

/// `grade_contexts`' statement, on SQLite and on PostgreSQL: only the rows of the JSON
/// parameter are read differently.
static GRADE_CONTEXTS: LazyLock<[String; 2]> = LazyLock::new(|| {
    let body = GRADE_CONTEXT_BODY;
    [
        format!(
            "WITH j AS (
                SELECT CAST(key AS INTEGER) AS idx, json_extract(value, '$[0]') AS u,
                       json_extract(value, '$[1]') AS c, json_extract(value, '$[2]') AS d
                FROM json_each($1))
             {body}"
        ),
        format!(
            "WITH j AS (
                SELECT n - 1 AS idx, CAST(value ->> 0 AS BIGINT) AS u,
                       CAST(value ->> 1 AS BIGINT) AS c, CAST(value ->> 2 AS BIGINT) AS d
                FROM json_array_elements(CAST($1 AS json)) WITH ORDINALITY AS e(value, n))
             {body}"
        ),
    ]
});

/// The same statement for one grade, its user, card and study day bound as `?1` to `?3`:
/// what the SQLite grade writer prepares once and runs for each grade of a batch.
pub(crate) static GRADE_CONTEXT_ONE: LazyLock<String> = LazyLock::new(|| {
    format!("WITH j AS (SELECT 0 AS idx, ?1 AS u, ?2 AS c, ?3 AS d) {GRADE_CONTEXT_BODY}")
});

/// A state row of a batch, as a named JSON object (`value ->> '$.due_day'` in SQL): a field
/// cannot be read in the wrong position.
#[derive(Debug, serde::Serialize)]
pub(crate) struct StateJson {
    pub(crate) user_id: i64,
    pub(crate) card_id: i64,
    pub(crate) repetitions: i64,
    pub(crate) easiness_hundredths: i64,
    pub(crate) interval_days: i64,
    pub(crate) due_day: i64,
    pub(crate) lapses: i64,
    pub(crate) last_reviewed_at: i64,
    pub(crate) graded_day: Option<i64>,
    pub(crate) stability: Option<f64>,
    pub(crate) difficulty: Option<f64>,
}

/// A history event of a batch.
#[derive(Debug, serde::Serialize)]
pub(crate) struct EventJson {
    pub(crate) user_id: i64,
    pub(crate) card_id: i64,
    pub(crate) study_day: i32,
    pub(crate) kind: &'static str,
    pub(crate) reviewed_at: i64,
    pub(crate) quality: Option<u8>,
    pub(crate) repetitions_before: Option<i64>,
    pub(crate) easiness_before: Option<i64>,
    pub(crate) interval_before: Option<i64>,
    pub(crate) due_day_before: Option<i64>,
    pub(crate) lapses_before: Option<i64>,
    pub(crate) last_reviewed_before: Option<i64>,
    pub(crate) repetitions_after: Option<i64>,
    pub(crate) easiness_after: Option<i64>,
    pub(crate) interval_after: Option<i64>,
    pub(crate) due_day_after: Option<i64>,
    pub(crate) response_ms: Option<i64>,
    pub(crate) variant_seed: Option<String>,
    pub(crate) answer: Option<String>,
    pub(crate) suggested_quality: Option<u8>,
    pub(crate) undoes: Option<i64>,
}

/// A day's rollup change of a batch.
#[derive(Debug, serde::Serialize)]
pub(crate) struct DayJson {
    pub(crate) user_id: i64,
    pub(crate) study_day: i32,
    pub(crate) reviews: i64,
    pub(crate) mature_reviews: i64,
    pub(crate) mature_passed: i64,
    pub(crate) introduced: i64,
}

/// A state to delete.
#[derive(Debug, serde::Serialize)]
pub(crate) struct KeyJson {
    pub(crate) user_id: i64,
    pub(crate) card_id: i64,
}

/// Everything a batch of grades writes, gathered to be written at once: through sqlx as one
/// JSON array of named objects per part, on the SQLite grade writer (`db::grade_writer`) row by
/// row through prepared statements.
#[derive(Debug, Default)]
pub struct BatchWrites {
    pub(crate) states: Vec<StateJson>,
    /// States to delete (an undo of a card's first grade).
    pub(crate) deletes: Vec<KeyJson>,
    pub(crate) events: Vec<EventJson>,
    pub(crate) days: std::collections::BTreeMap<(i64, i32), DayWeight>,
}

fn json<T: serde::Serialize>(value: &T) -> String {
    // These structs of numbers and strings always serialize.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

fn array(items: &[String]) -> String {
    format!("[{}]", items.join(","))
}

/// A JSON array of `items`.
fn json_array<T: serde::Serialize>(items: &[T]) -> String {
    // These structs of numbers and strings always serialize.
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

/// The kinds of event, as `'static` text (an event row outlives the request it came from).
fn static_kind(kind: &str) -> &'static str {
    match kind {
        "grade" => "grade",
        "repeat" => "repeat",
        "undo" => "undo",
        // The table's CHECK refuses any other kind, so the write fails as it did before.
        _ => "unknown",
    }
}

impl BatchWrites {
    /// Adds one event and its state change. Grades and undos both come through here, so the
    /// history, the states and the day rollup have one write path.
    pub fn push(&mut self, change: StateChange<'_>, e: &NewEvent<'_>) {
        match change {
            StateChange::Put(s) => self.states.push(StateJson {
                user_id: e.user_id,
                card_id: e.card_id,
                repetitions: s.repetitions,
                easiness_hundredths: s.easiness_hundredths,
                interval_days: s.interval_days,
                due_day: s.due_day,
                lapses: s.lapses,
                last_reviewed_at: s.last_reviewed_at,
                graded_day: s.graded_day,
                stability: e.memory_after.map(|m| m.0),
                difficulty: e.memory_after.map(|m| m.1),
            }),
            StateChange::Delete => self.deletes.push(KeyJson {
                user_id: e.user_id,
                card_id: e.card_id,
            }),
            StateChange::Keep => {}
        }
        let b = e.before.as_ref();
        let a = e.after.as_ref();
        self.events.push(EventJson {
            user_id: e.user_id,
            card_id: e.card_id,
            study_day: e.study_day,
            kind: static_kind(e.kind),
            reviewed_at: e.reviewed_at,
            quality: e.quality,
            repetitions_before: b.map(|s| s.repetitions),
            easiness_before: b.map(|s| s.easiness_hundredths),
            interval_before: b.map(|s| s.interval_days),
            due_day_before: b.map(|s| s.due_day),
            lapses_before: b.map(|s| s.lapses),
            last_reviewed_before: b.map(|s| s.last_reviewed_at),
            repetitions_after: a.map(|s| s.repetitions),
            easiness_after: a.map(|s| s.easiness_hundredths),
            interval_after: a.map(|s| s.interval_days),
            due_day_after: a.map(|s| s.due_day),
            response_ms: e.response_ms,
            variant_seed: e.variant_seed.map(str::to_owned),
            answer: e.answer.map(str::to_owned),
            suggested_quality: e.suggested_quality,
            undoes: e.undoes,
        });
        self.days
            .entry((e.user_id, e.study_day))
            .or_default()
            .add(e.day_weight());
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// Writes a batch (grades, or an undo): states, events (in order, so ids follow the batch)
/// and day counts, as three statements over three JSON parameters in one round trip; an
/// undo's deleted state goes first, in a statement of its own.
pub async fn record_batch(db: &mut Conn, w: &BatchWrites) -> Result<(), sqlx::Error> {
    let days: Vec<String> = w
        .days
        .iter()
        .map(|(&(user_id, study_day), d)| {
            json(&DayJson {
                user_id,
                study_day,
                reviews: d.reviews,
                mature_reviews: d.mature_reviews,
                mature_passed: d.mature_passed,
                introduced: d.introduced,
            })
        })
        .collect();
    let backend = Backend::of_conn(db);
    if !w.deletes.is_empty() {
        // Its own statement: sqlx counts the parameter numbers a statement skips against the
        // arguments of the statements after it, so one more JSON parameter below would shift.
        let sql = match backend {
            Backend::Sqlite => {
                "DELETE FROM review_states WHERE (user_id, card_id) IN
                     (SELECT value ->> '$.user_id', value ->> '$.card_id' FROM json_each($1))"
            }
            Backend::Postgres => {
                "DELETE FROM review_states WHERE (user_id, card_id) IN
                     (SELECT user_id, card_id FROM json_to_recordset(CAST($1 AS json))
                      AS j(user_id BIGINT, card_id BIGINT))"
            }
        };
        sqlx::query(sql)
            .bind(json_array(&w.deletes))
            .execute(&mut *db)
            .await?;
    }
    let sql = match backend {
        Backend::Sqlite => RECORD_BATCH_SQLITE,
        Backend::Postgres => RECORD_BATCH_POSTGRES,
    };
    sqlx::query(sql)
        .bind(json_array(&w.states))
        .bind(json_array(&w.events))
        .bind(array(&days))
        .execute(db)
        .await?;
    Ok(())
}

/// The SET list of a schedule's upsert, one text for both dialects' batches.
macro_rules! state_upsert {
    () => {
        "
         ON CONFLICT (user_id, card_id) DO UPDATE SET
             repetitions = excluded.repetitions,
             easiness_hundredths = excluded.easiness_hundredths,
             interval_days = excluded.interval_days,
             due_day = excluded.due_day,
             lapses = excluded.lapses,
             last_reviewed_at = excluded.last_reviewed_at,
             graded_day = excluded.graded_day,
             stability = excluded.stability,
             difficulty = excluded.difficulty"
    };
}

/// `record_batch` on SQLite: three statements in one call.
const RECORD_BATCH_SQLITE: &str = concat!(
    "INSERT INTO review_states (user_id, card_id, repetitions, easiness_hundredths,
             interval_days, due_day, lapses, last_reviewed_at, graded_day, stability, difficulty)
         SELECT value ->> '$.user_id', value ->> '$.card_id', value ->> '$.repetitions',
                value ->> '$.easiness_hundredths', value ->> '$.interval_days',
                value ->> '$.due_day', value ->> '$.lapses', value ->> '$.last_reviewed_at',
                value ->> '$.graded_day', value ->> '$.stability', value ->> '$.difficulty'
         FROM json_each($1) WHERE true
",
    state_upsert!(),
    ";
         INSERT INTO reviews (user_id, card_id, study_day, kind, reviewed_at, quality,
             repetitions_before, easiness_before, interval_before, due_day_before, lapses_before,
             last_reviewed_before, repetitions_after, easiness_after, interval_after, due_day_after,
             response_ms, variant_seed, answer, suggested_quality, undoes)
         SELECT value ->> '$.user_id', value ->> '$.card_id', value ->> '$.study_day',
                value ->> '$.kind', value ->> '$.reviewed_at', value ->> '$.quality',
                value ->> '$.repetitions_before', value ->> '$.easiness_before',
                value ->> '$.interval_before', value ->> '$.due_day_before',
                value ->> '$.lapses_before', value ->> '$.last_reviewed_before',
                value ->> '$.repetitions_after', value ->> '$.easiness_after',
                value ->> '$.interval_after', value ->> '$.due_day_after',
                value ->> '$.response_ms', value ->> '$.variant_seed', value ->> '$.answer',
                value ->> '$.suggested_quality', value ->> '$.undoes'
         FROM json_each($2) ORDER BY CAST(key AS INTEGER);
         INSERT INTO review_days (user_id, study_day, reviews, mature_reviews, mature_passed,
             introduced)
         SELECT value ->> '$.user_id', value ->> '$.study_day', value ->> '$.reviews',
                value ->> '$.mature_reviews', value ->> '$.mature_passed',
                value ->> '$.introduced'
         FROM json_each($3) WHERE true
         ON CONFLICT (user_id, study_day) DO UPDATE SET
             reviews = reviews + excluded.reviews,
             mature_reviews = mature_reviews + excluded.mature_reviews,
             mature_passed = mature_passed + excluded.mature_passed,
             introduced = introduced + excluded.introduced"
);

/// `record_batch`'s writes one row at a time, for the SQLite grade writer (`db::grade_writer`),
/// which prepares each once and binds each row's values (`?1` ...) in the order the columns are
/// listed: an undo's deleted state,
pub(crate) const DELETE_STATE_ONE: &str =
    "DELETE FROM review_states WHERE user_id = ?1 AND card_id = ?2";

/// a state,
pub(crate) const PUT_STATE_ONE: &str = concat!(
    "INSERT INTO review_states (user_id, card_id, repetitions, easiness_hundredths,
             interval_days, due_day, lapses, last_reviewed_at, graded_day, stability, difficulty)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    state_upsert!()
);

/// an event,
pub(crate) const ADD_EVENT_ONE: &str =
    "INSERT INTO reviews (user_id, card_id, study_day, kind, reviewed_at, quality,
             repetitions_before, easiness_before, interval_before, due_day_before, lapses_before,
             last_reviewed_before, repetitions_after, easiness_after, interval_after, due_day_after,
             response_ms, variant_seed, answer, suggested_quality, undoes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
             ?19, ?20, ?21)";

/// and a day's counts.
pub(crate) const ADD_DAY_ONE: &str =
    "INSERT INTO review_days (user_id, study_day, reviews, mature_reviews, mature_passed,
             introduced)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (user_id, study_day) DO UPDATE SET
             reviews = reviews + excluded.reviews,
             mature_reviews = mature_reviews + excluded.mature_reviews,
             mature_passed = mature_passed + excluded.mature_passed,
             introduced = introduced + excluded.introduced";

/// `record_batch` on PostgreSQL, where a prepared statement is one statement: the three
/// writes are data-modifying parts of one, the JSON rows read with their column types.
const RECORD_BATCH_POSTGRES: &str = concat!(
    "WITH states AS (
         INSERT INTO review_states (user_id, card_id, repetitions, easiness_hundredths,
             interval_days, due_day, lapses, last_reviewed_at, graded_day, stability, difficulty)
         SELECT * FROM json_to_recordset(CAST($1 AS json)) AS j(user_id BIGINT, card_id BIGINT,
             repetitions BIGINT, easiness_hundredths BIGINT, interval_days BIGINT,
             due_day BIGINT, lapses BIGINT, last_reviewed_at BIGINT, graded_day BIGINT,
             stability DOUBLE PRECISION, difficulty DOUBLE PRECISION)
",
    state_upsert!(),
    "
         RETURNING 1),
     events AS (
         INSERT INTO reviews (user_id, card_id, study_day, kind, reviewed_at, quality,
             repetitions_before, easiness_before, interval_before, due_day_before, lapses_before,
             last_reviewed_before, repetitions_after, easiness_after, interval_after, due_day_after,
             response_ms, variant_seed, answer, suggested_quality, undoes)
         SELECT user_id, card_id, study_day, kind, reviewed_at, quality,
             repetitions_before, easiness_before, interval_before, due_day_before, lapses_before,
             last_reviewed_before, repetitions_after, easiness_after, interval_after, due_day_after,
             response_ms, variant_seed, answer, suggested_quality, undoes
         FROM json_array_elements(CAST($2 AS json)) WITH ORDINALITY AS e(value, n)
         CROSS JOIN LATERAL json_to_record(e.value) AS j(user_id BIGINT,
             card_id BIGINT, study_day BIGINT, kind TEXT, reviewed_at BIGINT, quality BIGINT,
             repetitions_before BIGINT, easiness_before BIGINT, interval_before BIGINT,
             due_day_before BIGINT, lapses_before BIGINT, last_reviewed_before BIGINT,
             repetitions_after BIGINT, easiness_after BIGINT, interval_after BIGINT,
             due_day_after BIGINT, response_ms BIGINT, variant_seed TEXT, answer TEXT,
             suggested_quality BIGINT, undoes BIGINT)
         ORDER BY e.n
         RETURNING 1)
     INSERT INTO review_days (user_id, study_day, reviews, mature_reviews, mature_passed,
         introduced)
     SELECT * FROM json_to_recordset(CAST($3 AS json)) AS j(user_id BIGINT, study_day BIGINT,
         reviews BIGINT, mature_reviews BIGINT, mature_passed BIGINT, introduced BIGINT)
     ON CONFLICT (user_id, study_day) DO UPDATE SET
         reviews = review_days.reviews + excluded.reviews,
         mature_reviews = review_days.mature_reviews + excluded.mature_reviews,
         mature_passed = review_days.mature_passed + excluded.mature_passed,
         introduced = review_days.introduced + excluded.introduced"
);

/// Every standing grade and repeat of a user (of one card, or all), by card and then oldest
/// first: (card, study day, quality). What switching scheduler replays.
pub async fn standing_history(
    db: impl Executor<'_>,
    user_id: i64,
    card_id: Option<i64>,
) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT card_id, study_day, quality FROM standing_reviews
         WHERE user_id = $1 AND ($2 IS NULL OR card_id = $2) AND quality IS NOT NULL
         ORDER BY card_id, id",
    )
    .bind(user_id)
    .bind(card_id)
    .fetch_all(db)
    .await
}

/// [`standing_history`] of the user's cards after card `after` up to card `last`: one batch of
/// a rescheduling, read through the index on (user, card).
pub async fn standing_history_between(
    db: impl Executor<'_>,
    user_id: i64,
    after: i64,
    last: i64,
) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT card_id, study_day, quality FROM standing_reviews
         WHERE user_id = $1 AND card_id > $2 AND card_id <= $3 AND quality IS NOT NULL
         ORDER BY card_id, id",
    )
    .bind(user_id)
    .bind(after)
    .bind(last)
    .fetch_all(db)
    .await
}

/// [`standing_history`] of the user's cards that have an event (a grade, a repeat or an undo)
/// later than event `since`: what a rescheduling recomputes again at its end, for the grades
/// that came while it ran.
pub async fn standing_history_touched_since(
    db: impl Executor<'_>,
    user_id: i64,
    since: i64,
) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT card_id, study_day, quality FROM standing_reviews
         WHERE user_id = $1 AND quality IS NOT NULL
           AND card_id IN (SELECT card_id FROM reviews WHERE user_id = $1 AND id > $2)
         ORDER BY card_id, id",
    )
    .bind(user_id)
    .bind(since)
    .fetch_all(db)
    .await
}

/// The id of the user's latest event, 0 if none.
pub async fn last_event_id(db: impl Executor<'_>, user_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM reviews WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_one(db)
    .await
}

/// The user's scheduled cards after card `after`, at most `limit` of them, in order: the
/// next batch of a rescheduling, read from the primary key.
pub async fn scheduled_cards_after(
    db: impl Executor<'_>,
    user_id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT card_id FROM review_states WHERE user_id = $1 AND card_id > $2
         ORDER BY card_id LIMIT $3",
    )
    .bind(user_id)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// A card's schedule recomputed from its history, as `rewrite_states` writes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recomputed {
    /// The card.
    pub card_id: i64,
    /// The schedule (SM-2's fields; interval and due day from whichever scheduler runs).
    pub state: StateRow,
    /// FSRS memory, or None under SM-2.
    pub memory: Option<(f64, f64)>,
}

/// Rewrites those of `states` the user has a schedule for (the last review time is kept), in
/// one statement whose cost is linear in the rows: each JSON row finds its state by the
/// primary key (`rewrite_states_plan` shows it).
pub async fn rewrite_states(
    db: impl Executor<'_>,
    user_id: i64,
    states: &[Recomputed],
) -> Result<(), sqlx::Error> {
    let rows: Vec<String> = states
        .iter()
        .map(|r| {
            json(&StateJson {
                user_id,
                card_id: r.card_id,
                repetitions: r.state.repetitions,
                easiness_hundredths: r.state.easiness_hundredths,
                interval_days: r.state.interval_days,
                due_day: r.state.due_day,
                lapses: r.state.lapses,
                last_reviewed_at: 0,
                graded_day: r.state.graded_day,
                stability: r.memory.map(|m| m.0),
                difficulty: r.memory.map(|m| m.1),
            })
        })
        .collect();
    let sql = match db.backend() {
        Backend::Sqlite => REWRITE_STATES_SQLITE,
        Backend::Postgres => REWRITE_STATES_POSTGRES,
    };
    sqlx::query(sql)
        .bind(user_id)
        .bind(array(&rows))
        .execute(db)
        .await?;
    Ok(())
}

/// SQLite's query plan of `rewrite_states`' statement, one line per step (`EXPLAIN QUERY
/// PLAN`'s detail column): the proof that it is linear, which a test keeps.
pub async fn rewrite_states_plan(db: impl Executor<'_>) -> Result<Vec<String>, sqlx::Error> {
    sqlite_plan(db, REWRITE_STATES_SQLITE).await
}

/// SQLite's query plan of a statement of `$1` and `$2` (`EXPLAIN QUERY PLAN`'s details).
pub(crate) async fn sqlite_plan(
    db: impl Executor<'_>,
    sql: &'static str,
) -> Result<Vec<String>, sqlx::Error> {
    if db.backend() != Backend::Sqlite {
        return Err(sqlx::Error::Configuration(
            "EXPLAIN QUERY PLAN is SQLite's".into(),
        ));
    }
    let rows: Vec<(i64, i64, i64, String)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
            .bind(0_i64)
            .bind("[]")
            .fetch_all(db)
            .await?;
    Ok(rows.into_iter().map(|r| r.3).collect())
}

/// `rewrite_states` on SQLite. Not `UPDATE ... FROM json_each($2)`: SQLite's planner puts the
/// user's states in the outer loop (found by the index on user_id alone) and scans the JSON
/// once per state, so a rewrite of n cards cost n^2 (6.8 s at 3,000 cards). An `INSERT ...
/// SELECT` visits the JSON rows in order whatever the planner estimates, and each finds its
/// row by the primary key, both in the `EXISTS` (which keeps this from creating a schedule:
/// the zeros below are never inserted) and in the conflict that turns it into the update.
const REWRITE_STATES_SQLITE: &str =
    "INSERT INTO review_states (user_id, card_id, repetitions, easiness_hundredths,
             interval_days, due_day, lapses, last_reviewed_at, graded_day, stability, difficulty)
         SELECT $1, j.value ->> '$.card_id', j.value ->> '$.repetitions',
                j.value ->> '$.easiness_hundredths', j.value ->> '$.interval_days',
                j.value ->> '$.due_day', j.value ->> '$.lapses', 0, j.value ->> '$.graded_day',
                j.value ->> '$.stability', j.value ->> '$.difficulty'
         FROM json_each($2) AS j
         WHERE EXISTS (SELECT 1 FROM review_states s
                       WHERE s.user_id = $1 AND s.card_id = j.value ->> '$.card_id')
         ON CONFLICT (user_id, card_id) DO UPDATE SET
             repetitions = excluded.repetitions,
             easiness_hundredths = excluded.easiness_hundredths,
             interval_days = excluded.interval_days,
             due_day = excluded.due_day,
             lapses = excluded.lapses,
             graded_day = excluded.graded_day,
             stability = excluded.stability,
             difficulty = excluded.difficulty";

/// `rewrite_states` on PostgreSQL, whose planner joins the JSON rows to the states by hash or
/// by the primary key: linear either way.
const REWRITE_STATES_POSTGRES: &str = "UPDATE review_states SET
             repetitions = j.repetitions, easiness_hundredths = j.easiness_hundredths,
             interval_days = j.interval_days, due_day = j.due_day, lapses = j.lapses,
             graded_day = j.graded_day, stability = j.stability, difficulty = j.difficulty
         FROM json_to_recordset(CAST($2 AS json)) AS j(card_id BIGINT, repetitions BIGINT,
             easiness_hundredths BIGINT, interval_days BIGINT, due_day BIGINT, lapses BIGINT,
             graded_day BIGINT, stability DOUBLE PRECISION, difficulty DOUBLE PRECISION)
         WHERE review_states.user_id = $1 AND review_states.card_id = j.card_id";

/// One card's FSRS memory, if it has one.
pub async fn memory(
    db: impl Executor<'_>,
    user_id: i64,
    card_id: i64,
) -> Result<Option<(f64, f64)>, sqlx::Error> {
    let row: Option<(Option<f64>, Option<f64>)> = sqlx::query_as(
        "SELECT stability, difficulty FROM review_states WHERE user_id = $1 AND card_id = $2",
    )
    .bind(user_id)
    .bind(card_id)
    .fetch_optional(db)
    .await?;
    Ok(row.and_then(|(s, d)| s.zip(d)))
}

/// Sets one card's FSRS memory (after an undo, recomputed from what remains).
pub async fn set_memory(
    db: impl Executor<'_>,
    user_id: i64,
    card_id: i64,
    memory: Option<(f64, f64)>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE review_states SET stability = $3, difficulty = $4
         WHERE user_id = $1 AND card_id = $2",
    )
    .bind(user_id)
    .bind(card_id)
    .bind(memory.map(|m| m.0))
    .bind(memory.map(|m| m.1))
    .execute(db)
    .await?;
    Ok(())
}
