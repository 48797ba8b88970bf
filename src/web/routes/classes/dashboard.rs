//! A class's dashboard for its instructor: activity, hard cards, misconceptions, students,
//! exam predictions and the scheduler comparison; the student table as CSV; and the button
//! that fits FSRS to the class, whose result is proposed with what it would change until the
//! instructor applies or discards it.

use super::Nothing;
use crate::db::analytics::ProposalRow;
use crate::study::classes::{self, ClassRow};
use crate::study::dashboard::{self, CHART_DAYS, MIN_SCORED, MisconceptionCount, StudentLine};
use crate::study::fits::{self, FitOf, FitStatus};
use crate::web::error::AppError;
use crate::web::routes::{Nav, page, see_other};
use crate::web::{AppState, CsrfForm, Instructor};
use actix_web::{HttpResponse, web};
use askama::Template;

#[derive(Template)]
#[template(path = "classes/dashboard.html")]
struct DashboardPage {
    nav: Nav,
    class: ClassRow,
    active_7: i64,
    active_30: i64,
    chart: crate::charts::BarChart,
    hardest: Vec<HardLine>,
    /// Cards that are leeches for some students.
    leeches: Vec<crate::study::dashboard::ClassLeech>,
    /// Failures that make a leech.
    leech_failures: i64,
    misconceptions: Vec<MisconceptionCount>,
    students: Vec<StudentView>,
    /// The students at risk, with why, in the table's order.
    at_risk: Vec<(String, String)>,
    predictions: Predictions,
    exams: Vec<ExamRecallView>,
    /// Whether the predictions use the class's fitted parameters (else FSRS's defaults).
    exams_fitted: bool,
}

/// One exam's predicted recall, formatted.
struct ExamRecallView {
    id: i64,
    name: String,
    date: String,
    cards: usize,
    /// (student, recall, cards studied), least prepared first.
    students: Vec<(String, String, usize)>,
    /// (card front, mean recall, students who studied it), least likely first.
    weakest: Vec<(String, String, usize)>,
}

fn percent(r: f64) -> String {
    format!("{:.0}%", r * 100.0)
}

/// Which scheduler predicts the class better (`srs::evaluate`).
struct Predictions {
    verdict: Verdict,
    /// A fit queued or running now.
    fitting: Option<FitStatus>,
    /// How many fits each app server runs at once (the queue ahead is the whole site's).
    fits_at_once: usize,
    /// The saved fit: (reviews, date fitted, the parameters as shown).
    fitted: Option<(i64, String, String)>,
    /// The fit last applied is rescheduling the students now.
    applying: bool,
    /// A fit waiting for the instructor to apply or discard it.
    proposal: Option<ProposalView>,
}

enum Verdict {
    /// Too few later reviews to score: how many there are.
    TooFew(usize),
    /// The scores, formatted.
    Scored {
        scored: usize,
        earlier: usize,
        split: String,
        rows: Vec<(&'static str, String, String)>,
    },
}

impl From<dashboard::Verdict> for Verdict {
    fn from(verdict: dashboard::Verdict) -> Self {
        match verdict {
            dashboard::Verdict::TooFew(n) => Self::TooFew(n),
            dashboard::Verdict::Scored(c) => {
                let row = |name, s: crate::srs::evaluate::Score| {
                    (
                        name,
                        format!("{:.4}", s.log_loss),
                        format!("{:.4}", s.rmse_bins),
                    )
                };
                let mut rows = vec![row("SM-2", c.sm2), row("FSRS, default parameters", c.fsrs)];
                if let Some(s) = c.fitted {
                    rows.push(row("FSRS, this class's parameters", s));
                }
                Self::Scored {
                    scored: c.scored,
                    earlier: c.earlier,
                    split: crate::srs::day::date_of_day(c.split_day).to_string(),
                    rows,
                }
            }
        }
    }
}

pub(super) async fn start_fit(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    id: web::Path<i64>,
    _form: CsrfForm<Nothing>,
) -> Result<HttpResponse, AppError> {
    let class = classes::owned(state.db.reader(), user.id, *id).await?;
    state.start_fit(FitOf::Class(class.id)).await?;
    Ok(see_other(&format!(
        "/classes/{}/dashboard#predictions",
        class.id
    )))
}

pub(super) async fn apply_fit(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    id: web::Path<i64>,
    _form: CsrfForm<Nothing>,
) -> Result<HttpResponse, AppError> {
    fits::apply_class_fit(&state.db, &state.fits, user.id, *id, state.clock.now()).await?;
    Ok(see_other(&format!(
        "/classes/{}/dashboard#predictions",
        *id
    )))
}

pub(super) async fn discard_fit(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    id: web::Path<i64>,
    _form: CsrfForm<Nothing>,
) -> Result<HttpResponse, AppError> {
    fits::discard_class_fit(&state.db, user.id, *id).await?;
    Ok(see_other(&format!(
        "/classes/{}/dashboard#predictions",
        *id
    )))
}

/// A proposed fit as the dashboard shows it, with what applying it would change.
struct ProposalView {
    /// Reviews it was fitted on.
    reviews: i64,
    /// The day it was fitted, which the figures are as of.
    date: String,
    /// The parameters as shown.
    shown: String,
    figures: ProposalRow,
}

impl From<ProposalRow> for ProposalView {
    fn from(p: ProposalRow) -> Self {
        let parameters: Vec<f32> = serde_json::from_str(&p.parameters).unwrap_or_default();
        Self {
            reviews: p.reviews,
            date: date_of_second(p.fitted_at),
            shown: shown(&parameters),
            figures: p,
        }
    }
}

/// Parameters as the page shows them.
fn shown(parameters: &[f32]) -> String {
    parameters
        .iter()
        .map(|w| format!("{w:.4}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The UTC date of a Unix time.
fn date_of_second(at: i64) -> String {
    i32::try_from(at.div_euclid(86_400))
        .map(|d| crate::srs::day::date_of_day(d).to_string())
        .unwrap_or_default()
}

struct HardLine {
    card_id: i64,
    front: String,
    mean_grade: String,
    lapse_rate: String,
    students: i64,
    reviews: i64,
}

/// One student's figures as the table and the CSV show them.
struct StudentView {
    username: String,
    reviews: i64,
    retention: String,
    overdue: i64,
    last_active: String,
}

impl From<StudentLine> for StudentView {
    fn from(s: StudentLine) -> Self {
        Self {
            retention: if s.mature_reviews > 0 {
                format!("{}%", s.mature_passed * 100 / s.mature_reviews)
            } else {
                String::new()
            },
            last_active: s
                .last_active_day
                .and_then(|d| i32::try_from(d).ok())
                .map(|d| crate::srs::day::date_of_day(d).to_string())
                .unwrap_or_default(),
            username: s.username,
            reviews: s.reviews,
            overdue: s.overdue,
        }
    }
}

pub(super) async fn show_dashboard(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let today = user.today(state.clock.now());
    let board = dashboard::of_class(&state.db, user.id, *id, today).await?;
    let values: Vec<(String, i64)> = board
        .reviews_per_day
        .iter()
        .map(|&(d, n)| (crate::srs::day::date_of_day(d).to_string(), n))
        .collect();
    let first = today - CHART_DAYS + 1;
    let fitted = board
        .fit
        .map(|f| (f.reviews, date_of_second(f.fitted_at), shown(&f.parameters)));
    let proposal = fits::proposal_of(&state.db, board.class.id)
        .await?
        .map(ProposalView::from);
    page(&DashboardPage {
        nav: Nav::for_user(&user),
        active_7: board.active_7,
        active_30: board.active_30,
        chart: crate::charts::bar_chart(
            &values,
            &crate::charts::week_ticks(today, first - today..1),
            values.len().checked_sub(1),
        ),
        hardest: board
            .hardest
            .into_iter()
            .map(|h| HardLine {
                mean_grade: format!("{:.2}", h.mean_grade),
                lapse_rate: format!("{:.0}%", h.lapse_rate * 100.0),
                card_id: h.card_id,
                front: crate::markup::summary(&h.front, &h.format),
                students: h.students,
                reviews: h.reviews,
            })
            .collect(),
        leeches: board.leeches,
        leech_failures: crate::study::controls::LEECH_FAILURES,
        misconceptions: board.misconceptions,
        at_risk: board
            .students
            .iter()
            .filter_map(|s| {
                let why = dashboard::risks(s, today);
                (!why.is_empty()).then(|| {
                    let why: Vec<String> = why.iter().map(ToString::to_string).collect();
                    (s.username.clone(), why.join(", "))
                })
            })
            .collect(),
        students: board.students.into_iter().map(StudentView::from).collect(),
        exams_fitted: board.exams_fitted,
        exams: board
            .exams
            .into_iter()
            .map(|r| ExamRecallView {
                id: r.exam.id,
                date: i32::try_from(r.exam.exam_day)
                    .map(|d| crate::srs::day::date_of_day(d).to_string())
                    .unwrap_or_default(),
                name: r.exam.name,
                cards: r.cards,
                students: r
                    .students
                    .into_iter()
                    .map(|s| (s.username, percent(s.recall), s.studied))
                    .collect(),
                weakest: r
                    .weakest
                    .into_iter()
                    .map(|c| (c.front, percent(c.recall), c.studied))
                    .collect(),
            })
            .collect(),
        predictions: Predictions {
            verdict: board.verdict.into(),
            fitting: state.fits.status(FitOf::Class(board.class.id)).await?,
            applying: state
                .fits
                .status(FitOf::Applying(board.class.id))
                .await?
                .is_some(),
            fits_at_once: state.fits.cap(),
            fitted,
            proposal,
        },
        class: board.class,
    })
}

pub(super) async fn download_students(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let today = user.today(state.clock.now());
    let lines = dashboard::students(state.db.reader(), user.id, *id, today)
        .await?
        .into_iter()
        .map(StudentView::from)
        .map(|s| {
            vec![
                s.username,
                s.reviews.to_string(),
                s.retention,
                s.overdue.to_string(),
                s.last_active,
            ]
        });
    crate::web::routes::csv_download(
        "class-students.csv",
        &[
            "student",
            "reviews",
            "retention",
            "overdue_cards",
            "last_active",
        ],
        lines,
    )
}
