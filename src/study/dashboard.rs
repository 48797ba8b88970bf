//! A class's instructor dashboard: activity, the hardest cards, the misconceptions hit, each
//! student's figures, the exams' predicted recall, and which scheduler predicts the class
//! best (`srs::evaluate`). Every read is of a class the asker runs ([`super::classes::owned`]).

use super::classes::{ClassRow, owned};
use super::exams::ExamReport;
use super::{Context, StudyError};
use crate::db;
use crate::db::Pool;
use crate::srs::evaluate::{self, Comparison};

pub use crate::db::analytics::{ClassLeech, HardCard, MisconceptionCount, StudentLine};

/// Days of the reviews-per-day chart.
pub const CHART_DAYS: i32 = 30;

/// Later reviews needed before the scheduler scores mean anything.
pub const MIN_SCORED: usize = 30;

/// A student with no review for this many days is at risk.
pub const RISK_IDLE_DAYS: i64 = 7;
/// A student with this many cards overdue or more is at risk.
pub const RISK_OVERDUE: i64 = 20;
/// A student who passes fewer than this share of mature-card reviews (in percent), over at
/// least [`RISK_MATURE_REVIEWS`] of them, is at risk.
pub const RISK_RETENTION: i64 = 80;
/// Mature-card reviews needed before a retention counts.
pub const RISK_MATURE_REVIEWS: i64 = 10;

/// Why a student may be falling behind: what the top of the dashboard lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Risk {
    /// Never studied this class's cards.
    NeverStudied,
    /// No review for this many days.
    Idle(i64),
    /// This many cards overdue.
    Overdue(i64),
    /// This share of mature-card reviews passed, in percent.
    LowRetention(i64),
}

impl std::fmt::Display for Risk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NeverStudied => write!(f, "has not studied yet"),
            Self::Idle(days) => write!(f, "no review for {days} days"),
            Self::Overdue(n) => write!(f, "{n} cards overdue"),
            Self::LowRetention(p) => write!(f, "retention {p}%"),
        }
    }
}

/// What puts `student` at risk on `today`; empty when nothing does.
pub fn risks(student: &StudentLine, today: i32) -> Vec<Risk> {
    let mut out = Vec::new();
    match student.last_active_day {
        None => out.push(Risk::NeverStudied),
        Some(day) if i64::from(today) - day >= RISK_IDLE_DAYS => {
            out.push(Risk::Idle(i64::from(today) - day));
        }
        Some(_) => {}
    }
    if student.overdue >= RISK_OVERDUE {
        out.push(Risk::Overdue(student.overdue));
    }
    if student.mature_reviews >= RISK_MATURE_REVIEWS {
        let passed = student.mature_passed * 100 / student.mature_reviews;
        if passed < RISK_RETENTION {
            out.push(Risk::LowRetention(passed));
        }
    }
    out
}

/// Which scheduler predicts the class's reviews better.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Too few later reviews to score: how many there are.
    TooFew(usize),
    /// SM-2, FSRS with the default parameters, and FSRS with the class's (if fitted).
    Scored(Comparison),
}

/// The class's saved FSRS fit, as the dashboard shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedFit {
    /// The parameters.
    pub parameters: Vec<f32>,
    /// Reviews they were fitted on.
    pub reviews: i64,
    /// Unix seconds.
    pub fitted_at: i64,
}

/// Everything the dashboard shows of a class, as figures (the page formats them).
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// The class.
    pub class: ClassRow,
    /// Reviews per study day, one entry a day for the last [`CHART_DAYS`] days to today.
    pub reviews_per_day: Vec<(i32, i64)>,
    /// Students active in the last 7 days.
    pub active_7: i64,
    /// Students active in the last 30 days.
    pub active_30: i64,
    /// The hardest cards, hardest first.
    pub hardest: Vec<HardCard>,
    /// Cards that are leeches for some students (failed
    /// [`super::controls::LEECH_FAILURES`] times), the most students first: cards that may be
    /// badly written.
    pub leeches: Vec<ClassLeech>,
    /// The misconceptions hit most often, with their families by title.
    pub misconceptions: Vec<MisconceptionCount>,
    /// Every student's figures, by name.
    pub students: Vec<StudentLine>,
    /// Each exam's predicted recall.
    pub exams: Vec<ExamReport>,
    /// Whether the exam predictions use the class's fitted parameters (else the defaults).
    pub exams_fitted: bool,
    /// The scheduler comparison.
    pub verdict: Verdict,
    /// The saved fit, if any.
    pub fit: Option<SavedFit>,
}

/// The dashboard of class `class_id` for `owner_id`, who runs it, on their study day `today`.
pub async fn of_class(
    db: &db::Db,
    owner_id: i64,
    class_id: i64,
    today: i32,
) -> Result<Dashboard, StudyError> {
    let pool = db.reader();
    let class = owned(pool, owner_id, class_id).await?;
    let first = today - CHART_DAYS + 1;
    let per_day: std::collections::HashMap<i64, i64> =
        db::analytics::reviews_per_day(pool, class.id, first)
            .await?
            .into_iter()
            .collect();
    let reviews_per_day = (first..=today)
        .map(|d| (d, per_day.get(&i64::from(d)).copied().unwrap_or(0)))
        .collect();
    let saved = db::analytics::fit_of(pool, class.id).await?;
    // The class's fitted parameters, if any: what the exam predictions use.
    let parameters: Option<Vec<f32>> = saved
        .as_ref()
        .and_then(|f| serde_json::from_str(&f.parameters).ok());
    // The comparison needs the day the fit stopped seeing reviews too.
    let fitted = saved
        .as_ref()
        .zip(parameters.clone())
        .and_then(|(f, p)| Some((p, i32::try_from(f.split_day).ok()?)));
    let fit = saved
        .zip(fitted.clone())
        .map(|(f, (parameters, _))| SavedFit {
            parameters,
            reviews: f.reviews,
            fitted_at: f.fitted_at,
        });
    let misconceptions = db::analytics::misconceptions(pool, class.id, 10)
        .await?
        .into_iter()
        .map(|mut m| {
            // Families by their titles ("Conv layer parameters"), not their ids.
            if let Some(family) = crate::practice::family(&m.family) {
                m.family = family.title.to_owned();
            }
            m
        })
        .collect();
    // About 0.7 µs a review (150 ms for 210,000): off the worker thread.
    let histories = db::analytics::histories(pool, class.id)
        .await
        .context("reading the class's history")?;
    let verdict = tokio::task::spawn_blocking(move || compare(&histories, fitted))
        .await
        .map_err(|e| StudyError::Internal(anyhow::anyhow!("scheduler scores: {e}")))?;
    Ok(Dashboard {
        reviews_per_day,
        active_7: db::analytics::active_students(pool, class.id, today - 6).await?,
        active_30: db::analytics::active_students(pool, class.id, today - 29).await?,
        hardest: db::analytics::hardest_cards(pool, class.id, 3, 10).await?,
        leeches: db::analytics::leeches(pool, class.id, super::controls::LEECH_FAILURES, 20)
            .await
            .context("reading the class's leeches")?,
        misconceptions,
        students: db::analytics::students(pool, class.id, today).await?,
        exams_fitted: parameters.is_some(),
        exams: super::exams::reports(db, class.id, parameters.unwrap_or_default()).await?,
        verdict,
        fit,
        class,
    })
}

/// Every student's figures of class `class_id` run by `owner_id` (the dashboard's table, as
/// a download).
pub async fn students(
    pool: &Pool,
    owner_id: i64,
    class_id: i64,
    today: i32,
) -> Result<Vec<StudentLine>, StudyError> {
    let class = owned(pool, owner_id, class_id).await?;
    Ok(db::analytics::students(pool, class.id, today).await?)
}

/// SM-2 against FSRS (default, and fitted if given) on the class's histories.
fn compare(histories: &[(i64, i64, i64, i64)], fit: Option<(Vec<f32>, i32)>) -> Verdict {
    let cards = evaluate::histories_by_card(histories);
    let fitted = fit.as_ref().map(|(p, day)| (p.as_slice(), *day));
    match evaluate::compare_fitted(&cards, MIN_SCORED, fitted) {
        None => Verdict::TooFew(evaluate::compare(&cards, 1).map_or(0, |c| c.scored)),
        Some(c) => Verdict::Scored(c),
    }
}

#[cfg(test)]
mod risk_tests {
    use super::*;

    fn line(last: Option<i64>, overdue: i64, mature: (i64, i64)) -> StudentLine {
        StudentLine {
            id: 1,
            username: "stu".to_owned(),
            reviews: 10,
            mature_reviews: mature.0,
            mature_passed: mature.1,
            overdue,
            last_active_day: last,
        }
    }

    #[test]
    fn a_student_is_at_risk_when_idle_behind_or_forgetting() {
        let today = 100;
        assert_eq!(risks(&line(Some(99), 3, (20, 19)), today), []);
        assert_eq!(risks(&line(None, 0, (0, 0)), today), [Risk::NeverStudied]);
        assert_eq!(risks(&line(Some(93), 0, (0, 0)), today), [Risk::Idle(7)]);
        assert_eq!(risks(&line(Some(94), 0, (0, 0)), today), []);
        assert_eq!(
            risks(&line(Some(100), 20, (10, 7)), today),
            [Risk::Overdue(20), Risk::LowRetention(70)]
        );
        // Too few mature reviews for a retention to mean anything.
        assert_eq!(risks(&line(Some(100), 0, (9, 0)), today), []);
        assert_eq!(Risk::Idle(9).to_string(), "no review for 9 days");
    }
}
