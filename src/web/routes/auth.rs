//! Registering, logging in and out.

use super::{Nav, see_other};
use crate::auth::quota::Guesser;
use crate::config::Registration;
use crate::domain::{Password, Role, Username};
use crate::study::StudyError;
use crate::study::{accounts, classes};
use crate::web::error::AppError;
use crate::web::{AppState, CsrfForm, CurrentUser, MaybeUser, cookies, csrf};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").route(web::get().to(home)))
        .service(
            web::resource("/login")
                .route(web::get().to(show_login))
                .route(web::post().to(log_in)),
        )
        .service(web::resource("/logout").route(web::post().to(log_out)))
        .service(
            web::resource("/register")
                .route(web::get().to(show_register))
                .route(web::post().to(register)),
        );
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    nav: Nav,
    username: String,
    error: Option<String>,
    registration_open: bool,
}

#[derive(Template)]
#[template(path = "auth/register.html")]
struct RegisterPage {
    nav: Nav,
    username: String,
    errors: Vec<String>,
    open: bool,
    time_zone: String,
    zones: &'static [String],
}

/// Every time zone name the bundled database knows, for the registration form's list.
fn zone_names() -> &'static [String] {
    static NAMES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        let mut names: Vec<String> = jiff::tz::db()
            .available()
            .map(|n| n.as_str().to_owned())
            .filter(|n| n.contains('/') || n == "UTC")
            .collect();
        names.sort();
        names
    });
    &NAMES
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
struct RegisterForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
    /// An optional class join code.
    #[serde(default)]
    code: String,
    /// The browser's time zone (filled by the page's script; typed or picked without it).
    #[serde(default)]
    time_zone: String,
}

#[derive(Deserialize)]
struct Empty {}

/// Renders an anonymous form page, setting the pre-login CSRF cookie when the browser has none.
fn anonymous_page(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    build: impl FnOnce(Nav) -> Result<String, askama::Error>,
) -> Result<HttpResponse, AppError> {
    let (token, cookie) = csrf::form_token(req, state, None)?;
    let mut response = HttpResponse::build(status);
    if let Some(cookie) = cookie {
        response.cookie(cookie);
    }
    Ok(response
        .content_type("text/html; charset=utf-8")
        .body(build(Nav::with_token(token))?))
}

#[derive(Template)]
#[template(path = "auth/welcome.html")]
struct WelcomePage {
    nav: Nav,
    registration_open: bool,
}

/// A logged-out visitor sees what the site is and where to go; a user, their decks.
async fn home(state: web::Data<AppState>, user: MaybeUser) -> Result<HttpResponse, AppError> {
    if user.0.is_some() {
        return Ok(see_other("/decks"));
    }
    let registration_open = state.registration == Registration::Open;
    super::page(&WelcomePage {
        nav: Nav::anonymous(),
        registration_open,
    })
}

async fn show_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeUser,
) -> Result<HttpResponse, AppError> {
    if user.0.is_some() {
        return Ok(see_other("/decks"));
    }
    let open = state.registration == Registration::Open;
    anonymous_page(&req, &state, StatusCode::OK, |nav| {
        LoginPage {
            nav,
            username: String::new(),
            error: None,
            registration_open: open,
        }
        .render()
    })
}

async fn log_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CsrfForm<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.0;
    let now = state.clock.now().as_second();
    let ip = super::client_ip(&req, &state);
    match accounts::authenticate(
        state.db.reader(),
        &state.throttle,
        ip,
        &form.username,
        &form.password,
        now,
    )
    .await
    {
        Ok(user_id) => {
            let token = accounts::start_session(state.db.writer(), user_id, now).await?;
            let cookie = cookies::session_cookie(token, state.secure_cookies);
            // The oldest session may have ended: drop any cached copy of it.
            state.sessions.forget_user(user_id);
            let mut response = see_other("/decks");
            response
                .add_cookie(&cookie)
                .map_err(|e| anyhow::anyhow!(e))?;
            Ok(response)
        }
        Err(StudyError::Validation(message)) => {
            let open = state.registration == Registration::Open;
            anonymous_page(&req, &state, StatusCode::UNPROCESSABLE_ENTITY, |nav| {
                LoginPage {
                    nav,
                    username: form.username,
                    error: Some(message),
                    registration_open: open,
                }
                .render()
            })
        }
        Err(other) => Err(other.into()),
    }
}

async fn log_out(
    state: web::Data<AppState>,
    user: CurrentUser,
    _form: CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    crate::db::sessions::delete(state.db.writer(), user.session_id).await?;
    state.sessions.forget_user(user.id);
    let mut response = see_other("/login");
    response
        .add_cookie(&cookies::expired_session_cookie(state.secure_cookies))
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok(response)
}

async fn show_register(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeUser,
) -> Result<HttpResponse, AppError> {
    if user.0.is_some() {
        return Ok(see_other("/decks"));
    }
    let open = state.registration == Registration::Open;
    anonymous_page(&req, &state, StatusCode::OK, |nav| {
        RegisterPage {
            nav,
            username: String::new(),
            errors: Vec::new(),
            open,
            time_zone: "UTC".to_owned(),
            zones: zone_names(),
        }
        .render()
    })
}

async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CsrfForm<RegisterForm>,
) -> Result<HttpResponse, AppError> {
    if state.registration == Registration::Closed {
        return Err(AppError::Forbidden(
            "Registration is closed; ask an administrator for an account.".to_owned(),
        ));
    }
    let form = form.0;
    let now = state.clock.now().as_second();
    let ip = super::client_ip(&req, &state);
    let mut errors = Vec::new();
    let username = Username::parse(&form.username)
        .map_err(|e| errors.push(e.0))
        .ok();
    let password = Password::parse(&form.password, form.username.trim())
        .map_err(|e| errors.push(e.0))
        .ok();
    if form.password != form.confirm {
        errors.push("The two passwords differ.".to_owned());
    }
    let created = match (username, password) {
        (Some(u), Some(p)) if errors.is_empty() => {
            // The join code only once the rest of the form is right: a form with another
            // mistake says nothing of the code and uses no attempt of its budget.
            let class = if form.code.trim().is_empty() {
                Ok(None)
            } else {
                let guesser = Guesser::Name(form.username.clone());
                classes::class_for_code(
                    state.db.reader(),
                    &state.quotas,
                    &guesser,
                    ip,
                    &form.code,
                    state.clock.now(),
                )
                .await
                .map(Some)
            };
            match class {
                Ok(class) => register_student(&state, ip, &u, &p, now, &mut errors)
                    .await?
                    .map(|id| (id, class)),
                Err(StudyError::Validation(message)) => {
                    errors.push(message);
                    None
                }
                Err(other) => return Err(other.into()),
            }
        }
        _ => None,
    };
    let Some((user_id, class)) = created else {
        return anonymous_page(&req, &state, StatusCode::UNPROCESSABLE_ENTITY, |nav| {
            RegisterPage {
                nav,
                username: form.username,
                errors,
                open: true,
                time_zone: form.time_zone,
                zones: zone_names(),
            }
            .render()
        });
    };
    if let Ok(zone) = crate::domain::TimeZoneName::parse(&form.time_zone) {
        crate::db::users::set_time_zone(state.db.writer(), user_id, zone.as_str()).await?;
    }
    let mut next = "/decks?welcome=1".to_owned();
    if let Some(class_id) = class {
        crate::db::classes::join(state.db.writer(), class_id, user_id, now).await?;
        next.push_str(&format!("&joined={class_id}"));
    }
    let token = accounts::start_session(state.db.writer(), user_id, now).await?;
    let cookie = cookies::session_cookie(token, state.secure_cookies);
    let mut response = see_other(&next);
    response
        .add_cookie(&cookie)
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok(response)
}

/// Creates a student's account within the address's registration budget; a taken name goes
/// to `errors` (None).
async fn register_student(
    state: &crate::web::startup::AppState,
    ip: std::net::IpAddr,
    username: &Username,
    password: &Password,
    now: i64,
    errors: &mut Vec<String>,
) -> Result<Option<i64>, AppError> {
    // Each registration hashes a password: limited per address like logins.
    state
        .throttle
        .register(ip, now)
        .map_err(|retry_after_secs| AppError::TooManyRequests { retry_after_secs })?;
    match accounts::register(state.db.writer(), username, password, Role::Student, now).await {
        Ok(id) => Ok(Some(id)),
        Err(StudyError::Validation(message)) => {
            errors.push(message);
            Ok(None)
        }
        Err(busy @ StudyError::Busy { .. }) => {
            state.throttle.refund_registration(ip);
            Err(busy.into())
        }
        Err(other) => Err(other.into()),
    }
}
