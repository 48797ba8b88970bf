//! The review loop: show the next card, reveal its answer, grade it, undo.

use super::{Nav, page, see_other};
use crate::auth::{CsrfForm, CurrentUser, user::app_state};
use crate::db::decks::{CardRow, DeckRow};
use crate::domain::Grade;
use crate::error::AppError;
use crate::srs::day::date_of_day;
use crate::srs::schedule::{Preview, Standing, interval_label};
use crate::study::review::{self, GradeExtras};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(show_review)
        .service(undo_grade)
        .service(grade_card);
}

struct GradeButton {
    quality: u8,
    meaning: &'static str,
    outcome: String,
}

#[derive(Template)]
#[template(path = "review/card.html")]
struct CardPage {
    nav: Nav,
    deck_name: String,
    /// `?deck=N` or empty: keeps the session in one deck.
    deck_query: String,
    deck_id: String,
    card: CardRow,
    revealed: bool,
    standing: &'static str,
    grades: Vec<GradeButton>,
    due: i64,
    new_available: i64,
    repeats: usize,
    can_undo: bool,
}

#[derive(Template)]
#[template(path = "review/done.html")]
struct DonePage {
    nav: Nav,
    deck: Option<DeckRow>,
    deck_id: String,
    next_due: Option<String>,
    can_undo: bool,
}

#[derive(Deserialize)]
struct ReviewQuery {
    deck: Option<i64>,
    show: Option<i64>,
}

#[derive(Deserialize)]
struct GradeForm {
    #[serde(default)]
    quality: String,
    #[serde(default)]
    deck: String,
    #[serde(default)]
    response_ms: String,
}

#[derive(Deserialize)]
struct UndoForm {
    #[serde(default)]
    deck: String,
}

fn outcome_of(p: &Preview, standing: Standing) -> String {
    match (standing, p.again_today) {
        (Standing::RepeatToday(_), true) => "again today".to_owned(),
        (Standing::RepeatToday(_), false) => "done for today".to_owned(),
        (_, true) => format!("{}, and again today", interval_label(p.interval_days)),
        (_, false) => interval_label(p.interval_days),
    }
}

fn review_url(deck: Option<i64>) -> String {
    deck.map_or_else(|| "/review".to_owned(), |d| format!("/review?deck={d}"))
}

/// A deck id from a form field; blank or malformed means "all decks".
fn deck_of(field: &str) -> Option<i64> {
    field.trim().parse().ok()
}

#[get("/review")]
async fn show_review(
    req: HttpRequest,
    user: CurrentUser,
    query: web::Query<ReviewQuery>,
) -> Result<HttpResponse, AppError> {
    let state = app_state(&req)?;
    let deck = match query.deck {
        Some(id) => Some(
            crate::db::decks::find(&state.pool, id)
                .await?
                .ok_or(AppError::NotFound)?,
        ),
        None => None,
    };
    let now = state.clock.now();
    let queue = review::next(&state.pool, &user, query.deck, now, state.max_interval_days).await?;
    let deck_id = query.deck.map(|d| d.to_string()).unwrap_or_default();
    let Some(shown) = queue.next else {
        return page(&DonePage {
            nav: Nav::for_user(&user),
            deck,
            deck_id,
            next_due: queue.next_due_day.map(|d| date_of_day(d).to_string()),
            can_undo: queue.can_undo,
        });
    };
    let deck_name = match &deck {
        Some(d) => d.name.clone(),
        None => crate::db::decks::find(&state.pool, shown.card.deck_id)
            .await?
            .map(|d| d.name)
            .unwrap_or_default(),
    };
    let grades = shown
        .previews
        .iter()
        .map(|p| GradeButton {
            quality: p.quality,
            meaning: Grade::MEANINGS[usize::from(p.quality)],
            outcome: outcome_of(p, shown.standing),
        })
        .collect();
    page(&CardPage {
        nav: Nav::for_user(&user),
        deck_name,
        deck_query: query.deck.map(|d| format!("deck={d}&")).unwrap_or_default(),
        deck_id,
        revealed: query.show == Some(shown.card.id),
        standing: match shown.standing {
            Standing::New => "New card",
            Standing::Scheduled(_) => "Review",
            Standing::RepeatToday(_) => "Again today",
        },
        card: shown.card,
        grades,
        due: queue.due,
        new_available: queue.new_available,
        repeats: queue.repeats,
        can_undo: queue.can_undo,
    })
}

#[post("/review/undo")]
async fn undo_grade(
    req: HttpRequest,
    user: CurrentUser,
    form: CsrfForm<UndoForm>,
) -> Result<HttpResponse, AppError> {
    let state = app_state(&req)?;
    review::undo(&state.pool, &user, state.clock.now()).await?;
    Ok(see_other(&review_url(deck_of(&form.0.deck))))
}

#[post("/review/{card_id}")]
async fn grade_card(
    req: HttpRequest,
    user: CurrentUser,
    card_id: web::Path<i64>,
    form: CsrfForm<GradeForm>,
) -> Result<HttpResponse, AppError> {
    let state = app_state(&req)?;
    let form = form.0;
    let grade = Grade::parse(&form.quality)?;
    let extras = GradeExtras {
        response_ms: form
            .response_ms
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|ms| (0..86_400_000).contains(ms)),
        ..GradeExtras::default()
    };
    review::grade(
        &state.pool,
        &user,
        *card_id,
        grade,
        &extras,
        state.clock.now(),
        state.max_interval_days,
    )
    .await?;
    Ok(see_other(&review_url(deck_of(&form.deck))))
}
