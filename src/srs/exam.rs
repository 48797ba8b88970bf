//! Exam windows: a class's exam covers some decks, and no card of them may come due after the
//! exam without one review in the window, the last study days before it. A grade given before
//! the window whose interval would reach into it or past the exam lands in the window
//! instead, on the day that carries the fewest of the exam's cards (the later day on a tie,
//! nearer the exam), so the window's load stays even.
//!
//! Only the due day moves. The scheduler's own state (SM-2's n, EF and interval; FSRS's
//! memory) is what the scheduler gave, so a card's state stays a pure fold over its history
//! and the exam is a last step on top of it: `place_all` recomputes every placement from the
//! natural due days, which is how a new, changed or deleted exam reaches cards scheduled
//! before it.

use std::collections::HashMap;

/// One exam as it constrains a student's schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExamWindow {
    /// The exam's study day.
    pub exam_day: i32,
    /// Study days before the exam that make its window (the exam day is not in it).
    pub window_days: u32,
    /// The decks it covers, sorted.
    pub decks: Vec<i64>,
}

/// The longest window an instructor may set, in study days.
pub const MAX_WINDOW_DAYS: u32 = 30;

/// The window an exam gets unless the instructor says otherwise.
pub const DEFAULT_WINDOW_DAYS: u32 = 5;

impl ExamWindow {
    /// The window's first day.
    pub fn start(&self) -> i32 {
        self.exam_day
            .saturating_sub(i32::try_from(self.window_days).unwrap_or(i32::MAX))
    }

    /// The window's last day: the day before the exam.
    pub fn end(&self) -> i32 {
        self.exam_day.saturating_sub(1)
    }

    /// Whether the exam covers deck `deck_id`.
    pub fn covers(&self, deck_id: i64) -> bool {
        self.decks.binary_search(&deck_id).is_ok()
    }

    /// The window's days a card graded on `graded_day` may be placed on, seen on `today`:
    /// from the window's start (or today, once the window has begun) to its end. None when
    /// the exam does not constrain the card: it was graded in the window or after the exam,
    /// its natural due day comes before the window, or no window day is left.
    ///
    /// Once the window has begun, only a card that would jump the exam moves (to a day still
    /// ahead): one due in the window already keeps its day.
    fn days_for(&self, graded_day: i32, natural_due: i32, today: i32) -> Option<(i32, i32)> {
        let first = self.start().max(today).max(graded_day.saturating_add(1));
        let reaches = if today < self.start() {
            natural_due >= self.start()
        } else {
            natural_due >= self.exam_day
        };
        (graded_day < self.start() && reaches && first <= self.end()).then_some((first, self.end()))
    }
}

/// The exam that constrains a card of `deck_id` graded on `graded_day` with `natural_due`,
/// seen on `today`: the earliest of the exams that cover its deck and whose window it would
/// reach. A card that comes back before that window is reviewed again before any later exam.
fn constraining(
    exams: &[ExamWindow],
    deck_id: i64,
    graded_day: i32,
    natural_due: i32,
    today: i32,
) -> Option<(&ExamWindow, (i32, i32))> {
    exams
        .iter()
        .filter(|e| e.covers(deck_id) && e.exam_day > graded_day)
        .min_by_key(|e| (e.exam_day, e.window_days))
        .and_then(|e| e.days_for(graded_day, natural_due, today).map(|d| (e, d)))
}

/// The day among `first..=last` with the fewest cards in `loads` (by day), the later day on a
/// tie.
fn lightest(loads: &HashMap<i32, u32>, first: i32, last: i32) -> i32 {
    (first..=last)
        .rev()
        .min_by_key(|d| loads.get(d).copied().unwrap_or(0))
        .unwrap_or(last)
}

/// The window days a grade's due day must be chosen from: a grade on `today` of a card of
/// `deck_id` whose scheduler gave `natural_due`, with the student's exams. None when no exam
/// constrains it, and the natural due day stands.
pub fn window_for<'a>(
    exams: &'a [ExamWindow],
    deck_id: i64,
    today: i32,
    natural_due: i32,
) -> Option<Window<'a>> {
    constraining(exams, deck_id, today, natural_due, today).map(|(exam, (first, last))| Window {
        exam,
        first,
        last,
    })
}

/// The days of an exam's window a card may be placed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window<'a> {
    /// The exam.
    pub exam: &'a ExamWindow,
    /// The first day.
    pub first: i32,
    /// The last day (the day before the exam).
    pub last: i32,
}

impl Window<'_> {
    /// The lightest of the window's days, given how many of the exam's cards are due on each
    /// (days not listed carry none), the later day on a tie.
    pub fn lightest(&self, loads: &HashMap<i32, u32>) -> i32 {
        lightest(loads, self.first, self.last)
    }
}

/// A grade's due day with the student's exams: `natural_due` unless an exam constrains the
/// card, then the lightest day of that exam's window, where `load` tells how many of the
/// exam's cards are due on a day (the card itself not counted). The grade path composes
/// `window_for` and `Window::lightest` the same way, reading the loads from the database in
/// between.
pub fn place(
    exams: &[ExamWindow],
    deck_id: i64,
    today: i32,
    natural_due: i32,
    load: impl Fn(&ExamWindow, i32) -> u32,
) -> i32 {
    match window_for(exams, deck_id, today, natural_due) {
        None => natural_due,
        Some(w) => w.lightest(&(w.first..=w.last).map(|d| (d, load(w.exam, d))).collect()),
    }
}

/// One scheduled card as `place_all` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheduled {
    /// The card.
    pub card_id: i64,
    /// Its deck.
    pub deck_id: i64,
    /// The day of its last grade.
    pub graded_day: i32,
    /// The due day its scheduler gave.
    pub natural_due: i32,
}

/// Every card's due day with the student's exams, from the natural due days alone, on
/// `today`: exam by exam (earliest first), the cards it constrains go one by one (earliest
/// natural due first) to the lightest day of its window, counting the exam's cards already
/// due there. Everything else keeps its natural due day. Returns (card, due day) in the
/// order given.
pub fn place_all(exams: &[ExamWindow], today: i32, cards: &[Scheduled]) -> Vec<(i64, i32)> {
    let mut due: Vec<i32> = cards.iter().map(|c| c.natural_due).collect();
    let mut constrained: Vec<(usize, &ExamWindow, (i32, i32))> = cards
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            constraining(exams, c.deck_id, c.graded_day, c.natural_due, today)
                .map(|(e, d)| (i, e, d))
        })
        .collect();
    // Exam by exam (two exams on one day stay apart: the same exam is the same window),
    // each exam's cards earliest natural due first.
    fn key<'a>(c: &Scheduled, e: &'a ExamWindow) -> (i32, u32, &'a [i64], i32, i64) {
        (
            e.exam_day,
            e.window_days,
            &e.decks,
            c.natural_due,
            c.card_id,
        )
    }
    constrained.sort_by(|a, b| key(&cards[a.0], a.1).cmp(&key(&cards[b.0], b.1)));
    let mut placed = vec![false; cards.len()];
    for &(i, _, _) in &constrained {
        placed[i] = true;
    }
    for group in constrained.chunk_by(|a, b| a.1 == b.1) {
        let exam = group[0].1;
        // The exam's cards due in its window that stay where they are.
        let mut loads: HashMap<i32, u32> = HashMap::new();
        for (i, c) in cards.iter().enumerate() {
            if !placed[i] && exam.covers(c.deck_id) && (exam.start()..=exam.end()).contains(&due[i])
            {
                *loads.entry(due[i]).or_default() += 1;
            }
        }
        for &(i, _, (first, last)) in group {
            let day = lightest(&loads, first, last);
            *loads.entry(day).or_default() += 1;
            due[i] = day;
        }
    }
    cards.iter().map(|c| c.card_id).zip(due).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::srs::schedule::{Outcome, Standing, apply};
    use proptest::prelude::*;

    fn exam(day: i32, window: u32) -> ExamWindow {
        ExamWindow {
            exam_day: day,
            window_days: window,
            decks: vec![1],
        }
    }

    #[test]
    fn a_grade_whose_interval_jumps_the_exam_lands_in_the_window() {
        let e = [exam(120, 5)];
        // Graded on day 100 with an interval to day 140: the window is 115..=119.
        assert_eq!(place(&e, 1, 100, 140, |_, _| 0), 119);
        // Due on the exam day itself is no review before it either.
        assert_eq!(place(&e, 1, 100, 120, |_, _| 0), 119);
        // Before the window: untouched; in it: spread like the rest.
        assert_eq!(place(&e, 1, 100, 114, |_, _| 0), 114);
        assert_eq!(place(&e, 1, 100, 116, |_, d| u32::from(d == 119)), 118);
        // Another deck, a grade in the window, and a grade after the exam: untouched.
        assert_eq!(place(&e, 2, 100, 140, |_, _| 0), 140);
        assert_eq!(place(&e, 1, 116, 140, |_, _| 0), 140);
        assert_eq!(place(&e, 1, 121, 140, |_, _| 0), 140);
    }

    #[test]
    fn the_lightest_window_day_is_taken_and_the_later_on_a_tie() {
        let e = [exam(120, 5)];
        let load = |_: &ExamWindow, d: i32| match d {
            119 => 3,
            118 => 2,
            117 => 2,
            _ => 1,
        };
        assert_eq!(place(&e, 1, 100, 200, load), 116);
    }

    #[test]
    fn the_earliest_exam_whose_window_the_card_reaches_constrains_it() {
        let e = [exam(150, 5), exam(120, 5)];
        assert_eq!(place(&e, 1, 100, 200, |_, _| 0), 119);
        // Back before the first window: graded again then, before the second exam.
        assert_eq!(place(&e, 1, 100, 110, |_, _| 0), 110);
        // After the first exam, the second one constrains it.
        assert_eq!(place(&e, 1, 121, 200, |_, _| 0), 149);
    }

    #[test]
    fn placing_everything_again_restores_natural_days_when_no_exam_constrains() {
        let cards = [Scheduled {
            card_id: 7,
            deck_id: 1,
            graded_day: 100,
            natural_due: 140,
        }];
        assert_eq!(place_all(&[], 101, &cards), vec![(7, 140)]);
        assert_eq!(place_all(&[exam(120, 5)], 101, &cards), vec![(7, 119)]);
        // Seen in the window, on day 118: only its days that are left.
        assert_eq!(place_all(&[exam(120, 5)], 118, &cards), vec![(7, 119)]);
        // After the exam: natural again.
        assert_eq!(place_all(&[exam(120, 5)], 125, &cards), vec![(7, 140)]);
    }

    #[test]
    fn two_exams_on_one_day_are_placed_each_over_its_own_window() {
        let second = ExamWindow {
            exam_day: 120,
            window_days: 2,
            decks: vec![2],
        };
        let cards: Vec<Scheduled> = (0..8)
            .map(|i| Scheduled {
                card_id: i,
                deck_id: 1 + i % 2,
                graded_day: 100,
                natural_due: 130 + i32::try_from(i).unwrap_or(0),
            })
            .collect();
        let placed = place_all(&[exam(120, 4), second], 100, &cards);
        let load = |deck: i64, day: i32| {
            cards
                .iter()
                .zip(&placed)
                .filter(|(c, p)| c.deck_id == deck && p.1 == day)
                .count()
        };
        // Four cards of deck 1 over days 116 to 119, four of deck 2 over 118 and 119.
        assert!((116..=119).all(|d| load(1, d) == 1));
        assert!((118..=119).all(|d| load(2, d) == 2));
    }

    #[test]
    fn opened_windows_move_only_cards_that_jump() {
        let card = |id, natural_due| Scheduled {
            card_id: id,
            deck_id: 1,
            graded_day: 97,
            natural_due,
        };
        // The window is 98..=101 and today is 100: a card due on 98 is due now and stays, one
        // due on 101 stays, one that jumps goes to a day still ahead.
        let cards = [card(1, 98), card(2, 101), card(3, 130), card(4, 131)];
        assert_eq!(
            place_all(&[exam(102, 4)], 100, &cards),
            vec![(1, 98), (2, 101), (3, 100), (4, 101)]
        );
    }

    /// One simulated student: cards of the exam's deck graded with random grades, each on the
    /// day it comes due or a few days late, until the window opens. Returns each studied
    /// card's (graded day, due day).
    fn simulate(grades: &[(u8, i32)], cards: usize, e: &ExamWindow) -> Vec<(i32, i32)> {
        // Per card: (graded day, schedule, the day the student gets to it).
        let mut state: Vec<Option<(i32, CardSchedule, i32)>> = vec![None; cards];
        let mut next = grades.iter();
        'days: for day in 100..e.start() {
            for i in 0..cards {
                if state[i].is_some_and(|(_, _, on)| on > day) {
                    continue;
                }
                let Some(&(q, late)) = next.next() else {
                    break 'days;
                };
                let standing = state[i].map_or(Standing::New, |(_, s, _)| Standing::Scheduled(s));
                if let Ok(Outcome::Graded(mut s)) = apply(standing, q, day, 36_500) {
                    let load = |_: &ExamWindow, d: i32| {
                        let n = state
                            .iter()
                            .enumerate()
                            .filter(|(j, c)| *j != i && c.is_some_and(|(_, c, _)| c.due_day == d))
                            .count();
                        u32::try_from(n).unwrap_or(u32::MAX)
                    };
                    s.due_day = place(std::slice::from_ref(e), 1, day, s.due_day, load);
                    state[i] = Some((day, s, s.due_day + late));
                }
            }
        }
        state
            .iter()
            .flatten()
            .map(|(g, s, _)| (*g, s.due_day))
            .collect()
    }

    use crate::srs::schedule::CardSchedule;

    fn assert_window_holds(cards: &[(i32, i32)], e: &ExamWindow) -> Result<(), TestCaseError> {
        for &(graded, due) in cards {
            if graded < e.start() {
                prop_assert!(
                    due < e.exam_day,
                    "graded on {graded}, due {due}, exam {}",
                    e.exam_day
                );
            }
        }
        let in_window: Vec<i32> = cards
            .iter()
            .map(|c| c.1)
            .filter(|d| (e.start()..=e.end()).contains(d))
            .collect();
        let days = i64::from(e.window_days);
        let share = (i64::try_from(in_window.len()).unwrap_or(0) + days - 1) / days + 1;
        for d in e.start()..=e.end() {
            let load = in_window.iter().filter(|x| **x == d).count();
            prop_assert!(
                i64::try_from(load).unwrap_or(0) <= share,
                "day {d} carries {load} of {} (share {share})",
                in_window.len()
            );
        }
        Ok(())
    }

    proptest! {
        /// Grading day by day up to the window: no card graded before it comes due after the
        /// exam, and no window day carries more than ceil(cards / window days) + 1.
        #[test]
        fn exam_windows_are_never_jumped_and_their_load_is_even(
            grades in proptest::collection::vec((0u8..=5, prop_oneof![Just(0), 0i32..4]), 1..400),
            cards in 1usize..60,
            exam_in in 8i32..80,
            window in 1u32..=10,
        ) {
            let e = ExamWindow { exam_day: 100 + exam_in, window_days: window, decks: vec![1] };
            let studied = simulate(&grades, cards, &e);
            assert_window_holds(&studied, &e)?;
        }

        /// Placing every card again from its natural due day (a new or changed exam) keeps
        /// the same two promises.
        #[test]
        fn placing_all_cards_keeps_the_window(
            natural in proptest::collection::vec((0i32..30, 1i32..200), 1..200),
            exam_in in 2i32..60,
            window in 1u32..=10,
        ) {
            // Seen before the window opens (`opened_windows_move_only_cards_that_jump`).
            let window = window.min(u32::try_from(exam_in - 1).unwrap_or(1));
            let e = ExamWindow { exam_day: 100 + exam_in, window_days: window, decks: vec![1] };
            let cards: Vec<Scheduled> = natural
                .iter()
                .enumerate()
                .map(|(i, &(ago, interval))| Scheduled {
                    card_id: i64::try_from(i).unwrap_or(0),
                    deck_id: 1,
                    graded_day: 100 - ago,
                    natural_due: 100 - ago + interval,
                })
                .collect();
            let placed = place_all(std::slice::from_ref(&e), 100, &cards);
            let studied: Vec<(i32, i32)> =
                cards.iter().zip(&placed).map(|(c, p)| (c.graded_day, p.1)).collect();
            assert_window_holds(&studied, &e)?;
            for (c, p) in cards.iter().zip(&placed) {
                // Only cards that reach the window move, and never to before it.
                if c.natural_due < e.start() {
                    prop_assert_eq!(p.1, c.natural_due);
                } else {
                    prop_assert!(p.1 >= e.start() && p.1 <= c.natural_due.max(e.end()));
                }
            }
        }
    }
}
