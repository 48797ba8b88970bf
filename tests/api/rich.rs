//! Formatted cards (issue 24): a table of hostile fields imported through each importer and
//! typed into the editor never puts anything that runs, fetches or styles into a page, while
//! formatting (bold, lists, tables, code) shows as formatting and plain-text cards keep their
//! exact look.

use crate::helpers::{TestApp, spawn_app, upload, upload_to};
use reqwest::StatusCode;

/// Hostile fields: OWASP filter-evasion vectors and the ways an Anki field can carry script,
/// one a line in `tests/data/xss-vectors.txt` (src/markup.rs's unit tests read the same list).
fn hostile() -> Vec<&'static str> {
    include_str!("../data/xss-vectors.txt")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("# "))
        .collect()
}

/// The tags of a page, each from `<` to its `>` outside quotes, in lower case: text between
/// tags is escaped, so harmless whatever it says.
fn tags_of(html: &str) -> Vec<String> {
    let mut tags = Vec::new();
    let mut current: Option<String> = None;
    let mut quoted = false;
    for c in html.chars() {
        match current.as_mut() {
            None if c == '<' => current = Some(String::from("<")),
            None => {}
            Some(tag) => {
                tag.push(c);
                if c == '"' {
                    quoted = !quoted;
                } else if c == '>' && !quoted {
                    tags.push(tag.to_ascii_lowercase());
                    current = None;
                }
            }
        }
    }
    tags.extend(current);
    tags
}

/// `tag` with the values of its `title` attributes left out.
fn without_titles(tag: &str) -> String {
    let mut out = String::new();
    let mut rest = tag;
    while let Some(at) = rest.find(" title=\"") {
        out.push_str(&rest[..at]);
        let value = &rest[at + " title=\"".len()..];
        rest = value.find('"').map_or("", |end| &value[end + 1..]);
    }
    out.push_str(rest);
    out
}

/// Fails if any tag of `page` could run script, fetch from elsewhere, restyle the page or
/// send a form anywhere but here.
fn assert_nothing_runs(page: &str, what: &str) {
    // The page's own empty icon (base.html), the one `data:` address a page may carry.
    let own_icon = r#"<link rel="icon" href="data:,">"#;
    for tag in tags_of(page).into_iter().filter(|t| t != own_icon) {
        // A title is text shown on hover, whatever it says.
        let tag = without_titles(&tag);
        let name: String = tag[1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        // A link may lead anywhere on the web (rel=noopener); nothing else may fetch from it.
        if name != "a" {
            assert!(!tag.contains("evil.example"), "{what}: {tag}");
        }
        for bad in [
            "alert",
            "javascript:",
            "data:",
            "onerror",
            "onload",
            "onclick",
            "ontoggle",
            "xlink",
            " style=",
            "http-equiv",
        ] {
            assert!(!tag.contains(bad), "{what}: {bad} in {tag}");
        }
        match name.as_str() {
            "script" => assert!(tag.contains("src=\"/static/"), "{what}: {tag}"),
            "link" => assert!(tag.contains("href=\"/static/"), "{what}: {tag}"),
            "style" | "iframe" | "object" | "embed" | "base" | "frame" => {
                panic!("{what}: {tag}")
            }
            "form" => assert!(tag.contains("action=\"/"), "{what}: {tag}"),
            "input" => assert!(!tag.contains("stolen"), "{what}: {tag}"),
            _ => {}
        }
    }
}

pub(crate) async fn deck_id(app: &TestApp, name: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM decks WHERE name = $1")
        .bind(name)
        .fetch_one(&app.pool().await)
        .await
        .unwrap()
}

/// Every page that shows deck `deck`'s cards: the deck, each card's page, the editor and the
/// review page; each checked with [`assert_nothing_runs`]. Returns the deck page.
async fn assert_deck_pages_are_harmless(app: &TestApp, deck: i64, what: &str) -> String {
    let deck_page = app.get_html(&format!("/decks/{deck}")).await;
    assert_nothing_runs(&deck_page, &format!("{what}: deck page"));
    assert_nothing_runs(
        &app.get_html(&format!("/decks/{deck}/edit")).await,
        &format!("{what}: editor"),
    );
    assert_nothing_runs(
        &app.get_html(&format!("/review?deck={deck}")).await,
        &format!("{what}: review"),
    );
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM cards WHERE deck_id = $1")
        .bind(deck)
        .fetch_all(&app.pool().await)
        .await
        .unwrap();
    assert!(ids.len() >= hostile().len(), "{what}: {} cards", ids.len());
    for id in ids {
        let page = app.get_html(&format!("/cards/{id}")).await;
        assert_nothing_runs(&page, &format!("{what}: card {id}"));
    }
    deck_page
}

/// An Anki package holding `notes` (front, back as Anki HTML).
async fn apkg(notes: &[(String, String)]) -> Vec<u8> {
    let collection = studyhall::db::anki::write_collection("Hostile", notes, 1_700_000_000_000)
        .await
        .unwrap();
    studyhall::import::apkg::package(&collection).unwrap()
}

#[tokio::test]
async fn hostile_anki_fields_are_neutralised_and_formatting_shows() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let mut notes: Vec<(String, String)> = hostile()
        .iter()
        .enumerate()
        .map(|(i, h)| (format!("F{i} {h}"), format!("<b>bold {i}</b> {h}")))
        .collect();
    notes.push((
        "A <i>list</i> and a table".to_owned(),
        "<ul><li>one</li><li>two</li></ul><table><tr><td>cell</td></tr></table>\
         <pre><code>x = 1</code></pre> \\(a^2\\)"
            .to_owned(),
    ));
    let bytes = apkg(&notes).await;

    // The preview shows the cards formatted, and nothing that runs.
    let preview = upload_to(
        &app,
        "/admin/import/preview",
        "hostile.apkg",
        bytes.clone(),
        "Hostile apkg",
        "",
    )
    .await;
    assert_eq!(preview.status(), StatusCode::OK);
    let preview = preview.text().await.unwrap();
    assert_nothing_runs(&preview, "apkg preview");
    assert!(preview.contains("<b>bold 3</b>"), "{preview}");

    let r = upload(&app, "hostile.apkg", bytes, "Hostile apkg", "").await;
    let page = r.text().await.unwrap();
    assert!(page.contains("Imported"), "{page}");
    let deck = deck_id(&app, "Hostile apkg").await;
    let html: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM cards WHERE deck_id = $1 AND format = 'html'")
            .bind(deck)
            .fetch_one(&app.pool().await)
            .await
            .unwrap();
    assert_eq!(
        html as usize,
        notes.len(),
        "every formatted note is an HTML card"
    );
    // Nothing hostile is even stored: the stored form is the sanitised one.
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT front || back FROM cards WHERE deck_id = $1")
            .bind(deck)
            .fetch_all(&app.pool().await)
            .await
            .unwrap();
    for s in &stored {
        assert_nothing_runs(s, "stored card");
    }

    let deck_page = assert_deck_pages_are_harmless(&app, deck, "apkg").await;
    for formatted in [
        "<b>bold 7</b>",
        "<ul><li>one</li><li>two</li></ul>",
        "<td>cell</td>",
        "<pre><code>x = 1</code></pre>",
        "<math",
    ] {
        assert!(
            deck_page.contains(formatted),
            "{formatted} on the deck page"
        );
    }
}

#[tokio::test]
async fn hostile_text_files_stay_plain_text_as_before() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let tsv: String = hostile()
        .iter()
        .enumerate()
        .map(|(i, h)| format!("T{i} {h}\t<b>bold {i}</b>\n"))
        .collect();
    let r = upload(&app, "hostile.tsv", tsv.into_bytes(), "Hostile tsv", "tsv").await;
    assert!(r.text().await.unwrap().contains("Imported"));
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["front", "back"]).unwrap();
    for (i, h) in hostile().iter().enumerate() {
        writer
            .write_record([format!("C{i} {h}"), format!("<b>bold {i}</b>")])
            .unwrap();
    }
    let r = upload(
        &app,
        "hostile.csv",
        writer.into_inner().unwrap(),
        "Hostile csv",
        "csv",
    )
    .await;
    assert!(r.text().await.unwrap().contains("Imported"));
    for name in ["Hostile tsv", "Hostile csv"] {
        let deck = deck_id(&app, name).await;
        let page = assert_deck_pages_are_harmless(&app, deck, name).await;
        // Text cards look as they always did: their markup is shown, escaped, as typed.
        let escaped = page.replace("&#60;", "&lt;").replace("&#62;", "&gt;");
        assert!(escaped.contains("&lt;b&gt;bold 3&lt;/b&gt;"), "{name}");
        assert!(!page.contains("<b>bold 3</b>"), "{name}");
    }
}

#[tokio::test]
async fn hostile_html_typed_in_the_editor_is_neutralised_and_formatting_shows() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let r = upload(&app, "seed.tsv", b"seed\tcard\n".to_vec(), "Typed", "tsv").await;
    assert!(r.text().await.unwrap().contains("Imported"));
    let deck = deck_id(&app, "Typed").await;
    let edit = format!("/decks/{deck}/edit");
    let add = format!("/decks/{deck}/cards");
    for (i, h) in hostile().iter().enumerate() {
        let front = format!("E{i} {h}");
        let back = format!("<b>bold {i}</b> <ol><li>first</li></ol> {h}");
        // The preview shows it, unsaved, as students would see it.
        let preview = app
            .submit(
                &edit,
                &add,
                &[
                    ("front", &front),
                    ("back", &back),
                    ("tags", ""),
                    ("format", "html"),
                    ("preview", "1"),
                ],
            )
            .await;
        assert_eq!(preview.status(), StatusCode::OK, "{h}");
        let preview = preview.text().await.unwrap();
        assert_nothing_runs(&preview, &format!("editor preview of {h}"));
        assert!(preview.contains(&format!("<b>bold {i}</b>")), "{h}");
        let r = app
            .submit(
                &edit,
                &add,
                &[
                    ("front", &front),
                    ("back", &back),
                    ("tags", ""),
                    ("format", "html"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{h}");
    }
    let page = assert_deck_pages_are_harmless(&app, deck, "editor").await;
    assert!(page.contains("<b>bold 5</b> <ol><li>first</li></ol>"));
    // The seed card, typed as text, keeps its look.
    assert!(page.contains(">card<"), "the text card's back as before");

    // Editing a card keeps its format unless changed, and a side of markup alone is empty.
    let id: i64 =
        sqlx::query_scalar("SELECT id FROM cards WHERE deck_id = $1 AND front LIKE 'E0 %'")
            .bind(deck)
            .fetch_one(&app.pool().await)
            .await
            .unwrap();
    let r = app
        .submit(
            &edit,
            &format!("/cards/{id}/edit"),
            &[
                ("front", "<script>alert(1)</script><div><br></div>"),
                ("back", "b"),
                ("tags", ""),
                ("format", "html"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("cannot be empty"));
}

/// A PNG header claiming `w` by `h` pixels, with `tag` after it so each file differs.
pub(crate) fn png(w: u32, h: u32, tag: &str) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend(w.to_be_bytes());
    b.extend(h.to_be_bytes());
    b.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
    b.extend(tag.as_bytes());
    b
}

/// A legacy Anki package: the collection of `notes` and the `media` index naming `files`.
pub(crate) async fn package_with_media(
    notes: &[(String, String)],
    files: &[(&str, Vec<u8>)],
) -> Vec<u8> {
    use std::io::Write;
    let collection = studyhall::db::anki::write_collection("Course", notes, 1_700_000_000_000)
        .await
        .unwrap();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("collection.anki2", options).unwrap();
    zip.write_all(&collection).unwrap();
    let index: serde_json::Map<String, serde_json::Value> = files
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (i.to_string(), serde_json::Value::from(*name)))
        .collect();
    zip.start_file("media", options).unwrap();
    zip.write_all(serde_json::Value::Object(index).to_string().as_bytes())
        .unwrap();
    for (i, (_, bytes)) in files.iter().enumerate() {
        zip.start_file(i.to_string(), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

pub(crate) fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[tokio::test]
async fn an_anki_package_arrives_with_its_images_and_sounds_served_only_to_its_students() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = crate::classes::make_instructor(&admin, "teacher").await;
    let student = admin.other_browser();
    student.register_ok("student").await;

    let diagram = png(640, 480, "diagram");
    let mp3 = b"ID3\x04\0\0\0\0\0\0sound bytes".to_vec();
    let notes: Vec<(String, String)> = vec![
        (
            "The network".to_owned(),
            r#"<img src="net.png">"#.to_owned(),
        ),
        (
            "<b>Bold</b> term".to_owned(),
            r#"<ul><li>one</li></ul><img src="net.png" alt="The network, drawn">"#.to_owned(),
        ),
        ("Say it".to_owned(), "[sound:hello.mp3]".to_owned()),
        ("Too big".to_owned(), r#"<img src="bomb.png">"#.to_owned()),
    ];
    let files = vec![
        ("net.png", diagram.clone()),
        ("hello.mp3", mp3.clone()),
        ("bomb.png", png(100_000, 100_000, "bomb")),
        ("notes.pdf", b"%PDF-1.4 not an image".to_vec()),
        ("leftover.png", png(8, 8, "leftover")),
    ];
    let bytes = package_with_media(&notes, &files).await;

    // The preview shows the image to the instructor who brought it, and names what was refused.
    let preview = upload_to(
        &teacher,
        "/admin/import/preview",
        "course.apkg",
        bytes.clone(),
        "Vision",
        "",
    )
    .await;
    assert_eq!(preview.status(), StatusCode::OK);
    let preview = preview.text().await.unwrap();
    let image = format!("/media/{}", sha256(&diagram));
    assert!(
        preview.contains(&format!(r#"<img src="{image}" alt="net.png">"#)),
        "{preview}"
    );
    assert!(
        preview.contains("bomb.png") && preview.contains("notes.pdf"),
        "{preview}"
    );
    assert!(preview.contains("100000 by 100000"), "{preview}");
    // Files no card shows are listed and kept with the deck, not silently dropped.
    assert!(
        preview.contains(
            "3 media files that no card shows are kept with the deck, never served, and go back out with its Anki export: bomb.png (not shown: it claims 100000 by 100000 pixels; the limit is 40 million pixels), leftover.png, notes.pdf (not shown: it is not a PNG, JPEG, GIF or WebP image, or an MP3 or Ogg sound)."
        ),
        "{preview}"
    );
    assert_eq!(teacher.get(&image).await.status(), StatusCode::OK);
    assert_eq!(student.get(&image).await.status(), StatusCode::NOT_FOUND);

    let r = upload(&teacher, "course.apkg", bytes, "Vision", "").await;
    let done = r.text().await.unwrap();
    assert!(
        done.contains("3 files no card shows are kept with the deck for its Anki export."),
        "{done}"
    );
    let deck = deck_id(&admin, "Vision").await;
    let kept: Vec<(String, String)> =
        sqlx::query_as("SELECT name, hash FROM deck_media WHERE deck_id = $1 ORDER BY name")
            .bind(deck)
            .fetch_all(&admin.pool().await)
            .await
            .unwrap();
    assert_eq!(
        kept,
        vec![
            (
                "bomb.png".to_owned(),
                sha256(&png(100_000, 100_000, "bomb"))
            ),
            ("leftover.png".to_owned(), sha256(&png(8, 8, "leftover"))),
            ("notes.pdf".to_owned(), sha256(b"%PDF-1.4 not an image")),
        ]
    );
    // Kept, never served: not the PDF or the bomb even to the instructor who brought them.
    for (_, hash) in &kept[..] {
        if hash != &sha256(&png(8, 8, "leftover")) {
            let r = teacher.get(&format!("/media/{hash}")).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND);
        }
        let r = student.get(&format!("/media/{hash}")).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
    let page = teacher.get_html(&format!("/decks/{deck}")).await;
    assert!(
        page.contains(&format!(r#"<img src="{image}" alt="net.png">"#)),
        "image-only back"
    );
    assert!(page.contains(&format!(r#"<img src="{image}" alt="The network, drawn">"#)));
    let sound = format!("/media/{}", sha256(&mp3));
    assert!(
        page.contains(&format!(r#"<audio controls="" src="{sound}"></audio>"#))
            || page.contains(&format!(r#"<audio controls src="{sound}"></audio>"#)),
        "{page}"
    );
    assert!(
        page.contains("[image: bomb.png]"),
        "a refused image is named, not lost"
    );

    // Served byte for byte, typed from the bytes, never sniffed, cached for good.
    let r = teacher.get(&image).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), diagram.as_slice());
    let r = teacher.get(&sound).await;
    assert_eq!(r.headers()["content-type"], "audio/mpeg");

    // A student outside the class: 404, as for a file that does not exist.
    assert_eq!(student.get(&image).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(student.get(&sound).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        student
            .get(&format!("/media/{}", "0".repeat(64)))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // Naming a file's address in a card is no way to reach it: another instructor's card
    // that names it ties nothing (the two cards below stay its only users), so neither they
    // nor anyone who sees their deck is served the file.
    let other = crate::classes::make_instructor(&admin, "teacher2").await;
    let r = upload(&other, "own.tsv", b"own\tcard\n".to_vec(), "Own", "tsv").await;
    assert!(r.text().await.unwrap().contains("Imported"));
    let own = deck_id(&admin, "Own").await;
    let back = format!(r#"<img src="{image}">"#);
    other
        .submit(
            &format!("/decks/{own}/edit"),
            &format!("/decks/{own}/cards"),
            &[
                ("front", "borrowed"),
                ("back", &back),
                ("tags", ""),
                ("format", "html"),
            ],
        )
        .await;
    let tied: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM card_media m JOIN cards c ON c.id = m.card_id WHERE c.deck_id = $1",
    )
    .bind(own)
    .fetch_one(&admin.pool().await)
    .await
    .unwrap();
    assert_eq!(tied, 0);
    assert_eq!(other.get(&image).await.status(), StatusCode::NOT_FOUND);
    // Once the deck is theirs, the same address serves the same bytes.
    let (class, code) = crate::classes::new_class(&teacher, "Vision class").await;
    crate::classes::assign(&teacher, class, deck).await;
    crate::classes::join(&student, &code).await;
    let r = student.get(&image).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), diagram.as_slice());

    // An image goes with the last card that uses it, not before.
    let stored = |hash: String| {
        let admin = &admin;
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM media WHERE hash = $1")
                .bind(hash)
                .fetch_one(&admin.pool().await)
                .await
                .unwrap()
        }
    };
    let users: Vec<i64> =
        sqlx::query_scalar("SELECT card_id FROM card_media WHERE hash = $1 ORDER BY card_id")
            .bind(sha256(&diagram))
            .fetch_all(&admin.pool().await)
            .await
            .unwrap();
    assert_eq!(users.len(), 2);
    for (n, card) in users.iter().enumerate() {
        let path = format!("/cards/{card}/delete");
        let r = teacher.submit(&path, &path, &[("confirm", "yes")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let left = stored(sha256(&diagram)).await;
        assert_eq!(left, if n == 0 { 1 } else { 0 }, "after deleting card {n}");
    }
    assert_eq!(teacher.get(&image).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(stored(sha256(&mp3)).await, 1, "the sound's card stays");
}

#[tokio::test]
async fn a_package_larger_than_the_old_two_mib_limit_imports_with_its_images() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    // Three 3 MiB images (a PNG header, then bytes that do not compress): 9 MiB of package.
    let images: Vec<Vec<u8>> = (0..3u32)
        .map(|n| {
            let mut b = png(1200, 900, &format!("slide {n}"));
            let mut x: u32 = 0x9E37_79B9 ^ n;
            b.extend((0..3 * 1024 * 1024).map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            }));
            b
        })
        .collect();
    let names = ["slide0.png", "slide1.png", "slide2.png"];
    let notes: Vec<(String, String)> = names
        .iter()
        .map(|n| (format!("Slide {n}"), format!(r#"<img src="{n}">"#)))
        .collect();
    let files: Vec<(&str, Vec<u8>)> = names.iter().copied().zip(images.clone()).collect();
    let bytes = package_with_media(&notes, &files).await;
    assert!(bytes.len() > 9 * 1024 * 1024, "{} bytes", bytes.len());
    let form = app.get_html("/admin/import").await;
    assert!(form.contains("Anki packages up to 200 MiB."), "{form}");
    let r = upload(&app, "slides.apkg", bytes, "Slides", "").await;
    let page = r.text().await.unwrap();
    assert!(page.contains("Imported 3 new cards"), "{page}");
    for image in &images {
        let r = app.get(&format!("/media/{}", sha256(image))).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.bytes().await.unwrap().as_ref(), image.as_slice());
    }
}

#[tokio::test]
async fn a_cloze_note_becomes_one_card_per_deletion_each_with_its_own_schedule() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let text = "{{c1::ReLU}} keeps {{c2::positive::sign}} inputs; {{c1::it}} zeroes the rest";
    // A Cloze note (a Basic note's braces are text, as Anki shows them).
    let notes = vec![studyhall::db::anki::AnkiNote::Cloze {
        text: text.to_owned(),
        extra: String::new(),
        numbers: vec![1, 2],
    }];
    let r = upload(
        &app,
        "cloze.apkg",
        package_of_notes(&notes, &[]).await,
        "Cloze",
        "",
    )
    .await;
    let page = r.text().await.unwrap();
    assert!(page.contains("Imported 2 new cards"), "{page}");
    let deck = deck_id(&app, "Cloze").await;
    let cards: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, front, back FROM cards WHERE deck_id = $1 ORDER BY position")
            .bind(deck)
            .fetch_all(&app.pool().await)
            .await
            .unwrap();
    assert_eq!(cards.len(), 2);
    assert_eq!(
        cards[0].1,
        "<b>[...]</b> keeps positive inputs; <b>[...]</b> zeroes the rest"
    );
    assert_eq!(
        cards[0].2,
        "<b>ReLU</b> keeps positive inputs; <b>it</b> zeroes the rest"
    );
    assert_eq!(
        cards[1].1,
        "ReLU keeps <b>[sign]</b> inputs; it zeroes the rest"
    );
    // Each is a card of its own: the review page shows the first, its front hiding the answer.
    let review = app.get_html(&format!("/review?deck={deck}")).await;
    assert!(
        review.contains("<b>[...]</b> keeps positive inputs"),
        "{review}"
    );
    let card = app.get_html(&format!("/cards/{}", cards[1].0)).await;
    assert!(card.contains("ReLU keeps <b>positive</b> inputs"), "{card}");
}

#[tokio::test]
async fn the_command_line_imports_a_package_with_its_images() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let diagram = png(64, 48, "cli");
    let notes = vec![("Drawn".to_owned(), r#"<img src="d.png">"#.to_owned())];
    let bytes = package_with_media(&notes, &[("d.png", diagram.clone())]).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("course.apkg");
    std::fs::write(&path, bytes).unwrap();
    let report = studyhall::cli::import_file(app.db().await.writer(), &path, "From CLI", None)
        .await
        .unwrap();
    assert_eq!(report.added, 1);
    let r = app.get(&format!("/media/{}", sha256(&diagram))).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "the admin sees the public deck's image"
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), diagram.as_slice());
}

#[tokio::test]
async fn an_anki_export_carries_the_media_and_imports_back_to_the_same_cards() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let diagram = png(64, 48, "export");
    let mp3 = b"ID3\x04\0\0\0\0\0\0export sound".to_vec();
    let notes = vec![
        (
            "<b>Drawn</b>".to_owned(),
            r#"<img src="d.png" alt="The net">"#.to_owned(),
        ),
        ("Heard".to_owned(), "[sound:s.mp3]".to_owned()),
        ("Plain".to_owned(), "text".to_owned()),
    ];
    let bytes = package_with_media(
        &notes,
        &[("d.png", diagram.clone()), ("s.mp3", mp3.clone())],
    )
    .await;
    let r = upload(&app, "course.apkg", bytes, "Round", "").await;
    assert!(r.text().await.unwrap().contains("Imported 3 new cards"));
    let deck = deck_id(&app, "Round").await;
    let exported = app.get(&format!("/decks/{deck}/export.apkg")).await;
    assert_eq!(exported.status(), StatusCode::OK);
    let exported = exported.bytes().await.unwrap().to_vec();
    let media = studyhall::import::apkg::media(&exported).unwrap();
    let mut hashes: Vec<String> = media.files.iter().map(|f| f.checked.hash.clone()).collect();
    hashes.sort();
    let mut want = vec![sha256(&diagram), sha256(&mp3)];
    want.sort();
    assert_eq!(hashes, want, "both files travel with the deck");

    let r = upload(&app, "round.apkg", exported, "Round again", "").await;
    assert!(r.text().await.unwrap().contains("Imported 3 new cards"));
    let cards = |name: &'static str| {
        let app = &app;
        async move {
            sqlx::query_as::<_, (String, String, String)>(
                "SELECT c.front, c.back, c.format FROM cards c JOIN decks d ON d.id = c.deck_id
                 WHERE d.name = $1 ORDER BY c.position",
            )
            .bind(name)
            .fetch_all(&app.pool().await)
            .await
            .unwrap()
        }
    };
    assert_eq!(cards("Round").await, cards("Round again").await);
}

/// A legacy Anki package of `notes` (Basic, Basic and reversed, Cloze) with `files`.
pub(crate) async fn package_of_notes(
    notes: &[studyhall::db::anki::AnkiNote],
    files: &[(&str, Vec<u8>)],
) -> Vec<u8> {
    let collection = studyhall::db::anki::write_notes("Course", notes, 1_700_000_000_000)
        .await
        .unwrap();
    let files: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(n, b)| ((*n).to_owned(), b.clone()))
        .collect();
    studyhall::import::apkg::package_with_media(&collection, &files).unwrap()
}

#[tokio::test]
async fn reversed_notes_make_two_cards_and_a_packages_other_files_round_trip() {
    use studyhall::db::anki::AnkiNote;
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let student = admin.other_browser();
    student.register_ok("student").await;
    let font = b"\0\x01\0\0 a template's font".to_vec();
    let clip = b"\x1aE\xdf\xa3 a webm clip".to_vec();
    let spare = png(8, 8, "spare");
    let notes = vec![
        AnkiNote::Basic {
            front: "Plain".to_owned(),
            back: "text".to_owned(),
        },
        AnkiNote::Reversed {
            front: "dog".to_owned(),
            back: "Hund".to_owned(),
        },
        AnkiNote::Reversed {
            front: "<b>cat</b>".to_owned(),
            back: "Katze [sound:clip.webm]".to_owned(),
        },
    ];
    let files = [
        ("_font.ttf", font.clone()),
        ("clip.webm", clip.clone()),
        ("spare.png", spare.clone()),
    ];
    let bytes = package_of_notes(&notes, &files).await;

    let preview = upload_to(
        &admin,
        "/admin/import/preview",
        "course.apkg",
        bytes.clone(),
        "Pets",
        "",
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        preview.contains("2 notes of type &#39;Basic and reversed card (studyhall)&#39; became 4 cards: front to back and back to front, each with its own schedule.")
            || preview.contains("2 notes of type &#x27;Basic and reversed card (studyhall)&#x27; became 4 cards: front to back and back to front, each with its own schedule."),
        "{preview}"
    );
    assert!(preview.contains("3 media files that no card shows are kept with the deck"));

    // Confirmed from the preview, as the import page does.
    let token = preview
        .split("name=\"token\" value=\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .expect("the preview's confirmation form");
    let r = admin
        .submit(
            "/admin/import",
            "/admin/import/confirm",
            &[("token", token)],
        )
        .await;
    let done = if r.status() == StatusCode::SEE_OTHER {
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        admin.get_html(&location).await
    } else {
        r.text().await.unwrap()
    };
    assert!(done.contains("Imported 5 new cards"), "{done}");
    assert!(done.contains("3 files no card shows are kept"), "{done}");
    let deck = deck_id(&admin, "Pets").await;
    let pool = admin.pool().await;
    let cards: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, front, back FROM cards WHERE deck_id = $1 ORDER BY position")
            .bind(deck)
            .fetch_all(&pool)
            .await
            .unwrap();
    let sides: Vec<(&str, &str)> = cards
        .iter()
        .map(|(_, f, b)| (f.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        sides,
        vec![
            ("Plain", "text"),
            ("dog", "Hund"),
            ("Hund", "dog"),
            ("<b>cat</b>", "Katze [sound: clip.webm]"),
            ("Katze [sound: clip.webm]", "<b>cat</b>"),
        ]
    );
    // Two cards, two schedules: grading the forward card leaves its reverse new.
    let forward = cards[1].0;
    for card in [cards[0].0, forward] {
        let r = admin
            .submit(
                &format!("/review?deck={deck}"),
                &format!("/review/{card}"),
                &[("quality", "5")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "grading card {card}");
    }
    let states: Vec<i64> = sqlx::query_scalar(
        "SELECT card_id FROM review_states WHERE card_id IN ($1, $2) ORDER BY card_id",
    )
    .bind(cards[1].0)
    .bind(cards[2].0)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(states, vec![forward], "only the graded card has a schedule");

    // The files no card shows are kept with the deck, and never served: not even the PNG to
    // a student of a class the deck is assigned to.
    let kept: Vec<(String, String)> =
        sqlx::query_as("SELECT name, hash FROM deck_media WHERE deck_id = $1 ORDER BY name")
            .bind(deck)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        kept,
        vec![
            ("_font.ttf".to_owned(), sha256(&font)),
            ("clip.webm".to_owned(), sha256(&clip)),
            ("spare.png".to_owned(), sha256(&spare)),
        ]
    );
    let (class, code) = crate::classes::new_class(&admin, "Pets class").await;
    crate::classes::assign(&admin, class, deck).await;
    crate::classes::join(&student, &code).await;
    for (_, hash) in &kept {
        let r = student.get(&format!("/media/{hash}")).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{hash}");
    }
    assert_eq!(
        admin
            .get(&format!("/media/{}", sha256(&font)))
            .await
            .status(),
        StatusCode::NOT_FOUND,
        "a type not served here is never served"
    );

    // The export carries every file back under its name, and the mirrored cards as one
    // Basic and reversed note.
    let exported = admin.get(&format!("/decks/{deck}/export.apkg")).await;
    assert_eq!(exported.status(), StatusCode::OK);
    let exported = exported.bytes().await.unwrap().to_vec();
    let media = studyhall::import::apkg::media(&exported).unwrap();
    let mut carried: Vec<(String, Vec<u8>)> = media
        .files
        .iter()
        .map(|f| (f.name.clone(), f.bytes.clone()))
        .chain(
            media
                .unserved
                .iter()
                .map(|(n, b, _)| (n.clone(), b.clone())),
        )
        .collect();
    carried.sort();
    assert_eq!(
        carried,
        vec![
            ("_font.ttf".to_owned(), font.clone()),
            ("clip.webm".to_owned(), clip.clone()),
            ("spare.png".to_owned(), spare.clone()),
        ]
    );
    // A student of the class may export the deck, but the files it keeps (never served)
    // stay behind: only whoever may edit the deck gets them.
    let theirs = student.get(&format!("/decks/{deck}/export.apkg")).await;
    assert_eq!(theirs.status(), StatusCode::OK);
    let theirs = studyhall::import::apkg::media(&theirs.bytes().await.unwrap()).unwrap();
    let names: Vec<&str> = theirs
        .files
        .iter()
        .map(|f| f.name.as_str())
        .chain(theirs.unserved.iter().map(|(n, _, _)| n.as_str()))
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| ["_font.ttf", "clip.webm", "spare.png"].contains(n)),
        "{names:?}"
    );
    let collection = studyhall::import::apkg::collection(&exported).unwrap();
    let (notes, types) = studyhall::db::anki::read_package(&collection)
        .await
        .unwrap();
    assert_eq!(notes.len(), 3, "{notes:?}");
    let reversed: Vec<&Vec<String>> = notes
        .iter()
        .filter(|n| {
            types
                .iter()
                .any(|t| Some(t.id) == n.type_id && t.fronts.len() == 2)
        })
        .map(|n| &n.fields)
        .collect();
    assert_eq!(reversed.len(), 2, "{notes:?}");

    // Imported again: into the same deck nothing is new; into a new deck the same cards
    // and the same kept files.
    let r = upload(&admin, "pets.apkg", exported.clone(), "Pets", "").await;
    let html = r.text().await.unwrap();
    assert!(html.contains("Imported 0 new cards"), "{html}");
    let r = upload(&admin, "pets.apkg", exported, "Pets again", "").await;
    assert!(r.text().await.unwrap().contains("Imported 5 new cards"));
    let again = deck_id(&admin, "Pets again").await;
    let sides_of = |deck: i64| {
        let pool = pool.clone();
        async move {
            sqlx::query_as::<_, (String, String)>(
                "SELECT front, back FROM cards WHERE deck_id = $1 ORDER BY position",
            )
            .bind(deck)
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(sides_of(deck).await, sides_of(again).await);
    let kept_again: Vec<(String, String)> =
        sqlx::query_as("SELECT name, hash FROM deck_media WHERE deck_id = $1 ORDER BY name")
            .bind(again)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(kept_again, kept);

    // A kept file goes with the last deck that keeps it.
    let stored = |hash: String| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM media WHERE hash = $1")
                .bind(hash)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    for (n, d) in [deck, again].into_iter().enumerate() {
        let path = format!("/decks/{d}/delete");
        let r = admin.submit(&path, &path, &[("confirm", "yes")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "deleting deck {d}");
        assert_eq!(
            stored(sha256(&font)).await,
            if n == 0 { 1 } else { 0 },
            "after deleting deck {d}"
        );
    }
}

/// Posts the editor's new-card form with an image, as the "Upload image and preview" button
/// sends it (multipart).
pub(crate) async fn upload_image(
    app: &TestApp,
    deck: i64,
    fields: &[(&str, &str)],
    image: Vec<u8>,
) -> reqwest::Response {
    upload_image_to(app, &format!("/decks/{deck}/cards/image"), fields, image).await
}

/// Posts a card form with an image to `path` (multipart).
pub(crate) async fn upload_image_to(
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    image: Vec<u8>,
) -> reqwest::Response {
    use reqwest::multipart::{Form, Part};
    // The session's token, from a page every account sees.
    let account = app.get_html("/account").await;
    let mut form = Form::new().text("csrf_token", crate::helpers::csrf_in(&account));
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    form = form.part("image", Part::bytes(image).file_name("net.png"));
    app.client
        .post(app.url(path))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_editor_uploads_an_image_into_a_card_previews_it_and_the_image_goes_with_its_last_card()
{
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let student = admin.other_browser();
    student.register_ok("student").await;
    let r = admin
        .submit("/decks", "/decks", &[("name", "Pictures")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let deck = deck_id(&admin, "Pictures").await;
    let editor = admin.get_html(&format!("/decks/{deck}/edit")).await;
    assert!(
        editor.contains(&format!(
            r#"formaction="/decks/{deck}/cards/image#card-preview" formenctype="multipart/form-data""#
        )) && editor.contains(r#"type="file" name="image""#),
        "{editor}"
    );

    // Uploaded with the card's text: the form comes back with the image in the back (the
    // plain text turned to HTML) and the card previewed with it; nothing is saved yet.
    let image = png(64, 48, "network");
    let hash = sha256(&image);
    let r = upload_image(
        &admin,
        deck,
        &[
            ("front", "The network & its layers"),
            ("back", "drawn below"),
            ("format", "text"),
            ("image_alt", "The network, drawn"),
        ],
        image.clone(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let element = format!(r#"<img src="/media/{hash}" alt="The network, drawn">"#);
    let preview = &html[html.find("id=\"card-preview\"").expect("a preview")..];
    assert!(preview.contains(&element), "{preview}");
    assert!(html.contains(r#"<option value="html" selected>"#), "{html}");
    assert!(
        html.contains("The network &#38;amp; its layers</textarea>"),
        "{html}"
    );
    let cards: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cards WHERE deck_id = $1")
        .bind(deck)
        .fetch_one(&admin.pool().await)
        .await
        .unwrap();
    assert_eq!(cards, 0);
    // Its uploader sees it for the preview; nobody else does until a card uses it.
    assert_eq!(
        admin.get(&format!("/media/{hash}")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        student.get(&format!("/media/{hash}")).await.status(),
        StatusCode::NOT_FOUND
    );

    // Saved, the card references /media/<hash> and its students get the file byte for byte.
    let back = format!("drawn below<br>{element}");
    let r = admin
        .submit(
            &format!("/decks/{deck}/edit"),
            &format!("/decks/{deck}/cards"),
            &[
                ("front", "The network &amp; its layers"),
                ("back", &back),
                ("format", "html"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (card, stored): (i64, String) =
        sqlx::query_as("SELECT id, back FROM cards WHERE deck_id = $1")
            .bind(deck)
            .fetch_one(&admin.pool().await)
            .await
            .unwrap();
    assert!(stored.contains(&format!("/media/{hash}")), "{stored}");
    let r = student.get(&format!("/media/{hash}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), image.as_slice());
    // The card's own page (the edit page's "View") shows it rendered.
    assert!(
        student
            .get_html(&format!("/cards/{card}"))
            .await
            .contains(&element)
    );

    // A file that is not an image is refused with why, and the text typed stays.
    let r = upload_image(
        &admin,
        deck,
        &[("front", "Sound"), ("back", "kept"), ("format", "text")],
        b"ID3\x04\0\0\0\0\0\0sound".to_vec(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("The image was not kept"), "{html}");
    assert!(html.contains(">kept</textarea>"), "{html}");
    // Nobody who may not edit the deck uploads into it.
    let r = upload_image(&student, deck, &[("front", "x")], png(4, 4, "x")).await;
    assert!(
        matches!(r.status(), StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
        "{}",
        r.status()
    );

    // The image no card uses any more goes with its last card.
    let r = admin
        .submit(
            &format!("/cards/{card}/delete"),
            &format!("/cards/{card}/delete"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM media WHERE hash = $1")
        .bind(&hash)
        .fetch_one(&admin.pool().await)
        .await
        .unwrap();
    assert_eq!(kept, 0);
    assert_eq!(
        student.get(&format!("/media/{hash}")).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_image_uploaded_on_a_cards_edit_form_replaces_or_joins_its_images() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = crate::classes::make_instructor(&admin, "teacher").await;
    let student = admin.other_browser();
    student.register_ok("student").await;
    let outsider = admin.other_browser();
    outsider.register_ok("outsider").await;
    let old = png(32, 32, "old");
    let shared = png(16, 16, "shared");
    let notes = vec![
        (
            "Net".to_owned(),
            r#"drawn <img src="old.png" alt="old drawing"> and <img src="shared.png">"#.to_owned(),
        ),
        ("Other".to_owned(), r#"<img src="shared.png">"#.to_owned()),
    ];
    let bytes = package_with_media(
        &notes,
        &[("old.png", old.clone()), ("shared.png", shared.clone())],
    )
    .await;
    let r = upload(&teacher, "net.apkg", bytes, "Nets", "").await;
    assert!(r.text().await.unwrap().contains("Imported 2 new cards"));
    let deck = deck_id(&admin, "Nets").await;
    let (class, code) = crate::classes::new_class(&teacher, "Nets class").await;
    crate::classes::assign(&teacher, class, deck).await;
    crate::classes::join(&student, &code).await;
    let (card, back): (i64, String) =
        sqlx::query_as("SELECT id, back FROM cards WHERE deck_id = $1 AND front = 'Net'")
            .bind(deck)
            .fetch_one(&admin.pool().await)
            .await
            .unwrap();
    let editor = teacher.get_html(&format!("/decks/{deck}/edit")).await;
    assert!(
        editor.contains(&format!(
            r#"formaction="/cards/{card}/image#edit-preview" formenctype="multipart/form-data""#
        )),
        "{editor}"
    );

    // Uploaded in place of the back's images: previewed, nothing saved yet.
    let new = png(64, 48, "new");
    let hash = sha256(&new);
    let r = upload_image_to(
        &teacher,
        &format!("/cards/{card}/image"),
        &[
            ("front", "Net"),
            ("back", &back),
            ("format", "html"),
            ("image_alt", "the new drawing"),
            ("image_replace", "1"),
        ],
        new.clone(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let element = format!(r#"<img src="/media/{hash}" alt="the new drawing">"#);
    let preview = &html[html.find("id=\"edit-preview\"").expect("a preview")..];
    assert!(preview.contains(&element), "{preview}");
    assert!(
        !preview.contains(&sha256(&old)),
        "the old image is replaced: {preview}"
    );
    let stored: String = sqlx::query_scalar("SELECT back FROM cards WHERE id = $1")
        .bind(card)
        .fetch_one(&admin.pool().await)
        .await
        .unwrap();
    assert_eq!(stored, back, "nothing saved by the upload");
    assert_eq!(
        student.get(&format!("/media/{hash}")).await.status(),
        StatusCode::NOT_FOUND
    );

    // Saved: the card shows the new image; the old one, which no other card used, is gone;
    // the one another card shows stays.
    let new_back = format!("drawn  and <br>{element}");
    let r = teacher
        .submit(
            &format!("/decks/{deck}/edit"),
            &format!("/cards/{card}/edit"),
            &[("front", "Net"), ("back", &new_back), ("format", "html")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let count = |hash: String| {
        let admin = &admin;
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM media WHERE hash = $1")
                .bind(hash)
                .fetch_one(&admin.pool().await)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        count(sha256(&old)).await,
        0,
        "the old image goes with its last card"
    );
    assert_eq!(
        count(sha256(&shared)).await,
        1,
        "an image another card shows stays"
    );
    assert_eq!(count(hash.clone()).await, 1);
    let r = student.get(&format!("/media/{hash}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), new.as_slice());
    // A student of another class, or of none: 404.
    assert_eq!(
        outsider.get(&format!("/media/{hash}")).await.status(),
        StatusCode::NOT_FOUND
    );

    // Uploaded without replacing: the image joins the one there.
    let more = png(8, 8, "more");
    let r = upload_image_to(
        &teacher,
        &format!("/cards/{card}/image"),
        &[("front", "Net"), ("back", &new_back), ("format", "html")],
        more.clone(),
    )
    .await;
    let html = r.text().await.unwrap();
    let preview = &html[html.find("id=\"edit-preview\"").expect("a preview")..];
    assert!(
        preview.contains(&element) && preview.contains(&sha256(&more)),
        "{preview}"
    );

    // A save the rules refuse shows the editor again with the text as typed and why.
    let r = teacher
        .submit(
            &format!("/decks/{deck}/edit"),
            &format!("/cards/{card}/edit"),
            &[("front", "Typed front"), ("back", " "), ("format", "html")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("Typed front</textarea>"), "{html}");
    assert!(html.contains("cannot be empty"), "{html}");
    assert!(
        !html.contains("id=\"edit-preview\""),
        "no preview of refused text"
    );

    // Someone who may not edit the deck cannot upload into its card.
    let r = upload_image_to(
        &student,
        &format!("/cards/{card}/image"),
        &[("front", "Net"), ("back", "x"), ("format", "html")],
        png(4, 4, "theirs"),
    )
    .await;
    assert!(
        r.status() == StatusCode::NOT_FOUND || r.status() == StatusCode::FORBIDDEN,
        "{}",
        r.status()
    );
    assert_eq!(count(sha256(&png(4, 4, "theirs"))).await, 0);
}

#[tokio::test]
async fn tex_in_a_front_shows_as_math_on_deck_pages_and_lists_not_as_source() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let r = app.submit("/decks", "/decks", &[("name", "Math")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let deck = deck_id(&app, "Math").await;
    for (front, format) in [
        (r"Loss \(\frac{a}{b}\) & more", "text"),
        (r"<b>Floor</b> \(\lfloor x \rfloor\)", "html"),
    ] {
        let r = app
            .submit(
                &format!("/decks/{deck}/edit"),
                &format!("/decks/{deck}/cards"),
                &[("front", front), ("back", "b"), ("format", format)],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let page = app.get_html(&format!("/decks/{deck}")).await;
    assert!(
        !page.contains(r"\frac") && !page.contains(r"\lfloor"),
        "{page}"
    );
    assert!(
        page.contains("Loss <span class=\"formula\"><math"),
        "{page}"
    );
    assert!(
        page.contains("<mfrac>") && page.contains("&amp; more"),
        "{page}"
    );
    assert!(
        page.contains("Floor <span class=\"formula\"><math"),
        "{page}"
    );
    assert!(
        !page.contains("<b>Floor"),
        "a list line is plain text: {page}"
    );
}

/// The table tags of a WOFF2 font's directory (WOFF2 section 5.2: a flags byte whose low six
/// bits index the known tags, 63 for a tag written out, then base-128 lengths).
fn woff2_tables(font: &[u8]) -> Vec<String> {
    const KNOWN: [&str; 32] = [
        "cmap", "head", "hhea", "hmtx", "maxp", "name", "OS/2", "post", "cvt ", "fpgm", "glyf",
        "loca", "prep", "CFF ", "VORG", "EBDT", "EBLC", "gasp", "hdmx", "kern", "LTSH", "PCLT",
        "VDMX", "vhea", "vmtx", "BASE", "GDEF", "GPOS", "GSUB", "EBSC", "JSTF", "MATH",
    ];
    let count = u16::from_be_bytes([font[12], font[13]]);
    let mut at = 48;
    let base128 = |at: &mut usize| {
        let mut value: u64 = 0;
        loop {
            let byte = font[*at];
            *at += 1;
            value = (value << 7) | u64::from(byte & 0x7f);
            if byte & 0x80 == 0 {
                return value;
            }
        }
    };
    let mut tags = Vec::new();
    for _ in 0..count {
        let flags = font[at];
        at += 1;
        let tag = if flags & 0x3f == 63 {
            let tag = String::from_utf8_lossy(&font[at..at + 4]).into_owned();
            at += 4;
            tag
        } else {
            KNOWN
                .get(usize::from(flags & 0x3f))
                .unwrap_or(&"?")
                .to_string()
        };
        base128(&mut at);
        let version = flags >> 6;
        let transformed = if tag == "glyf" || tag == "loca" {
            version == 0
        } else {
            version != 0
        };
        if transformed {
            base128(&mut at);
        }
        tags.push(tag);
    }
    tags
}

#[tokio::test]
async fn a_math_font_with_a_math_table_is_served_by_hash_for_math_only() {
    let app = spawn_app().await;
    let page = app.get_html("/login").await;
    let at = page.find("/static/app.css?v=").expect("the stylesheet");
    let css_url = &page[at..at + page[at..].find('"').unwrap()];
    let css = app.get(css_url).await.text().await.unwrap();
    let at = css
        .find("/static/math.woff2?v=")
        .expect("the font, by its hash");
    let font_url = &css[at..at + css[at..].find('"').unwrap()];
    assert!(
        css.contains(&format!(
            r#"@font-face {{ font-family: "studyhall math"; src: url("{font_url}") format("woff2")"#
        )) && css.contains(r#"math { font-family: "studyhall math", math;"#),
        "{css}"
    );
    assert_eq!(
        css.matches("studyhall math").count(),
        2,
        "the font is declared once and used for math only"
    );
    let r = app.get(font_url).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "font/woff2");
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let font = r.bytes().await.unwrap();
    assert!(font.starts_with(b"wOF2"));
    let tables = woff2_tables(&font);
    assert!(tables.contains(&"MATH".to_owned()), "{tables:?}");
}

/// The addresses a page makes the browser fetch: its scripts', images' and sounds' `src`,
/// and its stylesheets' and icons' `href`.
fn subresources(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tag in tags_of(html) {
        let name: String = tag[1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let attribute = match name.as_str() {
            "script" | "img" | "audio" | "source" => "src=\"",
            "link" => "href=\"",
            _ => continue,
        };
        if let Some(at) = tag.find(attribute) {
            let value = &tag[at + attribute.len()..];
            out.push(value[..value.find('"').unwrap_or(value.len())].to_owned());
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn a_card_with_an_image_costs_the_review_page_one_extra_request_cached_for_good() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let mut decks = Vec::new();
    for name in ["Plain", "Pictured"] {
        let r = app.submit("/decks", "/decks", &[("name", name)]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        decks.push(deck_id(&app, name).await);
    }
    let image = png(32, 32, "review");
    let hash = sha256(&image);
    let r = upload_image(&app, decks[1], &[("front", "f"), ("back", "b")], image).await;
    assert_eq!(r.status(), StatusCode::OK);
    let element = format!(r#"<img src="/media/{hash}" alt="net.png">"#);
    for (deck, front, format) in [
        (
            decks[0],
            "What does a residual block add?".to_owned(),
            "text",
        ),
        (
            decks[1],
            format!("What does a residual block add? {element}"),
            "html",
        ),
    ] {
        let r = app
            .submit(
                &format!("/decks/{deck}/edit"),
                &format!("/decks/{deck}/cards"),
                &[("front", &front), ("back", "the input"), ("format", format)],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let plain = app.get_html(&format!("/review?deck={}", decks[0])).await;
    let pictured = app.get_html(&format!("/review?deck={}", decks[1])).await;
    let (plain, pictured) = (subresources(&plain), subresources(&pictured));
    let mut expected = plain.clone();
    expected.push(format!("/media/{hash}"));
    expected.sort();
    assert_eq!(pictured, expected, "one request more: the image");
    // That request is answered once and cached for good (its address is its content's hash).
    let r = app.get(&format!("/media/{hash}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["cache-control"],
        "private, max-age=31536000, immutable"
    );
    assert_eq!(r.headers()["etag"], format!("\"{hash}\"").as_str());
}

/// Previews `bytes` as deck `deck` for `who`; returns the confirmation's token.
pub(crate) async fn preview_package(who: &TestApp, bytes: Vec<u8>, deck: &str) -> String {
    let r = upload_to(who, "/admin/import/preview", "course.apkg", bytes, deck, "").await;
    assert_eq!(r.status(), StatusCode::OK);
    crate::decks_and_import::preview_token(&r.text().await.unwrap())
}

/// Confirms `who`'s preview `token`.
pub(crate) async fn confirm_preview(who: &TestApp, token: &str) {
    let r = who
        .submit(
            "/admin/import",
            "/admin/import/confirm",
            &[("token", token)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let done = r.text().await.unwrap();
    assert!(done.contains("Imported 1 new card"), "{done}");
}

#[tokio::test]
async fn a_confirmed_preview_ties_its_images_whoever_last_brought_them() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let student = admin.other_browser();
    student.register_ok("student").await;
    let diagram = png(64, 48, "confirmed");
    let image = format!("/media/{}", sha256(&diagram));
    let package = |front: &str| {
        let notes = vec![(front.to_owned(), r#"<img src="net.png">"#.to_owned())];
        let files = vec![("net.png", diagram.clone())];
        async move { package_with_media(&notes, &files).await }
    };

    // An admin's preview confirmed into the shipped deck (which has no owner): its students
    // are served the image.
    let token = preview_package(&admin, package("Shipped net").await, "CS 7643 Quiz 3").await;
    confirm_preview(&admin, &token).await;
    let tied: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM card_media m JOIN cards c ON c.id = m.card_id
         JOIN decks d ON d.id = c.deck_id WHERE d.name = 'CS 7643 Quiz 3' AND m.hash = $1",
    )
    .bind(sha256(&diagram))
    .fetch_one(&admin.pool().await)
    .await
    .unwrap();
    assert_eq!(tied, 1);
    assert_eq!(student.get(&image).await.status(), StatusCode::OK);

    // Instructor A previews, B previews the same package (B is now its latest uploader), A
    // confirms: A's card still ties the image, so A's students are served it.
    let other = spawn_app().await;
    other.register_ok("admin").await;
    let a = crate::classes::make_instructor(&other, "teacher_a").await;
    let b = crate::classes::make_instructor(&other, "teacher_b").await;
    let pupil = other.other_browser();
    pupil.register_ok("pupil").await;
    let bytes = package("Course net").await;
    let token = preview_package(&a, bytes.clone(), "Vision").await;
    preview_package(&b, bytes, "Vision of B").await;
    confirm_preview(&a, &token).await;
    let deck = deck_id(&other, "Vision").await;
    let (class, code) = crate::classes::new_class(&a, "Vision class").await;
    crate::classes::assign(&a, class, deck).await;
    crate::classes::join(&pupil, &code).await;
    let r = pupil.get(&image).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), diagram.as_slice());
}

#[tokio::test]
async fn a_media_file_name_over_255_bytes_is_refused_and_named_not_kept() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let long = format!("{}.png", "é".repeat(150));
    assert!(long.len() > 255);
    let notes = vec![("Front".to_owned(), "Back".to_owned())];
    let files = vec![
        (long.as_str(), png(8, 8, "long name")),
        ("short.png", png(8, 8, "short name")),
    ];
    let bytes = package_with_media(&notes, &files).await;
    let preview = upload_to(
        &app,
        "/admin/import/preview",
        "long.apkg",
        bytes.clone(),
        "Long names",
        "",
    )
    .await;
    let preview = preview.text().await.unwrap();
    assert!(
        preview.contains("its name is longer than 255 bytes"),
        "{preview}"
    );
    let r = upload(&app, "long.apkg", bytes, "Long names", "").await;
    let done = r.text().await.unwrap();
    assert!(done.contains("Imported 1 new card"), "{done}");
    let kept: Vec<String> = sqlx::query_scalar(
        "SELECT m.name FROM deck_media m JOIN decks d ON d.id = m.deck_id
         WHERE d.name = 'Long names'",
    )
    .fetch_all(&app.pool().await)
    .await
    .unwrap();
    assert_eq!(kept, vec!["short.png".to_owned()]);
}

#[tokio::test]
async fn a_kept_image_with_alt_text_keeps_its_file_name_through_an_export() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let notes = vec![
        (
            "Scanned".to_owned(),
            r#"<img src="scan.tiff" alt="A scan [page 2]">"#.to_owned(),
        ),
        ("Bare".to_owned(), r#"<img src="scan.tiff">"#.to_owned()),
    ];
    let tiff = b"II*\0 a tiff, not served".to_vec();
    let bytes = package_with_media(&notes, &[("scan.tiff", tiff.clone())]).await;
    let r = upload(&app, "scan.apkg", bytes, "Scans", "").await;
    assert!(r.text().await.unwrap().contains("Imported 2 new cards"));
    let backs: Vec<String> = sqlx::query_scalar(
        "SELECT c.back FROM cards c JOIN decks d ON d.id = c.deck_id
         WHERE d.name = 'Scans' ORDER BY c.position",
    )
    .fetch_all(&app.pool().await)
    .await
    .unwrap();
    assert_eq!(
        backs,
        vec![
            "[image: scan.tiff; alt: A scan [page 2)]".to_owned(),
            "[image: scan.tiff]".to_owned()
        ]
    );

    // The export names the file again, with its alt text, and carries it.
    let deck = deck_id(&app, "Scans").await;
    let exported = app.get(&format!("/decks/{deck}/export.apkg")).await;
    assert_eq!(exported.status(), StatusCode::OK);
    let exported = exported.bytes().await.unwrap().to_vec();
    let collection = studyhall::import::apkg::collection(&exported).unwrap();
    let holds = |needle: &str| {
        collection
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    };
    assert!(holds(r#"<img src="scan.tiff" alt="A scan [page 2)">"#));
    assert!(holds(r#"<img src="scan.tiff">"#));
    assert!(!holds("[image: "), "no placeholder goes out");

    // Imported back: the same cards.
    let r = upload(&app, "again.apkg", exported, "Scans again", "").await;
    assert!(r.text().await.unwrap().contains("Imported 2 new cards"));
    let again: Vec<String> = sqlx::query_scalar(
        "SELECT c.back FROM cards c JOIN decks d ON d.id = c.deck_id
         WHERE d.name = 'Scans again' ORDER BY c.position",
    )
    .fetch_all(&app.pool().await)
    .await
    .unwrap();
    assert_eq!(again, backs);
}
