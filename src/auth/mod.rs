//! Who is asking, and may they: passwords, sessions, the current-user extractors, CSRF and
//! login throttling, the per-user write budget and the hourly budgets of what people create.

pub mod budget;
pub mod cache;
pub mod csrf;
pub mod handover;
pub mod password;
pub mod quota;
pub mod session;
pub mod throttle;
pub mod user;

pub use csrf::CsrfForm;
pub use user::{Admin, CurrentUser, Instructor, MaybeUser};
