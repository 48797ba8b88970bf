//! The stylesheet, the script and the math font, compiled into the binary and served under a
//! URL that carries a hash of their content, so browsers may cache them forever and still see
//! every change. The stylesheet names the font by its hashed URL, so a new font is a new
//! stylesheet too.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const CSS: &str = include_str!("../../../static/app.css");
const JS: &str = include_str!("../../../static/app.js");
/// DejaVu Math TeX Gyre as WOFF2 (185 KB; static/fonts/LICENSE): a font with an OpenType
/// MATH table, which MathML needs for fraction bars, stretched brackets, large operators and
/// the placement of sub- and superscripts. The stylesheet uses it for `math` only.
const MATH_FONT: &[u8] = include_bytes!("../../../static/fonts/dejavu-math.woff2");
/// Where the stylesheet names the font, replaced by its hashed URL when served.
const MATH_FONT_PLACEHOLDER: &str = "/static/math.woff2";

static MATH_FONT_URL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{MATH_FONT_PLACEHOLDER}?v={}",
        hex::encode(&Sha256::digest(MATH_FONT)[..6])
    )
});
static CSS_SERVED: LazyLock<String> =
    LazyLock::new(|| CSS.replace(MATH_FONT_PLACEHOLDER, MATH_FONT_URL.as_str()));
static CSS_URL: LazyLock<String> =
    LazyLock::new(|| format!("/static/app.css?v={}", short_hash(&CSS_SERVED)));
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
        .service(web::resource("/static/app.js").route(web::get().to(app_js)))
        .service(web::resource(MATH_FONT_PLACEHOLDER).route(web::get().to(math_font)));
}

fn asset(content_type: &str, body: impl actix_web::body::MessageBody + 'static) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(body)
}

async fn app_css() -> HttpResponse {
    asset("text/css; charset=utf-8", CSS_SERVED.as_str())
}

async fn math_font() -> HttpResponse {
    asset("font/woff2", MATH_FONT)
}

async fn app_js() -> HttpResponse {
    asset("text/javascript; charset=utf-8", JS)
}
