use crate::helpers::{PASSWORD, spawn_app};
use reqwest::StatusCode;

#[tokio::test]
async fn admins_list_and_search_users_and_students_cannot() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let student = app.other_browser();
    student.register_ok("student1").await;
    let html = app.get_html("/admin/users").await;
    assert!(html.contains("student1") && html.contains("(you)"));
    let found = app.get_html("/admin/users?q=STUD").await;
    assert!(found.contains("student1") && !found.contains("(you)"));
    assert_eq!(
        student.get("/admin/users").await.status(),
        StatusCode::FORBIDDEN
    );
    let forged = student
        .submit(
            "/decks",
            &format!("/admin/users/{}/role", app.user_id("student1").await),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        student.get("/admin/import").await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn an_admin_changes_a_role_and_it_applies_at_once() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let other = app.other_browser();
    other.register_ok("teacher").await;
    let id = app.user_id("teacher").await;
    assert_eq!(
        other.get("/admin/users").await.status(),
        StatusCode::FORBIDDEN
    );
    let response = app
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/role"),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        other.get("/admin/users").await.status(),
        StatusCode::OK,
        "the new role applies to the live session"
    );
    let bad = app
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/role"),
            &[("role", "root")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let missing = app
        .submit(
            "/admin/users",
            "/admin/users/999/role",
            &[("role", "student")],
        )
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_admin_cannot_demote_or_disable_themselves() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let me = app.user_id("admin").await;
    let demote = app
        .submit(
            "/admin/users",
            &format!("/admin/users/{me}/role"),
            &[("role", "student")],
        )
        .await;
    assert_eq!(demote.status(), StatusCode::CONFLICT);
    let disable = app
        .submit(
            "/admin/users",
            &format!("/admin/users/{me}/disabled"),
            &[("disabled", "1")],
        )
        .await;
    assert_eq!(disable.status(), StatusCode::CONFLICT);
    assert_eq!(app.get("/admin/users").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_disabled_account_loses_its_sessions_and_cannot_log_in_until_enabled() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let student = app.other_browser();
    student.register_ok("student1").await;
    let id = app.user_id("student1").await;
    app.submit(
        "/admin/users",
        &format!("/admin/users/{id}/disabled"),
        &[("disabled", "1")],
    )
    .await;
    assert_eq!(
        student.get("/decks").await.status(),
        StatusCode::SEE_OTHER,
        "logged out"
    );
    let login = student.login("student1", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(login.text().await.unwrap().contains("disabled"));
    app.submit(
        "/admin/users",
        &format!("/admin/users/{id}/disabled"),
        &[("disabled", "0")],
    )
    .await;
    assert_eq!(
        student.login("student1", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_reset_password_works_once_and_forces_a_new_one() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let student = app.other_browser();
    student.register_ok("student1").await;
    let id = app.user_id("student1").await;
    // Asked first.
    let confirm = app.get_html(&format!("/admin/users/{id}/reset")).await;
    assert!(
        confirm.contains("Reset student1&#39;s password?")
            || confirm.contains("Reset student1's password?")
    );
    let temporary = crate::helpers::reset_password(&app, id).await;
    assert_eq!(temporary.len(), 14);
    assert!(
        !app.get_html("/admin/users").await.contains(&temporary),
        "shown only once"
    );

    assert_eq!(
        student.get("/decks").await.status(),
        StatusCode::SEE_OTHER,
        "sessions ended"
    );
    assert_eq!(
        student.login("student1", PASSWORD).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        student.login("student1", &temporary).await.status(),
        StatusCode::SEE_OTHER
    );
    for page in ["/decks", "/review", "/stats", "/account"] {
        let r = student.get(page).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{page}");
        assert_eq!(r.headers()["location"], "/account/new-password");
    }
    let weak = student
        .submit(
            "/account/new-password",
            "/account/new-password",
            &[("new", "short"), ("confirm", "short")],
        )
        .await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let chosen = student
        .submit(
            "/account/new-password",
            "/account/new-password",
            &[("new", "my own phrase"), ("confirm", "my own phrase")],
        )
        .await;
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
    assert_eq!(student.get("/decks").await.status(), StatusCode::OK);
    let fresh = app.other_browser();
    assert_eq!(
        fresh.login("student1", &temporary).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        fresh.login("student1", "my own phrase").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn disabling_asks_first_and_an_empty_search_says_so() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let student = app.other_browser();
    student.register_ok("student1").await;
    let id = app.user_id("student1").await;
    let list = app.get_html("/admin/users").await;
    assert!(list.contains(&format!("href=\"/admin/users/{id}/disabled\">Disable</a>")));
    let confirm = app.get_html(&format!("/admin/users/{id}/disabled")).await;
    assert!(confirm.contains("Disable student1?") && confirm.contains("id=\"confirm\""));
    assert_eq!(
        student.get("/decks").await.status(),
        StatusCode::OK,
        "nothing yet"
    );
    let r = app
        .submit(
            &format!("/admin/users/{id}/disabled"),
            &format!("/admin/users/{id}/disabled"),
            &[("disabled", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(student.get("/decks").await.status(), StatusCode::SEE_OTHER);
    let none = app.get_html("/admin/users?q=nobody-like-this").await;
    assert!(none.contains("No accounts match ‘nobody-like-this’."));
    // The admin cannot be asked to lock themselves out.
    let me = app.user_id("admin").await;
    assert_ne!(
        app.get(&format!("/admin/users/{me}/reset")).await.status(),
        StatusCode::OK
    );
}
