//! Custom sessions: a deck's cards ("the cards I failed this week", "all cards") reviewed
//! without touching the schedule. The session lives in its address (which set, which card,
//! the tally so far); a grade is a form post that only moves on, and writes nothing.

use super::{Nav, page, see_other};
use crate::study::controls::{self, CustomSet};
use crate::study::decks::{CardRow, DeckRow};
use crate::web::error::AppError;
use crate::web::{AppState, CsrfForm, CurrentUser};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/decks/{id}/custom")
            .route(web::get().to(show_custom))
            .route(web::post().to(grade_custom)),
    );
}

#[derive(Template)]
#[template(path = "review/custom.html")]
struct CustomPage {
    nav: Nav,
    deck: DeckRow,
    /// The set's name in the address ("failed", "all").
    set: &'static str,
    /// The set as the page names it.
    set_label: &'static str,
    total: usize,
    /// The card's position, from 0.
    index: usize,
    card: Option<CardRow>,
    revealed: bool,
    right: usize,
    wrong: usize,
}

#[derive(Deserialize)]
struct CustomQuery {
    #[serde(default)]
    set: String,
    #[serde(default)]
    i: usize,
    #[serde(default)]
    right: usize,
    #[serde(default)]
    wrong: usize,
    show: Option<u8>,
}

#[derive(Deserialize)]
struct CustomForm {
    #[serde(default)]
    set: String,
    #[serde(default)]
    i: String,
    #[serde(default)]
    right: String,
    #[serde(default)]
    wrong: String,
    /// "again" or "good".
    #[serde(default)]
    result: String,
}

fn set_of(name: &str) -> Result<CustomSet, AppError> {
    match name {
        "failed" => Ok(CustomSet::FailedThisWeek),
        "all" => Ok(CustomSet::All),
        _ => Err(AppError::BadRequest(
            "Choose the session's cards: set=failed (the cards you failed this week) or set=all."
                .to_owned(),
        )),
    }
}

async fn show_custom(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    query: web::Query<CustomQuery>,
) -> Result<HttpResponse, AppError> {
    let set = set_of(&query.set)?;
    let step = controls::custom_step(
        state.db.reader(),
        &user.learner,
        *id,
        set,
        query.i,
        state.clock.now(),
    )
    .await?;
    page(&CustomPage {
        nav: Nav::for_user(&user),
        deck: step.deck,
        set: set.name(),
        set_label: match set {
            CustomSet::FailedThisWeek => "the cards you failed this week",
            CustomSet::All => "all cards",
        },
        total: step.total,
        index: query.i,
        revealed: query.show.is_some(),
        card: step.card,
        right: query.right,
        wrong: query.wrong,
    })
}

/// A grade in a custom session: counted in the address, never written. A deck the user may
/// not see answers as for no such deck, as its page does.
async fn grade_custom(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    form: CsrfForm<CustomForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.0;
    let set = set_of(&form.set)?;
    let number = |field: &str| field.trim().parse::<usize>().unwrap_or(0);
    controls::custom_step(
        state.db.reader(),
        &user.learner,
        *id,
        set,
        number(&form.i),
        state.clock.now(),
    )
    .await?;
    let (mut right, mut wrong) = (number(&form.right), number(&form.wrong));
    match form.result.as_str() {
        "good" => right = right.saturating_add(1),
        "again" => wrong = wrong.saturating_add(1),
        _ => {
            return Err(AppError::BadRequest(
                "Answer with Again or Good.".to_owned(),
            ));
        }
    }
    Ok(see_other(&format!(
        "/decks/{}/custom?set={}&i={}&right={right}&wrong={wrong}",
        *id,
        set.name(),
        number(&form.i).saturating_add(1)
    )))
}
