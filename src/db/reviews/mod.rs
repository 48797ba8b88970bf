//! Review states (the schedule) and the append-only review history, by concern: what the
//! review page reads (`queue`), what grades and undos write (`writes`), and the history as the
//! card page and the CSV download read it (`history`).

mod history;
mod queue;
mod writes;

pub use history::*;
pub use queue::*;
pub use writes::*;

use sqlx::FromRow;

/// A card's schedule for one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct StateRow {
    /// n.
    pub repetitions: i64,
    /// EF in hundredths.
    pub easiness_hundredths: i64,
    /// I in days.
    pub interval_days: i64,
    /// Next due study day.
    pub due_day: i64,
    /// Times forgotten after being learned.
    pub lapses: i64,
    /// Unix seconds of the last review.
    pub last_reviewed_at: i64,
    /// The study day of the last grade (None in a state read back from a history event,
    /// which does not keep it: `graded_day()` then reckons it from the due day).
    #[sqlx(default)]
    pub graded_day: Option<i64>,
}

impl StateRow {
    /// The study day of the card's last grade. A state without it was scheduled before exams
    /// could move a due day, so its due day less its interval is that day.
    pub fn graded_day(&self) -> i64 {
        self.graded_day.unwrap_or(self.due_day - self.interval_days)
    }

    /// The due day the scheduler gave, before any exam brought it forward.
    pub fn natural_due_day(&self) -> i64 {
        self.graded_day() + self.interval_days
    }
}

/// A state read through a LEFT JOIN or from an event's "before" columns: all NULL when the
/// card was new to the user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromRow)]
pub struct MaybeState {
    /// n.
    pub repetitions: Option<i64>,
    /// EF in hundredths.
    pub easiness_hundredths: Option<i64>,
    /// I in days.
    pub interval_days: Option<i64>,
    /// Due day.
    pub due_day: Option<i64>,
    /// Lapses.
    pub lapses: Option<i64>,
    /// Last review, Unix seconds.
    pub last_reviewed_at: Option<i64>,
    /// The study day of the last grade.
    #[sqlx(default)]
    pub graded_day: Option<i64>,
}

impl MaybeState {
    /// The state, or None for a new card.
    pub fn get(&self) -> Option<StateRow> {
        Some(StateRow {
            repetitions: self.repetitions?,
            easiness_hundredths: self.easiness_hundredths?,
            interval_days: self.interval_days?,
            due_day: self.due_day?,
            lapses: self.lapses.unwrap_or(0),
            last_reviewed_at: self.last_reviewed_at.unwrap_or(0),
            graded_day: self.graded_day,
        })
    }
}
