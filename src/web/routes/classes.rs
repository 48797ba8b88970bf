//! Classes: instructors create them and assign decks; students join with a code and leave.

use super::{Nav, page, page_with, see_other};
use crate::auth::quota::Kind;
use crate::db::classes::{ClassRow, MemberRow};
use crate::study::StudyError;
use crate::study::classes;
use crate::study::fits::{FitOf, FitStatus};
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
    .service(web::resource("/classes/{id}").route(web::get().to(show_class)))
    .service(web::resource("/classes/{id}/code").route(web::post().to(new_code)))
    .service(web::resource("/classes/{id}/decks/{deck_id}").route(web::post().to(assign_deck)))
    .service(web::resource("/classes/{id}/leave").route(web::post().to(leave_class)))
    .service(web::resource("/classes/{id}/reports").route(web::get().to(list_reports)))
    .service(
        web::resource("/classes/{id}/reports/{report_id}/resolve")
            .route(web::post().to(resolve_report)),
    )
    .service(web::resource("/classes/{id}/dashboard").route(web::get().to(show_dashboard)))
    .service(web::resource("/classes/{id}/fit").route(web::post().to(start_fit)))
    .service(web::resource("/classes/{id}/retention").route(web::post().to(set_retention)))
    .service(web::resource("/classes/{id}/exams").route(web::post().to(add_exam)))
    .service(
        web::resource("/classes/{id}/exams/{exam_id}/delete").route(web::post().to(delete_exam)),
    )
    .service(web::resource("/classes/{id}/students.csv").route(web::get().to(download_students)));
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

struct DeckChoice {
    id: i64,
    name: String,
    public: bool,
    assigned: bool,
}

#[derive(Template)]
#[template(path = "classes/show.html")]
struct ClassPage {
    nav: Nav,
    class: ClassRow,
    members: Vec<MemberRow>,
    decks: Vec<DeckChoice>,
    default_retention: String,
    retention_errors: Vec<String>,
    exams: Vec<ExamLine>,
    exam_errors: Vec<String>,
    exam_form: ExamForm,
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
struct ExamForm {
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
struct RetentionForm {
    #[serde(default)]
    default_retention: String,
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
struct AssignForm {
    #[serde(default)]
    assigned: String,
}

#[derive(Deserialize)]
struct Nothing {}

async fn classes_page(
    state: &AppState,
    user: &CurrentUser,
    error: Option<String>,
    code: String,
) -> Result<ClassesPage, AppError> {
    let db = state.db.reader();
    Ok(ClassesPage {
        nav: Nav::for_user(user),
        is_instructor: user.is_instructor(),
        owned: if user.is_instructor() {
            crate::db::classes::owned_by(db, user.id).await?
        } else {
            Vec::new()
        },
        joined: crate::db::classes::joined_by(db, user.id).await?,
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
        &state.quotas,
        user.id,
        super::client_ip(&req, &state),
        &form.0.code,
        state.clock.now(),
    )
    .await
    {
        Ok(id) => {
            state.sessions.forget_user(user.id);
            reschedule_member(&state, &user).await?;
            Ok(see_other(&format!("/classes?joined={id}")))
        }
        Err(StudyError::Validation(message)) => page_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &classes_page(&state, &user, Some(message), form.0.code.clone()).await?,
        ),
        Err(other) => Err(other.into()),
    }
}

/// A class run by this instructor; another's is "not found".
async fn owned(state: &AppState, user: &CurrentUser, id: i64) -> Result<ClassRow, AppError> {
    crate::db::classes::find_owned(state.db.reader(), id, user.id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn show_class(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let class = owned(&state, &user, *id).await?;
    page(&class_page(&state, &user, class, Vec::new()).await?)
}

async fn class_page(
    state: &AppState,
    user: &CurrentUser,
    class: ClassRow,
    retention_errors: Vec<String>,
) -> Result<ClassPage, AppError> {
    let db = state.db.reader();
    let assigned = crate::db::classes::deck_ids(db, class.id).await?;
    let today = user.today(state.clock.now());
    let decks = crate::db::decks::list_with_counts(db, user.id, today, user.hidden_decks())
        .await?
        .into_iter()
        .filter(|d| assigned.contains(&d.id) || user.may_assign_deck(d.owner_id, d.public))
        .map(|d| DeckChoice {
            assigned: assigned.contains(&d.id),
            public: d.public,
            id: d.id,
            name: d.name,
        })
        .collect();

    Ok(ClassPage {
        nav: Nav::for_user(user),
        members: crate::db::classes::members(db, class.id).await?,
        default_retention: crate::db::classes::default_retention(db, class.id)
            .await?
            .map(|r| r.to_string())
            .unwrap_or_default(),
        exams: crate::db::exams::of_class(db, class.id)
            .await?
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
        class,
        decks,
        retention_errors,
        exam_errors: Vec::new(),
        exam_form: ExamForm::default(),
    })
}

/// The decks a class studies: those assigned to it and the public ones.
fn class_decks(page: &ClassPage) -> Vec<i64> {
    page.decks
        .iter()
        .filter(|d| d.assigned || d.public)
        .map(|d| d.id)
        .collect()
}

async fn add_exam(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    id: web::Path<i64>,
    form: CsrfForm<ExamForm>,
) -> Result<HttpResponse, AppError> {
    let class = owned(&state, &user, *id).await?;
    let form = form.0;
    let mut page = class_page(&state, &user, class.clone(), Vec::new()).await?;
    let parsed = crate::study::exams::NewExam::parse(
        &form.name,
        &form.date,
        &form.window_days,
        form.decks(),
        user.today(state.clock.now()),
        &class_decks(&page),
    );
    match parsed {
        Ok(exam) => {
            let now = state.clock.now().as_millisecond();
            state.quotas.spend(user.id, &[(Kind::Exam, 1)], now)?;
            let (state, class_id) = (state.clone(), class.id);
            super::to_the_end(async move {
                let now = state.clock.now();
                crate::study::exams::create(&state.db, &*state.sessions, class_id, &exam, now).await
            })
            .await?;
            Ok(see_other(&format!("/classes/{}#exams", class.id)))
        }
        Err(problems) => {
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

async fn delete_exam(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    path: web::Path<(i64, i64)>,
    _form: CsrfForm<Nothing>,
) -> Result<HttpResponse, AppError> {
    let (id, exam_id) = path.into_inner();
    let class = owned(&state, &user, id).await?;
    let (state, class_id) = (state.clone(), class.id);
    super::to_the_end(async move {
        let now = state.clock.now();
        crate::study::exams::delete(&state.db, &*state.sessions, class_id, exam_id, now).await
    })
    .await?;
    Ok(see_other(&format!("/classes/{}#exams", class.id)))
}

async fn set_retention(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    id: web::Path<i64>,
    form: CsrfForm<RetentionForm>,
) -> Result<HttpResponse, AppError> {
    let class = owned(&state, &user, *id).await?;
    let text = form.0.default_retention.trim().to_owned();
    let retention = match text.parse::<i64>() {
        _ if text.is_empty() => Ok(None),
        Ok(r) if crate::srs::scheduler::RETENTION_PCT.contains(&r) => Ok(Some(r)),
        _ => Err(format!(
            "The default retention is a whole percentage from 70 to 97, or empty for none, not \"{}\".",
            text.chars().take(20).collect::<String>()
        )),
    };
    match retention {
        Ok(retention) => {
            crate::db::classes::set_default_retention(state.db.writer(), class.id, retention)
                .await?;
            crate::study::scheduling::reschedule_class(
                &state.db,
                &*state.sessions,
                class.id,
                state.max_interval_days,
                state.clock.now(),
            )
            .await?;
            Ok(see_other(&format!("/classes/{}#retention", class.id)))
        }
        Err(message) => {
            let mut page = class_page(&state, &user, class, vec![message]).await?;
            page.default_retention = text.chars().take(20).collect();
            page_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

async fn new_code(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    id: web::Path<i64>,
    _form: CsrfForm<Nothing>,
) -> Result<HttpResponse, AppError> {
    let class = owned(&state, &user, *id).await?;
    classes::regenerate_code(state.db.writer(), class.id).await?;
    Ok(see_other(&format!("/classes/{}", class.id)))
}

async fn assign_deck(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    path: web::Path<(i64, i64)>,
    form: CsrfForm<AssignForm>,
) -> Result<HttpResponse, AppError> {
    let (id, deck_id) = path.into_inner();
    let class = owned(&state, &user, id).await?;
    if !user.can_see(deck_id) {
        return Err(AppError::NotFound);
    }
    let assigned = match form.0.assigned.as_str() {
        "1" => true,
        "0" => false,
        _ => return Err(AppError::BadRequest("assigned is 1 or 0.".to_owned())),
    };
    // Taking a deck off one's own class is always allowed; handing one out is not.
    if assigned {
        let deck = crate::db::decks::find(state.db.reader(), deck_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !user.may_assign_deck(deck.owner_id, deck.public) {
            return Err(AppError::Forbidden(
                "Only a private deck's owner can assign it to a class.".to_owned(),
            ));
        }
    }
    crate::db::classes::set_deck(state.db.writer(), class.id, deck_id, assigned).await?;
    // Every member's view of the decks changes.
    state.sessions.forget_all();
    Ok(see_other(&format!("/classes/{}", class.id)))
}

async fn leave_class(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    _form: CsrfForm<Nothing>,
) -> Result<HttpResponse, AppError> {
    if !crate::db::classes::leave(state.db.writer(), *id, user.id).await? {
        return Err(AppError::NotFound);
    }
    state.sessions.forget_user(user.id);
    reschedule_member(&state, &user).await?;
    Ok(see_other("/classes"))
}

/// A student who joins or leaves a class may now have other FSRS parameters and exams.
async fn reschedule_member(
    state: &crate::web::startup::AppState,
    user: &CurrentUser,
) -> Result<(), AppError> {
    crate::study::scheduling::membership_changed(
        state.db.writer(),
        user.id,
        user.learner.scheduler,
        state.max_interval_days,
        state.clock.now(),
    )
    .await?;
    Ok(())
}

#[derive(Template)]
#[template(path = "classes/reports.html")]
struct ReportsPage {
    nav: Nav,
    back: String,
    class: ClassRow,
    reports: Vec<super::reports::ReportLine>,
}

/// The open reports of a class's students on the class's decks, for its instructor.
async fn list_reports(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let class = owned(&state, &user, *id).await?;
    let reports = super::reports::lines(
        crate::db::reports::open_for_class(state.db.reader(), class.id).await?,
        &user,
    );
    page(&ReportsPage {
        nav: Nav::for_user(&user),
        back: format!("/classes/{}/reports", class.id),
        class,
        reports,
    })
}

async fn resolve_report(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    path: web::Path<(i64, i64)>,
    _form: CsrfForm<Nothing>,
) -> Result<HttpResponse, AppError> {
    let (id, report_id) = path.into_inner();
    let class = owned(&state, &user, id).await?;
    let now = state.clock.now().as_second();
    if !crate::db::reports::resolve(state.db.writer(), report_id, class.id, user.id, now).await? {
        return Err(AppError::NotFound);
    }
    Ok(see_other(&format!("/classes/{}/reports", class.id)))
}

/// Days of the reviews-per-day chart.
const CHART_DAYS: i32 = 30;

#[derive(Template)]
#[template(path = "classes/dashboard.html")]
struct DashboardPage {
    nav: Nav,
    class: ClassRow,
    active_7: i64,
    active_30: i64,
    chart: crate::charts::BarChart,
    hardest: Vec<HardLine>,
    misconceptions: Vec<crate::db::analytics::MisconceptionCount>,
    students: Vec<StudentView>,
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
    /// How many fits this server runs at once.
    fits_at_once: usize,
    /// The saved fit: (reviews, date fitted, the parameters as shown).
    fitted: Option<(i64, String, String)>,
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

/// Later reviews needed before the scores mean anything.
const MIN_SCORED: usize = 30;

fn predictions(histories: &[(i64, i64, i64, i64)], fit: Option<(Vec<f32>, i32)>) -> Verdict {
    let cards = crate::srs::evaluate::histories_by_card(histories);
    let fitted = fit.as_ref().map(|(p, day)| (p.as_slice(), *day));
    match crate::srs::evaluate::compare_fitted(&cards, MIN_SCORED, fitted) {
        None => Verdict::TooFew(crate::srs::evaluate::compare(&cards, 1).map_or(0, |c| c.scored)),
        Some(c) => {
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
            Verdict::Scored {
                scored: c.scored,
                earlier: c.earlier,
                split: crate::srs::day::date_of_day(c.split_day).to_string(),
                rows,
            }
        }
    }
}

async fn start_fit(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    id: web::Path<i64>,
    _form: CsrfForm<Nothing>,
) -> Result<HttpResponse, AppError> {
    let class = owned(&state, &user, *id).await?;
    state.start_fit(FitOf::Class(class.id)).await?;
    Ok(see_other(&format!(
        "/classes/{}/dashboard#predictions",
        class.id
    )))
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

async fn student_views(
    state: &AppState,
    user: &CurrentUser,
    class_id: i64,
) -> Result<Vec<StudentView>, AppError> {
    let today = user.today(state.clock.now());
    Ok(
        crate::db::analytics::students(state.db.reader(), class_id, today)
            .await?
            .into_iter()
            .map(|s| StudentView {
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
            })
            .collect(),
    )
}

async fn show_dashboard(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let class = owned(&state, &user, *id).await?;
    let db = state.db.reader();
    let today = user.today(state.clock.now());
    let first = today - CHART_DAYS + 1;
    let per_day: std::collections::HashMap<i64, i64> =
        crate::db::analytics::reviews_per_day(db, class.id, first)
            .await?
            .into_iter()
            .collect();
    let values: Vec<(String, i64)> = (first..=today)
        .map(|d| {
            let label = crate::srs::day::date_of_day(d).to_string();
            (label, per_day.get(&i64::from(d)).copied().unwrap_or(0))
        })
        .collect();
    // The class's fitted parameters, if any: what the exam predictions use.
    let parameters: Option<Vec<f32>> = crate::db::analytics::fit_of(db, class.id)
        .await?
        .and_then(|f| serde_json::from_str(&f.parameters).ok());
    let hardest = crate::db::analytics::hardest_cards(db, class.id, 3, 10)
        .await?
        .into_iter()
        .map(|h| HardLine {
            mean_grade: format!("{:.2}", h.mean_grade),
            lapse_rate: format!("{:.0}%", h.lapse_rate * 100.0),
            card_id: h.card_id,
            front: h.front,
            students: h.students,
            reviews: h.reviews,
        })
        .collect();
    page(&DashboardPage {
        nav: Nav::for_user(&user),
        active_7: crate::db::analytics::active_students(db, class.id, today - 6).await?,
        active_30: crate::db::analytics::active_students(db, class.id, today - 29).await?,
        chart: crate::charts::bar_chart(
            &values,
            &crate::charts::week_ticks(today, first - today..1),
        ),
        hardest,
        misconceptions: crate::db::analytics::misconceptions(db, class.id, 10)
            .await?
            .into_iter()
            .map(|mut m| {
                // Families by their titles ("Conv layer parameters"), not their ids.
                if let Some(family) = crate::practice::family(&m.family) {
                    m.family = family.title.to_owned();
                }
                m
            })
            .collect(),
        students: student_views(&state, &user, class.id).await?,
        exams_fitted: parameters.is_some(),
        exams: crate::study::exams::reports(&state.db, class.id, parameters.unwrap_or_default())
            .await?
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
        predictions: {
            let saved = crate::db::analytics::fit_of(db, class.id).await?;
            let fit = saved.as_ref().and_then(|f| {
                let parameters: Vec<f32> = serde_json::from_str(&f.parameters).ok()?;
                Some((parameters, i32::try_from(f.split_day).ok()?))
            });
            let shown = fit.as_ref().map(|(p, _)| {
                p.iter()
                    .map(|w| format!("{w:.4}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            // About 0.7 µs a review (150 ms for 210,000): off the worker thread.
            let histories = crate::db::analytics::histories(db, class.id).await?;
            let verdict = web::block(move || predictions(&histories, fit))
                .await
                .map_err(|e| AppError::Internal(anyhow::anyhow!("scheduler scores: {e}")))?;
            Predictions {
                verdict,
                fitting: state.fits.status(FitOf::Class(class.id)).await?,
                fits_at_once: state.fits.cap(),
                fitted: saved.zip(shown).map(|(f, shown)| {
                    let day = i32::try_from(f.fitted_at.div_euclid(86_400))
                        .map(|d| crate::srs::day::date_of_day(d).to_string())
                        .unwrap_or_default();
                    (f.reviews, day, shown)
                }),
            }
        },
        class,
    })
}

async fn download_students(
    state: web::Data<AppState>,
    Instructor(user): Instructor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let class = owned(&state, &user, *id).await?;
    let lines = student_views(&state, &user, class.id)
        .await?
        .into_iter()
        .map(|s| {
            vec![
                s.username,
                s.reviews.to_string(),
                s.retention,
                s.overdue.to_string(),
                s.last_active,
            ]
        });
    super::csv_download(
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
