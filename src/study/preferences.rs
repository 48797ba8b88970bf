//! A user's own settings: time zone, day start, new cards a day, grade buttons, scheduler;
//! and their own FSRS fit, as the account page shows it. Every change here is carried by the
//! user's cached sessions, so each use case says the user's copies went stale.

use super::{Context, Forget, Stale, StudyError};
use crate::db;
use crate::db::Pool;
use crate::domain::{DayStartHour, Invalid, NewPerDay, TimeZoneName};
use crate::srs::scheduler::Scheduler;
use jiff::Timestamp;

/// The grade buttons the review page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradeButtons {
    /// Again, Hard, Good, Easy.
    Four,
    /// SM-2's six grades.
    Six,
}

impl GradeButtons {
    /// Parses the form's field: "four" or "six" (absent: leave the layout as it is).
    pub fn parse(raw: Option<&str>) -> Result<Option<Self>, Invalid> {
        match raw {
            None => Ok(None),
            Some("four") => Ok(Some(Self::Four)),
            Some("six") => Ok(Some(Self::Six)),
            Some(_) => Err(Invalid("Grade buttons are four or six.".to_owned())),
        }
    }

    /// The stored name.
    fn as_str(self) -> &'static str {
        match self {
            Self::Four => "four",
            Self::Six => "six",
        }
    }
}

/// The study preferences of the account page's form, already parsed.
#[derive(Debug, Clone)]
pub struct Preferences {
    /// Where the user lives.
    pub time_zone: TimeZoneName,
    /// When their study day begins.
    pub day_starts_hour: DayStartHour,
    /// New cards a day.
    pub new_per_day: NewPerDay,
    /// The grade buttons, if the form chose them.
    pub grade_buttons: Option<GradeButtons>,
}

/// Saves `user_id`'s study preferences, all or none.
pub async fn save(
    pool: &Pool,
    sessions: &dyn Forget,
    user_id: i64,
    preferences: &Preferences,
) -> Result<(), StudyError> {
    let mut tx = db::begin_write_of(pool, &[db::Rows::of_user(user_id)]).await?;
    if let Some(layout) = preferences.grade_buttons {
        db::users::set_grade_buttons(&mut *tx, user_id, layout.as_str())
            .await
            .context("saving the grade buttons")?;
    }
    db::users::set_preferences(
        &mut *tx,
        user_id,
        preferences.time_zone.as_str(),
        preferences.day_starts_hour.get(),
        preferences.new_per_day.get(),
    )
    .await
    .context("saving the study preferences")?;
    tx.commit().await?;
    sessions.forget(Stale::User(user_id));
    Ok(())
}

/// Sets `user_id`'s scheduler and reschedules their cards with it (`scheduling::choose`);
/// their sessions are forgotten only once the rescheduling returns (see
/// `scheduling::Rescheduling`). Returns how many cards were rescheduled.
pub async fn choose_scheduler(
    pool: &Pool,
    sessions: &dyn Forget,
    user_id: i64,
    scheduler: Scheduler,
    chosen: bool,
    max_interval_days: u32,
    now: Timestamp,
) -> Result<usize, StudyError> {
    let rescheduled =
        super::scheduling::choose(pool, user_id, scheduler, chosen, max_interval_days, now).await?;
    sessions.forget(Stale::User(user_id));
    Ok(rescheduled)
}

/// A student's own saved FSRS fit.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedFit {
    /// The parameters (empty if the stored ones do not parse).
    pub parameters: Vec<f32>,
    /// Reviews they were fitted on.
    pub reviews: i64,
    /// Unix seconds.
    pub fitted_at: i64,
    /// Later reviews both were scored on.
    pub scored: i64,
    /// Log loss of the student's own parameters on those.
    pub own_log_loss: f64,
    /// Log loss of what they had before (their class's parameters, or FSRS's defaults).
    pub baseline_log_loss: f64,
    /// Whether the own parameters predicted better, and so schedule the student.
    pub kept: bool,
}

/// What the account page shows of a student's own fit.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnFit {
    /// Their standing reviews.
    pub reviews: i64,
    /// Reviews a fit needs.
    pub needed: i64,
    /// The saved fit, if any.
    pub saved: Option<SavedFit>,
    /// Whether a class of theirs has fitted parameters (what the own fit is measured against;
    /// else FSRS's defaults).
    pub class_fitted: bool,
}

/// `user_id`'s own fit and what it needs.
pub async fn own_fit(pool: &Pool, user_id: i64) -> Result<OwnFit, StudyError> {
    let class_fitted = db::classes::class_parameters_of(pool, user_id)
        .await?
        .is_some();
    let saved = db::analytics::student_fit_of(pool, user_id)
        .await?
        .map(|f| SavedFit {
            parameters: serde_json::from_str(&f.parameters).unwrap_or_default(),
            reviews: f.reviews,
            fitted_at: f.fitted_at,
            scored: f.scored,
            own_log_loss: f.own_log_loss,
            baseline_log_loss: f.baseline_log_loss,
            kept: f.kept,
        });
    Ok(OwnFit {
        reviews: db::analytics::review_count(pool, user_id).await?,
        needed: crate::srs::evaluate::MIN_OWN_FIT_REVIEWS,
        saved,
        class_fitted,
    })
}

/// Whether `user_id` has enough reviews to fit their own parameters: a conflict, saying how
/// many they have and need, if not.
pub async fn ready_to_fit(pool: &Pool, user_id: i64) -> Result<(), StudyError> {
    let reviews = db::analytics::review_count(pool, user_id).await?;
    let needed = crate::srs::evaluate::MIN_OWN_FIT_REVIEWS;
    if reviews < needed {
        return Err(StudyError::Conflict(format!(
            "Fitting your own parameters takes {needed} reviews; you have {reviews}."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grade_buttons_are_four_six_or_left_alone() {
        assert_eq!(GradeButtons::parse(None), Ok(None));
        assert_eq!(
            GradeButtons::parse(Some("six")),
            Ok(Some(GradeButtons::Six))
        );
        assert_eq!(
            GradeButtons::parse(Some("four")),
            Ok(Some(GradeButtons::Four))
        );
        assert!(GradeButtons::parse(Some("five")).is_err());
    }
}
