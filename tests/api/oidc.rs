//! University sign-on (issue 26) against a real OpenID provider: `oidc-provider-mock`, started
//! by `scripts/with-oidc`, which exports its issuer as `STUDYHALL_TEST_OIDC_ISSUER`. The flow
//! is followed by hand: the login link's redirect to the provider, a form post of the `sub`
//! to its authorization page (as a person would click), and its redirect back to the callback.
//! The site's public URL is `http://studyhall.test` (behind a proxy, say); the callback's path
//! and query are replayed on the test server.

use crate::helpers::{PASSWORD, TestApp, client, spawn_app_with};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use studyhall::auth::oidc::settings::{ProviderSettings, RequiredClaim, SignOn};

const PUBLIC_URL: &str = "http://studyhall.test";

fn issuer() -> String {
    std::env::var("STUDYHALL_TEST_OIDC_ISSUER")
        .expect("STUDYHALL_TEST_OIDC_ISSUER: run the sign-on tests with scripts/with-oidc")
}

fn provider(issuer: &str) -> ProviderSettings {
    ProviderSettings {
        key: "default".to_owned(),
        issuer: issuer.to_owned(),
        client_id: "studyhall".to_owned(),
        client_secret: Some("not-so-secret".to_owned().into()),
        name: "Sign on with Example University".to_owned(),
        scopes: vec!["email".to_owned(), "profile".to_owned()],
        groups_claim: "groups".to_owned(),
        username_claim: "preferred_username".to_owned(),
        instructor_groups: Vec::new(),
        admin_groups: Vec::new(),
        allowed_domains: Vec::new(),
        authoritative_domains: Vec::new(),
        required_claim: None,
    }
}

/// A server with one provider at `issuer`, changed by `adjust`.
async fn app_with(issuer: &str, adjust: impl FnOnce(&mut ProviderSettings)) -> TestApp {
    let mut p = provider(issuer);
    adjust(&mut p);
    spawn_app_with(|s| {
        s.sign_on = SignOn {
            public_url: Some(PUBLIC_URL.to_owned()),
            local_login: true,
            providers: vec![p],
        };
    })
    .await
}

/// A subject no other test uses (the provider is shared by the whole run).
fn unique(name: &str) -> String {
    format!("{name}-{}", hex::encode(rand::random::<[u8; 4]>()))
}

/// Sets the claims the provider gives `sub`.
async fn set_user(sub: &str, claims: serde_json::Value) {
    let response = client()
        .put(format!("{}/users/{sub}", issuer()))
        .json(&claims)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("a redirect, not {}", response.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The login link: the redirect to the provider's authorization page.
async fn start(app: &TestApp) -> String {
    let response = app.get("/auth/oidc/start?provider=default").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = location(&response);
    assert!(to.starts_with(&issuer()), "{to}");
    to
}

/// The provider's answer to a form post on its authorization page: the callback's path and
/// query on this site.
async fn at_provider(authorize_url: &str, form: &[(&str, &str)]) -> String {
    let response = client()
        .post(authorize_url)
        .form(form)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    let back = location(&response);
    back.strip_prefix(PUBLIC_URL)
        .unwrap_or_else(|| panic!("back to the public URL: {back}"))
        .to_owned()
}

/// Signs `sub` on in `app`'s browser: the callback's response.
async fn sign_on(app: &TestApp, sub: &str) -> reqwest::Response {
    let authorize = start(app).await;
    let callback = at_provider(&authorize, &[("sub", sub)]).await;
    app.get(&callback).await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(app.db().await.reader())
        .await
        .unwrap()
}

async fn role_of(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(app.db().await.reader())
        .await
        .unwrap()
}

fn session_cookie(response: &reqwest::Response) -> String {
    response
        .cookies()
        .find(|c| c.name() == "studyhall_session")
        .map(|c| c.value().to_owned())
        .expect("a session cookie")
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_first_login_makes_a_student_and_later_ones_find_the_same_account() {
    let app = app_with(&issuer(), |_| {}).await;
    // Some account exists already, so the new one is not the site's first (its admin).
    app.other_browser().register_ok("someone").await;
    let login = app.get_html("/login").await;
    assert!(
        login.contains("Sign on with Example University")
            && login.contains("href=\"/auth/oidc/start?provider=default\""),
        "the login page has the provider's button"
    );
    let register = app.get_html("/register").await;
    assert!(register.contains("Sign on with Example University"));

    let sub = unique("ada");
    set_user(
        &sub,
        serde_json::json!({"email": "ada@example.edu", "email_verified": true,
                           "preferred_username": "ada", "name": "Ada L."}),
    )
    .await;
    let first = sign_on(&app, &sub).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&first), "/decks?welcome=1");
    let first_token = session_cookie(&first);
    let decks = app.get("/decks").await;
    assert_eq!(decks.status(), StatusCode::OK, "signed in");
    let username: String = sqlx::query_scalar(
        "SELECT u.username FROM users u JOIN identities i ON i.user_id = u.id WHERE i.subject = $1",
    )
    .bind(&sub)
    .fetch_one(app.db().await.reader())
    .await
    .unwrap();
    assert!(username.starts_with("ada"), "{username}");
    let id = app.user_id(&username).await;
    assert_eq!(role_of(&app, id).await, "student");
    let users = count(&app, "SELECT COUNT(*) FROM users").await;

    // The e-mail and name change at the provider: the same account, updated.
    set_user(
        &sub,
        serde_json::json!({"email": "ada.lovelace@example.edu", "email_verified": true,
                           "preferred_username": "ada.lovelace", "name": "Ada Lovelace"}),
    )
    .await;
    let browser = app.other_browser();
    let again = sign_on(&browser, &sub).await;
    assert_eq!(location(&again), "/decks");
    assert_ne!(session_cookie(&again), first_token, "a new session id");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, users);
    let (email, name, user_id): (String, String, i64) =
        sqlx::query_as("SELECT email, name, user_id FROM identities WHERE subject = $1")
            .bind(&sub)
            .fetch_one(app.db().await.reader())
            .await
            .unwrap();
    assert_eq!(
        (email.as_str(), name.as_str(), user_id),
        ("ada.lovelace@example.edu", "Ada Lovelace", id)
    );
    // A second person asking for the same username gets a free one.
    let other = unique("ada-twin");
    set_user(&other, serde_json::json!({"preferred_username": "ada"})).await;
    let twin = sign_on(&app.other_browser(), &other).await;
    assert_eq!(location(&twin), "/decks?welcome=1");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, users + 1);
    // No password logs in to a signed-on account.
    let response = app.other_browser().login(&username, "!sign-on").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_roles_follow_the_groups_at_every_login_the_first_included() {
    let app = app_with(&issuer(), |p| {
        p.instructor_groups = vec!["cs7643-staff".to_owned()];
        p.admin_groups = vec!["it-admins".to_owned()];
    })
    .await;
    app.other_browser().register_ok("someone").await;
    let sub = unique("grace");
    set_user(
        &sub,
        serde_json::json!({"preferred_username": "grace", "groups": ["students", "cs7643-staff"]}),
    )
    .await;
    let response = sign_on(&app, &sub).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id: i64 = sqlx::query_scalar("SELECT user_id FROM identities WHERE subject = $1")
        .bind(&sub)
        .fetch_one(app.db().await.reader())
        .await
        .unwrap();
    assert_eq!(role_of(&app, id).await, "instructor", "at the first login");
    assert_eq!(app.get("/classes").await.status(), StatusCode::OK);

    set_user(
        &sub,
        serde_json::json!({"preferred_username": "grace", "groups": ["it-admins"]}),
    )
    .await;
    sign_on(&app.other_browser(), &sub).await;
    assert_eq!(role_of(&app, id).await, "admin");

    set_user(
        &sub,
        serde_json::json!({"preferred_username": "grace", "groups": ["students"]}),
    )
    .await;
    let browser = app.other_browser();
    sign_on(&browser, &sub).await;
    assert_eq!(role_of(&app, id).await, "student", "the group is gone");
    assert_eq!(
        browser.get("/admin/users").await.status(),
        StatusCode::FORBIDDEN
    );
}

/// The failure page, and nothing written: no account, no identity, no session.
async fn assert_refused(
    app: &TestApp,
    response: reqwest::Response,
    status: StatusCode,
    says: &str,
) {
    assert_eq!(response.status(), status);
    assert!(
        response.cookies().all(|c| c.name() != "studyhall_session"),
        "no session"
    );
    let body = response.text().await.unwrap();
    assert!(body.contains(says), "{body}");
    assert!(body.contains("href=\"/login\""), "{body}");
    assert_eq!(count(app, "SELECT COUNT(*) FROM identities").await, 0);
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_failures_are_clear_and_change_nothing() {
    let app = app_with(&issuer(), |p| {
        p.allowed_domains = vec!["example.edu".to_owned()];
    })
    .await;
    app.other_browser().register_ok("someone").await;
    let users = count(&app, "SELECT COUNT(*) FROM users").await;

    // Consent denied at the provider.
    let authorize = start(&app).await;
    let back = at_provider(&authorize, &[("action", "deny")]).await;
    assert!(back.contains("error=access_denied"), "{back}");
    let response = app.get(&back).await;
    assert_refused(&app, response, StatusCode::BAD_REQUEST, "cancelled").await;

    // The same as most providers send it, with the state: the login under way is used up.
    let authorize = start(&app).await;
    let state = url::Url::parse(&authorize)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let denied = format!("/auth/oidc/callback?error=access_denied&state={state}");
    let response = app.get(&denied).await;
    assert_refused(&app, response, StatusCode::BAD_REQUEST, "cancelled").await;
    let response = app.get(&denied).await;
    assert_refused(&app, response, StatusCode::BAD_REQUEST, "used already").await;

    // A disallowed e-mail domain.
    let outsider = unique("mallory");
    set_user(
        &outsider,
        serde_json::json!({"email": "mallory@evil.example", "email_verified": true}),
    )
    .await;
    let response = sign_on(&app, &outsider).await;
    assert_refused(&app, response, StatusCode::FORBIDDEN, "e-mail domain").await;
    // An allowed domain the provider never checked (anyone may type it into a profile).
    let unchecked = unique("eve");
    set_user(
        &unchecked,
        serde_json::json!({"email": "eve@example.edu", "email_verified": false}),
    )
    .await;
    let response = sign_on(&app, &unchecked).await;
    assert_refused(&app, response, StatusCode::FORBIDDEN, "e-mail domain").await;

    // The callback in another browser (a login not bound to it), then replayed in the right
    // one: the first use took the state.
    let sub = unique("alan");
    set_user(
        &sub,
        serde_json::json!({"email": "alan@example.edu", "email_verified": true}),
    )
    .await;
    let authorize = start(&app).await;
    let callback = at_provider(&authorize, &[("sub", &sub)]).await;
    let response = app.other_browser().get(&callback).await;
    assert_refused(&app, response, StatusCode::BAD_REQUEST, "another browser").await;
    let response = app.get(&callback).await;
    assert_refused(&app, response, StatusCode::BAD_REQUEST, "used already").await;

    // A login that took longer than its ten minutes at the provider.
    let authorize = start(&app).await;
    let callback = at_provider(&authorize, &[("sub", &sub)]).await;
    app.clock().advance(studyhall::auth::oidc::FLOW_SECONDS + 1);
    let response = app.get(&callback).await;
    assert_refused(&app, response, StatusCode::BAD_REQUEST, "used already").await;

    // A made-up state, and none at all.
    let response = app.get("/auth/oidc/callback?code=x&state=forged").await;
    assert_refused(&app, response, StatusCode::BAD_REQUEST, "not valid").await;
    let response = app.get("/auth/oidc/callback?code=x").await;
    assert_refused(&app, response, StatusCode::BAD_REQUEST, "not valid").await;

    // An unknown provider.
    let response = app.get("/auth/oidc/start?provider=elsewhere").await;
    assert_refused(
        &app,
        response,
        StatusCode::NOT_FOUND,
        "no such sign-on provider",
    )
    .await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, users);

    // A disabled account: signed on once, disabled, refused at the next.
    let response = sign_on(&app, &sub).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id: i64 = sqlx::query_scalar("SELECT user_id FROM identities WHERE subject = $1")
        .bind(&sub)
        .fetch_one(app.db().await.reader())
        .await
        .unwrap();
    studyhall::db::users::set_disabled(app.db().await.writer(), id, true)
        .await
        .unwrap();
    let browser = app.other_browser();
    let response = sign_on(&browser, &sub).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("disabled"));
    assert_eq!(
        browser.get("/decks").await.status(),
        StatusCode::SEE_OTHER,
        "not signed in"
    );
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_an_issuer_other_than_the_one_published_is_refused() {
    // The provider publishes its issuer without the trailing slash; discovery must match it
    // exactly.
    let app = app_with(&format!("{}/", issuer()), |_| {}).await;
    let response = app.get("/auth/oidc/start?provider=default").await;
    assert_refused(
        &app,
        response,
        StatusCode::BAD_REQUEST,
        "could not be verified",
    )
    .await;
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_a_login_started_on_one_server_finishes_on_another() {
    let app = app_with(&issuer(), |_| {}).await;
    let second = app.second_server().await;
    let sub = unique("barbara");
    set_user(&sub, serde_json::json!({"preferred_username": "barbara"})).await;
    let authorize = start(&app).await;
    let callback = at_provider(&authorize, &[("sub", &sub)]).await;
    let response = second.get(&callback).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get("/decks").await.status(), StatusCode::OK);
    assert_eq!(second.get("/decks").await.status(), StatusCode::OK);
}

/// Needs no provider: one that cannot be reached leaves the login page and passwords working.
#[tokio::test]
async fn oidc_an_unreachable_provider_says_so_and_passwords_still_work() {
    // Port 9 (discard) on the loopback: nothing listens there.
    let app = app_with("http://127.0.0.1:9", |_| {}).await;
    let response = app.get("/auth/oidc/start?provider=default").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = response.text().await.unwrap();
    assert!(body.contains("could not be reached"), "{body}");
    assert!(body.contains("log in with your password"), "{body}");
    app.register_ok("ursula").await;
    let browser = app.other_browser();
    assert_eq!(
        browser.login("ursula", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(browser.get("/decks").await.status(), StatusCode::OK);
}

/// Needs no provider: `local_login = off` keeps passwords for admins only (the break-glass
/// account) and closes registration; the sign-on buttons stay.
#[tokio::test]
async fn oidc_local_login_off_leaves_passwords_to_admins() {
    let mut app = app_with("http://127.0.0.1:9", |_| {}).await;
    app.register_ok("root").await; // the first account: the break-glass admin
    app.other_browser().register_ok("student").await;
    app.other_browser().register_ok("deputy").await;
    let deputy = app.user_id("deputy").await;
    app.submit(
        "/admin/users",
        &format!("/admin/users/{deputy}/role"),
        &[("role", "admin")],
    )
    .await;
    assert_eq!(role_of(&app, deputy).await, "admin");
    app.settings.sign_on.local_login = false;
    let app = app.restart().await;
    let browser = app.other_browser();
    // A student, another admin, a wrong password, a name nobody has: one answer, which tells
    // neither whether the account exists nor whether the password was right.
    for (name, password) in [
        ("student", PASSWORD),
        ("deputy", PASSWORD),
        ("student", "not-the-password-1"),
        ("nobody-here", PASSWORD),
    ] {
        let response = browser.login(name, password).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let text = response.text().await.unwrap();
        assert!(text.contains("Password login is off"), "{name}");
        assert!(!text.contains("Wrong username"), "{name}");
    }
    assert_eq!(browser.get("/decks").await.status(), StatusCode::SEE_OTHER);
    assert!(
        !browser
            .get_html("/register")
            .await
            .contains("name=\"password\"")
    );
    let response = browser
        .submit(
            "/login",
            "/register",
            &[
                ("username", "newcomer"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let admin = app.other_browser();
    assert_eq!(
        admin.login("root", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(admin.get("/admin/users").await.status(), StatusCode::OK);
    assert!(
        app.other_browser()
            .get_html("/login")
            .await
            .contains("Sign on with Example University")
    );
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_a_signed_in_user_links_a_provider_and_an_admin_unlinks_it() {
    let app = app_with(&issuer(), |_| {}).await;
    app.register_ok("root").await; // the site's admin
    let user = app.other_browser();
    user.register_ok("katherine").await;
    let id = app.user_id("katherine").await;
    let account = user.get_html("/account").await;
    assert!(account.contains("id=\"identities\""), "the sign-on panel");
    assert!(account.contains("No institution account is linked"));

    // Linking: a CSRF-checked form on /account, off to the provider and back.
    let sub = unique("katherine");
    set_user(
        &sub,
        serde_json::json!({"email": "kj@example.edu", "email_verified": true, "name": "K. J."}),
    )
    .await;
    let response = user
        .submit(
            "/account",
            "/account/identities/link",
            &[("provider", "default")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let authorize = location(&response);
    let callback = at_provider(&authorize, &[("sub", &sub)]).await;
    let response = user.get(&callback).await;
    assert_eq!(location(&response), "/account?saved=linked");
    assert!(user.get_html("/account").await.contains("kj@example.edu"));
    let users = count(&app, "SELECT COUNT(*) FROM users").await;

    // Signing on now opens katherine's account, in a fresh browser.
    let browser = app.other_browser();
    assert_eq!(location(&sign_on(&browser, &sub).await), "/decks");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, users);
    let (who,): (i64,) = sqlx::query_as("SELECT user_id FROM identities WHERE subject = $1")
        .bind(&sub)
        .fetch_one(app.db().await.reader())
        .await
        .unwrap();
    assert_eq!(who, id);

    // Another account cannot take the same identity.
    let other = app.other_browser();
    other.register_ok("mallory").await;
    let response = other
        .submit(
            "/account",
            "/account/identities/link",
            &[("provider", "default")],
        )
        .await;
    let callback = at_provider(&location(&response), &[("sub", &sub)]).await;
    let response = other.get(&callback).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM identities").await, 1);

    // The admin sees it and unlinks it; a student may do neither.
    let page = app.get_html(&format!("/admin/users/{id}/identities")).await;
    assert!(
        page.contains(&sub) && page.contains("kj@example.edu"),
        "{page}"
    );
    let identity: i64 = sqlx::query_scalar("SELECT id FROM identities WHERE subject = $1")
        .bind(&sub)
        .fetch_one(app.db().await.reader())
        .await
        .unwrap();
    let unlink = format!("/admin/users/{id}/identities/{identity}/unlink");
    assert_eq!(
        user.get(&format!("/admin/users/{id}/identities"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        user.submit("/account", &unlink, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    let wrong_user = format!("/admin/users/{}/identities/{identity}/unlink", id + 1000);
    assert_eq!(
        app.submit("/admin/users", &wrong_user, &[]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(browser.get("/decks").await.status(), StatusCode::OK);
    let response = app.submit("/admin/users", &unlink, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM identities").await, 0);
    assert!(
        app.get_html(&format!("/admin/users/{id}/identities"))
            .await
            .contains("id=\"no-identities\"")
    );
    // Every session of the account ended: the one opened through the identity too.
    for ended in [&browser, &user] {
        let response = ended.get("/decks").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(location(&response).starts_with("/login"));
    }
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_logout_ends_the_session_here_and_at_the_provider() {
    let app = app_with(&issuer(), |_| {}).await;
    let sub = unique("hedy");
    set_user(&sub, serde_json::json!({"preferred_username": "hedy"})).await;
    let signed_on = sign_on(&app, &sub).await;
    assert_eq!(signed_on.status(), StatusCode::SEE_OTHER);
    let response = app.submit("/decks", "/logout", &[]).await;
    // A page that sends the browser on at once (a redirect would break the form's
    // `form-action 'self'`), with a link.
    assert_eq!(response.status(), StatusCode::OK);
    let refresh = response.headers()["refresh"].to_str().unwrap().to_owned();
    let page = response.text().await.unwrap();
    let href = page
        .split("id=\"provider-logout\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(|h| html_escape::decode_html_entities(h).into_owned())
        .expect("the link");
    let to = url::Url::parse(refresh.strip_prefix("0; url=").expect("at once")).unwrap();
    assert_eq!(url::Url::parse(&href).unwrap(), to, "{page}");
    assert!(
        to.as_str()
            .starts_with(&format!("{}/oauth2/end_session", issuer())),
        "{to}"
    );
    let query: std::collections::HashMap<String, String> = to.query_pairs().into_owned().collect();
    assert_eq!(query["post_logout_redirect_uri"], format!("{PUBLIC_URL}/"));
    assert_eq!(query["client_id"], "studyhall");
    let hint = &query["id_token_hint"];
    assert_eq!(hint.split('.').count(), 3, "a JWT: {hint}");
    assert_eq!(
        app.get("/decks").await.status(),
        StatusCode::SEE_OTHER,
        "logged out here"
    );
    // The provider's confirmation sends the browser back to the site.
    let page = client().get(to.as_str()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let confirmed = client()
        .post(format!("{}/oauth2/end_session/confirm", issuer()))
        .form(&[("redirect_uri", query["post_logout_redirect_uri"].as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&confirmed), format!("{PUBLIC_URL}/"));

    // A password session logs out here only.
    let local = app.other_browser();
    local.register_ok("local-user").await;
    let response = local.submit("/decks", "/logout", &[]).await;
    assert_eq!(location(&response), "/login");
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_a_class_join_link_survives_the_sign_on() {
    let app = app_with(&issuer(), |_| {}).await;
    let login = app.get_html("/login?next=/classes/join/ABCD234567").await;
    assert!(
        login.contains("/auth/oidc/start?provider=default&amp;next=/classes/join/ABCD234567"),
        "the button carries the join link: {login}"
    );
    let sub = unique("joan");
    set_user(&sub, serde_json::json!({"preferred_username": "joan"})).await;
    let response = app
        .get("/auth/oidc/start?provider=default&next=/classes/join/ABCD234567")
        .await;
    let callback = at_provider(&location(&response), &[("sub", &sub)]).await;
    let response = app.get(&callback).await;
    assert_eq!(location(&response), "/classes/join/ABCD234567");
    // Anywhere else is dropped, as the password login drops it.
    let other = unique("joan-b");
    let browser = app.other_browser();
    let response = browser
        .get("/auth/oidc/start?provider=default&next=//evil.example/x")
        .await;
    let callback = at_provider(&location(&response), &[("sub", &other)]).await;
    assert_eq!(location(&browser.get(&callback).await), "/decks?welcome=1");
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_logins_under_way_are_capped_per_address_and_the_oldest_make_room() {
    use studyhall::study::sso::FLOWS_PER_ADDRESS;
    let app = app_with(&issuer(), |_| {}).await;
    let client = studyhall::auth::throttle::client_key("127.0.0.1".parse().unwrap());
    let far = app.clock().now().as_second() + 600;
    for i in 0..FLOWS_PER_ADDRESS - 1 {
        sqlx::query(
            "INSERT INTO sign_on_flows (state_hash, browser_hash, provider, nonce, pkce_verifier,
                                        client, expires_at)
             VALUES ($1, $1, 'default', 'n', 'v', $2, $3)",
        )
        .bind(format!("state-{i}").into_bytes())
        .bind(&client)
        .bind(far)
        .execute(app.db().await.writer())
        .await
        .unwrap();
    }
    start(&app).await;
    let response = app.get("/auth/oidc/start?provider=default").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM sign_on_flows").await,
        FLOWS_PER_ADDRESS
    );

    // The whole site full of logins from elsewhere: the oldest make room, the site does not
    // refuse (filling the table must not lock every student out).
    use studyhall::study::sso::FLOWS_IN_ALL;
    let db = app.db().await;
    sqlx::query("DELETE FROM sign_on_flows")
        .execute(db.writer())
        .await
        .unwrap();
    let state = if crate::helpers::on_postgres() {
        "convert_to('elsewhere-' || i, 'UTF8')"
    } else {
        "CAST('elsewhere-' || i AS BLOB)"
    };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
         INSERT INTO sign_on_flows (state_hash, browser_hash, provider, nonce, pkce_verifier,
                                    client, expires_at)
         SELECT {state}, {state}, 'default', 'n', 'v', 'elsewhere', $2 + i FROM n"
    )))
    .bind(FLOWS_IN_ALL)
    .bind(far)
    .execute(db.writer())
    .await
    .unwrap();
    let oldest = "SELECT MIN(expires_at) FROM sign_on_flows WHERE client = 'elsewhere'";
    assert_eq!(count(&app, oldest).await, far + 1);
    start(&app.other_browser()).await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM sign_on_flows").await,
        FLOWS_IN_ALL
    );
    assert_eq!(count(&app, oldest).await, far + 2, "the oldest made room");
}

/// Signs `sub` on in `app`'s browser, the login link carrying `query` after the provider.
async fn sign_on_with(app: &TestApp, sub: &str, query: &str) -> reqwest::Response {
    let response = app
        .get(&format!("/auth/oidc/start?provider=default{query}"))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let callback = at_provider(&location(&response), &[("sub", sub)]).await;
    app.get(&callback).await
}

/// The account `sub` signs on to, if any.
async fn account_of(app: &TestApp, sub: &str) -> Option<i64> {
    sqlx::query_scalar("SELECT user_id FROM identities WHERE subject = $1")
        .bind(sub)
        .fetch_optional(app.db().await.reader())
        .await
        .unwrap()
}

/// Gives `user` the address `address`, confirmed or not (as the mail pages would).
async fn give_address(app: &TestApp, user: i64, address: &str, confirmed: bool) {
    let db = app.db().await;
    let now = app.clock().now().as_second();
    let mut tx = db.begin_write().await.unwrap();
    studyhall::db::mail::set_address(&mut tx, user, address, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    if confirmed {
        assert!(
            studyhall::db::mail::confirm_address(db.writer(), user, address, now)
                .await
                .unwrap()
        );
    }
}

/// An account's address and whether it is confirmed.
async fn address_of(app: &TestApp, user: i64) -> Option<(String, bool)> {
    studyhall::db::mail::address_of(app.db().await.reader(), user)
        .await
        .unwrap()
        .map(|row| (row.address, row.confirmed_at.is_some()))
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_an_authoritative_provider_links_by_a_verified_email_and_only_then() {
    let app = app_with(&issuer(), |p| {
        p.authoritative_domains = vec!["example.edu".to_owned()];
    })
    .await;
    app.register_ok("root").await;
    app.other_browser().register_ok("lin").await;
    let lin = app.user_id("lin").await;
    give_address(&app, lin, "lin@example.edu", true).await;
    let users = count(&app, "SELECT COUNT(*) FROM users").await;

    // The provider sends lin's address unverified: refused, nothing made or linked.
    let unverified = unique("lin-unverified");
    set_user(
        &unverified,
        serde_json::json!({"email": "Lin@Example.edu", "email_verified": false,
                           "preferred_username": "lin"}),
    )
    .await;
    let response = sign_on(&app.other_browser(), &unverified).await;
    // Neutral words: the page does not tell whoever signs on that an account has the address.
    assert_refused(
        &app,
        response,
        StatusCode::FORBIDDEN,
        "has not verified your e-mail address",
    )
    .await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, users);

    // Verified in the same ID token, on a domain the provider is authoritative for, and a
    // confirmed address here: the identity joins lin's account, no new one.
    let sub = unique("lin");
    set_user(
        &sub,
        serde_json::json!({"email": "Lin@Example.edu", "email_verified": true,
                           "preferred_username": "lin"}),
    )
    .await;
    let browser = app.other_browser();
    let response = sign_on(&browser, &sub).await;
    assert_eq!(location(&response), "/decks", "an account that was there");
    assert_eq!(account_of(&app, &sub).await, Some(lin));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, users);
    // Signed in as lin: lin's account page lists the identity just joined.
    assert!(
        browser
            .get_html("/account")
            .await
            .contains("<li>default: Lin@Example.edu (lin)</li>")
    );

    // Another domain (not one the provider answers for): a new account, even though an
    // account here has that address confirmed.
    app.other_browser().register_ok("mei").await;
    let mei = app.user_id("mei").await;
    give_address(&app, mei, "mei@gmail.example", true).await;
    let other = unique("mei");
    set_user(
        &other,
        serde_json::json!({"email": "mei@gmail.example", "email_verified": true,
                           "preferred_username": "mei"}),
    )
    .await;
    let response = sign_on(&app.other_browser(), &other).await;
    assert_eq!(location(&response), "/decks?welcome=1");
    let made = account_of(&app, &other).await.expect("signed on");
    assert_ne!(made, mei);

    // The authoritative domain, but the address here was never confirmed: a new account.
    app.other_browser().register_ok("sam").await;
    let sam = app.user_id("sam").await;
    give_address(&app, sam, "sam@example.edu", false).await;
    let third = unique("sam");
    set_user(
        &third,
        serde_json::json!({"email": "sam@example.edu", "email_verified": true,
                           "preferred_username": "sam"}),
    )
    .await;
    let response = sign_on(&app.other_browser(), &third).await;
    assert_eq!(location(&response), "/decks?welcome=1");
    assert_ne!(account_of(&app, &third).await, Some(sam));
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_a_provider_without_authority_never_links_by_email() {
    let app = app_with(&issuer(), |_| {}).await;
    app.register_ok("root").await;
    app.other_browser().register_ok("noor").await;
    let noor = app.user_id("noor").await;
    give_address(&app, noor, "noor@example.edu", true).await;
    let sub = unique("noor");
    set_user(
        &sub,
        serde_json::json!({"email": "noor@example.edu", "email_verified": true,
                           "preferred_username": "noor"}),
    )
    .await;
    let response = sign_on(&app.other_browser(), &sub).await;
    assert_eq!(location(&response), "/decks?welcome=1", "a new account");
    assert_ne!(account_of(&app, &sub).await, Some(noor));
    // Nor is an unverified address refused there: it is simply not used.
    let unverified = unique("noor-b");
    set_user(
        &unverified,
        serde_json::json!({"email": "noor@example.edu", "email_verified": false}),
    )
    .await;
    let response = sign_on(&app.other_browser(), &unverified).await;
    assert_eq!(location(&response), "/decks?welcome=1");
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_a_verified_email_becomes_the_confirmed_address_and_follows_the_provider() {
    let app = app_with(&issuer(), |p| {
        p.authoritative_domains = vec!["example.edu".to_owned()];
    })
    .await;
    app.register_ok("root").await;
    let sub = unique("ida");
    set_user(
        &sub,
        serde_json::json!({"email": "ida@example.edu", "email_verified": true,
                           "preferred_username": "ida"}),
    )
    .await;
    sign_on(&app.other_browser(), &sub).await;
    let ida = account_of(&app, &sub).await.expect("signed on");
    assert_eq!(
        address_of(&app, ida).await,
        Some(("ida@example.edu".to_owned(), true))
    );
    // Changed (and verified) at the provider: changed here.
    set_user(
        &sub,
        serde_json::json!({"email": "ida.b@example.edu", "email_verified": true}),
    )
    .await;
    sign_on(&app.other_browser(), &sub).await;
    assert_eq!(
        address_of(&app, ida).await,
        Some(("ida.b@example.edu".to_owned(), true))
    );
    // Changed but not verified: the confirmed address stays.
    set_user(
        &sub,
        serde_json::json!({"email": "someone@elsewhere.example", "email_verified": false}),
    )
    .await;
    let response = sign_on(&app.other_browser(), &sub).await;
    assert_eq!(location(&response), "/decks");
    assert_eq!(
        address_of(&app, ida).await,
        Some(("ida.b@example.edu".to_owned(), true))
    );
    // Verified again, and changed once more: followed still.
    set_user(
        &sub,
        serde_json::json!({"email": "ida.c@example.edu", "email_verified": true}),
    )
    .await;
    sign_on(&app.other_browser(), &sub).await;
    assert_eq!(
        address_of(&app, ida).await,
        Some(("ida.c@example.edu".to_owned(), true))
    );
    // A first sign-on with an unverified address: no address at all.
    let unverified = unique("ivo");
    set_user(
        &unverified,
        serde_json::json!({"email": "ivo@example.edu", "email_verified": false}),
    )
    .await;
    sign_on(&app.other_browser(), &unverified).await;
    let ivo = account_of(&app, &unverified).await.expect("signed on");
    assert_eq!(address_of(&app, ivo).await, None);
    // An address its owner typed and confirmed stays when they link a provider that sends
    // another one.
    let user = app.other_browser();
    user.register_ok("june").await;
    let june = app.user_id("june").await;
    give_address(&app, june, "june@home.example", true).await;
    let linked = unique("june");
    set_user(
        &linked,
        serde_json::json!({"email": "june@example.edu", "email_verified": true}),
    )
    .await;
    let response = user
        .submit(
            "/account",
            "/account/identities/link",
            &[("provider", "default")],
        )
        .await;
    let callback = at_provider(&location(&response), &[("sub", &linked)]).await;
    assert_eq!(
        location(&user.get(&callback).await),
        "/account?saved=linked"
    );
    assert_eq!(
        address_of(&app, june).await,
        Some(("june@home.example".to_owned(), true))
    );
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_a_required_claim_refuses_whoever_lacks_it_and_changes_nothing() {
    let app = app_with(&issuer(), |p| {
        p.authoritative_domains = vec!["example.edu".to_owned()];
        p.required_claim = Some(RequiredClaim {
            name: "affiliation".to_owned(),
            value: Some("student".to_owned()),
        });
    })
    .await;
    app.register_ok("root").await;
    let users = count(&app, "SELECT COUNT(*) FROM users").await;
    let sub = unique("alum");
    for claims in [
        serde_json::json!({"preferred_username": "alum"}),
        serde_json::json!({"preferred_username": "alum", "affiliation": ["alum", "member"]}),
        serde_json::json!({"preferred_username": "alum", "affiliation": "staff"}),
    ] {
        set_user(&sub, claims).await;
        let response = sign_on(&app.other_browser(), &sub).await;
        assert_refused(
            &app,
            response,
            StatusCode::FORBIDDEN,
            "not one this site accepts",
        )
        .await;
        assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, users);
    }
    set_user(
        &sub,
        serde_json::json!({"preferred_username": "alum", "email": "al@example.edu",
                           "email_verified": true, "affiliation": ["member", "student"]}),
    )
    .await;
    let response = sign_on(&app.other_browser(), &sub).await;
    assert_eq!(location(&response), "/decks?welcome=1");
    let id = account_of(&app, &sub).await.expect("signed on");
    // It lost the claim at the provider: refused, and the account is as it was.
    set_user(
        &sub,
        serde_json::json!({"preferred_username": "alum", "email": "new@example.edu",
                           "email_verified": true, "affiliation": ["member"]}),
    )
    .await;
    let browser = app.other_browser();
    let response = sign_on(&browser, &sub).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        browser.get("/decks").await.status(),
        StatusCode::SEE_OTHER,
        "not signed in"
    );
    let seen: String = sqlx::query_scalar("SELECT email FROM identities WHERE subject = $1")
        .bind(&sub)
        .fetch_one(app.db().await.reader())
        .await
        .unwrap();
    assert_eq!(seen, "al@example.edu");
    assert_eq!(
        address_of(&app, id).await,
        Some(("al@example.edu".to_owned(), true))
    );
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_a_new_account_takes_the_browsers_time_zone_when_it_is_one() {
    let app = app_with(&issuer(), |_| {}).await;
    assert!(
        app.get_html("/login")
            .await
            .contains("id=\"sign-on-default\" data-sign-on"),
        "static/app.js adds the zone to the marked links"
    );
    let zone_of = |id: i64| {
        let app = &app;
        async move {
            sqlx::query_scalar::<_, String>("SELECT time_zone FROM users WHERE id = $1")
                .bind(id)
                .fetch_one(app.db().await.reader())
                .await
                .unwrap()
        }
    };
    let sub = unique("tomas");
    set_user(&sub, serde_json::json!({"preferred_username": "tomas"})).await;
    let response = sign_on_with(&app.other_browser(), &sub, "&time_zone=Europe%2FMadrid").await;
    assert_eq!(location(&response), "/decks?welcome=1");
    let id = account_of(&app, &sub).await.expect("signed on");
    assert_eq!(zone_of(id).await, "Europe/Madrid");
    // A later sign-on from another zone leaves the account's setting alone.
    sign_on_with(&app.other_browser(), &sub, "&time_zone=Asia%2FTokyo").await;
    assert_eq!(zone_of(id).await, "Europe/Madrid");
    // No such zone, or something else altogether: the default.
    for junk in [
        "&time_zone=Mars%2FOlympus",
        "&time_zone=%27%3B%20DROP%20TABLE%20users",
    ] {
        let other = unique("tomas-b");
        set_user(&other, serde_json::json!({"preferred_username": "tomas"})).await;
        let response = sign_on_with(&app.other_browser(), &other, junk).await;
        assert_eq!(location(&response), "/decks?welcome=1");
        let id = account_of(&app, &other).await.expect("signed on");
        assert_eq!(zone_of(id).await, "UTC", "{junk}");
    }
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_the_first_account_of_an_empty_site_is_an_admin_only_by_a_mapped_group() {
    // No groups mapped: the site's very first account, made by sign-on, is a student.
    let app = app_with(&issuer(), |_| {}).await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, 0);
    let sub = unique("first");
    set_user(
        &sub,
        serde_json::json!({"preferred_username": "first", "groups": ["it-admins"]}),
    )
    .await;
    sign_on(&app, &sub).await;
    let id = account_of(&app, &sub).await.expect("signed on");
    assert_eq!(role_of(&app, id).await, "student");
    assert_eq!(
        app.get("/admin/users").await.status(),
        StatusCode::FORBIDDEN
    );
    // A password registration after it is not promoted either (the site is not empty).
    app.other_browser().register_ok("second").await;
    assert_eq!(role_of(&app, app.user_id("second").await).await, "student");

    // Admin groups mapped: the first account is an admin by its group, and only by it.
    let app = app_with(&issuer(), |p| {
        p.admin_groups = vec!["it-admins".to_owned()];
    })
    .await;
    let outsider = unique("first-student");
    set_user(
        &outsider,
        serde_json::json!({"preferred_username": "first", "groups": ["students"]}),
    )
    .await;
    sign_on(&app.other_browser(), &outsider).await;
    let id = account_of(&app, &outsider).await.expect("signed on");
    assert_eq!(role_of(&app, id).await, "student");
    sign_on(&app, &sub).await;
    let id = account_of(&app, &sub).await.expect("signed on");
    assert_eq!(role_of(&app, id).await, "admin");
    assert_eq!(app.get("/admin/users").await.status(), StatusCode::OK);
}

/// A pass-through in front of the provider that adds `extra` to its userinfo answers only (or,
/// with `_status` in `extra`, answers userinfo with that status and nothing else; the
/// mock puts the same claims in the ID token and userinfo; many real providers keep groups to
/// userinfo). The provider names itself after the Host it is asked at, so through this address
/// it is one issuer, its ID tokens as it signed them. Returns the new issuer URL.
async fn userinfo_adding(extra: serde_json::Value) -> String {
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    struct Upstream {
        base: String,
        extra: serde_json::Value,
        client: reqwest::Client,
    }
    async fn forward(req: HttpRequest, body: web::Bytes, up: web::Data<Upstream>) -> HttpResponse {
        let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).unwrap();
        let mut out = up
            .client
            .request(method, format!("{}{}", up.base, req.uri()))
            .body(body.to_vec());
        for name in ["host", "content-type", "authorization", "accept"] {
            if let Some(value) = req.headers().get(name) {
                out = out.header(name, value.as_bytes());
            }
        }
        let answer = out.send().await.unwrap();
        let mut response = HttpResponse::build(
            actix_web::http::StatusCode::from_u16(answer.status().as_u16()).unwrap(),
        );
        for name in ["content-type", "location"] {
            if let Some(value) = answer.headers().get(name) {
                response.insert_header((name, value.as_bytes()));
            }
        }
        let bytes = answer.bytes().await.unwrap();
        if req.path().ends_with("/userinfo")
            && let Some(status) = up.extra.get("_status").and_then(serde_json::Value::as_u64)
        {
            // The userinfo endpoint failing with this status.
            return HttpResponse::build(
                actix_web::http::StatusCode::from_u16(u16::try_from(status).unwrap()).unwrap(),
            )
            .finish();
        }
        if req.path().ends_with("/userinfo") {
            let mut claims: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            for (k, v) in up.extra.as_object().unwrap() {
                claims[k] = v.clone();
            }
            return response.body(claims.to_string());
        }
        response.body(bytes.to_vec())
    }
    studyhall::http_client::install_crypto_provider();
    let upstream = web::Data::new(Upstream {
        base: issuer(),
        extra,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(upstream.clone())
            .default_service(web::to(forward))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    format!("http://{address}")
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_groups_and_the_required_claim_come_from_userinfo_when_the_id_token_lacks_them() {
    let through =
        userinfo_adding(serde_json::json!({"groups": ["it-admins"], "affiliation": "student"}))
            .await;
    let app = app_with(&through, |p| {
        p.admin_groups = vec!["it-admins".to_owned()];
        p.required_claim = Some(RequiredClaim {
            name: "affiliation".to_owned(),
            value: Some("student".to_owned()),
        });
    })
    .await;
    app.register_ok("root").await;
    // Neither claim in the ID token: both from userinfo.
    let sub = unique("uma");
    set_user(&sub, serde_json::json!({"preferred_username": "uma"})).await;
    let response = sign_on_with(&app.other_browser(), &sub, "").await;
    assert_eq!(location(&response), "/decks?welcome=1");
    let id = account_of(&app, &sub).await.expect("signed on");
    assert_eq!(role_of(&app, id).await, "admin", "the group from userinfo");
    // The ID token's own claims win: userinfo is still asked (the ID token lacks the required
    // claim) and says `it-admins`, but the ID token's groups are the user's.
    set_user(
        &sub,
        serde_json::json!({"preferred_username": "uma", "groups": ["students"]}),
    )
    .await;
    sign_on_with(&app.other_browser(), &sub, "").await;
    assert_eq!(role_of(&app, id).await, "student");
    // The ID token's required claim with the wrong value is not made good by userinfo.
    set_user(
        &sub,
        serde_json::json!({"preferred_username": "uma", "affiliation": "alum"}),
    )
    .await;
    let response = sign_on_with(&app.other_browser(), &sub, "").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // The same provider without the pass-through: no groups at all, so a student.
    let direct = app_with(&issuer(), |p| {
        p.admin_groups = vec!["it-admins".to_owned()];
    })
    .await;
    direct.register_ok("root").await;
    let other = unique("uma-b");
    set_user(&other, serde_json::json!({"preferred_username": "uma"})).await;
    sign_on_with(&direct.other_browser(), &other, "").await;
    let id = account_of(&direct, &other).await.expect("signed on");
    assert_eq!(role_of(&direct, id).await, "student");
}

/// A server with two providers: `default` at `first` and `loose` at `second`, each changed.
async fn app_with_two(
    first: &str,
    adjust_first: impl FnOnce(&mut ProviderSettings),
    second: &str,
    adjust_second: impl FnOnce(&mut ProviderSettings),
) -> TestApp {
    let mut p1 = provider(first);
    adjust_first(&mut p1);
    let mut p2 = provider(second);
    p2.key = "loose".to_owned();
    p2.name = "Sign on with Loose Accounts".to_owned();
    adjust_second(&mut p2);
    spawn_app_with(|s| {
        s.sign_on = SignOn {
            public_url: Some(PUBLIC_URL.to_owned()),
            local_login: true,
            providers: vec![p1, p2],
        };
    })
    .await
}

/// Signs `sub` on at provider `key` in `app`'s browser: the callback's response.
async fn sign_on_at(app: &TestApp, key: &str, sub: &str) -> reqwest::Response {
    let response = app.get(&format!("/auth/oidc/start?provider={key}")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let callback = at_provider(&location(&response), &[("sub", sub)]).await;
    app.get(&callback).await
}

/// The signed-in `user` links `sub` at provider `key` from /account: the callback's response.
async fn link_at(user: &TestApp, key: &str, sub: &str) -> reqwest::Response {
    let response = user
        .submit("/account", "/account/identities/link", &[("provider", key)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let callback = at_provider(&location(&response), &[("sub", sub)]).await;
    user.get(&callback).await
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_an_address_only_a_provider_without_authority_verified_never_joins_accounts() {
    // The same mock behind a pass-through is a second issuer: `loose` (no authority, anyone
    // may have it "verify" any address), and `default`, authoritative for example.edu, whose
    // groups make instructors.
    let loose = userinfo_adding(serde_json::json!({})).await;
    let app = app_with_two(
        &issuer(),
        |p| {
            p.authoritative_domains = vec!["example.edu".to_owned()];
            p.instructor_groups = vec!["cs7643-staff".to_owned()];
        },
        &loose,
        |_| {},
    )
    .await;
    app.register_ok("root").await;
    // The attacker links `loose` with the victim's address, "verified" there.
    let attacker = app.other_browser();
    attacker.register_ok("mallory").await;
    let mallory = app.user_id("mallory").await;
    let fake = unique("fake-vera");
    set_user(
        &fake,
        serde_json::json!({"email": "vera@example.edu", "email_verified": true}),
    )
    .await;
    assert_eq!(
        location(&link_at(&attacker, "loose", &fake).await),
        "/account?saved=linked"
    );
    assert_eq!(
        address_of(&app, mallory).await,
        Some(("vera@example.edu".to_owned(), false)),
        "a provider without authority for the domain confirms nothing"
    );
    // The victim's first sign-on at the university's provider: an account of her own, with
    // her groups; the attacker's account is as it was.
    let vera = unique("vera");
    set_user(
        &vera,
        serde_json::json!({"email": "vera@example.edu", "email_verified": true,
                           "preferred_username": "vera", "groups": ["cs7643-staff"]}),
    )
    .await;
    let response = sign_on_at(&app.other_browser(), "default", &vera).await;
    assert_eq!(location(&response), "/decks?welcome=1", "a new account");
    let made = account_of(&app, &vera).await.expect("signed on");
    assert_ne!(made, mallory);
    assert_eq!(role_of(&app, mallory).await, "student");
    assert_eq!(role_of(&app, made).await, "instructor");
    assert_eq!(
        address_of(&app, made).await,
        Some(("vera@example.edu".to_owned(), true))
    );
    // Even the authoritative provider does not confirm an address another account here has
    // confirmed already.
    let other = app.other_browser();
    other.register_ok("otto").await;
    let otto = app.user_id("otto").await;
    let twin = unique("vera-twin");
    set_user(
        &twin,
        serde_json::json!({"email": "Vera@example.edu", "email_verified": true}),
    )
    .await;
    assert_eq!(
        location(&link_at(&other, "default", &twin).await),
        "/account?saved=linked"
    );
    assert_eq!(
        address_of(&app, otto).await,
        Some(("Vera@example.edu".to_owned(), false))
    );
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_a_role_the_groups_gave_does_not_outlive_a_login_that_cannot_confirm_it() {
    let app = app_with(&issuer(), |p| {
        p.instructor_groups = vec!["cs7643-staff".to_owned()];
    })
    .await;
    app.register_ok("root").await;
    // Ines has a password and links her university account from /account.
    let ines_browser = app.other_browser();
    ines_browser.register_ok("ines").await;
    let ines = app.user_id("ines").await;
    let sub = unique("ines");
    set_user(&sub, serde_json::json!({"groups": ["cs7643-staff"]})).await;
    assert_eq!(
        location(&link_at(&ines_browser, "default", &sub).await),
        "/account?saved=linked"
    );
    assert_eq!(
        location(&sign_on(&app.other_browser(), &sub).await),
        "/decks"
    );
    assert_eq!(role_of(&app, ines).await, "instructor", "by her group");
    // She leaves the staff group; a password login cannot ask the provider, so it does not
    // keep the role the group gave.
    set_user(&sub, serde_json::json!({"groups": []})).await;
    ines_browser.submit("/decks", "/logout", &[]).await;
    assert_eq!(
        ines_browser.login("ines", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(role_of(&app, ines).await, "student");
    // Back in the group, her next sign-on gives it back; a role an admin gave by hand is
    // the admin's and a password login keeps it.
    set_user(&sub, serde_json::json!({"groups": ["cs7643-staff"]})).await;
    sign_on(&app.other_browser(), &sub).await;
    assert_eq!(role_of(&app, ines).await, "instructor");
    let otto_browser = app.other_browser();
    otto_browser.register_ok("otto").await;
    let otto = app.user_id("otto").await;
    app.submit(
        "/admin/users",
        &format!("/admin/users/{otto}/role"),
        &[("role", "instructor")],
    )
    .await;
    otto_browser.submit("/decks", "/logout", &[]).await;
    assert_eq!(
        otto_browser.login("otto", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(role_of(&app, otto).await, "instructor");
    // Unlinking the identity takes the role its groups gave.
    let identity: i64 = sqlx::query_scalar("SELECT id FROM identities WHERE subject = $1")
        .bind(&sub)
        .fetch_one(app.db().await.reader())
        .await
        .unwrap();
    let response = app
        .submit(
            "/admin/users",
            &format!("/admin/users/{ines}/identities/{identity}/unlink"),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(role_of(&app, ines).await, "student");
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_a_confirmation_from_a_provider_no_longer_authoritative_joins_nothing() {
    // `loose` confirmed otto's address back when the operator made it authoritative for
    // example.edu (or before authority was required at all); the operator has since taken
    // that authority away. Its confirmation no longer joins accounts, and its next sign-on
    // drops it.
    let loose = userinfo_adding(serde_json::json!({})).await;
    let app = app_with_two(
        &issuer(),
        |p| p.authoritative_domains = vec!["example.edu".to_owned()],
        &loose,
        |_| {},
    )
    .await;
    app.register_ok("root").await;
    let otto_browser = app.other_browser();
    otto_browser.register_ok("otto").await;
    let otto = app.user_id("otto").await;
    let otto_at_loose = unique("otto-loose");
    set_user(
        &otto_at_loose,
        serde_json::json!({"email": "wen@example.edu", "email_verified": true}),
    )
    .await;
    assert_eq!(
        location(&link_at(&otto_browser, "loose", &otto_at_loose).await),
        "/account?saved=linked"
    );
    sqlx::query("UPDATE mail_addresses SET confirmed_at = 1 WHERE user_id = $1")
        .bind(otto)
        .execute(app.db().await.writer())
        .await
        .unwrap();
    assert_eq!(
        address_of(&app, otto).await,
        Some(("wen@example.edu".to_owned(), true)),
        "confirmed, and brought by the identity at `loose`"
    );
    // The address's owner signs on at the authoritative provider: an account of her own, not
    // otto's, and not confirmed while otto's confirmation stands.
    let wen = unique("wen");
    set_user(
        &wen,
        serde_json::json!({"email": "wen@example.edu", "email_verified": true,
                           "preferred_username": "wen"}),
    )
    .await;
    let response = sign_on_at(&app.other_browser(), "default", &wen).await;
    assert_eq!(location(&response), "/decks?welcome=1", "a new account");
    let made = account_of(&app, &wen).await.expect("signed on");
    assert_ne!(made, otto);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM identities").await, 2);
    // Otto's next sign-on at `loose` drops the confirmation `loose` can no longer give.
    let response = sign_on_at(&app.other_browser(), "loose", &otto_at_loose).await;
    assert_eq!(location(&response), "/decks");
    assert_eq!(
        address_of(&app, otto).await,
        Some(("wen@example.edu".to_owned(), false))
    );
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_an_unlinked_identity_signs_on_to_a_new_account_with_linking_by_email_on() {
    let app = app_with(&issuer(), |p| {
        p.authoritative_domains = vec!["example.edu".to_owned()];
    })
    .await;
    app.register_ok("root").await; // the admin who unlinks
    let unlink = |user: i64, sub: String| {
        let app = &app;
        async move {
            let identity: i64 = sqlx::query_scalar("SELECT id FROM identities WHERE subject = $1")
                .bind(&sub)
                .fetch_one(app.db().await.reader())
                .await
                .unwrap();
            let action = format!("/admin/users/{user}/identities/{identity}/unlink");
            let response = app.submit("/admin/users", &action, &[]).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
        }
    };
    // An account made by sign-on, its address confirmed by it.
    let sub = unique("uri");
    set_user(
        &sub,
        serde_json::json!({"email": "uri@example.edu", "email_verified": true,
                           "preferred_username": "uri"}),
    )
    .await;
    sign_on(&app.other_browser(), &sub).await;
    let uri = account_of(&app, &sub).await.expect("signed on");
    assert_eq!(
        address_of(&app, uri).await,
        Some(("uri@example.edu".to_owned(), true))
    );
    unlink(uri, sub.clone()).await;
    assert_eq!(
        address_of(&app, uri).await,
        Some(("uri@example.edu".to_owned(), false)),
        "the confirmation sign-on gave goes with the identity"
    );
    let response = sign_on(&app.other_browser(), &sub).await;
    assert_eq!(location(&response), "/decks?welcome=1", "a new account");
    let again = account_of(&app, &sub).await.expect("signed on");
    assert_ne!(again, uri);
    assert_eq!(
        address_of(&app, again).await,
        Some(("uri@example.edu".to_owned(), true))
    );

    // An address the user confirmed by mail, joined by e-mail, then unlinked: not joined again.
    let user = app.other_browser();
    user.register_ok("pia").await;
    let pia = app.user_id("pia").await;
    give_address(&app, pia, "pia@example.edu", true).await;
    let sub = unique("pia");
    set_user(
        &sub,
        serde_json::json!({"email": "pia@example.edu", "email_verified": true}),
    )
    .await;
    assert_eq!(
        location(&sign_on(&app.other_browser(), &sub).await),
        "/decks"
    );
    assert_eq!(account_of(&app, &sub).await, Some(pia));
    unlink(pia, sub.clone()).await;
    assert_eq!(
        address_of(&app, pia).await,
        Some(("pia@example.edu".to_owned(), true)),
        "the user's own confirmed address stays"
    );
    let response = sign_on(&app.other_browser(), &sub).await;
    assert_eq!(location(&response), "/decks?welcome=1", "a new account");
    assert_ne!(account_of(&app, &sub).await, Some(pia));
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_linking_by_email_never_joins_an_admin_account() {
    let app = app_with(&issuer(), |p| {
        p.authoritative_domains = vec!["example.edu".to_owned()];
        p.admin_groups = vec!["it-admins".to_owned()];
    })
    .await;
    app.register_ok("root").await; // the break-glass admin
    let root = app.user_id("root").await;
    assert_eq!(role_of(&app, root).await, "admin");
    give_address(&app, root, "it@example.edu", true).await;
    // Whoever holds the mailbox now (not in the admin group) signs on: an account of their
    // own, and the admin stays an admin.
    let sub = unique("it");
    set_user(
        &sub,
        serde_json::json!({"email": "it@example.edu", "email_verified": true,
                           "preferred_username": "it", "groups": ["students"]}),
    )
    .await;
    let response = sign_on(&app.other_browser(), &sub).await;
    assert_eq!(location(&response), "/decks?welcome=1", "a new account");
    let made = account_of(&app, &sub).await.expect("signed on");
    assert_ne!(made, root);
    assert_eq!(role_of(&app, root).await, "admin");
    assert_eq!(role_of(&app, made).await, "student");
    // In the admin group, still not joined by e-mail: a new account (an admin by its group).
    let admin = unique("it-admin");
    set_user(
        &admin,
        serde_json::json!({"email": "it@example.edu", "email_verified": true,
                           "groups": ["it-admins"]}),
    )
    .await;
    let response = sign_on(&app.other_browser(), &admin).await;
    assert_eq!(location(&response), "/decks?welcome=1", "a new account");
    let made = account_of(&app, &admin).await.expect("signed on");
    assert_ne!(made, root);
    assert_eq!(role_of(&app, made).await, "admin", "by its group");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM identities WHERE user_id IN (SELECT id FROM users WHERE username = 'root')")
            .await,
        0
    );
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_the_followed_address_respects_the_users_own_choices() {
    let app = app_with(&issuer(), |p| {
        p.authoritative_domains = vec!["example.edu".to_owned()];
    })
    .await;
    app.register_ok("root").await;
    // Removed on /account: not given back by the next sign-on, nor by a changed one.
    let sub = unique("rhea");
    set_user(
        &sub,
        serde_json::json!({"email": "rhea@example.edu", "email_verified": true,
                           "preferred_username": "rhea"}),
    )
    .await;
    sign_on(&app.other_browser(), &sub).await;
    let rhea = account_of(&app, &sub).await.expect("signed on");
    assert_eq!(
        address_of(&app, rhea).await,
        Some(("rhea@example.edu".to_owned(), true))
    );
    // As /account's "remove" does (the page needs mail set up, which this site has not).
    let db = app.db().await;
    let mut tx = db.begin_write().await.unwrap();
    studyhall::db::mail::remove_address(&mut tx, rhea, app.clock().now().as_second())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(address_of(&app, rhea).await, None);
    sign_on(&app.other_browser(), &sub).await;
    assert_eq!(address_of(&app, rhea).await, None, "not given back");
    set_user(
        &sub,
        serde_json::json!({"email": "rhea.b@example.edu", "email_verified": true}),
    )
    .await;
    sign_on(&app.other_browser(), &sub).await;
    assert_eq!(address_of(&app, rhea).await, None, "nor a new one");

    // Typed by the user, the same as the provider's: the user's, never followed.
    let user = app.other_browser();
    user.register_ok("theo").await;
    let theo = app.user_id("theo").await;
    give_address(&app, theo, "theo@example.edu", false).await;
    let linked = unique("theo");
    set_user(
        &linked,
        serde_json::json!({"email": "theo@example.edu", "email_verified": true}),
    )
    .await;
    assert_eq!(
        location(&link_at(&user, "default", &linked).await),
        "/account?saved=linked"
    );
    assert_eq!(
        address_of(&app, theo).await,
        Some(("theo@example.edu".to_owned(), false))
    );
    set_user(
        &linked,
        serde_json::json!({"email": "theo.new@example.edu", "email_verified": true}),
    )
    .await;
    sign_on(&app.other_browser(), &linked).await;
    assert_eq!(
        address_of(&app, theo).await,
        Some(("theo@example.edu".to_owned(), false)),
        "the typed address stays"
    );
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_a_userinfo_answer_for_another_subject_or_an_error_status_is_refused() {
    let app = app_with(
        &userinfo_adding(serde_json::json!({"sub": "someone-else",
                                                            "groups": ["it-admins"]}))
        .await,
        |p| {
            p.admin_groups = vec!["it-admins".to_owned()];
        },
    )
    .await;
    app.register_ok("root").await;
    let users = count(&app, "SELECT COUNT(*) FROM users").await;
    let sub = unique("vic");
    set_user(&sub, serde_json::json!({"preferred_username": "vic"})).await;
    let response = sign_on_with(&app.other_browser(), &sub, "").await;
    assert_refused(
        &app,
        response,
        StatusCode::BAD_REQUEST,
        "could not be verified",
    )
    .await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, users);

    // The userinfo endpoint answers 500: the provider could not be reached.
    let app = app_with(
        &userinfo_adding(serde_json::json!({"_status": 500})).await,
        |p| {
            p.admin_groups = vec!["it-admins".to_owned()];
        },
    )
    .await;
    let response = sign_on_with(&app.other_browser(), &sub, "").await;
    assert_refused(
        &app,
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "could not be reached",
    )
    .await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, 0);
}

#[tokio::test]
#[ignore = "needs an OpenID provider: scripts/with-oidc"]
async fn oidc_a_link_finishes_only_for_the_user_who_started_it() {
    let app = app_with(&issuer(), |_| {}).await;
    app.register_ok("root").await;
    let browser = app.other_browser();
    browser.register_ok("kim").await;
    app.other_browser().register_ok("lee").await;
    let sub = unique("kim");
    set_user(&sub, serde_json::json!({"email": "kim@example.edu"})).await;
    let page = "/account";
    // Started by kim, who logs out and lets lee log in in the same browser.
    let response = browser
        .submit(page, "/account/identities/link", &[("provider", "default")])
        .await;
    let callback = at_provider(&location(&response), &[("sub", &sub)]).await;
    browser.submit("/decks", "/logout", &[]).await;
    assert_eq!(
        browser.login("lee", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("no longer signed in as the account that started linking")
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM identities").await, 0);
    // Logged out altogether: refused the same way.
    browser.submit("/decks", "/logout", &[]).await;
    browser.login("kim", PASSWORD).await;
    let response = browser
        .submit(page, "/account/identities/link", &[("provider", "default")])
        .await;
    let callback = at_provider(&location(&response), &[("sub", &sub)]).await;
    browser.submit("/decks", "/logout", &[]).await;
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("no longer signed in as the account that started linking")
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM identities").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, 3);
    // Still signed in as kim: linked.
    browser.login("kim", PASSWORD).await;
    assert_eq!(
        location(&link_at(&browser, "default", &sub).await),
        "/account?saved=linked"
    );
    assert_eq!(account_of(&app, &sub).await, Some(app.user_id("kim").await));
}
