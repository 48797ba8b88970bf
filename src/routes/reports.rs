//! Reports reach someone: the inbox of everyone who hears of a report (class instructors, the
//! deck's owner, the admins for reports nobody else would see), and their replies, which the
//! student reads on the card's page.

use super::{Nav, page, see_other};
use crate::auth::{CsrfForm, Instructor, user::app_state};
use crate::error::AppError;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/reports").route(web::get().to(inbox)))
        .service(web::resource("/reports/{id}/reply").route(web::post().to(reply)));
}

/// Longest reply, in characters.
const MAX_REPLY_CHARS: usize = 1_000;

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
pub(super) fn lines(
    rows: Vec<crate::db::reports::ReportRow>,
    reader: &crate::auth::CurrentUser,
) -> Vec<ReportLine> {
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

#[derive(Template)]
#[template(path = "reports/inbox.html")]
struct InboxPage {
    nav: Nav,
    reports: Vec<ReportLine>,
    back: &'static str,
}

async fn inbox(req: HttpRequest, Instructor(user): Instructor) -> Result<HttpResponse, AppError> {
    let state = app_state(&req)?;
    let reports = lines(
        crate::db::reports::inbox(state.db.reader(), user.id, user.is_admin()).await?,
        &user,
    );
    page(&InboxPage {
        nav: Nav::for_user(&user),
        reports,
        back: "/reports",
    })
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
    req: HttpRequest,
    Instructor(user): Instructor,
    id: web::Path<i64>,
    form: CsrfForm<ReplyForm>,
) -> Result<HttpResponse, AppError> {
    let state = app_state(&req)?;
    let text = form.0.reply.trim();
    if text.chars().count() > MAX_REPLY_CHARS {
        return Err(AppError::Validation(format!(
            "A reply is at most {MAX_REPLY_CHARS} characters."
        )));
    }
    let text = (!text.is_empty()).then_some(text);
    let done = crate::db::reports::reply(
        state.db.writer(),
        *id,
        user.id,
        user.is_admin(),
        text,
        state.clock.now().as_second(),
    )
    .await?;
    if !done {
        return Err(AppError::NotFound);
    }
    // Only this site's own pages are places to go back to.
    let back = form.0.back;
    let back = if back.starts_with("/classes/") && back.ends_with("/reports") {
        back.as_str()
    } else {
        "/reports"
    };
    Ok(see_other(back))
}
