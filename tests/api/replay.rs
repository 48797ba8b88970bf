//! A card's schedule is a pure function of its history: replaying the grades and repeats that
//! stand gives exactly the stored state. This is what lets a student switch scheduler and back
//! with nothing lost (issue 12).

use crate::helpers::{PASSWORD, TestApp, card_id_in, set_new_per_day, spawn_app};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use studyhall::db::Pool as SqlitePool;
use studyhall::srs::schedule::{Counted, replay};
use studyhall::srs::sm2::DEFAULT_MAX_INTERVAL_DAYS;

async fn grade_shown(app: &TestApp, quality: u8, deck: Option<i64>) {
    let page = match deck {
        Some(d) => format!("/review?deck={d}"),
        None => "/review".to_owned(),
    };
    if let Some(card) = card_id_in(&app.get_html(&page).await) {
        let deck = deck.map(|d| d.to_string()).unwrap_or_default();
        let r = app
            .submit(
                &page,
                &format!("/review/{card}"),
                &[("quality", &quality.to_string()), ("deck", &deck)],
            )
            .await;
        assert!(r.status().as_u16() < 500, "{}", r.status());
    }
}

/// Every stored state against the replay of its card's standing history.
async fn assert_states_replay(pool: &SqlitePool, user: i64, step: &str) -> usize {
    let states: Vec<(i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT card_id, repetitions, easiness_hundredths, interval_days, due_day, lapses
         FROM review_states WHERE user_id = $1 ORDER BY card_id",
    )
    .bind(user)
    .fetch_all(pool)
    .await
    .unwrap();
    let cards: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT card_id FROM standing_reviews WHERE user_id = $1 ORDER BY card_id",
    )
    .bind(user)
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(
        states.iter().map(|s| s.0).collect::<Vec<_>>(),
        cards,
        "a state exactly for each card with a standing history, after {step}"
    );
    for (card, repetitions, easiness, interval, due_day, lapses) in &states {
        let events: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT study_day, quality, kind FROM standing_reviews
             WHERE user_id = $1 AND card_id = $2 ORDER BY id",
        )
        .bind(user)
        .bind(card)
        .fetch_all(pool)
        .await
        .unwrap();
        let history: Vec<(i32, u8)> = events
            .iter()
            .map(|(d, q, _)| (i32::try_from(*d).unwrap(), u8::try_from(*q).unwrap()))
            .collect();
        let (schedule, counted) = replay(&history, DEFAULT_MAX_INTERVAL_DAYS).unwrap();
        let s = schedule.expect("a graded card has a schedule");
        assert_eq!(
            (
                i64::from(s.sm2.repetitions),
                i64::from(s.sm2.easiness_hundredths),
                i64::from(s.sm2.interval_days),
                i64::from(s.due_day),
                i64::from(s.lapses)
            ),
            (*repetitions, *easiness, *interval, *due_day, *lapses),
            "card {card} with history {events:?}, after {step}"
        );
        let kinds: Vec<&str> = counted
            .iter()
            .map(|c| match c {
                Counted::Grade => "grade",
                Counted::Repeat => "repeat",
            })
            .collect();
        let stored: Vec<&str> = events.iter().map(|e| e.2.as_str()).collect();
        assert_eq!(kinds, stored, "card {card}, after {step}");
    }
    states.len()
}

#[tokio::test]
async fn every_state_is_the_replay_of_its_standing_history() {
    let mut states_checked = 0;
    let mut repeats = 0;
    for seed in 1..=3u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let app = spawn_app().await;
        app.register_ok("ada").await;
        // Few new cards a day, so sessions run out and the same-day repeats come up.
        set_new_per_day(&app, "4").await;
        let pool = app.pool().await;
        let user: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = 'ada'")
            .fetch_one(&pool)
            .await
            .unwrap();
        let mut log = Vec::new();
        for step in 0..90 {
            // A session lasts 30 days: log in again as a student would.
            if app.get("/review").await.status().is_redirection() {
                app.login("ada", PASSWORD).await;
                log.push("logged in again".to_owned());
            }
            match rng.random_range(0..100) {
                0..=79 => {
                    let q = rng.random_range(0..=5u8);
                    let deck = rng.random_bool(0.2).then_some(2);
                    grade_shown(&app, q, deck).await;
                    log.push(format!("grade {q} in {deck:?}"));
                }
                80..=91 => {
                    app.submit("/review", "/review/undo", &[("deck", "")]).await;
                    log.push("undo".to_owned());
                }
                _ => {
                    let days = rng.random_range(1..=4);
                    app.clock().advance(86_400 * days);
                    log.push(format!("{days} days pass"));
                }
            }
            if step % 10 == 9 {
                let at = format!("step {step} of seed {seed}: {log:?}");
                states_checked += assert_states_replay(&pool, user, &at).await;
            }
        }
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM standing_reviews WHERE kind = 'repeat'")
                .fetch_one(&pool)
                .await
                .unwrap();
        repeats += n;
    }
    assert!(
        states_checked > 50,
        "the histories were too short: {states_checked}"
    );
    assert!(repeats > 10, "too few same-day repeats to test: {repeats}");
}
