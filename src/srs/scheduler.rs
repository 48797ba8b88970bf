//! The scheduler a student studies with: SM-2 (the default) or FSRS at a retention they chose.
//! The same-day repeat, the new-card limit and SM-2's own numbers (n, EF, lapses) work the same
//! under both; FSRS decides the interval and the due day, from a memory state (stability,
//! difficulty) kept beside the card. Either way a card's schedule is a fold over its standing
//! grades, so switching recomputes it from the history and loses nothing.

use super::fsrs::{self, Rating};
use super::schedule::{
    CardSchedule, Counted, Preview, REPEAT_BELOW, Refusal, Standing, replay, replay_lenient,
};

/// FSRS's memory of a card: (stability in days, difficulty 1 to 10).
pub type Memory = (f32, f32);

/// A card's recomputed schedule and, under FSRS, its memory.
pub type Rescheduled = (CardSchedule, Option<Memory>);

/// The desired retentions offered, in percent (`fsrs::DESIRED_RETENTION_RANGE`).
pub const RETENTION_PCT: std::ops::RangeInclusive<i64> = 70..=97;

/// A student's scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheduler {
    /// SuperMemo 2, exactly.
    #[default]
    Sm2,
    /// FSRS-6 with the default parameters, due when predicted recall falls to this many
    /// percent (70 to 97).
    Fsrs {
        /// Desired retention in percent.
        retention_pct: u8,
    },
}

/// A scheduler name or retention that is not offered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unknown(pub String);

impl Scheduler {
    /// From the stored or submitted name ("sm2", "fsrs") and retention in percent.
    pub fn parse(name: &str, retention_pct: i64) -> Result<Self, Unknown> {
        let in_range = RETENTION_PCT.contains(&retention_pct);
        match name {
            "sm2" => Ok(Self::Sm2),
            "fsrs" if in_range => Ok(Self::Fsrs {
                retention_pct: u8::try_from(retention_pct).unwrap_or(90),
            }),
            "fsrs" => Err(Unknown(format!(
                "Desired retention is a whole percentage from 70 to 97, not {retention_pct}."
            ))),
            _ => Err(Unknown("The scheduler is SM-2 or FSRS.".to_owned())),
        }
    }

    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sm2 => "sm2",
            Self::Fsrs { .. } => "fsrs",
        }
    }

    /// The desired retention under FSRS, as a fraction.
    pub fn retention(self) -> Option<f32> {
        match self {
            Self::Sm2 => None,
            Self::Fsrs { retention_pct } => Some(f32::from(retention_pct) / 100.0),
        }
    }
}

/// Under FSRS: the memory after `quality` and the schedule it gives, on top of SM-2's
/// `graded` (which keeps n, EF and lapses). `memory` is the card's before the grade (None if
/// new) and `last_graded_day` the day of its previous grade.
#[allow(clippy::too_many_arguments)]
pub fn fsrs_grade(
    parameters: &[f32],
    graded: CardSchedule,
    memory: Option<(f32, f32)>,
    last_graded_day: Option<i32>,
    quality: u8,
    today: i32,
    retention: f32,
    max_interval_days: u32,
) -> (CardSchedule, (f32, f32)) {
    let rating = Rating::of_quality(quality).unwrap_or(Rating::Again);
    let elapsed = last_graded_day.map_or(0, |d| u32::try_from(today - d).unwrap_or(0));
    let (stability, difficulty, interval) =
        fsrs::next_states(parameters, memory, retention, elapsed)[rating.index()];
    (
        with_interval(graded, today, interval, max_interval_days),
        (stability, difficulty),
    )
}

fn with_interval(s: CardSchedule, day: i32, interval: u32, max_interval_days: u32) -> CardSchedule {
    let interval = interval.clamp(1, max_interval_days.max(1));
    CardSchedule {
        sm2: super::sm2::State {
            interval_days: interval,
            ..s.sm2
        },
        due_day: day.saturating_add(i32::try_from(interval).unwrap_or(i32::MAX)),
        ..s
    }
}

/// What each grade 0..=5 would do under FSRS to a card in `standing` with `memory`, last
/// graded on `graded_day` (None: its due day less its interval), on `today`, for the grade
/// buttons.
#[allow(clippy::too_many_arguments)]
pub fn fsrs_previews(
    parameters: &[f32],
    standing: Standing,
    memory: Option<(f32, f32)>,
    graded_day: Option<i32>,
    today: i32,
    retention: f32,
    max_interval_days: u32,
) -> Vec<Preview> {
    let next = |elapsed: u32, memory| fsrs::next_states(parameters, memory, retention, elapsed);
    let intervals = match standing {
        Standing::RepeatToday(s) => [s.sm2.interval_days; 4],
        Standing::New => next(0, None).map(|n| n.2),
        Standing::Scheduled(s) => {
            let last = graded_day
                .unwrap_or_else(|| s.due_day - i32::try_from(s.sm2.interval_days).unwrap_or(0));
            next(u32::try_from(today - last).unwrap_or(0), memory).map(|n| n.2)
        }
    };
    (0..=super::sm2::MAX_QUALITY)
        .map(|quality| {
            let rating = Rating::of_quality(quality).unwrap_or(Rating::Again);
            Preview {
                quality,
                interval_days: intervals[rating.index()].clamp(1, max_interval_days.max(1)),
                again_today: quality < REPEAT_BELOW,
            }
        })
        .collect()
}

/// A card's schedule under `scheduler` recomputed from its standing history, (study day,
/// quality) oldest first: SM-2 replayed as if every grade had been due, and under FSRS the
/// memory folded over the grades (repeats leave it alone) with the interval from the last
/// grade. None for an empty history.
pub fn recompute(
    parameters: &[f32],
    events: &[(i32, u8)],
    scheduler: Scheduler,
    max_interval_days: u32,
) -> Result<Option<Rescheduled>, Refusal> {
    let (schedule, counted) = match scheduler {
        // Exactly SM-2's schedule when the history was graded under SM-2.
        Scheduler::Sm2 => replay(events, max_interval_days)
            .or_else(|_| replay_lenient(events, max_interval_days))?,
        Scheduler::Fsrs { .. } => replay_lenient(events, max_interval_days)?,
    };
    let Some(schedule) = schedule else {
        return Ok(None);
    };
    let Some(retention) = scheduler.retention() else {
        return Ok(Some((schedule, None)));
    };
    let grades: Vec<(i32, u8)> = events
        .iter()
        .zip(&counted)
        .filter(|(_, c)| **c == Counted::Grade)
        .map(|(e, _)| *e)
        .collect();
    let mut previous = None;
    let ratings: Vec<(Rating, u32)> = grades
        .iter()
        .map(|&(day, quality)| {
            let elapsed = previous.map_or(0, |p: i32| u32::try_from(day - p).unwrap_or(0));
            previous = Some(day);
            (
                Rating::of_quality(quality).unwrap_or(Rating::Again),
                elapsed,
            )
        })
        .collect();
    let memory = fsrs::memory_from_grades(parameters, &ratings)
        .ok()
        .flatten()
        .unwrap_or((0.0, 0.0));
    let last_day = grades.last().map_or(schedule.due_day, |g| g.0);
    let interval = fsrs::interval_days(parameters, memory.0, retention);
    Ok(Some((
        with_interval(schedule, last_day, interval, max_interval_days),
        Some(memory),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::srs::schedule::{Outcome, apply};
    use proptest::prelude::*;

    #[test]
    fn names_and_retentions_are_checked() {
        assert_eq!(Scheduler::parse("sm2", 0), Ok(Scheduler::Sm2));
        assert_eq!(
            Scheduler::parse("fsrs", 85),
            Ok(Scheduler::Fsrs { retention_pct: 85 })
        );
        assert!(Scheduler::parse("fsrs", 69).is_err());
        assert!(Scheduler::parse("fsrs", 98).is_err());
        assert!(Scheduler::parse("anki", 90).is_err());
        assert_eq!(
            Scheduler::Fsrs { retention_pct: 85 }.retention(),
            Some(0.85)
        );
    }

    /// Grades one card the way the server does: each step is a grade and, unless the card
    /// owes a same-day repeat, the days past its due day before it is given. Returns the
    /// history and the final card (schedule, FSRS memory).
    fn study(steps: &[(u8, i32)], scheduler: Scheduler) -> (Vec<(i32, u8)>, Option<Rescheduled>) {
        let mut events = Vec::new();
        let mut card: Option<Rescheduled> = None;
        let mut last: Option<(i32, u8)> = None;
        for &(q, late) in steps {
            let owes = last.is_some_and(|(_, lq)| lq < REPEAT_BELOW);
            let day = match (card, last) {
                (Some(_), Some((d, _))) if owes => d,
                (Some((c, _)), _) => c.due_day + late,
                (None, _) => 100,
            };
            let standing = match card {
                None => Standing::New,
                Some((c, _)) if owes => Standing::RepeatToday(c),
                Some((c, _)) => Standing::Scheduled(c),
            };
            match apply(standing, q, day, 36_500).expect("the card is due") {
                Outcome::Graded(g) => {
                    card = Some(match scheduler.retention() {
                        None => (g, None),
                        Some(retention) => {
                            let memory = card.and_then(|c| c.1);
                            let last_graded = card.map(|c| {
                                c.0.due_day - i32::try_from(c.0.sm2.interval_days).unwrap_or(0)
                            });
                            let (s, m) =
                                fsrs_grade(&[], g, memory, last_graded, q, day, retention, 36_500);
                            (s, Some(m))
                        }
                    });
                }
                Outcome::Repeated => {}
            }
            events.push((day, q));
            last = Some((day, q));
        }
        (events, card)
    }

    proptest! {
        /// Grading one grade at a time and recomputing from the history agree, so switching
        /// to FSRS gives the schedule a student on FSRS all along would have.
        #[test]
        fn grading_live_equals_recomputing(
            steps in proptest::collection::vec((0u8..=5, 0i32..10), 1..30),
            retention_pct in 70u8..=97,
        ) {
            let scheduler = Scheduler::Fsrs { retention_pct };
            let (events, live) = study(&steps, scheduler);
            let (a, ma) = live.unwrap();
            let (b, mb) = recompute(&[], &events, scheduler, 36_500).unwrap().unwrap();
            let (ma, mb) = (ma.unwrap(), mb.unwrap());
            prop_assert_eq!(a, b, "{:?}", events);
            prop_assert!((ma.0 - mb.0).abs() <= 1e-3 * ma.0.max(1.0), "{:?} {:?}", ma, mb);
            prop_assert!((ma.1 - mb.1).abs() <= 1e-3, "{:?} {:?}", ma, mb);
        }

        /// A history graded under SM-2, recomputed for FSRS and then for SM-2 again, gives
        /// exactly SM-2's schedule back.
        #[test]
        fn there_and_back_is_exactly_sm2(
            steps in proptest::collection::vec((0u8..=5, 0i32..10), 1..30),
        ) {
            let (events, live) = study(&steps, Scheduler::Sm2);
            let fsrs = recompute(&[], &events, Scheduler::Fsrs { retention_pct: 90 }, 36_500).unwrap();
            prop_assert!(fsrs.is_some());
            let back = recompute(&[], &events, Scheduler::Sm2, 36_500).unwrap();
            prop_assert_eq!(back.map(|b| b.0), live.map(|l| l.0));
        }
    }
}
