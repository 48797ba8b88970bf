//! The review loop: which card comes next, what a grade does, and undo.

use crate::auth::CurrentUser;
use crate::db::{self, decks::CardRow, reviews::StateRow};
use crate::domain::Grade;
use crate::error::AppError;
use crate::srs::schedule::{self, CardSchedule, Outcome, Preview, Refusal, Standing};
use crate::srs::sm2;
use crate::srs::today::{Today, TodayEvent};
use jiff::Timestamp;
use sqlx::{SqliteConnection, SqlitePool};

/// The card to show and where it stands.
#[derive(Debug, Clone)]
pub struct Shown {
    /// The card.
    pub card: CardRow,
    /// New, due or a same-day repeat.
    pub standing: Standing,
    /// What each grade would do.
    pub previews: Vec<Preview>,
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

fn row_of(s: &CardSchedule, reviewed_at: i64) -> StateRow {
    StateRow {
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
    db: impl sqlx::SqliteExecutor<'_>,
    user_id: i64,
    today: i32,
) -> Result<Vec<TodayEvent>, AppError> {
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

async fn today_of(
    conn: &mut SqliteConnection,
    user_id: i64,
    today: i32,
) -> Result<Today, AppError> {
    Ok(Today::from_events(
        &today_events(&mut *conn, user_id, today).await?,
    ))
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
pub async fn next(
    pool: &SqlitePool,
    user: &CurrentUser,
    deck_id: Option<i64>,
    now: Timestamp,
    max_interval_days: u32,
) -> Result<Queue, AppError> {
    let today_day = user.today(now);
    let mut conn = pool.acquire().await?;
    let today = today_of(&mut conn, user.id, today_day).await?;
    let (due, new_total) =
        db::reviews::queue_counts(&mut *conn, user.id, today_day, deck_id).await?;
    let new_available = new_total.min(i64::from(today.new_left(user.new_per_day)));
    let repeats: Vec<_> = today.repeats_in(deck_id).collect();

    let mut card = db::reviews::first_due(&mut *conn, user.id, today_day, deck_id).await?;
    if card.is_none() && new_available > 0 {
        card = db::reviews::first_new(&mut *conn, user.id, deck_id).await?;
    }
    if card.is_none()
        && let Some(repeat) = repeats.first()
    {
        card = db::decks::card(&mut *conn, repeat.card_id).await?;
    }
    let next = match card {
        Some(card) => {
            let state = db::reviews::state(&mut *conn, user.id, card.id).await?;
            let standing = standing_of(state.as_ref(), today.owes_repeat(card.id));
            Some(Shown {
                previews: schedule::previews(standing, max_interval_days),
                card,
                standing,
            })
        }
        None => None,
    };
    let next_due_day = match next {
        Some(_) => None,
        None => db::reviews::next_due_day(&mut *conn, user.id, today_day, deck_id)
            .await?
            .and_then(|d| i32::try_from(d).ok()),
    };
    Ok(Queue {
        next,
        due,
        new_available,
        repeats: repeats.len(),
        next_due_day,
        can_undo: today.events > 0,
    })
}

/// Records `grade` for `card_id`: a scheduled review moves the SM-2 state, a same-day repeat
/// is only logged. One transaction; a refused grade changes nothing.
pub async fn grade(
    pool: &SqlitePool,
    user: &CurrentUser,
    card_id: i64,
    grade: Grade,
    extras: &GradeExtras,
    now: Timestamp,
    max_interval_days: u32,
) -> Result<Graded, AppError> {
    let today_day = user.today(now);
    let at = now.as_second();
    let mut tx = db::begin_write(pool).await?;
    db::decks::card(&mut *tx, card_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let state = db::reviews::state(&mut *tx, user.id, card_id).await?;
    let today = today_of(&mut tx, user.id, today_day).await?;
    let standing = standing_of(state.as_ref(), today.owes_repeat(card_id));
    if standing == Standing::New && today.new_left(user.new_per_day) == 0 {
        return Err(AppError::Conflict(format!(
            "You have already started today's {} new cards; this one waits for tomorrow.",
            user.new_per_day
        )));
    }
    let outcome = schedule::apply(standing, grade.get(), today_day, max_interval_days).map_err(
        |refusal| match refusal {
            Refusal::Quality(e) => AppError::Validation(e.to_string()),
            Refusal::NotDue { due_day } => AppError::Conflict(format!(
                "This card was already graded; it is next due on {}.",
                crate::srs::day::date_of_day(due_day)
            )),
        },
    )?;
    let (kind, after, result) = match outcome {
        Outcome::Graded(next) => {
            let after = row_of(&next, at);
            db::reviews::put_state(&mut *tx, user.id, card_id, &after).await?;
            (
                "grade",
                Some(after),
                Graded::Scheduled {
                    due_day: next.due_day,
                },
            )
        }
        Outcome::Repeated => ("repeat", state, Graded::Repeated),
    };
    db::reviews::append(
        &mut *tx,
        &db::reviews::NewEvent {
            user_id: user.id,
            card_id,
            kind,
            undoes: None,
            reviewed_at: at,
            study_day: today_day,
            quality: Some(grade.get()),
            before: state,
            after,
            response_ms: extras.response_ms,
            variant_seed: extras.variant_seed.as_deref(),
            answer: extras.answer.as_deref(),
            suggested_quality: extras.suggested_quality,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(result)
}

/// Takes back the user's latest grade or repeat that stands: the card's state is restored
/// and an `undo` event is appended (the history keeps both). Returns the card's deck.
pub async fn undo(pool: &SqlitePool, user: &CurrentUser, now: Timestamp) -> Result<i64, AppError> {
    let mut tx = db::begin_write(pool).await?;
    let event = db::reviews::last_undoable(&mut *tx, user.id, user.today(now))
        .await?
        .ok_or_else(|| AppError::Conflict("There is no grade from today to undo.".to_owned()))?;
    let current = db::reviews::state(&mut *tx, user.id, event.card_id).await?;
    let restored = event.before();
    match &restored {
        Some(s) => db::reviews::put_state(&mut *tx, user.id, event.card_id, s).await?,
        None => db::reviews::delete_state(&mut *tx, user.id, event.card_id).await?,
    }
    db::reviews::append(
        &mut *tx,
        &db::reviews::NewEvent {
            user_id: user.id,
            card_id: event.card_id,
            kind: "undo",
            undoes: Some(event.id),
            reviewed_at: now.as_second(),
            study_day: user.today(now),
            before: current,
            after: restored,
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(event.deck_id)
}
