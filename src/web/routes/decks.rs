//! Deck lists and a deck's cards.

use super::{Nav, page};
use crate::db::decks::{CardRow, DeckRow, DeckSummary};
use crate::import::{apkg, export};
use crate::web::error::AppError;
use crate::web::{AppState, CurrentUser};
use actix_web::{HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/decks")
            .route(web::get().to(list_decks))
            .route(web::post().to(super::edit::create_deck)),
    )
    .service(web::resource("/decks/{id}").route(web::get().to(show_deck)))
    .service(web::resource("/decks/{id}/export.{format}").route(web::get().to(export_deck)))
    .service(web::resource("/cards/{id}").route(web::get().to(show_card)));
}

#[derive(Template)]
#[template(path = "decks/index.html")]
struct DecksPage {
    nav: Nav,
    decks: Vec<DeckSummary>,
    is_instructor: bool,
    /// Just registered: a first word (the first account learns it runs the site).
    welcome: bool,
    /// The class just joined, by name.
    joined: Option<String>,
}

#[derive(serde::Deserialize)]
struct DecksQuery {
    welcome: Option<u8>,
    joined: Option<i64>,
}

/// The name of class `id` if `user` belongs to it (for "You joined ...").
pub(super) async fn joined_name(
    db: &crate::db::Pool,
    user: &CurrentUser,
    id: Option<i64>,
) -> Result<Option<String>, AppError> {
    let Some(id) = id else { return Ok(None) };
    Ok(crate::db::classes::joined_by(db, user.id)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .map(|c| c.name))
}

#[derive(Template)]
#[template(path = "decks/show.html")]
struct DeckPage {
    nav: Nav,
    deck: DeckRow,
    cards: Vec<CardRow>,
    can_edit: bool,
    /// The classes the deck is assigned to, shown to those who may edit it.
    assignments: Vec<crate::db::classes::Assignment>,
}

async fn list_decks(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<DecksQuery>,
) -> Result<HttpResponse, AppError> {
    let today = user.today(state.clock.now());
    let decks =
        crate::db::decks::list_with_counts(state.db.reader(), user.id, today, user.hidden_decks())
            .await?;
    page(&DecksPage {
        nav: Nav::for_user(&user),
        decks,
        is_instructor: user.is_instructor(),
        welcome: query.welcome.is_some(),
        joined: joined_name(state.db.reader(), &user, query.joined).await?,
    })
}

async fn show_deck(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    if !user.can_see(*id) {
        return Err(AppError::NotFound);
    }
    let deck = crate::db::decks::find(state.db.reader(), *id)
        .await?
        .ok_or(AppError::NotFound)?;
    let cards = crate::db::decks::cards(state.db.reader(), deck.id).await?;
    let can_edit = user.may_edit_deck(deck.owner_id);
    let assignments = if can_edit {
        crate::db::classes::assignments(state.db.reader(), deck.id).await?
    } else {
        Vec::new()
    };
    page(&DeckPage {
        nav: Nav::for_user(&user),
        can_edit,
        assignments,
        deck,
        cards,
    })
}

/// A file download.
pub fn download(content_type: &str, file_name: &str, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        ))
        .body(body)
}

/// A deck name made safe for a file name: letters, digits, '-' and '_' only.
fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let stem = stem.trim_matches('-');
    if stem.is_empty() {
        "deck".to_owned()
    } else {
        stem.chars().take(60).collect()
    }
}

async fn export_deck(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, format) = path.into_inner();
    if !user.can_see(id) {
        return Err(AppError::NotFound);
    }
    let deck = crate::db::decks::find(state.db.reader(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let cards = crate::db::decks::cards(state.db.reader(), deck.id).await?;
    if format == "apkg" {
        let notes: Vec<(String, String)> = cards
            .iter()
            .map(|c| (apkg::text_to_html(&c.front), apkg::text_to_html(&c.back)))
            .collect();
        let collection = crate::db::anki::write_collection(
            &deck.name,
            &notes,
            state.clock.now().as_millisecond(),
        )
        .await?;
        let package = apkg::package(&collection).map_err(|e| AppError::Internal(e.into()))?;
        return Ok(HttpResponse::Ok()
            .content_type("application/octet-stream")
            .insert_header((
                actix_web::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.apkg\"", file_stem(&deck.name)),
            ))
            .body(package));
    }
    let pairs = cards.iter().map(|c| (c.front.as_str(), c.back.as_str()));
    let (body, content_type) = match format.as_str() {
        "csv" => (export::to_csv(pairs), "text/csv; charset=utf-8"),
        "tsv" => (
            export::to_tsv(pairs),
            "text/tab-separated-values; charset=utf-8",
        ),
        _ => return Err(AppError::NotFound),
    };
    let body =
        body.map_err(|e| AppError::Validation(format!("The deck was not exported: {e}.")))?;
    Ok(download(
        content_type,
        &format!("{}.{format}", file_stem(&deck.name)),
        body,
    ))
}

#[derive(Template)]
#[template(path = "decks/card.html")]
struct CardPage {
    nav: Nav,
    deck: DeckRow,
    card: CardRow,
    due: Option<String>,
    interval: Option<i64>,
    easiness: Option<String>,
    history: Vec<HistoryLine>,
    /// This user's reports on the card, with any reply.
    reports: Vec<crate::db::reports::MyReport>,
}

/// One line of a card's history as the page shows it.
pub struct HistoryLine {
    /// When.
    pub at: String,
    /// grade | repeat | undo.
    pub kind: String,
    /// The grade.
    pub quality: String,
    /// The interval after it.
    pub interval: String,
}

/// A moment as the user reads it: in their own time zone, with the zone's abbreviation.
pub fn local_time(seconds: i64, zone: &jiff::tz::TimeZone) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| {
            t.to_zoned_datetime(zone.clone())
                .strftime("%Y-%m-%d %H:%M %Z")
                .to_string()
        })
        .unwrap_or_default()
}

async fn show_card(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let db = state.db.reader();
    let card = crate::db::decks::card(db, *id)
        .await?
        .filter(|c| user.can_see(c.deck_id))
        .ok_or(AppError::NotFound)?;
    let deck = crate::db::decks::find(db, card.deck_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let schedule = crate::db::reviews::state(db, user.id, card.id).await?;
    let history = crate::db::reviews::history(db, user.id, Some(card.id))
        .await?
        .into_iter()
        .map(|h| HistoryLine {
            at: local_time(h.reviewed_at, &user.time_zone),
            quality: h.quality.map(|q| q.to_string()).unwrap_or_default(),
            interval: h
                .interval_after
                .map(|i| format!("{i} d"))
                .unwrap_or_default(),
            kind: h.kind,
        })
        .collect();
    page(&CardPage {
        nav: Nav::for_user(&user),
        due: schedule.map(|s| {
            crate::srs::day::date_of_day(i32::try_from(s.due_day).unwrap_or(0)).to_string()
        }),
        interval: schedule.map(|s| s.interval_days),
        easiness: schedule.map(|s| format!("{:.2}", s.easiness_hundredths as f64 / 100.0)),
        reports: crate::db::reports::mine_on_card(db, user.id, card.id).await?,
        deck,
        card,
        history,
    })
}
