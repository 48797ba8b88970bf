//! The SQLite grade writer (`db::grade_writer`: the group commit's batches on a rusqlite
//! connection of their own) against the sqlx path it replaced on SQLite, which stays
//! PostgreSQL's: the same random batches through each, on two copies of one site, give the
//! same verdicts and leave the same schedules, history, day counts and tallies.

use crate::helpers::{TestApp, spawn_sqlite_app};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use studyhall::db::Pool;
use studyhall::srs::exam::ExamWindow;
use studyhall::srs::scheduler::Scheduler;
use studyhall::study::grader::record_batch_through;
use studyhall::study::review::{GradeExtras, GradeRequest};

/// Everything a grade writes, table by table in a fixed order, each row its values quoted
/// (`quote` keeps the type: 5, '5' and 5.0 differ).
async fn written(pool: &Pool) -> Vec<(&'static str, Vec<String>)> {
    let mut out = Vec::new();
    for (table, columns, order) in [
        (
            "review_states",
            "user_id, card_id, repetitions, easiness_hundredths, interval_days, due_day, lapses,
             last_reviewed_at, graded_day, stability, difficulty",
            "user_id, card_id",
        ),
        (
            "reviews",
            "id, user_id, card_id, kind, undoes, reviewed_at, study_day, quality,
             repetitions_before, easiness_before, interval_before, due_day_before, lapses_before,
             last_reviewed_before, repetitions_after, easiness_after, interval_after,
             due_day_after, response_ms, variant_seed, answer, suggested_quality",
            "id",
        ),
        (
            "review_days",
            "user_id, study_day, reviews, mature_reviews, mature_passed, introduced",
            "user_id, study_day",
        ),
        (
            "due_tally",
            "user_id, due_day, deck_id, cards",
            "user_id, due_day, deck_id",
        ),
        (
            "studied_tally",
            "user_id, deck_id, cards",
            "user_id, deck_id",
        ),
    ] {
        let quoted: Vec<String> = columns
            .split(',')
            .map(|c| format!("quote({})", c.trim()))
            .collect();
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM {table} ORDER BY {order}",
            quoted.join(" || '|' || ")
        )))
        .fetch_all(pool)
        .await
        .unwrap();
        out.push((table, rows));
    }
    out
}

/// Three students on each of two copies of a fresh site (the same ids on both).
async fn site() -> (TestApp, Vec<i64>) {
    let app = spawn_sqlite_app().await;
    app.register_ok("ana").await;
    app.other_browser().register_ok("ben").await;
    app.other_browser().register_ok("cyd").await;
    let mut ids = Vec::new();
    for name in ["ana", "ben", "cyd"] {
        ids.push(app.user_id(name).await);
    }
    (app, ids)
}

/// A random grade on `day` (0, 1, 2 ...): one of a few cards, so that repeats, double submits
/// and same-batch grades of one card come up, now and then a card that does not exist or one
/// the student may not see. Ana is on SM-2 with an exam (whose window placement reads the
/// tallies), Ben on FSRS, Cyd on SM-2 with two new cards a day.
fn random_grade(rng: &mut ChaCha8Rng, users: &[i64], cards: &[i64], day: i64) -> GradeRequest {
    let base = jiff::Timestamp::from_second(1_780_000_000).unwrap();
    let now = base
        .checked_add(jiff::SignedDuration::from_secs(
            day * 86_400 + rng.random_range(0..3_600),
        ))
        .unwrap();
    let today = i32::try_from(20_600 + day).unwrap();
    let who = rng.random_range(0..users.len());
    let card_id = match rng.random_range(0..40) {
        0 => 999_999,
        _ => cards[rng.random_range(0..cards.len())],
    };
    let exams: Arc<[ExamWindow]> = if who == 0 {
        vec![ExamWindow {
            exam_day: 20_612,
            window_days: 5,
            decks: vec![1],
        }]
        .into()
    } else {
        Vec::new().into()
    };
    GradeRequest {
        user_id: users[who],
        today,
        new_per_day: if who == 2 { 2 } else { 20 },
        card_id,
        grade: studyhall::domain::Grade::try_from(rng.random_range(0..=5u8)).unwrap(),
        extras: GradeExtras {
            response_ms: rng.random_bool(0.5).then(|| rng.random_range(100..9_000)),
            variant_seed: rng
                .random_bool(0.2)
                .then(|| format!("seed-{}", rng.random::<u16>())),
            answer: rng.random_bool(0.2).then(|| "x = 4".to_owned()),
            suggested_quality: rng.random_bool(0.2).then(|| rng.random_range(0..=5)),
        },
        now,
        allowed_decks: if rng.random_range(0..30) == 0 {
            vec![2].into()
        } else {
            vec![1, 2].into()
        },
        scheduler: if who == 1 {
            Scheduler::Fsrs { retention_pct: 90 }
        } else {
            Scheduler::Sm2
        },
        fsrs_parameters: Vec::new().into(),
        exams,
        seen_today: rng.random_bool(0.15).then(|| rng.random_range(0..3)),
    }
}

#[tokio::test]
async fn the_grade_writer_records_exactly_what_the_sqlx_path_records() {
    for seed in 0..2_u64 {
        let ((inline, users), (through_sqlx, other_users)) = tokio::join!(site(), site());
        assert_eq!(users, other_users);
        let (a, b) = (inline.pool().await, through_sqlx.pool().await);
        let cards: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM cards WHERE deck_id = 1 ORDER BY id LIMIT 12")
                .fetch_all(&a)
                .await
                .unwrap();
        assert!(cards.len() >= 6, "the site's course deck has cards");
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut verdicts = [0_usize; 2];
        for day in 0..8 {
            for _ in 0..6 {
                let size = rng.random_range(1..=24);
                let batch: Vec<GradeRequest> = (0..size)
                    .map(|_| random_grade(&mut rng, &users, &cards, day))
                    .collect();
                let one = record_batch_through(inline.db().await, batch.clone(), 36_500, true)
                    .await
                    .unwrap();
                let two = record_batch_through(through_sqlx.db().await, batch, 36_500, false)
                    .await
                    .unwrap();
                assert_eq!(
                    format!("{one:?}"),
                    format!("{two:?}"),
                    "verdicts, seed {seed} day {day}"
                );
                verdicts[0] += one.iter().filter(|v| v.is_ok()).count();
                verdicts[1] += one.iter().filter(|v| v.is_err()).count();
            }
            let (x, y) = (written(&a).await, written(&b).await);
            for ((table, rows), (_, other)) in x.iter().zip(&y) {
                assert_eq!(rows, other, "{table}, seed {seed} day {day}");
            }
            crate::tallies::assert_tables_match_a_recount(&a, &format!("day {day}")).await;
        }
        // The history exercised both accepted and refused grades, exams and FSRS.
        assert!(verdicts[0] > 100 && verdicts[1] > 20, "{verdicts:?}");
        let fsrs: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM review_states WHERE stability IS NOT NULL")
                .fetch_one(&a)
                .await
                .unwrap();
        assert!(fsrs > 0);
    }
}

/// A batch whose write fails leaves nothing behind, answers every grade with the error, and
/// the writer goes on with the next batch.
#[tokio::test]
async fn a_failing_batch_on_the_grade_writer_keeps_none_of_its_grades() {
    let (app, users) = site().await;
    let pool = app.pool().await;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let cards: Vec<i64> = sqlx::query_scalar("SELECT id FROM cards WHERE deck_id = 1 ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let first: Vec<GradeRequest> = (0..10)
        .map(|_| random_grade(&mut rng, &users, &cards, 0))
        .collect();
    record_batch_through(app.db().await, first, 36_500, true)
        .await
        .unwrap();
    let before = written(&pool).await;
    // The day rollup is written last: a failure there comes after the states and events.
    sqlx::query(
        "CREATE TRIGGER refuse_day BEFORE INSERT ON review_days WHEN NEW.study_day = 20601
         BEGIN SELECT RAISE(ABORT, 'refused'); END",
    )
    .execute(&pool)
    .await
    .unwrap();
    let second: Vec<GradeRequest> = (0..10)
        .map(|_| {
            let mut r = random_grade(&mut rng, &users, &cards, 1);
            r.seen_today = None;
            r.grade = studyhall::domain::Grade::try_from(5).unwrap();
            r
        })
        .collect();
    let failed = record_batch_through(app.db().await, second.clone(), 36_500, true).await;
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(written(&pool).await, before, "nothing of the batch is kept");
    sqlx::query("DROP TRIGGER refuse_day")
        .execute(&pool)
        .await
        .unwrap();
    let again = record_batch_through(app.db().await, second, 36_500, true)
        .await
        .unwrap();
    assert!(again.iter().any(Result::is_ok), "{again:?}");
    assert_ne!(written(&pool).await, before);
}
