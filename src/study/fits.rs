//! Fitting FSRS parameters to a class, as a background job: the optimizer runs on a blocking
//! thread for seconds to minutes, the dashboard shows its progress meanwhile, and the result
//! is saved with what it was fitted on.

use crate::db::{self, Db};
use crate::srs::evaluate;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type Progress = Arc<Mutex<fsrs::CombinedProgressState>>;

/// The fits running now, by class.
#[derive(Debug, Default)]
pub struct FitJobs {
    running: Mutex<HashMap<i64, Progress>>,
}

/// How far a running fit has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FitProgress {
    /// Items trained on so far.
    pub done: usize,
    /// Items to train on in all.
    pub total: usize,
}

impl FitJobs {
    /// The progress of class `class_id`'s fit, if one is running.
    pub fn progress(&self, class_id: i64) -> Option<FitProgress> {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let progress = running.get(&class_id)?;
        let state = progress.lock().unwrap_or_else(|e| e.into_inner());
        Some(FitProgress {
            done: state.current(),
            total: state.total(),
        })
    }

    /// Starts fitting class `class_id` unless a fit of it is running. Returns whether it
    /// started.
    pub fn start(
        self: &Arc<Self>,
        db: Db,
        sessions: Arc<crate::auth::cache::SessionCache>,
        class_id: i64,
        max_interval_days: u32,
        now: i64,
    ) -> bool {
        let progress: Progress = fsrs::CombinedProgressState::new_shared();
        {
            let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            if running.contains_key(&class_id) {
                return false;
            }
            running.insert(class_id, progress.clone());
        }
        let jobs = self.clone();
        tokio::spawn(async move {
            let fitted = run(&db, class_id, progress, now).await;
            let rescheduled = match fitted {
                Ok(()) => crate::study::scheduling::reschedule_class(
                    &db,
                    &sessions,
                    class_id,
                    max_interval_days,
                    jiff::Timestamp::from_second(now).unwrap_or_default(),
                )
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.public_message())),
                Err(e) => Err(e),
            };
            if let Err(e) = rescheduled {
                tracing::error!(class_id, "fitting FSRS parameters failed: {e}");
            }
            jobs.running
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&class_id);
        });
        true
    }
}

async fn run(db: &Db, class_id: i64, progress: Progress, now: i64) -> anyhow::Result<()> {
    let rows = db::analytics::histories(db.reader(), class_id).await?;
    let histories = evaluate::histories_by_card(&rows);
    let Some((split_day, items)) = evaluate::training_set(&histories) else {
        anyhow::bail!("the class has no reviews to fit on");
    };
    let reviews = items.len();
    let parameters = tokio::task::spawn_blocking(move || evaluate::fit(items, Some(progress)))
        .await?
        .map_err(anyhow::Error::msg)?;
    let fit = db::analytics::FitRow {
        parameters: serde_json::to_string(&parameters)?,
        reviews: i64::try_from(reviews)?,
        split_day: i64::from(split_day),
        fitted_at: now,
    };
    db::analytics::save_fit(db.writer(), class_id, &fit).await?;
    Ok(())
}
