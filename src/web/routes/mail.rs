//! Mail's pages (issue 27): the address on /account (its form is in
//! `templates/account/_email.html`), its confirmation link, and the password reset by e-mail.
//! Without SMTP settings every one of them is a 404 and no page links to them.

use super::auth::anonymous_page;
use super::{Nav, page_with, see_other};
use crate::domain::{EmailAddress, Password};
use crate::mail::Site;
use crate::study::{StudyError, mail, reminders};
use crate::web::error::AppError;
use crate::web::{AppState, CsrfForm, CurrentUser, MaybeUser};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/account/email").route(web::post().to(set_address)))
        .service(web::resource("/account/email/remove").route(web::post().to(remove_address)))
        .service(
            web::resource("/account/email/confirm")
                .route(web::get().to(show_confirm))
                .route(web::post().to(confirm_address)),
        )
        .service(web::resource("/account/reminders").route(web::post().to(choose_reminders)))
        .service(
            web::resource("/mail/unsubscribe")
                .route(web::get().to(show_unsubscribe))
                .route(web::post().to(unsubscribe)),
        )
        .service(
            web::resource("/password/forgot")
                .route(web::get().to(show_forgot))
                .route(web::post().to(request_reset)),
        )
        .service(
            web::resource("/password/reset")
                .route(web::get().to(show_reset))
                .route(web::post().to(complete_reset)),
        );
}

/// The site's mail, or 404 when the operator set up none.
fn site(state: &AppState) -> Result<&Site, AppError> {
    state.mail.as_ref().ok_or(AppError::NotFound)
}

/// The address part of /account.
#[derive(Debug, Clone, Default)]
pub struct EmailView {
    /// The address given, if any.
    pub address: String,
    /// Whether it is confirmed.
    pub confirmed: bool,
    /// What was wrong with the last form.
    pub errors: Vec<String>,
    /// Reminders: `off`, `daily` or `weekly`.
    pub reminders: &'static str,
    /// Their local hour.
    pub remind_hour: String,
}

/// The address part of /account for `user`, None without mail.
pub(super) async fn email_view(
    state: &AppState,
    user: &CurrentUser,
) -> Result<Option<EmailView>, AppError> {
    if state.mail.is_none() {
        return Ok(None);
    }
    let address = mail::address_of(state.db.reader(), user.id).await?;
    let reminders = reminders::of(&state.db, user.id).await?;
    Ok(Some(EmailView {
        address: address
            .as_ref()
            .map(|a| a.address.clone())
            .unwrap_or_default(),
        confirmed: address.is_some_and(|a| a.confirmed),
        errors: Vec::new(),
        reminders: match reminders {
            None => "off",
            Some((_, false)) => "daily",
            Some((_, true)) => "weekly",
        },
        remind_hour: reminders.map_or_else(|| "18".to_owned(), |(h, _)| h.to_string()),
    }))
}

#[derive(Deserialize)]
struct AddressForm {
    #[serde(default)]
    address: String,
}

async fn set_address(
    state: web::Data<AppState>,
    user: CurrentUser,
    form: CsrfForm<AddressForm>,
) -> Result<HttpResponse, AppError> {
    let site = site(&state)?;
    super::spend_write(&state, &user)?;
    let error = match EmailAddress::parse(&form.0.address) {
        Ok(address) => {
            match mail::set_address(&state.db, site, user.id, &address, state.clock.now()).await {
                Ok(()) => return Ok(see_other("/account?saved=email#email")),
                Err(StudyError::Validation(message)) => message,
                Err(other) => return Err(other.into()),
            }
        }
        Err(e) => e.0,
    };
    let mut account = super::account::account_page(&state, &user).await?;
    if let Some(view) = account.email.as_mut() {
        view.address = form.0.address.chars().take(254).collect();
        view.confirmed = false;
        view.errors.push(error);
    }
    page_with(StatusCode::UNPROCESSABLE_ENTITY, &account)
}

#[derive(Deserialize)]
struct Nothing {}

async fn remove_address(
    state: web::Data<AppState>,
    user: CurrentUser,
    _form: CsrfForm<Nothing>,
) -> Result<HttpResponse, AppError> {
    site(&state)?;
    mail::remove_address(&state.db, user.id, state.clock.now().as_second()).await?;
    Ok(see_other("/account?saved=email-removed#email"))
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Template)]
#[template(path = "mail/confirmed.html")]
struct ConfirmedPage {
    nav: Nav,
    token: String,
    /// None: asking (the link is live); Some(true): confirmed; Some(false): a dead link.
    confirmed: Option<bool>,
}

fn nav_of(user: &MaybeUser) -> Nav {
    match &user.0 {
        Some(user) => Nav::for_user(user),
        None => Nav::anonymous(),
    }
}

/// A confirmation link opened (from any browser, signed in or not): a button, so that a mail
/// program's link checker opening it confirms nothing.
async fn show_confirm(
    state: web::Data<AppState>,
    user: MaybeUser,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    site(&state)?;
    let now = state.clock.now().as_second();
    let live = mail::confirmation_is_live(&state.db, &query.token, now).await?;
    let (status, confirmed) = if live {
        (StatusCode::OK, None)
    } else {
        (StatusCode::BAD_REQUEST, Some(false))
    };
    page_with(
        status,
        &ConfirmedPage {
            nav: nav_of(&user),
            token: query.into_inner().token,
            confirmed,
        },
    )
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    token: String,
}

/// The confirmation page's button. No session and no CSRF token, as the unsubscribe button:
/// the link's own token, which only the address's reader has, is the authority, and it can
/// only confirm the address it was sent to.
async fn confirm_address(
    state: web::Data<AppState>,
    user: MaybeUser,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    site(&state)?;
    let token = serde_urlencoded::from_bytes::<ConfirmForm>(&body)
        .map(|f| f.token)
        .unwrap_or_default();
    let now = state.clock.now().as_second();
    let confirmed = mail::confirm_address(&state.db, &token, now).await?;
    let status = if confirmed {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    page_with(
        status,
        &ConfirmedPage {
            nav: nav_of(&user),
            token: String::new(),
            confirmed: Some(confirmed),
        },
    )
}

#[derive(Template)]
#[template(path = "mail/forgot.html")]
struct ForgotPage {
    nav: Nav,
    name: String,
    sent: bool,
}

async fn show_forgot(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    site(&state)?;
    anonymous_page(&req, &state, StatusCode::OK, |nav| {
        ForgotPage {
            nav,
            name: String::new(),
            sent: false,
        }
        .render()
    })
}

#[derive(Deserialize)]
struct ForgotForm {
    #[serde(default)]
    name: String,
}

/// Asks for a reset link: the same answer whether or not the account exists.
async fn request_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CsrfForm<ForgotForm>,
) -> Result<HttpResponse, AppError> {
    let queue = state.resets.as_ref().ok_or(AppError::NotFound)?;
    let ip = super::client_ip(&req, &state);
    mail::request_reset(
        queue,
        &state.throttle,
        ip,
        &form.0.name,
        !state.sign_on.settings().local_login,
        state.clock.now(),
    )?;
    anonymous_page(&req, &state, StatusCode::OK, |nav| {
        ForgotPage {
            nav,
            name: String::new(),
            sent: true,
        }
        .render()
    })
}

#[derive(Template)]
#[template(path = "mail/reset.html")]
struct ResetPage {
    nav: Nav,
    token: String,
    /// The account's name, while the link is live.
    username: Option<String>,
    errors: Vec<String>,
    done: bool,
}

async fn show_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    site(&state)?;
    let now = state.clock.now().as_second();
    let username = mail::reset_for(&state.db, &query.token, now).await?;
    let status = if username.is_some() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let token = query.into_inner().token;
    anonymous_page(&req, &state, status, |nav| {
        ResetPage {
            nav,
            token,
            username,
            errors: Vec::new(),
            done: false,
        }
        .render()
    })
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

async fn complete_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CsrfForm<ResetForm>,
) -> Result<HttpResponse, AppError> {
    site(&state)?;
    let form = form.0;
    let now = state.clock.now().as_second();
    let username = mail::reset_for(&state.db, &form.token, now).await?;
    let mut errors = Vec::new();
    let mut done = false;
    if let Some(name) = &username {
        if form.new != form.confirm {
            errors.push("The two passwords differ.".to_owned());
        }
        match Password::parse(&form.new, name) {
            Ok(new) if errors.is_empty() => {
                done = mail::complete_reset(&state.db, &*state.sessions, &form.token, &new, now)
                    .await?;
            }
            Ok(_) => {}
            Err(e) => errors.push(e.0),
        }
    }
    let status = match (&username, done, errors.is_empty()) {
        (None, ..) | (Some(_), false, true) => StatusCode::BAD_REQUEST,
        (Some(_), false, false) => StatusCode::UNPROCESSABLE_ENTITY,
        (Some(_), true, _) => StatusCode::OK,
    };
    // A link that stopped working between the two reads shows as not working.
    let username = if !done && errors.is_empty() {
        None
    } else {
        username
    };
    anonymous_page(&req, &state, status, |nav| {
        ResetPage {
            nav,
            token: form.token,
            username,
            errors,
            done,
        }
        .render()
    })
}

#[derive(Deserialize)]
struct RemindersForm {
    #[serde(default)]
    reminders: String,
    #[serde(default)]
    hour: String,
}

/// Turns reminders on (daily or weekly, at a local hour) or off.
async fn choose_reminders(
    state: web::Data<AppState>,
    user: CurrentUser,
    form: CsrfForm<RemindersForm>,
) -> Result<HttpResponse, AppError> {
    site(&state)?;
    let form = form.0;
    let hour = form
        .hour
        .trim()
        .parse::<u8>()
        .ok()
        .filter(|h| *h < 24)
        .ok_or_else(|| "The hour is a whole number from 0 to 23.".to_owned());
    let chosen = match (form.reminders.as_str(), hour) {
        ("off", _) => Ok((None, false)),
        ("daily", Ok(h)) => Ok((Some(h), false)),
        ("weekly", Ok(h)) => Ok((Some(h), true)),
        ("daily" | "weekly", Err(e)) => Err(e),
        _ => Err("Choose none, daily or weekly.".to_owned()),
    };
    let error = match chosen {
        Ok((hour, weekly)) => match reminders::choose(&state.db, user.id, hour, weekly).await {
            Ok(()) => return Ok(see_other("/account?saved=reminders#email")),
            Err(StudyError::Validation(message)) => message,
            Err(other) => return Err(other.into()),
        },
        Err(message) => message,
    };
    let mut account = super::account::account_page(&state, &user).await?;
    if let Some(view) = account.email.as_mut() {
        view.errors.push(error);
    }
    page_with(StatusCode::UNPROCESSABLE_ENTITY, &account)
}

#[derive(Template)]
#[template(path = "mail/unsubscribe.html")]
struct UnsubscribePage {
    nav: Nav,
    token: String,
    /// None: asking; Some(true): done; Some(false): an unknown link.
    done: Option<bool>,
}

/// The unsubscribe link opened in a browser: a button, so that a link checker opening it
/// changes nothing.
async fn show_unsubscribe(
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    site(&state)?;
    page_with(
        StatusCode::OK,
        &UnsubscribePage {
            nav: Nav::anonymous(),
            token: query.into_inner().token,
            done: None,
        },
    )
}

#[derive(Deserialize)]
struct UnsubscribeForm {
    #[serde(default)]
    token: String,
}

/// RFC 8058's one-click unsubscribe (a mail program posts `List-Unsubscribe=One-Click` to the
/// link, with no cookie and no CSRF token: the link's own token is the authority), and the
/// page's button. Idempotent.
async fn unsubscribe(
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    site(&state)?;
    // The link carries its token; the page's button posts it as a form field. A mail
    // program's body (form-encoded or multipart, RFC 8058) is not needed.
    let token = if query.token.is_empty() {
        serde_urlencoded::from_bytes::<UnsubscribeForm>(&body)
            .map(|f| f.token)
            .unwrap_or_default()
    } else {
        query.into_inner().token
    };
    let known = reminders::unsubscribe(&state.db, &token).await?;
    let status = if known {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    page_with(
        status,
        &UnsubscribePage {
            nav: Nav::anonymous(),
            token: String::new(),
            done: Some(known),
        },
    )
}
