//! The review loop: which card comes next, what a grade does (`grade`), and undo.

mod cache;
mod grade;
pub use cache::{Expect, QueueCache, next_cached};
pub use grade::{GradeExtras, GradeRequest, Graded, grade_batch};

use super::Learner;
use super::{Context, StudyError};
use crate::db::Pool;
use crate::db::{self, decks::CardRow, reviews::StateChange, reviews::StateRow};
use crate::srs::schedule::{self, CardSchedule, Preview, Standing};
use crate::srs::scheduler;
use crate::srs::sm2;
use crate::srs::today::{Today, TodayEvent};
use jiff::Timestamp;
use std::collections::{HashMap, HashSet};

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
