//! Issue 24, fourth part: the limits a rich deck is held to (media per deck, the hourly
//! budget of imported media), the Anki export's memory, and the review's smaller findings.

use crate::helpers::{TestApp, spawn_app, upload_to};
use crate::rich::{deck_id, package_with_media, png, preview_package, sha256, upload_image};
use reqwest::StatusCode;

const MIB: i64 = 1024 * 1024;

/// Says that stored file `hash` is `size` bytes: the limits read the `size` column, so a
/// test makes a deck "large" without writing hundreds of megabytes.
async fn pretend_size(app: &TestApp, hash: &str, size: i64) {
    let r = sqlx::query("UPDATE media SET size = $1 WHERE hash = $2")
        .bind(size)
        .bind(hash)
        .execute(&app.pool().await)
        .await
        .unwrap();
    assert_eq!(r.rows_affected(), 1, "{hash} is stored");
}

async fn count(app: &TestApp, sql: &'static str, deck: i64) -> i64 {
    sqlx::query_scalar(sql)
        .bind(deck)
        .fetch_one(&app.pool().await)
        .await
        .unwrap()
}

/// A package of one Basic note whose back shows `image` (named `name`).
async fn one_image_package(front: &str, name: &str, image: &[u8]) -> Vec<u8> {
    let notes = vec![(front.to_owned(), format!(r#"<img src="{name}">"#))];
    package_with_media(&notes, &[(name, image.to_vec())]).await
}

/// Imports `one_image_package(front, name, image)` into a new deck named `deck` (its one card
/// imported) and returns the deck's id.
async fn import_one_image(app: &TestApp, deck: &str, front: &str, name: &str, image: &[u8]) -> i64 {
    let package = one_image_package(front, name, image).await;
    let r = crate::helpers::upload(app, "deck.apkg", package, deck, "").await;
    assert_eq!(r.status(), StatusCode::OK, "{deck}");
    assert!(
        r.text().await.unwrap().contains("Imported 1 new card"),
        "{deck}"
    );
    deck_id(app, deck).await
}

#[tokio::test]
async fn an_import_past_a_decks_media_limit_is_refused_on_its_preview_and_its_confirmation() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let first = png(64, 48, "first");
    let token = preview_package(
        &app,
        one_image_package("First", "a.png", &first).await,
        "Slides",
    )
    .await;
    crate::rich::confirm_preview(&app, &token).await;
    let deck = deck_id(&app, "Slides").await;
    // The deck's cards now use (it is told) 199 MiB of images.
    pretend_size(&app, &sha256(&first), 199 * MIB).await;

    // A package bringing 2 MiB more: the preview says it would pass the limit, offers no
    // confirmation, and says why.
    let mut big = png(64, 48, "big");
    big.resize(2 * 1024 * 1024, 7);
    let r = upload_to(
        &app,
        "/admin/import/preview",
        "big.apkg",
        one_image_package("Big", "b.png", &big).await,
        "Slides",
        "",
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"id="import-refused""#), "{page}");
    assert!(
        page.contains("a deck&#39;s cards may use at most 200 MiB")
            || page.contains("a deck's cards may use at most 200 MiB"),
        "{page}"
    );
    assert!(!page.contains("id=\"confirm-import\""), "{page}");

    // A small package passes its preview; the deck grows before it is confirmed, and the
    // confirmation is refused with why, adding nothing.
    let small = png(8, 8, "small");
    let token = preview_package(
        &app,
        one_image_package("Small", "c.png", &small).await,
        "Slides",
    )
    .await;
    pretend_size(&app, &sha256(&first), 200 * MIB - 10).await;
    let r = app
        .submit(
            "/admin/import",
            "/admin/import/confirm",
            &[("token", &token)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("Nothing was imported"), "{page}");
    assert!(page.contains("at most 200 MiB"), "{page}");
    assert!(page.contains("The preview is kept"), "{page}");
    // The page offers to confirm the kept preview again, with its token.
    assert!(page.contains(r#"id="confirm-import-again""#), "{page}");
    assert!(page.contains(r#"action="/admin/import/confirm""#), "{page}");
    let again = crate::decks_and_import::preview_token(&page);
    assert_eq!(again, token);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM cards WHERE deck_id = $1", deck).await,
        1
    );
    // Room made in the deck, the same preview goes in from that button.
    pretend_size(&app, &sha256(&first), 1000).await;
    let r = app
        .submit(
            "/admin/import",
            "/admin/import/confirm",
            &[("token", &again)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Imported 1 new card"));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM cards WHERE deck_id = $1", deck).await,
        2
    );
    pretend_size(&app, &sha256(&first), 200 * MIB - 10).await;

    // Imported at once (no preview), the same limit holds.
    let r = crate::helpers::upload(
        &app,
        "big.apkg",
        one_image_package("Big", "b.png", &big).await,
        "Slides",
        "",
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("at most 200 MiB"));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM cards WHERE deck_id = $1", deck).await,
        2
    );
    // Into another deck it fits.
    import_one_image(&app, "Other slides", "Big", "b.png", &big).await;
}

#[tokio::test]
async fn the_editor_refuses_an_image_past_a_decks_media_limit_on_upload_and_on_save() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let first = png(64, 48, "first");
    let deck = import_one_image(&app, "Pictures", "First", "a.png", &first).await;

    // Under the limit an upload is kept; its card is not saved yet.
    let second = png(32, 32, "second");
    let r = upload_image(
        &app,
        deck,
        &[("front", "Second"), ("back", ""), ("format", "html")],
        second.clone(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let element = format!(r#"<img src="/media/{}" alt="net.png">"#, sha256(&second));

    // The deck's cards now use (it is told) all but a few bytes of the limit: another
    // upload is refused with why...
    pretend_size(&app, &sha256(&first), 200 * MIB - 10).await;
    let r = upload_image(
        &app,
        deck,
        &[("front", "Third"), ("back", ""), ("format", "html")],
        png(16, 16, "third"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("The image was not kept"), "{page}");
    assert!(page.contains("at most 200 MiB"), "{page}");

    // ...and so is saving a card that shows the image uploaded before (uploads cannot be
    // gathered under the limit and tied afterwards).
    let r = app
        .submit(
            &format!("/decks/{deck}/edit"),
            &format!("/decks/{deck}/cards"),
            &[("front", "Second"), ("back", &element), ("format", "html")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("The card was not saved"), "{page}");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM cards WHERE deck_id = $1", deck).await,
        1
    );
    // A card without a new image still saves.
    let r = app
        .submit(
            &format!("/decks/{deck}/edit"),
            &format!("/decks/{deck}/cards"),
            &[("front", "Plain"), ("back", "text"), ("format", "text")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn imported_media_bytes_are_charged_to_the_hourly_import_budget() {
    use studyhall::import::{MediaFile, ParsedCard, ParsedDeck};
    let quotas = studyhall::auth::quota::Quotas::default();
    // One card of a few bytes of text and a 100 MiB image: text alone would pass 30 times
    // (the import count's limit), the media budget (1 GiB an hour) only 10.
    let mut bytes = png(64, 48, "large");
    bytes.resize(100 * 1024 * 1024, 1);
    let checked = studyhall::media::Checked {
        kind: studyhall::media::Kind::Png,
        hash: sha256(&bytes),
    };
    let deck = ParsedDeck {
        title: None,
        cards: vec![ParsedCard {
            front: studyhall::domain::CardText::parse("front", "front").unwrap(),
            back: studyhall::domain::CardText::parse("back", "back").unwrap(),
            line: 1,
            format: studyhall::markup::Format::Text,
            cloze: None,
        }],
        notes: Vec::new(),
        media: vec![MediaFile {
            name: "large.png".to_owned(),
            checked,
            bytes,
        }],
        kept: Vec::new(),
        stored_media: Vec::new(),
    };
    for n in 0..10 {
        studyhall::study::import::charge(&quotas, 1, &deck, 0)
            .unwrap_or_else(|e| panic!("import {n}: {e}"));
    }
    let refused = studyhall::study::import::charge(&quotas, 1, &deck, 0).unwrap_err();
    assert!(
        refused.to_string().contains("MiB of imported images"),
        "{refused}"
    );
    // Another instructor's budget is their own.
    studyhall::study::import::charge(&quotas, 2, &deck, 0).unwrap();
}

#[tokio::test]
async fn a_confirmed_preview_whose_images_went_meanwhile_is_refused_clearly() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let shared = png(64, 48, "shared");
    // Deck A uses the image; a preview of deck B's package brings the same image.
    import_one_image(&app, "Deck A", "In A", "s.png", &shared).await;
    let token = preview_package(
        &app,
        one_image_package("In B", "s.png", &shared).await,
        "Deck B",
    )
    .await;
    // Deck A is deleted before the preview is confirmed: its last card takes the file.
    let a = deck_id(&app, "Deck A").await;
    let r = app
        .submit(
            &format!("/decks/{a}/delete"),
            &format!("/decks/{a}/delete"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .submit(
            "/admin/import",
            "/admin/import/confirm",
            &[("token", &token)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("Nothing was imported"), "{page}");
    assert!(page.contains("choose the file again"), "{page}");
    let decks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM decks WHERE name = 'Deck B'")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    assert_eq!(decks, 0, "nothing was written");
}

#[tokio::test]
async fn sqlite_reads_media_sizes_and_ages_from_indexes_not_from_the_files_rows() {
    if crate::helpers::on_postgres() {
        // PostgreSQL keeps large values out of line (TOAST): a row's size is read without
        // its bytes there.
        return;
    }
    let app = spawn_app().await;
    let pool = app.pool().await;
    for (name, sql) in [
        ("deck's card media", studyhall::db::media::DECK_CARD_FILES),
        ("one file's size", studyhall::db::media::SIZE_OF),
        ("deck's kept bytes", studyhall::db::media::KEPT_BYTES),
        ("unused files", studyhall::db::media::DROP_UNUSED_BEFORE),
    ] {
        let rows: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                .bind(1_i64)
                .fetch_all(&pool)
                .await
                .unwrap();
        let plan: Vec<String> = rows.into_iter().map(|r| r.3).collect();
        // Every step on the files' table goes through one of its indexes, and one that
        // holds what the query reads (the hash's primary key index would lead to the row).
        let wanted = if name == "unused files" {
            "INDEX media_created"
        } else {
            "COVERING INDEX media_size"
        };
        assert!(plan.iter().any(|d| d.contains(wanted)), "{name}: {plan:?}");
        for d in &plan {
            assert!(
                !d.contains("sqlite_autoindex_media_1")
                    && !["SCAN media", "SCAN m"].iter().any(|s| d.trim() == *s),
                "{name} reads the files' rows: {plan:?}"
            );
        }
    }
}

#[tokio::test]
async fn anki_exports_being_downloaded_hold_their_slots_and_a_third_gets_a_clear_retry() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    // Sixteen 1 MiB images that do not compress: a package larger than the sockets' buffers,
    // so that an unread download stays unfinished.
    let images: Vec<Vec<u8>> = (0..16u32)
        .map(|n| {
            let mut b = png(640, 480, &format!("slide {n}"));
            let mut x: u32 = 0x2545_F491 ^ n;
            b.extend((0..1024 * 1024).map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            }));
            b
        })
        .collect();
    let names: Vec<String> = (0..16).map(|n| format!("slide{n}.png")).collect();
    let notes: Vec<(String, String)> = names
        .iter()
        .map(|n| (format!("Slide {n}"), format!(r#"<img src="{n}">"#)))
        .collect();
    let files: Vec<(&str, Vec<u8>)> = names
        .iter()
        .map(String::as_str)
        .zip(images.clone())
        .collect();
    let r = crate::helpers::upload(
        &app,
        "slides.apkg",
        package_with_media(&notes, &files).await,
        "Slides",
        "",
    )
    .await;
    assert!(r.text().await.unwrap().contains("Imported 16 new cards"));
    let deck = deck_id(&app, "Slides").await;

    let path = format!("/decks/{deck}/export.apkg");
    // Two downloads started and not read: each holds one of the two export slots.
    let first = app.clone_browser().get(&path).await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = app.clone_browser().get(&path).await;
    assert_eq!(second.status(), StatusCode::OK);
    // A third is asked to retry, and says when.
    let r = app.get(&path).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        r.headers().get("retry-after").is_some(),
        "says when to retry"
    );
    let text = r.text().await.unwrap();
    assert!(text.contains("try again in a few seconds"), "{text}");
    // The readers go away: their slots come free (polled, a bounded number of times).
    drop(first);
    drop(second);
    let mut package = None;
    for _ in 0..200 {
        let r = app.get(&path).await;
        if r.status() == StatusCode::OK {
            let length = r
                .headers()
                .get("content-length")
                .map(|v| v.to_str().unwrap().parse::<usize>().unwrap());
            let body = r.bytes().await.unwrap().to_vec();
            assert_eq!(length, Some(body.len()), "sent with its length");
            package = Some(body);
            break;
        }
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let body = package.expect("an export once the downloads were dropped");
    // The package holds every image, byte for byte.
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(body.clone())).unwrap();
    let mut held = Vec::new();
    for i in 0..zip.len() {
        use std::io::Read;
        let mut entry = zip.by_index(i).unwrap();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        held.push(bytes);
    }
    for image in &images {
        assert!(held.contains(image), "an image is missing");
    }
    // The package still imports back whole.
    let again = body;
    let r = crate::helpers::upload(&app, "again.apkg", again, "Slides again", "").await;
    assert!(r.text().await.unwrap().contains("Imported 16 new cards"));
}

#[tokio::test]
async fn a_note_with_an_empty_back_is_skipped_and_the_preview_says_so() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    // A Basic note whose back is empty (Anki allows it) beside two good ones: before, the
    // whole package was refused ("note 2: The back of a card cannot be empty").
    let notes = vec![
        ("Softmax".to_owned(), "normalised exponentials".to_owned()),
        ("Left blank".to_owned(), "<div><br></div>".to_owned()),
        ("ReLU".to_owned(), "max(0, x)".to_owned()),
    ];
    let r = upload_to(
        &app,
        "/admin/import/preview",
        "course.apkg",
        package_with_media(&notes, &[]).await,
        "Gaps",
        "",
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("1 note was skipped: 1 with an empty front or back"),
        "{page}"
    );
    let token = crate::decks_and_import::preview_token(&page);
    let r = app
        .submit(
            "/admin/import",
            "/admin/import/confirm",
            &[("token", &token)],
        )
        .await;
    assert!(r.text().await.unwrap().contains("Imported 2 new cards"));
    // A package of nothing but such notes says why it imports nothing.
    let only = vec![("Left blank".to_owned(), String::new())];
    let r = upload_to(
        &app,
        "/admin/import/preview",
        "blank.apkg",
        package_with_media(&only, &[]).await,
        "Blank",
        "",
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("no notes that make cards"), "{page}");
    assert!(page.contains("1 note was skipped"), "{page}");
}

#[tokio::test]
async fn a_kept_file_imported_again_with_new_bytes_takes_them_and_is_never_served() {
    use studyhall::db::anki::AnkiNote;
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let notes = vec![AnkiNote::Basic {
        front: "Plain".to_owned(),
        back: "text".to_owned(),
    }];
    let old_font = b"\0\x01\0\0 the old font".to_vec();
    let new_font = b"\0\x01\0\0 the new font".to_vec();
    let spare = png(8, 8, "spare, kept");
    let first = crate::rich::package_of_notes(
        &notes,
        &[
            ("_font.ttf", old_font.clone()),
            ("spare.png", spare.clone()),
        ],
    )
    .await;
    let r = crate::helpers::upload(&app, "course.apkg", first, "Fonts", "").await;
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("2 files no card shows are kept")
    );
    let deck = deck_id(&app, "Fonts").await;
    // The kept image is served to nobody, not even to whoever imported it.
    assert_eq!(
        app.get(&format!("/media/{}", sha256(&spare)))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // The same package with the font changed: the deck keeps the new bytes under the name,
    // and the old ones (kept by nothing else) go.
    let mut more = notes.clone();
    more.push(AnkiNote::Basic {
        front: "New".to_owned(),
        back: "card".to_owned(),
    });
    let second = crate::rich::package_of_notes(
        &more,
        &[
            ("_font.ttf", new_font.clone()),
            ("spare.png", spare.clone()),
        ],
    )
    .await;
    // The deck keeps (it is told) all but 5 bytes of its 200 MiB of such files, nearly all
    // of it the old font: the new font (larger than 5 bytes) takes the old one's room.
    assert!(new_font.len() > 5);
    pretend_size(&app, &sha256(&old_font), 200 * MIB - 5 - spare.len() as i64).await;
    let token = preview_package_any(&app, second, "Fonts").await;
    assert_eq!(
        app.get(&format!("/media/{}", sha256(&spare)))
            .await
            .status(),
        StatusCode::NOT_FOUND,
        "not during a preview either"
    );
    let r = app
        .submit(
            "/admin/import",
            "/admin/import/confirm",
            &[("token", &token)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let done = r.text().await.unwrap();
    assert!(
        done.contains("1 file no card shows is kept") && !done.contains("not kept"),
        "{done}"
    );
    let pool = app.pool().await;
    let kept: Vec<(String, String)> =
        sqlx::query_as("SELECT name, hash FROM deck_media WHERE deck_id = $1 ORDER BY name")
            .bind(deck)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        kept,
        vec![
            ("_font.ttf".to_owned(), sha256(&new_font)),
            ("spare.png".to_owned(), sha256(&spare)),
        ]
    );
    let old: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM media WHERE hash = $1")
        .bind(sha256(&old_font))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(old, 0, "the old bytes went");
    // The deck's export carries the new font.
    let package = app.get(&format!("/decks/{deck}/export.apkg")).await;
    let bytes = package.bytes().await.unwrap().to_vec();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut found = false;
    for i in 0..zip.len() {
        use std::io::Read;
        let mut entry = zip.by_index(i).unwrap();
        let mut b = Vec::new();
        entry.read_to_end(&mut b).unwrap();
        found |= b == new_font;
        assert_ne!(b, old_font);
    }
    assert!(found, "the export carries the new font");
}

/// Previews `bytes` as deck `deck` (whatever it holds); returns the confirmation's token.
async fn preview_package_any(who: &TestApp, bytes: Vec<u8>, deck: &str) -> String {
    let r = upload_to(who, "/admin/import/preview", "course.apkg", bytes, deck, "").await;
    assert_eq!(r.status(), StatusCode::OK);
    crate::decks_and_import::preview_token(&r.text().await.unwrap())
}

#[tokio::test]
async fn a_cloze_notes_edit_form_uploads_an_image_into_its_extra_with_a_preview() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let student = app.other_browser();
    student.register_ok("student").await;
    let r = app.submit("/decks", "/decks", &[("name", "Gaps")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let deck = deck_id(&app, "Gaps").await;
    let editor = format!("/decks/{deck}/edit");
    let text = "{{c1::ReLU}} keeps {{c2::positive}} inputs";
    let r = app
        .submit(
            &editor,
            &format!("/decks/{deck}/cloze"),
            &[("text", text), ("extra", "Chapter 6"), ("format", "text")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cards: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM cards WHERE deck_id = $1 AND note_id IS NOT NULL ORDER BY cloze",
    )
    .bind(deck)
    .fetch_all(&app.pool().await)
    .await
    .unwrap();
    assert_eq!(cards.len(), 2);
    let page = app.get_html(&editor).await;
    assert!(
        page.contains(&format!(
            r#"formaction="/cards/{}/cloze/image#note-preview" formenctype="multipart/form-data""#,
            cards[0]
        )),
        "the note's form offers the upload"
    );

    // Uploaded from the note's form: the form comes back as typed with the image after the
    // extra (the plain text turned to HTML) and both cards previewed; nothing is saved.
    let image = png(40, 30, "cloze figure");
    let hash = sha256(&image);
    let r = crate::rich::upload_image_to(
        &app,
        &format!("/cards/{}/cloze/image", cards[0]),
        &[
            ("text", text),
            ("extra", "Chapter 6"),
            ("format", "text"),
            ("image_alt", "The curve"),
        ],
        image.clone(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let element = format!(r#"<img src="/media/{hash}" alt="The curve">"#);
    let preview = &html[html.find("id=\"note-preview\"").expect("a preview")..];
    assert!(preview.contains("2 cards"), "{preview}");
    assert!(preview.contains(&element), "{preview}");
    assert!(
        html.contains("Chapter 6&lt;br&gt;&lt;img")
            || html.contains("Chapter 6&#60;br&#62;&#60;img"),
        "{html}"
    );
    let extra: String = sqlx::query_scalar(
        "SELECT n.extra FROM cloze_notes n JOIN cards c ON c.note_id = n.id WHERE c.id = $1",
    )
    .bind(cards[0])
    .fetch_one(&app.pool().await)
    .await
    .unwrap();
    assert_eq!(extra, "Chapter 6", "nothing saved yet");

    // Saved, every card of the note shows the image to its students.
    let r = app
        .submit(
            &editor,
            &format!("/cards/{}/cloze", cards[0]),
            &[
                ("text", text),
                ("extra", &format!("Chapter 6<br>{element}")),
                ("format", "html"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = student.get(&format!("/media/{hash}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), image.as_slice());
    // A card that is not a cloze note's has no note upload.
    let r = crate::rich::upload_image_to(
        &app,
        "/cards/1/cloze/image",
        &[("text", "{{c1::x}}")],
        png(4, 4, "x"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_text_import_naming_uploaded_images_cannot_tie_them_past_a_decks_media_limit() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let first = png(64, 48, "first");
    let full = import_one_image(&app, "Full", "First", "a.png", &first).await;
    let r = crate::helpers::upload(&app, "o.tsv", b"Q\tA\n".to_vec(), "Other", "tsv").await;
    assert_eq!(r.status(), StatusCode::OK);
    let other = deck_id(&app, "Other").await;
    // Images uploaded in another deck's editor and never saved: stored, brought by the
    // instructor, tied to no card.
    let mut hashes = Vec::new();
    for seed in ["u1", "u2"] {
        let image = png(16, 16, seed);
        let r = upload_image(
            &app,
            other,
            &[("front", "X"), ("back", ""), ("format", "html")],
            image.clone(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        hashes.push(sha256(&image));
    }
    pretend_size(&app, &sha256(&first), 199 * MIB).await;
    for h in &hashes {
        pretend_size(&app, h, MIB).await;
    }
    // A text file whose backs name them, into the nearly full deck: refused, nothing tied.
    let tsv = format!("One\t/media/{}\nTwo\t/media/{}\n", hashes[0], hashes[1]);
    let r = crate::helpers::upload(&app, "cards.tsv", tsv.into_bytes(), "Full", "tsv").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("Nothing was imported"), "{page}");
    assert!(page.contains("at most 200 MiB"), "{page}");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM cards WHERE deck_id = $1", full).await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM card_media cm JOIN cards c ON c.id = cm.card_id WHERE c.deck_id = $1",
            full
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_cloze_notes_image_replaced_under_a_new_number_near_the_limit_is_saved() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let r = app.submit("/decks", "/decks", &[("name", "Gaps")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let deck = deck_id(&app, "Gaps").await;
    let editor = format!("/decks/{deck}/edit");
    let (old, new) = (png(20, 20, "old figure"), png(20, 20, "new figure"));
    for image in [&old, &new] {
        let r = upload_image(
            &app,
            deck,
            &[("front", "X"), ("back", ""), ("format", "html")],
            image.clone(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let shows = |image: &[u8], number: u32| {
        format!(
            r#"{{{{c{number}::<img src="/media/{}" alt="f">}}}} is the figure"#,
            sha256(image)
        )
    };
    let r = app
        .submit(
            &editor,
            &format!("/decks/{deck}/cloze"),
            &[("text", &shows(&old, 1)), ("extra", ""), ("format", "html")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let card: i64 =
        sqlx::query_scalar("SELECT id FROM cards WHERE deck_id = $1 AND note_id IS NOT NULL")
            .bind(deck)
            .fetch_one(&app.pool().await)
            .await
            .unwrap();
    // The old image uses 150 MiB, the new one 100 MiB: both at once would pass the limit,
    // the new one alone does not.
    pretend_size(&app, &sha256(&old), 150 * MIB).await;
    pretend_size(&app, &sha256(&new), 100 * MIB).await;
    let r = app
        .submit(
            &editor,
            &format!("/cards/{card}/cloze"),
            &[("text", &shows(&new, 2)), ("extra", ""), ("format", "html")],
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let numbers: Vec<i64> =
        sqlx::query_scalar("SELECT cloze FROM cards WHERE deck_id = $1 AND note_id IS NOT NULL")
            .bind(deck)
            .fetch_all(&app.pool().await)
            .await
            .unwrap();
    assert_eq!(numbers, vec![2]);
}
