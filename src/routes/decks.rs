//! Deck lists and a deck's cards.

use super::{Nav, page};
use crate::auth::{CurrentUser, user::app_state};
use crate::db::decks::{CardRow, DeckRow, DeckSummary};
use crate::error::AppError;
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_decks).service(show_deck);
}

#[derive(Template)]
#[template(path = "decks/index.html")]
struct DecksPage {
    nav: Nav,
    decks: Vec<DeckSummary>,
}

#[derive(Template)]
#[template(path = "decks/show.html")]
struct DeckPage {
    nav: Nav,
    deck: DeckRow,
    cards: Vec<CardRow>,
}

#[get("/decks")]
async fn list_decks(req: HttpRequest, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let state = app_state(&req)?;
    let today = user.today(state.clock.now());
    let decks = crate::db::decks::list_with_counts(state.db.reader(), user.id, today).await?;
    page(&DecksPage {
        nav: Nav::for_user(&user),
        decks,
    })
}

#[get("/decks/{id}")]
async fn show_deck(
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let state = app_state(&req)?;
    let deck = crate::db::decks::find(state.db.reader(), *id)
        .await?
        .ok_or(AppError::NotFound)?;
    let cards = crate::db::decks::cards(state.db.reader(), deck.id).await?;
    page(&DeckPage {
        nav: Nav::for_user(&user),
        deck,
        cards,
    })
}
