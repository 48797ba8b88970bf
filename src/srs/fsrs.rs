//! FSRS, the Free Spaced Repetition Scheduler (version 6), beside SM-2.
//!
//! FSRS models a card's memory with two numbers: stability (the days until recall falls to 90%)
//! and difficulty (1 to 10). It schedules each card for the day its predicted recall falls to
//! the retention the learner asked for. The arithmetic is the `fsrs` crate's, the reference
//! implementation Anki uses. This module only adapts it: SM-2's six grades become FSRS's four
//! ratings, and intervals become whole days.

use fsrs::{FSRS, MemoryState};
use std::ops::RangeInclusive;

/// FSRS-6's default parameters (what an empty parameter list means).
pub fn default_parameters() -> &'static [f32] {
    &fsrs::DEFAULT_PARAMETERS
}

/// The retention a learner asks for unless they choose another.
pub const DEFAULT_DESIRED_RETENTION: f32 = 0.90;

/// The retentions a learner may ask for. Below 0.70 most reviews would be failures; above 0.97
/// the workload grows steeply for little gain.
pub const DESIRED_RETENTION_RANGE: RangeInclusive<f32> = 0.70..=0.97;

/// FSRS's ratings in order: Again, Hard, Good, Easy.
pub const RATINGS: [Rating; 4] = [Rating::Again, Rating::Hard, Rating::Good, Rating::Easy];

/// An FSRS rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rating {
    /// Forgotten.
    Again,
    /// Recalled with serious difficulty.
    Hard,
    /// Recalled.
    Good,
    /// Recalled without effort.
    Easy,
}

impl Rating {
    /// The rating of an SM-2 grade: Again for 0 to 2 (the grades SM-2 counts as forgotten),
    /// Hard for 3, Good for 4, Easy for 5. None past 5.
    pub fn of_quality(quality: u8) -> Option<Self> {
        match quality {
            0..=2 => Some(Self::Again),
            3 => Some(Self::Hard),
            4 => Some(Self::Good),
            5 => Some(Self::Easy),
            _ => None,
        }
    }

    /// The index into [`next_states`]' answer (0 for Again ... 3 for Easy).
    pub fn index(self) -> usize {
        match self {
            Self::Again => 0,
            Self::Hard => 1,
            Self::Good => 2,
            Self::Easy => 3,
        }
    }
}

/// Why FSRS could not schedule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Parameters must number 0 (the defaults), 17 (FSRS-4.5), 19 (FSRS-5) or 21 (FSRS-6),
    /// all finite.
    #[error("FSRS parameters must be 0, 17, 19 or 21 finite numbers")]
    Parameters,
    /// A memory state with a stability or difficulty that is not a positive finite number.
    #[error("an FSRS memory state needs positive, finite stability and difficulty")]
    Memory,
}

/// The stability, difficulty and whole-day interval after Again, Hard, Good and Easy, for a
/// card with `memory` (stability, difficulty; None for a card never reviewed) reviewed
/// `days_elapsed` days after its last review, with `parameters` (empty for the defaults) and
/// `desired_retention`. No fuzz: the interval is the model's, rounded to the nearest day and at
/// least one day.
///
/// Invalid parameters or memory fall back to the defaults and a new card rather than panic;
/// [`try_next_states`] reports them instead.
pub fn next_states(
    parameters: &[f32],
    memory: Option<(f32, f32)>,
    desired_retention: f32,
    days_elapsed: u32,
) -> [(f32, f32, u32); 4] {
    try_next_states(parameters, memory, desired_retention, days_elapsed)
        .or_else(|_| try_next_states(&[], None, desired_retention, days_elapsed))
        .unwrap_or([(0.0, 0.0, 1); 4])
}

/// [`next_states`], reporting invalid parameters or memory.
pub fn try_next_states(
    parameters: &[f32],
    memory: Option<(f32, f32)>,
    desired_retention: f32,
    days_elapsed: u32,
) -> Result<[(f32, f32, u32); 4], Error> {
    let model = FSRS::new(parameters).map_err(|_| Error::Parameters)?;
    let memory = match memory {
        Some((stability, difficulty))
            if stability.is_finite()
                && difficulty.is_finite()
                && stability > 0.0
                && difficulty > 0.0 =>
        {
            Some(MemoryState {
                stability,
                difficulty,
            })
        }
        Some(_) => return Err(Error::Memory),
        None => None,
    };
    let next = model
        .next_states(memory, desired_retention, days_elapsed)
        .map_err(|_| Error::Memory)?;
    let whole = |s: &fsrs::ItemState| {
        (
            s.memory.stability,
            s.memory.difficulty,
            whole_days(s.interval),
        )
    };
    Ok([
        whole(&next.again),
        whole(&next.hard),
        whole(&next.good),
        whole(&next.easy),
    ])
}

/// A card's memory state after its standing grades, oldest first: each grade's rating and the
/// days since the grade before it (anything for the first). A pure fold over the history, the
/// crate's own replay, so switching a student to FSRS loses nothing and switching back to SM-2
/// replays SM-2 from the same history. None for a card never graded.
pub fn memory_from_grades(
    parameters: &[f32],
    grades: &[(Rating, u32)],
) -> Result<Option<(f32, f32)>, Error> {
    if grades.is_empty() {
        return Ok(None);
    }
    let model = FSRS::new(parameters).map_err(|_| Error::Parameters)?;
    let reviews = grades
        .iter()
        .enumerate()
        .map(|(i, (rating, days))| fsrs::FSRSReview {
            rating: rating.index() as u32 + 1,
            delta_t: if i == 0 { 0 } else { *days },
        })
        .collect();
    let memory = model
        .memory_state(fsrs::FSRSItem { reviews }, None)
        .map_err(|_| Error::Memory)?;
    Ok(Some((memory.stability, memory.difficulty)))
}

/// The whole-day interval after which a card with `stability` falls to `desired_retention`.
pub fn interval_days(parameters: &[f32], stability: f32, desired_retention: f32) -> u32 {
    let model = FSRS::new(parameters).unwrap_or_default();
    whole_days(model.next_interval(Some(stability), desired_retention, 3))
}

/// An interval in days as a whole number of days: rounded, at least one.
fn whole_days(interval: f32) -> u32 {
    if interval.is_finite() {
        // Saturating float-to-int conversion: an absurd interval becomes u32::MAX days.
        (interval.round().max(1.0)) as u32
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// FSRS-6's default parameters, as published.
    const W: [f64; 21] = [
        0.212, 1.2931, 2.3065, 8.2956, 6.4133, 0.8334, 3.0194, 0.001, 1.8722, 0.1666, 0.796,
        1.4835, 0.0614, 0.2629, 1.6483, 0.6014, 1.8729, 0.5425, 0.0912, 0.0658, 0.1542,
    ];

    /// FSRS-6 written out from the algorithm's description, in f64, independently of the crate:
    /// (stability, difficulty, unrounded interval) after rating `g` (1..=4).
    fn by_hand(memory: Option<(f64, f64)>, retention: f64, t: f64, g: f64) -> (f64, f64, f64) {
        let w = &W;
        let d0 = |g: f64| w[4] - (w[5] * (g - 1.0)).exp() + 1.0;
        let clamp_d = |d: f64| d.clamp(1.0, 10.0);
        let decay = -w[20];
        let factor = 0.9f64.powf(1.0 / decay) - 1.0;
        let interval = |s: f64| s / factor * (retention.powf(1.0 / decay) - 1.0);
        let (s, d) = match memory {
            None => (w[g as usize - 1], clamp_d(d0(g))),
            Some((s, d)) => {
                let r = (1.0 + factor * t / s).powf(decay);
                let new_s = if t == 0.0 {
                    let sinc = (w[17] * (g - 3.0 + w[18])).exp() * s.powf(-w[19]);
                    s * if g >= 2.0 { sinc.max(1.0) } else { sinc }
                } else if g == 1.0 {
                    let forget = w[11]
                        * d.powf(-w[12])
                        * ((s + 1.0).powf(w[13]) - 1.0)
                        * ((1.0 - r) * w[14]).exp();
                    forget.min(s / (w[17] * w[18]).exp())
                } else {
                    let hard = if g == 2.0 { w[15] } else { 1.0 };
                    let easy = if g == 4.0 { w[16] } else { 1.0 };
                    s * (w[8].exp()
                        * (11.0 - d)
                        * s.powf(-w[9])
                        * (((1.0 - r) * w[10]).exp() - 1.0)
                        * hard
                        * easy
                        + 1.0)
                };
                let delta = -w[6] * (g - 3.0);
                let damped = d + (10.0 - d) * delta / 9.0;
                let reverted = w[7] * (d0(4.0) - damped) + damped;
                (new_s.clamp(0.001, 36500.0), clamp_d(reverted))
            }
        };
        (s, d, interval(s))
    }

    #[test]
    fn a_new_card_gets_the_published_first_states() {
        let states = next_states(&[], None, 0.9, 0);
        let expected = [
            (0.212, 6.4133, 1),
            (1.2931, 5.1121707, 1),
            (2.3065, 2.118104, 2),
            (8.2956, 1.0, 8),
        ];
        for (got, want) in states.iter().zip(expected) {
            assert!((got.0 - want.0).abs() < 1e-4, "{got:?} {want:?}");
            assert!((got.1 - want.1).abs() < 1e-4, "{got:?} {want:?}");
            assert_eq!(got.2, want.2, "{got:?} {want:?}");
        }
    }

    #[test]
    fn grades_map_to_ratings_as_the_issue_says() {
        let ratings: Vec<_> = (0..=6).map(Rating::of_quality).collect();
        assert_eq!(
            ratings,
            [
                Some(Rating::Again),
                Some(Rating::Again),
                Some(Rating::Again),
                Some(Rating::Hard),
                Some(Rating::Good),
                Some(Rating::Easy),
                None
            ]
        );
        assert_eq!(
            RATINGS.map(Rating::index),
            [0, 1, 2, 3],
            "next_states is ordered Again, Hard, Good, Easy"
        );
    }

    #[test]
    fn invalid_input_is_reported_and_never_panics() {
        assert_eq!(
            try_next_states(&[1.0; 5], None, 0.9, 0),
            Err(Error::Parameters)
        );
        assert_eq!(
            try_next_states(&[f32::NAN; 21], None, 0.9, 0),
            Err(Error::Parameters)
        );
        assert_eq!(
            try_next_states(&[], Some((f32::NAN, 5.0)), 0.9, 3),
            Err(Error::Memory)
        );
        assert_eq!(
            try_next_states(&[], Some((-1.0, 5.0)), 0.9, 3),
            Err(Error::Memory)
        );
        // The infallible form falls back to a new card under the defaults.
        assert_eq!(
            next_states(&[1.0; 5], Some((3.0, 5.0)), 0.9, 3),
            next_states(&[], None, 0.9, 3)
        );
    }

    #[test]
    fn older_parameter_sets_are_accepted() {
        for n in [17, 19, 21] {
            let states = try_next_states(&W.map(|w| w as f32)[..n], Some((10.0, 5.0)), 0.9, 10);
            assert!(states.is_ok(), "{n} parameters");
        }
    }

    #[test]
    fn the_interval_of_a_stability_matches_next_states() {
        let next = next_states(&[], Some((12.0, 5.0)), 0.85, 9);
        for (s, _, interval) in next {
            assert_eq!(interval_days(&[], s, 0.85), interval);
        }
        assert_eq!(
            interval_days(&[], 10.0, 0.90),
            10,
            "stability is the 90% interval"
        );
    }

    #[test]
    fn the_history_fold_equals_scheduling_one_grade_at_a_time() {
        let grades = [
            (Rating::Good, 0),
            (Rating::Good, 2),
            (Rating::Again, 9),
            (Rating::Hard, 1),
            (Rating::Easy, 4),
        ];
        let mut memory = None;
        for (rating, days) in grades {
            let next = next_states(&[], memory, 0.9, days);
            memory = Some((next[rating.index()].0, next[rating.index()].1));
        }
        let folded = memory_from_grades(&[], &grades).unwrap().unwrap();
        let (s, d) = memory.unwrap();
        assert!((folded.0 - s).abs() < 1e-3 * s, "{folded:?} vs {memory:?}");
        assert!((folded.1 - d).abs() < 1e-3, "{folded:?} vs {memory:?}");
        assert_eq!(memory_from_grades(&[], &[]), Ok(None));
    }

    proptest! {
        /// The crate agrees with the formulas written out by hand, for any memory, retention
        /// and elapsed time (including a same-day review, which FSRS-6 treats apart).
        #[test]
        fn the_schedule_follows_the_fsrs6_formulas(
            stability in 0.01f32..3000.0,
            difficulty in 1.0f32..10.0,
            retention in 0.70f32..0.97,
            days in prop_oneof![Just(0u32), 1u32..2000],
            new in any::<bool>(),
        ) {
            let memory = (!new).then_some((stability, difficulty));
            let got = next_states(&[], memory, retention, days);
            for (i, g) in got.iter().enumerate() {
                let (s, d, interval) = by_hand(
                    memory.map(|(s, d)| (f64::from(s), f64::from(d))),
                    f64::from(retention),
                    f64::from(days),
                    (i + 1) as f64,
                );
                let close = |a: f32, b: f64| (f64::from(a) - b).abs() <= 1e-3 * b.abs().max(1.0);
                prop_assert!(close(g.0, s), "stability {} vs {s} for rating {}", g.0, i + 1);
                prop_assert!(close(g.1, d), "difficulty {} vs {d} for rating {}", g.1, i + 1);
                // The crate computes in f32: rounding may go the other way only where the
                // interval sits within f32's error of a half day.
                let whole = interval.round().max(1.0);
                let near_half = (interval.fract() - 0.5).abs() < 1e-2 + 1e-4 * interval;
                prop_assert!(
                    f64::from(g.2) == whole || near_half,
                    "interval {} vs {interval} for rating {}", g.2, i + 1
                );
            }
        }

        /// Better answers never shorten the interval, and a higher retention never lengthens it.
        #[test]
        fn intervals_are_ordered(
            stability in 0.5f32..1000.0,
            difficulty in 1.0f32..10.0,
            days in 1u32..1000,
        ) {
            let at_90 = next_states(&[], Some((stability, difficulty)), 0.90, days);
            let at_95 = next_states(&[], Some((stability, difficulty)), 0.95, days);
            for pair in at_90.windows(2) {
                prop_assert!(pair[0].2 <= pair[1].2, "{at_90:?}");
            }
            for (a, b) in at_90.iter().zip(&at_95) {
                prop_assert!(b.2 <= a.2, "{at_90:?} {at_95:?}");
            }
        }
    }
}
