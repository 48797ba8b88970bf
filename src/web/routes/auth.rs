//! Registering, logging in and out.

use super::{Nav, see_other};
use crate::config::Registration;
use crate::domain::{Password, TimeZoneName, Username};
use crate::study::StudyError;
use crate::study::{accounts, registration};
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
    /// Where to go once logged in (a class's join link), if not the decks.
    next: Option<String>,
    /// The sign-on providers' (key, button label).
    providers: Vec<(String, String)>,
    /// Whether the password reset by e-mail is on (the "Forgot" link).
    forgot: bool,
}

impl LoginPage {
    /// The registration link, carrying a join link's code so the new account joins the class.
    fn register_url(&self) -> String {
        match self.next.as_deref().and_then(join_code_of) {
            Some(code) => format!("/register?code={code}"),
            None => "/register".to_owned(),
        }
    }
}

/// Where a login may send the browser next: only a class's join link (/classes/join/{code},
/// letters and digits), so that no link can send a fresh login to another site or to a page
/// that acts.
pub(super) fn safe_next(next: &str) -> Option<String> {
    join_code_of(next).map(|code| format!("/classes/join/{code}"))
}

/// The code of a join link's path.
fn join_code_of(path: &str) -> Option<&str> {
    path.strip_prefix("/classes/join/")
        .filter(|code| (1..=32).contains(&code.len()))
        .filter(|code| code.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// `?next=` on the login page.
#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// `?code=` on the registration page (from a join link).
#[derive(Deserialize)]
struct CodeQuery {
    code: Option<String>,
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
    /// The class code as given (by a join link) or typed.
    code: String,
    /// The sign-on providers' (key, button label).
    providers: Vec<(String, String)>,
    /// Where a sign-on goes next (the join link of the code given), if anywhere.
    next: Option<String>,
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
    /// Where to go once logged in (`safe_next`).
    #[serde(default)]
    next: String,
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
pub(super) fn anonymous_page(
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

/// After logging out of a signed-on session: on to the provider's end-session page.
#[derive(Template)]
#[template(path = "auth/logged_out.html")]
struct LoggedOutPage {
    nav: Nav,
    url: String,
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
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    let next = query.next.as_deref().and_then(safe_next);
    if user.0.is_some() {
        return Ok(see_other(next.as_deref().unwrap_or("/decks")));
    }
    let open = state.registration == Registration::Open;
    anonymous_page(&req, &state, StatusCode::OK, |nav| {
        LoginPage {
            nav,
            username: String::new(),
            error: None,
            registration_open: open,
            forgot: state.mail.is_some(),
            next,
            providers: state.sign_on.buttons(),
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
    match accounts::log_in(
        &state.db,
        &*state.sessions,
        &state.throttle,
        if state.sign_on.settings().local_login {
            accounts::Passwords::Everyone
        } else {
            accounts::Passwords::BreakGlassOnly
        },
        ip,
        &form.username,
        &form.password,
        now,
    )
    .await
    {
        Ok(token) => {
            let cookie = cookies::session_cookie(token, state.secure_cookies);
            let mut response = see_other(safe_next(&form.next).as_deref().unwrap_or("/decks"));
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
                    forgot: state.mail.is_some(),
                    next: safe_next(&form.next),
                    providers: state.sign_on.buttons(),
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
    // A signed-on session logs out at its provider too, where it offers that.
    let provider_logout =
        crate::study::sso::logout_destination(state.db.reader(), &state.sign_on, user.session_id)
            .await?;
    accounts::log_out(
        state.db.writer(),
        &*state.sessions,
        user.id,
        user.session_id,
    )
    .await?;
    let mut response = match provider_logout {
        // A page, not a redirect: the form's page allows posting only to this site
        // (`form-action 'self'`), which browsers apply to a form's redirects too. The page
        // sends the browser on at once (`Refresh`), with a link for browsers that do not.
        Some(url) => {
            let mut response = super::page(&LoggedOutPage {
                nav: Nav::anonymous(),
                url: url.clone(),
            })?;
            let refresh = actix_web::http::header::HeaderValue::from_str(&format!("0; url={url}"))
                .map_err(|e| anyhow::anyhow!(e))?;
            response.headers_mut().insert(
                actix_web::http::header::HeaderName::from_static("refresh"),
                refresh,
            );
            response
        }
        None => see_other("/login"),
    };
    response
        .add_cookie(&cookies::expired_session_cookie(state.secure_cookies))
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok(response)
}

async fn show_register(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeUser,
    query: web::Query<CodeQuery>,
) -> Result<HttpResponse, AppError> {
    if user.0.is_some() {
        return Ok(see_other("/decks"));
    }
    let open = state.registration == Registration::Open;
    let next = query
        .code
        .as_deref()
        .map(crate::study::classes::normalise_code)
        .and_then(|code| safe_next(&format!("/classes/join/{code}")));
    anonymous_page(&req, &state, StatusCode::OK, |nav| {
        RegisterPage {
            providers: state.sign_on.buttons(),
            next,
            nav,
            username: String::new(),
            errors: Vec::new(),
            open,
            time_zone: "UTC".to_owned(),
            zones: zone_names(),
            code: query
                .code
                .as_deref()
                .map(crate::study::classes::normalise_code)
                .unwrap_or_default()
                .chars()
                .take(32)
                .collect(),
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
    // An empty field (no script, nothing typed) keeps UTC; a typed name must be a known zone,
    // refused as /account refuses it, rather than quietly stored as UTC.
    let time_zone = if form.time_zone.trim().is_empty() {
        Some(None)
    } else {
        TimeZoneName::parse(&form.time_zone)
            .map(Some)
            .map_err(|e| errors.push(e.0))
            .ok()
    };
    if let (Some(username), Some(password), Some(time_zone), true) =
        (&username, &password, time_zone, errors.is_empty())
    {
        let application = registration::Application {
            username,
            password,
            code: Some(form.code.as_str()).filter(|c| !c.trim().is_empty()),
            time_zone,
        };
        let guards = registration::Guards {
            quotas: &state.quotas,
            throttle: &state.throttle,
        };
        let ip = super::client_ip(&req, &state);
        match registration::register(
            state.db.writer(),
            guards,
            ip,
            application,
            state.clock.now(),
        )
        .await
        {
            Ok(registered) => return signed_in(&state, registered),
            Err(StudyError::Validation(message)) => errors.push(message),
            Err(other) => return Err(other.into()),
        }
    }
    anonymous_page(&req, &state, StatusCode::UNPROCESSABLE_ENTITY, |nav| {
        RegisterPage {
            providers: state.sign_on.buttons(),
            next: None,
            nav,
            username: form.username,
            errors,
            open: true,
            time_zone: form.time_zone,
            zones: zone_names(),
            code: form.code.chars().take(32).collect(),
        }
        .render()
    })
}

/// The new account's first page, with its session cookie.
fn signed_in(
    state: &AppState,
    registered: registration::Registered,
) -> Result<HttpResponse, AppError> {
    let mut next = "/decks?welcome=1".to_owned();
    if let Some(class_id) = registered.joined {
        next.push_str(&format!("&joined={class_id}"));
    }
    let cookie = cookies::session_cookie(registered.token, state.secure_cookies);
    let mut response = see_other(&next);
    response
        .add_cookie(&cookie)
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn a_login_goes_on_only_to_a_join_link() {
        assert_eq!(
            safe_next("/classes/join/ABCD234567").as_deref(),
            Some("/classes/join/ABCD234567")
        );
        for elsewhere in [
            "",
            "/decks",
            "/classes/join/",
            "https://evil.example/classes/join/ABC",
            "//evil.example/classes/join/ABC",
            "/classes/join/ABC/../../admin/users",
            "/classes/join/ABC?x=1",
            "/classes/join/AB%0d%0aSet-Cookie:x",
            &format!("/classes/join/{}", "A".repeat(33)),
        ] {
            assert_eq!(safe_next(elsewhere), None, "{elsewhere:?}");
        }
    }
}
