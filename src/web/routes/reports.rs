//! Reports reach someone: the inbox of everyone who hears of a report (class instructors, the
//! deck's owner, the admins for reports nobody else would see), open, resolved or all of them,
//! each saying who may edit its card; and their replies, which every page of the student's
//! announces until they read it on the card's page or dismiss the notice.

use super::{Nav, actor, page, see_other};
use crate::study::reports::{self, Editors, InboxCursor, Listed, Shown};
use crate::web::error::AppError;
use crate::web::{AppState, CsrfForm, CurrentUser, Instructor};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/reports").route(web::get().to(inbox)))
        .service(web::resource("/reports/replies/dismiss").route(web::post().to(dismiss_replies)))
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
    pub(super) deck_id: i64,
    /// Who may edit the card.
    pub(super) editors: Editors,
    /// When it was resolved and by whom, if it was.
    pub(super) resolved: Option<(String, String)>,
    /// The reply the student was sent.
    pub(super) reply: Option<String>,
}

impl ReportLine {
    /// The admins named as those who may edit the card, as a sentence lists them.
    pub(super) fn admins(&self) -> String {
        match &self.editors {
            Editors::Admins(names) => match names.as_slice() {
                [] => String::new(),
                [one] => one.clone(),
                [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
            },
            _ => String::new(),
        }
    }
}

/// Reports as lines for `reader`.
pub(super) fn lines(rows: Vec<Listed>, reader: &CurrentUser) -> Vec<ReportLine> {
    rows.into_iter()
        .map(|Listed { report: r, editors }| ReportLine {
            at: super::decks::local_time(r.created_at, &reader.time_zone),
            resolved: r.resolved_at.map(|at| {
                (
                    super::decks::local_time(at, &reader.time_zone),
                    r.resolver.unwrap_or_default(),
                )
            }),
            reply: r.reply,
            id: r.id,
            card_id: r.card_id,
            front: crate::markup::summary(&r.front, &r.format),
            deck_id: r.deck_id,
            deck_name: r.deck_name,
            username: r.username,
            message: r.message,
            editors,
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
    /// Which reports the page shows.
    shown: Shown,
    /// This page's address, where a reply comes back to.
    back: String,
    total: i64,
    /// The link to the older reports, if any.
    previous: Option<String>,
    /// The link to the newer reports, if any.
    next: Option<String>,
}

/// Which reports the inbox shows, `?show=open|resolved|all`, and where its page starts:
/// `&after=<id>` or `&before=<id>`; anything else is the open reports' first page (a mangled
/// link shows the oldest reports rather than an error).
#[derive(Deserialize)]
struct InboxQuery {
    after: Option<String>,
    before: Option<String>,
    show: Option<String>,
}

impl InboxQuery {
    fn shown(&self) -> Shown {
        match self.show.as_deref() {
            Some("resolved") => Shown::Resolved,
            Some("all") => Shown::All,
            _ => Shown::Open,
        }
    }

    fn cursor(&self) -> InboxCursor {
        let id = |v: &Option<String>| v.as_deref().and_then(|v| v.trim().parse::<i64>().ok());
        match (id(&self.after), id(&self.before)) {
            (Some(after), None) => InboxCursor::After(after),
            (None, Some(before)) => InboxCursor::Before(before),
            _ => InboxCursor::First,
        }
    }
}

/// The filter's name in the inbox's address.
fn show_name(shown: Shown) -> &'static str {
    match shown {
        Shown::Open => "open",
        Shown::Resolved => "resolved",
        Shown::All => "all",
    }
}

/// The inbox's address showing `shown` at `cursor`.
fn inbox_url(shown: Shown, cursor: InboxCursor) -> String {
    let show = match shown {
        Shown::Open => String::new(),
        other => format!("show={}", show_name(other)),
    };
    let at = match cursor {
        InboxCursor::First => String::new(),
        InboxCursor::After(id) => format!("after={id}"),
        InboxCursor::Before(id) => format!("before={id}"),
    };
    match (show.is_empty(), at.is_empty()) {
        (true, true) => "/reports".to_owned(),
        (false, true) => format!("/reports?{show}"),
        (true, false) => format!("/reports?{at}"),
        (false, false) => format!("/reports?{show}&{at}"),
    }
}

async fn inbox(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    query: web::Query<InboxQuery>,
) -> Result<HttpResponse, AppError> {
    let cursor = query.cursor();
    let shown = query.shown();
    let found = reports::inbox(state.db.reader(), actor(&user), shown, cursor, INBOX_PAGE).await?;
    let previous = found
        .rows
        .first()
        .filter(|_| found.older)
        .map(|r| inbox_url(shown, InboxCursor::Before(r.report.id)));
    let next = found
        .rows
        .last()
        .filter(|_| found.newer)
        .map(|r| inbox_url(shown, InboxCursor::After(r.report.id)));
    // Past either end (the last reports were resolved meanwhile): the way back.
    let first = || inbox_url(shown, InboxCursor::First);
    let previous = previous.or_else(|| (found.rows.is_empty() && found.older).then(first));
    let next = next.or_else(|| (found.rows.is_empty() && found.newer).then(first));
    page(&InboxPage {
        nav: Nav::for_user(&user),
        reports: lines(found.rows, &user),
        shown,
        back: inbox_url(shown, cursor),
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
    back.strip_prefix("/reports?")
        .and_then(|q| serde_urlencoded::from_str::<InboxQuery>(q).ok())
        .map_or_else(
            || inbox_url(Shown::Open, InboxCursor::First),
            |q| inbox_url(q.shown(), q.cursor()),
        )
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
        &*state.sessions,
        actor(&user),
        *id,
        text.as_ref(),
        state.clock.now(),
    )
    .await?;
    Ok(see_other(&back_to(&form.0.back)))
}

#[derive(Deserialize)]
struct Nothing {}

/// The student has seen that their reports got replies and does not want to read them now:
/// the notice on every page goes (the replies stay on the cards' pages).
async fn dismiss_replies(
    state: web::Data<AppState>,
    user: CurrentUser,
    _form: CsrfForm<Nothing>,
) -> Result<HttpResponse, AppError> {
    reports::replies_read(
        state.db.writer(),
        &*state.sessions,
        user.id,
        None,
        state.clock.now(),
    )
    .await?;
    Ok(see_other("/review"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_goes_back_only_to_a_triage_page_or_an_inbox_page() {
        assert_eq!(back_to("/classes/7/reports"), "/classes/7/reports");
        assert_eq!(back_to("/reports?after=120"), "/reports?after=120");
        assert_eq!(back_to("/reports?before=9"), "/reports?before=9");
        assert_eq!(
            back_to("/reports?show=resolved&after=4"),
            "/reports?show=resolved&after=4"
        );
        assert_eq!(back_to("/reports?show=all"), "/reports?show=all");
        assert_eq!(back_to("/reports?show=nonsense"), "/reports");
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
