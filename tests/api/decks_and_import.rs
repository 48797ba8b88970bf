use crate::helpers::{TestApp, csrf_in, spawn_app, upload};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.pool().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_deck_list_shows_the_course_deck_with_this_users_counts() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let html = app.get_html("/decks").await;
    assert!(html.contains("CS 7643 Quiz 3"));
    assert!(html.contains("<td class=\"num new\" data-label=\"New\">39</td>"));
    app.grade_next(5, None).await;
    let html = app.get_html("/decks").await;
    assert!(html.contains("<td class=\"num new\" data-label=\"New\">38</td>"));
    assert!(html.contains("<td class=\"num due\" data-label=\"Due\">0</td>"));

    let deck = app.get_html("/decks/1").await;
    assert!(deck.contains("39 cards"));
    let first = deck.find("L1 Loss").unwrap();
    let last = deck.find("CAM = Class Activation Mapping").unwrap();
    assert!(first < last);
    assert!(
        !deck.contains("View Set"),
        "the related-sets footer is not cards"
    );
    assert_eq!(app.get("/decks/999").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get("/decks/abc").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_decks_main_button_offers_only_what_the_review_page_will_show() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    // A new account: nothing is due, but new cards wait.
    let html = app.get_html("/decks").await;
    assert!(
        html.contains("id=\"study-main\">Study new cards</a>"),
        "{html}"
    );
    assert!(!html.contains("Review all due cards"));

    // Today's new cards studied: nothing until tomorrow, unless the student asks for more.
    crate::helpers::set_new_per_day(&app, "1").await;
    app.grade_next(5, None).await;
    let html = app.get_html("/decks").await;
    assert!(html.contains("Nothing due — come back tomorrow."), "{html}");
    assert!(html.contains("Study more new cards today"));
    assert!(!html.contains("Review all due cards") && !html.contains("Study new cards</a>"));

    // A card graded Again comes back today: that is a due card.
    crate::helpers::set_new_per_day(&app, "2").await;
    app.grade_next(1, None).await;
    let html = app.get_html("/decks").await;
    assert!(
        html.contains("id=\"study-main\">Review all due cards</a>"),
        "{html}"
    );
}

#[tokio::test]
/// Decks 1 and 2 are the shipped course and practice decks; imports start at 3.
async fn an_admin_imports_tsv_csv_and_quizwiz_files_without_duplicates() {
    let app = spawn_app().await;
    app.register_ok("admin").await;

    let tsv = upload(
        &app,
        "set.tsv",
        b"stride\tstep of the kernel\npadding\tzeros around the input\n".to_vec(),
        "Basics",
        "auto",
    )
    .await;
    assert_eq!(tsv.status(), StatusCode::OK);
    assert!(
        tsv.text()
            .await
            .unwrap()
            .contains("Imported 2 new cards into")
    );

    let csv = "front,back\n\"Conv params, with bias\",\"(K*K*C_in + 1) * C_out\"\n\"multi\nline\",\"say \"\"hi\"\"\"\n";
    let response = upload(&app, "set.csv", csv.as_bytes().to_vec(), "Basics", "auto").await;
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Imported 2 new cards")
    );
    let again = upload(&app, "set.csv", csv.as_bytes().to_vec(), "basics", "csv").await;
    let html = again.text().await.unwrap();
    assert!(
        html.contains("Imported 0 new cards") && html.contains("2 were already there"),
        "{html}"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM cards WHERE deck_id = 3").await,
        4
    );
    let back: String = sqlx::query_scalar("SELECT back FROM cards WHERE front = 'multi\nline'")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    assert_eq!(back, "say \"hi\"");

    // The course export re-imported into its own deck adds nothing.
    let course = studyhall::course::COURSE_DECK.as_bytes().to_vec();
    let response = upload(&app, "cs7643-quiz3.txt", course, "", "auto").await;
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("39 were already there")
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM cards").await,
        39 + studyhall::practice::FAMILIES.len() as i64 + 4
    );
}

#[tokio::test]
async fn a_malformed_file_is_refused_naming_the_line_and_nothing_is_imported() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let cases: &[(&str, &[u8], &str, &str)] = &[
        (
            "bad.csv",
            b"front,back\na,b\nc,d,e\n",
            "line 3",
            "expected 2 fields",
        ),
        (
            "bad.csv",
            b"term,definition\nlonely\n",
            "line 2",
            "at least 2 fields",
        ),
        ("bad.tsv", b"a\tb\nno tab\n", "line 2", "one tab"),
        (
            "bad.txt",
            b"Title\n\nT1\n\nD1\n\nT2\n",
            "line 7",
            "no definition",
        ),
        ("empty.csv", b"front,back\n", "no cards", ""),
        ("latin1.txt", b"caf\xe9\tcoffee\n", "not UTF-8", ""),
    ];
    for (name, content, expect_a, expect_b) in cases {
        let response = upload(&app, name, content.to_vec(), "Broken", "auto").await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}"
        );
        let html = response.text().await.unwrap();
        assert!(
            html.contains(expect_a) && html.contains(expect_b),
            "{name}: {html}"
        );
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM decks").await, 2);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM cards").await,
        39 + studyhall::practice::FAMILIES.len() as i64
    );
}

#[tokio::test]
async fn an_oversized_upload_is_refused_and_students_cannot_import() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    // A text file over 2 MiB is refused (Anki packages may be larger)...
    let big = "a\tb\n".repeat(700_000).into_bytes();
    let response = upload(&app, "big.tsv", big, "Big", "auto").await;
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.contains("Text deck files are limited to 2 MiB"),
        "{body}"
    );
    // ...and any upload over 200 MiB, while it arrives.
    let huge = vec![b'a'; 201 * 1024 * 1024];
    let response = upload(&app, "huge.apkg", huge, "Huge", "auto").await;
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body.contains("limited to 200 MiB"), "{body}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM decks").await, 2);

    let student = app.other_browser();
    student.register_ok("student").await;
    assert_eq!(
        student.get("/admin/import").await.status(),
        StatusCode::FORBIDDEN
    );
    let token = csrf_in(&student.get_html("/decks").await);
    let form = Form::new()
        .text("csrf_token", token)
        .part("file", Part::bytes(b"a\tb\n".to_vec()).file_name("x.tsv"));
    let response = student
        .client
        .post(student.url("/admin/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

async fn greek_cards(app: &TestApp) -> i64 {
    count(
        app,
        "SELECT COUNT(*) FROM cards JOIN decks ON decks.id = cards.deck_id WHERE decks.name = 'Greek'",
    )
    .await
}

/// The token the preview's confirm form carries.
pub(crate) fn preview_token(html: &str) -> String {
    let start = html.find("name=\"token\" value=\"").unwrap() + "name=\"token\" value=\"".len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn a_csv_without_a_front_back_header_is_previewed_from_its_first_two_columns_and_says_so() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let file = b"term,definition,tags\nalpha,a,greek\n".to_vec();
    let r = crate::helpers::upload_to(
        &app,
        "/admin/import/preview",
        "terms.csv",
        file,
        "Terms",
        "auto",
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("No front,back header: the first two columns are used"),
        "{html}"
    );
    assert!(
        html.contains("<strong>2</strong> cards will be added to"),
        "{html}"
    );
    assert!(html.contains(">term</td>") && html.contains(">definition</td>"));
    assert!(html.contains(">alpha</td>") && html.contains(">a</td>"));
    assert!(
        !html.contains(">greek</td>"),
        "the third column is left out"
    );

    // A file with its header carries no such note.
    let file = b"front,back\nalpha,a\n".to_vec();
    let html = crate::helpers::upload_to(
        &app,
        "/admin/import/preview",
        "cards.csv",
        file,
        "Terms",
        "auto",
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(html.contains("cards-to-add"), "{html}");
    assert!(!html.contains("No front,back header"));
}

#[tokio::test]
async fn an_import_is_previewed_with_its_duplicates_and_commits_only_when_confirmed() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let first = b"front,back\nalpha,a\nbeta,b\n".to_vec();
    let r = crate::helpers::upload(&app, "greek.csv", first, "Greek", "auto").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(greek_cards(&app).await, 2);

    // Line 3 is in the deck, line 5 repeats line 4: two to add, two to skip.
    let file = b"front,back\ngamma,c\nalpha,a\ndelta,d\ndelta,d\nepsilon,e\n".to_vec();
    let r = crate::helpers::upload_to(
        &app,
        "/admin/import/preview",
        "more.csv",
        file,
        "Greek",
        "auto",
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("<strong>3</strong> cards will be added to"),
        "{html}"
    );
    assert!(html.contains("the existing deck"));
    assert!(html.contains("<strong>2</strong> will be skipped as duplicates"));
    assert!(html.contains("already in the deck"));
    assert!(html.contains("the same as line 4"));
    assert!(html.contains("Nothing has been imported yet"));
    assert_eq!(greek_cards(&app).await, 2, "a preview writes no card");
    let token = preview_token(&html);

    // A forged or stale token imports nothing.
    let forged = app
        .submit(
            "/admin/import",
            "/admin/import/confirm",
            &[("token", "0123")],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        forged
            .text()
            .await
            .unwrap()
            .contains("choose the file again")
    );
    assert_eq!(greek_cards(&app).await, 2);

    let done = app
        .submit(
            "/admin/import",
            "/admin/import/confirm",
            &[("token", &token)],
        )
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("Imported 3 new cards"));
    assert_eq!(greek_cards(&app).await, 5);
    // Confirming twice imports once.
    let again = app
        .submit(
            "/admin/import",
            "/admin/import/confirm",
            &[("token", &token)],
        )
        .await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(greek_cards(&app).await, 5);

    // A file with an error shows the line and keeps nothing for confirmation.
    let bad = b"front,back\nzeta,z\n,missing front\n".to_vec();
    let r = crate::helpers::upload_to(
        &app,
        "/admin/import/preview",
        "bad.csv",
        bad,
        "Greek",
        "csv",
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("line 3"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM pending_imports").await, 0);

    // Another instructor cannot confirm this admin's preview.
    let file = b"front,back\neta,h\n".to_vec();
    let html = crate::helpers::upload_to(
        &app,
        "/admin/import/preview",
        "eta.csv",
        file,
        "Greek",
        "auto",
    )
    .await
    .text()
    .await
    .unwrap();
    let token = preview_token(&html);
    let other = app.other_browser();
    other.register_ok("teacher").await;
    sqlx::query("UPDATE users SET role = 'instructor' WHERE username = 'teacher'")
        .execute(&app.pool().await)
        .await
        .unwrap();
    let teacher = app.other_browser();
    teacher.login("teacher", crate::helpers::PASSWORD).await;
    assert_eq!(teacher.get("/admin/import").await.status(), StatusCode::OK);
    let stolen = teacher
        .submit(
            "/admin/import",
            "/admin/import/confirm",
            &[("token", &token)],
        )
        .await;
    assert_eq!(stolen.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(greek_cards(&app).await, 5);
}
