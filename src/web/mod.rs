//! The web wing: everything that knows HTTP. Startup and the shared state, the routes (thin
//! handlers per area, mirrored by `templates/`), the extractors of the current user, CSRF, the
//! session cookie and the session cache, the access log, and the error pages. Nothing outside
//! this folder names an actix type (clippy's `disallowed-types` says so), and nothing below it
//! imports it: the use cases in `study` return values, and this wing turns them into pages,
//! cookies and redirects.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

pub mod access_log;
pub mod cookies;
pub mod csrf;
pub mod error;
pub mod extract;
pub mod policy;
pub mod routes;
pub mod session_cache;
pub mod startup;

pub use csrf::CsrfForm;
pub use error::AppError;
pub use extract::{Admin, CurrentUser, Instructor, MaybeUser};
pub use startup::{AppState, Application};
