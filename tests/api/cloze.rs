//! Cloze notes as a card type of their own (issue 24): made in the deck editor, one card per
//! deletion number; editing the note adds and removes cards and keeps the progress of the
//! numbers that remain; imported from a CSV file's cloze column; exported to Anki as Cloze
//! notes.
use crate::helpers::{TestApp, spawn_app, upload};
use reqwest::StatusCode;

/// A new deck of the admin's; returns its id.
async fn new_deck(app: &TestApp, name: &str) -> i64 {
    let r = app.submit("/decks", "/decks", &[("name", name)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    r.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/decks/")
        .trim_end_matches("/edit")
        .parse()
        .unwrap()
}

/// The deck's cloze cards: (card id, number, front), by number.
async fn cloze_cards(app: &TestApp, deck: i64) -> Vec<(i64, i64, String)> {
    sqlx::query_as(
        "SELECT id, cloze, front FROM cards WHERE deck_id = $1 AND note_id IS NOT NULL
         ORDER BY cloze",
    )
    .bind(deck)
    .fetch_all(&app.pool().await)
    .await
    .unwrap()
}

/// A student's schedule of a card: (repetitions, interval, due day, last reviewed).
async fn schedule(app: &TestApp, card: i64) -> Option<(i64, i64, i64, i64)> {
    sqlx::query_as(
        "SELECT repetitions, interval_days, due_day, last_reviewed_at FROM review_states
         WHERE card_id = $1",
    )
    .bind(card)
    .fetch_optional(&app.pool().await)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_cloze_note_edited_from_three_deletions_to_two_keeps_the_progress_of_the_two() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let deck = new_deck(&app, "Activations").await;
    let editor = format!("/decks/{deck}/edit");
    let text = "{{c1::ReLU}} keeps {{c2::positive::sign}} inputs and {{c3::zeroes}} the rest";

    // The editor offers the form; a preview shows the three cards and saves nothing.
    let page = app.get_html(&editor).await;
    assert!(page.contains("Add a cloze note") && page.contains("{{c1::answer}}"));
    let r = app
        .submit(
            &editor,
            &format!("/decks/{deck}/cloze"),
            &[("text", text), ("extra", "Chapter 6"), ("preview", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("3 cards"), "{html}");
    assert!(html.contains("ReLU keeps <b>[sign]</b> inputs"), "{html}");
    assert!(cloze_cards(&app, deck).await.is_empty());

    // A note without a deletion is refused with a sentence.
    let r = app
        .submit(
            &editor,
            &format!("/decks/{deck}/cloze"),
            &[("text", "no gap")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("at least one deletion"));

    let r = app
        .submit(
            &editor,
            &format!("/decks/{deck}/cloze"),
            &[("text", text), ("extra", "Chapter 6"), ("tags", "act")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cards = cloze_cards(&app, deck).await;
    assert_eq!(
        cards.iter().map(|c| c.1).collect::<Vec<_>>(),
        [1, 2, 3],
        "{cards:?}"
    );
    assert_eq!(
        cards[0].2,
        "<b>[...]</b> keeps positive inputs and zeroes the rest"
    );
    assert_eq!(
        cards[1].2,
        "ReLU keeps <b>[sign]</b> inputs and zeroes the rest"
    );

    // A student studies all three: each has a schedule of its own.
    let student = app.other_browser();
    student.register_ok("student").await;
    for _ in 0..3 {
        student.grade_next(5, Some(deck)).await;
    }
    let before: Vec<_> = {
        let mut v = Vec::new();
        for (id, _, _) in &cards {
            v.push(schedule(&app, *id).await.expect("graded"));
        }
        v
    };

    // The editor shows the note on each of its cards.
    let page = app.get_html(&editor).await;
    assert!(page.contains("Deletion 2 of a cloze note"), "{page}");
    assert!(page.contains(&format!("action=\"/cards/{}/cloze\"", cards[0].0)));
    // Its cards are not edited one by one.
    let r = app
        .submit(
            &editor,
            &format!("/cards/{}/edit", cards[0].0),
            &[("front", "x"), ("back", "y")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Edited down to two deletions (c2 goes), with new words around them.
    let r = app
        .submit(
            &editor,
            &format!("/cards/{}/cloze", cards[1].0),
            &[
                (
                    "text",
                    "{{c1::ReLU}} passes positive inputs and {{c3::zeroes}} negative ones",
                ),
                ("extra", ""),
                ("tags", "act"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let after = cloze_cards(&app, deck).await;
    assert_eq!(
        after.iter().map(|c| (c.0, c.1)).collect::<Vec<_>>(),
        [(cards[0].0, 1), (cards[2].0, 3)],
        "the cards of the numbers that remain keep their ids"
    );
    assert_eq!(
        after[0].2,
        "<b>[...]</b> passes positive inputs and zeroes negative ones"
    );
    assert_eq!(schedule(&app, cards[0].0).await, Some(before[0]));
    assert_eq!(schedule(&app, cards[2].0).await, Some(before[2]));
    assert_eq!(
        schedule(&app, cards[1].0).await,
        None,
        "c2 went with its card"
    );
    let reviews: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reviews WHERE card_id = $1")
        .bind(cards[0].0)
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    assert_eq!(reviews, 1, "the review history of c1 stays");
    let page = student.get_html(&format!("/cards/{}", cards[0].0)).await;
    assert!(page.contains("passes positive inputs"), "{page}");

    // A new number gets a new card; the others stay as they were.
    let r = app
        .submit(
            &editor,
            &format!("/cards/{}/cloze", cards[0].0),
            &[(
                "text",
                "{{c1::ReLU}} passes {{c2::positive}} inputs and {{c3::zeroes}} negative ones",
            )],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let grown = cloze_cards(&app, deck).await;
    assert_eq!(grown.len(), 3);
    assert_eq!((grown[0].0, grown[2].0), (cards[0].0, cards[2].0));
    assert!(grown[1].0 > cards[2].0, "a new card for the new number");
    assert_eq!(schedule(&app, grown[1].0).await, None);
    assert_eq!(schedule(&app, cards[0].0).await, Some(before[0]));

    // Deleting the note's last card takes the note with it.
    for (id, _, _) in &grown {
        let r = app
            .submit(
                &format!("/cards/{id}/delete"),
                &format!("/cards/{id}/delete"),
                &[("confirm", "yes")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let notes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cloze_notes WHERE deck_id = $1")
        .bind(deck)
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    assert_eq!(notes, 0);
}

#[tokio::test]
async fn a_csv_cloze_column_imports_notes_that_export_to_anki_as_cloze_notes() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let csv = "front,back,cloze,extra\n\
               ,,\"{{c1::Adam}} keeps {{c2::two}} moving averages\",per weight\n\
               What is a tensor?,A multi-dimensional array,,\n";
    let r = upload(
        &app,
        "notes.csv",
        csv.as_bytes().to_vec(),
        "Optimisers",
        "auto",
    )
    .await;
    let html = r.text().await.unwrap();
    assert!(html.contains("Imported 3 new cards"), "{html}");
    let deck: i64 = sqlx::query_scalar("SELECT id FROM decks WHERE name = 'Optimisers'")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    let cards = cloze_cards(&app, deck).await;
    assert_eq!(cards.len(), 2);
    assert_eq!(cards[1].2, "Adam keeps <b>[...]</b> moving averages");
    let note: (String, String, String) =
        sqlx::query_as("SELECT text, extra, format FROM cloze_notes WHERE deck_id = $1")
            .bind(deck)
            .fetch_one(&app.pool().await)
            .await
            .unwrap();
    assert_eq!(
        note,
        (
            "{{c1::Adam}} keeps {{c2::two}} moving averages".to_owned(),
            "per weight".to_owned(),
            "text".to_owned()
        )
    );
    // Importing the file again adds nothing, and makes no second note.
    let r = upload(
        &app,
        "notes.csv",
        csv.as_bytes().to_vec(),
        "Optimisers",
        "auto",
    )
    .await;
    assert!(r.text().await.unwrap().contains("Imported 0 new cards"));
    let notes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cloze_notes")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    assert_eq!(notes, 1);

    // The Anki export holds one Cloze note (with its two numbers as cards) and one Basic.
    let r = app.get(&format!("/decks/{deck}/export.apkg")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap();
    let collection = studyhall::import::apkg::collection(&bytes).unwrap();
    let notes = studyhall::db::anki::read_notes(&collection).await.unwrap();
    assert_eq!(
        notes,
        vec![
            vec![
                "{{c1::Adam}} keeps {{c2::two}} moving averages".to_owned(),
                "per weight".to_owned()
            ],
            vec![
                "What is a tensor?".to_owned(),
                "A multi-dimensional array".to_owned()
            ],
        ]
    );
    // Read back, the package gives the same cards again.
    let r = upload(&app, "back.apkg", bytes.to_vec(), "Round trip", "auto").await;
    assert!(r.text().await.unwrap().contains("Imported 3 new cards"));
}
