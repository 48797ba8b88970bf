use crate::helpers::{PASSWORD, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use studyhall::config::Registration;

#[tokio::test]
async fn health_check_answers_ok() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn the_first_account_is_admin_and_later_ones_are_students() {
    let app = spawn_app().await;
    app.register_ok("first").await;
    assert_eq!(app.get("/admin/import").await.status(), StatusCode::OK);

    let student = app.other_browser();
    student.register_ok("second").await;
    let response = student.get("/admin/users").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("administrators"));
    let response = student.get("/admin/import").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("instructors"));
}

#[tokio::test]
async fn registration_explains_each_broken_rule_and_creates_nothing() {
    let app = spawn_app().await;
    let response = app
        .submit(
            "/register",
            "/register",
            &[
                ("username", "x"),
                ("password", "short"),
                ("confirm", "other"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("Usernames are 3 to 32 characters long."));
    assert!(html.contains("Passwords are at least 8 characters long."));
    assert!(html.contains("The two passwords differ."));
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    assert_eq!(users, 0);
}

#[tokio::test]
async fn usernames_are_unique_regardless_of_case() {
    let app = spawn_app().await;
    app.register_ok("Ada").await;
    let other = app.other_browser();
    let response = other.register("ada").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("is taken"));
}

#[tokio::test]
async fn logging_in_and_out_starts_and_ends_a_server_side_session() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let browser = app.other_browser();
    let wrong = browser.login("ada", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("Wrong username or password.")
    );

    let ok = browser.login("ADA", PASSWORD).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let cookie = ok
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("studyhall_session="))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    assert_eq!(browser.get("/decks").await.status(), StatusCode::OK);

    // Replay the cookie from a client that keeps it even after logout.
    let token = cookie.split(';').next().unwrap().to_owned();
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let logout = browser.submit("/decks", "/logout", &[]).await;
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    let after = replay
        .get(browser.url("/decks"))
        .header("cookie", token)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(after.headers()["location"], "/login");
}

#[tokio::test]
async fn pages_that_need_a_login_redirect_to_it() {
    let app = spawn_app().await;
    for path in [
        "/decks",
        "/review",
        "/stats",
        "/account",
        "/admin/import",
        "/decks/1",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers()["location"], "/login", "{path}");
    }
}

#[tokio::test]
async fn closed_registration_refuses_new_accounts() {
    let app = spawn_app_with(|s| s.registration = Registration::Closed).await;
    let html = app.get_html("/register").await;
    assert!(html.contains("Registration is closed"));
    let login_page = app.get_html("/login").await;
    let response = app
        .post_form(
            "/register",
            &[
                ("csrf_token", &crate::helpers::csrf_in(&login_page)),
                ("username", "eve"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_user_changes_password_and_preferences_with_clear_messages() {
    let app = spawn_app().await;
    app.register_ok("ada").await;

    let bad = app
        .submit(
            "/account",
            "/account/preferences",
            &[
                ("time_zone", "Mars/Olympus"),
                ("day_starts_hour", "25"),
                ("new_per_day", "5"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert!(html.contains("is not a time zone name"));
    assert!(html.contains("whole hour from 0 to 23"));

    let good = app
        .submit(
            "/account",
            "/account/preferences",
            &[
                ("time_zone", "Europe/Madrid"),
                ("day_starts_hour", "5"),
                ("new_per_day", "7"),
            ],
        )
        .await;
    assert_eq!(good.status(), StatusCode::SEE_OTHER);
    let html = app.get_html("/account?saved=preferences").await;
    assert!(html.contains("value=\"Europe/Madrid\""));
    assert!(html.contains("value=\"7\""));

    let wrong = app
        .submit(
            "/account",
            "/account/password",
            &[
                ("current", "nope nope nope"),
                ("new", "a new passphrase"),
                ("confirm", "a new passphrase"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("current password is not right")
    );

    let changed = app
        .submit(
            "/account",
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", "a new passphrase"),
                ("confirm", "a new passphrase"),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    let browser = app.other_browser();
    assert_eq!(
        browser.login("ada", PASSWORD).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        browser.login("ada", "a new passphrase").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_password_change_ends_the_users_other_sessions_at_once() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let laptop = app.other_browser();
    assert_eq!(
        laptop.login("ada", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(laptop.get("/decks").await.status(), StatusCode::OK);
    let changed = app
        .submit(
            "/account",
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", "a new passphrase"),
                ("confirm", "a new passphrase"),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    let after = laptop.get("/decks").await;
    assert_eq!(
        after.status(),
        StatusCode::SEE_OTHER,
        "the other session is over"
    );
    assert_eq!(
        app.get("/decks").await.status(),
        StatusCode::OK,
        "this one goes on"
    );
}

#[tokio::test]
async fn new_preferences_apply_to_the_very_next_page() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    assert!(app.get_html("/review").await.contains("20 new"));
    let saved = app
        .submit(
            "/account",
            "/account/preferences",
            &[
                ("time_zone", "UTC"),
                ("day_starts_hour", "4"),
                ("new_per_day", "3"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert!(app.get_html("/review").await.contains("3 new"));
}

#[tokio::test]
async fn a_first_visit_explains_the_site_and_the_first_account_learns_it_runs_it() {
    let app = spawn_app().await;
    let home = app.get("/").await;
    assert_eq!(home.status(), reqwest::StatusCode::OK);
    let html = home.text().await.unwrap();
    assert!(html.contains("spaced-repetition") && html.contains("id=\"welcome-login\""));
    assert!(html.contains("id=\"welcome-register\""));

    // The browser's zone (filled in by the page's script) is kept.
    let token = crate::helpers::csrf_in(&app.get_html("/register").await);
    let r = app
        .post_form(
            "/register",
            &[
                ("csrf_token", &token),
                ("username", "founder"),
                ("password", crate::helpers::PASSWORD),
                ("confirm", crate::helpers::PASSWORD),
                ("time_zone", "America/New_York"),
            ],
        )
        .await;
    assert_eq!(r.headers()["location"], "/decks?welcome=1");
    let html = app.get_html("/decks?welcome=1").await;
    assert!(
        html.contains("administrator</strong>, as its first account"),
        "{html}"
    );
    assert!(html.contains("href=\"/classes\">Create a class"));
    let zone: String = sqlx::query_scalar("SELECT time_zone FROM users WHERE username = 'founder'")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    assert_eq!(zone, "America/New_York");
    assert_eq!(app.get("/").await.headers()["location"], "/decks");

    // A student who registers with a class code is told which class they joined.
    let r = app
        .submit("/classes", "/classes", &[("name", "CS 7643 Fall")])
        .await;
    let class_url = r.headers()["location"].to_str().unwrap().to_owned();
    let class_page = app.get_html(&class_url).await;
    let marker = "id=\"join-code\">";
    let start = class_page.find(marker).unwrap() + marker.len();
    let code = class_page[start..start + 10].to_owned();
    let student = app.other_browser();
    let token = crate::helpers::csrf_in(&student.get_html("/register").await);
    let r = student
        .post_form(
            "/register",
            &[
                ("csrf_token", &token),
                ("username", "learner"),
                ("password", crate::helpers::PASSWORD),
                ("confirm", crate::helpers::PASSWORD),
                ("code", &code),
                ("time_zone", "Europe/Madrid"),
            ],
        )
        .await;
    let next = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(next.starts_with("/decks?welcome=1&joined="), "{next}");
    let html = student.get_html(&next).await;
    assert!(html.contains("You joined the class ‘CS 7643 Fall’."));
    assert!(!html.contains("administrator"));
    let zone: String = sqlx::query_scalar("SELECT time_zone FROM users WHERE username = 'learner'")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    assert_eq!(zone, "Europe/Madrid");
}

#[tokio::test]
async fn registering_with_an_unknown_time_zone_is_refused_clearly_and_creates_nothing() {
    let app = spawn_app().await;
    let token = crate::helpers::csrf_in(&app.get_html("/register").await);
    let r = app
        .post_form(
            "/register",
            &[
                ("csrf_token", &token),
                ("username", "wanderer"),
                ("password", crate::helpers::PASSWORD),
                ("confirm", crate::helpers::PASSWORD),
                ("time_zone", "Not/AZone"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("&#39;Not/AZone&#39; is not a time zone name")
            || html.contains("'Not/AZone' is not a time zone name"),
        "{html}"
    );
    assert!(
        html.contains("value=\"Not/AZone\""),
        "the typed zone is kept: {html}"
    );
    let accounts: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username = 'wanderer'")
            .fetch_one(&app.pool().await)
            .await
            .unwrap();
    assert_eq!(accounts, 0);

    // An empty field (no script) still registers, in UTC.
    app.register_ok("wanderer").await;
    let zone: String =
        sqlx::query_scalar("SELECT time_zone FROM users WHERE username = 'wanderer'")
            .fetch_one(&app.pool().await)
            .await
            .unwrap();
    assert_eq!(zone, "UTC");
}

#[tokio::test]
async fn the_navigation_marks_the_current_page() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    for (path, link) in [
        (
            "/decks",
            "<a href=\"/decks\" aria-current=\"page\">Decks</a>",
        ),
        (
            "/decks/1",
            "<a href=\"/decks\" aria-current=\"page\">Decks</a>",
        ),
        (
            "/review",
            "<a href=\"/review\" aria-current=\"page\">Review</a>",
        ),
        (
            "/stats",
            "<a href=\"/stats\" aria-current=\"page\">Progress</a>",
        ),
        (
            "/practice",
            "<a href=\"/practice\" aria-current=\"page\">Practice</a>",
        ),
        (
            "/classes",
            "<a href=\"/classes\" aria-current=\"page\">Classes</a>",
        ),
    ] {
        let html = app.get_html(path).await;
        assert!(html.contains(link), "{path}");
        assert_eq!(html.matches("aria-current=\"page\"").count(), 1, "{path}");
    }
}

#[tokio::test]
async fn error_pages_show_the_navigation_of_the_user_who_asks() {
    let admin = spawn_app().await;
    admin.register_ok("root").await;
    let app = admin.other_browser();
    app.register_ok("ada").await;
    // A thing that is not there (the handler's own 404), an address no route serves (the
    // default service, before any extractor), and a page for instructors only (403).
    for (path, status) in [
        ("/decks/999999", StatusCode::NOT_FOUND),
        ("/no/such/page", StatusCode::NOT_FOUND),
        ("/admin/import", StatusCode::FORBIDDEN),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), status, "{path}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains(">ada</a>"),
            "{path}: the user's name links to the account"
        );
        assert!(
            html.contains("action=\"/logout\""),
            "{path}: the log-out form"
        );
    }
    // Anonymous visitors still get the anonymous navigation.
    let stranger = admin.other_browser();
    let html = stranger.get("/no/such/page").await.text().await.unwrap();
    assert!(!html.contains("action=\"/logout\""));
}
