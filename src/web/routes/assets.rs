//! The stylesheet and script, compiled into the binary and served under a URL that carries a
//! hash of their content, so browsers may cache them forever and still see every change.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const CSS: &str = include_str!("../../../static/app.css");
const JS: &str = include_str!("../../../static/app.js");

static CSS_URL: LazyLock<String> =
    LazyLock::new(|| format!("/static/app.css?v={}", short_hash(CSS)));
static JS_URL: LazyLock<String> = LazyLock::new(|| format!("/static/app.js?v={}", short_hash(JS)));

fn short_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..6])
}

/// The stylesheet's URL.
pub fn css_url() -> &'static str {
    CSS_URL.as_str()
}

/// The script's URL.
pub fn js_url() -> &'static str {
    JS_URL.as_str()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/static/app.css").route(web::get().to(app_css)))
        .service(web::resource("/static/app.js").route(web::get().to(app_js)));
}

fn asset(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(body)
}

async fn app_css() -> HttpResponse {
    asset("text/css; charset=utf-8", CSS)
}

async fn app_js() -> HttpResponse {
    asset("text/javascript; charset=utf-8", JS)
}
