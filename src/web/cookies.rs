//! The session cookie: how the token a login mints (`auth::session`) travels to the browser.

use crate::auth::session::{SESSION_COOKIE, SESSION_DAYS};
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};

/// The cookie carrying a new session's token.
pub fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(CookieDuration::days(SESSION_DAYS))
        .finish()
}

/// A cookie that makes the browser forget the session.
pub fn expired_session_cookie(secure: bool) -> Cookie<'static> {
    let mut cookie = session_cookie(String::new(), secure);
    cookie.make_removal();
    cookie
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_http_only_and_same_site_lax() {
        let c = session_cookie("t".into(), true);
        assert_eq!(c.http_only(), Some(true));
        assert_eq!(c.same_site(), Some(SameSite::Lax));
        assert_eq!(c.secure(), Some(true));
    }
}
