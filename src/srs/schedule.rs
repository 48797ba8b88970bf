//! What one grade does to one card for one learner, on top of SM-2: due days, lapses, the
//! same-day repeat of cards graded below 4, and the interval each grade button would give.

use super::sm2;

/// Grades below this send a card back into today's session until it earns one of them.
pub const REPEAT_BELOW: u8 = 4;

/// A card's schedule for one learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardSchedule {
    /// The SM-2 state.
    pub sm2: sm2::State,
    /// The study day the card is next due.
    pub due_day: i32,
    /// How many times a card that had been learned was forgotten (graded below 3).
    pub lapses: u32,
}

/// Where a card stands before a grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Never reviewed.
    New,
    /// Graded below 4 earlier today and not yet recovered: a same-day repeat.
    RepeatToday(CardSchedule),
    /// Scheduled; due when `due_day <= today`.
    Scheduled(CardSchedule),
}

/// What a grade does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The schedule moved to this.
    Graded(CardSchedule),
    /// A same-day repeat: logged, the schedule is unchanged.
    Repeated,
}

/// Why a grade cannot be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The grade is not 0..=5.
    Quality(sm2::QualityOutOfRange),
    /// The card is scheduled for a later day (e.g. a grade form submitted twice).
    NotDue {
        /// When it is due.
        due_day: i32,
    },
}

/// Applies `quality` to a card in `standing` on study day `today`.
pub fn apply(
    standing: Standing,
    quality: u8,
    today: i32,
    max_interval_days: u32,
) -> Result<Outcome, Refusal> {
    if quality > sm2::MAX_QUALITY {
        return Err(Refusal::Quality(sm2::QualityOutOfRange(quality)));
    }
    let before = match standing {
        Standing::RepeatToday(_) => return Ok(Outcome::Repeated),
        Standing::New => None,
        Standing::Scheduled(s) if s.due_day > today => {
            return Err(Refusal::NotDue { due_day: s.due_day });
        }
        Standing::Scheduled(s) => Some(s),
    };
    let prev_sm2 = before.map(|s| s.sm2).unwrap_or_default();
    let next =
        sm2::review_capped(prev_sm2, quality, max_interval_days).map_err(Refusal::Quality)?;
    let lapsed = quality < 3 && prev_sm2.repetitions > 0;
    let lapses = before.map_or(0, |s| s.lapses) + u32::from(lapsed);
    Ok(Outcome::Graded(CardSchedule {
        sm2: next,
        due_day: today.saturating_add(i32::try_from(next.interval_days).unwrap_or(i32::MAX)),
        lapses,
    }))
}

/// How a grade in a history counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// It moved the schedule.
    Grade,
    /// A same-day repeat: logged only.
    Repeat,
}

/// A card's schedule replayed from its history: the grades and repeats that stand (no undo
/// took them back), oldest first, as (study day, quality). The schedule is a pure function of
/// that history, which is what lets a scheduler be switched and switched back with nothing
/// lost. Returns the schedule (None for an empty history) and how each event counted; a
/// refusal if the history holds a grade the rules would have refused.
pub fn replay(
    events: &[(i32, u8)],
    max_interval_days: u32,
) -> Result<(Option<CardSchedule>, Vec<Counted>), Refusal> {
    replay_checked(events, max_interval_days, true)
}

/// [`replay`] of a history graded under another scheduler, which may have shown a card before
/// SM-2 would have: each grade is applied as SM-2 would have applied it had the card been due.
/// This is the SM-2 schedule a student comes back to after switching away and back.
pub fn replay_lenient(
    events: &[(i32, u8)],
    max_interval_days: u32,
) -> Result<(Option<CardSchedule>, Vec<Counted>), Refusal> {
    replay_checked(events, max_interval_days, false)
}

fn replay_checked(
    events: &[(i32, u8)],
    max_interval_days: u32,
    check_due: bool,
) -> Result<(Option<CardSchedule>, Vec<Counted>), Refusal> {
    let mut schedule: Option<CardSchedule> = None;
    let mut last: Option<(i32, u8)> = None;
    let mut counted = Vec::with_capacity(events.len());
    for &(day, quality) in events {
        let owes_repeat = last.is_some_and(|(d, q)| d == day && q < REPEAT_BELOW);
        let standing = match schedule {
            None => Standing::New,
            Some(s) if owes_repeat => Standing::RepeatToday(s),
            Some(s) if !check_due => Standing::Scheduled(CardSchedule {
                due_day: s.due_day.min(day),
                ..s
            }),
            Some(s) => Standing::Scheduled(s),
        };
        match apply(standing, quality, day, max_interval_days)? {
            Outcome::Graded(next) => {
                schedule = Some(next);
                counted.push(Counted::Grade);
            }
            Outcome::Repeated => counted.push(Counted::Repeat),
        }
        last = Some((day, quality));
    }
    Ok((schedule, counted))
}

/// What pressing one grade button would do, shown on the button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// The grade.
    pub quality: u8,
    /// Days until the card is due again.
    pub interval_days: u32,
    /// Whether the card also comes back later today.
    pub again_today: bool,
}

/// The preview of every grade 0..=5 for a card in `standing`.
pub fn previews(standing: Standing, max_interval_days: u32) -> Vec<Preview> {
    (0..=sm2::MAX_QUALITY)
        .map(|quality| {
            let interval_days = match standing {
                Standing::RepeatToday(s) => s.sm2.interval_days,
                Standing::New => {
                    sm2::review_capped(sm2::State::default(), quality, max_interval_days)
                        .map_or(1, |s| s.interval_days)
                }
                Standing::Scheduled(s) => sm2::review_capped(s.sm2, quality, max_interval_days)
                    .map_or(1, |s| s.interval_days),
            };
            Preview {
                quality,
                interval_days,
                again_today: quality < REPEAT_BELOW,
            }
        })
        .collect()
}

/// A short human form of an interval: "1d", "17d", "4.7mo", "1.2y".
pub fn interval_label(days: u32) -> String {
    match days {
        0..=59 => format!("{days}d"),
        60..=364 => format!("{:.1}mo", f64::from(days) / 30.44),
        _ => format!("{:.1}y", f64::from(days) / 365.25),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_history_replays_to_its_schedule() {
        // Day 10: 5 (new, I = 1). Day 11: 2 (lapse; back today), 3 (a repeat), 4 (recovered,
        // still a repeat). Day 12: 5 (n was reset: I = 1). Day 13: 5 (I = 6).
        let events = [(10, 5), (11, 2), (11, 3), (11, 4), (12, 5), (13, 5)];
        let (schedule, counted) = replay(&events, 36_500).unwrap();
        let s = schedule.unwrap();
        assert_eq!(
            counted,
            [
                Counted::Grade,
                Counted::Grade,
                Counted::Repeat,
                Counted::Repeat,
                Counted::Grade,
                Counted::Grade
            ]
        );
        assert_eq!(
            (s.sm2.repetitions, s.sm2.interval_days, s.due_day),
            (2, 6, 19)
        );
        assert_eq!(s.lapses, 1);
        assert_eq!(replay(&[], 36_500), Ok((None, vec![])));
        assert_eq!(
            replay(&[(10, 5), (10, 5)], 36_500),
            Err(Refusal::NotDue { due_day: 11 }),
            "a second grade on the day of a good one was never allowed"
        );
    }

    fn scheduled(repetitions: u32, ef: u32, interval: u32, due_day: i32) -> Standing {
        Standing::Scheduled(CardSchedule {
            sm2: sm2::State {
                repetitions,
                easiness_hundredths: ef,
                interval_days: interval,
            },
            due_day,
            lapses: 0,
        })
    }

    #[test]
    fn a_new_card_graded_five_is_due_tomorrow() {
        let Outcome::Graded(s) = apply(Standing::New, 5, 100, 36_500).unwrap() else {
            panic!("expected a graded outcome");
        };
        assert_eq!(s.due_day, 101);
        assert_eq!(s.sm2.repetitions, 1);
    }

    #[test]
    fn a_late_review_counts_from_the_day_it_happens() {
        let Outcome::Graded(s) = apply(scheduled(1, 250, 1, 90), 4, 100, 36_500).unwrap() else {
            panic!("expected a graded outcome");
        };
        assert_eq!(s.due_day, 106);
    }

    #[test]
    fn a_card_due_later_is_refused() {
        assert_eq!(
            apply(scheduled(1, 250, 1, 101), 4, 100, 36_500),
            Err(Refusal::NotDue { due_day: 101 })
        );
    }

    #[test]
    fn a_same_day_repeat_changes_nothing() {
        let Standing::Scheduled(s) = scheduled(0, 218, 1, 101) else {
            unreachable!()
        };
        assert_eq!(
            apply(Standing::RepeatToday(s), 5, 100, 36_500),
            Ok(Outcome::Repeated)
        );
    }

    #[test]
    fn forgetting_a_learned_card_counts_a_lapse_but_failing_a_new_one_does_not() {
        let Outcome::Graded(s) = apply(scheduled(3, 250, 15, 100), 1, 100, 36_500).unwrap() else {
            panic!("expected a graded outcome");
        };
        assert_eq!(s.lapses, 1);
        let Outcome::Graded(s) = apply(Standing::New, 1, 100, 36_500).unwrap() else {
            panic!("expected a graded outcome");
        };
        assert_eq!(s.lapses, 0);
    }

    #[test]
    fn grade_nine_is_refused() {
        assert!(matches!(
            apply(Standing::New, 9, 100, 36_500),
            Err(Refusal::Quality(_))
        ));
    }

    #[test]
    fn previews_show_each_grades_interval() {
        let p = previews(scheduled(2, 250, 6, 100), 36_500);
        let days: Vec<u32> = p.iter().map(|p| p.interval_days).collect();
        // SM-2 uses the EF from before the review, so every passing grade gives ceil(6 * 2.5).
        assert_eq!(days, vec![1, 1, 1, 15, 15, 15]);
        assert!(p[3].again_today && !p[4].again_today);
    }

    #[test]
    fn intervals_read_as_days_months_or_years() {
        assert_eq!(interval_label(1), "1d");
        assert_eq!(interval_label(140), "4.6mo");
        assert_eq!(interval_label(800), "2.2y");
    }
}
