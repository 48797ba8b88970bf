//! Who may, by rule: passwords, session tokens, the signed pre-login CSRF token, login
//! throttling, the per-user write budget and the hourly budgets of what people create. The
//! HTTP side of all this (extractors, cookies, the CSRF form check, the session cache) is
//! `web`'s.

pub mod budget;
pub mod csrf_key;
pub mod handover;
pub mod oidc;
pub mod password;
pub mod quota;
pub mod session;
pub mod throttle;
