//! Deck lists and a deck's cards.

use super::{Nav, actor, page};
use crate::study::decks::{self, CardRow, DeckRow, DeckSummary, MyReport, NextStudy};
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
    /// What the main button offers.
    next: NextStudy,
    is_instructor: bool,
    /// Just registered: a first word (the first account learns it runs the site).
    welcome: bool,
    /// The class just joined, by name.
    joined: Option<String>,
    /// The student's suspended cards and leeches.
    mine: crate::study::controls::MyCards,
    /// Failures that make a leech.
    leech_failures: i64,
}

#[derive(serde::Deserialize)]
struct DecksQuery {
    welcome: Option<u8>,
    joined: Option<i64>,
}

#[derive(Template)]
#[template(path = "decks/show.html")]
struct DeckPage {
    nav: Nav,
    deck: DeckRow,
    cards: Vec<CardRow>,
    can_edit: bool,
    /// The classes the deck is assigned to, shown to those who may edit it.
    assignments: Vec<decks::Assignment>,
}

async fn list_decks(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<DecksQuery>,
) -> Result<HttpResponse, AppError> {
    let pool = state.db.reader();
    let now = state.clock.now();
    let listed = decks::list(pool, &user.learner, now).await?;
    let next = decks::next_study(pool, &user.learner, &listed, now).await?;
    page(&DecksPage {
        nav: Nav::for_user(&user),
        decks: listed,
        next,
        is_instructor: user.is_instructor(),
        welcome: query.welcome.is_some(),
        joined: decks::joined_class(pool, &user.learner, query.joined).await?,
        mine: crate::study::controls::my_cards(pool, &user.learner).await?,
        leech_failures: crate::study::controls::LEECH_FAILURES,
    })
}

async fn show_deck(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let shown = decks::deck_page(state.db.reader(), actor(&user), *id).await?;
    page(&DeckPage {
        nav: Nav::for_user(&user),
        can_edit: shown.can_edit,
        assignments: shown.assignments,
        deck: shown.deck,
        cards: shown.cards,
    })
}

/// A file download.
pub fn download(
    content_type: &str,
    file_name: &str,
    body: impl actix_web::body::MessageBody + 'static,
) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        ))
        .body(body)
}

async fn export_deck(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, format) = path.into_inner();
    let file = decks::export(
        state.db.reader(),
        &state.exports,
        super::actor(&user),
        id,
        &format,
        state.clock.now(),
    )
    .await?;
    Ok(match file.body {
        decks::ExportBody::Bytes(bytes) => download(file.content_type, &file.file_name, bytes),
        decks::ExportBody::File(package, len, slot) => {
            // Streamed from the temporary file a chunk at a time, with its length. The
            // export's slot goes with the file: freed when the stream ends or is dropped
            // (the reader went away).
            let chunks = futures_util::stream::try_unfold(
                (tokio::fs::File::from_std(package), slot),
                |(mut package, slot)| async move {
                    use tokio::io::AsyncReadExt;
                    let mut chunk = vec![0u8; 64 * 1024];
                    let read = package.read(&mut chunk).await?;
                    if read == 0 {
                        return Ok::<_, std::io::Error>(None);
                    }
                    chunk.truncate(read);
                    Ok(Some((web::Bytes::from(chunk), (package, slot))))
                },
            );
            download(
                file.content_type,
                &file.file_name,
                actix_web::body::SizedStream::new(len, Box::pin(chunks)),
            )
        }
    })
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
    reports: Vec<MyReport>,
    /// Whether this user suspended it.
    suspended: bool,
}

/// One line of a card's history as the page shows it.
pub struct HistoryLine {
    /// When.
    pub at: String,
    /// grade | repeat | undo.
    pub kind: String,
    /// The grade, named as the button that gives it.
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
    let shown = decks::card_page(
        &state.db,
        &*state.sessions,
        &user.learner,
        *id,
        state.clock.now(),
    )
    .await?;
    let schedule = shown.schedule;
    let computed = shown.card.kind == "generated";
    let history = shown
        .history
        .into_iter()
        .map(|h| HistoryLine {
            at: local_time(h.reviewed_at, &user.time_zone),
            quality: h
                .quality
                .map(|q| match u8::try_from(q) {
                    Ok(q) => crate::domain::Grade::button_name(q, user.six_grades, computed),
                    Err(_) => q.to_string(),
                })
                .unwrap_or_default(),
            interval: h
                .interval_after
                .map(|i| format!("{i} d"))
                .unwrap_or_default(),
            kind: h.kind,
        })
        .collect();
    let mut nav = Nav::for_user(&user);
    // This page has just read the replies its banner would point to (the user was loaded
    // before): the banner is not shown on it; any on other cards shows on the next page.
    let here = format!("/cards/{}#my-reports", shown.card.id);
    if nav.reply_notice.as_ref().is_some_and(|n| n.link == here) {
        nav.reply_notice = None;
    }
    page(&CardPage {
        nav,
        due: schedule.map(|s| {
            crate::srs::day::date_of_day(i32::try_from(s.due_day).unwrap_or(0)).to_string()
        }),
        interval: schedule.map(|s| s.interval_days),
        easiness: schedule.map(|s| format!("{:.2}", s.easiness_hundredths as f64 / 100.0)),
        reports: shown.reports,
        suspended: crate::study::controls::is_suspended(
            state.db.reader(),
            &user.learner,
            shown.card.id,
        )
        .await?,
        deck: shown.deck,
        card: shown.card,
        history,
    })
}
