//! The session cookie: how the token a login mints (`auth::session`) travels to the browser.

use crate::auth::session::{SESSION_COOKIE, SESSION_DAYS};
use crate::web::policy;
use actix_web::cookie::{Cookie, time::Duration as CookieDuration};

/// The cookie carrying a new session's token, by the pages' cookie policy.
pub fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    policy::PAGES.cookie(
        SESSION_COOKIE,
        token,
        secure,
        Some(CookieDuration::days(SESSION_DAYS)),
    )
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
    use actix_web::cookie::SameSite;

    #[test]
    fn the_cookie_is_http_only_and_same_site_lax() {
        let c = session_cookie("t".into(), true);
        assert_eq!(c.http_only(), Some(true));
        assert_eq!(c.same_site(), Some(SameSite::Lax));
        assert_eq!(c.secure(), Some(true));
    }
}
