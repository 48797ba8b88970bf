//! /practice: any family, as often as wanted, outside the schedule. Every variant has a
//! permanent link, /practice/{family}/{seed}.

use super::{Nav, page, page_with, see_other};
use crate::practice::{self, Family, MAX_SEED, Variant};
use crate::study::StudyError;
use crate::study::practice::{self as checking, Submission};
use crate::web::error::AppError;
use crate::web::{AppState, CsrfForm, CurrentUser};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/practice").route(web::get().to(list_families)))
        .service(web::resource("/practice/{family}").route(web::get().to(new_problem)))
        .service(
            web::resource("/practice/{family}/{seed}")
                .route(web::get().to(show_problem))
                .route(web::post().to(answer_problem)),
        );
}

/// A checked answer, as the problem pages show it.
pub struct Verdict {
    /// Right?
    pub correct: bool,
    /// What was typed.
    pub typed: String,
    /// The right answer, as it reads.
    pub expected: String,
    /// "within 1%" for real answers.
    pub tolerance: &'static str,
    /// The misconception named.
    pub misconception: Option<String>,
    /// The grade suggested for a review.
    pub suggested: u8,
    /// The student asked for the solution instead of answering.
    pub gave_up: bool,
}

impl Verdict {
    /// The verdict of a stored attempt on its variant.
    pub fn of(row: &crate::db::practice::AttemptRow, variant: &Variant) -> Self {
        Self {
            correct: row.correct,
            typed: row.answer.clone(),
            expected: variant.expected.display(),
            tolerance: if variant.expected.tolerance() > 0.0 {
                " (answers within 1% count)"
            } else {
                ""
            },
            misconception: row.misconception.clone(),
            suggested: u8::try_from(row.suggested_quality).unwrap_or(0),
            gave_up: row.answer == crate::study::practice::GAVE_UP,
        }
    }
}

#[derive(Template)]
#[template(path = "practice/index.html")]
struct FamiliesPage {
    nav: Nav,
    families: &'static [Family],
}

#[derive(Template)]
#[template(path = "practice/problem.html")]
struct ProblemPage {
    nav: Nav,
    family: &'static Family,
    variant: Variant,
    started_ms: i64,
    answer: String,
    error: Option<String>,
    verdict: Option<Verdict>,
}

#[derive(Deserialize)]
struct AttemptQuery {
    attempt: Option<i64>,
}

#[derive(Deserialize)]
struct AnswerForm {
    #[serde(default)]
    answer: String,
    #[serde(default)]
    started: String,
    give_up: Option<String>,
}

/// The family and seed of a problem URL; anything else is not a page.
fn locate(family: &str, seed: &str) -> Result<(&'static Family, u64), AppError> {
    let family = practice::family(family).ok_or(AppError::NotFound)?;
    let seed = seed
        .parse::<u64>()
        .ok()
        .filter(|s| *s <= MAX_SEED)
        .ok_or(AppError::NotFound)?;
    Ok((family, seed))
}

async fn list_families(user: CurrentUser) -> Result<HttpResponse, AppError> {
    page(&FamiliesPage {
        nav: Nav::for_user(&user),
        families: practice::FAMILIES,
    })
}

async fn new_problem(
    _user: CurrentUser,
    family: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let family = practice::family(&family).ok_or(AppError::NotFound)?;
    Ok(see_other(&format!(
        "/practice/{}/{}",
        family.id,
        checking::random_seed()
    )))
}

async fn show_problem(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
    query: web::Query<AttemptQuery>,
) -> Result<HttpResponse, AppError> {
    let (family, seed) = locate(&path.0, &path.1)?;
    let variant = family.variant(seed);
    let verdict = match query.attempt {
        Some(id) => match checking::attempt(state.db.reader(), &user.learner, id).await? {
            Some((row, attempted)) if attempted == variant => Some(Verdict::of(&row, &attempted)),
            _ => return Err(AppError::NotFound),
        },
        None => None,
    };
    page(&ProblemPage {
        nav: Nav::for_user(&user),
        family,
        variant,
        started_ms: state.clock.now().as_millisecond(),
        answer: String::new(),
        error: None,
        verdict,
    })
}

async fn answer_problem(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
    form: CsrfForm<AnswerForm>,
) -> Result<HttpResponse, AppError> {
    super::spend_write(&state, &user)?;
    let (family, seed) = locate(&path.0, &path.1)?;
    let form = form.0;
    let now = state.clock.now();
    let response_ms = checking::elapsed_ms(&form.started, now.as_millisecond());
    let submission = if form.give_up.is_some() {
        Submission::GiveUp
    } else {
        Submission::Answer(&form.answer)
    };
    match checking::record_attempt(
        state.db.writer(),
        &user.learner,
        family,
        seed,
        submission,
        response_ms,
        None,
        now.as_second(),
    )
    .await
    {
        // The verdict is the page's answer: it opens there, below the problem.
        Ok(id) => Ok(see_other(&format!(
            "/practice/{}/{seed}?attempt={id}#verdict",
            family.id
        ))),
        Err(StudyError::Validation(message)) => page_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ProblemPage {
                nav: Nav::for_user(&user),
                family,
                variant: family.variant(seed),
                started_ms: form
                    .started
                    .trim()
                    .parse()
                    .unwrap_or_else(|_| now.as_millisecond()),
                answer: form.answer,
                error: Some(message),
                verdict: None,
            },
        ),
        Err(other) => Err(other.into()),
    }
}
