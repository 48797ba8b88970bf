use crate::helpers::{TestApp, card_id_in, front_in, set_new_per_day, spawn_app};
use reqwest::StatusCode;
use studyhall::db::Pool as SqlitePool;

const DAY: i64 = 86_400;

#[derive(Debug, PartialEq, Eq, sqlx::FromRow)]
struct State {
    repetitions: i64,
    easiness_hundredths: i64,
    interval_days: i64,
    due_day: i64,
}

async fn state(pool: &SqlitePool, username: &str, card_id: i64) -> Option<State> {
    sqlx::query_as(
        "SELECT s.repetitions, s.easiness_hundredths, s.interval_days, s.due_day
         FROM review_states s JOIN users u ON u.id = s.user_id
         WHERE u.username = $1 AND s.card_id = $2",
    )
    .bind(username)
    .bind(card_id)
    .fetch_optional(pool)
    .await
    .unwrap()
}

async fn history(pool: &SqlitePool, username: &str) -> Vec<(String, Option<i64>)> {
    sqlx::query_as(
        "SELECT r.kind, r.quality FROM reviews r JOIN users u ON u.id = r.user_id
         WHERE u.username = $1 ORDER BY r.id",
    )
    .bind(username)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn today(app: &TestApp) -> i64 {
    // Users start in UTC with days starting at 04:00.
    let now = app.clock().now().as_second() - 4 * 3600;
    now.div_euclid(DAY)
}

#[tokio::test]
async fn the_review_page_shows_the_course_deck_in_order_and_reveals_without_javascript() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let html = app.get_html("/review").await;
    assert_eq!(front_in(&html).as_deref(), Some("L1 Loss"));
    assert!(html.contains("<section id=\"answer\" hidden>"));
    let card = card_id_in(&html).unwrap();
    // A new account gets four buttons (Again, Hard, Good, Easy: grades 1, 3, 4, 5), each with
    // the interval it would give; on a first review under SM-2 only the two that differ,
    // Again and Good (tests/api/card_controls.rs).
    for (q, name) in [(1, "Again"), (4, "Good")] {
        assert!(html.contains(&format!("name=\"quality\" value=\"{q}\"")));
        assert!(html.contains(&format!("<span class=\"label\">{name}</span>")));
    }
    assert!(!html.contains("name=\"quality\" value=\"0\""));
    assert!(!html.contains("name=\"quality\" value=\"3\""));
    assert_eq!(html.matches("class=\"interval\"").count(), 2);
    // The six SM-2 grades are one preference away.
    let r = app
        .submit(
            "/account",
            "/account/preferences",
            &[
                ("time_zone", "UTC"),
                ("day_starts_hour", "4"),
                ("new_per_day", "20"),
                ("grade_buttons", "six"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = app.get_html("/review").await;
    for q in 0..=5 {
        assert!(html.contains(&format!("name=\"quality\" value=\"{q}\"")));
    }
    assert!(html.contains("Blackout") && html.contains("Perfect"));

    let revealed = app.get_html(&format!("/review?show={card}")).await;
    assert!(revealed.contains("<section id=\"answer\">"));
    assert!(revealed.contains("Sum of Absolute Value of (true - predicted)"));
}

#[tokio::test]
async fn grading_a_card_schedules_it_one_day_then_six_days_later() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let pool = app.pool().await;
    let day0 = today(&app).await;

    let card = app.grade_next(5, Some(1)).await;
    assert_eq!(
        state(&pool, "ada", card).await,
        Some(State {
            repetitions: 1,
            easiness_hundredths: 260,
            interval_days: 1,
            due_day: day0 + 1
        })
    );
    // The next card is the deck's second.
    assert_eq!(
        front_in(&app.get_html("/review?deck=1").await).as_deref(),
        Some("L2 Loss")
    );

    app.clock().advance(DAY);
    // Yesterday's card is due and comes before new cards.
    let again = app.grade_next(4, None).await;
    assert_eq!(again, card);
    assert_eq!(
        state(&pool, "ada", card).await,
        Some(State {
            repetitions: 2,
            easiness_hundredths: 260,
            interval_days: 6,
            due_day: day0 + 7
        })
    );
}

#[tokio::test]
async fn a_grade_below_four_brings_the_card_back_today_without_moving_its_schedule() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    set_new_per_day(&app, "1").await;
    let pool = app.pool().await;

    let card = app.grade_next(2, None).await;
    let after_fail = state(&pool, "ada", card).await.unwrap();
    assert_eq!(after_fail.repetitions, 0);
    assert_eq!(after_fail.easiness_hundredths, 218);

    // With no other card allowed today, the failed one returns.
    let html = app.get_html("/review").await;
    assert_eq!(card_id_in(&html), Some(card));
    assert!(html.contains("Again today"));
    assert_eq!(app.grade_next(3, None).await, card);
    assert_eq!(app.grade_next(5, None).await, card);
    assert_eq!(state(&pool, "ada", card).await.unwrap(), after_fail);
    assert_eq!(
        history(&pool, "ada").await,
        vec![
            ("grade".to_owned(), Some(2)),
            ("repeat".to_owned(), Some(3)),
            ("repeat".to_owned(), Some(5)),
        ]
    );

    // Done for today: the page says the new-card limit stops it, and when the next card is due.
    let done = app.get_html("/review").await;
    assert!(done.contains("id=\"new-limit\""), "{done}");
    assert!(done.contains("The next review is due on"));
    let tomorrow = studyhall::srs::day::date_of_day(i32::try_from(today(&app).await + 1).unwrap());
    assert!(done.contains(&tomorrow.to_string()), "{done}");
}

#[tokio::test]
async fn new_cards_stop_at_the_daily_limit() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    set_new_per_day(&app, "2").await;
    app.grade_next(5, None).await;
    let html = app.get_html("/review").await;
    assert!(html.contains("1 new"));
    app.grade_next(5, None).await;
    let done = app.get_html("/review").await;
    assert!(
        done.contains("id=\"new-limit\"") && done.contains("2 new cards."),
        "{done}"
    );
    // A forged grade of a third new card is refused.
    let third_new: i64 =
        sqlx::query_scalar("SELECT id FROM cards ORDER BY position LIMIT 1 OFFSET 2")
            .fetch_one(&app.pool().await)
            .await
            .unwrap();
    let response = app
        .submit(
            "/account",
            &format!("/review/{third_new}"),
            &[("quality", "5")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn undo_restores_the_state_and_the_history_keeps_both_events() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let pool = app.pool().await;
    let first = app.grade_next(5, None).await;
    let second = app.grade_next(3, None).await;
    let before_undo_second = state(&pool, "ada", second).await;
    assert!(before_undo_second.is_some());

    let response = app.submit("/review", "/review/undo", &[("deck", "")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        state(&pool, "ada", second).await,
        None,
        "the second card is new again"
    );
    assert!(state(&pool, "ada", first).await.is_some());
    // The undone card is shown again.
    assert_eq!(card_id_in(&app.get_html("/review").await), Some(second));

    app.submit("/review", "/review/undo", &[("deck", "")]).await;
    assert_eq!(state(&pool, "ada", first).await, None);
    let kinds: Vec<String> = history(&pool, "ada")
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(kinds, ["grade", "grade", "undo", "undo"]);

    // Nothing left to undo today: a clear refusal that changes nothing.
    let nothing = app.submit("/review", "/review/undo", &[("deck", "")]).await;
    assert_eq!(nothing.status(), StatusCode::CONFLICT);
    assert_eq!(history(&pool, "ada").await.len(), 4);
}

#[tokio::test]
async fn undo_of_a_review_restores_the_earlier_schedule() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let pool = app.pool().await;
    let card = app.grade_next(5, None).await;
    let first_state = state(&pool, "ada", card).await;
    app.clock().advance(DAY);
    assert_eq!(app.grade_next(1, None).await, card);
    app.submit("/review", "/review/undo", &[("deck", "")]).await;
    assert_eq!(state(&pool, "ada", card).await, first_state);
}

#[tokio::test]
async fn grade_nine_and_other_non_grades_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let card = card_id_in(&app.get_html("/review").await).unwrap();
    for bad in ["9", "6", "-1", "", "five", "2.5"] {
        let response = app
            .submit("/review", &format!("/review/{card}"), &[("quality", bad)])
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "quality {bad:?}"
        );
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("whole numbers from 0 to 5")
        );
    }
    let pool = app.pool().await;
    assert!(history(&pool, "ada").await.is_empty());
    assert_eq!(state(&pool, "ada", card).await, None);
}

#[tokio::test]
async fn grading_twice_is_refused_the_second_time() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let card = app.grade_next(5, None).await;
    let response = app
        .submit("/review", &format!("/review/{card}"), &[("quality", "5")])
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response.text().await.unwrap().contains("already graded"));
    assert_eq!(history(&app.pool().await, "ada").await.len(), 1);
}

#[tokio::test]
async fn one_users_grades_leave_another_users_schedule_untouched() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let bob = app.other_browser();
    bob.register_ok("bob").await;
    let card = app.grade_next(5, None).await;
    app.grade_next(5, None).await;

    let pool = app.pool().await;
    assert_eq!(state(&pool, "bob", card).await, None);
    assert!(history(&pool, "bob").await.is_empty());
    let html = bob.get_html("/review").await;
    assert_eq!(
        card_id_in(&html),
        Some(card),
        "bob still starts at the first card"
    );
    assert!(html.contains("20 new"));
    // Bob's undo cannot reach Ada's grades.
    let response = bob.submit("/review", "/review/undo", &[("deck", "")]).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(history(&pool, "ada").await.len(), 2);
}

#[tokio::test]
async fn reviewing_one_deck_stays_in_that_deck_and_unknown_cards_are_not_found() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let deck: i64 = sqlx::query_scalar("SELECT id FROM decks")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    let response = app
        .submit(
            &format!("/review?deck={deck}"),
            &format!("/review/{}", 1),
            &[("quality", "4"), ("deck", &deck.to_string())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        format!("/review?deck={deck}&graded=1").as_str()
    );
    assert_eq!(
        app.get("/review?deck=999").await.status(),
        StatusCode::NOT_FOUND
    );
    let missing = app
        .submit("/review", "/review/424242", &[("quality", "4")])
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_restart_on_the_same_file_keeps_everything_and_imports_the_deck_once() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let card = app.grade_next(5, None).await;
    let app = app.restart().await;

    let pool = app.pool().await;
    let (decks, cards): (i64, i64) =
        sqlx::query_as("SELECT (SELECT COUNT(*) FROM decks), (SELECT COUNT(*) FROM cards)")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (decks, cards),
        (2, 39 + studyhall::practice::FAMILIES.len() as i64),
        "the course and practice decks, once"
    );
    assert_eq!(
        app.login("ada", crate::helpers::PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(state(&pool, "ada", card).await.unwrap().repetitions, 1);
    assert_ne!(card_id_in(&app.get_html("/review").await), Some(card));
}

#[tokio::test]
async fn grades_in_one_batch_see_each_other_as_if_committed_one_by_one() {
    use studyhall::study::review::{Graded, grade_batch};
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let pool = app.pool().await;
    let user: i64 = sqlx::query_scalar("SELECT id FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    let now = app.clock().now();
    let today = i32::try_from(today(&app).await).unwrap();
    let request = |card_id: i64, q: u8, new_per_day: u32| {
        crate::helpers::sm2_grade(user, today, now, card_id, q, new_per_day, Vec::new().into())
    };
    let batch = [
        request(1, 2, 2),       // new card, failed: owes a repeat
        request(1, 5, 2),       // the repeat, same batch
        request(1, 5, 2),       // a double submit: refused, the card is not due
        request(999_999, 5, 2), // no such card
        request(2, 5, 2),       // second new card of the day
        request(3, 5, 2),       // third: over the limit of 2
    ];
    let mut tx = pool.begin().await.unwrap();
    let results = grade_batch(&mut *tx, &batch, 36_500).await.unwrap();
    tx.commit().await.unwrap();
    assert!(matches!(results[0], Ok(Graded::Scheduled { .. })));
    assert!(matches!(results[1], Ok(Graded::Repeated)));
    assert!(matches!(
        results[2],
        Err(studyhall::study::StudyError::Conflict(_))
    ));
    assert!(matches!(
        results[3],
        Err(studyhall::study::StudyError::NotFound)
    ));
    assert!(matches!(results[4], Ok(Graded::Scheduled { .. })));
    assert!(matches!(
        results[5],
        Err(studyhall::study::StudyError::Conflict(_))
    ));

    assert_eq!(
        history(&pool, "ada").await,
        vec![
            ("grade".to_owned(), Some(2)),
            ("repeat".to_owned(), Some(5)),
            ("grade".to_owned(), Some(5)),
        ]
    );
    let first = state(&pool, "ada", 1).await.unwrap();
    assert_eq!(
        (first.repetitions, first.easiness_hundredths),
        (0, 218),
        "the repeat kept the schedule"
    );
    assert!(state(&pool, "ada", 3).await.is_none());
    let counted: i64 = sqlx::query_scalar("SELECT reviews FROM review_days WHERE user_id = $1")
        .bind(user)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(counted, 3);
}

#[tokio::test]
async fn a_new_student_meets_a_generated_problem_among_the_first_ten_cards() {
    let app = spawn_app().await;
    app.register_ok("newcomer").await;
    let mut decks = Vec::new();
    for _ in 0..10 {
        let html = app.get_html("/review").await;
        if html.contains("id=\"answer-form\"") {
            return;
        }
        decks.push(html.contains("CS 7643 Quiz 3"));
        app.grade_next(4, None).await;
    }
    panic!("ten cards, none generated: {decks:?}");
}

#[tokio::test]
async fn when_the_new_card_limit_stops_a_session_the_page_says_so_and_offers_more() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    set_new_per_day(&app, "3").await;
    for _ in 0..3 {
        app.grade_next(5, Some(1)).await;
    }
    let html = app.get_html("/review?deck=1").await;
    assert!(
        html.contains("studied today&#39;s 3 new cards")
            || html.contains("studied today's 3 new cards"),
        "{html}"
    );
    assert!(html.contains("36 more new cards wait in this deck"));
    assert!(html.contains("Study 10 more new cards today"));
    let r = app
        .submit(
            "/review?deck=1",
            "/review/more",
            &[("count", "10"), ("deck", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/review?deck=1");
    for _ in 0..10 {
        app.grade_next(5, Some(1)).await;
    }
    let html = app.get_html("/review?deck=1").await;
    assert!(html.contains("26 more new cards wait"), "{html}");
    // Bad counts change nothing.
    for bad in ["0", "201", "lots"] {
        let r = app
            .submit(
                "/review?deck=1",
                "/review/more",
                &[("count", bad), ("deck", "1")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    // The extension was for that day only: the next day, after its 13 reviews, 3 new cards.
    app.clock().advance(86_400);
    for _ in 0..16 {
        app.grade_next(5, Some(1)).await;
    }
    let html = app.get_html("/review?deck=1").await;
    assert!(html.contains("23 more new cards wait"), "{html}");
}

#[tokio::test]
async fn undo_says_what_it_took_back_and_shows_the_card_again() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let first = app.grade_next(4, Some(1)).await;
    let second = app.grade_next(5, Some(1)).await;
    assert_ne!(first, second);
    let r = app
        .submit("/review?deck=1", "/review/undo", &[("deck", "1")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, format!("/review?deck=1&undone={second}&q=5"));
    let html = app.get_html(&location).await;
    assert!(html.contains("Took back your Easy on ‘L2 Loss’."), "{html}");
    assert_eq!(
        card_id_in(&html),
        Some(second),
        "the card comes back at once"
    );
    // From the "done" page too: the message, and the card, which is new again.
    set_new_per_day(&app, "2").await;
    let done = app.get_html("/review?deck=1").await;
    assert!(done.contains("id=\"new-limit\"") || card_id_in(&done).is_some());
    let r = app
        .submit("/review?deck=1", "/review/undo", &[("deck", "1")])
        .await;
    let html = app
        .get_html(r.headers()["location"].to_str().unwrap())
        .await;
    assert!(html.contains("Took back your Good on ‘L1 Loss’."), "{html}");
    assert_eq!(card_id_in(&html), Some(first));
    // A card from another deck is named, but the session stays in its deck.
    let other = app.grade_next(4, Some(2)).await;
    let r = app
        .submit("/review?deck=1", "/review/undo", &[("deck", "1")])
        .await;
    let html = app
        .get_html(r.headers()["location"].to_str().unwrap())
        .await;
    assert!(html.contains("Took back your Good on"));
    assert_ne!(card_id_in(&html), Some(other));
}

#[tokio::test]
async fn a_session_shows_its_progress_and_ends_with_a_summary() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    set_new_per_day(&app, "3").await;
    let html = app.get_html("/review?deck=1").await;
    assert!(html.contains("Card 1 of 3 today"), "{html}");
    // Right, wrong (which comes back), right; then the failed card's repeat.
    app.grade_next(5, Some(1)).await;
    assert!(
        app.get_html("/review?deck=1")
            .await
            .contains("Card 2 of 3 today")
    );
    app.grade_next(1, Some(1)).await;
    app.grade_next(4, Some(1)).await;
    let html = app.get_html("/review?deck=1").await;
    assert!(
        html.contains("Card 4 of 4 today"),
        "the repeat is counted: {html}"
    );
    app.grade_next(4, Some(1)).await;
    let done = app.get_html("/review?deck=1").await;
    assert!(done.contains("id=\"sum-reviews\">4<"), "{done}");
    assert!(done.contains("id=\"sum-right\">3 <small>75%</small><"));
    assert!(done.contains("id=\"sum-streak\">1 day<"));
    // The two cards graded 4 or 5 are due tomorrow; the failed one too (interval 1).
    assert!(done.contains("id=\"sum-tomorrow\">3<"), "{done}");
    assert!(done.contains("href=\"/practice\""));
}

#[tokio::test]
async fn the_queue_heads_fast_statement_and_inline_reader_agree_with_the_filtered_one() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let pool = app.pool().await;
    let user: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = 'ada'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let today = i32::try_from(app.clock().now().as_second().div_euclid(86_400)).unwrap();
    // A history with due, failed, repeated and untouched cards, then tomorrow's view too.
    for q in [5, 2, 4, 1, 3, 5, 4, 0, 5] {
        app.grade_next(q, None).await;
    }
    // Every deck named: the filtered statements, covering what the fast ones do.
    let every: Vec<i64> = sqlx::query_scalar("SELECT id FROM decks ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let json = |ids: &[i64]| {
        format!(
            "[{}]",
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        )
    };
    let all = json(&every);
    let but_2: Vec<i64> = every.iter().copied().filter(|d| *d != 2).collect();
    let but_2 = json(&but_2);
    let inline_new = studyhall::db::hot::first_new(app.db().await, user, today, None)
        .await
        .unwrap()
        .map(|c| c.id);
    let filtered_new = studyhall::db::reviews::first_new(&pool, user, today, Some(&all))
        .await
        .unwrap()
        .map(|c| c.id);
    assert!(inline_new.is_some());
    assert_eq!(inline_new, filtered_new, "the first new card");
    for day in [today - 1, today, today + 1, today + 7] {
        let fast = studyhall::db::reviews::queue_head(&pool, user, day, None)
            .await
            .unwrap();
        // Every deck named takes the filtered statement and leaves nothing out.
        let filtered = studyhall::db::reviews::queue_head(&pool, user, day, Some(&all))
            .await
            .unwrap();
        // And the same statement on the calling thread's own connection (`db::hot`).
        let inline = studyhall::db::hot::queue_head(app.db().await, user, day, None)
            .await
            .unwrap();
        assert_eq!(inline.due_count, filtered.due_count);
        assert_eq!(inline.new_count, filtered.new_count);
        assert_eq!(inline.today_events, filtered.today_events);
        assert_eq!(inline.controls, filtered.controls);
        assert_eq!(inline.card_id, filtered.card_id);
        assert_eq!(inline.state, filtered.state);
        assert_eq!(inline.front, filtered.front);
        assert_eq!(
            studyhall::db::hot::next_due_day(app.db().await, user, day, None)
                .await
                .unwrap(),
            studyhall::db::reviews::next_due_day(&pool, user, day, Some(&all))
                .await
                .unwrap()
        );
        // A chosen deck, all but one, a list padded to a bound length (three ids bound as
        // four, one not a deck), one too long to bind (the JSON statement), inline and through
        // sqlx.
        let long = json(&(1..=70).collect::<Vec<i64>>());
        for decks in [
            "[1]",
            "[2]",
            but_2.as_str(),
            "[]",
            "[2,1,999]",
            long.as_str(),
        ] {
            let decks = Some(decks);
            let a = studyhall::db::hot::queue_head(app.db().await, user, day, decks)
                .await
                .unwrap();
            let b = studyhall::db::reviews::queue_head(&pool, user, day, decks)
                .await
                .unwrap();
            assert_eq!(
                (
                    a.due_count,
                    a.new_count,
                    a.card_id,
                    a.state,
                    &a.today_events
                ),
                (
                    b.due_count,
                    b.new_count,
                    b.card_id,
                    b.state,
                    &b.today_events
                ),
                "{decks:?} on day {day}"
            );
            assert_eq!(
                studyhall::db::hot::first_new(app.db().await, user, day, decks)
                    .await
                    .unwrap()
                    .map(|c| c.id),
                studyhall::db::reviews::first_new(&pool, user, day, decks)
                    .await
                    .unwrap()
                    .map(|c| c.id)
            );
            assert_eq!(
                studyhall::db::hot::next_due_day(app.db().await, user, day, decks)
                    .await
                    .unwrap(),
                studyhall::db::reviews::next_due_day(&pool, user, day, decks)
                    .await
                    .unwrap()
            );
        }
        assert_eq!(fast.due_count, filtered.due_count, "due on day {day}");
        assert_eq!(fast.new_count, filtered.new_count, "new on day {day}");
        assert_eq!(fast.today_events, filtered.today_events);
        assert_eq!(fast.card_id, filtered.card_id);
        assert_eq!(fast.state, filtered.state);
        assert_eq!(fast.deck_name, filtered.deck_name);
    }
}

#[tokio::test]
async fn an_undo_with_nothing_left_says_so_instead_of_the_last_undos_message() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    app.grade_next(4, Some(1)).await;
    app.grade_next(5, Some(1)).await;
    for _ in 0..2 {
        let r = app
            .submit("/review?deck=1", "/review/undo", &[("deck", "1")])
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let third = app
        .submit("/review?deck=1", "/review/undo", &[("deck", "1")])
        .await;
    assert_eq!(third.status(), StatusCode::CONFLICT);
    let html = third.text().await.unwrap();
    assert!(
        html.contains(
            "id=\"took-back\">Nothing to undo: no grade from today is left to take back.</p>"
        ),
        "{html}"
    );
    assert!(!html.contains("Took back your"));
    assert!(
        card_id_in(&html).is_some(),
        "the review page itself, to go on"
    );
    assert!(!html.contains("id=\"undo-form\""));
}
