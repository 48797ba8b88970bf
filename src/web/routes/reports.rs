//! Reports reach someone: the inbox of everyone who hears of a report (class instructors, the
//! deck's owner, the admins for reports nobody else would see), and their replies, which the
//! student reads on the card's page.

use super::{Nav, actor, page, see_other};
use crate::study::reports::{self, InboxCursor, ReportRow};
use crate::web::error::AppError;
use crate::web::{AppState, CsrfForm, Instructor};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/reports").route(web::get().to(inbox)))
        .service(web::resource("/reports/{id}/reply").route(web::post().to(reply)));
}

/// A report as the triage pages show it.
pub(super) struct ReportLine {
    pub(super) id: i64,
    pub(super) card_id: i64,
    pub(super) front: String,
    pub(super) deck_name: String,
    pub(super) username: String,
    pub(super) message: String,
    /// When, in the reader's time zone.
    pub(super) at: String,
}

/// Reports as lines for `reader`.
pub(super) fn lines(rows: Vec<ReportRow>, reader: &crate::web::CurrentUser) -> Vec<ReportLine> {
    rows.into_iter()
        .map(|r| ReportLine {
            at: super::decks::local_time(r.created_at, &reader.time_zone),
            id: r.id,
            card_id: r.card_id,
            front: r.front,
            deck_name: r.deck_name,
            username: r.username,
            message: r.message,
        })
        .collect()
}

/// Reports on one page of the inbox: a page of full-length reports is tens of kilobytes,
/// where the whole backlog of a large site was megabytes.
const INBOX_PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "reports/inbox.html")]
struct InboxPage {
    nav: Nav,
    reports: Vec<ReportLine>,
    /// This page's address, where a reply comes back to.
    back: String,
    total: i64,
    /// The link to the older reports, if any.
    previous: Option<String>,
    /// The link to the newer reports, if any.
    next: Option<String>,
}

/// Where the inbox page starts: `?after=<id>` or `?before=<id>`; anything else is the first
/// page (a mangled link shows the oldest reports rather than an error).
#[derive(Deserialize)]
struct InboxQuery {
    after: Option<String>,
    before: Option<String>,
}

impl InboxQuery {
    fn cursor(&self) -> InboxCursor {
        let id = |v: &Option<String>| v.as_deref().and_then(|v| v.trim().parse::<i64>().ok());
        match (id(&self.after), id(&self.before)) {
            (Some(after), None) => InboxCursor::After(after),
            (None, Some(before)) => InboxCursor::Before(before),
            _ => InboxCursor::First,
        }
    }
}

/// The inbox's address at `cursor`.
fn inbox_url(cursor: InboxCursor) -> String {
    match cursor {
        InboxCursor::First => "/reports".to_owned(),
        InboxCursor::After(id) => format!("/reports?after={id}"),
        InboxCursor::Before(id) => format!("/reports?before={id}"),
    }
}

async fn inbox(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    query: web::Query<InboxQuery>,
) -> Result<HttpResponse, AppError> {
    let cursor = query.cursor();
    let found = reports::inbox(state.db.reader(), actor(&user), cursor, INBOX_PAGE).await?;
    let previous = found
        .rows
        .first()
        .filter(|_| found.older)
        .map(|r| inbox_url(InboxCursor::Before(r.id)));
    let next = found
        .rows
        .last()
        .filter(|_| found.newer)
        .map(|r| inbox_url(InboxCursor::After(r.id)));
    // Past either end (the last reports were resolved meanwhile): the way back.
    let previous = previous
        .or_else(|| (found.rows.is_empty() && found.older).then(|| inbox_url(InboxCursor::First)));
    let next = next
        .or_else(|| (found.rows.is_empty() && found.newer).then(|| inbox_url(InboxCursor::First)));
    page(&InboxPage {
        nav: Nav::for_user(&user),
        reports: lines(found.rows, &user),
        back: inbox_url(cursor),
        total: found.total,
        previous,
        next,
    })
}

/// Where a reply goes back to: a class's triage page or a page of this inbox, as the reply
/// form said; anything else (another site, a made-up path) is the inbox's first page.
fn back_to(back: &str) -> String {
    let class_page = back
        .strip_prefix("/classes/")
        .and_then(|rest| rest.strip_suffix("/reports"))
        .is_some_and(|id| id.parse::<i64>().is_ok());
    if class_page {
        return back.to_owned();
    }
    let cursor = back
        .strip_prefix("/reports?")
        .and_then(|q| serde_urlencoded::from_str::<InboxQuery>(q).ok())
        .map_or(InboxCursor::First, |q| q.cursor());
    inbox_url(cursor)
}

#[derive(Deserialize)]
struct ReplyForm {
    #[serde(default)]
    reply: String,
    /// Where to go back to: this inbox or a class's triage page.
    #[serde(default)]
    back: String,
}

/// Resolves a report, with a reply for the student if one was written.
async fn reply(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    id: web::Path<i64>,
    form: CsrfForm<ReplyForm>,
) -> Result<HttpResponse, AppError> {
    let text = crate::domain::ReportReply::parse(&form.0.reply)?;
    reports::reply(
        state.db.writer(),
        actor(&user),
        *id,
        text.as_ref(),
        state.clock.now(),
    )
    .await?;
    Ok(see_other(&back_to(&form.0.back)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_goes_back_only_to_a_triage_page_or_an_inbox_page() {
        assert_eq!(back_to("/classes/7/reports"), "/classes/7/reports");
        assert_eq!(back_to("/reports?after=120"), "/reports?after=120");
        assert_eq!(back_to("/reports?before=9"), "/reports?before=9");
        for elsewhere in [
            "",
            "https://evil.example/reports",
            "//evil.example/classes/1/reports",
            "/classes/../admin/reports",
            "/reports?after=1%0d%0aSet-Cookie:x",
            "/reports?after=1&before=2",
        ] {
            assert_eq!(back_to(elsewhere), "/reports", "{elsewhere:?}");
        }
    }
}
