//! FSRS as a student's scheduler (issue 12): chosen on /account, scheduling every grade and
//! undo over simulated weeks, and switched back to SM-2 with nothing lost.

use crate::helpers::{PASSWORD, TestApp, card_id_in, set_new_per_day, spawn_app};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reqwest::StatusCode;
use studyhall::db::Pool as SqlitePool;
use studyhall::srs::scheduler::{Scheduler, recompute};
use studyhall::srs::sm2::DEFAULT_MAX_INTERVAL_DAYS;

type States = Vec<(i64, i64, i64, i64, i64, i64, Option<f64>, Option<f64>)>;

async fn states(pool: &SqlitePool, user: i64) -> States {
    sqlx::query_as(
        "SELECT card_id, repetitions, easiness_hundredths, interval_days, due_day, lapses,
                stability, difficulty
         FROM review_states WHERE user_id = $1 ORDER BY card_id",
    )
    .bind(user)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn choose(app: &TestApp, scheduler: &str, retention: &str) -> reqwest::Response {
    app.submit(
        "/account",
        "/account/scheduler",
        &[("scheduler", scheduler), ("desired_retention", retention)],
    )
    .await
}

async fn student(app: &TestApp) -> (SqlitePool, i64) {
    app.register_ok("ada").await;
    set_new_per_day(app, "6").await;
    let pool = app.pool().await;
    let user = sqlx::query_scalar("SELECT id FROM users WHERE username = 'ada'")
        .fetch_one(&pool)
        .await
        .unwrap();
    (pool, user)
}

/// Studies `days` days: each day grades what the page shows (random grades, an undo now and
/// then) until nothing is left, then the day passes.
async fn study(app: &TestApp, rng: &mut ChaCha8Rng, days: usize) -> usize {
    study_as(app, "ada", rng, days, true).await
}

async fn study_as(
    app: &TestApp,
    name: &str,
    rng: &mut ChaCha8Rng,
    days: usize,
    pass_days: bool,
) -> usize {
    let mut graded = 0;
    for _ in 0..days {
        for _ in 0..40 {
            if app.get("/review").await.status().is_redirection() {
                app.login(name, PASSWORD).await;
            }
            let Some(card) = card_id_in(&app.get_html("/review").await) else {
                break;
            };
            let q = rng.random_range(0..=5u8).to_string();
            let r = app
                .submit(
                    "/review",
                    &format!("/review/{card}"),
                    &[("quality", &q), ("deck", "")],
                )
                .await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
            graded += 1;
            if rng.random_bool(0.1) {
                app.submit("/review", "/review/undo", &[("deck", "")]).await;
            }
        }
        if pass_days {
            app.clock().advance(86_400);
        }
    }
    graded
}

/// Every state against the fold of its card's standing history under `scheduler`.
async fn assert_states_are_the_fold(pool: &SqlitePool, user: i64, scheduler: Scheduler) {
    assert_states_are_the_fold_with(pool, user, scheduler, &[]).await;
}

async fn assert_states_are_the_fold_with(
    pool: &SqlitePool,
    user: i64,
    scheduler: Scheduler,
    parameters: &[f32],
) {
    let stored = states(pool, user).await;
    assert!(!stored.is_empty());
    for (card, reps, ef, interval, due, lapses, stability, difficulty) in stored {
        let events = crate::helpers::standing_events(pool, user, card).await;
        let (s, memory) = recompute(parameters, &events, scheduler, DEFAULT_MAX_INTERVAL_DAYS)
            .unwrap()
            .unwrap();
        assert_eq!(
            (reps, ef, interval, due, lapses),
            (
                i64::from(s.sm2.repetitions),
                i64::from(s.sm2.easiness_hundredths),
                i64::from(s.sm2.interval_days),
                i64::from(s.due_day),
                i64::from(s.lapses)
            ),
            "card {card}, history {events:?}"
        );
        match (memory, stability, difficulty) {
            (None, None, None) => {}
            (Some((ms, md)), Some(s), Some(d)) => {
                assert!((f64::from(ms) - s).abs() < 1e-3 * s.max(1.0), "{ms} {s}");
                assert!((f64::from(md) - d).abs() < 1e-3, "{md} {d}");
            }
            other => panic!("card {card}: memory {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_student_on_fsrs_is_scheduled_by_fsrs_over_simulated_weeks() {
    let app = spawn_app().await;
    let (pool, user) = student(&app).await;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    assert_eq!(
        choose(&app, "fsrs", "85").await.status(),
        StatusCode::SEE_OTHER
    );
    let account = app.get_html("/account?saved=scheduler").await;
    assert!(account.contains("every card you studied was rescheduled"));
    assert!(account.contains("value=\"fsrs\" checked"), "{account}");
    assert!(account.contains("value=\"85\""));

    let graded = study(&app, &mut rng, 21).await;
    assert!(graded > 60, "only {graded} grades");
    let scheduler = Scheduler::Fsrs { retention_pct: 85 };
    assert_states_are_the_fold(&pool, user, scheduler).await;
    // FSRS, not SM-2, set the intervals: SM-2 would never give these.
    let stored = states(&pool, user).await;
    assert!(stored.iter().all(|s| s.6.is_some() && s.7.is_some()));
    let sm2_only = stored
        .iter()
        .filter(|s| ![1, 6].contains(&s.3) && s.1 <= 2)
        .count();
    assert!(
        sm2_only > 0,
        "no interval SM-2 would not have given: {stored:?}"
    );

    // The grade buttons preview FSRS: on a card that is due, each button shows the interval
    // FSRS gives for its rating.
    let mut checked = 0;
    for _ in 0..30 {
        let html = app.get_html("/review").await;
        let Some(card) = card_id_in(&html) else {
            app.clock().advance(86_400);
            continue;
        };
        let state: (i64, i64, Option<f64>, Option<f64>) = sqlx::query_as(
            "SELECT due_day, interval_days, stability, difficulty FROM review_states
             WHERE user_id = $1 AND card_id = $2",
        )
        .bind(user)
        .bind(card)
        .fetch_optional(&pool)
        .await
        .unwrap()
        .unwrap_or((0, 0, None, None));
        let today = (app.clock().now().as_second() - 4 * 3600).div_euclid(86_400);
        if let (due, interval, Some(s), Some(d)) = state
            && due <= today
            && html.contains("value=\"4\" class=\"grade")
        {
            let elapsed = u32::try_from(today - (due - interval)).unwrap();
            let next =
                studyhall::srs::fsrs::next_states(&[], Some((s as f32, d as f32)), 0.85, elapsed);
            for (q, rating) in [(3u8, 1usize), (4, 2), (5, 3)] {
                let button = html
                    .split(&format!("value=\"{q}\" class=\"grade"))
                    .nth(1)
                    .unwrap();
                let shown = button.split("<span class=\"interval\">").nth(1).unwrap();
                let label = studyhall::srs::schedule::interval_label(next[rating].2);
                assert!(
                    shown.starts_with(&label),
                    "grade {q} shows {:?}, FSRS gives {label}",
                    &shown[..30.min(shown.len())]
                );
            }
            checked += 1;
        }
        let r = app
            .submit(
                "/review",
                &format!("/review/{card}"),
                &[("quality", "4"), ("deck", "")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    assert!(checked >= 3, "only {checked} due cards previewed");
}

#[tokio::test]
async fn switching_to_fsrs_and_back_gives_exactly_the_sm2_schedule() {
    let app = spawn_app().await;
    let (pool, user) = student(&app).await;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    study(&app, &mut rng, 12).await;
    let sm2 = states(&pool, user).await;
    assert_states_are_the_fold(&pool, user, Scheduler::Sm2).await;

    assert_eq!(
        choose(&app, "fsrs", "90").await.status(),
        StatusCode::SEE_OTHER
    );
    let on_fsrs = states(&pool, user).await;
    assert_ne!(on_fsrs, sm2, "FSRS reschedules");
    assert_states_are_the_fold(&pool, user, Scheduler::Fsrs { retention_pct: 90 }).await;
    // A higher retention brings cards back sooner, never later.
    assert_eq!(
        choose(&app, "fsrs", "97").await.status(),
        StatusCode::SEE_OTHER
    );
    let stricter = states(&pool, user).await;
    for (a, b) in on_fsrs.iter().zip(&stricter) {
        assert!(b.4 <= a.4, "{a:?} {b:?}");
    }

    assert_eq!(
        choose(&app, "sm2", "90").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        states(&pool, user).await,
        sm2,
        "back to exactly SM-2's schedule"
    );
}

#[tokio::test]
async fn a_bad_scheduler_or_retention_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let (pool, user) = student(&app).await;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    study(&app, &mut rng, 2).await;
    let before = states(&pool, user).await;
    for (scheduler, retention, message) in [
        ("fsrs", "60", "from 70 to 97, not 60"),
        ("fsrs", "98", "from 70 to 97, not 98"),
        ("fsrs", "ninety", "not &#34;ninety&#34;"),
        ("anki", "90", "The scheduler is SM-2 or FSRS."),
    ] {
        let r = choose(&app, scheduler, retention).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = r.text().await.unwrap();
        assert!(html.contains(message), "{scheduler} {retention}: {html}");
    }
    let row: (String, i64) =
        sqlx::query_as("SELECT scheduler, desired_retention FROM users WHERE id = $1")
            .bind(user)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(row, ("sm2".to_owned(), 90));
    assert_eq!(states(&pool, user).await, before);
    // A forged form without the CSRF token changes nothing either.
    let forged = app
        .post_form(
            "/account/scheduler",
            &[("scheduler", "fsrs"), ("desired_retention", "90")],
        )
        .await;
    assert!(forged.status().is_client_error());
    assert_eq!(states(&pool, user).await, before);
}

#[tokio::test]
async fn the_class_dashboard_scores_sm2_and_fsrs_on_the_class_history() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = crate::classes::make_instructor(&admin, "teacher").await;
    let (class, code) = crate::classes::new_class(&teacher, "Scores").await;
    let dashboard = format!("/classes/{class}/dashboard");
    let students: Vec<TestApp> = {
        let mut v = Vec::new();
        for name in ["stu1", "stu2", "stu3"] {
            let s = admin.other_browser();
            s.register_ok(name).await;
            crate::classes::join(&s, &code).await;
            v.push(s);
        }
        v
    };
    // One student studies with FSRS: the class's fit will schedule them.
    assert_eq!(
        choose(&students[0], "fsrs", "90").await.status(),
        StatusCode::SEE_OTHER
    );
    let empty = teacher.get_html(&dashboard).await;
    assert!(empty.contains("Not enough reviews yet"), "{empty}");

    // Three students study for four weeks (the clock is shared: it moves once a day).
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for _ in 0..28 {
        for (s, name) in students.iter().zip(["stu1", "stu2", "stu3"]) {
            study_as(s, name, &mut rng, 1, false).await;
        }
        admin.clock().advance(86_400);
        if teacher.get(&dashboard).await.status().is_redirection() {
            teacher.login("teacher", PASSWORD).await;
        }
    }
    let html = teacher.get_html(&dashboard).await;
    let section = html.split("id=\"predictions\"").nth(1).unwrap();
    assert!(section.contains("id=\"prediction-scores\""), "{section}");

    // The same figures computed here from the history.
    let pool = admin.pool().await;
    let rows = studyhall::db::analytics::histories(&pool, class)
        .await
        .unwrap();
    let cards = studyhall::srs::evaluate::histories_by_card(&rows);
    let c = studyhall::srs::evaluate::compare(&cards, 30).expect("enough reviews");
    assert!(
        section.contains(&format!("Scored on the {} reviews", c.scored)),
        "{section}"
    );
    for (name, score) in [("SM-2", c.sm2), ("FSRS, default parameters", c.fsrs)] {
        let row = format!(
            "<td data-label=\"Scheduler\">{name}</td><td class=\"num\" data-label=\"Log loss\">{:.4}</td><td class=\"num\" data-label=\"RMSE (bins)\">{:.4}</td>",
            score.log_loss, score.rmse_bins
        );
        assert!(section.contains(&row), "{row} in {section}");
        assert!(score.log_loss > 0.0 && score.log_loss < 5.0);
        assert!((0.0..=1.0).contains(&score.rmse_bins));
    }
    // Students' random grades ignore their intervals, so neither model can be right about
    // them; a scheduler that always predicted certain recall would score far worse.
    assert!(c.sm2.log_loss < 3.0 && c.fsrs.log_loss < 3.0);

    // The instructor fits FSRS to the class: a background job, then a third row scored on the
    // same later reviews the fit never saw.
    let (split_day, items) = studyhall::srs::evaluate::training_set(&cards).unwrap();
    let r = teacher
        .submit(&dashboard, &format!("/classes/{class}/fit"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The fit is proposed; applied, it becomes the class's and reschedules its students.
    wait_for_proposal(&teacher, &dashboard).await;
    let r = teacher
        .submit(&dashboard, &format!("/classes/{class}/fit/apply"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = wait_until_applied(&teacher, &dashboard).await;
    assert!(html.contains("id=\"fitted\""), "{html}");
    assert!(
        html.contains(&format!("fitted on {} reviews", items.len())),
        "{html}"
    );
    let saved: (String, i64) =
        sqlx::query_as("SELECT parameters, split_day FROM class_fits WHERE class_id = $1")
            .bind(class)
            .fetch_one(&pool)
            .await
            .unwrap();
    let parameters: Vec<f32> = serde_json::from_str(&saved.0).unwrap();
    assert_eq!(parameters.len(), 21);
    assert_eq!(saved.1, i64::from(split_day));
    let c = studyhall::srs::evaluate::compare_fitted(&cards, 30, Some((&parameters, split_day)))
        .unwrap();
    let fitted = c.fitted.unwrap();
    let row = format!(
        "<td data-label=\"Scheduler\">FSRS, this class&#39;s parameters</td><td class=\"num\" data-label=\"Log loss\">{:.4}</td>",
        fitted.log_loss
    );
    assert!(html.contains(&row), "{row} in {html}");
    // The student on FSRS is now scheduled with the class's parameters: every card is the
    // fold of its history under them, and stays so as they grade on.
    let stu1: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = 'stu1'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let fsrs = Scheduler::Fsrs { retention_pct: 90 };
    assert_states_are_the_fold_with(&pool, stu1, fsrs, &parameters).await;
    study_as(&students[0], "stu1", &mut rng, 3, true).await;
    assert_states_are_the_fold_with(&pool, stu1, fsrs, &parameters).await;
    assert_ne!(
        parameters.as_slice(),
        studyhall::srs::fsrs::default_parameters(),
        "the fit moved the parameters"
    );
    // A forged fit request (no CSRF token) starts nothing and a student cannot ask.
    if teacher.get(&dashboard).await.status().is_redirection() {
        teacher.login("teacher", PASSWORD).await;
    }
    let forged = teacher
        .post_form(&format!("/classes/{class}/fit"), &[])
        .await;
    assert!(forged.status().is_client_error());
    let by_student = students[0]
        .submit("/classes", &format!("/classes/{class}/fit"), &[])
        .await;
    assert!(by_student.status().is_client_error());
}

#[tokio::test]
async fn a_class_default_retention_schedules_the_students_who_leave_theirs_empty() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = crate::classes::make_instructor(&admin, "teacher").await;
    let (class, code) = crate::classes::new_class(&teacher, "Retention").await;
    let mut students = Vec::new();
    for (name, retention) in [("stu1", ""), ("stu2", "85")] {
        let s = admin.other_browser();
        s.register_ok(name).await;
        crate::classes::join(&s, &code).await;
        set_new_per_day(&s, "6").await;
        assert_eq!(
            choose(&s, "fsrs", retention).await.status(),
            StatusCode::SEE_OTHER
        );
        students.push(s);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for _ in 0..5 {
        for (s, name) in students.iter().zip(["stu1", "stu2"]) {
            study_as(s, name, &mut rng, 1, false).await;
        }
        admin.clock().advance(86_400);
    }
    let pool = admin.pool().await;
    let id = |name: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT id FROM users WHERE username = $1")
                .bind(name)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let (stu1, stu2) = (id("stu1").await, id("stu2").await);
    let at = |retention_pct| Scheduler::Fsrs { retention_pct };
    assert_states_are_the_fold(&pool, stu1, at(90)).await;
    assert_states_are_the_fold(&pool, stu2, at(85)).await;

    let page = format!("/classes/{class}");
    let set = |value: &'static str| {
        let teacher = &teacher;
        let page = page.clone();
        async move {
            teacher
                .submit(
                    &page,
                    &format!("/classes/{class}/retention"),
                    &[("default_retention", value)],
                )
                .await
        }
    };
    assert_eq!(set("80").await.status(), StatusCode::SEE_OTHER);
    assert_states_are_the_fold(&pool, stu1, at(80)).await;
    assert_states_are_the_fold(&pool, stu2, at(85)).await;
    let at_80 = states(&pool, stu1).await;
    assert_eq!(set("95").await.status(), StatusCode::SEE_OTHER);
    assert_states_are_the_fold(&pool, stu1, at(95)).await;
    for (a, b) in at_80.iter().zip(&states(&pool, stu1).await) {
        assert!(
            b.4 <= a.4,
            "a stricter default brings cards back sooner: {a:?} {b:?}"
        );
    }
    assert_states_are_the_fold(&pool, stu2, at(85)).await;
    // The student sees what they study at.
    let account = students[0].get_html("/account").await;
    assert!(
        account.contains("value=\"\" placeholder=\"95\""),
        "{account}"
    );

    for (value, message) in [
        ("60", "not &#34;60&#34;"),
        ("ninety", "not &#34;ninety&#34;"),
    ] {
        let r = set(value).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains(message));
    }
    assert_states_are_the_fold(&pool, stu1, at(95)).await;
    assert_eq!(set("").await.status(), StatusCode::SEE_OTHER);
    assert_states_are_the_fold(&pool, stu1, at(90)).await;
}

#[tokio::test]
async fn a_student_fits_their_own_parameters_kept_only_where_they_predict_better() {
    let app = spawn_app().await;
    let (pool, user) = student(&app).await;
    set_new_per_day(&app, "60").await;
    assert_eq!(
        choose(&app, "fsrs", "85").await.status(),
        StatusCode::SEE_OTHER
    );
    let reviews = |pool: SqlitePool| async move {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM standing_reviews WHERE user_id = $1 AND quality IS NOT NULL",
        )
        .bind(user)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    // Too few reviews: the page says how many are needed, and asking anyway changes nothing.
    let html = app.get_html("/account").await;
    assert!(
        html.contains("A fit needs 1000 reviews; you have 0."),
        "{html}"
    );
    let early = app.submit("/account", "/account/fit", &[]).await;
    assert_eq!(early.status(), StatusCode::CONFLICT);
    assert!(early.text().await.unwrap().contains("takes 1000 reviews"));

    // A student who remembers what they saw recently and forgets what they saw long ago.
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    while reviews(pool.clone()).await < 1000 {
        for _ in 0..120 {
            if app.get("/review").await.status().is_redirection() {
                app.login("ada", PASSWORD).await;
            }
            let html = app.get_html("/review").await;
            let Some(card) = card_id_in(&html) else {
                break;
            };
            let q = if rng.random_bool(0.75) { "4" } else { "1" };
            app.submit(
                "/review",
                &format!("/review/{card}"),
                &[("quality", q), ("deck", "")],
            )
            .await;
        }
        app.clock().advance(86_400);
    }
    if app.get("/account").await.status().is_redirection() {
        app.login("ada", PASSWORD).await;
    }
    assert!(app.get_html("/account").await.contains("Fit FSRS to my"));
    // A forged request starts nothing.
    assert!(
        app.post_form("/account/fit", &[])
            .await
            .status()
            .is_client_error()
    );
    let r = app.submit("/account", "/account/fit", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let mut html = String::new();
    for _ in 0..600 {
        html = app.get_html("/account").await;
        // Done when the result is shown and the fit no longer runs: the cards are
        // rescheduled after the result is saved, and the page says "Fitting" until then.
        if html.contains("id=\"own-fit-result\"") && !html.contains("id=\"own-fitting\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let saved: (String, i64, i64, f64, f64, studyhall::db::Flag) = sqlx::query_as(
        "SELECT parameters, split_day, scored, own_log_loss, baseline_log_loss, kept
         FROM student_fits WHERE user_id = $1",
    )
    .bind(user)
    .fetch_one(&pool)
    .await
    .unwrap();
    let own: Vec<f32> = serde_json::from_str(&saved.0).unwrap();
    assert_eq!(own.len(), 21);
    let shown: Vec<String> = own.iter().map(|w| format!("{w:.4}")).collect();
    assert!(
        html.contains(&shown.join(", ")),
        "the parameters are shown: {html}"
    );

    // The same scores computed here from the history: the own parameters and FSRS's defaults
    // (the student has no class) on the reviews from the split day on.
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT card_id, study_day, quality FROM standing_reviews
         WHERE user_id = $1 AND quality IS NOT NULL ORDER BY card_id, id",
    )
    .bind(user)
    .fetch_all(&pool)
    .await
    .unwrap();
    let histories: Vec<Vec<(i32, u8)>> = rows
        .chunk_by(|a, b| a.0 == b.0)
        .map(|c| c.iter().map(|e| (e.1 as i32, e.2 as u8)).collect())
        .collect();
    let scores = studyhall::srs::evaluate::own_fit(&histories, &own, &[], saved.1 as i32).unwrap();
    assert_eq!(saved.2, scores.scored as i64);
    assert!((saved.3 - scores.own.log_loss).abs() < 1e-9);
    assert!((saved.4 - scores.baseline.log_loss).abs() < 1e-9);
    assert_eq!(saved.5.0, scores.kept());
    assert_eq!(saved.5.0, saved.3 < saved.4);
    assert!(
        html.contains(&format!(
            "its log loss is {:.4}, against {:.4}",
            saved.3, saved.4
        )),
        "{html}"
    );

    // The student is scheduled with whatever won: every card is the fold of its history
    // under it, and stays so as they grade on.
    let parameters: &[f32] = if saved.5.0 { &own } else { &[] };
    let fsrs = Scheduler::Fsrs { retention_pct: 85 };
    assert_states_are_the_fold_with(&pool, user, fsrs, parameters).await;
    study_as(&app, "ada", &mut rng, 2, true).await;
    assert_states_are_the_fold_with(&pool, user, fsrs, parameters).await;
}

/// Waits until the class's fit job has proposed its parameters on the dashboard `page`.
async fn wait_for_proposal(teacher: &TestApp, page: &str) -> String {
    for _ in 0..1200 {
        let html = teacher.get_html(page).await;
        if html.contains("id=\"fit-proposal\"") && !html.contains("id=\"fitting\"") {
            return html;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no fit was proposed on {page}");
}

/// Waits until the fit applied on the dashboard `page` has rescheduled the students.
async fn wait_until_applied(teacher: &TestApp, page: &str) -> String {
    for _ in 0..1200 {
        let html = teacher.get_html(page).await;
        if !html.contains("id=\"fit-applying\"") {
            return html;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the fit applied on {page} never finished");
}

/// The figure in the element with id `id` of `html`.
fn figure(html: &str, id: &str) -> i64 {
    let after = html
        .split(&format!("id=\"{id}\">"))
        .nth(1)
        .unwrap_or_else(|| panic!("no {id} in {html}"));
    after.split('<').next().unwrap().trim().parse().unwrap()
}

/// Every scheduled card of `user` with its due day.
async fn due_days(pool: &SqlitePool, user: i64) -> Vec<(i64, i64)> {
    sqlx::query_as("SELECT card_id, due_day FROM review_states WHERE user_id = $1 ORDER BY card_id")
        .bind(user)
        .fetch_all(pool)
        .await
        .unwrap()
}

/// (sooner, later, unchanged, largest move, due by `today` before, after) between two
/// listings of the same cards' due days.
fn moves(before: &[(i64, i64)], after: &[(i64, i64)], today: i64) -> [i64; 6] {
    let mut m = [0; 6];
    assert_eq!(before.len(), after.len());
    for (&(card, b), &(card2, a)) in before.iter().zip(after) {
        assert_eq!(card, card2);
        match (a - b).signum() {
            -1 => m[0] += 1,
            1 => m[1] += 1,
            _ => m[2] += 1,
        }
        m[3] = m[3].max((a - b).abs());
        m[4] += i64::from(b <= today);
        m[5] += i64::from(a <= today);
    }
    m
}

#[tokio::test]
async fn a_class_fit_is_proposed_with_its_effect_and_changes_no_schedule_until_applied() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = crate::classes::make_instructor(&admin, "teacher").await;
    let other = crate::classes::make_instructor(&admin, "other").await;
    let (class, code) = crate::classes::new_class(&teacher, "Proposals").await;
    let dashboard = format!("/classes/{class}/dashboard");
    let names = ["stu1", "stu2", "stu3"];
    let mut students = Vec::new();
    for name in names {
        let s = admin.other_browser();
        s.register_ok(name).await;
        crate::classes::join(&s, &code).await;
        students.push(s);
    }
    // Two students on FSRS, one on SM-2.
    for s in &students[..2] {
        assert_eq!(
            choose(s, "fsrs", "90").await.status(),
            StatusCode::SEE_OTHER
        );
    }
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for _ in 0..28 {
        for (s, name) in students.iter().zip(names) {
            study_as(s, name, &mut rng, 1, false).await;
        }
        admin.clock().advance(86_400);
    }
    for app in [&teacher, &other] {
        if app.get("/classes").await.status().is_redirection() {
            let name = if std::ptr::eq(app, &teacher) {
                "teacher"
            } else {
                "other"
            };
            app.login(name, PASSWORD).await;
        }
    }
    let pool = admin.pool().await;
    let mut ids = Vec::new();
    for name in names {
        let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(name)
            .fetch_one(&pool)
            .await
            .unwrap();
        ids.push(id);
    }
    let fsrs_ids = &ids[..2];
    let all_states = async |pool: &SqlitePool| {
        let mut v = Vec::new();
        for &id in &ids {
            v.push(states(pool, id).await);
        }
        v
    };
    let all_due = async |pool: &SqlitePool| {
        let mut v = Vec::new();
        for &id in fsrs_ids {
            v.extend(due_days(pool, id).await);
        }
        v
    };
    let (tz, hour): (String, i64) =
        sqlx::query_as("SELECT time_zone, day_starts_hour FROM users WHERE id = $1")
            .bind(ids[0])
            .fetch_one(&pool)
            .await
            .unwrap();
    let today = i64::from(
        studyhall::srs::day::StudyCalendar::stored(&tz, hour).day_of(admin.clock().now()),
    );
    let fits = async |pool: &SqlitePool| -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM class_fits WHERE class_id = $1")
            .bind(class)
            .fetch_one(pool)
            .await
            .unwrap()
    };
    let before = all_states(&pool).await;
    let due_before = all_due(&pool).await;

    // The fit proposes: nobody's schedule moves, the class keeps no fit.
    let r = teacher
        .submit(&dashboard, &format!("/classes/{class}/fit"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = wait_for_proposal(&teacher, &dashboard).await;
    assert_eq!(all_states(&pool).await, before, "a fit moved due days");
    assert_eq!(fits(&pool).await, 0);

    // Its figures are those of the fold of every FSRS student's history under it.
    let proposed: String =
        sqlx::query_scalar("SELECT parameters FROM class_fit_proposals WHERE class_id = $1")
            .bind(class)
            .fetch_one(&pool)
            .await
            .unwrap();
    let parameters: Vec<f32> = serde_json::from_str(&proposed).unwrap();
    let fsrs = Scheduler::Fsrs { retention_pct: 90 };
    let mut folded = Vec::new();
    let mut affected = 0;
    for &id in fsrs_ids {
        let mine = due_days(&pool, id).await;
        let mut moved = false;
        for &(card, due) in &mine {
            let events = crate::helpers::standing_events(&pool, id, card).await;
            let new = recompute(&parameters, &events, fsrs, DEFAULT_MAX_INTERVAL_DAYS)
                .unwrap()
                .map_or(due, |(s, _)| i64::from(s.due_day));
            moved |= new != due;
            folded.push((card, new));
        }
        affected += i64::from(moved);
    }
    let expected = moves(&due_before, &folded, today);
    let shown = [
        "impact-sooner",
        "impact-later",
        "impact-unchanged",
        "impact-largest",
        "impact-due-before",
        "impact-due-after",
    ]
    .map(|id| figure(&html, id));
    assert_eq!(shown, expected, "{html}");
    assert_eq!(figure(&html, "impact-students"), 2);
    assert_eq!(figure(&html, "impact-affected"), affected);
    assert!(expected[0] + expected[1] > 0, "the fit moves some cards");

    // Another instructor can neither apply nor discard it; nothing moves.
    for action in ["apply", "discard"] {
        let r = other
            .submit("/classes", &format!("/classes/{class}/fit/{action}"), &[])
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{action}");
        let forged = teacher
            .post_form(&format!("/classes/{class}/fit/{action}"), &[])
            .await;
        assert!(forged.status().is_client_error(), "{action}");
    }
    assert!(
        teacher
            .get_html(&dashboard)
            .await
            .contains("id=\"fit-proposal\"")
    );
    assert_eq!(all_states(&pool).await, before);

    // Discarded: gone, and still nothing moved.
    let r = teacher
        .submit(&dashboard, &format!("/classes/{class}/fit/discard"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        !teacher
            .get_html(&dashboard)
            .await
            .contains("id=\"fit-proposal\"")
    );
    assert_eq!(all_states(&pool).await, before);
    assert_eq!(fits(&pool).await, 0);
    let again = teacher
        .submit(&dashboard, &format!("/classes/{class}/fit/apply"), &[])
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);

    // Fitted again and applied: the FSRS students are rescheduled as the proposal said.
    let r = teacher
        .submit(&dashboard, &format!("/classes/{class}/fit"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = wait_for_proposal(&teacher, &dashboard).await;
    assert_eq!(all_states(&pool).await, before);
    let applied_from = admin.clock().now().as_second();
    let r = teacher
        .submit(&dashboard, &format!("/classes/{class}/fit/apply"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let after = wait_until_applied(&teacher, &dashboard).await;
    assert!(after.contains("id=\"fitted\""), "{after}");
    assert!(!after.contains("id=\"fit-proposal\""), "{after}");
    assert_eq!(fits(&pool).await, 1);
    let saved: String = sqlx::query_scalar("SELECT parameters FROM class_fits WHERE class_id = $1")
        .bind(class)
        .fetch_one(&pool)
        .await
        .unwrap();
    let parameters: Vec<f32> = serde_json::from_str(&saved).unwrap();
    for &id in fsrs_ids {
        assert_states_are_the_fold_with(&pool, id, fsrs, &parameters).await;
    }
    let recount = moves(&due_before, &all_due(&pool).await, today);
    let shown = [
        "impact-sooner",
        "impact-later",
        "impact-unchanged",
        "impact-largest",
        "impact-due-before",
        "impact-due-after",
    ]
    .map(|id| figure(&html, id));
    assert_eq!(shown, recount, "{html}");
    // The student on SM-2 kept their schedule.
    assert_eq!(all_states(&pool).await[2], before[2]);

    // Each student whose cards moved is told how many, for a week or until they dismiss it.
    let now = admin.clock().now();
    let mut told = 0;
    for (i, &id) in ids.iter().enumerate() {
        let mine: Vec<(i64, i64)> = before[i].iter().map(|s| (s.0, s.4)).collect();
        let m = moves(&mine, &due_days(&pool, id).await, today);
        let notice = notice_of(&pool, id, now).await;
        if m[0] + m[1] > 0 {
            let (changed_at, cards) = notice.expect("told");
            assert_eq!(cards, m[0] + m[1]);
            // Stamped by the job, between the click and now (the test clock runs).
            assert!((applied_from..=now.as_second()).contains(&changed_at));
            told += 1;
        } else {
            assert_eq!(notice, None, "student {i} was not moved");
        }
    }
    assert_eq!(told, figure(&html, "impact-affected"));
    assert!(told > 0);
    let mover = if notice_of(&pool, ids[0], now).await.is_some() {
        0
    } else {
        1
    };
    let week = now + jiff::SignedDuration::from_secs(studyhall::study::fits::NOTICE_SECS);
    assert!(notice_of(&pool, ids[mover], week).await.is_none());
    let s = &students[mover];
    if s.get("/review").await.status().is_redirection() {
        s.login(names[mover], PASSWORD).await;
    }
    let r = s
        .submit("/review", "/classes/schedule-notice/dismiss", &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(notice_of(&pool, ids[mover], now).await.is_none());
}

/// The student's notice as pages show it at `now`: (when, cards), if it is younger than
/// `NOTICE_SECS`.
async fn notice_of(pool: &SqlitePool, user_id: i64, now: jiff::Timestamp) -> Option<(i64, i64)> {
    sqlx::query_as(
        "SELECT changed_at, cards FROM schedule_notices WHERE user_id = $1 AND changed_at > $2",
    )
    .bind(user_id)
    .bind(now.as_second() - studyhall::study::fits::NOTICE_SECS)
    .fetch_optional(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_schedule_notice_shows_on_every_page_until_dismissed_and_expires_after_a_week() {
    let app = crate::helpers::spawn_app().await;
    app.register_ok("admin").await;
    let student = app.other_browser();
    student.register_ok("ada").await;
    let ada = app.user_id("ada").await;
    let now = app.clock().now().as_second();
    let pool = app.pool().await;
    sqlx::query("INSERT INTO schedule_notices (user_id, changed_at, cards) VALUES ($1, $2, 12)")
        .bind(ada)
        .bind(now - 3600)
        .execute(&pool)
        .await
        .unwrap();
    // Written below the app: read through a server that has not cached the session.
    let server = app.second_server().await;
    let student = student.on(&server);
    for page in ["/decks", "/review", "/stats"] {
        let html = student.get_html(page).await;
        assert!(
            html.contains("12 of your cards were rescheduled"),
            "{page} shows the notice"
        );
    }
    let r = student
        .submit("/decks", "/classes/schedule-notice/dismiss", &[])
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    assert!(
        !student
            .get_html("/decks")
            .await
            .contains("of your cards were rescheduled"),
        "dismissed at once"
    );
    // A week-old notice is not shown.
    sqlx::query("INSERT INTO schedule_notices (user_id, changed_at, cards) VALUES ($1, $2, 5)")
        .bind(ada)
        .bind(now - 8 * 86_400)
        .execute(&pool)
        .await
        .unwrap();
    let fresh = app.second_server().await;
    let student = student.on(&fresh);
    assert!(
        !student
            .get_html("/decks")
            .await
            .contains("of your cards were rescheduled")
    );
}
