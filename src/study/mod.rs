//! The use cases: each runs the pure rules (`srs`, `import`) against the store (`db`) inside
//! one transaction where it writes. Handlers call these and render the result.

pub mod accounts;
pub mod actor;
pub mod admin;
pub mod classes;
pub mod controls;
pub mod dashboard;
pub mod decks;
pub mod editor;
mod error;
pub mod exams;
pub mod fits;
pub mod grader;
pub mod import;
pub mod learner;
pub mod mail;
pub mod media;
pub mod practice;
pub mod preferences;
pub mod progress;
pub mod registration;
pub mod reminders;
pub mod reports;
pub mod review;
pub mod scheduling;
pub mod sso;
mod stale;

pub use error::{Context, StudyError};
pub use learner::{DeckScope, Learner};
pub use stale::{Forget, Stale};
