//! Reports on cards: a learner files one on a card they may see; everyone who hears of it
//! (class instructors, the deck's owner, the admins for reports nobody else would see) reads
//! it in their inbox, told who may edit the card (themselves, the deck's owner, or the
//! admins, by name), and replies, which resolves it. A reply is news for its reporter: every
//! page says so (the session carries it) until they open the card or dismiss the notice.

use super::actor::Actor;
use super::decks::visible_card;
use super::{Context, Forget, Learner, Stale, StudyError};
use crate::db;
use crate::db::Pool;
use crate::domain::{ReportMessage, ReportReply};
use jiff::Timestamp;

pub use crate::db::reports::{InboxCursor, ReportRow, Shown};

/// Admins named when only the admins may edit a card: enough to find one.
const ADMINS_NAMED: i64 = 3;

/// Who may edit a reported card, as its reader is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Editors {
    /// The reader (they own the deck, or run the site).
    You,
    /// The deck's owner, who teaches (and hears of the report in their own inbox), or an admin.
    Owner(String),
    /// Only the site's admins (the deck has no owner who teaches): some of them by name.
    Admins(Vec<String>),
}

/// A report as a triage list shows it, with who may fix its card.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The report.
    pub report: ReportRow,
    /// Who may edit its card.
    pub editors: Editors,
}

/// A page of an inbox, oldest first, and what lies around it.
#[derive(Debug, Clone)]
pub struct InboxPage {
    /// The reports on this page.
    pub rows: Vec<Listed>,
    /// Whether older reports of the filter exist (a previous page).
    pub older: bool,
    /// Whether newer ones exist (a next page).
    pub newer: bool,
    /// Every report of the filter this user hears of.
    pub total: i64,
}

/// `rows` with who may edit each card, for `actor`.
pub(super) async fn with_editors(
    pool: &Pool,
    actor: Actor<'_>,
    rows: Vec<ReportRow>,
) -> Result<Vec<Listed>, StudyError> {
    let admins_only = |r: &ReportRow| !actor.may_edit_deck(r.owner_id) && r.owner_name.is_none();
    let admins = if rows.iter().any(admins_only) {
        db::users::admin_names(pool, ADMINS_NAMED)
            .await
            .context("naming the admins")?
    } else {
        Vec::new()
    };
    Ok(rows
        .into_iter()
        .map(|report| {
            let editors = if actor.may_edit_deck(report.owner_id) {
                Editors::You
            } else if let Some(owner) = &report.owner_name {
                Editors::Owner(owner.clone())
            } else {
                Editors::Admins(admins.clone())
            };
            Listed { report, editors }
        })
        .collect())
}

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

/// A page of at most `limit` reports `actor` hears of, those `shown`, from `cursor`.
pub async fn inbox(
    pool: &Pool,
    actor: Actor<'_>,
    shown: Shown,
    cursor: InboxCursor,
    limit: i64,
) -> Result<InboxPage, StudyError> {
    let page = db::reports::inbox(pool, actor.id(), actor.is_admin(), shown, cursor, limit)
        .await
        .context("reading the report inbox")?;
    Ok(InboxPage {
        rows: with_editors(pool, actor, page.rows).await?,
        older: page.older,
        newer: page.newer,
        total: page.total,
    })
}

/// Resolves report `report_id`, with `text` as a reply for the student if one was written.
/// Not found unless `actor` hears of the report. A reply is news for the reporter, whose
/// sessions carry what every page tells them: those go stale.
pub async fn reply(
    pool: &Pool,
    sessions: &dyn Forget,
    actor: Actor<'_>,
    report_id: i64,
    text: Option<&ReportReply>,
    now: Timestamp,
) -> Result<(), StudyError> {
    let reporter = db::reports::reply(
        pool,
        report_id,
        actor.id(),
        actor.is_admin(),
        text,
        now.as_second(),
    )
    .await
    .context("replying to a report")?
    .ok_or(StudyError::NotFound)?;
    if text.is_some() {
        sessions.forget(Stale::User(reporter));
    }
    Ok(())
}

/// The learner has read the replies to their reports on card `card_id` (they opened its
/// page), or dismissed the notice of all of them (`None`): the notice goes, from their
/// sessions too.
pub async fn replies_read(
    pool: &Pool,
    sessions: &dyn Forget,
    learner_id: i64,
    card_id: Option<i64>,
    now: Timestamp,
) -> Result<(), StudyError> {
    let read = db::reports::mark_replies_read(pool, learner_id, card_id, now.as_second())
        .await
        .context("marking replies read")?;
    if read > 0 {
        sessions.forget(Stale::User(learner_id));
    }
    Ok(())
}
