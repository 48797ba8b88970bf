//! `/media/{hash}`: a card's image or sound, to someone who may see a card that uses it
//! (`study::media::fetch`); 404 to anyone else, as for a file that does not exist.

use crate::web::error::AppError;
use crate::web::{AppState, CurrentUser};
use actix_web::http::header;
use actix_web::{HttpResponse, web};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/media/{hash}").route(web::get().to(show_media)));
}

/// The file, typed from its bytes, cached for good (its address is its content's hash) but
/// only by the browser that asked (`private`: who may see it depends on who asks).
async fn show_media(
    state: web::Data<AppState>,
    user: CurrentUser,
    hash: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let file = crate::study::media::fetch(state.db.reader(), &user.learner, &hash)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(file.content_type)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((
            header::CACHE_CONTROL,
            "private, max-age=31536000, immutable",
        ))
        .insert_header((header::ETAG, format!("\"{}\"", hash.as_str())))
        .body(file.bytes))
}
