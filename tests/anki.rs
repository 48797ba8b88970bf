//! Anki interop with the real tools: packages made by genanki and by Anki itself are imported
//! through the upload form, and a deck is exported for Anki to read back. Run by
//! `scripts/anki-test`, which installs genanki and anki from PyPI in a virtual environment,
//! builds the packages before this test and reads the export with Anki after it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use helpers::{csrf_in, spawn_app};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use std::collections::HashMap;
use std::path::PathBuf;

#[tokio::test]
#[ignore = "needs genanki and anki from PyPI: run scripts/anki-test"]
async fn anki_packages_import_and_exports_open_in_anki() {
    let dir = PathBuf::from(std::env::var("STUDYHALL_ANKI_DIR").expect("run scripts/anki-test"));
    let expected: HashMap<String, Vec<(String, String)>> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected_import.json")).unwrap())
            .unwrap();
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let pool = app.pool().await;

    for (file, cards) in &expected {
        let deck = format!("Imported {file}");
        let form = Form::new()
            .text("csrf_token", csrf_in(&app.get_html("/admin/import").await))
            .text("deck", deck.clone())
            .text("format", "auto")
            .part(
                "file",
                Part::bytes(std::fs::read(dir.join(file)).unwrap()).file_name(file.clone()),
            );
        let response = app
            .client
            .post(app.url("/admin/import"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        let html = response.text().await.unwrap();
        assert!(
            html.contains(&format!("Imported {} new cards", cards.len())),
            "{file}: {html}"
        );
        let stored: Vec<(String, String)> = sqlx::query_as(
            "SELECT c.front, c.back FROM cards c JOIN decks d ON d.id = c.deck_id WHERE d.name = ?1 ORDER BY c.position",
        )
        .bind(&deck)
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(&stored, cards, "{file}");
    }

    // Course-like decks in Anki's modern default layout (collection.anki21b, zstd, protobuf
    // media index) and its legacy one: formatting kept, the image-only back and the sound
    // arrive, each file served back byte for byte.
    let rich: HashMap<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected_rich.json")).unwrap())
            .unwrap();
    for (file, want) in &rich {
        let deck = format!("Rich {file}");
        // The preview says how each note type was mapped and which files are kept.
        let form = Form::new()
            .text("csrf_token", csrf_in(&app.get_html("/admin/import").await))
            .text("deck", deck.clone())
            .text("format", "auto")
            .part(
                "file",
                Part::bytes(std::fs::read(dir.join(file)).unwrap()).file_name(file.clone()),
            );
        let preview = app
            .client
            .post(app.url("/admin/import/preview"))
            .multipart(form)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .replace("&#x27;", "'")
            .replace("&#39;", "'");
        for line in want["notes"].as_array().unwrap() {
            let line = line.as_str().unwrap();
            assert!(preview.contains(line), "{file}: no line {line}: {preview}");
        }
        assert!(
            preview.contains("2 media files that no card shows are kept with the deck"),
            "{file}: {preview}"
        );
        let form = Form::new()
            .text("csrf_token", csrf_in(&app.get_html("/admin/import").await))
            .text("deck", deck.clone())
            .text("format", "auto")
            .part(
                "file",
                Part::bytes(std::fs::read(dir.join(file)).unwrap()).file_name(file.clone()),
            );
        let html = app
            .client
            .post(app.url("/admin/import"))
            .multipart(form)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let count = want["cards"].as_u64().unwrap();
        assert!(
            html.contains(&format!("Imported {count} new cards")),
            "{file}: {html}"
        );
        let stored: Vec<String> = sqlx::query_scalar(
            "SELECT c.front || ' | ' || c.back FROM cards c JOIN decks d ON d.id = c.deck_id WHERE d.name = ?1",
        )
        .bind(&deck)
        .fetch_all(&pool)
        .await
        .unwrap();
        for part in want["contains"].as_array().unwrap() {
            let part = part.as_str().unwrap();
            assert!(
                stored.iter().any(|s| s.contains(part)),
                "{file}: no card holds {part}: {stored:?}"
            );
        }
        for (hash, name) in want["media"].as_object().unwrap() {
            let r = app.get(&format!("/media/{hash}")).await;
            assert_eq!(r.status(), StatusCode::OK, "{file}: {name}");
            let bytes = r.bytes().await.unwrap();
            assert_eq!(
                bytes.as_ref(),
                std::fs::read(dir.join(name.as_str().unwrap())).unwrap(),
                "{file}: {name} byte for byte"
            );
        }
        // The files no card shows are kept with the deck under their names, never served.
        let kept: Vec<(String, String)> = sqlx::query_as(
            "SELECT k.name, k.hash FROM deck_media k JOIN decks d ON d.id = k.deck_id
             WHERE d.name = ?1 ORDER BY k.name",
        )
        .bind(&deck)
        .fetch_all(&pool)
        .await
        .unwrap();
        let want_kept: Vec<(String, String)> = want["kept"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(n, h)| (n.clone(), h.as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(kept, want_kept, "{file}");
        for (name, hash) in &kept {
            let r = app.get(&format!("/media/{hash}")).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{file}: {name}");
        }
    }

    // The modern package's deck goes back to Anki with its media (tests/anki/read_back.py).
    let rich_deck: i64 = sqlx::query_scalar("SELECT id FROM decks WHERE name = 'Rich modern.apkg'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let response = app.get(&format!("/decks/{rich_deck}/export.apkg")).await;
    assert_eq!(response.status(), StatusCode::OK);
    std::fs::write(
        dir.join("exported_rich.apkg"),
        response.bytes().await.unwrap(),
    )
    .unwrap();

    // Export the course deck for Anki to read back (tests/anki/read_back.py).
    let response = app.get("/decks/1/export.apkg").await;
    assert_eq!(response.status(), StatusCode::OK);
    std::fs::write(dir.join("exported.apkg"), response.bytes().await.unwrap()).unwrap();
    let cards: Vec<(String, String)> =
        sqlx::query_as("SELECT front, back FROM cards WHERE deck_id = 1 ORDER BY position")
            .fetch_all(&pool)
            .await
            .unwrap();
    let expected_export = serde_json::json!({ "deck": "CS 7643 Quiz 3", "cards": cards });
    std::fs::write(
        dir.join("expected_export.json"),
        expected_export.to_string(),
    )
    .unwrap();
}
