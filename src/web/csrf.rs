//! Cross-site request forgery defence, in one place for every form:
//! 1. the request's Origin (or Referer) must be this site when the browser sends one;
//! 2. the form's `csrf_token` must equal the session's token, or, before login, the token of
//!    the `studyhall_csrf` cookie (double-submit), compared in constant time. A pre-login
//!    token counts only if this site signed it ([`AnonKey`](crate::auth::csrf_key::AnonKey)) and it has not expired: a token
//!    of the right shape that the site never issued, planted as a cookie by someone who can
//!    write cookies for the host (a sibling subdomain, a network attacker on plain http),
//!    is refused.
//!
//! `CsrfForm<T>` reads the body once, checks the token, then deserialises `T` from it, so form
//! types need no token field and a missing token is a 403, never a parse error.

use super::error::AppError;
use super::extract as user;
use super::startup::AppState;
use crate::auth::csrf_key::ANON_TTL_SECONDS;
use actix_web::cookie::{Cookie, time::Duration};
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::future::LocalBoxFuture;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The cookie holding the pre-login CSRF token.
pub const ANON_COOKIE: &str = "studyhall_csrf";
/// Largest form body accepted, in bytes.
pub const FORM_LIMIT_BYTES: usize = 64 * 1024;

/// A form whose CSRF token was checked.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

#[derive(Deserialize)]
struct TokenOnly {
    #[serde(default)]
    csrf_token: String,
}

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let state = user::state_of(&req)?;
            let body = body.await.map_err(payload_error)?;
            let token: TokenOnly = serde_urlencoded::from_bytes(&body).unwrap_or(TokenOnly {
                csrf_token: String::new(),
            });
            verify(&req, state, &token.csrf_token).await?;
            let form = serde_urlencoded::from_bytes::<T>(&body)
                .map_err(|e| AppError::BadRequest(format!("The form could not be read: {e}.")))?;
            Ok(CsrfForm(form))
        })
    }
}

/// Turns a body-reading failure into a clear error (413 for an oversized body).
pub fn payload_error(e: actix_web::Error) -> AppError {
    if e.as_response_error().status_code() == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge(format!(
            "The request body is larger than the {} KiB limit.",
            FORM_LIMIT_BYTES / 1024
        ))
    } else {
        AppError::BadRequest(format!("The request body could not be read: {e}."))
    }
}

/// Checks the request's origin and the submitted token; `Err(Csrf)` when either fails.
pub async fn verify(req: &HttpRequest, state: &AppState, submitted: &str) -> Result<(), AppError> {
    if !same_origin(req, state.secure_cookies) {
        return Err(AppError::Csrf);
    }
    let expected = match user::load(req).await? {
        Some(user) => user.csrf_token,
        // Only a token this site signed, and still good, counts: a planted cookie of any
        // shape, with the same value in the form, must not make a pair.
        None => {
            let now = state.clock.now().as_second();
            req.cookie(ANON_COOKIE)
                .map(|c| c.value().to_owned())
                .filter(|v| state.csrf_key.expiry(v, now).is_some())
                .unwrap_or_default()
        }
    };
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), submitted.as_bytes()) {
        return Err(AppError::Csrf);
    }
    Ok(())
}

/// The token to put in a form: the session's when logged in, else the anonymous cookie's,
/// minting one (and the cookie to set) when the browser has none yet, or one this site did
/// not sign, or one too close to its expiry to outlive the form.
pub fn form_token(
    req: &HttpRequest,
    state: &AppState,
    user: Option<&user::CurrentUser>,
) -> Result<(String, Option<Cookie<'static>>), AppError> {
    if let Some(user) = user {
        return Ok((user.csrf_token.clone(), None));
    }
    let now = state.clock.now().as_second();
    if let Some(cookie) = req.cookie(ANON_COOKIE).filter(|c| {
        state
            .csrf_key
            .expiry(c.value(), now)
            .is_some_and(|expires| expires - now >= ANON_MIN_LEFT_SECONDS)
    }) {
        return Ok((cookie.value().to_owned(), None));
    }
    let token = state.csrf_key.mint(now);
    let cookie = crate::web::policy::PAGES.cookie(
        ANON_COOKIE,
        token.clone(),
        state.secure_cookies,
        Some(Duration::seconds(ANON_TTL_SECONDS)),
    );
    Ok((token, Some(cookie)))
}

/// The least time a served form's token has left: a login page left open for an afternoon
/// still logs in. An older cookie gets a fresh token when a form is served.
const ANON_MIN_LEFT_SECONDS: i64 = 12 * 3600;

/// True unless the browser says the request comes from another origin: scheme and host
/// must both be this site's (an `http://` page of the same host is another origin than the
/// `https://` site, and may be a network attacker's). The site's scheme is `https` when
/// cookies are marked Secure (`secure`), else what the connection (or a proxy's
/// `X-Forwarded-Proto`) says.
fn same_origin(req: &HttpRequest, secure: bool) -> bool {
    let Some(host) = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
    else {
        return true;
    };
    let claimed = req
        .headers()
        .get(header::ORIGIN)
        .or_else(|| req.headers().get(header::REFERER))
        .and_then(|h| h.to_str().ok());
    let info = req.connection_info();
    let scheme = if secure { "https" } else { info.scheme() };
    match claimed {
        None => true,
        Some("null") => false,
        Some(url) => origin_of(url)
            .is_some_and(|(s, h)| s.eq_ignore_ascii_case(scheme) && h.eq_ignore_ascii_case(host)),
    }
}

/// `(scheme, host[:port])` of an absolute URL.
fn origin_of(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    Some((scheme, rest.split(['/', '?', '#']).next().unwrap_or(rest)))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn origins_must_match_the_host() {
        let same = TestRequest::post()
            .insert_header((header::HOST, "127.0.0.1:8080"))
            .insert_header((header::ORIGIN, "http://127.0.0.1:8080"))
            .to_http_request();
        assert!(same_origin(&same, false));
        let cross = TestRequest::post()
            .insert_header((header::HOST, "127.0.0.1:8080"))
            .insert_header((header::ORIGIN, "https://evil.example"))
            .to_http_request();
        assert!(!same_origin(&cross, false));
        let referer = TestRequest::post()
            .insert_header((header::HOST, "127.0.0.1:8080"))
            .insert_header((header::REFERER, "http://127.0.0.1:8080/review?deck=1"))
            .to_http_request();
        assert!(same_origin(&referer, false));
        let opaque = TestRequest::post()
            .insert_header((header::HOST, "a"))
            .insert_header((header::ORIGIN, "null"))
            .to_http_request();
        assert!(!same_origin(&opaque, false));
        let other_scheme = TestRequest::post()
            .insert_header((header::HOST, "127.0.0.1:8080"))
            .insert_header((header::ORIGIN, "https://127.0.0.1:8080"))
            .to_http_request();
        assert!(
            !same_origin(&other_scheme, false),
            "https page posting to the http site"
        );
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
