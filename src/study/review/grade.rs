//! What a grade does: a batch of grades decided one by one against what the batch has
//! already changed, then written at once.

use super::standing_of;
use crate::db::{self, reviews::GradeStore, reviews::StateChange, reviews::StateRow};
use crate::domain::Grade;
use crate::srs::exam::{ExamWindow, Window};
use crate::srs::schedule::{self, CardSchedule, Outcome, Refusal, Standing};
use crate::srs::scheduler::{self, Scheduler};
use crate::study::{Learner, StudyError};
use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::Arc;

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
    store: &mut impl GradeStore,
    r: &GradeRequest,
    deck_id: i64,
    overlay: &Overlay,
    after: &mut StateRow,
) -> Result<(), sqlx::Error> {
    let natural = i32::try_from(after.due_day).unwrap_or(i32::MAX);
    let Some(window) = crate::srs::exam::window_for(&r.exams, deck_id, r.today, natural) else {
        return Ok(());
    };
    let mut loads = store
        .window_loads(r.user_id, &window.exam.decks, window.first, window.last)
        .await?;
    overlay.correct_loads(r.user_id, &window, &mut loads);
    after.due_day = i64::from(window.lightest(&loads));
    Ok(())
}

/// Records a batch of grades on `store`, inside the caller's write transaction, with one read
/// and one write for the whole batch. Each grade gets its own verdict: a refused grade (not
/// due, unknown card, over the new-card limit) writes nothing and does not disturb the others.
/// A database error fails the call, and the caller rolls the whole batch back.
pub async fn grade_batch(
    store: &mut impl GradeStore,
    requests: &[GradeRequest],
    max_interval_days: u32,
) -> Result<Vec<Result<Graded, StudyError>>, sqlx::Error> {
    let keys: Vec<(i64, i64, i32)> = requests
        .iter()
        .map(|r| (r.user_id, r.card_id, r.today))
        .collect();
    let contexts = store.grade_contexts(&keys).await?;
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
                    place_in_exam_window(store, r, deck_id, &overlay, after).await?;
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
        store.record_batch(&writes).await?;
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
