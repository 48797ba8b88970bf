//! JSON API for logged-in users (the session cookie). POSTs must be `application/json`, which
//! a cross-site form cannot send without a CORS preflight this server never grants.

use crate::practice::{self, Expected, MAX_SEED, Params};
use crate::web::error::{ApiError, AppError};
use crate::web::{csrf::payload_error, extract as user};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

/// Everything under `/api/v1` answers in JSON, malformed requests and unknown paths too.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                ApiError(AppError::BadRequest(format!(
                    "The address has a bad parameter: {}.",
                    e.to_string()
                        .trim_start_matches("Query deserialize error: ")
                )))
                .into()
            }))
            .app_data(
                web::PathConfig::default()
                    .error_handler(|_, _| ApiError(AppError::NotFound).into()),
            )
            .service(web::resource("/practice").route(web::get().to(list_families)))
            .service(web::resource("/practice/{id}").route(web::get().to(show_variant)))
            .service(
                web::resource("/practice/{id}/{seed}/answer").route(web::post().to(check_answer)),
            )
            .default_service(web::to(|| async {
                Err::<HttpResponse, ApiError>(ApiError(AppError::NotFound))
            })),
    );
}

#[derive(Serialize)]
struct FamilyJson {
    id: &'static str,
    title: &'static str,
    description: &'static str,
}

#[derive(Serialize)]
struct VariantJson<'a> {
    id: &'static str,
    seed: u64,
    prompt: &'a str,
    params: &'a Params,
}

#[derive(Serialize)]
struct CheckJson<'a> {
    correct: bool,
    expected: &'a Expected,
    tolerance: f64,
    solution: &'a [String],
    misconception: Option<&'static str>,
}

#[derive(Deserialize)]
struct SeedQuery {
    seed: Option<String>,
}

#[derive(Deserialize)]
struct AnswerBody {
    answer: String,
}

/// A logged-in user who may use the site now: one whose password an admin reset gets 403
/// until they choose a new one, as every page does.
async fn require_login(req: &HttpRequest) -> Result<(), ApiError> {
    let user = user::load(req)
        .await?
        .ok_or(ApiError(AppError::Unauthorized))?;
    user::cleared(req, user)?;
    Ok(())
}

fn family(id: &str) -> Result<&'static practice::Family, ApiError> {
    practice::family(id).ok_or_else(|| ApiError(AppError::NotFound))
}

fn seed(raw: &str) -> Result<u64, ApiError> {
    raw.trim()
        .parse::<u64>()
        .ok()
        .filter(|s| *s <= MAX_SEED)
        .ok_or_else(|| {
            ApiError(AppError::BadRequest(format!(
                "The seed must be a whole number from 0 to {MAX_SEED}."
            )))
        })
}

async fn list_families(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    require_login(&req).await?;
    let families: Vec<FamilyJson> = practice::FAMILIES
        .iter()
        .map(|f| FamilyJson {
            id: f.id,
            title: f.title,
            description: f.description,
        })
        .collect();
    Ok(HttpResponse::Ok().json(families))
}

async fn show_variant(
    req: HttpRequest,
    id: web::Path<String>,
    query: web::Query<SeedQuery>,
) -> Result<HttpResponse, ApiError> {
    require_login(&req).await?;
    let family = family(&id)?;
    let seed = match query.seed.as_deref() {
        Some(raw) => seed(raw)?,
        None => crate::study::practice::random_seed(),
    };
    let v = family.variant(seed);
    Ok(HttpResponse::Ok().json(VariantJson {
        id: family.id,
        seed,
        prompt: &v.prompt,
        params: &v.params,
    }))
}

async fn check_answer(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    require_login(&req).await?;
    let body = body.map_err(|e| ApiError(payload_error(e)))?;
    let family = family(&path.0)?;
    let seed = seed(&path.1)?;
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
    if !is_json {
        return Err(ApiError(AppError::UnsupportedMediaType(
            "Send the answer as application/json: {\"answer\": \"...\"}.".to_owned(),
        )));
    }
    let body: AnswerBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError(AppError::BadRequest(format!(
            "The body must be {{\"answer\": \"...\"}}: {e}."
        )))
    })?;
    let v = family.variant(seed);
    let checked = v
        .check(&body.answer)
        .map_err(|e| ApiError(AppError::BadRequest(e.0)))?;
    Ok(HttpResponse::Ok().json(CheckJson {
        correct: checked.correct,
        expected: &v.expected,
        tolerance: v.expected.tolerance(),
        solution: &v.solution,
        misconception: checked.misconception,
    }))
}
