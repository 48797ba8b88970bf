//! Integration tests: each drives a real studyhall server over HTTP on a random port, with a
//! fresh SQLite file of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// The tests read and write the SQLite file itself, below the server.
#![allow(clippy::disallowed_types)]

mod accounts;
mod admin;
mod budgets;
mod card_controls;
mod checkpoint;
pub(crate) mod classes;
mod cli;
mod cloze;
mod decks_and_import;
mod edit;
mod exams;
mod export;
mod fsrs;
mod grade_writer;
mod hardening_minor;
mod harness;
mod helpers;
mod hostile_imports;
mod hostile_tex;
mod jobs;
mod learner;
mod mail;
mod many_courses;
mod migrate_to;
mod migrations;
mod oidc;
mod outbox;
mod practice;
mod protocol;
mod replay;
mod reports_loop;
mod reschedule;
mod review;
mod review_cache;
mod rich;
mod rich_limits;
mod rights;
mod schema;
mod security;
mod servers;
mod stats;
mod tallies;
mod tex_payloads;
