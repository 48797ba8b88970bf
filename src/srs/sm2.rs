//! SuperMemo 2 (Wozniak, 1990), exactly as SuperMemo's reference describes it.
//!
//! The easiness factor is kept as integer hundredths: every change to it is a multiple of
//! 0.02, so integers represent it exactly, whereas a float EF makes `ceil(I * EF)` add a day
//! now and then (6 * 2.7 = 16.200000000000003).

use std::fmt;

/// EF of an item that was never reviewed: 2.5.
pub const INITIAL_EASINESS_HUNDREDTHS: u32 = 250;
/// SM-2 never lets EF fall below 1.3.
pub const MIN_EASINESS_HUNDREDTHS: u32 = 130;
/// Default cap on an interval: about a hundred years.
pub const DEFAULT_MAX_INTERVAL_DAYS: u32 = 36_500;
/// The highest grade SM-2 knows.
pub const MAX_QUALITY: u8 = 5;

/// The SM-2 state of one item for one learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct State {
    /// n: successful reviews in a row (reset by a grade below 3).
    pub repetitions: u32,
    /// EF in hundredths (250 = 2.5).
    pub easiness_hundredths: u32,
    /// I: days until the next review (0 for an item never reviewed).
    pub interval_days: u32,
}

impl Default for State {
    /// A new item: n = 0, EF = 2.5, I = 0.
    fn default() -> Self {
        Self {
            repetitions: 0,
            easiness_hundredths: INITIAL_EASINESS_HUNDREDTHS,
            interval_days: 0,
        }
    }
}

/// A grade outside 0..=5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QualityOutOfRange(pub u8);

impl fmt::Display for QualityOutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "grade {} is out of range: SM-2 grades are whole numbers from 0 to 5",
            self.0
        )
    }
}

impl std::error::Error for QualityOutOfRange {}

/// The error type of [`review`].
pub type Error = QualityOutOfRange;

/// Applies one review graded `quality` (0..=5) with the default interval cap.
pub fn review(state: State, quality: u8) -> Result<State, Error> {
    review_capped(state, quality, DEFAULT_MAX_INTERVAL_DAYS)
}

/// Applies one review graded `quality`, capping the interval at `max_interval_days`.
///
/// - q >= 3: I = 1 when n = 0, 6 when n = 1, else ceil(I * EF) with the EF from before this
///   review; then n += 1.
/// - q < 3: n = 0 and I = 1; EF is kept (not reset to 2.5).
/// - Always: EF += 0.1 - (5 - q)(0.08 + (5 - q) 0.02), floored at 1.3, with no upper cap.
pub fn review_capped(state: State, quality: u8, max_interval_days: u32) -> Result<State, Error> {
    if quality > MAX_QUALITY {
        return Err(QualityOutOfRange(quality));
    }
    let max_interval = max_interval_days.max(1);
    let (repetitions, interval_days) = if quality >= 3 {
        let interval = match state.repetitions {
            0 => 1,
            1 => 6,
            _ => {
                let product = u64::from(state.interval_days) * u64::from(state.easiness_hundredths);
                // ceil(I * EF) with EF in hundredths.
                u32::try_from(product.div_ceil(100)).unwrap_or(u32::MAX)
            }
        };
        (state.repetitions.saturating_add(1), interval)
    } else {
        (0, 1)
    };
    Ok(State {
        repetitions,
        easiness_hundredths: next_easiness(state.easiness_hundredths, quality),
        interval_days: interval_days.min(max_interval),
    })
}

/// EF after a review graded `quality`, in hundredths: 0.1 - (5-q)(0.08 + (5-q)0.02) is
/// +10, 0, -14, -32, -54, -80 hundredths for q = 5..0.
fn next_easiness(easiness_hundredths: u32, quality: u8) -> u32 {
    let miss = i64::from(MAX_QUALITY - quality);
    let delta = 10 - miss * (8 + miss * 2);
    let next = i64::from(easiness_hundredths) + delta;
    u32::try_from(next.max(i64::from(MIN_EASINESS_HUNDREDTHS))).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(grades: &[u8]) -> Vec<State> {
        let mut state = State::default();
        grades
            .iter()
            .map(|&q| {
                state = review(state, q).unwrap();
                state
            })
            .collect()
    }

    fn intervals(states: &[State]) -> Vec<u32> {
        states.iter().map(|s| s.interval_days).collect()
    }

    #[test]
    fn a_new_item_has_no_repetitions_ef_two_and_a_half_and_no_interval() {
        assert_eq!(
            State::default(),
            State {
                repetitions: 0,
                easiness_hundredths: 250,
                interval_days: 0
            }
        );
    }

    #[test]
    fn five_perfect_grades_give_the_reference_intervals_and_ef_three() {
        let states = run(&[5, 5, 5, 5, 5]);
        assert_eq!(intervals(&states), vec![1, 6, 17, 48, 140]);
        assert_eq!(states[4].easiness_hundredths, 300);
        assert_eq!(states[4].repetitions, 5);
    }

    #[test]
    fn grade_four_keeps_ef_and_grows_by_two_and_a_half() {
        let states = run(&[4, 4, 4, 4]);
        assert_eq!(intervals(&states), vec![1, 6, 15, 38]);
        assert!(states.iter().all(|s| s.easiness_hundredths == 250));
    }

    #[test]
    fn grade_three_passes_but_lowers_ef_by_fourteen_hundredths() {
        let states = run(&[3, 3, 3]);
        assert_eq!(intervals(&states), vec![1, 6, 14]);
        // The third interval uses EF from before that review: ceil(6 * 2.22) = 14.
        assert_eq!(
            states
                .iter()
                .map(|s| s.easiness_hundredths)
                .collect::<Vec<_>>(),
            vec![236, 222, 208]
        );
    }

    #[test]
    fn a_failure_resets_repetitions_and_interval_but_keeps_the_lowered_ef() {
        let states = run(&[5, 5, 5, 2, 5, 5]);
        assert_eq!(intervals(&states), vec![1, 6, 17, 1, 1, 6]);
        assert_eq!(states[3].repetitions, 0);
        // 250 +10 +10 +10 -32 = 248, then +10 twice.
        assert_eq!(states[3].easiness_hundredths, 248);
        assert_eq!(states[5].easiness_hundredths, 268);
    }

    #[test]
    fn every_failing_grade_moves_ef_by_its_own_step() {
        for (q, expected) in [(0, 170), (1, 196), (2, 218)] {
            assert_eq!(
                review(State::default(), q).unwrap().easiness_hundredths,
                expected
            );
        }
    }

    #[test]
    fn ef_never_falls_below_one_point_three() {
        let states = run(&[0, 0, 0, 0, 1, 2, 0]);
        assert!(states.iter().all(|s| s.easiness_hundredths >= 130));
        assert_eq!(states.last().unwrap().easiness_hundredths, 130);
    }

    #[test]
    fn a_long_mixed_sequence_matches_a_hand_computation() {
        // q:  5    4    3    5    0    4    5
        // EF: 260  260  246  256  176  176  186
        // I:  1    6    16   40   1    1    6
        // Third: ceil(6 * 2.60) = 16; fourth: ceil(16 * 2.46) = ceil(39.36) = 40.
        let states = run(&[5, 4, 3, 5, 0, 4, 5]);
        assert_eq!(intervals(&states), vec![1, 6, 16, 40, 1, 1, 6]);
        assert_eq!(
            states
                .iter()
                .map(|s| s.easiness_hundredths)
                .collect::<Vec<_>>(),
            vec![260, 260, 246, 256, 176, 176, 186]
        );
    }

    #[test]
    fn ef_has_no_upper_cap() {
        let states = run(&[5; 20]);
        assert_eq!(states.last().unwrap().easiness_hundredths, 450);
    }

    #[test]
    fn intervals_stop_at_the_cap() {
        let mut state = State::default();
        for _ in 0..30 {
            state = review_capped(state, 5, 365).unwrap();
        }
        assert_eq!(state.interval_days, 365);
        assert_eq!(review(State::default(), 5).unwrap().interval_days, 1);
    }

    #[test]
    fn a_quality_above_five_is_an_error_naming_it() {
        let err = review(State::default(), 9).unwrap_err();
        assert_eq!(err, QualityOutOfRange(9));
        assert!(err.to_string().contains("0 to 5"));
    }

    proptest! {
        #[test]
        fn ef_stays_at_or_above_the_floor_and_intervals_stay_in_range(
            grades in proptest::collection::vec(0u8..=5, 1..60)
        ) {
            let mut state = State::default();
            for q in grades {
                let next = review(state, q).unwrap();
                prop_assert!(next.easiness_hundredths >= MIN_EASINESS_HUNDREDTHS);
                prop_assert!(next.interval_days >= 1);
                prop_assert!(next.interval_days <= DEFAULT_MAX_INTERVAL_DAYS);
                if q < 3 {
                    prop_assert_eq!(next.repetitions, 0);
                    prop_assert_eq!(next.interval_days, 1);
                } else {
                    prop_assert_eq!(next.repetitions, state.repetitions + 1);
                    prop_assert!(next.interval_days >= state.interval_days.min(DEFAULT_MAX_INTERVAL_DAYS));
                }
                state = next;
            }
        }

        #[test]
        fn a_higher_grade_never_gives_a_shorter_interval_or_lower_ef(
            grades in proptest::collection::vec(0u8..=5, 0..30),
            q in 0u8..5,
        ) {
            let mut state = State::default();
            for g in grades {
                state = review(state, g).unwrap();
            }
            let lower = review(state, q).unwrap();
            let higher = review(state, q + 1).unwrap();
            prop_assert!(higher.interval_days >= lower.interval_days);
            prop_assert!(higher.easiness_hundredths >= lower.easiness_hundredths);
        }

        #[test]
        fn every_out_of_range_quality_is_refused(q in 6u8..=255) {
            prop_assert_eq!(review(State::default(), q), Err(QualityOutOfRange(q)));
        }
    }
}
