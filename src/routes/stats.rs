//! A user's own progress.

use super::{Nav, page};
use crate::auth::{CurrentUser, user::app_state};
use crate::error::AppError;
use crate::study::progress::{self, Progress};
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(show_stats);
}

#[derive(Template)]
#[template(path = "stats/show.html")]
struct StatsPage {
    nav: Nav,
    p: Progress,
}

#[get("/stats")]
async fn show_stats(req: HttpRequest, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let state = app_state(&req)?;
    let p = progress::progress(state.db.reader(), &user, state.clock.now()).await?;
    page(&StatsPage {
        nav: Nav::for_user(&user),
        p,
    })
}
