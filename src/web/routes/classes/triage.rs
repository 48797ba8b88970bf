//! The reports of a class's students, for its instructor to resolve.

use super::Nothing;
use crate::study::classes::{self, ClassRow};
use crate::web::error::AppError;
use crate::web::routes::{Nav, page, see_other};
use crate::web::{AppState, CsrfForm, Instructor};
use actix_web::{HttpResponse, web};
use askama::Template;

#[derive(Template)]
#[template(path = "classes/reports.html")]
struct ReportsPage {
    nav: Nav,
    back: String,
    class: ClassRow,
    reports: Vec<crate::web::routes::reports::ReportLine>,
}

/// The open reports of a class's students on the class's decks, for its instructor.
pub(super) async fn list_reports(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (class, reports) =
        classes::open_reports(state.db.reader(), super::teacher(&user), *id).await?;
    page(&ReportsPage {
        nav: Nav::for_user(&user),
        back: format!("/classes/{}/reports", class.id),
        reports: crate::web::routes::reports::lines(reports, &user),
        class,
    })
}

pub(super) async fn resolve_report(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    path: web::Path<(i64, i64)>,
    _form: CsrfForm<Nothing>,
) -> Result<HttpResponse, AppError> {
    let (class_id, report_id) = path.into_inner();
    let now = state.clock.now().as_second();
    classes::resolve_report(state.db.writer(), user.id, class_id, report_id, now).await?;
    Ok(see_other(&format!("/classes/{class_id}/reports")))
}
