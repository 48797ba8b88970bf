//! Kill the real server with SIGKILL in the middle of a grading load, restart it on the same
//! file, and check that every grade answered with its 303 is in the history exactly once and
//! that SQLite's integrity check passes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::StatusCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod process;

use process::{sign_up, start};

const USERS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn grades_answered_before_a_sigkill_survive_it_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("durable.db");
    let (mut server, base) = start(&db).await;

    let mut students = Vec::new();
    for i in 0..USERS {
        students.push(sign_up(&base, &format!("student{i}")).await);
    }
    let cards: Vec<i64> = {
        let pool = studyhall::db::connect(&db).await.unwrap();
        let ids = sqlx::query_scalar("SELECT id FROM cards ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        ids
    };

    // Every student grades every card as fast as the server answers.
    let acknowledged: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let mut tasks = Vec::new();
    for (i, (client, token)) in students.into_iter().enumerate() {
        let (base, cards, acknowledged) = (base.clone(), cards.clone(), acknowledged.clone());
        tasks.push(tokio::spawn(async move {
            for card in cards {
                let form = [("csrf_token", token.as_str()), ("quality", "4")];
                match client
                    .post(format!("{base}/review/{card}"))
                    .form(&form)
                    .send()
                    .await
                {
                    Ok(r) if r.status() == StatusCode::SEE_OTHER => {
                        acknowledged
                            .lock()
                            .unwrap()
                            .push((format!("student{i}"), card));
                    }
                    Ok(r) => panic!("unexpected status {} for card {card}", r.status()),
                    Err(_) => return,
                }
            }
        }));
    }
    // Kill mid-load: once some grades are in but well before all are.
    let total = USERS * cards.len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < total / 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= total / 3 && acknowledged.len() < total,
        "killed mid-load: {} of {total}",
        acknowledged.len()
    );

    // Restart on the same file: it opens, migrates and serves.
    let (mut server, base) = start(&db).await;
    assert_eq!(
        reqwest::get(format!("{base}/healthz"))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    let pool = studyhall::db::connect(&db).await.unwrap();
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
    let graded: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT u.username, r.card_id, COUNT(*) FROM reviews r JOIN users u ON u.id = r.user_id
         WHERE r.kind = 'grade' GROUP BY u.username, r.card_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        graded.iter().all(|(_, _, n)| *n == 1),
        "no grade is stored twice"
    );
    for (user, card) in &acknowledged {
        assert!(
            graded.iter().any(|(u, c, _)| u == user && c == card),
            "{user}'s grade of card {card} was answered with 303 but is missing"
        );
    }
    // The schedule agrees with the history.
    let states: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM review_states")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(states, graded.len() as i64);
    pool.close().await;
    server.kill().unwrap();
    server.wait().unwrap();
}
