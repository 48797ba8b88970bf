//! Fitting FSRS parameters, to a class or to one student, as background jobs (`crate::jobs`):
//! the optimizer runs on a blocking thread for seconds to minutes on whichever app server
//! takes the job, any server's page shows its place in the queue or its progress meanwhile,
//! and the result is saved with what it was fitted on. A class's fit is only proposed, with
//! what it would do to its students' due days, until its instructor applies it (then its
//! students are rescheduled by another job, and those whose cards moved are told) or discards
//! it. A student's own fit is kept (and schedules them) only where it predicts their later
//! reviews better than what they had.

use super::{Context, Forget, Stale, StudyError};
use crate::db::{self, Db};
use crate::jobs::{self, Job, Queue, Runner};
use crate::srs::evaluate;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub use crate::jobs::cap_for;

type Progress = Arc<std::sync::Mutex<fsrs::CombinedProgressState>>;

/// The job kind of a class's fit.
pub const CLASS_KIND: &str = "fit_class";
/// The job kind of a student's own fit.
pub const STUDENT_KIND: &str = "fit_student";
/// The job kind of rescheduling a class's students under the fit just applied.
pub const APPLY_KIND: &str = "apply_class_fit";

/// What is being fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FitOf {
    /// A class's pooled reviews.
    Class(i64),
    /// One student's own reviews.
    Student(i64),
    /// Not a fit: rescheduling a class's students under the fit its instructor applied.
    Applying(i64),
}

impl FitOf {
    /// Its job's kind and key.
    fn job(self) -> (&'static str, String) {
        match self {
            Self::Class(id) => (CLASS_KIND, id.to_string()),
            Self::Student(id) => (STUDENT_KIND, id.to_string()),
            Self::Applying(id) => (APPLY_KIND, id.to_string()),
        }
    }
}

/// The fits of the site, as this server asks for them and shows them: jobs in the site's
/// queue, run by whichever server takes them (at most [`FitJobs::cap`] at once on each).
#[derive(Debug, Clone)]
pub struct FitJobs {
    queue: Queue,
}

/// How far a running fit has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FitProgress {
    /// Items trained on so far.
    pub done: usize,
    /// Items to train on in all.
    pub total: usize,
}

/// Where a fit asked for is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FitStatus {
    /// Waiting for a place: `ahead` jobs (running or queued) go before it.
    Queued {
        /// Jobs that go first.
        ahead: usize,
    },
    /// Running, this far.
    Running(FitProgress),
}

/// What a fit job needs of the server that runs it.
#[derive(Debug, Clone)]
pub struct FitContext {
    /// The database.
    pub db: Db,
    /// Sessions carry the parameters, so a fit drops them.
    pub sessions: Arc<dyn Forget>,
    /// The longest interval.
    pub max_interval_days: u32,
}

/// A fit job's input.
#[derive(Debug, Serialize, Deserialize)]
struct Asked {
    /// When the fit was asked for, by the site's clock (seconds): the fit is dated then and
    /// reschedules from then, whenever and wherever it runs.
    asked_at: i64,
}

impl FitJobs {
    /// The fits in `queue`.
    pub fn new(queue: Queue) -> Self {
        Self { queue }
    }

    /// How many jobs (fits among them) this server runs at once.
    pub fn cap(&self) -> usize {
        self.queue.cap()
    }

    /// Where `what`'s fit is, if one is queued or running.
    pub async fn status(&self, what: FitOf) -> Result<Option<FitStatus>, sqlx::Error> {
        let (kind, key) = what.job();
        Ok(self.queue.status(kind, &key).await?.map(|s| match s {
            jobs::Status::Queued { ahead } => FitStatus::Queued { ahead },
            jobs::Status::Running { done, total } => FitStatus::Running(FitProgress {
                done: usize::try_from(done).unwrap_or(usize::MAX),
                total: usize::try_from(total).unwrap_or(usize::MAX),
            }),
        }))
    }

    /// The progress of `what`'s fit, if one is queued (nothing done yet) or running.
    pub async fn progress(&self, what: FitOf) -> Result<Option<FitProgress>, sqlx::Error> {
        Ok(self.status(what).await?.map(|s| match s {
            FitStatus::Queued { .. } => FitProgress { done: 0, total: 0 },
            FitStatus::Running(p) => p,
        }))
    }

    /// Queues a fit of `what`, asked for at `now`, unless one is queued or running. Returns
    /// whether it was queued.
    pub async fn start(&self, what: FitOf, now: Timestamp) -> Result<bool, sqlx::Error> {
        let (kind, key) = what.job();
        let payload = serde_json::to_string(&Asked {
            asked_at: now.as_second(),
        })
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        self.queue.enqueue(kind, &key, &payload).await
    }
}

/// `runner` with the fits' handlers, which run with `context`.
pub fn handlers(runner: Runner, context: FitContext) -> Runner {
    let class = Arc::new(context);
    let student = class.clone();
    let apply = class.clone();
    runner
        .handle(CLASS_KIND, move |job: Job, progress: jobs::Progress| {
            let c = class.clone();
            async move {
                let (id, now) = parse(&job)?;
                fit_class(&c, id, now, follow(&progress)).await
            }
        })
        .handle(STUDENT_KIND, move |job: Job, progress: jobs::Progress| {
            let c = student.clone();
            async move {
                let (id, now) = parse(&job)?;
                fit_student(&c, id, now, follow(&progress)).await
            }
        })
        .handle(APPLY_KIND, move |job: Job, _progress: jobs::Progress| {
            let c = apply.clone();
            async move {
                let (id, now) = parse(&job)?;
                reschedule_applied(&c, id, now).await
            }
        })
}

/// A fit job's subject and when it was asked for.
fn parse(job: &Job) -> anyhow::Result<(i64, Timestamp)> {
    let id: i64 = job.key.parse()?;
    let asked: Asked = serde_json::from_str(&job.payload)?;
    Ok((id, Timestamp::from_second(asked.asked_at)?))
}

/// The optimizer's own count of its progress, which the job's progress follows.
fn follow(progress: &jobs::Progress) -> Progress {
    let state: Progress = fsrs::CombinedProgressState::new_shared();
    let read = state.clone();
    progress.follow(move || {
        let s = read.lock().unwrap_or_else(|e| e.into_inner());
        (
            u64::try_from(s.current()).unwrap_or(0),
            u64::try_from(s.total()).unwrap_or(0),
        )
    });
    // Cancelled (the server stops, or another server took the job): the optimizer checks
    // this between steps and gives up, freeing its core.
    let abort = state.clone();
    progress.on_cancel(move || {
        abort.lock().unwrap_or_else(|e| e.into_inner()).want_abort = true;
    });
    state
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

async fn fit_class(
    c: &FitContext,
    class_id: i64,
    now: Timestamp,
    progress: Progress,
) -> anyhow::Result<()> {
    let rows = db::analytics::histories(c.db.reader(), class_id).await?;
    let histories = evaluate::histories_by_card(&rows);
    let (split_day, reviews, parameters) = fit_histories(&histories, progress).await?;
    let parameters = serde_json::to_string(&parameters)?;
    // Nothing moves until the instructor has seen what would and applies it.
    let impact =
        super::scheduling::preview_class(&c.db, class_id, &parameters, c.max_interval_days, now)
            .await?;
    let proposal = db::analytics::ProposalRow {
        parameters,
        reviews: i64::try_from(reviews)?,
        split_day: i64::from(split_day),
        fitted_at: now.as_second(),
        students: impact.students,
        affected: impact.affected,
        sooner: impact.sooner,
        later: impact.later,
        unchanged: impact.unchanged,
        due_before: impact.due_before,
        due_after: impact.due_after,
        largest_shift: impact.largest_shift,
    };
    db::analytics::save_proposal(c.db.writer(), class_id, &proposal).await?;
    Ok(())
}

/// Class `class_id`'s fit waiting to be applied, if any (the caller has found the class among
/// its instructor's).
pub async fn proposal_of(
    db: &Db,
    class_id: i64,
) -> Result<Option<db::analytics::ProposalRow>, StudyError> {
    Ok(db::analytics::proposal_of(db.reader(), class_id).await?)
}

/// Applies the fit proposed to class `class_id`, run by `owner_id`, at `now`: it becomes the
/// class's fit, and a job (on `jobs`) reschedules every student of the class on FSRS under it
/// and tells those whose cards moved. Returns the fit applied. Not found when the class is
/// not theirs or nothing is proposed; a conflict while the previous fit is still being
/// applied.
pub async fn apply_class_fit(
    db: &Db,
    jobs: &FitJobs,
    owner_id: i64,
    class_id: i64,
    now: Timestamp,
) -> Result<db::analytics::ProposalRow, StudyError> {
    let class = super::classes::owned(db.reader(), owner_id, class_id).await?;
    if jobs.status(FitOf::Applying(class.id)).await?.is_some() {
        return Err(StudyError::Conflict(
            "The class's previous parameters are still being applied: try again once that \
             has finished."
                .to_owned(),
        ));
    }
    let mut tx = db::begin_write(db.writer()).await?;
    let Some(proposal) = db::analytics::proposal_of(&mut *tx, class.id).await? else {
        return Err(StudyError::NotFound);
    };
    let fit = db::analytics::FitRow {
        parameters: proposal.parameters.clone(),
        reviews: proposal.reviews,
        split_day: proposal.split_day,
        fitted_at: proposal.fitted_at,
    };
    db::analytics::save_fit(&mut *tx, class.id, &fit)
        .await
        .context("saving a class's fit")?;
    db::analytics::delete_proposal(&mut *tx, class.id).await?;
    tx.commit().await?;
    jobs.start(FitOf::Applying(class.id), now).await?;
    Ok(proposal)
}

/// The applying job: class `class_id`'s students on FSRS rescheduled under the fit just
/// saved, and each whose cards moved told how many.
async fn reschedule_applied(c: &FitContext, class_id: i64, now: Timestamp) -> anyhow::Result<()> {
    let moved = super::scheduling::reschedule_class_counting(
        &c.db,
        &*c.sessions,
        class_id,
        c.max_interval_days,
        now,
    )
    .await?;
    for (user_id, cards) in moved {
        let notice = db::analytics::NoticeRow {
            changed_at: now.as_second(),
            cards,
        };
        db::analytics::save_notice(c.db.writer(), user_id, notice).await?;
    }
    Ok(())
}

/// Drops the fit proposed to class `class_id`, run by `owner_id`; nobody's schedule changes.
/// Not found when the class is not theirs or nothing is proposed.
pub async fn discard_class_fit(db: &Db, owner_id: i64, class_id: i64) -> Result<(), StudyError> {
    let class = super::classes::owned(db.reader(), owner_id, class_id).await?;
    if db::analytics::delete_proposal(db.writer(), class.id).await? {
        Ok(())
    } else {
        Err(StudyError::NotFound)
    }
}

/// How long a student is told that a fit moved their cards, unless they dismiss it first
/// (the session query, `db::sessions`, reads notices this recent: keep the two equal).
pub const NOTICE_SECS: i64 = 7 * 86_400;

/// `user_id` has read their notice: it is not shown again (their session carries it, so it
/// goes stale).
pub async fn dismiss_notice(
    pool: &db::Pool,
    sessions: &dyn Forget,
    user_id: i64,
) -> Result<(), StudyError> {
    db::analytics::delete_notice(pool, user_id).await?;
    sessions.forget(Stale::User(user_id));
    Ok(())
}

async fn fit_student(
    c: &FitContext,
    user_id: i64,
    now: Timestamp,
    progress: Progress,
) -> anyhow::Result<()> {
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
        fitted_at: now.as_second(),
        scored: i64::try_from(scores.scored)?,
        own_log_loss: scores.own.log_loss,
        baseline_log_loss: scores.baseline.log_loss,
        kept: scores.kept(),
    };
    db::analytics::save_student_fit(c.db.writer(), user_id, &fit).await?;
    c.sessions.forget(Stale::User(user_id));
    // Under FSRS the cards follow whichever parameters now schedule the student.
    super::scheduling::reschedule_if_fsrs(c.db.writer(), user_id, c.max_interval_days, now).await?;
    Ok(())
}
