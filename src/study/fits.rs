//! Fitting FSRS parameters, to a class or to one student, as background jobs: the optimizer
//! runs on a blocking thread for seconds to minutes, the page shows its progress meanwhile,
//! and the result is saved with what it was fitted on. A student's own fit is kept (and
//! schedules them) only where it predicts their later reviews better than what they had.

use crate::db::{self, Db};
use crate::srs::evaluate;
use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type Progress = Arc<Mutex<fsrs::CombinedProgressState>>;

/// What is being fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FitOf {
    /// A class's pooled reviews.
    Class(i64),
    /// One student's own reviews.
    Student(i64),
}

/// The fits running now.
#[derive(Debug, Default)]
pub struct FitJobs {
    running: Mutex<HashMap<FitOf, Progress>>,
}

/// How far a running fit has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FitProgress {
    /// Items trained on so far.
    pub done: usize,
    /// Items to train on in all.
    pub total: usize,
}

/// What a fit job needs of the server.
#[derive(Debug, Clone)]
pub struct FitContext {
    /// The database.
    pub db: Db,
    /// Sessions carry the parameters, so a fit drops them.
    pub sessions: Arc<crate::auth::cache::SessionCache>,
    /// The longest interval.
    pub max_interval_days: u32,
    /// When the fit was asked for.
    pub now: Timestamp,
}

impl FitJobs {
    /// The progress of `what`'s fit, if one is running.
    pub fn progress(&self, what: FitOf) -> Option<FitProgress> {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let progress = running.get(&what)?;
        let state = progress.lock().unwrap_or_else(|e| e.into_inner());
        Some(FitProgress {
            done: state.current(),
            total: state.total(),
        })
    }

    /// Starts fitting `what` unless a fit of it is running. Returns whether it started.
    pub fn start(self: &Arc<Self>, what: FitOf, context: FitContext) -> bool {
        let progress: Progress = fsrs::CombinedProgressState::new_shared();
        {
            let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            if running.contains_key(&what) {
                return false;
            }
            running.insert(what, progress.clone());
        }
        let jobs = self.clone();
        tokio::spawn(async move {
            let done = match what {
                FitOf::Class(class_id) => fit_class(&context, class_id, progress).await,
                FitOf::Student(user_id) => fit_student(&context, user_id, progress).await,
            };
            if let Err(e) = done {
                tracing::error!(?what, "fitting FSRS parameters failed: {e:#}");
            }
            jobs.running
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&what);
        });
        true
    }
}

/// The optimizer on the earlier half of `histories`, off the async threads: the split day,
/// the items trained on, and the parameters.
async fn fit_histories(
    histories: &[Vec<(i32, u8)>],
    progress: Progress,
) -> anyhow::Result<(i32, usize, Vec<f32>)> {
    let Some((split_day, items)) = evaluate::training_set(histories) else {
        anyhow::bail!("there are no reviews to fit on");
    };
    let reviews = items.len();
    let parameters = tokio::task::spawn_blocking(move || evaluate::fit(items, Some(progress)))
        .await?
        .map_err(anyhow::Error::msg)?;
    Ok((split_day, reviews, parameters))
}

async fn fit_class(c: &FitContext, class_id: i64, progress: Progress) -> anyhow::Result<()> {
    let rows = db::analytics::histories(c.db.reader(), class_id).await?;
    let histories = evaluate::histories_by_card(&rows);
    let (split_day, reviews, parameters) = fit_histories(&histories, progress).await?;
    let fit = db::analytics::FitRow {
        parameters: serde_json::to_string(&parameters)?,
        reviews: i64::try_from(reviews)?,
        split_day: i64::from(split_day),
        fitted_at: c.now.as_second(),
    };
    db::analytics::save_fit(c.db.writer(), class_id, &fit).await?;
    super::scheduling::reschedule_class(&c.db, &c.sessions, class_id, c.max_interval_days, c.now)
        .await?;
    Ok(())
}

async fn fit_student(c: &FitContext, user_id: i64, progress: Progress) -> anyhow::Result<()> {
    let rows = db::reviews::standing_history(c.db.reader(), user_id, None).await?;
    let histories: Vec<Vec<(i32, u8)>> = rows
        .chunk_by(|a, b| a.0 == b.0)
        .map(|card| {
            card.iter()
                .filter_map(|e| Some((i32::try_from(e.1).ok()?, u8::try_from(e.2).ok()?)))
                .collect()
        })
        .collect();
    let (split_day, reviews, own) = fit_histories(&histories, progress).await?;
    let baseline: Vec<f32> = db::classes::class_parameters_of(c.db.reader(), user_id)
        .await?
        .and_then(|p| serde_json::from_str(&p).ok())
        .unwrap_or_default();
    let Some(scores) = evaluate::own_fit(&histories, &own, &baseline, split_day) else {
        anyhow::bail!("no later reviews to score the fit on");
    };
    let fit = db::analytics::StudentFitRow {
        parameters: serde_json::to_string(&own)?,
        reviews: i64::try_from(reviews)?,
        split_day: i64::from(split_day),
        fitted_at: c.now.as_second(),
        scored: i64::try_from(scores.scored)?,
        own_log_loss: scores.own.log_loss,
        baseline_log_loss: scores.baseline.log_loss,
        kept: scores.kept(),
    };
    db::analytics::save_student_fit(c.db.writer(), user_id, &fit).await?;
    c.sessions.forget_user(user_id);
    // Under FSRS the cards follow whichever parameters now schedule the student.
    super::scheduling::reschedule_if_fsrs(c.db.writer(), user_id, c.max_interval_days, c.now)
        .await?;
    Ok(())
}
