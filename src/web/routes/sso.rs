//! University sign-on (OpenID Connect): the link that sends the browser to the provider, with
//! the flow cookie that binds the login to this browser, and the callback it comes back to.

use super::{Nav, see_other};
use crate::db::identities::IdentityRow;
use crate::domain::TimeZoneName;
use crate::study::sso::{self, Callback, Done, Failure};
use crate::web::error::AppError;
use crate::web::{Admin, AppState, CsrfForm, CurrentUser, MaybeUser, cookies, policy};
use actix_web::cookie::{Cookie, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

/// The cookie binding a login under way to the browser that started it.
pub const FLOW_COOKIE: &str = "studyhall_oidc";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/oidc/start").route(web::get().to(start_sign_on)))
        .service(web::resource("/auth/oidc/callback").route(web::get().to(finish_sign_on)))
        .service(web::resource("/account/identities/link").route(web::post().to(link_identity)))
        // Before the /admin scope (web::routes::configure registers this area first), which
        // would answer 404 for paths it does not know.
        .service(
            web::resource("/admin/users/{id}/identities").route(web::get().to(show_identities)),
        )
        .service(
            web::resource("/admin/users/{id}/identities/{identity}/unlink")
                .route(web::post().to(unlink_identity)),
        );
}

/// The account page's sign-on panel.
#[derive(Default)]
pub struct IdentitiesPanel {
    /// The identities linked to the account.
    pub linked: Vec<IdentityRow>,
    /// The providers (key, label) it may link.
    pub providers: Vec<(String, String)>,
}

/// The panel for `user`'s account page.
pub async fn identities_panel(
    state: &AppState,
    user: &CurrentUser,
) -> Result<IdentitiesPanel, AppError> {
    let buttons = state.sign_on.buttons();
    if buttons.is_empty() {
        return Ok(IdentitiesPanel::default());
    }
    Ok(IdentitiesPanel {
        linked: sso::identities_of(state.db.reader(), user.id).await?,
        providers: buttons,
    })
}

#[derive(Deserialize)]
struct LinkForm {
    #[serde(default)]
    provider: String,
}

/// A signed-in user links a provider: off to it, and back through the callback.
async fn link_identity(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    form: CsrfForm<LinkForm>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now().as_second();
    match sso::begin_link(
        state.db.writer(),
        &state.sign_on,
        &form.0.provider,
        user.id,
        super::client_ip(&req, &state),
        now,
    )
    .await
    {
        Ok(started) => {
            let mut response = see_other(&started.url);
            response
                .add_cookie(&flow_cookie(started.browser_token, state.secure_cookies))
                .map_err(|e| anyhow::anyhow!(e))?;
            Ok(response)
        }
        Err(failure) => failed(&state, failure),
    }
}

#[derive(Template)]
#[template(path = "admin/identities.html")]
struct IdentitiesPage {
    nav: Nav,
    user_id: i64,
    username: String,
    identities: Vec<IdentityRow>,
}

/// An admin's view of an account's identities.
async fn show_identities(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let user_id = path.into_inner();
    let (username, identities) =
        sso::account_identities(state.db.reader(), super::actor(&admin), user_id).await?;
    super::page(&IdentitiesPage {
        nav: Nav::for_user(&admin),
        user_id,
        username,
        identities,
    })
}

#[derive(Deserialize)]
struct Empty {}

/// An admin unlinks an identity.
async fn unlink_identity(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    path: web::Path<(i64, i64)>,
    _form: CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    let (user_id, identity_id) = path.into_inner();
    let now = state.clock.now().as_second();
    sso::unlink(
        state.db.writer(),
        &*state.sessions,
        super::actor(&admin),
        user_id,
        identity_id,
        now,
    )
    .await?;
    Ok(see_other(&format!("/admin/users/{user_id}/identities")))
}

#[derive(Deserialize)]
struct StartQuery {
    #[serde(default)]
    provider: String,
    next: Option<String>,
    /// The browser's time zone (added to the link by static/app.js), for a new account.
    time_zone: Option<String>,
}

#[derive(Deserialize)]
struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/sign_on_failed.html")]
struct FailedPage {
    nav: Nav,
    message: String,
    local_login: bool,
}

fn flow_cookie(value: String, secure: bool) -> Cookie<'static> {
    policy::PAGES.cookie(
        FLOW_COOKIE,
        value,
        secure,
        Some(CookieDuration::seconds(crate::auth::oidc::FLOW_SECONDS)),
    )
}

fn expired_flow_cookie(secure: bool) -> Cookie<'static> {
    let mut cookie = flow_cookie(String::new(), secure);
    cookie.make_removal();
    cookie
}

/// A failed sign-on's page: what happened and the way back, the flow cookie gone.
fn failed(state: &AppState, failure: Failure) -> Result<HttpResponse, AppError> {
    let status = match failure {
        Failure::Study(e) => return Err(e.into()),
        Failure::UnknownProvider => StatusCode::NOT_FOUND,
        Failure::Unreachable => StatusCode::SERVICE_UNAVAILABLE,
        Failure::Denied | Failure::BadState | Failure::Refused | Failure::LinkerGone => {
            StatusCode::BAD_REQUEST
        }
        Failure::Domain | Failure::Disabled | Failure::Unverified | Failure::MissingClaim => {
            StatusCode::FORBIDDEN
        }
        Failure::LinkedElsewhere => StatusCode::CONFLICT,
    };
    let page = FailedPage {
        nav: Nav::anonymous(),
        message: failure.to_string(),
        local_login: state.sign_on.settings().local_login,
    };
    let mut response = super::page_with(status, &page)?;
    response
        .add_cookie(&expired_flow_cookie(state.secure_cookies))
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok(response)
}

/// Sends the browser to the provider (a plain link on the login page starts it).
async fn start_sign_on(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeUser,
    query: web::Query<StartQuery>,
) -> Result<HttpResponse, AppError> {
    let next = query.next.as_deref().and_then(super::auth::safe_next);
    if user.0.is_some() {
        return Ok(see_other(next.as_deref().unwrap_or("/decks")));
    }
    let now = state.clock.now().as_second();
    // Only a zone that exists is kept; anything else is as if none was sent.
    let time_zone = query
        .time_zone
        .as_deref()
        .and_then(|z| TimeZoneName::parse(z).ok());
    match sso::begin(
        state.db.writer(),
        &state.sign_on,
        &query.provider,
        None,
        next.as_deref().unwrap_or(""),
        time_zone.as_ref(),
        super::client_ip(&req, &state),
        now,
    )
    .await
    {
        Ok(started) => {
            let mut response = see_other(&started.url);
            response
                .add_cookie(&flow_cookie(started.browser_token, state.secure_cookies))
                .map_err(|e| anyhow::anyhow!(e))?;
            Ok(response)
        }
        Err(failure) => failed(&state, failure),
    }
}

/// Where the provider sends the browser back.
async fn finish_sign_on(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeUser,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, AppError> {
    let browser = req.cookie(FLOW_COOKIE).map(|c| c.value().to_owned());
    let callback = Callback {
        state: query.state.as_deref(),
        code: query.code.as_deref(),
        error: query.error.as_deref(),
    };
    let now = state.clock.now().as_second();
    let done = sso::complete(
        state.db.writer(),
        &*state.sessions,
        &state.sign_on,
        browser.as_deref(),
        user.0.as_ref().map(|u| u.id),
        callback,
        now,
    )
    .await;
    let mut response = match done {
        Ok(Done::SignedOn {
            token,
            next,
            created,
        }) => {
            let to = match (next, created) {
                (Some(next), _) => next,
                (None, true) => "/decks?welcome=1".to_owned(),
                (None, false) => "/decks".to_owned(),
            };
            let mut response = see_other(&to);
            response
                .add_cookie(&cookies::session_cookie(token, state.secure_cookies))
                .map_err(|e| anyhow::anyhow!(e))?;
            response
        }
        Ok(Done::Linked) => see_other("/account?saved=linked"),
        Err(failure) => return failed(&state, failure),
    };
    response
        .add_cookie(&expired_flow_cookie(state.secure_cookies))
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok(response)
}
