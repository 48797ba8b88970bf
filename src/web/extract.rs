//! The logged-in user as an extractor: a handler that takes `CurrentUser` cannot run for an
//! anonymous request, and one that takes `Admin` cannot run for anyone else.

use crate::auth::session::{SESSION_COOKIE, token_hash};
use crate::domain::Role;
use crate::srs::day::StudyCalendar;
use crate::web::error::AppError;
use crate::web::startup::AppState;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, http::Method, web};
use futures_util::future::LocalBoxFuture;
use jiff::{Timestamp, tz::TimeZone};

/// The user of the request's session.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// User id: every query of user data is scoped by it.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// IANA time zone name.
    pub time_zone_name: String,
    /// Parsed time zone.
    pub time_zone: TimeZone,
    /// Hour the study day starts.
    pub day_starts_hour: u8,
    /// Whether the review page shows SM-2's six grades rather than the four buttons.
    pub six_grades: bool,
    /// What the study use cases need of the user: calendar, limits, decks, scheduler.
    pub learner: crate::study::Learner,
    /// Whether the retention is the user's own choice (else their class's default or 90%).
    pub retention_chosen: bool,
    /// The section of the site this request is in ("decks", "review" ...), for the navigation
    /// to mark the current page. Set per request, never taken from the cache.
    pub section: &'static str,
    /// The session's CSRF token, for forms.
    pub csrf_token: String,
    /// The session's row id.
    pub session_id: i64,
    /// An admin reset the password: every page but choosing a new one is closed.
    pub must_change_password: bool,
    /// A class fit that moved their cards in the last week, not yet dismissed: (when, Unix
    /// seconds; how many cards). Every page shows it until they dismiss it.
    pub schedule_notice: Option<(i64, i64)>,
    /// Replies to the user's reports they have not read: (the newest one's card; how many).
    /// Every page links to it until they open the card or dismiss the notice.
    pub reply_notice: Option<(i64, i64)>,
    /// The newest exam set for one of the user's classes that they have not looked at.
    /// Every page tells them until they open /stats or dismiss the notice.
    pub exam_notice: Option<crate::study::exams::ExamNotice>,
}

impl CurrentUser {
    /// The user's study calendar.
    pub fn calendar(&self) -> StudyCalendar {
        self.learner.calendar.clone()
    }

    /// The user's study day at `now`.
    pub fn today(&self, now: Timestamp) -> i32 {
        self.learner.today(now)
    }

    /// New cards allowed on study day `today` (`Learner::new_limit`).
    pub fn new_limit(&self, today: i32) -> u32 {
        self.learner.new_limit(today)
    }

    /// Whether the user runs the site.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the user teaches (instructors and admins).
    pub fn is_instructor(&self) -> bool {
        matches!(self.role, Role::Instructor | Role::Admin)
    }

    /// The signed-in account, as a password change takes it.
    pub fn signed_in(&self) -> crate::study::accounts::SignedIn<'_> {
        crate::study::accounts::SignedIn {
            user_id: self.id,
            username: &self.username,
            session_id: self.session_id,
        }
    }
}

/// Loads the session's user, once per request (later calls read the request's extensions).
pub async fn load(req: &HttpRequest) -> Result<Option<CurrentUser>, AppError> {
    if let Some(user) = req.extensions().get::<CurrentUser>() {
        return Ok(Some(user.clone()));
    }
    let Some(cookie) = req.cookie(SESSION_COOKIE) else {
        return Ok(None);
    };
    let state = state_of(req)?;
    let now = state.clock.now().as_second();
    let hash = token_hash(cookie.value());
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD);
    if state.sessions.may_serve(writes)
        && let Some(mut user) = state.sessions.get(&hash, now)
    {
        user.section = section_of(req.path());
        req.extensions_mut().insert(user.clone());
        return Ok(Some(user));
    }
    let ticket = state.sessions.ticket();
    let Some((row, learner)) =
        crate::study::learner::of_session(state.db.reader(), &hash, now).await?
    else {
        return Ok(None);
    };
    let expires_at = row.expires_at;
    let user_row = row.user;
    let role = Role::parse(&user_row.role).map_err(|e| anyhow::anyhow!(e))?;
    let user = CurrentUser {
        id: user_row.id,
        username: user_row.username,
        role,
        time_zone: learner.calendar.time_zone().clone(),
        time_zone_name: user_row.time_zone,
        day_starts_hour: u8::try_from(user_row.day_starts_hour).unwrap_or(4),
        six_grades: user_row.grade_buttons == "six",
        retention_chosen: user_row.retention_chosen,
        learner,
        section: section_of(req.path()),
        csrf_token: row.csrf_token,
        session_id: row.session_id,
        must_change_password: user_row.must_change_password,
        schedule_notice: user_row.notice_at.zip(user_row.notice_cards),
        reply_notice: user_row
            .reply_card
            .filter(|_| user_row.unread_replies > 0)
            .map(|card| (card, user_row.unread_replies)),
        exam_notice: crate::study::exams::notice_from_json(user_row.exam_notice.as_deref()),
    };
    state
        .sessions
        .put(ticket, hash, user.clone(), expires_at, now);
    req.extensions_mut().insert(user.clone());
    Ok(Some(user))
}

/// The navigation section a path belongs to.
fn section_of(path: &str) -> &'static str {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "decks" | "cards" => "decks",
        "review" => "review",
        "practice" => "practice",
        "stats" => "stats",
        "classes" | "reports" => "classes",
        "admin" => "admin",
        "account" => "account",
        _ => "",
    }
}

/// The shared application state, as the extractors read it (a handler names what it needs
/// in its signature instead: `web::Data<AppState>`).
pub(super) fn state_of(req: &HttpRequest) -> Result<&web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("application state is missing")))
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = load(&req).await?.ok_or(AppError::Unauthorized)?;
            cleared(&req, user)
        })
    }
}

/// Whether `user` may use this request's page: a user whose password was reset may only
/// choose a new one (or log out).
pub fn cleared(req: &HttpRequest, user: CurrentUser) -> Result<CurrentUser, AppError> {
    let allowed = [crate::web::error::NEW_PASSWORD_PATH, "/logout"];
    if user.must_change_password && !allowed.contains(&req.path()) {
        return Err(AppError::PasswordChangeRequired);
    }
    Ok(user)
}

/// The user if logged in; anonymous requests get `None` rather than a redirect.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<CurrentUser>);

impl FromRequest for MaybeUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(MaybeUser(load(&req).await?)) })
    }
}

/// A logged-in admin; anyone else logged in gets 403.
#[derive(Debug, Clone)]
pub struct Admin(pub CurrentUser);

impl FromRequest for Admin {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = cleared(&req, load(&req).await?.ok_or(AppError::Unauthorized)?)?;
            if user.is_admin() {
                Ok(Admin(user))
            } else {
                Err(AppError::Forbidden(
                    "This page is for administrators.".to_owned(),
                ))
            }
        })
    }
}

/// A logged-in instructor or admin; a student gets 403.
#[derive(Debug, Clone)]
pub struct Instructor(pub CurrentUser);

impl FromRequest for Instructor {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = cleared(&req, load(&req).await?.ok_or(AppError::Unauthorized)?)?;
            if user.is_instructor() {
                Ok(Instructor(user))
            } else {
                Err(AppError::Forbidden(
                    "This page is for instructors.".to_owned(),
                ))
            }
        })
    }
}
