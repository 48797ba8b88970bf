//! A user's own progress.

use super::{Nav, page};
use crate::study::progress::{self, Progress};
use crate::web::error::AppError;
use crate::web::{AppState, CsrfForm, CurrentUser};
use actix_web::{HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/stats").route(web::get().to(show_stats)))
        .service(web::resource("/stats/history.csv").route(web::get().to(download_history)))
        .service(
            web::resource("/stats/exam-notices/dismiss")
                .route(web::post().to(dismiss_exam_notices)),
        );
}

#[derive(Template)]
#[template(path = "stats/show.html")]
struct StatsPage {
    nav: Nav,
    p: Progress,
    exams: Vec<ExamLine>,
}

/// A coming exam, formatted.
struct ExamLine {
    name: String,
    class_name: String,
    date: String,
    window_from: String,
    window_days: i64,
    deck_names: String,
    cards: i64,
    studied: usize,
    due_in_window: i64,
    recall: String,
}

async fn show_stats(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let p = progress::progress(state.db.reader(), &user.learner, state.clock.now()).await?;
    let date = |d: i64| {
        i32::try_from(d)
            .map(|d| crate::srs::day::date_of_day(d).to_string())
            .unwrap_or_default()
    };
    let exams = crate::study::exams::mine(&state.db, &user.learner, state.clock.now())
        .await?
        .into_iter()
        .map(|m| ExamLine {
            date: date(m.exam.exam_day),
            window_from: date(m.exam.exam_day - m.exam.window_days),
            name: m.exam.name,
            class_name: m.exam.class_name,
            window_days: m.exam.window_days,
            deck_names: m.exam.deck_names,
            cards: m.exam.cards,
            studied: m.studied,
            due_in_window: m.exam.due_in_window,
            recall: format!("{:.0}%", m.recall * 100.0),
        })
        .collect();
    // This page lists the exams the notice points to: they are seen, and the banner is not
    // shown on it (the user was loaded before).
    let mut nav = Nav::for_user(&user);
    if nav.exam_notice.take().is_some() {
        crate::study::exams::notices_seen(state.db.writer(), &*state.sessions, user.id, None)
            .await?;
    }
    page(&StatsPage { nav, p, exams })
}

#[derive(serde::Deserialize)]
struct Seen {
    seen_at: i64,
    seen_exam: i64,
}

/// The banner of new exams, dismissed without opening /stats: the notices it showed (the
/// newest and those before it), not one written since.
async fn dismiss_exam_notices(
    state: web::Data<AppState>,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<Seen>,
) -> Result<HttpResponse, AppError> {
    let upto = Some((form.seen_at, form.seen_exam));
    crate::study::exams::notices_seen(state.db.writer(), &*state.sessions, user.id, upto).await?;
    Ok(super::see_other("/review"))
}

/// The user's own review history as CSV: card, time, event, grade, interval, EF, due date.
async fn download_history(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let rows = crate::study::progress::history(state.db.reader(), &user.learner).await?;
    let lines = rows.into_iter().map(|r| {
        vec![
            r.card_id.to_string(),
            r.front,
            jiff::Timestamp::from_second(r.reviewed_at)
                .map(|t| t.to_string())
                .unwrap_or_default(),
            r.kind,
            r.quality.map(|q| q.to_string()).unwrap_or_default(),
            r.interval_after.map(|i| i.to_string()).unwrap_or_default(),
            r.easiness_after
                .map(|e| format!("{:.2}", e as f64 / 100.0))
                .unwrap_or_default(),
            r.due_day_after
                .and_then(|d| i32::try_from(d).ok())
                .map(|d| crate::srs::day::date_of_day(d).to_string())
                .unwrap_or_default(),
        ]
    });
    super::csv_download(
        "studyhall-history.csv",
        &[
            "card_id",
            "card",
            "time_utc",
            "event",
            "grade",
            "interval_days",
            "easiness",
            "due",
        ],
        lines,
    )
}
