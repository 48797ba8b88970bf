//! A user's own account: password, time zone, day start and new cards per day.

use super::{Nav, page, page_with, see_other};
use crate::domain::{DayStartHour, NewPerDay, Password, TimeZoneName};
use crate::srs::scheduler::Scheduler;
use crate::study::StudyError;
use crate::study::fits::FitOf;
use crate::study::{accounts, preferences};
use crate::web::error::AppError;
use crate::web::{AppState, CsrfForm, CurrentUser};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/account/new-password")
            .route(web::get().to(show_new_password))
            .route(web::post().to(choose_new_password)),
    )
    .service(web::resource("/account").route(web::get().to(show_account)))
    .service(web::resource("/account/password").route(web::post().to(change_password)))
    .service(web::resource("/account/preferences").route(web::post().to(save_preferences)))
    .service(web::resource("/account/scheduler").route(web::post().to(save_scheduler)))
    .service(web::resource("/account/fit").route(web::post().to(start_own_fit)));
}

#[derive(Template)]
#[template(path = "account/show.html")]
pub(super) struct AccountPage {
    nav: Nav,
    role: &'static str,
    time_zone: String,
    day_starts_hour: String,
    new_per_day: String,
    six_grades: bool,
    fsrs: bool,
    desired_retention: String,
    /// The retention the user studies at when they leave the field empty.
    retention_default: String,
    notice: Option<&'static str>,
    scheduler_errors: Vec<String>,
    password_errors: Vec<String>,
    preference_errors: Vec<String>,
    own_fit: OwnFitView,
    /// Sign-on: linked identities and providers to link (`templates/account/_identities.html`).
    identities: super::sso::IdentitiesPanel,
    /// The e-mail address part (`templates/account/_email.html`), None without mail.
    pub(super) email: Option<super::mail::EmailView>,
}

/// The student's own FSRS parameters, as the account page shows them.
#[derive(Default)]
struct OwnFitView {
    /// Their reviews so far.
    reviews: i64,
    /// Reviews needed to fit.
    needed: i64,
    /// A fit running now: (steps done, steps in all).
    fitting: Option<(usize, usize)>,
    /// The saved fit.
    saved: Option<SavedFitView>,
    /// What the fit is measured against: "your class's parameters" or FSRS's defaults.
    baseline: &'static str,
}

struct SavedFitView {
    /// The parameters, as shown.
    parameters: String,
    reviews: i64,
    date: String,
    scored: i64,
    own_log_loss: String,
    baseline_log_loss: String,
    kept: bool,
}

/// The account page of `user`, with their own fit read from the database.
pub(super) async fn account_page(
    state: &crate::web::startup::AppState,
    user: &CurrentUser,
) -> Result<AccountPage, AppError> {
    let mut account = AccountPage::of(user);
    account.identities = super::sso::identities_panel(state, user).await?;
    account.email = super::mail::email_view(state, user).await?;
    let own = preferences::own_fit(state.db.reader(), user.id).await?;
    account.own_fit = OwnFitView {
        reviews: own.reviews,
        needed: own.needed,
        fitting: state
            .fits
            .progress(FitOf::Student(user.id))
            .await?
            .map(|p| (p.done, p.total)),
        saved: own.saved.map(|f| SavedFitView {
            parameters: f
                .parameters
                .iter()
                .map(|w| format!("{w:.4}"))
                .collect::<Vec<_>>()
                .join(", "),
            reviews: f.reviews,
            date: i32::try_from(f.fitted_at.div_euclid(86_400))
                .map(|d| crate::srs::day::date_of_day(d).to_string())
                .unwrap_or_default(),
            scored: f.scored,
            own_log_loss: format!("{:.4}", f.own_log_loss),
            baseline_log_loss: format!("{:.4}", f.baseline_log_loss),
            kept: f.kept,
        }),
        baseline: if own.class_fitted {
            "your class's parameters"
        } else {
            "FSRS's default parameters"
        },
    };
    Ok(account)
}

#[derive(Deserialize)]
struct Nothing {}

/// Starts fitting FSRS to the student's own reviews, once they have enough.
async fn start_own_fit(
    state: web::Data<AppState>,
    user: CurrentUser,
    _form: CsrfForm<Nothing>,
) -> Result<HttpResponse, AppError> {
    preferences::ready_to_fit(state.db.reader(), user.id).await?;
    super::spend_write(&state, &user)?;
    state.start_fit(FitOf::Student(user.id)).await?;
    Ok(see_other("/account#own-fit"))
}

impl AccountPage {
    fn of(user: &CurrentUser) -> Self {
        Self {
            nav: Nav::for_user(user),
            role: user.role.as_str(),
            time_zone: user.time_zone_name.clone(),
            day_starts_hour: user.day_starts_hour.to_string(),
            new_per_day: user.learner.new_per_day.to_string(),
            six_grades: user.six_grades,
            fsrs: user.learner.scheduler.retention().is_some(),
            desired_retention: match user.learner.scheduler {
                Scheduler::Fsrs { retention_pct } if user.retention_chosen => {
                    retention_pct.to_string()
                }
                _ => String::new(),
            },
            retention_default: match user.learner.scheduler {
                Scheduler::Fsrs { retention_pct } if !user.retention_chosen => {
                    retention_pct.to_string()
                }
                _ => "90".to_owned(),
            },
            notice: None,
            scheduler_errors: Vec::new(),
            password_errors: Vec::new(),
            preference_errors: Vec::new(),
            own_fit: OwnFitView::default(),
            identities: super::sso::IdentitiesPanel::default(),
            email: None,
        }
    }
}

#[derive(Deserialize)]
struct Saved {
    saved: Option<String>,
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

#[derive(Deserialize)]
struct PreferencesForm {
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    day_starts_hour: String,
    #[serde(default)]
    new_per_day: String,
    /// "four" or "six"; absent leaves the layout as it is.
    grade_buttons: Option<String>,
}

async fn show_account(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<Saved>,
) -> Result<HttpResponse, AppError> {
    let mut account = account_page(&state, &user).await?;
    account.notice = match query.saved.as_deref() {
        Some("password") => Some("Your password was changed; your other sessions were logged out."),
        Some("preferences") => Some("Your study preferences were saved."),
        Some("linked") => Some("The sign-on account is linked: you can sign on with it now."),
        Some("email") => Some(
            "A link to confirm your e-mail address is on its way; nothing else is sent to it \
             until you open it.",
        ),
        Some("email-removed") => Some("Your e-mail address was removed."),
        Some("reminders") => Some("Your reminder settings were saved."),
        Some("scheduler") => {
            Some("Your scheduler was saved, and every card you studied was rescheduled with it.")
        }
        _ => None,
    };
    page(&account)
}

async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    form: CsrfForm<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.0;
    let mut account = account_page(&state, &user).await?;
    if form.new != form.confirm {
        account
            .password_errors
            .push("The two new passwords differ.".to_owned());
    }
    match Password::parse(&form.new, &user.username) {
        Ok(new) if account.password_errors.is_empty() => {
            match accounts::change_password(
                state.db.writer(),
                &*state.sessions,
                &state.throttle,
                super::client_ip(&req, &state),
                user.signed_in(),
                &form.current,
                &new,
                state.clock.now().as_second(),
            )
            .await
            {
                Ok(()) => return Ok(see_other("/account?saved=password")),
                Err(StudyError::Validation(message)) => account.password_errors.push(message),
                Err(other) => return Err(other.into()),
            }
        }
        Ok(_) => {}
        Err(e) => account.password_errors.push(e.0),
    }
    page_with(StatusCode::UNPROCESSABLE_ENTITY, &account)
}

async fn save_preferences(
    state: web::Data<AppState>,
    user: CurrentUser,
    form: CsrfForm<PreferencesForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.0;
    let zone = TimeZoneName::parse(&form.time_zone);
    let hour = DayStartHour::parse(&form.day_starts_hour);
    let new = NewPerDay::parse(&form.new_per_day);
    let layout = preferences::GradeButtons::parse(form.grade_buttons.as_deref());
    if let (Ok(zone), Ok(hour), Ok(new), Ok(layout)) = (&zone, &hour, &new, &layout) {
        let chosen = preferences::Preferences {
            time_zone: zone.clone(),
            day_starts_hour: *hour,
            new_per_day: *new,
            grade_buttons: *layout,
        };
        preferences::save(state.db.writer(), &*state.sessions, user.id, &chosen).await?;
        return Ok(see_other("/account?saved=preferences"));
    }
    let mut account = account_page(&state, &user).await?;
    account.time_zone = form.time_zone;
    account.day_starts_hour = form.day_starts_hour;
    account.new_per_day = form.new_per_day;
    account.preference_errors = [zone.err(), hour.err(), new.err(), layout.err()]
        .into_iter()
        .flatten()
        .map(|e| e.0)
        .collect();
    page_with(StatusCode::UNPROCESSABLE_ENTITY, &account)
}

#[derive(Template)]
#[template(path = "account/new_password.html")]
struct NewPasswordPage {
    nav: Nav,
    errors: Vec<String>,
}

#[derive(Deserialize)]
struct NewPasswordForm {
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

async fn show_new_password(user: CurrentUser) -> Result<HttpResponse, AppError> {
    if !user.must_change_password {
        return Ok(see_other("/account"));
    }
    page(&NewPasswordPage {
        nav: Nav::for_user(&user),
        errors: Vec::new(),
    })
}

async fn choose_new_password(
    state: web::Data<AppState>,
    user: CurrentUser,
    form: CsrfForm<NewPasswordForm>,
) -> Result<HttpResponse, AppError> {
    if !user.must_change_password {
        return Ok(see_other("/account"));
    }
    let form = form.0;
    let mut errors = Vec::new();
    if form.new != form.confirm {
        errors.push("The two passwords differ.".to_owned());
    }
    match Password::parse(&form.new, &user.username) {
        Ok(new) if errors.is_empty() => {
            accounts::choose_new_password(
                state.db.writer(),
                &*state.sessions,
                user.signed_in(),
                &new,
            )
            .await?;
            return Ok(see_other("/decks"));
        }
        Ok(_) => {}
        Err(e) => errors.push(e.0),
    }
    page_with(
        StatusCode::UNPROCESSABLE_ENTITY,
        &NewPasswordPage {
            nav: Nav::for_user(&user),
            errors,
        },
    )
}

#[derive(Deserialize)]
struct SchedulerForm {
    #[serde(default)]
    scheduler: String,
    #[serde(default)]
    desired_retention: String,
}

async fn save_scheduler(
    state: web::Data<AppState>,
    user: CurrentUser,
    form: CsrfForm<SchedulerForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.0;
    // An empty retention follows the class's default (or 90%).
    let own = !form.desired_retention.trim().is_empty();
    let retention = if own {
        form.desired_retention.trim().parse::<i64>().map_err(|_| {
            crate::srs::scheduler::Unknown(format!(
                "Desired retention is a whole percentage from 70 to 97, not \"{}\".",
                form.desired_retention.chars().take(20).collect::<String>()
            ))
        })
    } else {
        Ok(90)
    };
    let chosen = retention.and_then(|r| Scheduler::parse(&form.scheduler, r));
    match chosen {
        Ok(scheduler) => {
            super::spend_write(&state, &user)?;
            let (state, user_id) = (state.clone(), user.id);
            super::to_the_end(async move {
                preferences::choose_scheduler(
                    state.db.writer(),
                    &*state.sessions,
                    user_id,
                    scheduler,
                    own,
                    state.max_interval_days,
                    state.clock.now(),
                )
                .await
            })
            .await?;
            Ok(see_other("/account?saved=scheduler"))
        }
        Err(e) => {
            let mut account = account_page(&state, &user).await?;
            account.fsrs = form.scheduler == "fsrs";
            account.desired_retention = form.desired_retention.chars().take(20).collect();
            account.scheduler_errors.push(e.0);
            page_with(StatusCode::UNPROCESSABLE_ENTITY, &account)
        }
    }
}
