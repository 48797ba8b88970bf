//! Rescheduling a student with many studied cards (issue 21): the statement that rewrites
//! their schedules is linear, the rewrite goes in batches that release the writer, and a
//! grade that lands between two batches is kept.

use crate::helpers::{TestApp, spawn_app};
use studyhall::db::Pool;
use studyhall::srs::scheduler::{Scheduler, recompute};
use studyhall::srs::sm2::DEFAULT_MAX_INTERVAL_DAYS;
use studyhall::study::scheduling::{BATCH_CARDS, Rescheduling};

const FSRS: Scheduler = Scheduler::Fsrs { retention_pct: 90 };

/// A student's states: (card, n, EF, interval, due day, lapses, graded day, stability,
/// difficulty).
type State = (
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<f64>,
    Option<f64>,
);

async fn states(pool: &Pool, user: i64) -> Vec<State> {
    sqlx::query_as(
        "SELECT card_id, repetitions, easiness_hundredths, interval_days, due_day, lapses,
                graded_day, stability, difficulty
         FROM review_states WHERE user_id = $1 ORDER BY card_id",
    )
    .bind(user)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// What every state must be: the fold of its card's standing history under `scheduler`,
/// computed here from the history alone, as the rescheduling before the batches wrote it.
async fn folds(pool: &Pool, user: i64, scheduler: Scheduler) -> Vec<State> {
    let history: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT card_id, study_day, quality FROM standing_reviews
         WHERE user_id = $1 AND quality IS NOT NULL ORDER BY card_id, id",
    )
    .bind(user)
    .fetch_all(pool)
    .await
    .unwrap();
    history
        .chunk_by(|a, b| a.0 == b.0)
        .map(|events| {
            let card = events[0].0;
            let events: Vec<(i32, u8)> = events.iter().map(|e| (e.1 as i32, e.2 as u8)).collect();
            let (s, memory) = recompute(&[], &events, scheduler, DEFAULT_MAX_INTERVAL_DAYS)
                .unwrap()
                .unwrap();
            (
                card,
                i64::from(s.sm2.repetitions),
                i64::from(s.sm2.easiness_hundredths),
                i64::from(s.sm2.interval_days),
                i64::from(s.due_day),
                i64::from(s.lapses),
                Some(i64::from(s.due_day) - i64::from(s.sm2.interval_days)),
                memory.map(|m| f64::from(m.0)),
                memory.map(|m| f64::from(m.1)),
            )
        })
        .collect()
}

/// Every stored state is its fold (FSRS memory to float precision).
async fn assert_states_are_the_folds(pool: &Pool, user: i64, scheduler: Scheduler) {
    let stored = states(pool, user).await;
    let expected = folds(pool, user, scheduler).await;
    assert_eq!(stored.len(), expected.len());
    for (s, e) in stored.iter().zip(&expected) {
        let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(1.0),
            _ => false,
        };
        assert!(
            (s.0, s.1, s.2, s.3, s.4, s.5, s.6) == (e.0, e.1, e.2, e.3, e.4, e.5, e.6)
                && close(s.7, e.7)
                && close(s.8, e.8),
            "card {}: stored {s:?}, the fold under {scheduler:?} is {e:?}",
            s.0
        );
    }
}

/// The app's study day now (users start in UTC, days starting at 04:00).
fn today(app: &TestApp) -> i32 {
    i32::try_from((app.clock().now().as_second() - 4 * 3600).div_euclid(86_400)).unwrap()
}

/// A student with `n` studied cards of a deck of their own, seeded through SQL: three standing
/// grades each, more than a year ago (so every card is overdue under either scheduler), and a
/// stale SM-2 state for the rescheduling to replace. Returns (user, deck, cards by id).
async fn student_with_cards(app: &TestApp, n: i64) -> (i64, i64, Vec<i64>) {
    app.register_ok("ada").await;
    let pool = app.pool().await;
    let user = app.user_id("ada").await;
    let first = i64::from(today(app)) - 400;
    let deck: i64 = sqlx::query_scalar(
        "INSERT INTO decks (name, owner_id, created_at) VALUES ('Many', $1, 0) RETURNING id",
    )
    .bind(user)
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query(
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $1)
         INSERT INTO cards (deck_id, front, back, position, created_at, updated_at)
         SELECT $2, 'Question ' || n, 'Answer ' || n, n, 0, 0 FROM seq",
    )
    .bind(n)
    .bind(deck)
    .execute(&pool)
    .await
    .unwrap();
    // One statement per grade, so that ids follow the days within each card.
    for (k, offset) in [0_i64, 1, 7].into_iter().enumerate() {
        sqlx::query(
            "INSERT INTO reviews (user_id, card_id, kind, reviewed_at, study_day, quality)
             SELECT $1, id, 'grade', ($2 + $3) * 86400, $2 + $3, 3 + (id + $4) % 3
             FROM cards WHERE deck_id = $5 ORDER BY id",
        )
        .bind(user)
        .bind(first)
        .bind(offset)
        .bind(k as i64)
        .bind(deck)
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO review_states (user_id, card_id, repetitions, easiness_hundredths,
             interval_days, due_day, lapses, last_reviewed_at, graded_day)
         SELECT $1, id, 1, 250, 1, $2, 0, $2 * 86400, $2 - 1 FROM cards WHERE deck_id = $3",
    )
    .bind(user)
    .bind(first + 8)
    .bind(deck)
    .execute(&pool)
    .await
    .unwrap();
    let cards: Vec<i64> = sqlx::query_scalar("SELECT id FROM cards WHERE deck_id = $1 ORDER BY id")
        .bind(deck)
        .fetch_all(&pool)
        .await
        .unwrap();
    (user, deck, cards)
}

/// Whether a query plan looks `review_states` up by its whole key (user and card) wherever it
/// reads it: with the JSON rows as the loop, one lookup per row, linear. A read by the user
/// alone (or a scan) inside the loop over the JSON is the quadratic plan.
fn reads_states_by_key_only(plan: &[String]) -> bool {
    plan.iter()
        .filter(|step| step.contains("review_states") || step.contains(" s "))
        .all(|step| {
            step.starts_with("SEARCH") && step.contains("user_id=?") && step.contains("card_id=?")
        })
}

#[tokio::test]
async fn the_sqlite_rewrite_and_exam_placement_look_each_json_row_up_by_its_key() {
    // On SQLite whatever the suite's backend: the plans are SQLite's.
    let app = crate::helpers::spawn_sqlite_app().await;
    let pool = app.pool().await;
    let rewrite = studyhall::db::reviews::rewrite_states_plan(&pool)
        .await
        .unwrap();
    let placement = studyhall::db::exams::set_due_days_plan(&pool)
        .await
        .unwrap();
    for plan in [&rewrite, &placement] {
        assert!(
            plan.iter().any(|step| step.starts_with("SCAN j")),
            "the JSON rows are the loop: {plan:?}"
        );
        assert!(
            plan.iter()
                .all(|step| !step.starts_with("SCAN review_states")),
            "{plan:?}"
        );
        assert!(reads_states_by_key_only(plan), "{plan:?}");
    }
    // The statement it replaces: the user's states are the loop and the JSON is scanned once
    // per state. The check above tells the two apart.
    let old: Vec<(i64, i64, i64, String)> = sqlx::query_as(
        "EXPLAIN QUERY PLAN UPDATE review_states SET due_day = j.value ->> '$.due_day'
         FROM json_each($2) AS j
         WHERE review_states.user_id = $1 AND review_states.card_id = j.value ->> '$.card_id'",
    )
    .bind(1_i64)
    .bind("[]")
    .fetch_all(&pool)
    .await
    .unwrap();
    let old: Vec<String> = old.into_iter().map(|r| r.3).collect();
    assert!(!reads_states_by_key_only(&old), "{old:?}");
}

async fn choose(app: &TestApp, scheduler: &str) -> reqwest::Response {
    app.submit(
        "/account",
        "/account/scheduler",
        &[("scheduler", scheduler), ("desired_retention", "90")],
    )
    .await
}

#[tokio::test]
async fn switching_the_scheduler_of_a_student_with_many_cards_gives_every_card_its_fold() {
    let app = spawn_app().await;
    let n = 2 * BATCH_CARDS + 17;
    let (user, _, _) = student_with_cards(&app, n).await;
    let pool = app.pool().await;
    assert!(choose(&app, "fsrs").await.status().is_redirection());
    assert_states_are_the_folds(&pool, user, FSRS).await;
    assert!(choose(&app, "sm2").await.status().is_redirection());
    assert_states_are_the_folds(&pool, user, Scheduler::Sm2).await;
    // Nothing was left out: every card of the three batches was rewritten.
    let rewritten = states(&pool, user).await;
    assert_eq!(rewritten.len() as i64, n);
    assert!(rewritten.iter().all(|s| s.7.is_none()));
}

#[tokio::test]
async fn a_grade_between_two_batches_of_a_rescheduling_is_kept() {
    use studyhall::study::review::{GradeExtras, GradeRequest, Graded, grade_batch};
    let app = spawn_app().await;
    let (user, deck, cards) = student_with_cards(&app, 3 * BATCH_CARDS + 5).await;
    let pool = app.pool().await;
    let db = app.db().await;
    let now = app.clock().now();
    let mut rescheduling = Rescheduling::start(
        db.writer(),
        user,
        Some((FSRS, true)),
        DEFAULT_MAX_INTERVAL_DAYS,
        now,
    )
    .await
    .unwrap();
    assert!(rescheduling.step().await.unwrap(), "a third batch is left");
    let done = rescheduling.done_through();
    let (rewritten, waiting) = (cards[10], *cards.last().unwrap());
    assert!(rewritten <= done && waiting > done);

    // The student grades both, on a page whose session still says SM-2: one card the
    // batches have rewritten already, one they have still to come to.
    let grade = |card_id| GradeRequest {
        user_id: user,
        today: today(&app),
        new_per_day: 20,
        card_id,
        grade: studyhall::domain::Grade::try_from(4).unwrap(),
        extras: GradeExtras::default(),
        now,
        allowed_decks: vec![1, 2, deck].into(),
        seen_today: None,
        scheduler: Scheduler::Sm2,
        fsrs_parameters: Vec::new().into(),
        exams: Vec::new().into(),
    };
    let mut tx = studyhall::db::begin_write(&pool).await.unwrap();
    let results = grade_batch(&mut *tx, &[grade(rewritten), grade(waiting)], 36_500)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(Graded::Scheduled { .. }))),
        "{results:?}"
    );

    // The batch that comes to the second card recomputes it with its grade, from the history
    // it reads in its own transaction: the grade is not overwritten, not even for a while.
    while rescheduling.done_through() < waiting {
        assert!(rescheduling.step().await.unwrap());
    }
    let fold = folds(&pool, user, FSRS).await;
    let stored = states(&pool, user).await;
    let of = |rows: &[State]| {
        rows.iter()
            .find(|s| s.0 == waiting)
            .map(|s| (s.1, s.2, s.3, s.4))
    };
    assert_eq!(of(&stored), of(&fold));

    rescheduling.run().await.unwrap();
    for card in [rewritten, waiting] {
        let events = crate::helpers::standing_events(&pool, user, card).await;
        assert_eq!(events.len(), 4, "the grade stands: {events:?}");
    }
    // Both grades are in their card's schedule, under the scheduler chosen.
    assert_states_are_the_folds(&pool, user, FSRS).await;
}
