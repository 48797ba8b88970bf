//! Classes: instructors create them and assign decks; students join with a code and leave.
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
use crate::web::{AppState, CsrfForm, CurrentUser, Instructor};
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
    .service(
        web::resource("/classes/schedule-notice/dismiss").route(web::post().to(dismiss_notice)),
    )
    .service(web::resource("/classes/{id}").route(web::get().to(class_page::show_class)))
    .service(web::resource("/classes/{id}/code").route(web::post().to(class_page::new_code)))
    .service(
        web::resource("/classes/{id}/decks/{deck_id}")
            .route(web::post().to(class_page::assign_deck)),
    )
    .service(web::resource("/classes/{id}/leave").route(web::post().to(leave_class)))
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

async fn leave_class(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    _form: CsrfForm<Nothing>,
) -> Result<HttpResponse, AppError> {
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
