use crate::helpers::{TestApp, card_id_in, spawn_app};
use reqwest::StatusCode;

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

async fn fronts(app: &TestApp, deck: i64) -> Vec<String> {
    sqlx::query_scalar("SELECT front FROM cards WHERE deck_id = $1 ORDER BY position")
        .bind(deck)
        .fetch_all(&app.pool().await)
        .await
        .unwrap()
}

async fn add(app: &TestApp, deck: i64, front: &str, back: &str, tags: &str) -> reqwest::Response {
    let editor = format!("/decks/{deck}/edit");
    app.submit(
        &editor,
        &format!("/decks/{deck}/cards"),
        &[("front", front), ("back", back), ("tags", tags)],
    )
    .await
}

async fn card(app: &TestApp, deck: i64, front: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM cards WHERE deck_id = $1 AND front = $2")
        .bind(deck)
        .bind(front)
        .fetch_one(&app.pool().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_admin_builds_a_deck_in_the_browser_and_edits_keep_progress() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let r = app
        .submit(
            "/decks",
            "/decks",
            &[("name", "Hand made"), ("description", "by hand")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let deck: i64 = location(&r)
        .trim_start_matches("/decks/")
        .trim_end_matches("/edit")
        .parse()
        .unwrap();
    for (f, b) in [("one", "1"), ("two", "2"), ("three", "3")] {
        assert_eq!(
            add(&app, deck, f, b, "Numbers, small").await.status(),
            StatusCode::SEE_OTHER
        );
    }
    assert_eq!(fronts(&app, deck).await, ["one", "two", "three"]);
    let dup = add(&app, deck, "one", "1", "").await;
    assert_eq!(dup.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(dup.text().await.unwrap().contains("already has a card"));
    let empty = add(&app, deck, " ", "x", "").await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A student's progress survives an edit of the card's text.
    let student = app.other_browser();
    student.register_ok("student").await;
    let html = student.get_html(&format!("/review?deck={deck}")).await;
    let first = card_id_in(&html).unwrap();
    let graded = student
        .submit(
            &format!("/review?deck={deck}"),
            &format!("/review/{first}"),
            &[("quality", "5")],
        )
        .await;
    assert_eq!(graded.status(), StatusCode::SEE_OTHER);
    let r = app
        .submit(
            &format!("/decks/{deck}/edit"),
            &format!("/cards/{first}/edit"),
            &[("front", "uno"), ("back", "1"), ("tags", "numbers")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM review_states WHERE card_id = $1")
        .bind(first)
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    assert_eq!(kept, 1);
    assert!(
        student
            .get_html(&format!("/cards/{first}"))
            .await
            .contains("uno")
    );
    let tags: String = sqlx::query_scalar("SELECT tags FROM cards WHERE id = $1")
        .bind(first)
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    assert_eq!(tags, "numbers");

    // Reorder: move "three" up twice.
    let three = card(&app, deck, "three").await;
    for _ in 0..2 {
        app.submit(
            &format!("/decks/{deck}/edit"),
            &format!("/cards/{three}/move"),
            &[("direction", "up")],
        )
        .await;
    }
    assert_eq!(fronts(&app, deck).await, ["three", "uno", "two"]);
    app.submit(
        &format!("/decks/{deck}/edit"),
        &format!("/cards/{three}/move"),
        &[("direction", "up")],
    )
    .await;
    assert_eq!(
        fronts(&app, deck).await,
        ["three", "uno", "two"],
        "the first card stays first"
    );

    // Deleting asks first; without the confirmation nothing happens.
    let confirm = app.get_html(&format!("/cards/{first}/delete")).await;
    assert!(confirm.contains("progress on it will be deleted"));
    let unconfirmed = app
        .submit(
            &format!("/decks/{deck}/edit"),
            &format!("/cards/{first}/delete"),
            &[],
        )
        .await;
    assert_eq!(unconfirmed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fronts(&app, deck).await.len(), 3);
    let deleted = app
        .submit(
            &format!("/cards/{first}/delete"),
            &format!("/cards/{first}/delete"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(fronts(&app, deck).await, ["three", "two"]);
    let states: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM review_states WHERE card_id = $1")
        .bind(first)
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    assert_eq!(states, 0);

    // Rename, then delete the deck.
    app.submit(
        &format!("/decks/{deck}/edit"),
        &format!("/decks/{deck}/edit"),
        &[("name", "Renamed"), ("description", "")],
    )
    .await;
    assert!(app.get_html("/decks").await.contains("Renamed"));
    let gone = app
        .submit(
            &format!("/decks/{deck}/delete"),
            &format!("/decks/{deck}/delete"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(gone.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&format!("/decks/{deck}")).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn only_the_owner_or_an_admin_edits_a_deck() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let student = app.other_browser();
    student.register_ok("student").await;
    // The course deck is public: a student sees it but may not edit it.
    assert_eq!(
        student.get("/decks/1/edit").await.status(),
        StatusCode::FORBIDDEN
    );
    let r = student
        .submit(
            "/decks/1",
            "/cards/1/edit",
            &[("front", "x"), ("back", "y"), ("tags", "")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = student
        .submit("/decks/1", "/decks/1/delete", &[("confirm", "yes")])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = student
        .submit("/decks", "/decks", &[("name", "Mine")])
        .await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "students do not create decks"
    );
    assert_eq!(
        student.get("/decks/999/edit").await.status(),
        StatusCode::NOT_FOUND
    );
    let front: String = sqlx::query_scalar("SELECT front FROM cards WHERE id = 1")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    assert_eq!(front, "L1 Loss");
    assert_eq!(
        app.get("/decks/1/edit").await.status(),
        StatusCode::OK,
        "admins edit any deck"
    );
}

/// The ids of the card rows the editor page shows, in order.
fn rows(html: &str) -> Vec<i64> {
    html.split("<li id=\"card-")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
        .collect()
}

#[tokio::test]
async fn the_editor_pages_and_searches_a_deck_of_a_thousand_cards() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let mut csv = String::from("front,back\n");
    for i in 1..=1000 {
        let topic = if i % 100 == 0 { "Pooling" } else { "Conv" };
        csv.push_str(&format!("{topic} question {i},answer {i}\n"));
    }
    let r = crate::helpers::upload(&app, "big.csv", csv.into_bytes(), "Big", "csv").await;
    assert_eq!(r.status(), StatusCode::OK);
    let deck: i64 = sqlx::query_scalar("SELECT id FROM decks WHERE name = 'Big'")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    let editor = format!("/decks/{deck}/edit");

    // One short page at a time, each card one collapsed line.
    let html = app.get_html(&editor).await;
    assert_eq!(rows(&html).len(), 50);
    assert!(html.contains("Cards 1&ndash;50 of 1000"), "counts shown");
    assert!(html.contains("Page 1 of 20"));
    assert!(!html.contains("<details open"), "rows start collapsed");
    assert!(html.contains("rel=\"next\""));
    let last = app.get_html(&format!("{editor}?page=20")).await;
    assert!(last.contains("Cards 951&ndash;1000 of 1000"));
    assert!(last.contains("Conv question 999<"));
    // Past the end shows the last page; a bad page number is refused, not a crash.
    assert_eq!(
        rows(&app.get_html(&format!("{editor}?page=99")).await),
        rows(&last)
    );
    assert_eq!(
        app.get(&format!("{editor}?page=x")).await.status(),
        StatusCode::BAD_REQUEST
    );

    // Search finds by front, back or tags, any case, and `%` is a character, not a wildcard.
    let found = app.get_html(&format!("{editor}?q=pOOLing")).await;
    assert_eq!(rows(&found).len(), 10);
    assert!(found.contains("Cards 1&ndash;10 of 10 matching &ldquo;pOOLing&rdquo;"));
    let none = app.get_html(&format!("{editor}?q=%25")).await;
    assert!(none.contains("No card matches"));
    assert!(rows(&none).is_empty());

    // Saving a card found by search returns to that search, on the card, opened.
    let target = card(&app, deck, "Pooling question 700").await;
    let r = app
        .submit(
            &format!("{editor}?q=pooling"),
            &format!("/cards/{target}/edit"),
            &[
                ("front", "Pooling question 700, edited"),
                ("back", "answer 700"),
                ("tags", ""),
                ("q", "pooling"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&r),
        format!("{editor}?q=pooling&page=1&saved={target}#card-{target}")
    );
    let back = app.get_html(&location(&r)).await;
    let row = &back[back.find(&format!("<li id=\"card-{target}\">")).unwrap()..];
    assert!(row[..row.find("<summary>").unwrap()].contains("<details open>"));
    assert!(back.contains("Card saved."));

    // A new card lands on the last page, and the note links to it.
    let r = add(&app, deck, "The newest card", "new", "").await;
    let added: i64 = card(&app, deck, "The newest card").await;
    assert_eq!(
        location(&r),
        format!("{editor}?page=21&added={added}#card-{added}")
    );
    let page = app.get_html(&location(&r)).await;
    assert!(page.contains(&format!(
        "Card added: <a href=\"#card-{added}\">The newest card</a>"
    )));
    assert_eq!(rows(&page), [added]);
}

async fn deck_size(app: &TestApp) -> usize {
    fronts(app, 1).await.len()
}

#[tokio::test]
async fn tex_in_cards_renders_as_mathml_previews_before_saving_and_bad_tex_shows_as_typed() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let editor = "/decks/1/edit";
    let front =
        r"Output height of a conv layer? \(\left\lfloor \frac{H + 2P - K}{S} \right\rfloor + 1\)";
    let back =
        r"With \(H = 224\): \[\frac{224 + 2 - 3}{1} + 1 = 224\] and a broken \(\frac{1}{\) one.";
    let before = deck_size(&app).await;

    // Preview: the card as students will see it, and nothing saved.
    let r = app
        .submit(
            editor,
            "/decks/1/cards",
            &[
                ("front", front),
                ("back", back),
                ("tags", ""),
                ("preview", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let preview = &html[html.find("id=\"card-preview\"").expect("a preview")..];
    assert!(
        preview.contains("<math><mrow><mo") || preview.contains("<math>"),
        "{preview}"
    );
    assert!(preview.contains("<mfrac>"));
    assert!(preview.contains(r#"<math display="block">"#));
    assert!(preview.contains(r#"<span class="tex-unreadable">\(\frac{1}{\)</span>"#));
    assert!(preview.contains("could not be read"));
    assert!(
        html.contains("Output height of a conv layer?"),
        "the form keeps the text"
    );
    assert_eq!(deck_size(&app).await, before, "a preview saves nothing");

    // Saved, the card page renders the same way.
    add(&app, 1, front, back, "").await;
    let id = card(&app, 1, front).await;
    let page = app.get_html(&format!("/cards/{id}")).await;
    assert!(page.contains("<mfrac>") && page.contains("tex-unreadable"));
    assert!(
        !page.contains(r"\left\lfloor"),
        "the TeX itself is not shown"
    );

    // An edit previews too, on the card's own row, and saves nothing.
    let r = app
        .submit(
            editor,
            &format!("/cards/{id}/edit"),
            &[
                ("front", front),
                ("back", r"Edited: \(x^2\)"),
                ("tags", ""),
                ("q", ""),
                ("preview", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let row = &html[html.find(&format!("<li id=\"card-{id}\">")).unwrap()..];
    assert!(row[..row.find("<summary>").unwrap()].contains("<details open>"));
    assert!(
        row.contains(r"Edited: \(x^2\)</textarea>"),
        "the text as typed"
    );
    let preview = &row[row.find("id=\"edit-preview\"").expect("a preview")..];
    assert!(preview.contains("<msup>"), "{preview}");
    let back_now: String = sqlx::query_scalar("SELECT back FROM cards WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    assert_eq!(back_now, back, "a preview saves nothing");
}

#[tokio::test]
async fn the_editor_refuses_a_colleague_who_sees_the_deck_but_does_not_own_it() {
    use crate::classes::{assign, import_private, join, make_instructor, new_class};
    use studyhall::domain::Role;
    use studyhall::study::actor::Actor;
    use studyhall::study::{StudyError, editor};
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let owner = make_instructor(&admin, "owner").await;
    let colleague = make_instructor(&admin, "colleague").await;
    let deck = import_private(&owner, "Exam answers").await;
    let (class, code) = new_class(&owner, "Section 1").await;
    assert_eq!(
        assign(&owner, class, deck).await.status(),
        StatusCode::SEE_OTHER
    );
    let card = card(&admin, deck, "secret term").await;
    let db = admin.db().await;
    let writes = studyhall::auth::budget::WriteBudget::default();
    let now = admin.clock().now();
    let edit = editor::CardFields {
        front: "changed",
        back: "changed",
        tags: "",
        format: editor::Format::Text,
    };

    // Before joining the class the colleague cannot see the deck: not found.
    let stranger = admin.learner("colleague").await;
    let as_stranger = Actor {
        learner: &stranger,
        role: Role::Instructor,
    };
    assert!(matches!(
        editor::update_card(db, &writes, as_stranger, card, edit, "", now).await,
        Err(StudyError::NotFound)
    ));
    // As a member they see it, and may still not change it.
    join(&colleague, &code).await;
    let member = admin.learner("colleague").await;
    let as_member = Actor {
        learner: &member,
        role: Role::Instructor,
    };
    assert!(member.can_see(deck));
    assert!(matches!(
        editor::update_card(db, &writes, as_member, card, edit, "", now).await,
        Err(StudyError::Forbidden(_))
    ));
    assert!(matches!(
        editor::move_card(db, as_member, card, true, "").await,
        Err(StudyError::Forbidden(_))
    ));
    assert!(matches!(
        editor::cards(db.reader(), as_member, deck, "", None, None).await,
        Err(StudyError::Forbidden(_))
    ));
    assert_eq!(fronts(&admin, deck).await, ["secret term"]);
    // The owner may.
    let owns = admin.learner("owner").await;
    let as_owner = Actor {
        learner: &owns,
        role: Role::Instructor,
    };
    editor::update_card(db, &writes, as_owner, card, edit, "", now)
        .await
        .unwrap();
    assert_eq!(fronts(&admin, deck).await, ["changed"]);
}
