//! Who studies, as the use cases need to know them: an id, a calendar, a new-card limit, the
//! decks they may see, and what schedules them. The web layer's `CurrentUser` carries one
//! (with its session, CSRF token and role beside it); a use case takes only this, so it runs
//! the same for a request, a command or a test. [`load`] builds one from a user id, for work
//! that no request carries (a job, a reminder, a launch from another site).

use super::StudyError;
use crate::db::Pool;
use crate::db::sessions::LearnerRow;
use crate::srs::day::StudyCalendar;
use crate::srs::exam::ExamWindow;
use crate::srs::scheduler::Scheduler;
use jiff::Timestamp;
use std::sync::Arc;

/// A learner.
#[derive(Debug, Clone, PartialEq)]
pub struct Learner {
    /// User id: every query of their data is scoped by it.
    pub id: i64,
    /// Where their study days begin and end.
    pub calendar: StudyCalendar,
    /// New cards a day.
    pub new_per_day: u32,
    /// A one-day extension of the new-card limit: (study day, extra cards).
    pub extra_new: Option<(i32, u32)>,
    /// SM-2 or FSRS.
    pub scheduler: Scheduler,
    /// FSRS's parameters: those fitted to them or their class, or empty for the defaults.
    pub fsrs_parameters: Arc<[f32]>,
    /// The exams of their classes that are not long past.
    pub exams: Arc<[ExamWindow]>,
    /// The decks they may see, sorted.
    pub visible: Arc<[i64]>,
    /// The same as a JSON array for the scoped queries (`[1,5,7]`), or `None` when they see
    /// every deck of the site (a one-course site, an admin), which the queries read without
    /// a deck filter.
    pub visible_json: Option<Arc<str>>,
}

/// Which decks a query covers: a JSON array of deck ids, or every deck (`None`).
#[derive(Debug, Clone)]
pub struct DeckScope {
    /// The decks, or `None` for every deck.
    pub decks: Option<Arc<str>>,
}

impl DeckScope {
    /// The decks as the `db` queries take them.
    pub fn decks(&self) -> Option<&str> {
        self.decks.as_deref()
    }
}

/// The learner of user `user_id` at `now`: `None` for an unknown or disabled account.
pub async fn load(
    pool: &Pool,
    user_id: i64,
    now: Timestamp,
) -> Result<Option<Learner>, StudyError> {
    let Some(row) = crate::db::sessions::learner(pool, user_id, now.as_second()).await? else {
        return Ok(None);
    };
    Ok(Some(Learner::of_row(pool, &row).await?))
}

/// The user of an unexpired session with their learner: `None` when the session is unknown,
/// over, or its account disabled.
pub async fn of_session(
    pool: &Pool,
    token_hash: &[u8],
    now: i64,
) -> Result<Option<(crate::db::sessions::SessionUser, Learner)>, StudyError> {
    let Some(row) = crate::db::sessions::find_user(pool, token_hash, now).await? else {
        return Ok(None);
    };
    let learner = Learner::of_row(pool, &row.user).await?;
    Ok(Some((row, learner)))
}

impl Learner {
    /// The learner of an account's row (from a session or from [`load`]), with the decks
    /// they may see read now.
    pub async fn of_row(pool: &Pool, row: &LearnerRow) -> Result<Self, StudyError> {
        let (visible, every) = crate::db::classes::visible_decks(pool, row.id).await?;
        Ok(Self::from_parts(row, visible, every))
    }

    /// The learner of an account's row and the decks they may see (sorted), `every` when
    /// those are all the site's decks.
    pub fn from_parts(row: &LearnerRow, visible: Vec<i64>, every: bool) -> Self {
        let visible_json = (!every).then(|| Arc::from(json_list(&visible)));
        Self {
            id: row.id,
            calendar: StudyCalendar::stored(&row.time_zone, row.day_starts_hour),
            new_per_day: u32::try_from(row.new_per_day).unwrap_or(20),
            extra_new: row
                .extra_new_day
                .and_then(|d| i32::try_from(d).ok())
                .map(|d| (d, u32::try_from(row.extra_new).unwrap_or(0))),
            scheduler: Scheduler::parse(&row.scheduler, row.desired_retention).unwrap_or_default(),
            fsrs_parameters: row
                .fsrs_parameters
                .as_deref()
                .and_then(|p| serde_json::from_str::<Vec<f32>>(p).ok())
                .unwrap_or_default()
                .into(),
            exams: crate::db::exams::windows_from_json(row.exams.as_deref()).into(),
            visible: visible.into(),
            visible_json,
        }
    }

    /// Their study day at `now`.
    pub fn today(&self, now: Timestamp) -> i32 {
        self.calendar.day_of(now)
    }

    /// New cards allowed on study day `today`: the preference, plus any extension granted
    /// for that day ("study N more new cards today").
    pub fn new_limit(&self, today: i32) -> u32 {
        let extra = match self.extra_new {
            Some((day, extra)) if day == today => extra,
            _ => 0,
        };
        self.new_per_day.saturating_add(extra)
    }

    /// Whether they may see deck `deck_id`.
    pub fn can_see(&self, deck_id: i64) -> bool {
        self.visible.binary_search(&deck_id).is_ok()
    }

    /// The decks a query should look at: one deck (if they may see it), or all they see.
    pub fn deck_scope(&self, deck: Option<i64>) -> Result<DeckScope, StudyError> {
        match deck {
            Some(id) if !self.can_see(id) => Err(StudyError::NotFound),
            Some(id) => Ok(DeckScope {
                decks: Some(Arc::from(json_list(&[id]))),
            }),
            None => Ok(DeckScope {
                decks: self.visible_json.clone(),
            }),
        }
    }

    /// Every deck they see, as the `db` queries take it.
    pub fn visible_decks(&self) -> Option<&str> {
        self.visible_json.as_deref()
    }
}

/// Ids as a JSON array, `[5,7]`.
pub fn json_list(ids: &[i64]) -> String {
    let mut out = String::from("[");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&id.to_string());
    }
    out.push(']');
    out
}
