use crate::helpers::{csrf_in, spawn_app};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use studyhall::import::{Format, parse};

fn cards_of(format: Format, text: &str) -> Vec<(String, String)> {
    parse(format, text)
        .unwrap()
        .cards
        .into_iter()
        .map(|c| (c.front.into_inner(), c.back.into_inner()))
        .collect()
}

#[tokio::test]
async fn an_exported_deck_reimports_to_the_same_cards() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let csv = app.get("/decks/1/export.csv").await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("CS-7643-Quiz-3.csv")
    );
    let csv = csv.text().await.unwrap();
    let tsv = app.get("/decks/1/export.tsv").await.text().await.unwrap();
    let course = cards_of(Format::Quizwiz, studyhall::course::COURSE_DECK);
    assert_eq!(cards_of(Format::Csv, &csv), course);
    assert_eq!(cards_of(Format::Tsv, &tsv), course);

    // Re-importing the export into a new deck through the upload form gives the same cards.
    let form = Form::new()
        .text("csrf_token", csrf_in(&app.get_html("/admin/import").await))
        .text("deck", "Round trip")
        .text("format", "auto")
        .part("file", Part::text(csv.clone()).file_name("export.csv"));
    let response = app
        .client
        .post(app.url("/admin/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Imported 39 new cards")
    );
    let again = app.get("/decks/3/export.csv").await.text().await.unwrap();
    assert_eq!(again, csv);
}

#[tokio::test]
async fn tsv_export_refuses_cards_it_cannot_hold() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let form = Form::new()
        .text("csrf_token", csrf_in(&app.get_html("/admin/import").await))
        .text("deck", "Multi")
        .text("format", "csv")
        .part(
            "file",
            Part::text("front,back\n\"two\nlines\",x\n").file_name("m.csv"),
        );
    app.client
        .post(app.url("/admin/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let tsv = app.get("/decks/3/export.tsv").await;
    assert_eq!(tsv.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(tsv.text().await.unwrap().contains("export the deck as CSV"));
    assert_eq!(
        app.get("/decks/3/export.csv").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get("/decks/3/export.xlsx").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/decks/99/export.csv").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn students_download_only_their_own_review_history() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    app.grade_next(5, None).await;
    app.grade_next(2, None).await;
    let bob = app.other_browser();
    bob.register_ok("bob").await;
    bob.grade_next(4, None).await;

    let response = app.get("/stats/history.csv").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "card_id",
            "card",
            "time_utc",
            "event",
            "grade",
            "interval_days",
            "easiness",
            "due"
        ]
    );
    assert_eq!(rows.len(), 2, "only ada's grades");
    assert_eq!(&rows[0][1], "L1 Loss");
    assert_eq!(
        (&rows[0][3], &rows[0][4], &rows[0][5], &rows[0][6]),
        ("grade", "5", "1", "2.60")
    );
    assert_eq!((&rows[1][4], &rows[1][6]), ("2", "2.18"));
}

#[tokio::test]
async fn a_cards_page_shows_this_users_schedule_and_history_only() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let card = app.grade_next(5, None).await;
    let html = app.get_html(&format!("/cards/{card}")).await;
    assert!(html.contains("L1 Loss"));
    assert!(html.contains("interval 1 day, easiness 2.60"));
    assert!(html.contains(
        "<td data-label=\"Event\">grade</td><td class=\"num\" data-label=\"Grade\">Easy</td>"
    ));
    let bob = app.other_browser();
    bob.register_ok("bob").await;
    let theirs = bob.get_html(&format!("/cards/{card}")).await;
    assert!(theirs.contains("You have not studied this card yet."));
    assert!(!theirs.contains(">grade</td>"));
    assert_eq!(
        app.get("/cards/123456").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_cards_history_names_each_grade_as_the_button_that_was_pressed() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let card = app.grade_next(4, None).await;
    let html = app.get_html(&format!("/cards/{card}")).await;
    assert!(
        html.contains("data-label=\"Grade\">Good</td>"),
        "grade 4 is the button Good: {html}"
    );
    assert!(!html.contains("data-label=\"Grade\">4</td>"));

    // Someone on SM-2's six grades reads the grade as their buttons word it.
    let r = app
        .submit(
            "/account",
            "/account/preferences",
            &[
                ("time_zone", "UTC"),
                ("day_starts_hour", "4"),
                ("new_per_day", "20"),
                ("grade_buttons", "six"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = app.get_html(&format!("/cards/{card}")).await;
    assert!(
        html.contains("data-label=\"Grade\">4 · Right, after some hesitation</td>"),
        "{html}"
    );
}

#[tokio::test]
async fn progress_shows_each_decks_stages_and_the_streak() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let html = app.get_html("/stats").await;
    assert!(html.contains("id=\"streak\">0<"));
    let card = app.grade_next(5, Some(1)).await;
    sqlx::query("UPDATE review_states SET interval_days = 30 WHERE card_id = $1")
        .bind(card)
        .execute(&app.pool().await)
        .await
        .unwrap();
    app.grade_next(4, Some(1)).await;
    let html = app.get_html("/stats").await;
    assert!(html.contains("id=\"streak\">1<"));
    let row = html.split("id=\"deck-1\"").nth(1).unwrap();
    assert!(row.contains("<td class=\"num new\" data-label=\"New\">37</td>"));
    assert!(row.contains("<td class=\"num again\" data-label=\"Learning\">1</td>"));
    assert!(row.contains("<td class=\"num due\" data-label=\"Mature\">1</td>"));
    // Yesterday and today make two days; a gap before them does not count.
    app.clock().advance(86_400);
    app.grade_next(5, None).await;
    assert!(app.get_html("/stats").await.contains("id=\"streak\">2<"));
    app.clock().advance(3 * 86_400);
    assert!(app.get_html("/stats").await.contains("id=\"streak\">0<"));
}

#[tokio::test]
async fn an_anki_export_reimports_to_the_same_cards_and_a_broken_package_is_refused() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let apkg = app.get("/decks/1/export.apkg").await;
    assert_eq!(apkg.status(), StatusCode::OK);
    assert!(
        apkg.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("CS-7643-Quiz-3.apkg")
    );
    let bytes = apkg.bytes().await.unwrap().to_vec();
    assert!(bytes.starts_with(b"PK"));
    let upload = |name: &'static str, data: Vec<u8>| {
        let app = app.clone_browser();
        async move { crate::helpers::upload(&app, &format!("{name}.apkg"), data, name, "auto").await }
    };
    let response = upload("From Anki", bytes.clone()).await;
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Imported 39 new cards")
    );
    let course = cards_of(Format::Quizwiz, studyhall::course::COURSE_DECK);
    let again = app.get("/decks/3/export.csv").await.text().await.unwrap();
    assert_eq!(cards_of(Format::Csv, &again), course);

    let mut broken = bytes;
    broken.truncate(broken.len() / 2);
    let response = upload("Broken", broken).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("not a readable Anki package")
    );
}

#[tokio::test]
async fn formulas_in_cards_are_inert_in_every_csv_and_come_back_on_reimport() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let hostile = [
        (
            "=HYPERLINK(\"http://evil.example\",\"click\")",
            "+cmd|' /C calc'!A0",
        ),
        ("@SUM(1+1)*cmd|' /C calc'!A0", "-2+3"),
        ("'=already quoted", "''two apostrophes"),
    ];
    let mut file = String::from("front,back\n");
    for (f, b) in hostile {
        file.push_str(&format!(
            "\"{}\",\"{}\"\n",
            f.replace('"', "\"\""),
            b.replace('"', "\"\"")
        ));
    }
    let r = crate::helpers::upload(&app, "f.csv", file.into_bytes(), "Formulas", "csv").await;
    assert_eq!(r.status(), StatusCode::OK);
    let deck: i64 = sqlx::query_scalar("SELECT id FROM decks WHERE name = 'Formulas'")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    // A student grades a formula card, so it appears in their history.
    app.grade_next(4, Some(deck)).await;

    let starts_a_formula = |text: &str| {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        reader.records().any(|r| {
            r.unwrap()
                .iter()
                .any(|cell| cell.starts_with(['=', '+', '-', '@', '\t', '\r']))
        })
    };
    let csv = app
        .get(&format!("/decks/{deck}/export.csv"))
        .await
        .text()
        .await
        .unwrap();
    let tsv = app
        .get(&format!("/decks/{deck}/export.tsv"))
        .await
        .text()
        .await
        .unwrap();
    let history = app.get("/stats/history.csv").await.text().await.unwrap();
    assert!(history.contains("'=HYPERLINK"), "{history}");
    for text in [&csv, &history] {
        assert!(!starts_a_formula(text), "{text}");
    }
    assert!(tsv.lines().all(|l| !l.starts_with(['=', '+', '-', '@'])));
    // The exports read back as the cards' text. (The hand-made file's own leading
    // apostrophes were read as spreadsheet quotes, as a spreadsheet would.)
    let expected: Vec<(String, String)> =
        sqlx::query_as("SELECT front, back FROM cards WHERE deck_id = $1 ORDER BY position")
            .bind(deck)
            .fetch_all(&app.pool().await)
            .await
            .unwrap();
    assert_eq!(
        expected[2],
        ("=already quoted".to_owned(), "'two apostrophes".to_owned())
    );
    assert_eq!(cards_of(Format::Csv, &csv), expected);
    assert_eq!(cards_of(Format::Tsv, &tsv), expected);
}
