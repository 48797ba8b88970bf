//! Header and cookie policy per scope of the site: which sources a response may load, who may
//! frame it, what it tells other sites in `Referer`, and how the cookies it sets travel.
//!
//! Every response gets its scope's headers (error pages included: the policy is applied
//! outside the error handlers), and every cookie is built here from its scope's rules. Today
//! there are two scopes: the pages (their own scripts and styles only, never framed, cookies
//! `SameSite=Lax`) and the JSON API (loads nothing, never framed, sends no referrer). A scope
//! that must differ, such as an LMS launch that the LMS frames and posts to from its own
//! origin (`frame-ancestors` naming the LMS, its cookie `SameSite=None; Secure`), is one more
//! entry in [`SCOPES`], not a change to every handler.

use actix_web::cookie::{Cookie, SameSite, time::Duration};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// The rules of one scope.
#[derive(Debug)]
pub struct Policy {
    /// A name for logs and tests.
    pub name: &'static str,
    /// `Content-Security-Policy`.
    pub csp: &'static str,
    /// `X-Frame-Options` for browsers that predate `frame-ancestors`; none where framing is
    /// allowed.
    pub frame_options: Option<&'static str>,
    /// `Referrer-Policy`.
    pub referrer: &'static str,
    /// How the scope's cookies travel with requests from other sites.
    pub same_site: SameSite,
}

/// The pages: only this site's own scripts and styles (no inline script), images also as
/// `data:` URLs (the charts), forms posting only here, never inside a frame.
pub const PAGES: Policy = Policy {
    name: "pages",
    csp: "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
          object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    frame_options: Some("DENY"),
    referrer: "same-origin",
    same_site: SameSite::Lax,
};

/// The JSON API: a response is data, never a document, so it may load nothing at all (a
/// browser tricked into rendering one as HTML runs nothing), and links in it leak no address.
pub const API: Policy = Policy {
    name: "api",
    csp: "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    frame_options: Some("DENY"),
    referrer: "no-referrer",
    same_site: SameSite::Lax,
};

/// The scopes, by path prefix; the first that matches wins, and any other path is a page.
const SCOPES: &[(&str, &Policy)] = &[("/api/", &API)];

/// The policy of the response to a request for `path`.
pub fn for_path(path: &str) -> &'static Policy {
    SCOPES
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix))
        .map_or(&PAGES, |(_, policy)| policy)
}

impl Policy {
    /// Sets this scope's headers on a response, keeping any a handler set itself.
    pub fn apply(&self, headers: &mut HeaderMap) {
        let mut set = |name: HeaderName, value: &'static str| {
            if !headers.contains_key(&name) {
                headers.insert(name, HeaderValue::from_static(value));
            }
        };
        set(header::CONTENT_SECURITY_POLICY, self.csp);
        set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
        if let Some(frame) = self.frame_options {
            set(header::X_FRAME_OPTIONS, frame);
        }
        set(header::REFERRER_POLICY, self.referrer);
    }

    /// A cookie of this scope: for the whole site, never readable by scripts, `Secure` when
    /// the site is served over https, sent from other sites as the scope allows, and kept
    /// for `max_age` (the browser's session when `None`).
    pub fn cookie(
        &self,
        name: &'static str,
        value: String,
        secure: bool,
        max_age: Option<Duration>,
    ) -> Cookie<'static> {
        let mut cookie = Cookie::build(name, value)
            .path("/")
            .http_only(true)
            // A cookie sent on cross-site requests must be Secure, or browsers drop it.
            .secure(secure || self.same_site == SameSite::None)
            .same_site(self.same_site)
            .finish();
        if let Some(age) = max_age {
            cookie.set_max_age(age);
        }
        cookie
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_has_its_own_policy_and_every_other_path_is_a_page() {
        assert_eq!(for_path("/api/v1/practice").name, "api");
        assert_eq!(for_path("/review").name, "pages");
        assert_eq!(for_path("/").name, "pages");
        assert_eq!(
            for_path("/apiary").name,
            "pages",
            "a prefix is a whole segment"
        );
        assert_eq!(for_path("/static/app.css").name, "pages");
    }

    #[test]
    fn no_scope_today_may_be_framed_or_load_from_elsewhere() {
        for policy in SCOPES.iter().map(|(_, p)| *p).chain([&PAGES]) {
            assert!(
                policy.csp.contains("frame-ancestors 'none'"),
                "{}",
                policy.name
            );
            assert_eq!(policy.frame_options, Some("DENY"), "{}", policy.name);
            assert!(!policy.csp.contains('*'), "{}", policy.name);
        }
    }

    #[test]
    fn a_handlers_own_header_is_kept_and_the_rest_are_added() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        PAGES.apply(&mut headers);
        assert_eq!(
            headers.get(header::REFERRER_POLICY).expect("set"),
            "no-referrer"
        );
        assert_eq!(
            headers.get(header::CONTENT_SECURITY_POLICY).expect("set"),
            PAGES.csp
        );
        assert_eq!(headers.get(header::X_FRAME_OPTIONS).expect("set"), "DENY");
        assert_eq!(
            headers.get(header::X_CONTENT_TYPE_OPTIONS).expect("set"),
            "nosniff"
        );
    }

    #[test]
    fn a_cookie_sent_across_sites_is_always_secure() {
        let cross = Policy {
            same_site: SameSite::None,
            ..PAGES
        };
        let cookie = cross.cookie("c", "v".into(), false, None);
        assert_eq!(cookie.secure(), Some(true));
        let page = PAGES.cookie("c", "v".into(), false, Some(Duration::days(1)));
        assert_eq!(page.secure(), Some(false));
        assert_eq!(page.same_site(), Some(SameSite::Lax));
        assert_eq!(page.http_only(), Some(true));
        assert_eq!(page.max_age(), Some(Duration::days(1)));
    }
}
