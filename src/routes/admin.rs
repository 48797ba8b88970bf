//! Administration: importing deck files.

use super::{Nav, page, page_with};
use crate::auth::{Admin, csrf, user::app_state};
use crate::domain::DeckName;
use crate::error::AppError;
use crate::import::{self, Format};
use crate::study::import::{ImportReport, import_deck};
use actix_multipart::form::{MultipartForm, MultipartFormConfig, bytes::Bytes, text::Text};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, get, post, web};
use askama::Template;

/// Largest deck file accepted, in bytes.
pub const IMPORT_LIMIT_BYTES: usize = 2 * 1024 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .app_data(
                MultipartFormConfig::default()
                    .total_limit(IMPORT_LIMIT_BYTES + 64 * 1024)
                    .memory_limit(IMPORT_LIMIT_BYTES + 64 * 1024)
                    .error_handler(|e, _| {
                        if too_large(&e) {
                            AppError::PayloadTooLarge(format!(
                                "Deck files are limited to {} MiB.",
                                IMPORT_LIMIT_BYTES / 1024 / 1024
                            ))
                            .into()
                        } else {
                            AppError::BadRequest(format!("The upload could not be read: {e}."))
                                .into()
                        }
                    }),
            )
            .service(show_import)
            .service(import_file),
    );
}

/// Whether a multipart failure is a size limit: a field's own limit reports 413 inside
/// `Field`, the form's total limit a payload overflow (which the crate maps to 400).
fn too_large(e: &actix_multipart::MultipartError) -> bool {
    use actix_multipart::MultipartError;
    match e {
        MultipartError::Payload(actix_web::error::PayloadError::Overflow) => true,
        other => other.status_code() == StatusCode::PAYLOAD_TOO_LARGE,
    }
}

#[derive(Template)]
#[template(path = "admin/import.html")]
struct ImportPage {
    nav: Nav,
    deck: String,
    format: String,
    error: Option<String>,
    report: Option<ImportReport>,
}

#[derive(MultipartForm)]
struct ImportUpload {
    #[multipart(limit = "2MiB")]
    file: Option<Bytes>,
    deck: Option<Text<String>>,
    format: Option<Text<String>>,
    csrf_token: Option<Text<String>>,
}

#[get("/import")]
async fn show_import(Admin(user): Admin) -> Result<HttpResponse, AppError> {
    page(&ImportPage {
        nav: Nav::for_user(&user),
        deck: String::new(),
        format: "auto".to_owned(),
        error: None,
        report: None,
    })
}

#[post("/import")]
async fn import_file(
    req: HttpRequest,
    Admin(user): Admin,
    upload: MultipartForm<ImportUpload>,
) -> Result<HttpResponse, AppError> {
    let upload = upload.into_inner();
    let token = upload.csrf_token.as_ref().map_or("", |t| t.as_str());
    csrf::verify(&req, token).await?;
    let state = app_state(&req)?;
    let deck = upload.deck.map(|t| t.into_inner()).unwrap_or_default();
    let format = upload
        .format
        .map(|t| t.into_inner())
        .unwrap_or_else(|| "auto".to_owned());
    let mut shown = ImportPage {
        nav: Nav::for_user(&user),
        deck: deck.clone(),
        format: format.clone(),
        error: None,
        report: None,
    };
    match read_and_import(
        state.db.writer(),
        upload.file,
        &deck,
        &format,
        user.id,
        state.clock.now().as_second(),
    )
    .await
    {
        Ok(report) => {
            shown.report = Some(report);
            shown.deck = String::new();
            page(&shown)
        }
        Err(AppError::Validation(message)) => {
            shown.error = Some(message);
            page_with(StatusCode::UNPROCESSABLE_ENTITY, &shown)
        }
        Err(other) => Err(other),
    }
}

async fn read_and_import(
    pool: &sqlx::SqlitePool,
    file: Option<Bytes>,
    deck: &str,
    format: &str,
    owner_id: i64,
    now: i64,
) -> Result<ImportReport, AppError> {
    let file = file
        .filter(|f| !f.data.is_empty())
        .ok_or_else(|| AppError::Validation("Choose a file to import.".to_owned()))?;
    let file_name = file.file_name.clone().unwrap_or_default();
    let text = std::str::from_utf8(&file.data).map_err(|e| {
        AppError::Validation(format!(
            "The file is not UTF-8 text (the first bad byte is at offset {}).",
            e.valid_up_to()
        ))
    })?;
    let format = match format {
        "auto" | "" => Format::detect(&file_name, text),
        other => Format::parse(other)
            .ok_or_else(|| AppError::Validation(format!("Unknown format '{other}'.")))?,
    };
    let parsed = import::parse(format, text)?;
    let name = if deck.trim().is_empty() {
        let stem = file_name
            .rsplit_once('.')
            .map_or(file_name.as_str(), |(s, _)| s);
        DeckName::parse(parsed.title.as_deref().unwrap_or(stem))?
    } else {
        DeckName::parse(deck)?
    };
    import_deck(pool, &name, &parsed, Some(owner_id), now).await
}
