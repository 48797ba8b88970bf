//! Editing decks and cards in the browser: instructors edit their own decks, admins any.
//! Editing a card keeps its id, so every student's progress on it stays; deleting asks first.

use super::{Nav, page, page_with, see_other};
use crate::db::decks::{CardRow, DeckRow};
use crate::domain::{CardText, DeckName, Tags};
use crate::web::error::AppError;
use crate::web::{AppState, CsrfForm, CurrentUser, Instructor};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/decks/{id}/edit")
            .route(web::get().to(show_editor))
            .route(web::post().to(save_deck)),
    )
    .service(
        web::resource("/decks/{id}/delete")
            .route(web::get().to(confirm_delete_deck))
            .route(web::post().to(delete_deck)),
    )
    .service(
        web::resource("/decks/{id}/classes/{class_id}/remove")
            .route(web::post().to(take_back_deck)),
    )
    .service(web::resource("/decks/{id}/cards").route(web::post().to(add_card)))
    .service(web::resource("/cards/{id}/edit").route(web::post().to(save_card)))
    .service(web::resource("/cards/{id}/move").route(web::post().to(move_card)))
    .service(
        web::resource("/cards/{id}/delete")
            .route(web::get().to(confirm_delete_card))
            .route(web::post().to(delete_card)),
    );
}

/// Cards per page of the editor: a deck of 1,000 cards is 20 short pages, not one long form.
const EDITOR_PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "decks/edit.html")]
struct EditorPage {
    nav: Nav,
    deck: DeckRow,
    cards: Vec<CardRow>,
    /// Cards matching the search (all the deck's when there is none).
    matching: i64,
    /// The number, in the deck's order, of the first card shown.
    first_number: i64,
    view: EditorView,
    /// The page shown, 1-based, and how many there are.
    page: i64,
    pages: i64,
    /// The card just added, to link to.
    added: Option<CardRow>,
    errors: Vec<String>,
    new_front: String,
    new_back: String,
    new_tags: String,
    /// Whether to show the new card as students will see it, unsaved.
    preview: bool,
    /// An existing card's edit, shown as students will see it, unsaved: its id, front, back
    /// and tags as typed.
    edit_preview: Option<(i64, String, String, String)>,
}

impl EditorPage {
    /// The typed text of card `id` when it is being previewed.
    fn previewing(&self, id: &i64) -> Option<&(i64, String, String, String)> {
        self.edit_preview.as_ref().filter(|p| p.0 == *id)
    }

    /// The editor's address for another page of the same search.
    fn page_url(&self, page: i64) -> String {
        editor_url(self.deck.id, &self.view.q, page, "")
    }
}

/// Which part of the card list the editor shows, and what just happened there.
#[derive(Debug, Default, Deserialize)]
struct EditorView {
    /// Search text.
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<i64>,
    /// A card just added or saved: its row opens, with a note.
    #[serde(default)]
    added: Option<i64>,
    #[serde(default)]
    saved: Option<i64>,
}

impl EditorView {
    /// Whether card `id`'s row opens (the card just saved).
    fn opens(&self, id: &i64) -> bool {
        self.saved == Some(*id)
    }
}

/// `/decks/{deck}/edit` showing `page` of the cards matching `q`, then `tail` (a fragment or
/// further parameters).
fn editor_url(deck: i64, q: &str, page: i64, tail: &str) -> String {
    let query = serde_urlencoded::to_string([("q", q)]).unwrap_or_default();
    let query = if q.is_empty() {
        String::new()
    } else {
        format!("{query}&")
    };
    format!("/decks/{deck}/edit?{query}page={page}{tail}")
}

/// Where card `card_id` shows in the editor, within the search `q` while it still matches.
async fn card_in_editor(
    db: &crate::db::Pool,
    deck: i64,
    q: &str,
    card_id: i64,
    note: &str,
) -> Result<String, AppError> {
    let (q, rank) = match crate::db::decks::card_rank(db, deck, q, card_id).await? {
        Some(rank) => (q, rank),
        None => (
            "",
            crate::db::decks::card_rank(db, deck, "", card_id)
                .await?
                .unwrap_or(0),
        ),
    };
    let note = if note.is_empty() {
        String::new()
    } else {
        format!("&{note}={card_id}")
    };
    Ok(editor_url(
        deck,
        q,
        rank / EDITOR_PAGE + 1,
        &format!("{note}#card-{card_id}"),
    ))
}

#[derive(Template)]
#[template(path = "decks/confirm_delete.html")]
struct ConfirmPage {
    nav: Nav,
    what: String,
    consequence: String,
    action: String,
    back: String,
}

#[derive(Deserialize)]
pub(super) struct DeckForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

#[derive(Default, Deserialize)]
struct CardForm {
    #[serde(default)]
    front: String,
    #[serde(default)]
    back: String,
    #[serde(default)]
    tags: String,
    /// The editor's search when the form was sent, to return to it.
    #[serde(default)]
    q: String,
    /// "Preview" was pressed: show the card, save nothing.
    #[serde(default)]
    preview: Option<String>,
}

#[derive(Deserialize)]
struct MoveForm {
    #[serde(default)]
    direction: String,
    #[serde(default)]
    q: String,
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    confirm: String,
}

/// A deck this user may edit: another's deck they can see is 403, one they cannot see 404.
async fn editable(state: &AppState, user: &CurrentUser, deck_id: i64) -> Result<DeckRow, AppError> {
    if !user.can_see(deck_id) {
        return Err(AppError::NotFound);
    }
    let deck = crate::db::decks::find(state.db.reader(), deck_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if user.may_edit_deck(deck.owner_id) {
        Ok(deck)
    } else {
        Err(AppError::Forbidden(
            "Only the deck's owner, while an instructor, or an admin edits it.".to_owned(),
        ))
    }
}

/// A card whose deck this user may edit.
async fn editable_card(
    state: &AppState,
    user: &CurrentUser,
    card_id: i64,
) -> Result<(DeckRow, CardRow), AppError> {
    let card = crate::db::decks::card(state.db.reader(), card_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let deck = editable(state, user, card.deck_id).await?;
    Ok((deck, card))
}

async fn editor(
    state: &AppState,
    user: &CurrentUser,
    deck: DeckRow,
    mut view: EditorView,
    errors: Vec<String>,
    new: CardForm,
) -> Result<EditorPage, AppError> {
    let db = state.db.reader();
    view.q = view.q.trim().chars().take(200).collect();
    // An address past the last page (cards deleted since) shows the last page.
    let matching = crate::db::decks::count_matching(db, deck.id, &view.q).await?;
    let pages = ((matching + EDITOR_PAGE - 1) / EDITOR_PAGE).max(1);
    let page = view.page.unwrap_or(1).clamp(1, pages);
    let offset = (page - 1) * EDITOR_PAGE;
    let cards = crate::db::decks::cards_page(db, deck.id, &view.q, offset, EDITOR_PAGE).await?;
    let added = match view.added {
        Some(id) => crate::db::decks::card(db, id)
            .await?
            .filter(|c| c.deck_id == deck.id),
        None => None,
    };
    Ok(EditorPage {
        nav: Nav::for_user(user),
        cards,
        matching,
        first_number: offset + 1,
        view,
        page,
        pages,
        added,
        deck,
        errors,
        preview: new.preview.is_some(),
        edit_preview: None,
        new_front: new.front,
        new_back: new.back,
        new_tags: new.tags,
    })
}

/// Both sides and the tags of a card form, or the messages of what is wrong.
fn parse_card(form: &CardForm) -> Result<(CardText, CardText, Tags), Vec<String>> {
    let front = CardText::parse(&form.front, "front");
    let back = CardText::parse(&form.back, "back");
    let tags = Tags::parse(&form.tags);
    match (front, back, tags) {
        (Ok(f), Ok(b), Ok(t)) => Ok((f, b, t)),
        (f, b, t) => Err([f.err(), b.err(), t.err()]
            .into_iter()
            .flatten()
            .map(|e| e.0)
            .collect()),
    }
}

fn duplicate(e: sqlx::Error) -> AppError {
    if crate::db::is_unique_violation(&e) {
        AppError::Validation("The deck already has a card with this front and back.".to_owned())
    } else {
        e.into()
    }
}

pub(super) async fn create_deck(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    form: CsrfForm<DeckForm>,
) -> Result<HttpResponse, AppError> {
    let name = DeckName::parse(&form.0.name)?;
    let now_ms = state.clock.now().as_millisecond();
    state
        .quotas
        .spend(user.id, &[(crate::auth::quota::Kind::Deck, 1)], now_ms)?;
    // An admin's deck is public, an instructor's private until assigned to a class.
    let id = crate::db::decks::create(
        state.db.writer(),
        name.as_str(),
        form.0.description.trim(),
        Some(user.id),
        user.is_admin(),
        state.clock.now().as_second(),
    )
    .await
    .map_err(|e| {
        if crate::db::is_unique_violation(&e) {
            AppError::Validation(format!("You already have a deck named '{name}'."))
        } else {
            e.into()
        }
    })?;
    state.sessions.forget_all();
    Ok(see_other(&format!("/decks/{id}/edit")))
}

async fn show_editor(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    view: web::Query<EditorView>,
) -> Result<HttpResponse, AppError> {
    let deck = editable(&state, &user, *id).await?;
    page(
        &editor(
            &state,
            &user,
            deck,
            view.into_inner(),
            Vec::new(),
            CardForm::default(),
        )
        .await?,
    )
}

async fn save_deck(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    form: CsrfForm<DeckForm>,
) -> Result<HttpResponse, AppError> {
    let deck = editable(&state, &user, *id).await?;
    let name = DeckName::parse(&form.0.name)?;
    crate::db::decks::update(
        state.db.writer(),
        deck.id,
        name.as_str(),
        form.0.description.trim(),
    )
    .await
    .map_err(|e| {
        if crate::db::is_unique_violation(&e) {
            AppError::Validation(format!("You already have a deck named '{name}'."))
        } else {
            e.into()
        }
    })?;
    Ok(see_other(&format!("/decks/{}/edit", deck.id)))
}

/// The deck's owner takes it back from a class, whoever runs the class.
async fn take_back_deck(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(i64, i64)>,
    _form: CsrfForm<ConfirmForm>,
) -> Result<HttpResponse, AppError> {
    let (id, class_id) = path.into_inner();
    let deck = editable(&state, &user, id).await?;
    crate::db::classes::set_deck(state.db.writer(), class_id, deck.id, false).await?;
    state.sessions.forget_all();
    Ok(see_other(&format!("/decks/{}#assignments", deck.id)))
}

async fn confirm_delete_deck(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let deck = editable(&state, &user, *id).await?;
    let cards = crate::db::decks::cards(state.db.reader(), deck.id)
        .await?
        .len();
    page(&ConfirmPage {
        nav: Nav::for_user(&user),
        what: format!("the deck \"{}\"", deck.name),
        consequence: format!(
            "Its {cards} cards and every student's progress on them will be deleted."
        ),
        action: format!("/decks/{}/delete", deck.id),
        back: format!("/decks/{}/edit", deck.id),
    })
}

async fn delete_deck(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    form: CsrfForm<ConfirmForm>,
) -> Result<HttpResponse, AppError> {
    let deck = editable(&state, &user, *id).await?;
    if form.0.confirm != "yes" {
        return Err(AppError::Validation(
            "Deleting needs the confirmation on the previous page.".to_owned(),
        ));
    }
    crate::db::decks::delete(state.db.writer(), deck.id).await?;
    state.sessions.forget_all();
    Ok(see_other("/decks"))
}

async fn add_card(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    form: CsrfForm<CardForm>,
) -> Result<HttpResponse, AppError> {
    let deck = editable(&state, &user, *id).await?;
    let mut form = form.0;
    // A preview passes the same rules as saving: text over the limits is refused, not shown.
    let (front, back, tags) = match parse_card(&form) {
        Ok(parsed) => parsed,
        Err(errors) => {
            form.preview = None;
            return page_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &editor(&state, &user, deck, EditorView::default(), errors, form).await?,
            );
        }
    };
    if form.preview.is_none() {
        // Each card saved is a write a script could repeat: it spends from the same budget
        // as a grade (imports have their hourly budget of their own).
        super::spend_write(&state, &user)?;
    }
    if form.preview.is_some() {
        // Nothing is saved: the editor comes back with the form as typed and the card shown.
        return page(&editor(&state, &user, deck, EditorView::default(), Vec::new(), form).await?);
    }
    let now = state.clock.now().as_second();
    match crate::db::decks::add_card(
        state.db.writer(),
        deck.id,
        front.as_str(),
        back.as_str(),
        tags.as_str(),
        now,
    )
    .await
    .map_err(duplicate)
    {
        Ok(card_id) => Ok(see_other(
            &card_in_editor(state.db.writer(), deck.id, "", card_id, "added").await?,
        )),
        Err(AppError::Validation(message)) => page_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &editor(
                &state,
                &user,
                deck,
                EditorView::default(),
                vec![message],
                form,
            )
            .await?,
        ),
        Err(other) => Err(other),
    }
}

async fn save_card(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    form: CsrfForm<CardForm>,
) -> Result<HttpResponse, AppError> {
    let (deck, card) = editable_card(&state, &user, *id).await?;
    let parsed = parse_card(&form.0);
    if form.0.preview.is_some() && parsed.is_ok() {
        // Nothing is saved: the editor opens on the card, with the text as typed and shown
        // (only text that saving would accept: a preview applies the same limits).
        let form = form.0;
        let rank =
            crate::db::decks::card_rank(state.db.reader(), deck.id, &form.q, card.id).await?;
        let view = EditorView {
            q: if rank.is_some() {
                form.q.clone()
            } else {
                String::new()
            },
            page: Some(rank.unwrap_or(0) / EDITOR_PAGE + 1),
            ..EditorView::default()
        };
        let mut shown = editor(&state, &user, deck, view, Vec::new(), CardForm::default()).await?;
        shown.edit_preview = Some((card.id, form.front, form.back, form.tags));
        return page(&shown);
    }
    let (front, back, tags) = parsed.map_err(|errors| AppError::Validation(errors.join(" ")))?;
    super::spend_write(&state, &user)?;
    crate::db::decks::update_card(
        state.db.writer(),
        card.id,
        front.as_str(),
        back.as_str(),
        tags.as_str(),
        state.clock.now().as_second(),
    )
    .await
    .map_err(duplicate)?;
    Ok(see_other(
        &card_in_editor(state.db.writer(), deck.id, &form.0.q, card.id, "saved").await?,
    ))
}

async fn move_card(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    form: CsrfForm<MoveForm>,
) -> Result<HttpResponse, AppError> {
    let (deck, card) = editable_card(&state, &user, *id).await?;
    let up = match form.0.direction.as_str() {
        "up" => true,
        "down" => false,
        _ => return Err(AppError::BadRequest("direction is up or down.".to_owned())),
    };
    crate::db::decks::move_card(state.db.writer(), card.id, up).await?;
    Ok(see_other(
        &card_in_editor(state.db.writer(), deck.id, &form.0.q, card.id, "").await?,
    ))
}

async fn confirm_delete_card(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (deck, card) = editable_card(&state, &user, *id).await?;
    page(&ConfirmPage {
        nav: Nav::for_user(&user),
        what: format!(
            "the card \"{}\"",
            card.front.chars().take(80).collect::<String>()
        ),
        consequence: "Every student's progress on it will be deleted too.".to_owned(),
        action: format!("/cards/{}/delete", card.id),
        back: format!("/decks/{}/edit", deck.id),
    })
}

async fn delete_card(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    form: CsrfForm<ConfirmForm>,
) -> Result<HttpResponse, AppError> {
    let (deck, card) = editable_card(&state, &user, *id).await?;
    if form.0.confirm != "yes" {
        return Err(AppError::Validation(
            "Deleting needs the confirmation on the previous page.".to_owned(),
        ));
    }
    crate::db::decks::delete_card(state.db.writer(), card.id).await?;
    Ok(see_other(&format!("/decks/{}/edit", deck.id)))
}
