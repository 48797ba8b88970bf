//! The one error type of the web layer. Every failure becomes a status and an error page;
//! internal causes go to the log and never to the user.

use super::extract::{CurrentUser, load};
use super::routes::Nav;
use actix_web::dev::ServiceResponse;
use actix_web::http::{StatusCode, header};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpMessage, HttpResponse, ResponseError};
use askama::Template;
use std::fmt;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Not logged in: pages redirect to /login.
    #[error("you need to log in")]
    Unauthorized,
    /// An admin reset the password: the user must choose a new one first.
    #[error("choose a new password first")]
    PasswordChangeRequired,
    /// Logged in, but this role may not.
    #[error("{0}")]
    Forbidden(String),
    /// The form's CSRF token or origin is missing or wrong.
    #[error("this form is stale or came from another site")]
    Csrf,
    /// No such thing, or it belongs to someone else.
    #[error("not found")]
    NotFound,
    /// A form's address opened as a page (a bookmark, a reload after the answer, a typed
    /// address): a page saying so, where actix answers 405 with an empty body.
    #[error(
        "this address takes a form's answer and has no page of its own: go back to the form, \
         or start again from your decks"
    )]
    WrongMethod,
    /// The request clashes with the current state.
    #[error("{0}")]
    Conflict(String),
    /// Input that breaks a rule; the message says which.
    #[error("{0}")]
    Validation(String),
    /// Malformed request.
    #[error("{0}")]
    BadRequest(String),
    /// Body over the limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A body of a type this endpoint does not take.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Throttled.
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    TooManyRequests {
        /// When to try again.
        retry_after_secs: u64,
    },
    /// An hourly budget is spent (see `auth::quota`): 429 with the message saying which.
    #[error("{message}")]
    OverBudget {
        /// What is refused, and when to try again.
        message: String,
        /// When to try again.
        retry_after_secs: u64,
    },
    /// The server is at a deliberate limit (password hashing, imports): try again shortly.
    #[error("{message}")]
    Busy {
        /// What is busy.
        message: String,
        /// When to try again.
        retry_after_secs: u64,
    },
    /// A database failure.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A template failure.
    #[error(transparent)]
    Template(#[from] askama::Error),
    /// Anything else unexpected.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<crate::domain::Invalid> for AppError {
    fn from(e: crate::domain::Invalid) -> Self {
        AppError::Validation(e.0)
    }
}

impl From<crate::study::StudyError> for AppError {
    fn from(e: crate::study::StudyError) -> Self {
        use crate::study::StudyError as S;
        match e {
            S::NotFound => AppError::NotFound,
            S::Forbidden(m) => AppError::Forbidden(m),
            S::Conflict(m) => AppError::Conflict(m),
            S::Validation(m) => AppError::Validation(m),
            S::Busy {
                message,
                retry_after_secs,
            } => AppError::Busy {
                message,
                retry_after_secs,
            },
            S::TooManyRequests { retry_after_secs } => {
                AppError::TooManyRequests { retry_after_secs }
            }
            S::OverBudget {
                message,
                retry_after_secs,
            } => AppError::OverBudget {
                message,
                retry_after_secs,
            },
            S::Database { source, .. } if crate::db::is_unreachable(&source) => {
                AppError::Database(source)
            }
            // The log gets the chain: what the use case was doing, then the store's error.
            S::Database { context, source } => {
                AppError::Internal(anyhow::Error::new(source).context(context))
            }
            S::Internal(e) => AppError::Internal(e),
        }
    }
}

impl From<crate::auth::quota::OverBudget> for AppError {
    fn from(e: crate::auth::quota::OverBudget) -> Self {
        crate::study::StudyError::from(e).into()
    }
}

/// Where a user whose password was reset chooses a new one.
pub const NEW_PASSWORD_PATH: &str = "/account/new-password";

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    nav: Nav,
    title: &'a str,
    message: &'a str,
}

impl AppError {
    /// Seconds to wait before trying again, for 429 and 503.
    fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::TooManyRequests { retry_after_secs }
            | AppError::OverBudget {
                retry_after_secs, ..
            }
            | AppError::Busy {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            AppError::Database(e) if crate::db::is_unreachable(e) => {
                Some(crate::db::UNREACHABLE_RETRY_SECS)
            }
            _ => None,
        }
    }

    fn title(&self) -> &'static str {
        match self.status_code() {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::METHOD_NOT_ALLOWED => "Not a page",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::CONFLICT => "Already done",
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => "Please check your input",
            StatusCode::PAYLOAD_TOO_LARGE => "Too large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported content type",
            StatusCode::TOO_MANY_REQUESTS => "Slow down",
            StatusCode::SERVICE_UNAVAILABLE => "Busy",
            _ => "Something went wrong",
        }
    }

    /// The message shown to the user: the error itself for client errors, a generic line for
    /// server errors (whose cause is logged instead).
    pub fn public_message(&self) -> String {
        match self {
            AppError::Database(e) if crate::db::is_unreachable(e) => {
                crate::db::UNREACHABLE.to_owned()
            }
            AppError::Database(_) | AppError::Template(_) | AppError::Internal(_) => {
                "The server failed to handle this request. It has been logged; please try again."
                    .to_owned()
            }
            AppError::NotFound => "There is nothing here, or it is not yours to see.".to_owned(),
            AppError::Csrf => {
                "This form is stale or came from another site. Reload the page and try again."
                    .to_owned()
            }
            other => capitalise(&other.to_string()),
        }
    }
}

impl AppError {
    /// The error page with `nav` in its layout: status, Retry-After and the page.
    fn page(&self, nav: Nav) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let Some(secs) = self.retry_after() {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        let message = self.public_message();
        let page = ErrorPage {
            nav,
            title: self.title(),
            message: &message,
        };
        match page.render() {
            Ok(html) => response.content_type(mime_html()).body(html),
            Err(e) => {
                tracing::error!(error = ?e, "error page failed to render");
                response
                    .content_type("text/plain; charset=utf-8")
                    .body(message)
            }
        }
    }
}

/// Error pages know who is asking: an [`AppError`] page answered to a request with a user gets
/// that user's navigation (their name, their links, the log-out form), not the anonymous one
/// `error_response` has to draw, having no request. The user is the one the extractors
/// already loaded; a client error raised before any extractor ran (an unknown address, say)
/// loads the session once more, a server error does not (the store may be what failed).
/// Registered as the default handler of `ErrorHandlers`, so it sees every 4xx and 5xx.
pub fn with_user_nav<B: 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    if res.status() == StatusCode::METHOD_NOT_ALLOWED && res.response().error().is_none() {
        return Ok(ErrorHandlerResponse::Future(Box::pin(async move {
            let user = load(res.request()).await.ok().flatten();
            let nav = user.as_ref().map_or_else(Nav::anonymous, Nav::for_user);
            Ok(wrong_method(res, nav).map_into_right_body())
        })));
    }
    let shows_page = res
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>())
        .is_some_and(|e| !e.status_code().is_redirection());
    if !shows_page {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    Ok(ErrorHandlerResponse::Future(Box::pin(async move {
        let known = res.request().extensions().get::<CurrentUser>().cloned();
        let user = match known {
            Some(user) => Some(user),
            None if res.status().is_client_error() => load(res.request()).await.ok().flatten(),
            None => None,
        };
        let page = user.and_then(|user| {
            res.response()
                .error()
                .and_then(|e| e.as_error::<AppError>())
                .map(|e| e.page(Nav::for_user(&user)))
        });
        Ok(match page {
            Some(page) => res.into_response(page).map_into_right_body(),
            None => res.map_into_left_body(),
        })
    })))
}

/// A resource's bare 405 (a route for the address, none for the method) as `WrongMethod`'s
/// page with `nav`, keeping the `Allow` header.
fn wrong_method<B>(res: ServiceResponse<B>, nav: Nav) -> ServiceResponse {
    let allow = res.response().headers().get(header::ALLOW).cloned();
    let (request, _) = res.into_parts();
    let mut page = AppError::WrongMethod.page(nav);
    if let Some(allow) = allow {
        page.headers_mut().insert(header::ALLOW, allow);
    }
    ServiceResponse::new(request, page)
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Unauthorized | AppError::PasswordChangeRequired => StatusCode::SEE_OTHER,
            AppError::Forbidden(_) | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::WrongMethod => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::TooManyRequests { .. } | AppError::OverBudget { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            AppError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Database(e) if crate::db::is_unreachable(e) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Database(_) | AppError::Template(_) | AppError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            AppError::Database(e) if crate::db::is_unreachable(e) => {
                tracing::error!("the database is unreachable, answering 503 until it is back: {e}");
            }
            AppError::Busy { .. } => {}
            _ if status.is_server_error() => tracing::error!(error = ?self, "request failed"),
            _ => {}
        }
        match self {
            AppError::Unauthorized => {
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, "/login"))
                    .finish();
            }
            AppError::PasswordChangeRequired => {
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, NEW_PASSWORD_PATH))
                    .finish();
            }
            _ => {}
        }
        // Anonymous here: the response has no request; [`with_user_nav`] puts the user's
        // navigation in when the request has a user.
        self.page(Nav::anonymous())
    }
}

fn mime_html() -> &'static str {
    "text/html; charset=utf-8"
}

/// The JSON face of [`AppError`] for `/api`: `{"error": "..."}` with the same status, except
/// that "not logged in" is a 401 rather than a redirect to the login page.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError(AppError::Database(e))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self.0 {
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::PasswordChangeRequired => StatusCode::FORBIDDEN,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ref other => other.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() && !matches!(self.0, AppError::Busy { .. }) {
            tracing::error!(error = ?self.0, "api request failed");
        }
        let message = match self.0 {
            AppError::Unauthorized => {
                "Log in first: this API uses the site's session cookie.".to_owned()
            }
            AppError::NotFound => "Not found.".to_owned(),
            AppError::PasswordChangeRequired => format!(
                "Your password was reset: choose a new password at {NEW_PASSWORD_PATH} first."
            ),
            ref other => other.public_message(),
        };
        let mut response = HttpResponse::build(status);
        if let Some(secs) = self.0.retry_after() {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        response.json(serde_json::json!({ "error": message }))
    }
}
