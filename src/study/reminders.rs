//! Study reminders (issue 27), opt-in: at the hour a student chose, in their own time zone,
//! on days when cards are due and they have not studied yet, one message (or a weekly digest
//! on Mondays) with the due cards by deck, the coming exam, a link to /review and a one-click
//! unsubscribe link. News the pages also show (a reply to a report, an exam set for their
//! class, a fit that rescheduled their cards) is folded into the next reminder, never sent on
//! its own, and only once: the reminder's transaction records what it mentioned. The pass reads the students in batches; marking the local date reminded
//! and writing the message are one transaction, and the mark is conditional, so however many
//! servers run the pass, a student gets at most one reminder a day.

use super::StudyError;
use crate::db::{self, Db};
use crate::mail::{Site, compose};
use jiff::Timestamp;

/// Students read at once.
pub const BATCH: i64 = 200;

/// Turns reminders on (at local `hour`, daily or weekly) or off (`hour` None) for `user_id`.
/// Needs a confirmed address: a validation error otherwise.
pub async fn choose(
    db: &Db,
    user_id: i64,
    hour: Option<u8>,
    weekly: bool,
) -> Result<(), StudyError> {
    let token = crate::auth::session::random_token();
    let mut tx = db.begin_write_of(&[db::Rows::of_user(user_id)]).await?;
    let set =
        db::mail::set_reminders(&mut *tx, user_id, hour.map(i64::from), weekly, &token).await?;
    if set && hour.is_none() {
        // Off stops the reminders already written too.
        db::mail::drop_reminders(&mut tx, user_id).await?;
    }
    tx.commit().await?;
    if set {
        Ok(())
    } else {
        Err(StudyError::Validation(
            "Confirm your e-mail address first: reminders go only to a confirmed address."
                .to_owned(),
        ))
    }
}

/// The reminder settings of `user_id`: (hour, weekly), None when off.
pub async fn of(db: &Db, user_id: i64) -> Result<Option<(u8, bool)>, StudyError> {
    Ok(db::mail::reminders_of(db.reader(), user_id)
        .await?
        .and_then(|(hour, weekly)| Some((u8::try_from(hour?).ok()?, weekly == 1))))
}

/// The one-click unsubscribe: false for an unknown token; true, however often, for a known one.
pub async fn unsubscribe(db: &Db, token: &str) -> Result<bool, StudyError> {
    if token.is_empty() || token.len() > 128 {
        return Ok(false);
    }
    // Anyone may post this, without a session: an unknown token is refused by a read, so it
    // takes no write lock.
    if !db::mail::unsubscribe_token_known(db.reader(), token).await? {
        return Ok(false);
    }
    let mut tx = db.begin_write().await?;
    let known = db::mail::unsubscribe(&mut tx, token).await?;
    tx.commit().await?;
    Ok(known)
}

/// Whether a reminder is due now for a student: the local time has reached their hour on a
/// local date not reminded yet (a Monday, for the weekly digest). Returns that date's number.
pub fn due_now(row: &db::mail::ReminderRow, now: Timestamp) -> Option<i64> {
    let zone = jiff::tz::TimeZone::get(&row.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let local = now.to_zoned_datetime(zone);
    if i64::from(local.hour()) < row.remind_hour {
        return None;
    }
    if row.remind_weekly == 1 && local.weekday() != jiff::civil::Weekday::Monday {
        return None;
    }
    let day = i64::from(crate::srs::day::day_number(local.date()));
    // Earlier, not merely other: a student who moves west across the date line may see a
    // local date come round again, and gets no second reminder for it.
    row.reminded_day.is_none_or(|d| d < day).then_some(day)
}

/// One pass over every student with reminders on, in batches: writes the reminders due now
/// into the outbox. Returns how many it wrote. One student's failure is logged and the pass
/// goes on to the next (their reminder is tried again at the next pass); only a failure to
/// read the batch ends it.
pub async fn pass(db: &Db, site: &Site, now: Timestamp) -> Result<usize, StudyError> {
    let mut after = 0;
    let mut written = 0;
    loop {
        let batch = db::mail::reminder_batch(db.reader(), after, BATCH).await?;
        let Some(last) = batch.last() else {
            return Ok(written);
        };
        after = last.user_id;
        for row in &batch {
            match remind(db, site, row, now).await {
                Ok(true) => written += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(
                    user = row.user_id,
                    "writing a student's reminder failed, the pass goes on: {e}"
                ),
            }
        }
        // Let the review page's work go first between batches.
        tokio::task::yield_now().await;
    }
}

/// Writes one student's reminder if it is due now and they have cards due and have not
/// studied today.
async fn remind(
    db: &Db,
    site: &Site,
    row: &db::mail::ReminderRow,
    now: Timestamp,
) -> Result<bool, StudyError> {
    let Some(local_day) = due_now(row, now) else {
        return Ok(false);
    };
    let Some(learner) = super::learner::load(db.reader(), row.user_id, now).await? else {
        return Ok(false);
    };
    // The study day the reminder is about is the one that starts on its local date. With a
    // reminder hour before the hour the student's days start (02:00, days from 04:00) the
    // study day under way is still yesterday's, and checking that one would let last
    // night's session silence today's reminder: "studied already", the cards due, the exam
    // and the once-a-day mark all use this one day.
    let today = i32::try_from(local_day).unwrap_or(i32::MAX);
    if db::mail::studied_on(db.reader(), row.user_id, today).await? {
        // Decided for the day: no reminder, and no more checks until tomorrow.
        skip_day(db, row.user_id, local_day).await?;
        return Ok(false);
    }
    let decks: Vec<(String, i64)> = db::mail::due_by_deck(db.reader(), row.user_id, today)
        .await?
        .into_iter()
        .filter(|(id, ..)| learner.can_see(*id))
        .map(|(_, name, n)| (name, n))
        .collect();
    if decks.is_empty() {
        skip_day(db, row.user_id, local_day).await?;
        return Ok(false);
    }
    // Sent before that study day starts, the reminder says from when /review shows its cards
    // (until then it shows the day before's): the count and the page agree once it does.
    let starts = learner.calendar.start_of(today);
    let from = (now < starts).then(|| {
        starts
            .to_zoned_datetime(learner.calendar.time_zone().clone())
            .strftime("%H:%M")
            .to_string()
    });
    let notices = db::mail::notices(db.reader(), row.user_id, now.as_second(), today).await?;
    let day_text = |day: i64| {
        i32::try_from(day)
            .map(|d| crate::srs::day::date_of_day(d).to_string())
            .unwrap_or_default()
    };
    let exam = notices.next_exam.as_ref().map(|(name, day)| {
        let date = day_text(*day);
        match day - i64::from(today) {
            0 => format!("Your exam \"{name}\" is today ({date})."),
            1 => format!("Your exam \"{name}\" is tomorrow ({date})."),
            n => format!("Your exam \"{name}\" is in {n} days, on {date}."),
        }
    });
    // News also shown on every page, folded in here rather than sent on its own.
    let mut news = Vec::new();
    for (_, name, day) in &notices.new_exams {
        news.push(format!(
            "New: your class set the exam \"{name}\" for {}.",
            day_text(*day)
        ));
    }
    let replies = notices.unread_replies.len();
    if replies > 0 {
        news.push(format!(
            "New: {replies} {} to your reports on cards; open studyhall to read {}.",
            if replies == 1 { "reply" } else { "replies" },
            if replies == 1 { "it" } else { "them" },
        ));
    }
    if let Some((cards, _)) = notices.rescheduled {
        news.push(format!(
            "New: a fit of FSRS to your reviews rescheduled {cards} of your cards this week."
        ));
    }
    let unsubscribe = site.link(&format!(
        "/mail/unsubscribe?token={}",
        row.unsubscribe_token
    ));
    let message = compose::reminder(&compose::Reminder {
        username: &row.username,
        decks: &decks,
        exam,
        notices: &news,
        review_link: &site.link("/review"),
        unsubscribe_link: &unsubscribe,
        weekly: row.remind_weekly == 1,
        from,
    });
    // The student's own rows (and a new outbox row): on PostgreSQL, other students' grades
    // and reminders commit beside it, so a pass of thousands never holds the site's writes.
    let mut tx = db.begin_write_of(&[db::Rows::of_user(row.user_id)]).await?;
    if !db::mail::mark_reminded(&mut *tx, row.user_id, local_day).await? {
        return Ok(false);
    }
    // Told once: the next reminders leave these out.
    db::mail::mark_mailed(&mut tx, row.user_id, &notices, now.as_second()).await?;
    db::outbox::add(
        &mut *tx,
        &db::outbox::NewMessage {
            user_id: Some(row.user_id),
            kind: "reminder",
            to: &row.address,
            subject: &message.subject,
            text: &message.text,
            html: &message.html,
            unsubscribe_url: Some(&unsubscribe),
        },
        &site.message_id(),
        now.as_millisecond(),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Marks local date `day` decided for `user_id` with no reminder (studied already, or nothing
/// due), so that the pass checks them again only tomorrow.
async fn skip_day(db: &Db, user_id: i64, day: i64) -> Result<(), StudyError> {
    let mut tx = db.begin_write_of(&[db::Rows::of_user(user_id)]).await?;
    db::mail::mark_reminded(&mut *tx, user_id, day).await?;
    tx.commit().await?;
    Ok(())
}
