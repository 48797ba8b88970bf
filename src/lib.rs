//! studyhall: a spaced-repetition study server for a whole class.
//!
//! Data flows one way: `routes` parse requests into `domain` types, call the pure `srs` and
//! `import` modules through `study`, store through `db`, and render `templates/`.

pub mod access_log;
pub mod auth;
pub mod charts;
pub mod cli;
pub mod clock;
pub mod config;
pub mod course;
pub mod db;
pub mod domain;
pub mod error;
pub mod import;
pub mod math;
pub mod practice;
pub mod routes;
pub mod srs;
pub mod startup;
pub mod study;
pub mod text;
