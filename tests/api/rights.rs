//! Who may do what with decks and classes, probed the way a hostile colleague or a demoted
//! instructor would.

use crate::classes::{assign, import_private, join, make_instructor, new_class};
use crate::helpers::{TestApp, spawn_app};
use reqwest::StatusCode;

#[tokio::test]
async fn an_instructor_cannot_hand_out_another_instructors_private_deck() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let inst1 = make_instructor(&admin, "inst1").await;
    let inst2 = make_instructor(&admin, "inst2").await;
    let deck = import_private(&inst1, "Exam answers").await;
    let (class1, code1) = new_class(&inst1, "Section 1").await;
    assert_eq!(
        assign(&inst1, class1, deck).await.status(),
        StatusCode::SEE_OTHER
    );
    // inst2 joins inst1's class, and so sees the deck...
    join(&inst2, &code1).await;
    assert_eq!(
        inst2.get(&format!("/decks/{deck}")).await.status(),
        StatusCode::OK
    );
    // ...but cannot assign it to a class of their own.
    let (class2, code2) = new_class(&inst2, "Section 2").await;
    assert!(
        !inst2
            .get_html(&format!("/classes/{class2}"))
            .await
            .contains("Exam answers"),
        "not offered"
    );
    assert_eq!(
        assign(&inst2, class2, deck).await.status(),
        StatusCode::FORBIDDEN
    );
    let student = admin.other_browser();
    student.register_ok("student2").await;
    join(&student, &code2).await;
    assert_eq!(
        student.get(&format!("/decks/{deck}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        student
            .get(&format!("/decks/{deck}/export.csv"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // A public deck is anyone's to assign (it gives nothing away).
    assert_eq!(
        assign(&inst2, class2, 1).await.status(),
        StatusCode::SEE_OTHER
    );

    // The owner sees every class the deck is in and can take it back from any of them.
    let page = inst1.get_html(&format!("/decks/{deck}")).await;
    assert!(page.contains("Section 1") && !page.contains("Section 2"));
    let r = inst1
        .submit(
            &format!("/decks/{deck}"),
            &format!("/decks/{deck}/classes/{class1}/remove"),
            &[],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        inst1
            .get_html(&format!("/decks/{deck}"))
            .await
            .contains("No class has this deck")
    );
    // Nobody else may take it back.
    assert_eq!(
        assign(&inst1, class1, deck).await.status(),
        StatusCode::SEE_OTHER
    );
    let r = inst2
        .submit(
            "/decks",
            &format!("/decks/{deck}/classes/{class1}/remove"),
            &[],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_class_dashboard_counts_only_its_own_decks() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let inst1 = make_instructor(&admin, "inst1").await;
    let inst2 = make_instructor(&admin, "inst2").await;
    let deck1 = import_private(&inst1, "Deck one").await;
    let deck2 = import_private(&inst2, "Deck two").await;
    let (class1, code1) = new_class(&inst1, "One").await;
    let (class2, code2) = new_class(&inst2, "Two").await;
    assign(&inst1, class1, deck1).await;
    assign(&inst2, class2, deck2).await;
    let student = admin.other_browser();
    student.register_ok("both").await;
    join(&student, &code1).await;
    join(&student, &code2).await;
    // A review of class one's private deck, and one of the public course deck.
    student.grade_next(4, Some(deck1)).await;
    student.grade_next(2, Some(1)).await;

    let csv = |teacher: &TestApp, class: i64| {
        let teacher = teacher.clone_browser();
        async move {
            teacher
                .get(&format!("/classes/{class}/students.csv"))
                .await
                .text()
                .await
                .unwrap()
        }
    };
    // Class one counts its private deck and the public course deck; class two only the
    // public deck, which every class studies.
    let one = csv(&inst1, class1).await;
    let two = csv(&inst2, class2).await;
    assert!(one.lines().nth(1).unwrap().starts_with("both,2,"), "{one}");
    assert!(two.lines().nth(1).unwrap().starts_with("both,1,"), "{two}");
    let dashboard = inst2
        .get_html(&format!("/classes/{class2}/dashboard"))
        .await;
    assert!(!dashboard.contains("Deck one") && !dashboard.contains("secret term"));
}

#[tokio::test]
async fn a_demoted_instructor_keeps_their_deck_but_not_the_right_to_edit_it() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    let deck = import_private(&teacher, "Mine").await;
    assert_eq!(
        teacher.get(&format!("/decks/{deck}/edit")).await.status(),
        StatusCode::OK
    );
    let r = admin.set_role("teacher", "student").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        teacher.get(&format!("/decks/{deck}/edit")).await.status(),
        StatusCode::FORBIDDEN
    );
    let r = teacher
        .submit(
            &format!("/decks/{deck}"),
            &format!("/decks/{deck}/cards"),
            &[("front", "new"), ("back", "card")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let page = teacher.get_html(&format!("/decks/{deck}")).await;
    assert!(!page.contains("Edit deck"));
    let cards: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cards WHERE deck_id = $1")
        .bind(deck)
        .fetch_one(&admin.pool().await)
        .await
        .unwrap();
    assert_eq!(cards, 1);
}

#[tokio::test]
async fn the_api_honours_a_forced_password_change() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let student = app.other_browser();
    student.register_ok("student1").await;
    assert_eq!(
        student.get("/api/v1/practice").await.status(),
        StatusCode::OK
    );
    let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = 'student1'")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    let temporary = crate::helpers::reset_password(&app, id).await;
    assert_eq!(
        student.login("student1", &temporary).await.status(),
        StatusCode::SEE_OTHER
    );
    for path in [
        "/api/v1/practice",
        "/api/v1/practice/conv-params",
        "/api/v1/practice/conv-params?seed=3",
    ] {
        let r = student.get(path).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .contains("json")
        );
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("new password"),
            "{body}"
        );
    }
    let r = student
        .client
        .post(student.url("/api/v1/practice/conv-params/3/answer"))
        .json(&serde_json::json!({"answer": "1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn deck_names_are_per_owner_so_private_names_cannot_be_probed() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let inst1 = make_instructor(&admin, "inst1").await;
    let inst2 = make_instructor(&admin, "inst2").await;
    import_private(&inst1, "Final exam answers").await;
    let create = |teacher: &TestApp| {
        let teacher = teacher.clone_browser();
        async move {
            teacher
                .submit(
                    "/decks",
                    "/decks",
                    &[("name", "final EXAM answers"), ("description", "")],
                )
                .await
        }
    };
    let r = create(&inst2).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "no 'already exists'");
    // The same owner twice is still refused.
    let r = create(&inst1).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("You already have a deck"));
}

#[tokio::test]
async fn a_member_promoted_to_instructor_no_longer_counts_as_a_student() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    let (class, code) = new_class(&teacher, "Section").await;
    for name in ["stu", "assistant"] {
        let s = admin.other_browser();
        s.register_ok(name).await;
        join(&s, &code).await;
        s.grade_next(4, Some(1)).await;
    }
    let csv = teacher
        .get(&format!("/classes/{class}/students.csv"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    make_instructor_by_name(&admin, "assistant").await;
    let csv = teacher
        .get(&format!("/classes/{class}/students.csv"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains("stu,1,") && !csv.contains("assistant,"));
    let dashboard = teacher
        .get_html(&format!("/classes/{class}/dashboard"))
        .await;
    assert!(dashboard.contains("id=\"active-7\">1<"));
    assert!(
        dashboard.contains("no mature cards yet"),
        "retention says why it is empty"
    );
}

async fn make_instructor_by_name(admin: &TestApp, name: &str) {
    let r = admin.set_role(name, "instructor").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

async fn report(student: &TestApp, card: i64, deck: i64, text: &str) -> String {
    let page = format!("/review?deck={deck}");
    let r = student
        .submit(
            &page,
            &format!("/cards/{card}/report"),
            &[("message", text), ("deck", &deck.to_string())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let next = r.headers()["location"].to_str().unwrap().to_owned();
    let html = student.get_html(&next).await;
    let marker = "id=\"reported\">";
    let start = html.find(marker).expect("the confirmation") + marker.len();
    html[start..start + html[start..].find('<').unwrap()].to_owned()
}

#[tokio::test]
async fn reports_on_the_course_deck_reach_the_class_instructor_or_the_admins() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    let bystander = make_instructor(&admin, "bystander").await;
    let (class, code) = new_class(&teacher, "Section").await;
    let student = admin.other_browser();
    student.register_ok("student").await;
    join(&student, &code).await;
    let card: i64 = sqlx::query_scalar("SELECT id FROM cards WHERE deck_id = 1 ORDER BY position")
        .fetch_one(&admin.pool().await)
        .await
        .unwrap();
    // In a class: the class's instructor hears of it, though the course deck is public and
    // was never assigned.
    let said = report(&student, card, 1, "The back has a typo").await;
    assert!(said.contains("sent to teacher"), "{said}");
    let triage = teacher.get_html(&format!("/classes/{class}/reports")).await;
    assert!(triage.contains("The back has a typo"));
    assert!(
        teacher
            .get_html("/reports")
            .await
            .contains("The back has a typo")
    );
    assert!(
        !bystander
            .get_html("/reports")
            .await
            .contains("The back has a typo")
    );
    assert!(
        !admin
            .get_html("/reports")
            .await
            .contains("The back has a typo")
    );

    // In no class: the admins hear of it.
    let loner = admin.other_browser();
    loner.register_ok("loner").await;
    let said = report(&loner, card, 1, "Unclear wording").await;
    assert!(said.contains("administrators"), "{said}");
    assert!(admin.get_html("/reports").await.contains("Unclear wording"));
    assert!(
        !teacher
            .get_html("/reports")
            .await
            .contains("Unclear wording")
    );

    // The instructor replies; the student reads it on the card's page, and it is resolved.
    let id: i64 =
        sqlx::query_scalar("SELECT id FROM card_reports WHERE message = 'The back has a typo'")
            .fetch_one(&admin.pool().await)
            .await
            .unwrap();
    // Someone who does not hear of it cannot answer it.
    let r = bystander
        .submit(
            "/reports",
            &format!("/reports/{id}/reply"),
            &[("reply", "no")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let back = format!("/classes/{class}/reports");
    let r = teacher
        .submit(
            &back,
            &format!("/reports/{id}/reply"),
            &[("reply", "Fixed, thanks!"), ("back", &back)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], back.as_str());
    assert!(
        !teacher
            .get_html(&back)
            .await
            .contains("The back has a typo")
    );
    let card_page = student.get_html(&format!("/cards/{card}")).await;
    assert!(card_page.contains("Fixed, thanks!") && card_page.contains("The back has a typo"));
    // Another student's report and its reply are not on this student's page.
    assert!(!card_page.contains("Unclear wording"));
}

#[tokio::test]
async fn another_instructors_private_deck_and_its_cards_are_none_from_the_scoped_read_itself() {
    use studyhall::study::{StudyError, decks};
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let owner = make_instructor(&admin, "owner").await;
    make_instructor(&admin, "colleague").await;
    let deck = import_private(&owner, "Exam answers").await;
    let card: i64 = sqlx::query_scalar("SELECT id FROM cards WHERE deck_id = $1")
        .bind(deck)
        .fetch_one(&admin.pool().await)
        .await
        .unwrap();
    let pool = admin.db().await.reader();
    let mine = admin.learner("owner").await;
    let theirs = admin.learner("colleague").await;

    assert!(
        decks::visible_deck(pool, &mine, deck)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        decks::visible_card(pool, &mine, card)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        decks::visible_deck(pool, &theirs, deck)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        decks::visible_card(pool, &theirs, card)
            .await
            .unwrap()
            .is_none()
    );
    /// Nothing cached here to forget.
    #[derive(Debug)]
    struct NoCache;
    impl studyhall::study::Forget for NoCache {
        fn forget(&self, _: studyhall::study::Stale) {}
    }
    let now = admin.clock().now();
    assert!(matches!(
        decks::card_page(admin.db().await, &NoCache, &theirs, card, now).await,
        Err(StudyError::NotFound)
    ));
    let slots = decks::export_slots();
    let as_instructor = |learner| studyhall::study::actor::Actor {
        learner,
        role: studyhall::domain::Role::Instructor,
    };
    assert!(matches!(
        decks::export(pool, &slots, as_instructor(&theirs), deck, "csv", now).await,
        Err(StudyError::NotFound)
    ));
    assert!(
        decks::export(pool, &slots, as_instructor(&mine), deck, "csv", now)
            .await
            .is_ok()
    );
    // The public course deck is everyone's.
    assert!(
        decks::visible_deck(pool, &theirs, 1)
            .await
            .unwrap()
            .is_some()
    );
}
