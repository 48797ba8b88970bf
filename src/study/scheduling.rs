//! Choosing a scheduler. A card's schedule is a fold over its standing grades under either
//! scheduler (`srs::scheduler::recompute`), so switching recomputes every card from the
//! history, in one transaction, and switching back gives the SM-2 schedule the student would
//! have had.

use super::{Context, Forget, Stale, StudyError};
use crate::db;
use crate::db::{Conn, Pool};
use crate::srs::scheduler::{Scheduler, recompute};
use jiff::Timestamp;

/// Cards recomputed and rewritten in one write transaction. A rescheduling holds the one
/// writer (SQLite's lock, PostgreSQL's advisory lock) only for one batch at a time, a few
/// milliseconds, so other students' grades wait at most that long behind it.
pub const BATCH_CARDS: i64 = 250;

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
    Rescheduling::start(
        pool,
        user_id,
        Some((scheduler, chosen)),
        max_interval_days,
        now,
    )
    .await?
    .run()
    .await
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
    Rescheduling::start(pool, user_id, None, max_interval_days, now)
        .await?
        .run()
        .await
}

/// One student's cards being rescheduled: recomputed from the history and rewritten batch by
/// batch, in order of card id, each batch in a write transaction of its own; then the cards
/// are placed around the student's exams.
///
/// Why the batches stay right while grades land between them: a batch reads the history of
/// its cards, and the scheduler and parameters, inside its own transaction, so what it writes
/// is the fold of everything committed before it; a card graded after its batch was graded
/// from the state that batch wrote. What is left is a grade made with the scheduler a cached
/// session still carries (the route forgets the session only once the switch returns): the
/// last transaction recomputes every card that has an event later than the student's latest
/// one when the rescheduling began, under the scheduler then stored. Events only append, and
/// an id is reused only after the event with the largest one is deleted, with its card or its
/// user.
///
/// A student with at most `BATCH_CARDS` cards is rescheduled in one transaction, as before.
/// A failure between batches leaves the cards already done on the new schedule and the rest
/// on the old one: running the rescheduling again (choosing the scheduler again) completes
/// it, since every schedule is a fold of the history.
#[derive(Debug)]
pub struct Rescheduling<'p> {
    pool: &'p Pool,
    user_id: i64,
    max_interval_days: u32,
    now: Timestamp,
    /// The last card rewritten: the next batch starts after it.
    after: i64,
    /// The student's latest event when this began.
    since: i64,
    /// Cards rescheduled so far.
    rescheduled: usize,
    /// Whether batches are left to do (then the final transaction).
    more: bool,
    /// Whether the final transaction has committed.
    finished: bool,
}

impl<'p> Rescheduling<'p> {
    /// Starts a rescheduling, with a change of scheduler if `choice`: the change and the first
    /// batch commit together (and, for a student with few cards, everything else too).
    pub async fn start(
        pool: &'p Pool,
        user_id: i64,
        choice: Option<(Scheduler, bool)>,
        max_interval_days: u32,
        now: Timestamp,
    ) -> Result<Self, StudyError> {
        let mut tx = db::begin_write_of(pool, &[db::Rows::of_user(user_id)]).await?;
        if let Some((scheduler, chosen)) = choice {
            db::users::set_scheduler(&mut *tx, user_id, scheduler, chosen)
                .await
                .context("saving the scheduler")?;
        }
        let since = db::reviews::last_event_id(&mut *tx, user_id).await?;
        let mut me = Self {
            pool,
            user_id,
            max_interval_days,
            now,
            after: 0,
            since,
            rescheduled: 0,
            more: true,
            finished: false,
        };
        me.batch(&mut tx).await?;
        if !me.more {
            me.finish(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(me)
    }

    /// The last card rewritten so far (batches go up by card id).
    pub fn done_through(&self) -> i64 {
        self.after
    }

    /// Runs the next batch (or, once none is left, the final transaction) in a write
    /// transaction of its own. Returns whether anything is left to do.
    pub async fn step(&mut self) -> Result<bool, StudyError> {
        if self.finished {
            return Ok(false);
        }
        let mut tx = db::begin_write_of(self.pool, &[db::Rows::of_user(self.user_id)]).await?;
        if self.more {
            self.batch(&mut tx).await?;
        } else {
            self.finish(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(!self.finished)
    }

    /// Runs every step left. Returns how many cards were rescheduled.
    pub async fn run(mut self) -> Result<usize, StudyError> {
        while self.step().await? {}
        Ok(self.rescheduled)
    }

    /// Recomputes and rewrites the next `BATCH_CARDS` of the student's scheduled cards.
    async fn batch(&mut self, tx: &mut Conn) -> Result<(), StudyError> {
        let cards =
            db::reviews::scheduled_cards_after(&mut *tx, self.user_id, self.after, BATCH_CARDS)
                .await?;
        self.more = i64::try_from(cards.len()).is_ok_and(|n| n == BATCH_CARDS);
        let Some(&last) = cards.last() else {
            return Ok(());
        };
        let history =
            db::reviews::standing_history_between(&mut *tx, self.user_id, self.after, last)
                .await
                .context("reading the history to reschedule")?;
        self.rescheduled += self.rewrite(tx, &history).await?;
        self.after = last;
        Ok(())
    }

    /// The last transaction: the cards graded while the batches ran are recomputed again,
    /// then every card is placed around the student's exams.
    async fn finish(&mut self, tx: &mut Conn) -> Result<(), StudyError> {
        let history =
            db::reviews::standing_history_touched_since(&mut *tx, self.user_id, self.since)
                .await
                .context("reading the history of cards graded while rescheduling")?;
        if !history.is_empty() {
            self.rewrite(tx, &history).await?;
        }
        super::exams::place_cards(&mut *tx, self.user_id, self.now).await?;
        self.finished = true;
        Ok(())
    }

    /// Recomputes the cards of `history` under the scheduler and parameters stored now and
    /// rewrites them. Returns how many.
    async fn rewrite(
        &self,
        tx: &mut Conn,
        history: &[(i64, i64, i64)],
    ) -> Result<usize, StudyError> {
        let scheduler = current(&mut *tx, self.user_id).await?;
        let parameters: Vec<f32> = db::classes::fsrs_parameters_of(&mut *tx, self.user_id)
            .await?
            .and_then(|p| serde_json::from_str(&p).ok())
            .unwrap_or_default();
        let states = recompute_all(&parameters, history, scheduler, self.max_interval_days);
        db::reviews::rewrite_states(&mut *tx, self.user_id, &states)
            .await
            .context("rewriting the rescheduled cards")?;
        Ok(states.len())
    }
}

/// Reschedules `user_id`'s cards if they study with FSRS: after their own fit, which may
/// now schedule them.
pub async fn reschedule_if_fsrs(
    pool: &Pool,
    user_id: i64,
    max_interval_days: u32,
    now: Timestamp,
) -> Result<(), StudyError> {
    // Loaded as any job loads a learner: a disabled account keeps the due dates it has.
    let learner = super::learner::load(pool, user_id, now).await?;
    if learner.is_some_and(|l| l.scheduler.retention().is_some()) {
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
        let mut tx = db::begin_write_of(pool, &[db::Rows::of_user(user_id)]).await?;
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
    sessions: &dyn Forget,
    class_id: i64,
    max_interval_days: u32,
    now: Timestamp,
) -> Result<(), StudyError> {
    sessions.forget(Stale::Everyone);
    for user_id in db::classes::fsrs_members(db.reader(), class_id).await? {
        reschedule(db.writer(), user_id, max_interval_days, now).await?;
    }
    Ok(())
}

/// The user's scheduler with the retention they are scheduled at (their own or their
/// class's default).
async fn current(tx: &mut Conn, user_id: i64) -> Result<Scheduler, StudyError> {
    let name = db::users::scheduler_of(&mut *tx, user_id).await?;
    let retention = db::classes::effective_retention(&mut *tx, user_id).await?;
    Ok(Scheduler::parse(&name, retention).unwrap_or_default())
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

/// What rescheduling a class's FSRS students under a proposed fit would do to their due days,
/// summed over the students (computed by [`preview_class`], written nowhere).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Impact {
    /// Members on FSRS compared.
    pub students: i64,
    /// Of those, students with at least one card whose due day would move.
    pub affected: i64,
    /// Cards that would fall due earlier.
    pub sooner: i64,
    /// Cards that would fall due later.
    pub later: i64,
    /// Cards whose due day would stay.
    pub unchanged: i64,
    /// Cards due on their student's study day or before, as they stand.
    pub due_before: i64,
    /// The same after the rescheduling.
    pub due_after: i64,
    /// The largest move of one card's due day, in days either way.
    pub largest_shift: i64,
}

impl Impact {
    /// Adds one student: `due`, their cards' due days now, by card; `recomputed`, the
    /// schedules a rescheduling would write (cards it cannot replay keep theirs), by card;
    /// `today`, their study day.
    pub fn add_student(&mut self, due: &[(i64, i64)], recomputed: &[(i64, i64)], today: i64) {
        let mut moved = false;
        let mut next = recomputed.iter().peekable();
        for &(card, before) in due {
            while next.next_if(|r| r.0 < card).is_some() {}
            let after = next.next_if(|r| r.0 == card).map_or(before, |r| r.1);
            let shift = after - before;
            match shift.signum() {
                -1 => self.sooner += 1,
                1 => self.later += 1,
                _ => self.unchanged += 1,
            }
            moved |= shift != 0;
            self.largest_shift = self.largest_shift.max(shift.abs());
            self.due_before += i64::from(before <= today);
            self.due_after += i64::from(after <= today);
        }
        self.students += 1;
        self.affected += i64::from(moved);
    }
}

/// What [`reschedule_class`] would do to class `class_id`'s students on FSRS were `proposed`
/// (JSON parameters) its fit, at `now`: each student's cards recomputed from their history
/// under the parameters they would then have (their own kept fit, or the first of their
/// classes' fits, this one being `proposed`) and compared with the due days they have.
/// Reads only. Exam windows are not simulated: a card an exam would move is counted at its
/// natural due day.
pub async fn preview_class(
    db: &db::Db,
    class_id: i64,
    proposed: &str,
    max_interval_days: u32,
    now: Timestamp,
) -> Result<Impact, StudyError> {
    let mut impact = Impact::default();
    for user_id in db::classes::fsrs_members(db.reader(), class_id).await? {
        let mut conn = db.reader().acquire().await?;
        let Some(user) = db::users::find(&mut *conn, user_id).await? else {
            continue;
        };
        let today = crate::srs::day::StudyCalendar::stored(&user.time_zone, user.day_starts_hour)
            .day_of(now);
        let scheduler = current(&mut conn, user_id).await?;
        let parameters: Vec<f32> =
            db::analytics::parameters_if_fitted(&mut *conn, user_id, class_id, proposed)
                .await?
                .and_then(|p| serde_json::from_str(&p).ok())
                .unwrap_or_default();
        let history = db::reviews::standing_history(&mut *conn, user_id, None).await?;
        let due = db::analytics::due_days(&mut *conn, user_id).await?;
        let recomputed: Vec<(i64, i64)> =
            recompute_all(&parameters, &history, scheduler, max_interval_days)
                .iter()
                .map(|r| (r.card_id, r.state.due_day))
                .collect();
        impact.add_student(&due, &recomputed, i64::from(today));
    }
    Ok(impact)
}

/// [`reschedule_class`], counting for each student the cards whose due day moved: (student,
/// cards moved), for the students with any.
pub async fn reschedule_class_counting(
    db: &db::Db,
    sessions: &dyn Forget,
    class_id: i64,
    max_interval_days: u32,
    now: Timestamp,
) -> Result<Vec<(i64, i64)>, StudyError> {
    sessions.forget(Stale::Everyone);
    let mut moved = Vec::new();
    for user_id in db::classes::fsrs_members(db.reader(), class_id).await? {
        let before = db::analytics::due_days(db.writer(), user_id).await?;
        reschedule(db.writer(), user_id, max_interval_days, now).await?;
        let after = db::analytics::due_days(db.writer(), user_id).await?;
        let mut impact = Impact::default();
        impact.add_student(&before, &after, 0);
        if impact.sooner + impact.later > 0 {
            moved.push((user_id, impact.sooner + impact.later));
        }
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::Impact;

    #[test]
    fn an_impact_counts_each_card_once_by_the_way_its_due_day_moves() {
        let mut impact = Impact::default();
        // Card 3 cannot be replayed (it keeps its day); card 5 has no schedule (ignored).
        let due = [(1, 10), (2, 12), (3, 9), (4, 20)];
        let recomputed = [(1, 8), (2, 12), (4, 25), (5, 1)];
        impact.add_student(&due, &recomputed, 10);
        impact.add_student(&[(7, 30)], &[(7, 30)], 10);
        assert_eq!(
            impact,
            Impact {
                students: 2,
                affected: 1,
                sooner: 1,
                later: 1,
                unchanged: 3,
                due_before: 2,
                due_after: 2,
                largest_shift: 5,
            }
        );
    }
}
