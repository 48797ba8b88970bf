//! Which scheduler predicts a class better, measured on the class's own reviews.
//!
//! Every grade after a card's first is a prediction: given the card's history until then, how
//! likely was the student to remember it after the days that passed? The answer is scored
//! against what happened (remembered = grade 3 or more). The history is split by time: reviews
//! before the median day are the earlier part (what fitted parameters would learn from), and
//! the later part is what the scores are computed on.
//!
//! - SM-2 predicts with the forgetting curve the FSRS benchmark uses for it: recall 90% at the
//!   interval SM-2 gave, R = 0.9^(t / I).
//! - FSRS predicts R = (1 + factor t / S)^decay from the memory folded over the earlier grades.
//!
//! Two scores, as the FSRS benchmark reports them: log loss (lower is better; 0.693 is a coin)
//! and RMSE over bins (reviews grouped by interval, review count and lapses; the root mean
//! square gap between predicted and observed recall, weighted by bin size).

use super::fsrs::{Rating, next_states};
use super::schedule::{Counted, replay_lenient};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A scheduler's scores on the later reviews.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Mean negative log likelihood of the outcomes.
    pub log_loss: f64,
    /// Root mean square error between predicted and observed recall over bins.
    pub rmse_bins: f64,
}

/// SM-2 against FSRS with its default parameters on one class's history.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Reviews scored (the later part).
    pub scored: usize,
    /// Reviews in the earlier part.
    pub earlier: usize,
    /// The first study day of the later part.
    pub split_day: i32,
    /// SM-2's scores.
    pub sm2: Score,
    /// FSRS's scores with the default parameters.
    pub fsrs: Score,
    /// FSRS's scores with parameters fitted on the earlier part, if given.
    pub fitted: Option<Score>,
}

/// One prediction target.
#[derive(Debug, Clone, Copy)]
struct Target {
    day: i32,
    recalled: bool,
    sm2: f64,
    fsrs: f64,
    fitted: f64,
    bin: (u32, u32, u32),
}

/// Rows of (student, card, study day, quality), one card of one student after another and
/// oldest first (as `db::analytics::histories` reads them), as one history per card.
pub fn histories_by_card(rows: &[(i64, i64, i64, i64)]) -> Vec<Vec<(i32, u8)>> {
    rows.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1))
        .map(|events| {
            events
                .iter()
                .filter_map(|e| Some((i32::try_from(e.2).ok()?, u8::try_from(e.3).ok()?)))
                .collect()
        })
        .collect()
}

/// Scores SM-2 and FSRS on `histories`: each one card of one student, its standing grades and
/// repeats oldest first as (study day, quality). None when fewer than `min_scored` reviews
/// fall in the later part.
pub fn compare(histories: &[Vec<(i32, u8)>], min_scored: usize) -> Option<Comparison> {
    compare_fitted(histories, min_scored, None)
}

/// [`compare`], with a third score for FSRS with `fitted` parameters and the day they were
/// fitted up to (reviews from that day on are the later part, which the fit never saw).
pub fn compare_fitted(
    histories: &[Vec<(i32, u8)>],
    min_scored: usize,
    fitted: Option<(&[f32], i32)>,
) -> Option<Comparison> {
    let parameters = fitted.and_then(|(p, _)| ::fsrs::check_and_fill_parameters(p).ok());
    let mut targets = Vec::new();
    for history in histories {
        targets_of(history, parameters.as_deref(), &mut targets);
    }
    if targets.is_empty() {
        return None;
    }
    let split_day = match fitted {
        Some((_, day)) => day,
        None => median_day(&targets),
    };
    let (later, earlier): (Vec<Target>, Vec<Target>) =
        targets.into_iter().partition(|t| t.day >= split_day);
    if later.len() < min_scored.max(1) {
        return None;
    }
    Some(Comparison {
        scored: later.len(),
        earlier: earlier.len(),
        split_day,
        sm2: score(&later, |t| t.sm2),
        fsrs: score(&later, |t| t.fsrs),
        fitted: parameters.map(|_| score(&later, |t| t.fitted)),
    })
}

fn median_day(targets: &[Target]) -> i32 {
    let mut days: Vec<i32> = targets.iter().map(|t| t.day).collect();
    days.sort_unstable();
    days[days.len() / 2]
}

/// The day that splits `histories` into an earlier and a later half (None if nothing to
/// predict), and the training items of the earlier half: every card's grades as FSRS items,
/// one per review after the first that falls before the split.
pub fn training_set(histories: &[Vec<(i32, u8)>]) -> Option<(i32, Vec<::fsrs::FSRSItem>)> {
    let mut targets = Vec::new();
    for history in histories {
        targets_of(history, None, &mut targets);
    }
    if targets.is_empty() {
        return None;
    }
    let split_day = median_day(&targets);
    let mut items = Vec::new();
    for history in histories {
        let grades = grades_of(history);
        let mut reviews = Vec::new();
        let mut previous = None;
        for &(day, quality) in &grades {
            if day >= split_day {
                break;
            }
            let rating = Rating::of_quality(quality).unwrap_or(Rating::Again);
            reviews.push(::fsrs::FSRSReview {
                rating: rating.index() as u32 + 1,
                delta_t: previous.map_or(0, |p: i32| u32::try_from(day - p).unwrap_or(0)),
            });
            previous = Some(day);
            if reviews.len() > 1 {
                items.push(::fsrs::FSRSItem {
                    reviews: reviews.clone(),
                });
            }
        }
    }
    Some((split_day, items))
}

/// The crate's optimizer on `items`; `progress` is updated as it trains.
pub fn fit(
    items: Vec<::fsrs::FSRSItem>,
    progress: Option<Arc<Mutex<::fsrs::CombinedProgressState>>>,
) -> Result<Vec<f32>, String> {
    ::fsrs::compute_parameters(::fsrs::ComputeParametersInput {
        train_set: items,
        progress,
        ..::fsrs::ComputeParametersInput::default()
    })
    .map_err(|e| e.to_string())
}

/// Reviews a student needs before fitting parameters of their own: fewer, and the optimizer
/// mostly learns noise.
pub const MIN_OWN_FIT_REVIEWS: i64 = 1_000;

/// A student's own parameters against the ones they have, both scored on the same later
/// reviews (from the day the own fit stopped seeing them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OwnFit {
    /// Reviews scored.
    pub scored: usize,
    /// The own parameters' scores.
    pub own: Score,
    /// The scores of what they have: their class's parameters, or FSRS's defaults.
    pub baseline: Score,
}

impl OwnFit {
    /// Whether the own parameters predict the later reviews better (lower log loss), and so
    /// should schedule the student.
    pub fn kept(&self) -> bool {
        self.own.log_loss < self.baseline.log_loss
    }
}

/// Scores a student's `own` parameters, fitted on their reviews before `split_day`, against
/// `baseline` (empty: FSRS's defaults) on the reviews from that day on. None when nothing
/// falls there.
pub fn own_fit(
    histories: &[Vec<(i32, u8)>],
    own: &[f32],
    baseline: &[f32],
    split_day: i32,
) -> Option<OwnFit> {
    let baseline = if baseline.is_empty() {
        super::fsrs::default_parameters()
    } else {
        baseline
    };
    let mine = compare_fitted(histories, 1, Some((own, split_day)))?;
    let theirs = compare_fitted(histories, 1, Some((baseline, split_day)))?;
    Some(OwnFit {
        scored: mine.scored,
        own: mine.fitted?,
        baseline: theirs.fitted?,
    })
}

/// FSRS-6's default decay (-w20).
const DECAY: f64 = -0.1542;

/// Recall after `elapsed` days at `stability`, with `decay`: 90% when elapsed = stability.
fn fsrs_recall(elapsed: f64, stability: f64, decay: f64) -> f64 {
    let factor = 0.9f64.powf(1.0 / decay) - 1.0;
    (1.0 + factor * elapsed / stability).powf(decay)
}

/// The predicted recall on study day `day` of a card with `history` (standing grades and
/// repeats, oldest first), by FSRS with `parameters` (empty: the defaults), whatever scheduler
/// the student uses: the memory folded over the grades, then the forgetting curve over the
/// days since the last. None for a card never graded.
pub fn recall_at(parameters: &[f32], history: &[(i32, u8)], day: i32) -> Option<f64> {
    let grades = grades_of(history);
    let mut memory: Option<(f32, f32)> = None;
    let mut previous = None;
    for &(graded, quality) in &grades {
        let days = previous.map_or(0, |p: i32| u32::try_from(graded - p).unwrap_or(0));
        let rating = Rating::of_quality(quality).unwrap_or(Rating::Again);
        let (s, d, _) = next_states(parameters, memory, 0.9, days)[rating.index()];
        memory = Some((s, d));
        previous = Some(graded);
    }
    let (stability, _) = memory?;
    let decay = parameters.get(20).map_or(DECAY, |w| -f64::from(*w));
    let elapsed = f64::from((day - previous?).max(0));
    Some(fsrs_recall(elapsed, f64::from(stability).max(0.01), decay))
}

/// The grades of a history (its repeats left out), as SM-2's rules tell them apart.
fn grades_of(history: &[(i32, u8)]) -> Vec<(i32, u8)> {
    let Ok((_, counted)) = replay_lenient(history, super::sm2::DEFAULT_MAX_INTERVAL_DAYS) else {
        return Vec::new();
    };
    history
        .iter()
        .zip(&counted)
        .filter(|(_, c)| **c == Counted::Grade)
        .map(|(e, _)| *e)
        .collect()
}

fn targets_of(history: &[(i32, u8)], fitted: Option<&[f32]>, out: &mut Vec<Target>) {
    // Repeats change nothing: only grades are predicted and folded.
    let grades = grades_of(history);
    let fitted_decay = fitted
        .and_then(|w| w.get(20))
        .map_or(DECAY, |w| -f64::from(*w));
    let mut memory: Option<(f32, f32)> = None;
    let mut fitted_memory: Option<(f32, f32)> = None;
    let mut previous_day = 0;
    let mut lapses = 0u32;
    for (i, &(day, quality)) in grades.iter().enumerate() {
        let elapsed = u32::try_from(day - previous_day).unwrap_or(0);
        if let (Some((stability, _)), true) = (memory, i > 0) {
            let sm2_interval = replay_lenient(&grades[..i], super::sm2::DEFAULT_MAX_INTERVAL_DAYS)
                .ok()
                .and_then(|(s, _)| s)
                .map_or(1, |s| s.sm2.interval_days.max(1));
            out.push(Target {
                day,
                recalled: quality >= 3,
                sm2: 0.9f64.powf(f64::from(elapsed) / f64::from(sm2_interval)),
                fsrs: fsrs_recall(f64::from(elapsed), f64::from(stability).max(0.01), DECAY),
                fitted: fitted_memory.map_or(0.5, |(s, _)| {
                    fsrs_recall(f64::from(elapsed), f64::from(s).max(0.01), fitted_decay)
                }),
                bin: (log_bucket(elapsed), log_bucket(i as u32), lapses.min(3)),
            });
        }
        if quality < 3 && i > 0 {
            lapses += 1;
        }
        let rating = Rating::of_quality(quality).unwrap_or(Rating::Again);
        let days = if i == 0 { 0 } else { elapsed };
        let (s, d, _) = next_states(&[], memory, 0.9, days)[rating.index()];
        memory = Some((s, d));
        if let Some(w) = fitted {
            let (s, d, _) = next_states(w, fitted_memory, 0.9, days)[rating.index()];
            fitted_memory = Some((s, d));
        }
        previous_day = day;
    }
}

fn log_bucket(n: u32) -> u32 {
    n.max(1).ilog2()
}

fn score(targets: &[Target], predicted: impl Fn(&Target) -> f64) -> Score {
    let n = targets.len() as f64;
    let log_loss = targets
        .iter()
        .map(|t| {
            let p = predicted(t).clamp(1e-4, 1.0 - 1e-4);
            if t.recalled { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum::<f64>()
        / n;
    let mut bins: HashMap<(u32, u32, u32), (f64, f64, f64)> = HashMap::new();
    for t in targets {
        let bin = bins.entry(t.bin).or_default();
        bin.0 += predicted(t);
        bin.1 += f64::from(u8::from(t.recalled));
        bin.2 += 1.0;
    }
    let squared: f64 = bins
        .values()
        .map(|(p, y, count)| count * ((p - y) / count).powi(2))
        .sum();
    Score {
        log_loss,
        rmse_bins: (squared / n).sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(recalled: bool, p: f64, bin: u32) -> Target {
        Target {
            day: 0,
            recalled,
            sm2: p,
            fsrs: p,
            fitted: p,
            bin: (bin, 0, 0),
        }
    }

    #[test]
    fn the_scores_follow_their_definitions() {
        // Two reviews in one bin: p = 0.9 remembered, p = 0.6 forgotten.
        let s = score(&[target(true, 0.9, 0), target(false, 0.6, 0)], |t| t.sm2);
        let log_loss = (-(0.9f64.ln()) - (0.4f64.ln())) / 2.0;
        assert!((s.log_loss - log_loss).abs() < 1e-12);
        // Mean prediction 0.75 against an observed 0.5.
        assert!((s.rmse_bins - 0.25).abs() < 1e-12);
        // In two bins, each exact: no error.
        let s = score(&[target(true, 1.0, 0), target(false, 0.0, 1)], |t| t.sm2);
        assert!(s.rmse_bins < 1e-12);
    }

    #[test]
    fn recall_is_ninety_percent_at_the_interval_or_the_stability() {
        assert!((fsrs_recall(10.0, 10.0, DECAY) - 0.9).abs() < 1e-9);
        assert!(fsrs_recall(20.0, 10.0, DECAY) < 0.9);
        assert!((fsrs_recall(10.0, 10.0, -0.5) - 0.9).abs() < 1e-9);
    }

    #[test]
    fn an_own_fit_is_kept_only_where_it_predicts_the_later_reviews_better() {
        // A student who forgets fast: a card seen more than three days ago is forgotten,
        // over 200 cards reviewed after gaps of 1 to 12 days.
        let histories: Vec<Vec<(i32, u8)>> = (0..200)
            .map(|card: i32| {
                let mut day = card % 7;
                let mut history = vec![(day, 4)];
                for i in 0..30 {
                    // The same first gap for every card: the optimizer drops first reviews
                    // whose (rating, gap) pair is rare as outliers.
                    let gap = if i == 0 {
                        2
                    } else {
                        1 + (card * 7 + i * 5) % 12
                    };
                    day += gap;
                    history.push((day, if gap <= 3 { 4 } else { 1 }));
                }
                history
            })
            .collect();
        let defaults = crate::srs::fsrs::default_parameters();
        // Against itself, nothing is better.
        let same = own_fit(&histories, defaults, &[], 100).unwrap();
        assert_eq!(same.own.log_loss, same.baseline.log_loss);
        assert!(!same.kept());
        // The optimizer, on the earlier half, learns that this student forgets within a week
        // and predicts the later half better than FSRS's defaults.
        let (split, items) = training_set(&histories).unwrap();
        let quick = fit(items, None).unwrap();
        let fitted = own_fit(&histories, &quick, &[], split).unwrap();
        assert!(fitted.kept(), "{fitted:?}");
        assert!(fitted.scored > 0);
        // And the other way round, the defaults are not kept over them.
        let back = own_fit(&histories, defaults, &quick, split).unwrap();
        assert!(!back.kept(), "{back:?}");
        assert_eq!(back.baseline.log_loss, fitted.own.log_loss);
        assert_eq!(own_fit(&histories, &quick, &[], 10_000), None);
    }

    #[test]
    fn recall_at_a_day_follows_the_curve_from_the_last_grade() {
        assert_eq!(recall_at(&[], &[], 100), None);
        // One Good grade on day 10: FSRS-6's first stability for Good (w2) days later, 90%.
        let w2 = f64::from(crate::srs::fsrs::default_parameters()[2]);
        let history = [(10, 4)];
        assert_eq!(recall_at(&[], &history, 10), Some(1.0));
        let at = |day| recall_at(&[], &history, day).unwrap();
        assert!((fsrs_recall(w2, w2, DECAY) - 0.9).abs() < 1e-9);
        assert!((at(10 + w2.round() as i32) - fsrs_recall(w2.round(), w2, DECAY)).abs() < 1e-4);
        assert!(at(30) < at(20) && at(20) < at(11));
        // A same-day repeat changes nothing; another day's grade starts the curve again.
        assert_eq!(
            recall_at(&[], &[(10, 2), (10, 4)], 20),
            recall_at(&[], &[(10, 2)], 20)
        );
        assert!(recall_at(&[], &[(10, 4), (19, 4)], 20).unwrap() > at(20));
    }

    #[test]
    fn a_history_gives_one_target_per_grade_after_the_first() {
        // A grade, a lapse with its repeat the same day, then two more grades.
        let history = vec![(10, 4), (11, 2), (11, 4), (12, 5), (18, 5)];
        let mut targets = Vec::new();
        targets_of(&history, None, &mut targets);
        assert_eq!(targets.len(), 3, "the repeat is not a prediction");
        assert_eq!(
            targets.iter().map(|t| t.recalled).collect::<Vec<_>>(),
            [false, true, true]
        );
        // SM-2 gave 1 day after the first grade: the next day is its 90% point.
        assert!((targets[0].sm2 - 0.9).abs() < 1e-9);
        assert!(targets.iter().all(|t| (0.0..=1.0).contains(&t.fsrs)));
    }

    #[test]
    fn too_few_later_reviews_give_no_verdict() {
        let histories = vec![vec![(1, 4), (2, 4), (8, 4)]];
        assert_eq!(compare(&histories, 50), None);
        let c = compare(&histories, 1).unwrap();
        assert_eq!(c.scored + c.earlier, 2);
    }
}
