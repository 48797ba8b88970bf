//! The review queue each server keeps per student (`study::review::QueueCache`): the answer
//! view and a reload are served from it, and no change to what the page shows outlives it,
//! whoever makes the change.

use crate::helpers::{TestApp, card_id_in, front_in, postgres_server, spawn_app, spawn_sqlite_app};
use std::time::Duration;

/// The shown card and its front, for GET `path`.
async fn shown(app: &TestApp, path: &str) -> (Option<i64>, Option<String>) {
    let html = app.get_html(path).await;
    (card_id_in(&html), front_in(&html))
}

/// GET `path` until `done` holds for what it shows: at once on SQLite (a kept queue is
/// checked against the versions the triggers keep), within a second on PostgreSQL (the
/// change's notice reaches the server's listener in well under that).
async fn soon(
    app: &TestApp,
    path: &str,
    done: impl Fn(&(Option<i64>, Option<String>)) -> bool,
) -> (Option<i64>, Option<String>) {
    let tries = if postgres_server().is_some() { 50 } else { 1 };
    let mut page = shown(app, path).await;
    for _ in 1..tries {
        if done(&page) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        page = shown(app, path).await;
    }
    page
}

async fn user_id(app: &TestApp, username: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(&app.pool().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_kept_queue_never_outlives_a_change_made_by_another_connection_or_a_grade() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let ada = user_id(&app, "ada").await;
    let (card, front) = shown(&app, "/review").await;
    let card = card.expect("a card is shown");
    assert!(front.is_some());
    // The answer view of the same card.
    assert_eq!(
        shown(&app, &format!("/review?show={card}")).await.0,
        Some(card)
    );

    // A card's text changed from outside this server (another process, an editor on another
    // server): the next view shows it.
    sqlx::query("UPDATE cards SET front = 'Changed from elsewhere' WHERE id = $1")
        .bind(card)
        .execute(&app.pool().await)
        .await
        .unwrap();
    let page = soon(&app, "/review", |p| {
        p.1.as_deref() == Some("Changed from elsewhere")
    })
    .await;
    assert_eq!(
        page,
        (Some(card), Some("Changed from elsewhere".to_owned()))
    );

    // The student's own card controls changed from outside: the suspended card leaves.
    sqlx::query("INSERT INTO card_controls (user_id, card_id, suspended_at) VALUES ($1, $2, 1)")
        .bind(ada)
        .bind(card)
        .execute(&app.pool().await)
        .await
        .unwrap();
    let page = soon(&app, "/review", |p| p.0 != Some(card)).await;
    let next = page.0.expect("another card is shown");
    assert_ne!(
        next, card,
        "a suspended card is not shown from a kept queue"
    );

    // A grade through this server: the page after it, at once, whatever the backend.
    assert_eq!(
        shown(&app, &format!("/review?show={next}")).await.0,
        Some(next)
    );
    let graded = app.grade_next(5, None).await;
    assert_eq!(graded, next);
    assert_ne!(shown(&app, "/review").await.0, Some(graded));
}

/// SQLite only: with the trigger that keeps the site's version dropped, a change to a card's
/// text goes unseen while the kept queue lives, which shows the page is served from it.
#[tokio::test]
async fn the_answer_view_is_served_from_the_kept_queue() {
    let app = spawn_sqlite_app().await;
    app.register_ok("ada").await;
    let (card, front) = shown(&app, "/review").await;
    let card = card.expect("a card is shown");
    let pool = app.pool().await;
    sqlx::query("DROP TRIGGER cards_update_queue")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE cards SET front = 'Unseen' WHERE id = $1")
        .bind(card)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        shown(&app, &format!("/review?show={card}")).await,
        (Some(card), front),
        "served from the kept queue"
    );
    // Any change the triggers still see (here a deck's) makes it read again.
    sqlx::query("UPDATE decks SET name = name")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        shown(&app, &format!("/review?show={card}")).await,
        (Some(card), Some("Unseen".to_owned()))
    );
}

/// Silences the triggers that tell of a student's grades (SQLite's versions, PostgreSQL's
/// notices), as if the news of a write had not arrived yet.
async fn silence_grade_news(app: &TestApp) {
    let pool = app.pool().await;
    let statements: &[&str] = if postgres_server().is_some() {
        &[
            "ALTER TABLE reviews DISABLE TRIGGER reviews_queue_insert",
            "ALTER TABLE review_states DISABLE TRIGGER review_states_queue_insert",
            "ALTER TABLE review_states DISABLE TRIGGER review_states_queue_update",
        ]
    } else {
        &[
            "DROP TRIGGER reviews_insert_queue",
            "DROP TRIGGER review_states_insert_queue",
            "DROP TRIGGER review_states_update_queue",
        ]
    };
    for sql in statements {
        sqlx::query(sqlx::AssertSqlSafe(*sql))
            .execute(&pool)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn the_page_after_a_write_on_the_same_server_reads_what_it_wrote_without_any_news() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    silence_grade_news(&app).await;
    let (card, _) = shown(&app, "/review").await;
    let card = card.expect("a card is shown");
    // The grade's request forgets her kept queue on this server when it is answered: the
    // plain page after it (without the redirect's marker) moves on.
    let graded = app.grade_next(5, None).await;
    assert_eq!(graded, card);
    let (next, _) = shown(&app, "/review").await;
    assert!(next.is_some_and(|id| id != graded), "{next:?}");
}

#[tokio::test]
async fn a_kept_queue_that_disagrees_with_the_request_is_read_again() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let ada = user_id(&app, "ada").await;
    silence_grade_news(&app).await;
    let (card, _) = shown(&app, "/review").await;
    let card = card.expect("a card is shown");
    // A grade written behind the server's back (another server, its notice not yet here).
    let pool = app.pool().await;
    sqlx::query(
        "INSERT INTO review_states (user_id, card_id, repetitions, easiness_hundredths,
            interval_days, due_day, lapses, last_reviewed_at)
         VALUES ($1, $2, 1, 250, 1, 999999, 0, 0)
         ON CONFLICT (user_id, card_id) DO UPDATE SET due_day = 999999",
    )
    .bind(ada)
    .bind(card)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        shown(&app, "/review").await.0,
        Some(card),
        "the copy is served"
    );
    // The grade's redirect names the card: the copy that still shows it is read again.
    let (next, _) = shown(&app, &format!("/review?graded={card}")).await;
    assert!(next.is_some_and(|id| id != card), "{next:?}");
    // The answer view of another card than the copy's is read again too.
    let (shown_now, _) = shown(&app, &format!("/review?show={card}")).await;
    assert_eq!(
        shown_now, next,
        "the answer view reads and shows the queue's head"
    );
}
