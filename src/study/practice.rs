//! Checking answers to generated problems, and the grade a check suggests.

use super::Learner;
use super::StudyError;
use crate::db::Pool;
use crate::db::{self, practice::AttemptRow};
use crate::practice::{self, Checked, Family, Variant};

/// Answers faster than this, and right, suggest a 5 rather than a 4.
pub const QUICK_MS: i64 = 60_000;
/// What the attempt records when the student asks for the solution without answering.
pub const GAVE_UP: &str = "(gave up)";

/// A fresh seed for a new variant, within the JSON-safe range.
pub fn random_seed() -> u64 {
    rand::random::<u64>() & practice::MAX_SEED
}

/// The SM-2 grade a check suggests: right and quick 5, right 4, a named misconception 2,
/// otherwise wrong 1, gave up 0.
pub fn suggested_grade(checked: &Checked, response_ms: Option<i64>, gave_up: bool) -> u8 {
    match (gave_up, checked.correct, checked.misconception) {
        (true, _, _) => 0,
        (false, true, _) if response_ms.is_some_and(|ms| ms < QUICK_MS) => 5,
        (false, true, _) => 4,
        (false, false, Some(_)) => 2,
        (false, false, None) => 1,
    }
}

/// Milliseconds from a page's render time (Unix ms it carried) to `now_ms`, if plausible.
pub fn elapsed_ms(started_ms: &str, now_ms: i64) -> Option<i64> {
    let started: i64 = started_ms.trim().parse().ok()?;
    Some(now_ms - started).filter(|ms| (0..86_400_000).contains(ms))
}

/// What one typed answer is.
pub enum Submission<'a> {
    /// A typed answer, checked against the variant.
    Answer(&'a str),
    /// "Show me the solution" without an answer.
    GiveUp,
}

/// Checks a submission and stores the attempt; an unreadable answer is refused (422) and
/// nothing is stored.
#[allow(clippy::too_many_arguments)]
pub async fn record_attempt(
    pool: &Pool,
    user: &Learner,
    family: &Family,
    seed: u64,
    submission: Submission<'_>,
    response_ms: Option<i64>,
    card_id: Option<i64>,
    now: i64,
) -> Result<i64, StudyError> {
    let variant = family.variant(seed);
    let (answer, checked, gave_up) = match submission {
        Submission::Answer(raw) => {
            let checked = variant
                .check(raw)
                .map_err(|e| StudyError::Validation(e.0))?;
            (raw.trim(), checked, false)
        }
        Submission::GiveUp => (
            GAVE_UP,
            Checked {
                correct: false,
                misconception: None,
            },
            true,
        ),
    };
    let suggested = suggested_grade(&checked, response_ms, gave_up);
    Ok(db::practice::insert(
        pool,
        &db::practice::NewAttempt {
            user_id: user.id,
            family: family.id,
            seed: i64::try_from(seed).unwrap_or(0),
            answer,
            correct: checked.correct,
            misconception: checked.misconception,
            suggested_quality: suggested,
            response_ms,
            card_id,
            created_at: now,
        },
    )
    .await?)
}

/// One of the user's attempts with the variant it answered.
pub async fn attempt(
    pool: &Pool,
    user: &Learner,
    id: i64,
) -> Result<Option<(AttemptRow, Variant)>, StudyError> {
    let Some(row) = db::practice::find(pool, user.id, id).await? else {
        return Ok(None);
    };
    let Some(family) = practice::family(&row.family) else {
        return Ok(None);
    };
    let variant = family.variant(u64::try_from(row.seed).unwrap_or(0));
    Ok(Some((row, variant)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_are_suggested_from_the_check() {
        let right = Checked {
            correct: true,
            misconception: None,
        };
        let known = Checked {
            correct: false,
            misconception: Some("forgot the bias"),
        };
        let wrong = Checked {
            correct: false,
            misconception: None,
        };
        assert_eq!(suggested_grade(&right, Some(10_000), false), 5);
        assert_eq!(suggested_grade(&right, Some(90_000), false), 4);
        assert_eq!(suggested_grade(&right, None, false), 4);
        assert_eq!(suggested_grade(&known, Some(1), false), 2);
        assert_eq!(suggested_grade(&wrong, Some(1), false), 1);
        assert_eq!(suggested_grade(&wrong, None, true), 0);
    }

    #[test]
    fn elapsed_time_is_read_from_the_pages_stamp() {
        assert_eq!(elapsed_ms("1000", 4000), Some(3000));
        assert_eq!(elapsed_ms("5000", 4000), None);
        assert_eq!(elapsed_ms("junk", 4000), None);
        assert!(random_seed() <= practice::MAX_SEED);
    }
}
