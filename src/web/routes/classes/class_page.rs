//! A class's own page, for its instructor: members, decks, default retention, exams.

use super::{ConfirmForm, ConfirmPage, Nothing, teacher};
use crate::study::classes::{self, ClassRow, DeckChoice, MemberRow};
use crate::study::exams::NewExam;
use crate::web::error::AppError;
use crate::web::routes::{Nav, page, page_with, see_other};
use crate::web::{AppState, CsrfForm, CurrentUser, Instructor};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "classes/show.html")]
struct ClassPage {
    nav: Nav,
    /// The site's address as the browser reached it, before the join link's path.
    site: String,
    class: ClassRow,
    members: Vec<MemberRow>,
    decks: Vec<DeckChoice>,
    default_retention: String,
    retention_errors: Vec<String>,
    exams: Vec<ExamLine>,
    exam_errors: Vec<String>,
    exam_form: ExamForm,
}

impl ClassPage {
    /// Whether a public deck is listed (its Assign button needs its explanation).
    fn any_public(&self) -> bool {
        self.decks.iter().any(|d| d.public)
    }
}

/// The site's address as `req` reached it (scheme and host), for links to share.
fn site_of(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// An exam as the class page lists it.
struct ExamLine {
    id: i64,
    name: String,
    date: String,
    window_days: i64,
    deck_names: String,
}

/// The exam form, as submitted (or empty): deck checkboxes come as `deck_<id>` fields.
#[derive(Deserialize, Default)]
pub(super) struct ExamForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    window_days: String,
    #[serde(flatten)]
    fields: std::collections::HashMap<String, String>,
}

impl ExamForm {
    /// The decks ticked.
    fn decks(&self) -> Vec<i64> {
        let mut decks: Vec<i64> = self
            .fields
            .keys()
            .filter_map(|k| k.strip_prefix("deck_")?.parse().ok())
            .collect();
        decks.sort_unstable();
        decks
    }

    fn ticked(&self, deck_id: &i64) -> bool {
        self.fields.contains_key(&format!("deck_{deck_id}"))
    }
}

#[derive(Deserialize)]
pub(super) struct RetentionForm {
    #[serde(default)]
    default_retention: String,
}

#[derive(Deserialize)]
pub(super) struct AssignForm {
    #[serde(default)]
    assigned: String,
}

/// The page of a class `user` runs (else not found), as its use case read it.
async fn read_page(
    state: &AppState,
    user: &CurrentUser,
    class_id: i64,
) -> Result<classes::ClassPage, AppError> {
    let today = user.today(state.clock.now());
    Ok(classes::page(state.db.reader(), teacher(user), class_id, today).await?)
}

/// The class page to render.
fn view(req: &HttpRequest, user: &CurrentUser, read: classes::ClassPage) -> ClassPage {
    ClassPage {
        nav: Nav::for_user(user),
        site: site_of(req),
        members: read.members,
        default_retention: read
            .default_retention
            .map(|r| r.to_string())
            .unwrap_or_default(),
        exams: read
            .exams
            .into_iter()
            .map(|e| ExamLine {
                id: e.id,
                name: e.name,
                date: i32::try_from(e.exam_day)
                    .map(|d| crate::srs::day::date_of_day(d).to_string())
                    .unwrap_or_default(),
                window_days: e.window_days,
                deck_names: e.deck_names,
            })
            .collect(),
        class: read.class,
        decks: read.decks,
        retention_errors: Vec::new(),
        exam_errors: Vec::new(),
        exam_form: ExamForm::default(),
    }
}

pub(super) async fn show_class(
    state: web::Data<AppState>,
    req: HttpRequest,
    Instructor(user): Instructor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let read = read_page(&state, &user, *id).await?;
    page(&view(&req, &user, read))
}

pub(super) async fn add_exam(
    state: web::Data<AppState>,
    req: HttpRequest,
    Instructor(user): Instructor,
    id: web::Path<i64>,
    form: CsrfForm<ExamForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.0;
    let read = read_page(&state, &user, *id).await?;
    let parsed = NewExam::parse(
        &form.name,
        &form.date,
        &form.window_days,
        form.decks(),
        user.today(state.clock.now()),
        &read.studied_decks(),
    );
    match parsed {
        Ok(exam) => {
            let (state, user_id, class_id) = (state.clone(), user.id, read.class.id);
            super::super::to_the_end(async move {
                classes::add_exam(
                    &state.db,
                    &*state.sessions,
                    &state.quotas,
                    user_id,
                    class_id,
                    &exam,
                    state.clock.now(),
                )
                .await
            })
            .await?;
            Ok(see_other(&format!("/classes/{class_id}#exams")))
        }
        Err(problems) => {
            let mut page = view(&req, &user, read);
            page.exam_errors = problems;
            page.exam_form = ExamForm {
                name: form.name.chars().take(100).collect(),
                date: form.date.chars().take(20).collect(),
                window_days: form.window_days.chars().take(20).collect(),
                fields: form.fields,
            };
            page_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

/// Asks before deleting an exam (a GET changes nothing).
pub(super) async fn confirm_delete_exam(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (class_id, exam_id) = path.into_inner();
    let (class, exam) =
        classes::exam_to_delete(state.db.reader(), user.id, class_id, exam_id).await?;
    let date = i32::try_from(exam.exam_day)
        .map(|d| crate::srs::day::date_of_day(d).to_string())
        .unwrap_or_default();
    page(&ConfirmPage {
        nav: Nav::for_user(&user),
        title: format!("Delete the exam ‘{}’?", exam.name),
        message: format!(
            "The exam on {date} leaves the class ‘{}’: its students' cards of {} are no longer \
             placed in its review window and get back the due days their scheduler gave them. \
             This cannot be undone (you can add the exam again).",
            class.name,
            if exam.deck_names.is_empty() {
                "its decks"
            } else {
                &exam.deck_names
            }
        ),
        action: format!("/classes/{}/exams/{}/delete", class.id, exam.id),
        button: "Delete the exam",
        back: format!("/classes/{}#exams", class.id),
        cancel: "Keep it",
    })
}

/// Deletes an exam once confirmed; an unconfirmed post is sent to the question.
pub(super) async fn delete_exam(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    path: web::Path<(i64, i64)>,
    form: CsrfForm<ConfirmForm>,
) -> Result<HttpResponse, AppError> {
    let (class_id, exam_id) = path.into_inner();
    if !form.0.confirmed() {
        return Ok(see_other(&format!(
            "/classes/{class_id}/exams/{exam_id}/delete"
        )));
    }
    let (state, user_id) = (state.clone(), user.id);
    super::super::to_the_end(async move {
        let now = state.clock.now();
        classes::delete_exam(&state.db, &*state.sessions, user_id, class_id, exam_id, now).await
    })
    .await?;
    Ok(see_other(&format!("/classes/{class_id}#exams")))
}

pub(super) async fn set_retention(
    state: web::Data<AppState>,
    req: HttpRequest,
    Instructor(user): Instructor,
    id: web::Path<i64>,
    form: CsrfForm<RetentionForm>,
) -> Result<HttpResponse, AppError> {
    let text = form.0.default_retention;
    match classes::parse_default_retention(&text) {
        Ok(retention) => {
            classes::set_default_retention(
                &state.db,
                &*state.sessions,
                user.id,
                *id,
                retention,
                state.max_interval_days,
                state.clock.now(),
            )
            .await?;
            Ok(see_other(&format!("/classes/{}#retention", *id)))
        }
        Err(problem) => {
            let mut page = view(&req, &user, read_page(&state, &user, *id).await?);
            page.retention_errors = vec![problem.0];
            page.default_retention = text.trim().chars().take(20).collect();
            page_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

pub(super) async fn new_code(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    id: web::Path<i64>,
    _form: CsrfForm<Nothing>,
) -> Result<HttpResponse, AppError> {
    classes::regenerate_code(state.db.writer(), user.id, *id).await?;
    Ok(see_other(&format!("/classes/{}", *id)))
}

pub(super) async fn assign_deck(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    path: web::Path<(i64, i64)>,
    form: CsrfForm<AssignForm>,
) -> Result<HttpResponse, AppError> {
    let (class_id, deck_id) = path.into_inner();
    let assigned = match form.0.assigned.as_str() {
        "1" => true,
        "0" => false,
        _ => return Err(AppError::BadRequest("assigned is 1 or 0.".to_owned())),
    };
    classes::assign_deck(
        &state.db,
        &*state.sessions,
        teacher(&user),
        class_id,
        deck_id,
        assigned,
    )
    .await?;
    Ok(see_other(&format!("/classes/{class_id}")))
}
