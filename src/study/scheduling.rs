//! Choosing a scheduler. A card's schedule is a fold over its standing grades under either
//! scheduler (`srs::scheduler::recompute`), so switching recomputes every card from the
//! history, in one transaction, and switching back gives the SM-2 schedule the student would
//! have had.

use super::{Context, StudyError};
use crate::db;
use crate::db::Pool;
use crate::srs::scheduler::{Scheduler, recompute};
use jiff::Timestamp;

/// Sets `user_id`'s scheduler (with `chosen`: the retention is their own, not their class's
/// default) and reschedules every card they have studied under it. Returns how many cards
/// were rescheduled.
pub async fn choose(
    pool: &Pool,
    user_id: i64,
    scheduler: Scheduler,
    chosen: bool,
    max_interval_days: u32,
    now: Timestamp,
) -> Result<usize, StudyError> {
    let mut tx = db::begin_write(pool).await?;
    db::users::set_scheduler(&mut *tx, user_id, scheduler, chosen)
        .await
        .context("saving the scheduler")?;
    let scheduler = current(&mut tx, user_id).await?;
    let n = recompute_in(&mut tx, user_id, scheduler, max_interval_days, now).await?;
    tx.commit().await?;
    Ok(n)
}

/// Reschedules `user_id`'s cards under the scheduler, retention and parameters they have now,
/// after something those come from changed: a class's fit or default retention, or joining or
/// leaving a class. Their choices are left as they are.
pub async fn reschedule(
    pool: &Pool,
    user_id: i64,
    max_interval_days: u32,
    now: Timestamp,
) -> Result<usize, StudyError> {
    let mut tx = db::begin_write(pool).await?;
    let scheduler = current(&mut tx, user_id).await?;
    let n = recompute_in(&mut tx, user_id, scheduler, max_interval_days, now).await?;
    tx.commit().await?;
    Ok(n)
}

/// Reschedules `user_id`'s cards if they study with FSRS: after their own fit, which may
/// now schedule them.
pub async fn reschedule_if_fsrs(
    pool: &Pool,
    user_id: i64,
    max_interval_days: u32,
    now: Timestamp,
) -> Result<(), StudyError> {
    let name = db::users::scheduler_of(pool, user_id).await?;
    if Scheduler::parse(&name, 90).is_ok_and(|s| s.retention().is_some()) {
        reschedule(pool, user_id, max_interval_days, now).await?;
    }
    Ok(())
}

/// After `user_id` joined or left a class: a student on FSRS may now be scheduled with other
/// parameters (a class's fitted ones, or the defaults), so their cards are recomputed; anyone
/// may have other exams, so their cards are placed around those.
pub async fn membership_changed(
    pool: &Pool,
    user_id: i64,
    scheduler: Scheduler,
    max_interval_days: u32,
    now: Timestamp,
) -> Result<(), StudyError> {
    if scheduler.retention().is_some() {
        reschedule(pool, user_id, max_interval_days, now).await?;
    } else {
        let mut tx = db::begin_write(pool).await?;
        super::exams::place_cards(&mut tx, user_id, now).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Reschedules every student of class `class_id` on FSRS, after what they are scheduled with
/// changed there (its fitted parameters or its default retention). Sessions carry both, so
/// they are dropped first.
pub async fn reschedule_class(
    db: &db::Db,
    sessions: &crate::auth::cache::SessionCache,
    class_id: i64,
    max_interval_days: u32,
    now: Timestamp,
) -> Result<(), StudyError> {
    sessions.forget_all();
    for user_id in db::classes::fsrs_members(db.reader(), class_id).await? {
        reschedule(db.writer(), user_id, max_interval_days, now).await?;
    }
    Ok(())
}

/// The user's scheduler with the retention they are scheduled at (their own or their
/// class's default).
async fn current(tx: &mut crate::db::Conn, user_id: i64) -> Result<Scheduler, StudyError> {
    let name = db::users::scheduler_of(&mut *tx, user_id).await?;
    let retention = db::classes::effective_retention(&mut *tx, user_id).await?;
    Ok(Scheduler::parse(&name, retention).unwrap_or_default())
}

/// Recomputes every card of the user from the history, then places them around their exams.
async fn recompute_in(
    tx: &mut crate::db::Conn,
    user_id: i64,
    scheduler: Scheduler,
    max_interval_days: u32,
    now: Timestamp,
) -> Result<usize, StudyError> {
    let parameters: Vec<f32> = db::classes::fsrs_parameters_of(&mut *tx, user_id)
        .await?
        .and_then(|p| serde_json::from_str(&p).ok())
        .unwrap_or_default();
    let history = db::reviews::standing_history(&mut *tx, user_id, None)
        .await
        .context("reading the history to reschedule")?;
    let states = recompute_all(&parameters, &history, scheduler, max_interval_days);
    db::reviews::rewrite_states(&mut *tx, user_id, &states)
        .await
        .context("rewriting the rescheduled cards")?;
    super::exams::place_cards(&mut *tx, user_id, now).await?;
    Ok(states.len())
}

/// The FSRS memory of one card from its standing history (after an undo).
pub async fn memory_of_card(
    conn: &mut crate::db::Conn,
    user_id: i64,
    card_id: i64,
    scheduler: Scheduler,
    parameters: &[f32],
) -> Result<Option<(f64, f64)>, StudyError> {
    let history = db::reviews::standing_history(&mut *conn, user_id, Some(card_id)).await?;
    Ok(recompute_all(
        parameters,
        &history,
        scheduler,
        crate::srs::sm2::DEFAULT_MAX_INTERVAL_DAYS,
    )
    .first()
    .and_then(|r| r.memory))
}

/// Every card's recomputed schedule from a history ordered by card, then oldest first.
fn recompute_all(
    parameters: &[f32],
    history: &[(i64, i64, i64)],
    scheduler: Scheduler,
    max_interval_days: u32,
) -> Vec<db::reviews::Recomputed> {
    history
        .chunk_by(|a, b| a.0 == b.0)
        .filter_map(|events| {
            let card_id = events[0].0;
            let events: Vec<(i32, u8)> = events
                .iter()
                .filter_map(|e| Some((i32::try_from(e.1).ok()?, u8::try_from(e.2).ok()?)))
                .collect();
            match recompute(parameters, &events, scheduler, max_interval_days) {
                Ok(Some((s, memory))) => Some(db::reviews::Recomputed {
                    card_id,
                    state: db::reviews::StateRow {
                        repetitions: i64::from(s.sm2.repetitions),
                        easiness_hundredths: i64::from(s.sm2.easiness_hundredths),
                        interval_days: i64::from(s.sm2.interval_days),
                        due_day: i64::from(s.due_day),
                        lapses: i64::from(s.lapses),
                        last_reviewed_at: 0,
                        // The fold's due day is the natural one: its last grade's day plus
                        // the interval.
                        graded_day: Some(i64::from(s.due_day) - i64::from(s.sm2.interval_days)),
                    },
                    memory: memory.map(|(s, d)| (f64::from(s), f64::from(d))),
                }),
                Ok(None) => None,
                Err(refusal) => {
                    // A history the rules never produced (edited by hand): the card keeps
                    // its schedule rather than lose it.
                    tracing::warn!(card_id, ?refusal, "cannot replay this card's history");
                    None
                }
            }
        })
        .collect()
}
