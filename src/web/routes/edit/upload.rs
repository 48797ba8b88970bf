//! Images uploaded into the editor's forms (a new card, an existing card, a cloze note): the
//! multipart form read back as typed, the image kept, and the form shown again with it,
//! previewed; nothing is saved until the form's own button.

use super::{CardForm, ClozeForm, EditorView, editor_on, editor_on_card};
use crate::study::editor;
use crate::web::error::AppError;
use crate::web::routes::{actor, page, page_with};
use crate::web::{AppState, CurrentUser, csrf};
use actix_multipart::form::{MultipartForm, MultipartFormConfig, tempfile::TempFile, text::Text};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

/// An image upload's limits: one image (media::MAX_FILE_BYTES) and the card's text fields.
pub(super) fn image_upload_config() -> MultipartFormConfig {
    MultipartFormConfig::default()
        .total_limit(crate::media::MAX_FILE_BYTES + 256 * 1024)
        .memory_limit(256 * 1024)
        .error_handler(|e, _| {
            AppError::PayloadTooLarge(format!(
                "Images are limited to {} MiB ({e}).",
                crate::media::MAX_FILE_BYTES / 1024 / 1024
            ))
            .into()
        })
}

/// A card form (the new card's, or an existing card's) sent with an image to put in the card
/// (the "Upload image" button sends the whole form as multipart).
#[derive(MultipartForm)]
pub(super) struct CardUpload {
    #[multipart(limit = "11MiB")]
    image: Option<TempFile>,
    image_alt: Option<Text<String>>,
    /// "1": the image takes the place of the images the back shows (an existing card's form).
    image_replace: Option<Text<String>>,
    front: Option<Text<String>>,
    back: Option<Text<String>>,
    /// A cloze note's text and extra (its form's upload).
    text: Option<Text<String>>,
    extra: Option<Text<String>>,
    tags: Option<Text<String>>,
    format: Option<Text<String>>,
    q: Option<Text<String>>,
    csrf_token: Option<Text<String>>,
}

/// Puts an uploaded image into a card form: the sides turned to HTML if they were plain
/// text, the image (`element`) after the back, or in place of the images it shows when
/// `replace`.
fn put_image(form: &mut CardForm, element: &str, replace: bool) {
    if !crate::markup::is_html(&form.format) {
        form.front = crate::import::apkg::text_to_html(&form.front);
        form.back = crate::import::apkg::text_to_html(&form.back);
        form.format = "html".to_owned();
    }
    if replace {
        form.back = crate::markup::without_images(&form.back);
    }
    if !form.back.trim().is_empty() {
        form.back.push_str("<br>");
    }
    form.back.push_str(element);
}

/// An image upload as sent with a card's or a note's form: the form's fields as typed, the
/// image's file, its description and whether it replaces the images shown now.
struct Upload {
    form: CardForm,
    note: ClozeForm,
    image: Option<TempFile>,
    alt: String,
    replace: bool,
}

/// An image upload's form as typed, its CSRF token checked.
async fn upload_form(
    req: &HttpRequest,
    state: &AppState,
    upload: CardUpload,
) -> Result<Upload, AppError> {
    let token = upload.csrf_token.as_ref().map_or("", |t| t.as_str());
    csrf::verify(req, state, token).await?;
    let text = |t: Option<Text<String>>| t.map(Text::into_inner).unwrap_or_default();
    let (tags, format, q) = (text(upload.tags), text(upload.format), text(upload.q));
    Ok(Upload {
        form: CardForm {
            front: text(upload.front),
            back: text(upload.back),
            tags: tags.clone(),
            format: format.clone(),
            q: q.clone(),
            preview: Some("1".to_owned()),
        },
        note: ClozeForm {
            text: text(upload.text),
            extra: text(upload.extra),
            tags,
            format,
            q,
            preview: Some("1".to_owned()),
        },
        replace: text(upload.image_replace) == "1",
        image: upload.image.filter(|f| f.size > 0),
        alt: text(upload.image_alt),
    })
}

/// What an uploaded image goes into.
#[derive(Clone, Copy)]
enum ImageFor {
    /// A new card of deck `.0`.
    NewCard(i64),
    /// Existing card `.0` (`.1`: a cloze note's card, whose note's form it is).
    Card(i64, bool),
}

/// Keeps the uploaded image for `into` (`editor::upload_image`, `upload_card_image`): the
/// `<img>` element handed to `put` (to place it in a side), or why it was not kept: the
/// form's errors so far, a sentence or none.
async fn keep_image(
    state: &AppState,
    user: &CurrentUser,
    into: ImageFor,
    image: Option<TempFile>,
    alt: &str,
    put: impl FnOnce(&str),
) -> Result<Vec<String>, AppError> {
    let Some(file) = image else {
        return Ok(vec!["Choose an image to upload.".to_owned()]);
    };
    let file_name = file.file_name.clone().unwrap_or_else(|| "image".to_owned());
    let path = file.file.path().to_owned();
    let (db, writes, now) = (&state.db, &state.writes, state.clock.now());
    let kept = match into {
        ImageFor::NewCard(deck) => {
            editor::upload_image(db, writes, actor(user), deck, path, &file_name, alt, now).await
        }
        ImageFor::Card(card, cloze) => {
            editor::upload_card_image(
                db,
                writes,
                actor(user),
                card,
                cloze,
                path,
                &file_name,
                alt,
                now,
            )
            .await
        }
    };
    // The upload's temporary file lives until here.
    drop(file);
    match kept {
        Ok(element) => {
            put(&element);
            Ok(Vec::new())
        }
        Err(crate::study::StudyError::Validation(message)) => Ok(vec![message]),
        Err(other) => Err(other.into()),
    }
}

/// Keeps an uploaded image for existing card `id` and opens the editor on it with the image
/// added to (or, when asked, replacing the images of) the back as typed, previewed; nothing
/// is saved until "Save", which lets go of the images the card no longer shows.
pub(super) async fn save_card_image(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<i64>,
    upload: MultipartForm<CardUpload>,
) -> Result<HttpResponse, AppError> {
    let Upload {
        mut form,
        image,
        alt,
        replace,
        ..
    } = upload_form(&req, &state, upload.into_inner()).await?;
    let into = ImageFor::Card(*id, false);
    let mut errors = keep_image(&state, &user, into, image, &alt, |element| {
        put_image(&mut form, element, replace);
    })
    .await?;
    if let Err(more) = editor::parse_card(form.fields()) {
        errors.extend(more);
    }
    // Refused, the form comes back as typed with why, not previewed.
    let (status, previewed) = if errors.is_empty() {
        (StatusCode::OK, true)
    } else {
        (StatusCode::UNPROCESSABLE_ENTITY, false)
    };
    let typed = Some((form.front, form.back, form.tags, form.format));
    page_with(
        status,
        &editor_on_card(&state, &user, *id, &form.q, errors, typed, previewed).await?,
    )
}

/// Keeps an uploaded image and shows the new-card form again with the image added to the
/// back (the sides turned to HTML if they were plain text) and the card previewed; nothing
/// is saved until "Add card".
pub(super) async fn add_card_image(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<i64>,
    upload: MultipartForm<CardUpload>,
) -> Result<HttpResponse, AppError> {
    let Upload {
        mut form,
        image,
        alt,
        ..
    } = upload_form(&req, &state, upload.into_inner()).await?;
    form.q = String::new();
    let into = ImageFor::NewCard(*id);
    let mut errors = keep_image(&state, &user, into, image, &alt, |element| {
        put_image(&mut form, element, false);
    })
    .await?;
    if let Err(more) = editor::parse_card(form.fields()) {
        // The front may still be empty: the image stays in the form, the preview waits.
        errors.extend(more);
    }
    if !errors.is_empty() {
        form.preview = None;
        return page_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &editor_on(&state, &user, *id, EditorView::default(), errors, form).await?,
        );
    }
    page(&editor_on(&state, &user, *id, EditorView::default(), Vec::new(), form).await?)
}

/// Keeps an uploaded image for the cloze note of card `id` and opens the editor on the card
/// with the image added to (or replacing the images of) the note's extra as typed, and the
/// note's cards previewed; nothing is saved until "Save note".
pub(super) async fn save_cloze_image(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<i64>,
    upload: MultipartForm<CardUpload>,
) -> Result<HttpResponse, AppError> {
    let Upload {
        mut note,
        image,
        alt,
        replace,
        ..
    } = upload_form(&req, &state, upload.into_inner()).await?;
    let into = ImageFor::Card(*id, true);
    let mut errors = keep_image(&state, &user, into, image, &alt, |element| {
        put_note_image(&mut note, element, replace);
    })
    .await?;
    let cards = match editor::parse_cloze(note.fields()) {
        Ok(parsed) => parsed
            .cards
            .iter()
            .map(|c| {
                (
                    c.number,
                    c.front.as_str().to_owned(),
                    c.back.as_str().to_owned(),
                )
            })
            .collect(),
        Err(more) => {
            errors.extend(more);
            Vec::new()
        }
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut shown = editor_on_card(&state, &user, *id, &note.q, errors, None, false).await?;
    if status == StatusCode::OK {
        shown.note_preview = cards;
    }
    shown.note_edit = Some((*id, note));
    page_with(status, &shown)
}

/// Puts an uploaded image into a cloze note's form: its text and extra turned to HTML if they
/// were plain text, the image after the extra, or in place of the images it shows when
/// `replace`.
fn put_note_image(note: &mut ClozeForm, element: &str, replace: bool) {
    if !crate::markup::is_html(&note.format) {
        note.text = crate::import::apkg::text_to_html(&note.text);
        note.extra = crate::import::apkg::text_to_html(&note.extra);
        note.format = "html".to_owned();
    }
    if replace {
        note.extra = crate::markup::without_images(&note.extra);
    }
    if !note.extra.trim().is_empty() {
        note.extra.push_str("<br>");
    }
    note.extra.push_str(element);
}
