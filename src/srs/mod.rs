//! Scheduling, pure: no I/O and no clock reads. Callers pass `today` (a study day) in.

pub mod day;
pub mod evaluate;
pub mod exam;
pub mod fsrs;
pub mod rollup;
pub mod schedule;
pub mod scheduler;
pub mod sm2;
pub mod today;
