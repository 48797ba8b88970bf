//! Who is asking, and may they: passwords, sessions, the current-user extractors, CSRF and
//! login throttling, and the per-user write budget.

pub mod budget;
pub mod cache;
pub mod csrf;
pub mod handover;
pub mod password;
pub mod session;
pub mod throttle;
pub mod user;

pub use csrf::CsrfForm;
pub use user::{Admin, CurrentUser, Instructor, MaybeUser};
