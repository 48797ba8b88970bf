//! studyhall: a spaced-repetition study server for a whole class.
//!
//! Data flows one way: `web` (everything that knows HTTP) parses requests into `domain` types,
//! calls the use cases in `study`, which run the pure `srs` and `import` modules and store
//! through `db`; `web` renders `templates/`. Nothing below `web` imports it.

pub mod auth;
pub mod charts;
pub mod cli;
pub mod clock;
pub mod config;
pub mod course;
pub mod db;
pub mod domain;
pub mod http_client;
pub mod import;
pub mod jobs;
pub mod mail;
pub mod markup;
pub mod math;
pub mod media;
pub mod practice;
pub mod srs;
pub mod study;
pub mod text;
pub mod web;
