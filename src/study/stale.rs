//! What a use case changed that copies of a learner kept above it must drop. A session carries
//! its learner (visible decks, exams, scheduler, fitted parameters), and the web wing keeps
//! sessions a few seconds in its cache; the use case that changes one of those knows what went
//! stale, and says so through [`Forget`] without knowing who keeps the copies. A background
//! job (an FSRS fit) changes them after the request was answered, so a value handed back to
//! the handler would come too late: hence a port, not a return value.

/// Whose copies went stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// One user's sessions (their own preferences or fitted parameters changed).
    User(i64),
    /// Everyone's (what a whole class is scheduled with, or sees, changed).
    Everyone,
}

/// Whoever keeps copies of learners: the web wing's session cache.
pub trait Forget: Send + Sync + std::fmt::Debug {
    /// Drops the copies `stale` names.
    fn forget(&self, stale: Stale);
}
