//! A user's own progress.

use super::{Nav, page};
use crate::auth::{CurrentUser, user::app_state};
use crate::error::AppError;
use crate::study::progress::{self, Progress};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/stats").route(web::get().to(show_stats)))
        .service(web::resource("/stats/history.csv").route(web::get().to(download_history)));
}

#[derive(Template)]
#[template(path = "stats/show.html")]
struct StatsPage {
    nav: Nav,
    p: Progress,
}

async fn show_stats(req: HttpRequest, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let state = app_state(&req)?;
    let p = progress::progress(state.db.reader(), &user.learner, state.clock.now()).await?;
    page(&StatsPage {
        nav: Nav::for_user(&user),
        p,
    })
}

/// The user's own review history as CSV: card, time, event, grade, interval, EF, due date.
async fn download_history(req: HttpRequest, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let state = app_state(&req)?;
    let rows = crate::db::reviews::history(state.db.reader(), user.id, None).await?;
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
