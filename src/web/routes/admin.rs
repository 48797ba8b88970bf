//! Administration: importing deck files.

use super::{Nav, actor, page, page_with, see_other};
use crate::domain::DeckName;
use crate::import::Format;
use crate::study::import::ImportReport;
use crate::web::error::AppError;
use crate::web::{Admin, AppState, CsrfForm, Instructor, csrf};
use actix_multipart::form::{MultipartForm, MultipartFormConfig, tempfile::TempFile, text::Text};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use serde::Deserialize;

/// Largest deck file accepted, in bytes: an Anki package with a course's images. The upload
/// is streamed to a temporary file (never held in memory) and a package is read from there;
/// text files stay limited to `study::import::MAX_TEXT_FILE_BYTES`.
pub const IMPORT_LIMIT_BYTES: usize = 200 * 1024 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .app_data(
                MultipartFormConfig::default()
                    .total_limit(IMPORT_LIMIT_BYTES + 64 * 1024)
                    // The text fields only: the file goes to a temporary file.
                    .memory_limit(64 * 1024)
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
            .service(
                web::resource("/import")
                    .route(web::get().to(show_import))
                    .route(web::post().to(import_file)),
            )
            .service(web::resource("/import/preview").route(web::post().to(preview_import)))
            .service(web::resource("/import/confirm").route(web::post().to(confirm_import)))
            .service(web::resource("/users").route(web::get().to(list_users)))
            .service(web::resource("/users/{id}/role").route(web::post().to(set_role)))
            .service(
                web::resource("/users/{id}/disabled")
                    .route(web::post().to(set_disabled))
                    .route(web::get().to(confirm_disabled)),
            )
            .service(
                web::resource("/users/{id}/reset")
                    .route(web::post().to(reset_password))
                    .route(web::get().to(confirm_reset)),
            ),
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
    /// A preview refused for its deck's media limit and kept: the page offers to confirm
    /// it again.
    kept_token: Option<String>,
}

impl ImportPage {
    /// The import form for `user`, filled with `deck` and `format`.
    fn new(user: &crate::web::CurrentUser, deck: String, format: String) -> Self {
        Self {
            nav: Nav::for_user(user),
            deck,
            format,
            error: None,
            report: None,
            kept_token: None,
        }
    }
}

#[derive(MultipartForm)]
struct ImportUpload {
    #[multipart(limit = "200MiB")]
    file: Option<TempFile>,
    deck: Option<Text<String>>,
    format: Option<Text<String>>,
    csrf_token: Option<Text<String>>,
}

async fn show_import(Instructor(user): Instructor) -> Result<HttpResponse, AppError> {
    page(&ImportPage::new(&user, String::new(), "auto".to_owned()))
}

/// An upload whose CSRF token is right: its file, deck name and format ("auto" when absent).
async fn checked_upload(
    req: &HttpRequest,
    state: &AppState,
    upload: MultipartForm<ImportUpload>,
) -> Result<(Option<TempFile>, String, String), AppError> {
    let upload = upload.into_inner();
    let token = upload.csrf_token.as_ref().map_or("", |t| t.as_str());
    csrf::verify(req, state, token).await?;
    let deck = upload.deck.map(|t| t.into_inner()).unwrap_or_default();
    let format = upload
        .format
        .map(|t| t.into_inner())
        .unwrap_or_else(|| "auto".to_owned());
    Ok((upload.file, deck, format))
}

async fn import_file(
    state: web::Data<AppState>,
    req: HttpRequest,
    Instructor(user): Instructor,
    upload: MultipartForm<ImportUpload>,
) -> Result<HttpResponse, AppError> {
    let (file, deck, format) = checked_upload(&req, &state, upload).await?;
    let mut shown = ImportPage::new(&user, deck.clone(), format.clone());
    match read_and_import(&state, file, &deck, &format, &user).await {
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

/// Cards shown in each table of a preview; the counts cover the rest.
const PREVIEW_ROWS: usize = 200;

#[derive(Template)]
#[template(path = "admin/import_preview.html")]
struct PreviewPage {
    nav: Nav,
    preview: crate::study::import::ImportPreview,
    token: String,
    rows: usize,
}

#[derive(Deserialize)]
struct ConfirmImport {
    #[serde(default)]
    token: String,
}

/// Parses an upload and shows what importing it would do; nothing is imported until the
/// instructor confirms. The parsed cards wait in the database (not the file: what is
/// imported is exactly what was shown).
async fn preview_import(
    state: web::Data<AppState>,
    req: HttpRequest,
    Instructor(user): Instructor,
    upload: MultipartForm<ImportUpload>,
) -> Result<HttpResponse, AppError> {
    let (file, deck, format) = checked_upload(&req, &state, upload).await?;
    let pool = state.db.writer();
    let previewed = async {
        let _slot = crate::study::import::import_slot(&state.imports)?;
        let (parsed, file_name) = read_upload(file, &format).await?;
        let now_ms = state.clock.now().as_millisecond();
        crate::study::import::charge(&state.quotas, user.id, &parsed, now_ms)?;
        let name = deck_name(&deck, parsed.title.as_deref(), &file_name)?;
        Ok::<_, AppError>(
            crate::study::import::preview_for(pool, actor(&user), &name, parsed).await?,
        )
    }
    .await;
    let preview = match previewed {
        Ok(preview) => preview,
        Err(AppError::Validation(message)) => {
            return page_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ImportPage {
                    error: Some(message),
                    ..ImportPage::new(&user, deck, format)
                },
            );
        }
        Err(other) => return Err(other),
    };
    let token =
        crate::study::import::keep_preview(pool, actor(&user), &preview, state.clock.now()).await?;
    page(&PreviewPage {
        nav: Nav::for_user(&user),
        preview,
        token,
        rows: PREVIEW_ROWS,
    })
}

/// Imports the cards of the preview the instructor confirms.
async fn confirm_import(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    form: CsrfForm<ConfirmImport>,
) -> Result<HttpResponse, AppError> {
    let pool = state.db.writer();
    let mut shown = ImportPage::new(&user, String::new(), "auto".to_owned());
    // A place first: a busy server asks for a retry without taking the preview.
    let _slot = crate::study::import::import_slot(&state.imports)?;
    use crate::study::import::Confirmed;
    match crate::study::import::confirm_preview(
        pool,
        &*state.sessions,
        actor(&user),
        &form.0.token,
        state.clock.now().as_second(),
    )
    .await
    {
        Ok(Confirmed::Imported(report)) => {
            shown.report = Some(report);
            page(&shown)
        }
        Ok(Confirmed::Kept(message)) => {
            shown.error = Some(message);
            shown.kept_token = Some(form.0.token);
            page_with(StatusCode::UNPROCESSABLE_ENTITY, &shown)
        }
        Ok(Confirmed::Gone) => {
            shown.error = Some(
                "That preview was imported already, replaced by a newer one, or is over a day old: choose the file again."
                    .to_owned(),
            );
            page_with(StatusCode::UNPROCESSABLE_ENTITY, &shown)
        }
        Err(crate::study::StudyError::Validation(message)) => {
            shown.error = Some(message);
            page_with(StatusCode::UNPROCESSABLE_ENTITY, &shown)
        }
        Err(other) => Err(other.into()),
    }
}

/// An uploaded deck file, parsed and checked, and its name.
async fn read_upload(
    file: Option<TempFile>,
    format: &str,
) -> Result<(crate::import::ParsedDeck, String), AppError> {
    let file = file
        .filter(|f| f.size > 0)
        .ok_or_else(|| AppError::Validation("Choose a file to import.".to_owned()))?;
    let file_name = file.file_name.clone().unwrap_or_default();
    let format = match format {
        "auto" | "" | "apkg" => None,
        other => Some(
            Format::parse(other)
                .ok_or_else(|| AppError::Validation(format!("Unknown format '{other}'.")))?,
        ),
    };
    let parsed =
        crate::study::import::read_deck_upload(file.file.path().to_owned(), &file_name, format)
            .await?;
    Ok((parsed, file_name))
}

/// The deck name typed, else the file's title, else its name without the extension.
fn deck_name(typed: &str, title: Option<&str>, file_name: &str) -> Result<DeckName, AppError> {
    if typed.trim().is_empty() {
        let stem = file_name.rsplit_once('.').map_or(file_name, |(s, _)| s);
        Ok(DeckName::parse(title.unwrap_or(stem))?)
    } else {
        Ok(DeckName::parse(typed)?)
    }
}

async fn read_and_import(
    state: &AppState,
    file: Option<TempFile>,
    deck: &str,
    format: &str,
    user: &crate::web::CurrentUser,
) -> Result<ImportReport, AppError> {
    let now = state.clock.now().as_second();
    let _slot = crate::study::import::import_slot(&state.imports)?;
    let (parsed, file_name) = read_upload(file, format).await?;
    crate::study::import::charge(&state.quotas, user.id, &parsed, now * 1000)?;
    let name = deck_name(deck, parsed.title.as_deref(), &file_name)?;
    Ok(crate::study::import::import_as(
        state.db.writer(),
        &*state.sessions,
        actor(user),
        &name,
        &parsed,
        now,
    )
    .await?)
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    nav: Nav,
    search: String,
    users: Vec<UserLine>,
    notice: Option<&'static str>,
    temporary: Option<(String, String)>,
}

struct UserLine {
    id: i64,
    username: String,
    role: String,
    disabled: bool,
    must_change_password: bool,
    created: String,
    reviews: i64,
    is_me: bool,
}

#[derive(Deserialize)]
struct UsersQuery {
    #[serde(default)]
    q: String,
    /// Which change was just saved (see [`UserSaved`]).
    saved: Option<String>,
    /// The key of a temporary password to show once (see `auth::handover`).
    shown: Option<String>,
}

/// The changes the users page confirms after a redirect. The notice is one of these fixed
/// sentences, never text from the address: a link could otherwise make the admin's own page
/// say anything ("Saved: your session expired, log in at evil.example").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UserSaved {
    Role,
    Disabled,
    Enabled,
}

impl UserSaved {
    /// The value of `?saved=` for each change.
    const ALL: [(Self, &'static str); 3] = [
        (Self::Role, "role"),
        (Self::Disabled, "disabled"),
        (Self::Enabled, "enabled"),
    ];

    /// The change a `?saved=` value names; `None` for anything else.
    fn parse(raw: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, name)| *name == raw)
            .map(|(saved, _)| *saved)
    }

    /// The page to redirect to after this change.
    fn url(self) -> String {
        let name = Self::ALL
            .iter()
            .find(|(saved, _)| *saved == self)
            .map_or("", |(_, name)| name);
        format!("/admin/users?saved={name}")
    }

    /// What the page says.
    fn notice(self) -> &'static str {
        match self {
            Self::Role => "Saved: the new role applies from the user's next page.",
            Self::Disabled => "Saved: the account is disabled and its sessions have ended.",
            Self::Enabled => "Saved: the account is enabled again.",
        }
    }
}

#[derive(Deserialize)]
struct RoleForm {
    #[serde(default)]
    role: String,
}

#[derive(Deserialize)]
struct DisabledForm {
    #[serde(default)]
    disabled: String,
}

#[derive(Deserialize)]
struct Nothing {}

/// Most users listed at once; the search narrows the list.
const USER_LIST_LIMIT: i64 = 200;

async fn users_page(
    state: &AppState,
    admin: &crate::web::CurrentUser,
    search: &str,
    notice: Option<&'static str>,
    temporary: Option<(String, String)>,
) -> Result<UsersPage, AppError> {
    let users =
        crate::study::admin::users(state.db.reader(), actor(admin), search, USER_LIST_LIMIT)
            .await?
            .into_iter()
            .map(|u| UserLine {
                is_me: u.id == admin.id,
                created: crate::srs::day::date_of_day(
                    i32::try_from(u.created_at.div_euclid(86_400)).unwrap_or(0),
                )
                .to_string(),
                id: u.id,
                username: u.username,
                role: u.role,
                disabled: u.disabled,
                must_change_password: u.must_change_password,
                reviews: u.reviews,
            })
            .collect();
    Ok(UsersPage {
        nav: Nav::for_user(admin),
        search: search.to_owned(),
        users,
        notice,
        temporary,
    })
}

async fn list_users(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    query: web::Query<UsersQuery>,
) -> Result<HttpResponse, AppError> {
    let notice = query
        .saved
        .as_deref()
        .and_then(UserSaved::parse)
        .map(UserSaved::notice);
    let temporary = query.shown.as_deref().and_then(|key| {
        state
            .handover
            .take(key, admin.id, state.clock.now().as_second())
    });
    page(&users_page(&state, &admin, &query.q, notice, temporary).await?)
}

async fn set_role(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    id: web::Path<i64>,
    form: CsrfForm<RoleForm>,
) -> Result<HttpResponse, AppError> {
    crate::study::admin::set_role(
        state.db.writer(),
        &*state.sessions,
        actor(&admin),
        *id,
        &form.0.role,
    )
    .await?;
    Ok(see_other(&UserSaved::Role.url()))
}

async fn set_disabled(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    id: web::Path<i64>,
    form: CsrfForm<DisabledForm>,
) -> Result<HttpResponse, AppError> {
    let disabled = match form.0.disabled.as_str() {
        "1" => true,
        "0" => false,
        _ => return Err(AppError::BadRequest("disabled is 1 or 0.".to_owned())),
    };
    crate::study::admin::set_disabled(&state.db, &*state.sessions, actor(&admin), *id, disabled)
        .await?;
    Ok(see_other(
        &if disabled {
            UserSaved::Disabled
        } else {
            UserSaved::Enabled
        }
        .url(),
    ))
}

/// Resets a password and redirects to the user list, which shows the temporary password to
/// this admin once (never in a URL or a log): reloading that page resets nothing.
async fn reset_password(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    id: web::Path<i64>,
    _form: CsrfForm<Nothing>,
) -> Result<HttpResponse, AppError> {
    let (name, temporary) =
        crate::study::admin::reset_password(&state.db, &*state.sessions, actor(&admin), *id)
            .await?;
    let key = state
        .handover
        .put(admin.id, name, temporary, state.clock.now().as_second());
    Ok(see_other(&format!("/admin/users?shown={key}")))
}

#[derive(Template)]
#[template(path = "admin/confirm.html")]
struct ConfirmPage {
    nav: Nav,
    title: String,
    message: String,
    action: String,
    field: Option<(&'static str, &'static str)>,
    button: &'static str,
}

/// Asks before an action that locks a user out: disabling the account, or resetting the
/// password (which ends their sessions).
async fn confirm_user_action(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, action) = path.into_inner();
    let name = crate::study::admin::user_name(state.db.reader(), actor(&admin), id).await?;
    let confirm = match action.as_str() {
        "disabled" => ConfirmPage {
            nav: Nav::for_user(&admin),
            title: format!("Disable {name}?"),
            message: format!(
                "{name} will be logged out everywhere and cannot log in until an admin enables the account again. Their history is kept."
            ),
            action: format!("/admin/users/{id}/disabled"),
            field: Some(("disabled", "1")),
            button: "Disable the account",
        },
        "reset" => ConfirmPage {
            nav: Nav::for_user(&admin),
            title: format!("Reset {name}'s password?"),
            message: format!(
                "{name} will be logged out everywhere. You will see a temporary password once, to pass on privately; {name} must choose a new one after logging in with it."
            ),
            action: format!("/admin/users/{id}/reset"),
            field: None,
            button: "Reset the password",
        },
        _ => return Err(AppError::NotFound),
    };
    page(&confirm)
}

async fn confirm_disabled(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    confirm_user_action(state, admin, web::Path::from((*id, "disabled".to_owned()))).await
}

async fn confirm_reset(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    confirm_user_action(state, admin, web::Path::from((*id, "reset".to_owned()))).await
}
