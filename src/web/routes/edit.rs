//! Editing decks and cards in the browser: instructors edit their own decks, admins any.
//! Editing a card keeps its id, so every student's progress on it stays; deleting asks first.

use super::{Nav, actor, page, page_with, see_other};
use crate::domain::DeckName;
use crate::study::editor::{
    self, CardFields, CardRow, ClozeFields, DeckRow, EditorCards, NoteCardRow, Placed,
};
use crate::web::error::AppError;
use crate::web::{AppState, CsrfForm, CurrentUser, Instructor};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

mod upload;

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
    .service(web::resource("/decks/{id}/cloze").route(web::post().to(add_cloze)))
    .service(
        web::resource("/decks/{id}/cards/image")
            .app_data(upload::image_upload_config())
            .route(web::post().to(upload::add_card_image)),
    )
    .service(
        web::resource("/cards/{id}/image")
            .app_data(upload::image_upload_config())
            .route(web::post().to(upload::save_card_image)),
    )
    .service(
        web::resource("/cards/{id}/cloze/image")
            .app_data(upload::image_upload_config())
            .route(web::post().to(upload::save_cloze_image)),
    )
    .service(web::resource("/cards/{id}/edit").route(web::post().to(save_card)))
    .service(web::resource("/cards/{id}/cloze").route(web::post().to(save_cloze)))
    .service(web::resource("/cards/{id}/move").route(web::post().to(move_card)))
    .service(
        web::resource("/cards/{id}/delete")
            .route(web::get().to(confirm_delete_card))
            .route(web::post().to(delete_card)),
    );
}

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
    /// How the new card's sides are written: `text` or `html`.
    new_format: String,
    /// Whether to show the new card as students will see it, unsaved.
    preview: bool,
    /// The cloze form as typed.
    cloze: ClozeForm,
    /// The cards the cloze form's note would make, shown unsaved: (number, front, back).
    cloze_preview: Vec<(u32, String, String)>,
    /// The cards of this page that belong to a cloze note, with their notes.
    notes: Vec<NoteCardRow>,
    /// An existing card's edit, shown as students will see it, unsaved: its id, front, back,
    /// tags and format as typed.
    edit_preview: Option<(i64, String, String, String, String)>,
    /// Whether that edit is shown previewed (else only its form, as typed: a refused save).
    edit_previewed: bool,
    /// A cloze note's edit as typed (an image just uploaded into it), by the id of the card
    /// whose form it is, with the cards it would make, shown unsaved.
    note_edit: Option<(i64, ClozeForm)>,
    note_preview: Vec<(u32, String, String)>,
}

impl EditorPage {
    /// Card `id`'s cloze note, when it is a deletion of one.
    fn note_of(&self, id: &i64) -> Option<&NoteCardRow> {
        self.notes.iter().find(|n| n.card_id == *id)
    }

    /// The typed text of card `id` when it is being previewed.
    fn previewing(&self, id: &i64) -> Option<&(i64, String, String, String, String)> {
        self.edit_preview.as_ref().filter(|p| p.0 == *id)
    }

    /// The typed note of card `id`'s cloze form, when it is shown as typed.
    fn note_typed(&self, id: &i64) -> Option<&ClozeForm> {
        self.note_edit
            .as_ref()
            .filter(|(card, _)| card == id)
            .map(|(_, form)| form)
    }

    /// The typed text of card `id` when it is shown previewed.
    fn previewed(&self, id: &i64) -> Option<&(i64, String, String, String, String)> {
        self.previewing(id).filter(|_| self.edit_previewed)
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

/// The editor's address where a changed card shows, with `note` (`added`, `saved` or none)
/// naming it.
fn card_in_editor(placed: &Placed, note: &str) -> String {
    let note = if note.is_empty() {
        String::new()
    } else {
        format!("&{note}={}", placed.card_id)
    };
    editor_url(
        placed.deck_id,
        &placed.q,
        placed.page,
        &format!("{note}#card-{}", placed.card_id),
    )
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

#[derive(Clone, Default, Deserialize)]
struct CardForm {
    #[serde(default)]
    front: String,
    #[serde(default)]
    back: String,
    #[serde(default)]
    tags: String,
    /// `text` (the default) or `html`.
    #[serde(default)]
    format: String,
    /// The editor's search when the form was sent, to return to it.
    #[serde(default)]
    q: String,
    /// "Preview" was pressed: show the card, save nothing.
    #[serde(default)]
    preview: Option<String>,
}

/// A cloze note as typed: its text with deletions, the extra shown on the back, tags and
/// how it is written.
#[derive(Clone, Default, Deserialize)]
struct ClozeForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    extra: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    q: String,
    /// "Preview" was pressed: show the cards, save nothing.
    #[serde(default)]
    preview: Option<String>,
}

impl ClozeForm {
    fn fields(&self) -> ClozeFields<'_> {
        ClozeFields {
            text: &self.text,
            extra: &self.extra,
            tags: &self.tags,
            format: editor::Format::from_stored(&self.format),
        }
    }
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

impl CardForm {
    fn fields(&self) -> CardFields<'_> {
        CardFields {
            front: &self.front,
            back: &self.back,
            tags: &self.tags,
            format: editor::Format::from_stored(&self.format),
        }
    }
}

/// The editor page showing `cards`, with `errors` and the new-card form `new` as typed.
fn editor(
    user: &CurrentUser,
    cards: EditorCards,
    mut view: EditorView,
    errors: Vec<String>,
    new: CardForm,
) -> EditorPage {
    view.q = cards.q;
    EditorPage {
        nav: Nav::for_user(user),
        cards: cards.cards,
        matching: cards.matching,
        first_number: cards.first_number,
        view,
        page: cards.page,
        pages: cards.pages,
        added: cards.added,
        deck: cards.deck,
        errors,
        preview: new.preview.is_some(),
        edit_preview: None,
        edit_previewed: false,
        note_edit: None,
        note_preview: Vec::new(),
        cloze: ClozeForm::default(),
        cloze_preview: Vec::new(),
        notes: cards.notes,
        new_front: new.front,
        new_back: new.back,
        new_tags: new.tags,
        new_format: new.format,
    }
}

/// The editor on deck `deck_id` as `view` asks, if `user` may edit it.
async fn editor_on(
    state: &AppState,
    user: &CurrentUser,
    deck_id: i64,
    view: EditorView,
    errors: Vec<String>,
    new: CardForm,
) -> Result<EditorPage, AppError> {
    let cards = editor::cards(
        state.db.reader(),
        actor(user),
        deck_id,
        &view.q,
        view.page,
        view.added,
    )
    .await?;
    Ok(editor(user, cards, view, errors, new))
}

pub(super) async fn create_deck(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    form: CsrfForm<DeckForm>,
) -> Result<HttpResponse, AppError> {
    let name = DeckName::parse(&form.0.name)?;
    let id = editor::create_deck(
        &state.db,
        &state.quotas,
        &*state.sessions,
        actor(&user),
        &name,
        &form.0.description,
        state.clock.now(),
    )
    .await?;
    Ok(see_other(&format!("/decks/{id}/edit")))
}

async fn show_editor(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    view: web::Query<EditorView>,
) -> Result<HttpResponse, AppError> {
    page(
        &editor_on(
            &state,
            &user,
            *id,
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
    let name = DeckName::parse(&form.0.name)?;
    editor::update_deck(&state.db, actor(&user), *id, &name, &form.0.description).await?;
    Ok(see_other(&format!("/decks/{}/edit", *id)))
}

/// The deck's owner takes it back from a class, whoever runs the class.
async fn take_back_deck(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(i64, i64)>,
    _form: CsrfForm<ConfirmForm>,
) -> Result<HttpResponse, AppError> {
    let (id, class_id) = path.into_inner();
    editor::take_back(&state.db, &*state.sessions, actor(&user), id, class_id).await?;
    Ok(see_other(&format!("/decks/{id}#assignments")))
}

async fn confirm_delete_deck(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (deck, cards) = editor::deck_to_delete(state.db.reader(), actor(&user), *id).await?;
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
    editor::delete_deck(
        &state.db,
        &*state.sessions,
        actor(&user),
        *id,
        form.0.confirm == "yes",
    )
    .await?;
    Ok(see_other("/decks"))
}

async fn add_card(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    form: CsrfForm<CardForm>,
) -> Result<HttpResponse, AppError> {
    let (form, id) = (form.0, *id);
    preview_or_save(
        editor::parse_card(form.fields()),
        form.preview.is_some(),
        async |errors, card: Option<&editor::NewCard>| {
            let mut shown = form.clone();
            shown.preview = card.map(|_| "1".to_owned());
            editor_on(&state, &user, id, EditorView::default(), errors, shown).await
        },
        async |card| {
            let now = state.clock.now();
            editor::add_card(&state.db, &state.writes, actor(&user), id, card, now).await
        },
        "added",
    )
    .await
}

/// The editor's one way with a card or cloze note form: parsed by the rules saving applies
/// (so a preview of text saving would refuse shows why, not the text), shown unsaved when
/// "Preview" was pressed (`show` with what was parsed), else saved (`save`) and the editor
/// opened on the card (`done`: "added" or "saved"); a form refused, by the parse or by the
/// save, comes back as typed with why (`show` with the errors), status 422.
async fn preview_or_save<T>(
    parsed: Result<T, Vec<String>>,
    preview: bool,
    show: impl AsyncFn(Vec<String>, Option<&T>) -> Result<EditorPage, AppError>,
    save: impl AsyncFnOnce(&T) -> Result<Placed, crate::study::StudyError>,
    done: &str,
) -> Result<HttpResponse, AppError> {
    let refused =
        async |errors| page_with(StatusCode::UNPROCESSABLE_ENTITY, &show(errors, None).await?);
    let item = match parsed {
        Ok(item) => item,
        Err(errors) => return refused(errors).await,
    };
    if preview {
        return page(&show(Vec::new(), Some(&item)).await?);
    }
    match save(&item).await {
        Ok(placed) => Ok(see_other(&card_in_editor(&placed, done))),
        Err(crate::study::StudyError::Validation(message)) => refused(vec![message]).await,
        Err(other) => Err(other.into()),
    }
}

/// The editor opened on card `id`, with `errors`; its form showing `typed` (front, back,
/// tags, format) when given, and the card previewed that way when `previewed`.
async fn editor_on_card(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    q: &str,
    errors: Vec<String>,
    typed: Option<(String, String, String, String)>,
    previewed: bool,
) -> Result<EditorPage, AppError> {
    let (cards, card) = editor::page_with_card(state.db.reader(), actor(user), id, q).await?;
    let view = EditorView {
        saved: Some(card.id),
        ..EditorView::default()
    };
    let mut shown = editor(user, cards, view, errors, CardForm::default());
    shown.edit_preview =
        typed.map(|(front, back, tags, format)| (card.id, front, back, tags, format));
    shown.edit_previewed = previewed && shown.edit_preview.is_some();
    Ok(shown)
}

async fn save_card(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    form: CsrfForm<CardForm>,
) -> Result<HttpResponse, AppError> {
    let (form, id) = (form.0, *id);
    preview_or_save(
        editor::parse_card(form.fields()),
        form.preview.is_some(),
        async |errors, card: Option<&editor::NewCard>| {
            // Nothing is saved: the editor opens on the card, with the text as typed and
            // shown (only text that saving would accept: a preview applies the same limits).
            // A refused save shows the form as typed, with why, and no preview.
            let f = form.clone();
            let typed = Some((f.front, f.back, f.tags, f.format));
            editor_on_card(&state, &user, id, &form.q, errors, typed, card.is_some()).await
        },
        async |_| {
            let now = state.clock.now();
            let writes = &state.writes;
            editor::update_card(
                &state.db,
                writes,
                actor(&user),
                id,
                form.fields(),
                &form.q,
                now,
            )
            .await
        },
        "saved",
    )
    .await
}

/// Adds a cloze note (one card per deletion number), or shows its cards unsaved.
async fn add_cloze(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    form: CsrfForm<ClozeForm>,
) -> Result<HttpResponse, AppError> {
    let (form, id) = (form.0, *id);
    preview_or_save(
        editor::parse_cloze(form.fields()),
        form.preview.is_some(),
        async |errors, note: Option<&editor::NewCloze>| {
            let mut page = editor_on(
                &state,
                &user,
                id,
                EditorView::default(),
                errors,
                CardForm::default(),
            )
            .await?;
            page.cloze = form.clone();
            if note.is_none() {
                page.cloze.preview = None;
            }
            page.cloze_preview = note.map_or_else(Vec::new, |n| {
                n.cards
                    .iter()
                    .map(|c| {
                        (
                            c.number,
                            c.front.as_str().to_owned(),
                            c.back.as_str().to_owned(),
                        )
                    })
                    .collect()
            });
            Ok(page)
        },
        async |note| {
            let now = state.clock.now();
            editor::add_cloze_note(&state.db, &state.writes, actor(&user), id, note, now).await
        },
        "added",
    )
    .await
}

/// Saves the cloze note of card `id`: the cards of the numbers that remain keep their
/// progress.
async fn save_cloze(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    form: CsrfForm<ClozeForm>,
) -> Result<HttpResponse, AppError> {
    let (form, id) = (form.0, *id);
    // No preview here: the note's form has no button for one.
    preview_or_save(
        editor::parse_cloze(form.fields()),
        false,
        async |errors, _: Option<&editor::NewCloze>| {
            editor_on_card(&state, &user, id, &form.q, errors, None, false).await
        },
        async |_| {
            let now = state.clock.now();
            let writes = &state.writes;
            editor::update_cloze_note(
                &state.db,
                writes,
                actor(&user),
                id,
                form.fields(),
                &form.q,
                now,
            )
            .await
        },
        "saved",
    )
    .await
}

async fn move_card(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    form: CsrfForm<MoveForm>,
) -> Result<HttpResponse, AppError> {
    let up = match form.0.direction.as_str() {
        "up" => true,
        "down" => false,
        _ => return Err(AppError::BadRequest("direction is up or down.".to_owned())),
    };
    let placed = editor::move_card(&state.db, actor(&user), *id, up, &form.0.q).await?;
    Ok(see_other(&card_in_editor(&placed, "")))
}

async fn confirm_delete_card(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (deck, card) = editor::card_to_delete(state.db.reader(), actor(&user), *id).await?;
    page(&ConfirmPage {
        nav: Nav::for_user(&user),
        what: format!(
            "the card \"{}\"",
            crate::markup::summary(&card.front, &card.format)
                .chars()
                .take(80)
                .collect::<String>()
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
    let deck_id =
        editor::delete_card(&state.db, actor(&user), *id, form.0.confirm == "yes").await?;
    Ok(see_other(&format!("/decks/{deck_id}/edit")))
}
