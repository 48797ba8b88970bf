//! HTTP semantics and the smaller hardening points: HEAD and 405, session caps, names with
//! invisible characters, the origin's scheme, forged pre-login tokens, JSON errors on the API,
//! clean import messages, private files, and double-submitted grades.

use crate::helpers::{PASSWORD, TestApp, card_id_in, csrf_in, spawn_app};
use crate::hostile_imports::upload;
use reqwest::{Method, StatusCode};

async fn request(app: &TestApp, method: Method, path: &str) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn head_works_everywhere_get_does_and_other_methods_get_405_with_allow() {
    let app = spawn_app().await;
    for path in ["/healthz", "/login", "/register", "/static/app.css"] {
        let get = request(&app, Method::GET, path).await;
        let head = request(&app, Method::HEAD, path).await;
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type")
        );
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "HEAD {path} has no body"
        );
    }
    app.register_ok("ada").await;
    for path in [
        "/decks",
        "/review",
        "/stats",
        "/decks/1",
        "/api/v1/practice",
    ] {
        let head = request(&app, Method::HEAD, path).await;
        assert_eq!(head.status(), StatusCode::OK, "HEAD {path}");
        assert!(head.bytes().await.unwrap().is_empty());
    }
    assert_eq!(
        request(&app, Method::HEAD, "/no/such/page").await.status(),
        StatusCode::NOT_FOUND
    );
    for (method, path, allow) in [
        (Method::POST, "/healthz", "GET, HEAD"),
        (Method::DELETE, "/login", "GET, POST, HEAD"),
        (Method::PUT, "/decks/1", "GET, HEAD"),
        (Method::GET, "/logout", "POST"),
        (Method::PATCH, "/api/v1/practice", "GET, HEAD"),
    ] {
        let r = request(&app, method.clone(), path).await;
        assert_eq!(
            r.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        let mut got: Vec<&str> = r.headers()["allow"].to_str().unwrap().split(", ").collect();
        let mut want: Vec<&str> = allow.split(", ").collect();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "{method} {path}");
    }
}

#[tokio::test]
async fn an_account_keeps_at_most_ten_sessions_dropping_the_oldest() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let first = app.other_browser();
    assert_eq!(
        first.login("ada", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(first.get("/decks").await.status(), StatusCode::OK);
    for _ in 0..14 {
        let b = app.other_browser();
        assert_eq!(
            b.login("ada", PASSWORD).await.status(),
            StatusCode::SEE_OTHER
        );
    }
    let sessions: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = 'ada')",
    )
    .fetch_one(&app.pool().await)
    .await
    .unwrap();
    assert_eq!(sessions, 10);
    assert_eq!(
        first.get("/decks").await.status(),
        StatusCode::SEE_OTHER,
        "the oldest session ended"
    );
}

#[tokio::test]
async fn names_with_control_or_direction_characters_are_refused() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    for name in [
        "evil\u{0}name",
        "gpj.\u{202E}exe",
        "tab\tname",
        "a\u{2066}b",
    ] {
        let r = app
            .submit("/decks", "/decks", &[("name", name), ("description", "")])
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        assert!(r.text().await.unwrap().contains("invisible character"));
        let r = app.submit("/classes", "/classes", &[("name", name)]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
    }
    let r = crate::helpers::upload(&app, "x.tsv", b"a\tb\n".to_vec(), "nul\u{0}deck", "tsv").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Card text may hold tabs and line breaks, but not NUL.
    let r = app
        .submit(
            "/decks/1/edit",
            "/decks/1/cards",
            &[("front", "has a \u{0} byte"), ("back", "b")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let pool = app.pool().await;
    let stray: i64 = sqlx::query_scalar(
        // PostgreSQL's text cannot hold a NUL at all; SQLite's can.
        if crate::helpers::on_postgres() {
            "SELECT COUNT(*) FROM decks WHERE strpos(name COLLATE \"C\", chr(8238)) > 0"
        } else {
            "SELECT COUNT(*) FROM decks WHERE instr(name, char(0)) > 0 OR instr(name, char(8238)) > 0"
        },
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stray, 0);
    let html = app.get_html("/decks").await;
    assert!(!html.contains('\u{0}'));
}

#[tokio::test]
async fn the_origin_check_compares_the_scheme_and_forged_pre_login_tokens_fail() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let browser = app.other_browser();
    let token = csrf_in(&browser.get_html("/login").await);
    let host = app.address.trim_start_matches("http://").to_owned();
    let form = [
        ("csrf_token", token.as_str()),
        ("username", "ada"),
        ("password", PASSWORD),
    ];
    let r = browser
        .client
        .post(app.url("/login"))
        .header("origin", format!("https://{host}"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "https page, http site");
    let r = browser
        .client
        .post(app.url("/login"))
        .header("origin", format!("http://{host}"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // A pre-login cookie the attacker planted: short, or not hex, never matches.
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for planted in ["a", "x", &"zz".repeat(32)] {
        let r = bare
            .post(app.url("/login"))
            .header("cookie", format!("studyhall_csrf={planted}"))
            .form(&[
                ("csrf_token", planted),
                ("username", "ada"),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{planted}");
    }
}

#[tokio::test]
async fn every_api_error_is_json() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    for (path, status) in [
        (
            "/api/v1/practice/conv-params?seed=1&seed=2",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/practice/conv-params?seed=x",
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/nothing-here", StatusCode::NOT_FOUND),
        ("/api/v1/practice/no-such-family", StatusCode::NOT_FOUND),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), status, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{path}"
        );
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body["error"].is_string(), "{path}: {body}");
    }
}

#[tokio::test]
async fn odd_anki_columns_give_messages_without_rust_internals() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    for (values, says) in [
        ("(1, x'fffe00')", "not UTF-8 text"),
        ("(1, NULL)", "fewer than two fields"),
        ("(1, 42)", "fewer than two fields"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.anki2");
        let pool = studyhall::db::connect(&dir.path().join("scratch.db"))
            .await
            .unwrap();
        sqlx::query("VACUUM INTO ?1")
            .bind(path.to_string_lossy().into_owned())
            .execute(&pool)
            .await
            .unwrap();
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
            "sqlite://{}",
            path.display()
        ))
        .await
        .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, flds); INSERT INTO notes VALUES {values};"
        )))
        .execute(&mut conn)
        .await
        .unwrap();
        drop(conn);
        let apkg = studyhall::import::apkg::package(&std::fs::read(&path).unwrap()).unwrap();
        let r = upload(&app, "odd.apkg", apkg).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{values}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains(says),
            "{values}: expected '{says}' in {}",
            &html[html.find("<main").unwrap_or(0)..]
        );
        assert!(!html.contains("alloc::") && !html.contains("Rust type"));
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_and_backups_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    // On SQLite whatever the suite's backend: PostgreSQL's files are its own, in its folder.
    let app = crate::helpers::spawn_sqlite_app().await;
    app.register_ok("ada").await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let db = app.db_path();
    assert_eq!(mode(&db), 0o600);
    let wal = db.with_extension("db-wal");
    assert!(wal.exists());
    assert_eq!(mode(&wal), 0o600);
    assert_eq!(mode(db.parent().unwrap()), 0o700);
    let backup = db.parent().unwrap().join("backup.db");
    studyhall::cli::backup(&app.pool().await, &backup)
        .await
        .unwrap();
    assert_eq!(mode(&backup), 0o600);
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&studyhall::db::connect(&backup).await.unwrap())
        .await
        .unwrap();
    assert_eq!(users, 1);
}

#[tokio::test]
async fn a_double_submitted_failing_grade_is_recorded_once() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let html = app.get_html("/review").await;
    let card = card_id_in(&html).unwrap();
    let marker = "name=\"seen\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    let seen = html[start..start + html[start..].find('"').unwrap()].to_owned();
    let token = csrf_in(&html);
    let form = [
        ("csrf_token", token.as_str()),
        ("quality", "2"),
        ("deck", ""),
        ("seen", seen.as_str()),
    ];
    for _ in 0..3 {
        let r = app.post_form(&format!("/review/{card}"), &form).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reviews WHERE card_id = $1")
        .bind(card)
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    assert_eq!(events, 1, "one grade, no phantom repeats");
    // The repeat the failing grade asks for is taken from a page that showed it after it.
    let repeat = [
        ("csrf_token", token.as_str()),
        ("quality", "4"),
        ("deck", ""),
        ("seen", "1"),
    ];
    let r = app.post_form(&format!("/review/{card}"), &repeat).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM reviews WHERE card_id = $1 ORDER BY id")
            .bind(card)
            .fetch_all(&app.pool().await)
            .await
            .unwrap();
    assert_eq!(kinds, ["grade", "repeat"]);
}
