//! Two app servers on one PostgreSQL database, a browser's requests going to either: what one
//! server changes holds on the other at once. (Several servers need PostgreSQL; on SQLite the
//! site is one process, so plain `cargo test` reports these tests ignored.)

use crate::helpers::{PASSWORD, TestApp, require_postgres, spawn_app};
use reqwest::StatusCode;

async fn two_servers() -> (TestApp, TestApp) {
    require_postgres();
    let a = spawn_app().await;
    let b = a.second_server().await;
    (a, b)
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn a_logout_on_one_server_ends_the_session_on_the_other() {
    let (a, b) = two_servers().await;
    a.register_ok("ada").await;
    let ada_on_b = a.on(&b);
    assert_eq!(ada_on_b.get("/decks").await.status(), StatusCode::OK);
    // The other server has looked the session up; the logout goes to the first.
    assert_eq!(
        a.submit("/decks", "/logout", &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(ada_on_b.get("/decks").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn a_password_change_or_disabling_on_one_server_holds_on_the_other() {
    let (admin, b) = two_servers().await;
    admin.register_ok("admin").await;
    let student = admin.other_browser();
    student.register_ok("student1").await;
    let laptop = student.other_browser();
    assert_eq!(
        laptop.login("student1", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let laptop_on_b = laptop.on(&b);
    assert_eq!(laptop_on_b.get("/decks").await.status(), StatusCode::OK);

    let new_password = "an entirely new passphrase";
    let r = student
        .submit(
            "/account",
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", new_password),
                ("confirm", new_password),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        laptop_on_b.get("/decks").await.status(),
        StatusCode::SEE_OTHER,
        "the other session ended on the other server too"
    );

    let student_on_b = student.on(&b);
    assert_eq!(student_on_b.get("/decks").await.status(), StatusCode::OK);
    let id = admin.user_id("student1").await;
    admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/disabled"),
            &[("disabled", "1")],
        )
        .await;
    assert_eq!(
        student_on_b.get("/decks").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn a_role_change_on_one_server_applies_on_the_other() {
    let (admin, b) = two_servers().await;
    admin.register_ok("admin").await;
    let teacher = admin.other_browser();
    teacher.register_ok("teacher").await;
    let teacher_on_b = teacher.on(&b);
    assert_eq!(
        teacher_on_b.get("/admin/import").await.status(),
        StatusCode::FORBIDDEN
    );
    let r = admin.set_role("teacher", "instructor").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        teacher_on_b.get("/admin/import").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn simultaneous_first_registrations_on_two_servers_make_exactly_one_admin() {
    let (a, b) = two_servers().await;
    let browsers: Vec<TestApp> = (0..6)
        .map(|i| {
            let browser = a.other_browser();
            if i % 2 == 0 { browser } else { browser.on(&b) }
        })
        .collect();
    let registrations = browsers
        .iter()
        .enumerate()
        .map(|(i, browser)| async move { browser.register_ok(&format!("first{i}")).await });
    futures_util::future::join_all(registrations).await;
    let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin'")
        .fetch_one(&a.pool().await)
        .await
        .unwrap();
    assert_eq!(admins, 1);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn a_grade_answered_by_one_server_is_committed_for_the_other() {
    let (a, b) = two_servers().await;
    a.register_ok("ada").await;
    let ada_on_b = a.on(&b);
    for round in 0..6 {
        // Alternate servers; each grade is answered only once it is committed, so the other
        // server's very next page already counts it.
        let (grader, reader) = if round % 2 == 0 {
            (&a, &ada_on_b)
        } else {
            (&ada_on_b, &a)
        };
        let card = grader.grade_next(5, None).await;
        let events: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM reviews WHERE card_id = $1 AND kind = 'grade'",
        )
        .bind(card)
        .fetch_one(&reader.pool().await)
        .await
        .unwrap();
        assert_eq!(events, 1);
        let html = reader.get_html("/review").await;
        assert_ne!(
            crate::helpers::card_id_in(&html),
            Some(card),
            "the graded card is not shown again"
        );
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn wrong_passwords_spread_over_two_servers_count_as_one_budget() {
    let (a, b) = two_servers().await;
    a.register_ok("ada").await;
    let guesser = a.other_browser();
    let guesser_on_b = guesser.on(&b);
    let free = studyhall::auth::throttle::FREE_FAILURES;
    // Each server alone sees only half of the guesses, too few to slow anyone down.
    for i in 0..free {
        let server = if i % 2 == 0 { &guesser } else { &guesser_on_b };
        let r = server.login("ada", "not the password").await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "guess {i}");
    }
    for server in [&guesser, &guesser_on_b] {
        let r = server.login("ada", "not the password").await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(r.headers().contains_key("retry-after"));
    }
    // The owner elsewhere is not slowed (every test client is 127.0.0.1, so "elsewhere" is
    // simulated by a right password: it is not counted against the account's owner).
    let owner_on_b = a.other_browser().on(&b);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(
        owner_on_b.login("ada", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        guesser.login("ada", "not the password").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a right password started the pair over, on both servers"
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn a_deck_handed_out_or_taken_back_on_one_server_shows_or_hides_on_the_other() {
    let (admin, b) = two_servers().await;
    admin.register_ok("admin").await;
    let teacher = crate::classes::make_instructor(&admin, "teacher").await;
    let deck = crate::classes::import_private(&teacher, "Midterm drill").await;
    let (class, code) = crate::classes::new_class(&teacher, "Section A").await;
    let student = admin.other_browser();
    student.register_ok("student1").await;
    let r = student
        .submit("/classes", "/classes/join", &[("code", code.as_str())])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let student_on_b = student.on(&b);
    let deck_page = format!("/decks/{deck}");
    assert_eq!(
        student_on_b.get(&deck_page).await.status(),
        StatusCode::NOT_FOUND
    );

    // Handed out through the first server: the student sees it on the second at once.
    let r = crate::classes::assign(&teacher, class, deck).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(student_on_b.get(&deck_page).await.status(), StatusCode::OK);
    assert!(
        student_on_b
            .get_html("/decks")
            .await
            .contains("Midterm drill")
    );

    // Taken back through the first server: gone on the second at once.
    let r = teacher
        .submit(
            &deck_page,
            &format!("/decks/{deck}/classes/{class}/remove"),
            &[],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        student_on_b.get(&deck_page).await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(
        !student_on_b
            .get_html("/decks")
            .await
            .contains("Midterm drill")
    );
}
