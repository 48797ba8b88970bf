//! Reports on cards: a learner files one on a card they may see; everyone who hears of it
//! (class instructors, the deck's owner, the admins for reports nobody else would see) reads
//! it in their inbox and replies, which resolves it.

use super::actor::Actor;
use super::decks::visible_card;
use super::{Context, Learner, StudyError};
use crate::db;
use crate::db::Pool;
use crate::domain::{ReportMessage, ReportReply};
use jiff::Timestamp;

pub use crate::db::reports::{InboxCursor, InboxPage, ReportRow};

/// Files `learner`'s report `message` (checked once the card is known to be theirs to see) on
/// card `card_id`; returns its id. Not found when they may not see the card.
pub async fn file(
    pool: &Pool,
    learner: &Learner,
    card_id: i64,
    message: &str,
    now: Timestamp,
) -> Result<i64, StudyError> {
    let card = visible_card(pool, learner, card_id)
        .await?
        .ok_or(StudyError::NotFound)?;
    let message = ReportMessage::parse(message)?;
    db::reports::create(pool, card.id, learner.id, &message, now.as_second())
        .await
        .context("filing a report")
}

/// Who hears of report `report_id`, by name (an empty list: the admins), if `learner` filed
/// it; `None` for anyone else's report.
pub async fn audience(
    pool: &Pool,
    learner: &Learner,
    report_id: i64,
) -> Result<Option<Vec<String>>, StudyError> {
    db::reports::audience(pool, report_id, learner.id)
        .await
        .context("reading who hears of a report")
}

/// A page of at most `limit` open reports `actor` hears of, from `cursor`.
pub async fn inbox(
    pool: &Pool,
    actor: Actor<'_>,
    cursor: InboxCursor,
    limit: i64,
) -> Result<InboxPage, StudyError> {
    db::reports::inbox(pool, actor.id(), actor.is_admin(), cursor, limit)
        .await
        .context("reading the report inbox")
}

/// Resolves report `report_id`, with `text` as a reply for the student if one was written.
/// Not found unless `actor` hears of the report.
pub async fn reply(
    pool: &Pool,
    actor: Actor<'_>,
    report_id: i64,
    text: Option<&ReportReply>,
    now: Timestamp,
) -> Result<(), StudyError> {
    let done = db::reports::reply(
        pool,
        report_id,
        actor.id(),
        actor.is_admin(),
        text,
        now.as_second(),
    )
    .await
    .context("replying to a report")?;
    if done {
        Ok(())
    } else {
        Err(StudyError::NotFound)
    }
}
