//! The test harness itself: what `helpers` promises every test (one pool per app, a fresh store
//! copied from a template that is migrated and seeded once per process).

use crate::helpers::{fresh_store, spawn_app};
use std::time::Duration;

#[tokio::test]
async fn a_test_app_opens_one_pool_that_its_browsers_and_calls_share() {
    let app = spawn_app().await;
    let other = app.other_browser();
    let first = app.pool().await;
    first.close().await;
    assert!(
        app.pool().await.is_closed(),
        "a second call gives the same pool"
    );
    assert!(other.pool().await.is_closed(), "so does another browser");
}

#[tokio::test]
async fn a_fresh_store_arrives_migrated_and_seeded_so_its_server_finds_nothing_to_do() {
    // The template exists (made now if this test is the process's first), and is older than
    // the app below by more than a second.
    let _ = fresh_store(&tempfile::tempdir().unwrap()).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before = jiff::Timestamp::now().as_second();
    let app = spawn_app().await;
    let seeded: String =
        sqlx::query_scalar("SELECT value FROM app_meta WHERE key = 'course_deck_imported'")
            .fetch_one(&app.pool().await)
            .await
            .unwrap();
    let seeded: i64 = seeded.parse().unwrap();
    assert!(
        seeded < before,
        "the shipped decks came with the copy ({seeded}), not from the server's start ({before})"
    );
    let shipped: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM decks")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    assert_eq!(
        shipped, 2,
        "the course deck and the practice deck, once each"
    );
}
