//! Thin handlers, one file per area, mirroring `templates/`. Each extracts, parses into domain
//! types, calls `study`, and renders a page or redirects (post/redirect/get).

mod account;
mod admin;
mod api;
mod assets;
mod auth;
mod card_controls;
mod classes;
mod custom;
mod decks;
mod edit;
mod health;
mod mail;
mod media;
mod practice;
mod reports;
mod review;
mod sso;
mod stats;

use crate::web::CurrentUser;
use crate::web::error::AppError;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;

/// What the layout needs on every page.
#[derive(Debug, Clone)]
pub struct Nav {
    /// The logged-in user's name.
    pub username: Option<String>,
    /// Whether to show admin links.
    pub is_admin: bool,
    /// The CSRF token for this page's forms.
    pub csrf_token: String,
    /// The stylesheet's versioned URL.
    pub css: &'static str,
    /// The script's versioned URL.
    pub js: &'static str,
    /// The section the page belongs to, marked in the navigation.
    pub section: &'static str,
    /// A notice for every page until dismissed: a class fit moved the user's cards.
    pub notice: Option<String>,
    /// A notice for every page until read or dismissed: replies to the user's reports, with
    /// the link to the newest.
    pub reply_notice: Option<ReplyNotice>,
    /// A notice for every page until the user opens their exams or dismisses it: an exam set
    /// for one of their classes.
    pub exam_notice: Option<ExamBanner>,
}

/// What the layout says of new exams, and which notices its dismiss button removes.
#[derive(Debug, Clone)]
pub struct ExamBanner {
    /// The sentence.
    pub text: String,
    /// The newest notice shown: its time (Unix seconds) and exam id.
    pub seen_at: i64,
    /// See `seen_at`.
    pub seen_exam: i64,
}

/// What the layout says of unread replies to the user's reports.
#[derive(Debug, Clone)]
pub struct ReplyNotice {
    /// The sentence.
    pub text: String,
    /// The card page that shows the newest reply.
    pub link: String,
    /// The link's words.
    pub link_text: &'static str,
}

impl ReplyNotice {
    /// The notice of `count` unread replies, the newest on card `card_id`.
    fn of(card_id: i64, count: i64) -> Self {
        Self {
            text: if count == 1 {
                "Your report on a card got a reply.".to_owned()
            } else {
                format!("{count} of your reports on cards got replies.")
            },
            link: format!("/cards/{card_id}#my-reports"),
            link_text: if count == 1 {
                "Read the reply"
            } else {
                "Read the newest"
            },
        }
    }
}

/// What the layout says of a new exam: its name, class, date and decks, and how many more.
fn exam_notice_text(notice: &crate::study::exams::ExamNotice) -> String {
    let date = i32::try_from(notice.exam_day)
        .map(|d| crate::srs::day::date_of_day(d).to_string())
        .unwrap_or_default();
    let decks = if notice.decks.is_empty() {
        String::new()
    } else {
        format!(" (decks: {})", notice.decks)
    };
    let more = match notice.count {
        ..=1 => String::new(),
        2 => " One more exam was set too.".to_owned(),
        n => format!(" {} more exams were set too.", n - 1),
    };
    format!(
        "Your class {} set an exam: \"{}\" on {date}{decks}.{more}",
        notice.class, notice.name
    )
}

impl Nav {
    /// The layout for a visitor who is not logged in (forms get `csrf_token` separately).
    pub fn anonymous() -> Self {
        Self {
            username: None,
            is_admin: false,
            csrf_token: String::new(),
            css: assets::css_url(),
            js: assets::js_url(),
            section: "",
            notice: None,
            reply_notice: None,
            exam_notice: None,
        }
    }

    /// The layout for a logged-in user.
    pub fn for_user(user: &CurrentUser) -> Self {
        Self {
            username: Some(user.username.clone()),
            is_admin: user.is_admin(),
            csrf_token: user.csrf_token.clone(),
            section: user.section,
            notice: user.schedule_notice.map(|(at, cards)| {
                let day = jiff::Timestamp::from_second(at)
                    .map(|t| {
                        t.to_zoned_datetime(user.time_zone.clone())
                            .date()
                            .to_string()
                    })
                    .unwrap_or_default();
                let cards = if cards == 1 {
                    "1 of your cards was".to_owned()
                } else {
                    format!("{cards} of your cards were")
                };
                format!("Your class's scheduling parameters changed on {day}: {cards} rescheduled.")
            }),
            reply_notice: user
                .reply_notice
                .map(|(card, count)| ReplyNotice::of(card, count)),
            exam_notice: user.exam_notice.as_ref().map(|n| ExamBanner {
                text: exam_notice_text(n),
                seen_at: n.seen_at,
                seen_exam: n.seen_exam,
            }),
            ..Self::anonymous()
        }
    }

    /// The anonymous layout with a pre-login form token.
    pub fn with_token(token: String) -> Self {
        Self {
            csrf_token: token,
            ..Self::anonymous()
        }
    }
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(crate::web::csrf::FORM_LIMIT_BYTES))
        .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
        .app_data(web::QueryConfig::default().error_handler(|e, _| {
            AppError::BadRequest(format!("The address has a bad parameter: {e}.")).into()
        }))
        .configure(health::configure)
        // The pages a student asks for most come first: actix-web tries routes in order, and
        // each pattern with a `{segment}` before them is a regular expression run per request.
        .configure(review::configure)
        .configure(practice::configure)
        .configure(assets::configure)
        .configure(media::configure)
        .configure(auth::configure)
        .configure(sso::configure)
        .configure(account::configure)
        .configure(decks::configure)
        .configure(custom::configure)
        .configure(card_controls::configure)
        .configure(stats::configure)
        .configure(admin::configure)
        .configure(api::configure)
        .configure(classes::configure)
        .configure(edit::configure)
        .configure(reports::configure)
        .configure(mail::configure)
        .default_service(web::to(not_found));
}

/// `HEAD` is `GET` without the body (RFC 9110): routes are declared for GET only, so a HEAD
/// request is routed as a GET, and actix-web's HTTP/1 writer sends the headers alone (it
/// remembers the request was HEAD). Called by the one request middleware, before routing.
pub fn route_head_as_get(req: &mut actix_web::dev::ServiceRequest) {
    if req.method() == actix_web::http::Method::HEAD {
        req.head_mut().method = actix_web::http::Method::GET;
    }
}

/// A known path asked with a method it lacks gets 405 with `Allow` from actix-web's
/// resources; HEAD is allowed wherever GET is.
pub fn allow_head<B>(response: &mut actix_web::dev::ServiceResponse<B>) {
    if response.status() != actix_web::http::StatusCode::METHOD_NOT_ALLOWED {
        return;
    }
    let headers = response.headers_mut();
    let allow = headers
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if allow.split(',').any(|m| m.trim() == "GET")
        && let Ok(value) = header::HeaderValue::from_str(&format!("{allow}, HEAD"))
    {
        headers.insert(header::ALLOW, value);
    }
}

async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}

/// Renders a page with status 200.
pub fn page(template: &impl Template) -> Result<HttpResponse, AppError> {
    page_with(actix_web::http::StatusCode::OK, template)
}

/// Renders a page with `status` (e.g. 422 for a form re-shown with its errors).
pub fn page_with(
    status: actix_web::http::StatusCode,
    template: &impl Template,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(template.render()?))
}

/// A CSV file download: a header line, then one record per row, quoted as RFC 4180 requires,
/// every cell that a spreadsheet would run as a formula quoted with an apostrophe.
pub fn csv_download(
    file_name: &str,
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<HttpResponse, AppError> {
    let fail = |e: csv::Error| AppError::Internal(anyhow::anyhow!(e));
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header).map_err(fail)?;
    for row in rows {
        writer
            .write_record(
                row.iter()
                    .map(|c| crate::import::export::spreadsheet_safe(c).into_owned()),
            )
            .map_err(fail)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e.to_string())))?;
    let body = String::from_utf8(bytes).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    Ok(decks::download("text/csv; charset=utf-8", file_name, body))
}

/// The address a request comes from, for throttling: the connection's peer, or, behind a
/// reverse proxy, the last address in X-Forwarded-For (the one the proxy itself appended;
/// earlier ones are the client's to invent).
pub fn client_ip(
    req: &actix_web::HttpRequest,
    state: &crate::web::startup::AppState,
) -> std::net::IpAddr {
    let peer = req
        .peer_addr()
        .map_or(std::net::IpAddr::from([127, 0, 0, 1]), |a| a.ip());
    if !state.behind_proxy {
        return peer;
    }
    req.headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .and_then(|last| last.trim().parse().ok())
        .unwrap_or(peer)
}

/// Runs `work` on a task of its own and waits for it. actix drops a handler's future when the
/// client hangs up; a change made of several transactions (a rescheduling, an exam's
/// placement over a class) must not stop half way because a tab was closed.
pub async fn to_the_end<T: Send + 'static>(
    work: impl Future<Output = Result<T, crate::study::StudyError>> + Send + 'static,
) -> Result<T, AppError> {
    tokio::spawn(work)
        .await
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("a change run to its end")))?
        .map_err(AppError::from)
}

/// Takes one write from the user's budget (see `auth::budget`), or 429 with Retry-After.
pub fn spend_write(
    state: &crate::web::startup::AppState,
    user: &CurrentUser,
) -> Result<(), AppError> {
    state
        .writes
        .spend(user.id, state.clock.now().as_millisecond())
        .map_err(|retry_after_secs| AppError::TooManyRequests { retry_after_secs })
}

/// The user as the use cases that check rights take them: their learner and their role.
pub fn actor(user: &CurrentUser) -> crate::study::actor::Actor<'_> {
    crate::study::actor::Actor {
        learner: &user.learner,
        role: user.role,
    }
}

/// A 303 redirect (post/redirect/get).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}
