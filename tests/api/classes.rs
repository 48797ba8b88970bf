use crate::helpers::{PASSWORD, TestApp, card_id_in, csrf_in, spawn_app};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

async fn make_instructor(admin: &TestApp, name: &str) -> TestApp {
    let teacher = admin.other_browser();
    teacher.register_ok(name).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = ?1")
        .bind(name)
        .fetch_one(&admin.pool().await)
        .await
        .unwrap();
    let r = admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/role"),
            &[("role", "instructor")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    teacher
}

/// The instructor imports a private deck; returns its id.
async fn import_private(teacher: &TestApp, deck: &str) -> i64 {
    let form = Form::new()
        .text(
            "csrf_token",
            csrf_in(&teacher.get_html("/admin/import").await),
        )
        .text("deck", deck.to_owned())
        .text("format", "tsv")
        .part(
            "file",
            Part::text("secret term\tsecret definition\n").file_name("d.tsv"),
        );
    let r = teacher
        .client
        .post(teacher.url("/admin/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    sqlx::query_scalar("SELECT id FROM decks WHERE name = ?1")
        .bind(deck)
        .fetch_one(&teacher.pool().await)
        .await
        .unwrap()
}

async fn new_class(teacher: &TestApp, name: &str) -> (i64, String) {
    let r = teacher
        .submit("/classes", "/classes", &[("name", name)])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let url = location(&r);
    let id: i64 = url.rsplit('/').next().unwrap().parse().unwrap();
    let html = teacher.get_html(&url).await;
    let marker = "id=\"join-code\">";
    let start = html.find(marker).unwrap() + marker.len();
    (id, html[start..start + 10].to_owned())
}

#[tokio::test]
async fn students_see_a_private_deck_only_through_a_class_it_is_assigned_to() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    let deck = import_private(&teacher, "Secret deck").await;
    let (class, code) = new_class(&teacher, "CS 7643").await;

    let student = admin.other_browser();
    student.register_ok("student").await;
    let hidden = |s: &TestApp| {
        let s = s.clone_browser();
        async move {
            assert!(!s.get_html("/decks").await.contains("Secret deck"));
            assert_eq!(
                s.get(&format!("/decks/{deck}")).await.status(),
                StatusCode::NOT_FOUND
            );
            assert_eq!(
                s.get(&format!("/decks/{deck}/export.csv")).await.status(),
                StatusCode::NOT_FOUND
            );
            assert_eq!(
                s.get(&format!("/review?deck={deck}")).await.status(),
                StatusCode::NOT_FOUND
            );
            let card: i64 = sqlx::query_scalar("SELECT id FROM cards WHERE deck_id = ?1")
                .bind(deck)
                .fetch_one(&s.pool().await)
                .await
                .unwrap();
            assert_eq!(
                s.get(&format!("/cards/{card}")).await.status(),
                StatusCode::NOT_FOUND
            );
            let graded = s
                .submit("/decks", &format!("/review/{card}"), &[("quality", "5")])
                .await;
            assert_eq!(
                graded.status(),
                StatusCode::NOT_FOUND,
                "a hidden card cannot be graded"
            );
        }
    };
    hidden(&student).await;

    // Joined but not yet assigned: still hidden. Assigned: visible everywhere.
    let joined = student
        .submit(
            "/classes",
            "/classes/join",
            &[("code", &code.to_lowercase())],
        )
        .await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    hidden(&student).await;
    let assign = teacher
        .submit(
            &format!("/classes/{class}"),
            &format!("/classes/{class}/decks/{deck}"),
            &[("assigned", "1")],
        )
        .await;
    assert_eq!(assign.status(), StatusCode::SEE_OTHER);
    assert!(student.get_html("/decks").await.contains("Secret deck"));
    let html = student.get_html(&format!("/review?deck={deck}")).await;
    let card = card_id_in(&html).unwrap();
    let graded = student
        .submit(
            &format!("/review?deck={deck}"),
            &format!("/review/{card}"),
            &[("quality", "5")],
        )
        .await;
    assert_eq!(graded.status(), StatusCode::SEE_OTHER);
    assert!(
        teacher
            .get_html(&format!("/classes/{class}"))
            .await
            .contains("<li>student</li>")
    );

    // Leaving hides it again, progress kept for a later return.
    let left = student
        .submit("/classes", &format!("/classes/{class}/leave"), &[])
        .await;
    assert_eq!(left.status(), StatusCode::SEE_OTHER);
    hidden(&student).await;
    // An outsider never saw it.
    let outsider = admin.other_browser();
    outsider.register_ok("outsider").await;
    hidden(&outsider).await;
}

#[tokio::test]
async fn a_join_code_works_at_registration_and_a_new_code_retires_the_old_one() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    let (class, code) = new_class(&teacher, "Section A").await;

    let student = admin.other_browser();
    let r = student
        .submit(
            "/register",
            "/register",
            &[
                ("username", "ada"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(student.get_html("/classes").await.contains("Section A"));

    let bad = admin.other_browser();
    let r = bad
        .submit(
            "/register",
            "/register",
            &[
                ("username", "bob"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
                ("code", "NOPE123456"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("No class has that join code")
    );

    teacher
        .submit(
            &format!("/classes/{class}"),
            &format!("/classes/{class}/code"),
            &[],
        )
        .await;
    let late = admin.other_browser();
    late.register_ok("late").await;
    let r = late
        .submit("/classes", "/classes/join", &[("code", &code)])
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "the old code no longer works"
    );
}

#[tokio::test]
async fn students_cannot_run_classes_and_instructors_cannot_reach_each_others() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    let other = make_instructor(&admin, "other").await;
    let (class, _) = new_class(&teacher, "Mine").await;
    let student = admin.other_browser();
    student.register_ok("student").await;

    assert_eq!(
        student
            .submit("/classes", "/classes", &[("name", "Nope")])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        student.get(&format!("/classes/{class}")).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        student.get("/admin/import").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        other.get(&format!("/classes/{class}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let r = other
        .submit("/classes", &format!("/classes/{class}/code"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = other
        .submit(
            "/classes",
            &format!("/classes/{class}/decks/1"),
            &[("assigned", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // An instructor cannot add cards to someone else's deck by importing under its name.
    let form = Form::new()
        .text(
            "csrf_token",
            csrf_in(&other.get_html("/admin/import").await),
        )
        .text("deck", "CS 7643 Quiz 3")
        .text("format", "tsv")
        .part("file", Part::text("a\tb\n").file_name("d.tsv"));
    let r = other
        .client
        .post(other.url("/admin/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("is not yours"));
}

#[tokio::test]
async fn a_students_report_reaches_the_class_instructor_who_resolves_it() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    let deck = import_private(&teacher, "Reported deck").await;
    let (class, code) = new_class(&teacher, "Section R").await;
    teacher
        .submit(
            &format!("/classes/{class}"),
            &format!("/classes/{class}/decks/{deck}"),
            &[("assigned", "1")],
        )
        .await;
    let student = admin.other_browser();
    student.register_ok("student").await;
    student
        .submit("/classes", "/classes/join", &[("code", &code)])
        .await;

    let review = format!("/review?deck={deck}");
    let card = card_id_in(&student.get_html(&review).await).unwrap();
    let long = "x".repeat(501);
    let r = student
        .submit(
            &review,
            &format!("/cards/{card}/report"),
            &[("message", &long), ("deck", &deck.to_string())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = student
        .submit(
            &review,
            &format!("/cards/{card}/report"),
            &[
                ("message", "The definition is <b>wrong</b>"),
                ("deck", &deck.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        student
            .get_html(&location(&r))
            .await
            .contains("your report was sent")
    );

    let triage = teacher.get_html(&format!("/classes/{class}/reports")).await;
    assert!(triage.contains("secret term") && triage.contains("student"));
    assert!(!triage.contains("<b>wrong</b>"), "the message is escaped");
    let report: i64 = sqlx::query_scalar("SELECT id FROM card_reports")
        .fetch_one(&admin.pool().await)
        .await
        .unwrap();

    // Only the class's instructor resolves; students do not see the list.
    assert_eq!(
        student
            .get(&format!("/classes/{class}/reports"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let other = make_instructor(&admin, "other").await;
    let r = other
        .submit(
            "/classes",
            &format!("/classes/{class}/reports/{report}/resolve"),
            &[],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = teacher
        .submit(
            &format!("/classes/{class}/reports"),
            &format!("/classes/{class}/reports/{report}/resolve"),
            &[],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        teacher
            .get_html(&format!("/classes/{class}/reports"))
            .await
            .contains("No open reports.")
    );
    let again = teacher
        .submit(
            &format!("/classes/{class}/reports"),
            &format!("/classes/{class}/reports/{report}/resolve"),
            &[],
        )
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "already resolved");

    // A card the student cannot see cannot be reported.
    let hidden = import_private(&other, "Other deck").await;
    let hidden_card: i64 = sqlx::query_scalar("SELECT id FROM cards WHERE deck_id = ?1")
        .bind(hidden)
        .fetch_one(&admin.pool().await)
        .await
        .unwrap();
    let r = student
        .submit(
            "/decks",
            &format!("/cards/{hidden_card}/report"),
            &[("message", "hi")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
