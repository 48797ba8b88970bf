//! Who studies, as the use cases need to know them: an id, a calendar, a new-card limit, the
//! decks they may see, and what schedules them. The web layer's `CurrentUser` carries one
//! (with its session, CSRF token and role beside it); a use case takes only this, so it runs
//! the same for a request, a command or a test.

use super::StudyError;
use crate::srs::day::StudyCalendar;
use crate::srs::exam::ExamWindow;
use crate::srs::scheduler::Scheduler;
use jiff::Timestamp;
use std::sync::Arc;

/// A learner.
#[derive(Debug, Clone)]
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
    /// The decks they may not see, as a deck list for SQL: ids framed by commas, ",5,7,", or
    /// "" when nothing is hidden (the common case, which the queries skip at no cost per row).
    pub hidden_decks: Arc<str>,
    /// The decks they may see, sorted.
    pub visible: Arc<[i64]>,
}

/// Which decks a queue query covers.
#[derive(Debug, Clone)]
pub struct DeckScope {
    /// One deck only, or all.
    pub only: Option<i64>,
    /// Decks to leave out (a deck list).
    pub hidden: Arc<str>,
}

impl Learner {
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

    /// The decks a queue query should look at: one deck (if visible), and the hidden ones.
    pub fn deck_scope(&self, deck: Option<i64>) -> Result<DeckScope, StudyError> {
        if deck.is_some_and(|id| !self.can_see(id)) {
            return Err(StudyError::NotFound);
        }
        Ok(DeckScope {
            only: deck,
            hidden: self.hidden_decks.clone(),
        })
    }
}
