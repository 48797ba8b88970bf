//! Classes: instructors create them and assign decks; students join with a code or a shared
//! link (/classes/join/{code}, confirmed on a page) and leave (confirmed too).
//! The class page and its settings are in `class_page`, its reports in `triage`, its analytics in
//! `dashboard`; every one of them reads and changes a class through `study::classes`, which
//! finds it among those the instructor runs.

mod class_page;
mod dashboard;
mod triage;

use super::{Nav, page, page_with, see_other};
use crate::study::StudyError;
use crate::study::classes::{self, ClassRow};
use crate::web::error::AppError;
use crate::web::{AppState, CsrfForm, CurrentUser, Instructor, MaybeUser};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/classes")
            .route(web::get().to(list_classes))
            .route(web::post().to(create_class)),
    )
    .service(web::resource("/classes/join").route(web::post().to(join_class)))
    .service(web::resource("/classes/join/{code}").route(web::get().to(show_join)))
    .service(
        web::resource("/classes/schedule-notice/dismiss").route(web::post().to(dismiss_notice)),
    )
    .service(web::resource("/classes/{id}").route(web::get().to(class_page::show_class)))
    .service(web::resource("/classes/{id}/code").route(web::post().to(class_page::new_code)))
    .service(
        web::resource("/classes/{id}/decks/{deck_id}")
            .route(web::post().to(class_page::assign_deck)),
    )
    .service(
        web::resource("/classes/{id}/leave")
            .route(web::get().to(confirm_leave))
            .route(web::post().to(leave_class)),
    )
    .service(web::resource("/classes/{id}/reports").route(web::get().to(triage::list_reports)))
    .service(
        web::resource("/classes/{id}/reports/{report_id}/resolve")
            .route(web::post().to(triage::resolve_report)),
    )
    .service(
        web::resource("/classes/{id}/dashboard").route(web::get().to(dashboard::show_dashboard)),
    )
    .service(web::resource("/classes/{id}/fit").route(web::post().to(dashboard::start_fit)))
    .service(web::resource("/classes/{id}/fit/apply").route(web::post().to(dashboard::apply_fit)))
    .service(
        web::resource("/classes/{id}/fit/discard").route(web::post().to(dashboard::discard_fit)),
    )
    .service(
        web::resource("/classes/{id}/retention").route(web::post().to(class_page::set_retention)),
    )
    .service(web::resource("/classes/{id}/exams").route(web::post().to(class_page::add_exam)))
    .service(
        web::resource("/classes/{id}/exams/{exam_id}/delete")
            .route(web::get().to(class_page::confirm_delete_exam))
            .route(web::post().to(class_page::delete_exam)),
    )
    .service(
        web::resource("/classes/{id}/students.csv")
            .route(web::get().to(dashboard::download_students)),
    );
}

#[derive(Template)]
#[template(path = "classes/index.html")]
struct ClassesPage {
    nav: Nav,
    is_instructor: bool,
    owned: Vec<ClassRow>,
    joined: Vec<ClassRow>,
    /// The class just joined, by name, to confirm it.
    just_joined: Option<String>,
    error: Option<String>,
    code: String,
}

#[derive(Deserialize)]
struct NameForm {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

#[derive(Deserialize)]
struct Nothing {}

/// A form that acts only when its confirmation page sent it.
#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    confirm: String,
}

impl ConfirmForm {
    fn confirmed(&self) -> bool {
        self.confirm == "yes"
    }
}

/// The page that asks before something cannot be taken back (works without script: the
/// button that asks is a link here, and only this page's form posts `confirm=yes`).
#[derive(Template)]
#[template(path = "classes/confirm.html")]
struct ConfirmPage {
    nav: Nav,
    title: String,
    message: String,
    action: String,
    button: &'static str,
    back: String,
    cancel: &'static str,
}

#[derive(Template)]
#[template(path = "classes/join.html")]
struct JoinPage {
    nav: Nav,
    /// The class the link opens, or why it opens none.
    preview: Result<classes::JoinPreview, String>,
}

/// A shared join link: a signed-in user is asked to confirm joining the class; a visitor is
/// sent to log in (or register, with the code filled in) and brought back here.
async fn show_join(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeUser,
    code: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let code: String = classes::normalise_code(&code).chars().take(32).collect();
    let Some(user) = user.0 else {
        return Ok(see_other(&format!("/login?next=/classes/join/{code}")));
    };
    let user = crate::web::extract::cleared(&req, user)?;
    let preview = match classes::preview_join(
        state.db.reader(),
        &state.quotas,
        &user.learner,
        super::client_ip(&req, &state),
        &code,
        state.clock.now(),
    )
    .await
    {
        Ok(preview) => Ok(preview),
        Err(StudyError::Validation(message)) => Err(message),
        Err(other) => return Err(other.into()),
    };
    let status = if preview.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    page_with(
        status,
        &JoinPage {
            nav: Nav::for_user(&user),
            preview,
        },
    )
}

/// The teacher of `user`, as the class use cases take them.
fn teacher(user: &CurrentUser) -> crate::study::actor::Actor<'_> {
    super::actor(user)
}

async fn classes_page(
    state: &AppState,
    user: &CurrentUser,
    error: Option<String>,
    code: String,
) -> Result<ClassesPage, AppError> {
    let mine = classes::of_user(state.db.reader(), user.id, user.is_instructor()).await?;
    Ok(ClassesPage {
        nav: Nav::for_user(user),
        is_instructor: user.is_instructor(),
        owned: mine.owned,
        joined: mine.joined,
        just_joined: None,
        error,
        code,
    })
}

#[derive(Deserialize)]
struct JoinedQuery {
    joined: Option<i64>,
}

async fn list_classes(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<JoinedQuery>,
) -> Result<HttpResponse, AppError> {
    let mut classes = classes_page(&state, &user, None, String::new()).await?;
    classes.just_joined = classes
        .joined
        .iter()
        .find(|c| Some(c.id) == query.joined)
        .map(|c| c.name.clone());
    page(&classes)
}

async fn create_class(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    form: CsrfForm<NameForm>,
) -> Result<HttpResponse, AppError> {
    match classes::create(
        state.db.writer(),
        &state.quotas,
        &form.0.name,
        user.id,
        state.clock.now(),
    )
    .await
    {
        Ok(id) => Ok(see_other(&format!("/classes/{id}"))),
        Err(StudyError::Validation(message)) => page_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &classes_page(&state, &user, Some(message), String::new()).await?,
        ),
        Err(other) => Err(other.into()),
    }
}

async fn join_class(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    form: CsrfForm<CodeForm>,
) -> Result<HttpResponse, AppError> {
    match classes::join(
        state.db.writer(),
        &*state.sessions,
        &state.quotas,
        &user.learner,
        super::client_ip(&req, &state),
        &form.0.code,
        state.max_interval_days,
        state.clock.now(),
    )
    .await
    {
        Ok(id) => Ok(see_other(&format!("/classes?joined={id}"))),
        Err(StudyError::Validation(message)) => page_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &classes_page(&state, &user, Some(message), form.0.code.clone()).await?,
        ),
        Err(other) => Err(other.into()),
    }
}

/// Asks before leaving a class (a GET changes nothing).
async fn confirm_leave(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let class = classes::joined(state.db.reader(), user.id, *id).await?;
    page(&ConfirmPage {
        nav: Nav::for_user(&user),
        title: format!("Leave the class ‘{}’?", class.name),
        message: "You stop seeing the decks assigned to it (your reviews of them are kept), its \
                  exams stop shaping your schedule, and its instructor no longer sees your \
                  progress. To come back you need its join code or link again."
            .to_owned(),
        action: format!("/classes/{}/leave", class.id),
        button: "Leave the class",
        back: "/classes".to_owned(),
        cancel: "Stay",
    })
}

/// Leaves a class once confirmed; an unconfirmed post is sent to the question.
async fn leave_class(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    form: CsrfForm<ConfirmForm>,
) -> Result<HttpResponse, AppError> {
    if !form.0.confirmed() {
        return Ok(see_other(&format!("/classes/{}/leave", *id)));
    }
    classes::leave(
        state.db.writer(),
        &*state.sessions,
        &user.learner,
        *id,
        state.max_interval_days,
        state.clock.now(),
    )
    .await?;
    Ok(see_other("/classes"))
}

/// A student has read that their class's new parameters moved their cards
/// (the banner `Nav::notice` shows on every page): back to reviewing, without it.
async fn dismiss_notice(
    state: web::Data<AppState>,
    user: CurrentUser,
    _form: CsrfForm<Nothing>,
) -> Result<HttpResponse, AppError> {
    crate::study::fits::dismiss_notice(state.db.writer(), &*state.sessions, user.id).await?;
    Ok(see_other("/review"))
}
