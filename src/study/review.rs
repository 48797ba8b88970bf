//! The review loop: which card comes next, what a grade does, and undo.

use super::Learner;
use super::{Context, StudyError};
use crate::db::{self, decks::CardRow, reviews::StateChange, reviews::StateRow};
use crate::db::{Conn, Pool};
use crate::domain::Grade;
use crate::srs::exam::{ExamWindow, Window};
use crate::srs::schedule::{self, CardSchedule, Outcome, Preview, Refusal, Standing};
use crate::srs::scheduler::{self, Scheduler};
use crate::srs::sm2;
use crate::srs::today::{Today, TodayEvent};
use jiff::Timestamp;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The card to show and where it stands.
#[derive(Debug, Clone)]
pub struct Shown {
    /// The card.
    pub card: CardRow,
    /// Its deck's name.
    pub deck_name: String,
    /// New, due or a same-day repeat.
    pub standing: Standing,
    /// What each grade would do.
    pub previews: Vec<Preview>,
    /// This card's standing grades and repeats today when shown. The grade form sends it
    /// back, so a second submission of the same form (a double click) is recognised.
    pub seen_today: i64,
    /// How many times the student has failed it (standing grades below 3): at
    /// [`super::controls::LEECH_FAILURES`] or more it is a leech.
    pub failures: i64,
}

/// The review page's model.
#[derive(Debug, Clone)]
pub struct Queue {
    /// The next card, if any.
    pub next: Option<Shown>,
    /// Cards due by today.
    pub due: i64,
    /// New cards that today's limit still allows.
    pub new_available: i64,
    /// Cards owing a same-day repeat.
    pub repeats: usize,
    /// When nothing is left: the next day a card falls due.
    pub next_due_day: Option<i32>,
    /// Whether today has a grade to undo.
    pub can_undo: bool,
    /// New cards in scope that wait only because today's new-card limit is used up (0 when
    /// the limit is not what stops the session).
    pub new_held_back: i64,
    /// Today's new-card limit.
    pub new_limit: u32,
    /// Grades and repeats today that stand.
    pub reviewed_today: i64,
    /// Of those, answered right (grade 3 or more).
    pub right_today: i64,
    /// When nothing is left: the cards in scope buried today, back on the next study day.
    pub buried: i64,
}

/// The optional extras a grade carries (generated problems fill the last three).
#[derive(Debug, Clone, Default)]
pub struct GradeExtras {
    /// Milliseconds from showing the card to grading it.
    pub response_ms: Option<i64>,
    /// The variant's seed.
    pub variant_seed: Option<String>,
    /// The typed answer.
    pub answer: Option<String>,
    /// The checker's suggested grade.
    pub suggested_quality: Option<u8>,
}

/// What a grade did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Graded {
    /// The card was rescheduled to this day.
    Scheduled {
        /// The new due day.
        due_day: i32,
    },
    /// A same-day repeat was logged.
    Repeated,
    /// The same form was submitted again (a double click, a reload): nothing was recorded.
    AlreadyGraded,
}

fn schedule_of(row: &StateRow) -> CardSchedule {
    CardSchedule {
        sm2: sm2::State {
            repetitions: u32::try_from(row.repetitions).unwrap_or(0),
            easiness_hundredths: u32::try_from(row.easiness_hundredths)
                .unwrap_or(sm2::INITIAL_EASINESS_HUNDREDTHS),
            interval_days: u32::try_from(row.interval_days).unwrap_or(0),
        },
        due_day: i32::try_from(row.due_day).unwrap_or(i32::MAX),
        lapses: u32::try_from(row.lapses).unwrap_or(0),
    }
}

/// The state a grade on `graded_day` leaves.
fn row_of(s: &CardSchedule, reviewed_at: i64, graded_day: i32) -> StateRow {
    StateRow {
        graded_day: Some(i64::from(graded_day)),
        repetitions: i64::from(s.sm2.repetitions),
        easiness_hundredths: i64::from(s.sm2.easiness_hundredths),
        interval_days: i64::from(s.sm2.interval_days),
        due_day: i64::from(s.due_day),
        lapses: i64::from(s.lapses),
        last_reviewed_at: reviewed_at,
    }
}

/// Today's standing grades and repeats, as the pure queue rules take them.
pub async fn today_events(
    db: impl crate::db::Executor<'_>,
    user_id: i64,
    today: i32,
) -> Result<Vec<TodayEvent>, StudyError> {
    Ok(db::reviews::today_events(db, user_id, today)
        .await?
        .into_iter()
        .map(|e| TodayEvent {
            card_id: e.card_id,
            deck_id: e.deck_id,
            quality: u8::try_from(e.quality).unwrap_or(0),
            introduced: e.was_new,
        })
        .collect())
}

fn standing_of(state: Option<&StateRow>, owes_repeat: bool) -> Standing {
    match state.map(schedule_of) {
        None => Standing::New,
        Some(s) if owes_repeat => Standing::RepeatToday(s),
        Some(s) => Standing::Scheduled(s),
    }
}

/// The next card for `user` (optionally in one deck): due cards oldest first, then new cards
/// within today's limit, then same-day repeats, the longest-waiting first.
///
/// The common case costs one query (the queue head: counts, the first due card and today's
/// events), run on the calling thread when it covers every deck (`db::hot`): each sqlx query
/// is a hop to SQLite's worker thread, which dominated the page's cost.
pub async fn next(
    database: &db::Db,
    user: &Learner,
    deck_id: Option<i64>,
    prefer: Option<i64>,
    now: Timestamp,
    max_interval_days: u32,
) -> Result<Queue, StudyError> {
    let today_day = user.today(now);
    let scope = user.deck_scope(deck_id)?;
    let pool = database.reader();
    // On this thread's own connection (see `db::hot`): no hand-off to sqlx's thread.
    let head = db::hot::queue_head(database, user.id, today_day, scope.decks()).await?;
    let events: Vec<(i64, i64, i64, i64)> = serde_json::from_str(&head.today_events)
        .map_err(|e| StudyError::Internal(anyhow::anyhow!("today's events: {e}")))?;
    let seen_today = |card_id: i64| {
        let n = events.iter().filter(|e| e.0 == card_id).count();
        i64::try_from(n).unwrap_or(i64::MAX)
    };
    let today = Today::from_events(
        &events
            .iter()
            .map(|&(card_id, deck_id, quality, introduced)| TodayEvent {
                card_id,
                deck_id,
                quality: u8::try_from(quality).unwrap_or(0),
                introduced: introduced != 0,
            })
            .collect::<Vec<_>>(),
    );
    let new_available = head
        .new_count
        .min(i64::from(today.new_left(user.new_limit(today_day))));
    // The student's controls today: suspended and buried cards are out of the queue, skipped
    // ones wait at its back in the order they were skipped.
    let controls: Vec<(i64, i64, Option<i64>)> = serde_json::from_str(&head.controls)
        .map_err(|e| StudyError::Internal(anyhow::anyhow!("today's controls: {e}")))?;
    let held: HashSet<i64> = controls.iter().filter(|c| c.1 != 0).map(|c| c.0).collect();
    let mut skipped: Vec<(i64, i64)> = controls
        .iter()
        .filter(|c| c.1 == 0)
        .filter_map(|c| c.2.map(|seq| (seq, c.0)))
        .collect();
    skipped.sort_unstable();
    let is_skipped = |id: i64| skipped.iter().any(|s| s.1 == id);
    // A card leaves the queue when its deck stops being visible (e.g. taken from a class).
    let repeats: Vec<_> = today
        .repeats_in(deck_id)
        .filter(|r| user.can_see(r.deck_id) && !held.contains(&r.card_id))
        .collect();

    // A card just taken back by an undo comes first, if it belongs to this session's scope
    // and the student has not since suspended or buried it.
    let mut card: Option<(CardRow, Option<StateRow>)> = None;
    if let Some(id) = prefer
        && !held.contains(&id)
        && let Some(c) = db::decks::card(pool, id).await?
        && user.can_see(c.deck_id)
        && deck_id.is_none_or(|d| d == c.deck_id)
    {
        let state = db::reviews::state(pool, user.id, c.id).await?;
        card = Some((c, state));
    }
    if card.is_none() {
        card = head.due().map(|(c, s)| (c, Some(s)));
    }
    if card.is_none() && new_available > 0 {
        card = db::hot::first_new(database, user.id, today_day, scope.decks())
            .await?
            .map(|c| (c, None));
    }
    if card.is_none()
        && let Some(repeat) = repeats.iter().find(|r| !is_skipped(r.card_id))
        && let Some(c) = db::decks::card(pool, repeat.card_id).await?
    {
        let state = db::reviews::state(pool, user.id, c.id).await?;
        card = Some((c, state));
    }
    // Last, the cards skipped today that are still owed today, the earliest skipped first.
    if card.is_none() {
        for &(_, id) in &skipped {
            let Some(c) = db::decks::card(pool, id).await? else {
                continue;
            };
            if !user.can_see(c.deck_id) || deck_id.is_some_and(|d| d != c.deck_id) {
                continue;
            }
            let state = db::reviews::state(pool, user.id, c.id).await?;
            let owed = match &state {
                None => new_available > 0,
                Some(s) => s.due_day <= i64::from(today_day) || today.owes_repeat(c.id),
            };
            if owed {
                card = Some((c, state));
                break;
            }
        }
    }
    let deck_name = head.deck_name.clone();
    let next = match card {
        Some((card, state)) => {
            let standing = standing_of(state.as_ref(), today.owes_repeat(card.id));
            let deck_name = match deck_name.filter(|_| Some(card.deck_id) == head.deck_id) {
                Some(name) => name,
                None => db::decks::find(pool, card.deck_id)
                    .await?
                    .map(|d| d.name)
                    .unwrap_or_default(),
            };
            let previews = match user.scheduler.retention() {
                None => schedule::previews(standing, max_interval_days),
                Some(retention) => {
                    let memory = match head.stability.zip(head.difficulty) {
                        Some(m) if head.card_id == Some(card.id) => Some(m),
                        _ => db::reviews::memory(pool, user.id, card.id).await?,
                    };
                    scheduler::fsrs_previews(
                        &user.fsrs_parameters,
                        standing,
                        memory.map(|(s, d)| (s as f32, d as f32)),
                        state.map(|s| i32::try_from(s.graded_day()).unwrap_or(today_day)),
                        today_day,
                        retention,
                        max_interval_days,
                    )
                }
            };
            let previews = if user.exams.is_empty() || matches!(standing, Standing::RepeatToday(_))
            {
                previews
            } else {
                previews_with_exams(pool, user, card.deck_id, today_day, previews).await?
            };
            let failures = match standing {
                Standing::New => 0,
                _ if head.card_id == Some(card.id) => head.failures,
                _ => db::controls::failures(pool, user.id, card.id)
                    .await
                    .context("counting a card's failures")?,
            };
            Some(Shown {
                previews,
                failures,
                seen_today: seen_today(card.id),
                card,
                deck_name,
                standing,
            })
        }
        None => None,
    };
    let mut buried = 0;
    if next.is_none() {
        for &(id, _, _) in controls.iter().filter(|c| c.1 == 2) {
            if let Some(c) = db::decks::card(pool, id).await?
                && user.can_see(c.deck_id)
                && deck_id.is_none_or(|d| d == c.deck_id)
            {
                buried += 1;
            }
        }
    }
    let next_due_day = match next {
        Some(_) => None,
        None => db::hot::next_due_day(database, user.id, today_day, scope.decks())
            .await?
            .and_then(|d| i32::try_from(d).ok()),
    };
    Ok(Queue {
        next,
        due: head.due_count,
        new_available,
        repeats: repeats.len(),
        next_due_day,
        can_undo: today.events > 0,
        new_held_back: head.new_count - new_available,
        new_limit: user.new_limit(today_day),
        reviewed_today: i64::try_from(events.len()).unwrap_or(i64::MAX),
        right_today: i64::try_from(events.iter().filter(|e| e.2 >= 3).count()).unwrap_or(0),
        buried,
    })
}

/// The grade buttons' intervals with the student's exams: a grade whose due day an exam's
/// window takes shows the day it will really come due, as `place_in_exam_window` will choose
/// it (one read of the window's loads per window).
async fn previews_with_exams(
    pool: &Pool,
    user: &Learner,
    deck_id: i64,
    today: i32,
    mut previews: Vec<Preview>,
) -> Result<Vec<Preview>, StudyError> {
    let mut loads: HashMap<(i32, i32), HashMap<i32, u32>> = HashMap::new();
    for p in &mut previews {
        let natural = today.saturating_add(i32::try_from(p.interval_days).unwrap_or(i32::MAX));
        let Some(window) = crate::srs::exam::window_for(&user.exams, deck_id, today, natural)
        else {
            continue;
        };
        let read = match loads.entry((window.first, window.last)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => v.insert(
                db::exams::window_loads(
                    pool,
                    user.id,
                    &window.exam.decks,
                    window.first,
                    window.last,
                )
                .await
                .context("reading an exam window's loads")?,
            ),
        };
        let day = window.lightest(read);
        p.interval_days = u32::try_from(day - today).unwrap_or(p.interval_days);
    }
    Ok(previews)
}

/// One grade to record, with what the grader needs to know of its user.
#[derive(Debug, Clone)]
pub struct GradeRequest {
    /// The user.
    pub user_id: i64,
    /// The user's study day at `now`.
    pub today: i32,
    /// The user's new-cards-per-day limit.
    pub new_per_day: u32,
    /// The card.
    pub card_id: i64,
    /// The grade.
    pub grade: Grade,
    /// Generated-problem extras.
    pub extras: GradeExtras,
    /// When the grade was given.
    pub now: Timestamp,
    /// The decks the user may see: a card of any other deck is "not found".
    pub allowed_decks: Arc<[i64]>,
    /// SM-2 or FSRS.
    pub scheduler: Scheduler,
    /// FSRS's parameters (empty: the defaults).
    pub fsrs_parameters: Arc<[f32]>,
    /// The exams of the user's classes: a due day that would jump one lands in its window.
    pub exams: Arc<[ExamWindow]>,
    /// The card's standing events today when its page was shown, if the form said: a grade
    /// whose page has since been graded is a resubmission and records nothing.
    pub seen_today: Option<i64>,
}

impl GradeRequest {
    /// A request by `user` at `now`.
    pub fn new(
        user: &Learner,
        card_id: i64,
        grade: Grade,
        extras: GradeExtras,
        now: Timestamp,
    ) -> Self {
        Self {
            user_id: user.id,
            today: user.today(now),
            new_per_day: user.new_limit(user.today(now)),
            card_id,
            grade,
            extras,
            now,
            allowed_decks: user.visible.clone(),
            scheduler: user.scheduler,
            fsrs_parameters: user.fsrs_parameters.clone(),
            exams: user.exams.clone(),
            seen_today: None,
        }
    }

    /// The same request, from a page that showed the card after `seen` events today.
    pub fn seen(mut self, seen: Option<i64>) -> Self {
        self.seen_today = seen;
        self
    }
}

/// What a batch of grades has changed so far, so that each grade sees the ones before it in
/// the same batch (a double submit, a repeat, the new-card count) exactly as if they had
/// been committed one by one.
#[derive(Default)]
struct Overlay {
    states: HashMap<(i64, i64), StateRow>,
    memory: HashMap<(i64, i64), (f64, f64)>,
    last_quality: HashMap<(i64, i64), i64>,
    events_today: HashMap<(i64, i64), i64>,
    introduced: HashMap<i64, i64>,
    /// Cards rescheduled in this batch: (deck, due day before the batch, due day now), so
    /// that an exam's window loads count them where they are now.
    moved: HashMap<(i64, i64), (i64, Option<i64>, i64)>,
}

impl Overlay {
    /// The window loads read before the batch, corrected for the batch's own moves.
    fn correct_loads(&self, user_id: i64, window: &Window<'_>, loads: &mut HashMap<i32, u32>) {
        let in_window = |d: i64| (i64::from(window.first)..=i64::from(window.last)).contains(&d);
        for (&(user, _), &(deck, before, now)) in &self.moved {
            if user != user_id || !window.exam.covers(deck) {
                continue;
            }
            if let Some(before) = before.filter(|d| in_window(*d))
                && let Some(n) = loads.get_mut(&i32::try_from(before).unwrap_or(0))
            {
                *n = n.saturating_sub(1);
            }
            if in_window(now) {
                *loads.entry(i32::try_from(now).unwrap_or(0)).or_default() += 1;
            }
        }
    }
}

/// With exams: a grade whose due day would reach an exam's window (or jump the exam) comes
/// due on the window's lightest day instead; the scheduler's interval stays as it gave it.
async fn place_in_exam_window(
    conn: &mut Conn,
    r: &GradeRequest,
    deck_id: i64,
    overlay: &Overlay,
    after: &mut StateRow,
) -> Result<(), sqlx::Error> {
    let natural = i32::try_from(after.due_day).unwrap_or(i32::MAX);
    let Some(window) = crate::srs::exam::window_for(&r.exams, deck_id, r.today, natural) else {
        return Ok(());
    };
    let mut loads = db::exams::window_loads(
        &mut *conn,
        r.user_id,
        &window.exam.decks,
        window.first,
        window.last,
    )
    .await?;
    overlay.correct_loads(r.user_id, &window, &mut loads);
    after.due_day = i64::from(window.lightest(&loads));
    Ok(())
}

/// Records a batch of grades on `conn`, inside the caller's write transaction, with one read
/// and one write for the whole batch. Each grade gets its own verdict: a refused grade (not
/// due, unknown card, over the new-card limit) writes nothing and does not disturb the others.
/// A database error fails the call, and the caller rolls the whole batch back.
pub async fn grade_batch(
    conn: &mut Conn,
    requests: &[GradeRequest],
    max_interval_days: u32,
) -> Result<Vec<Result<Graded, StudyError>>, sqlx::Error> {
    let keys: Vec<(i64, i64, i32)> = requests
        .iter()
        .map(|r| (r.user_id, r.card_id, r.today))
        .collect();
    let contexts = db::reviews::grade_contexts(&mut *conn, &keys).await?;
    let mut overlay = Overlay::default();
    let mut writes = db::reviews::BatchWrites::default();
    let mut results = Vec::with_capacity(requests.len());
    for (r, context) in requests.iter().zip(contexts) {
        let Some((deck_id, context)) =
            context.filter(|(deck, _)| r.allowed_decks.binary_search(deck).is_ok())
        else {
            results.push(Err(StudyError::NotFound));
            continue;
        };
        let key = (r.user_id, r.card_id);
        let state = overlay
            .states
            .get(&key)
            .copied()
            .or_else(|| context.state.get());
        let last_quality = overlay
            .last_quality
            .get(&key)
            .copied()
            .or(context.last_quality_today);
        let introduced =
            context.introduced_today + overlay.introduced.get(&r.user_id).copied().unwrap_or(0);
        let events_today = overlay
            .events_today
            .get(&key)
            .copied()
            .unwrap_or(context.events_today);
        if r.seen_today.is_some_and(|seen| seen != events_today) {
            results.push(Ok(Graded::AlreadyGraded));
            continue;
        }
        let memory = overlay
            .memory
            .get(&key)
            .copied()
            .or(context.stability.zip(context.difficulty));
        match decide(
            r,
            state,
            memory,
            last_quality,
            introduced,
            max_interval_days,
        ) {
            Err(refused) => results.push(Err(refused)),
            Ok((kind, mut after, memory_after, mut graded)) => {
                if let (Graded::Scheduled { .. }, Some(after)) = (&graded, after.as_mut())
                    && !r.exams.is_empty()
                {
                    place_in_exam_window(&mut *conn, r, deck_id, &overlay, after).await?;
                    graded = Graded::Scheduled {
                        due_day: i32::try_from(after.due_day).unwrap_or(i32::MAX),
                    };
                }
                let change = match (&graded, &after) {
                    (Graded::Scheduled { .. }, Some(after)) => StateChange::Put(after),
                    _ => StateChange::Keep,
                };
                writes.push(
                    change,
                    &db::reviews::NewEvent {
                        user_id: r.user_id,
                        card_id: r.card_id,
                        kind,
                        undoes: None,
                        reviewed_at: r.now.as_second(),
                        study_day: r.today,
                        quality: Some(r.grade.get()),
                        before: state,
                        after,
                        response_ms: r.extras.response_ms,
                        variant_seed: r.extras.variant_seed.as_deref(),
                        answer: r.extras.answer.as_deref(),
                        suggested_quality: r.extras.suggested_quality,
                        takes_back: None,
                        memory_after,
                    },
                );
                if let (Graded::Scheduled { .. }, Some(after)) = (&graded, after) {
                    overlay.states.insert(key, after);
                    let before = overlay
                        .moved
                        .get(&key)
                        .map_or(state.map(|s| s.due_day), |m| m.1);
                    overlay.moved.insert(key, (deck_id, before, after.due_day));
                }
                if let Some(m) = memory_after {
                    overlay.memory.insert(key, m);
                }
                if state.is_none() {
                    *overlay.introduced.entry(r.user_id).or_default() += 1;
                }
                overlay.last_quality.insert(key, i64::from(r.grade.get()));
                overlay.events_today.insert(key, events_today + 1);
                results.push(Ok(graded));
            }
        }
    }
    if !writes.is_empty() {
        db::reviews::record_batch(&mut *conn, &writes).await?;
    }
    Ok(results)
}

/// The pure part of one grade: what it does to the card, or why it is refused.
/// What a grade does: its kind, the state after it, the FSRS memory after it, the verdict.
type Decision = (&'static str, Option<StateRow>, Option<(f64, f64)>, Graded);

fn decide(
    r: &GradeRequest,
    state: Option<StateRow>,
    memory: Option<(f64, f64)>,
    last_quality_today: Option<i64>,
    introduced_today: i64,
    max_interval_days: u32,
) -> Result<Decision, StudyError> {
    let owes_repeat = last_quality_today.is_some_and(|q| q < i64::from(schedule::REPEAT_BELOW));
    let standing = standing_of(state.as_ref(), owes_repeat);
    if standing == Standing::New && introduced_today >= i64::from(r.new_per_day) {
        return Err(StudyError::Conflict(format!(
            "You have already started today's {} new cards; this one waits for tomorrow.",
            r.new_per_day
        )));
    }
    let outcome = schedule::apply(standing, r.grade.get(), r.today, max_interval_days).map_err(
        |refusal| match refusal {
            Refusal::Quality(e) => StudyError::Validation(e.to_string()),
            Refusal::NotDue { due_day } => StudyError::Conflict(format!(
                "This card was already graded; it is next due on {}.",
                crate::srs::day::date_of_day(due_day)
            )),
        },
    )?;
    Ok(match outcome {
        Outcome::Graded(next) => {
            let (next, memory_after) = match r.scheduler.retention() {
                None => (next, None),
                Some(retention) => {
                    // The previous grade's day: its due day less the interval it gave.
                    let last_graded =
                        state.map(|s| i32::try_from(s.graded_day()).unwrap_or(r.today));
                    let (next, m) = scheduler::fsrs_grade(
                        &r.fsrs_parameters,
                        next,
                        memory.map(|(s, d)| (s as f32, d as f32)),
                        last_graded,
                        r.grade.get(),
                        r.today,
                        retention,
                        max_interval_days,
                    );
                    (next, Some((f64::from(m.0), f64::from(m.1))))
                }
            };
            (
                "grade",
                Some(row_of(&next, r.now.as_second(), r.today)),
                memory_after,
                Graded::Scheduled {
                    due_day: next.due_day,
                },
            )
        }
        Outcome::Repeated => ("repeat", state, memory, Graded::Repeated),
    })
}

/// What an undo took back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Undone {
    /// The card, which is back in the queue as it was before the grade.
    pub card_id: i64,
    /// Its deck.
    pub deck_id: i64,
    /// The grade taken back.
    pub quality: Option<i64>,
    /// The variant a generated card was graded on: the page shows it again, so the student
    /// redoes the attempt they took back rather than a new one.
    pub variant_seed: Option<u64>,
}

/// Takes back the user's latest grade or repeat of today: the card's state is restored and an
/// `undo` event is appended (the history keeps both). Says what it took back.
pub async fn undo(pool: &Pool, user: &Learner, now: Timestamp) -> Result<Undone, StudyError> {
    let mut tx = db::begin_write_of(pool, &[db::Rows::of_user(user.id)]).await?;
    let event = db::reviews::last_undoable(&mut *tx, user.id, user.today(now))
        .await
        .context("finding today's last grade")?
        .ok_or_else(|| StudyError::Conflict("There is no grade from today to undo.".to_owned()))?;
    let current = db::reviews::state(&mut *tx, user.id, event.card_id).await?;
    let mut restored = event.before.get();
    if let Some(state) = restored.as_mut() {
        state.graded_day =
            db::reviews::last_grade_day(&mut *tx, user.id, event.card_id, event.id).await?;
    }
    let change = match &restored {
        Some(s) => StateChange::Put(s),
        None => StateChange::Delete,
    };
    let mut writes = db::reviews::BatchWrites::default();
    writes.push(
        change,
        &db::reviews::NewEvent {
            user_id: user.id,
            card_id: event.card_id,
            kind: "undo",
            undoes: Some(event.id),
            reviewed_at: now.as_second(),
            study_day: user.today(now),
            before: current,
            after: restored,
            takes_back: Some(crate::srs::rollup::DayWeight::of(
                &event.kind,
                event.quality,
                event.before.interval_days,
            )),
            ..Default::default()
        },
    );
    db::reviews::record_batch(&mut tx, &writes)
        .await
        .context("writing the undo")?;
    if restored.is_some() && user.scheduler.retention().is_some() {
        // FSRS's memory is not in the event's before-columns: fold what still stands.
        let memory = super::scheduling::memory_of_card(
            &mut tx,
            user.id,
            event.card_id,
            user.scheduler,
            &user.fsrs_parameters,
        )
        .await?;
        db::reviews::set_memory(&mut *tx, user.id, event.card_id, memory).await?;
    }
    tx.commit().await?;
    Ok(Undone {
        card_id: event.card_id,
        deck_id: event.deck_id,
        quality: event.quality,
        variant_seed: event
            .variant_seed
            .as_deref()
            .and_then(|s| s.trim().parse().ok()),
    })
}

/// New cards one "study more" request may add to today's limit, at most.
pub const MORE_AT_ONCE: i64 = 200;

/// "Study N more new cards today": raises `learner`'s new-card limit for today only, by 1 to
/// [`MORE_AT_ONCE`] cards. Their session carries the limit, so it goes stale.
pub async fn study_more(
    pool: &Pool,
    sessions: &dyn super::Forget,
    learner: &Learner,
    count: i64,
    now: Timestamp,
) -> Result<(), StudyError> {
    if !(1..=MORE_AT_ONCE).contains(&count) {
        return Err(StudyError::Validation(format!(
            "Ask for 1 to {MORE_AT_ONCE} more new cards at a time."
        )));
    }
    db::users::extend_new_cards(pool, learner.id, learner.today(now), count)
        .await
        .context("extending today's new cards")?;
    sessions.forget(super::Stale::User(learner.id));
    Ok(())
}
