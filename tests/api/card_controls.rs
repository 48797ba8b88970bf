//! The controls students expect of any SRS tool (issue 25, item 10): suspend, bury, skip,
//! leeches, custom sessions; and honest grade buttons on a first review under SM-2.

use crate::classes::{import_private, join, make_instructor, new_class};
use crate::helpers::{TestApp, card_id_in, front_in, set_new_per_day, spawn_app};
use reqwest::StatusCode;
use studyhall::db::Pool;

const DAY: i64 = 86_400;

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// Everything a control must leave alone: the user's schedules, history and tallies.
#[derive(Debug, PartialEq, Eq)]
struct Untouched {
    states: Vec<(i64, i64, i64, i64, i64)>,
    reviews: i64,
    due_tally: i64,
    studied_tally: i64,
}

async fn untouched(pool: &Pool, user: i64) -> Untouched {
    Untouched {
        states: sqlx::query_as(
            "SELECT card_id, repetitions, easiness_hundredths, interval_days, due_day
             FROM review_states WHERE user_id = $1 ORDER BY card_id",
        )
        .bind(user)
        .fetch_all(pool)
        .await
        .unwrap(),
        reviews: sqlx::query_scalar("SELECT COUNT(*) FROM reviews WHERE user_id = $1")
            .bind(user)
            .fetch_one(pool)
            .await
            .unwrap(),
        due_tally: sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(cards), 0) AS BIGINT) FROM due_tally WHERE user_id = $1",
        )
        .bind(user)
        .fetch_one(pool)
        .await
        .unwrap(),
        studied_tally: sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(cards), 0) AS BIGINT) FROM studied_tally WHERE user_id = $1",
        )
        .bind(user)
        .fetch_one(pool)
        .await
        .unwrap(),
    }
}

/// The review page's counts: (due, new).
fn review_counts(html: &str) -> (i64, i64) {
    let number = |marker: &str, end: &str| -> i64 {
        let start = html.find(marker).expect(marker) + marker.len();
        html[start..start + html[start..].find(end).unwrap()]
            .trim()
            .parse()
            .unwrap()
    };
    (
        number("<span class=\"due\" title=\"Due\">", " due"),
        number("<span class=\"new\" title=\"New\">", " new"),
    )
}

/// /decks' counts of deck `deck`: (new, due).
fn deck_counts(html: &str, deck: i64) -> (i64, i64) {
    let row = &html[html.find(&format!("href=\"/decks/{deck}\"")).unwrap()..];
    let number = |label: &str| -> i64 {
        let marker = format!("data-label=\"{label}\">");
        let start = row.find(&marker).unwrap() + marker.len();
        row[start..start + row[start..].find('<').unwrap()]
            .parse()
            .unwrap()
    };
    (number("New"), number("Due"))
}

async fn control(
    app: &TestApp,
    page: &str,
    card: i64,
    what: &str,
    deck: &str,
) -> reqwest::Response {
    app.submit(page, &format!("/cards/{card}/{what}"), &[("deck", deck)])
        .await
}

/// A figure tile of /stats, by its id.
fn stats_tile(html: &str, id: &str) -> i64 {
    let marker = format!("id=\"{id}\">");
    let start = html.find(&marker).expect(id) + marker.len();
    html[start..start + html[start..].find('<').unwrap()]
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_suspended_card_leaves_every_queue_and_count_until_unsuspended() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let pool = app.pool().await;
    let ada = app.user_id("ada").await;
    let card = app.grade_next(5, Some(1)).await;
    app.clock().advance(DAY);
    let html = app.get_html("/review?deck=1").await;
    assert_eq!(card_id_in(&html), Some(card), "yesterday's card is due");
    let (due, new) = review_counts(&html);
    assert_eq!(due, 1);
    let (unseen, due_listed) = deck_counts(&app.get_html("/decks").await, 1);
    assert_eq!(due_listed, 1);
    // The review page offers the controls without script, with their keys.
    for (form, key) in [
        ("skip-form", "S"),
        ("bury-form", "B"),
        ("suspend-form", "X"),
    ] {
        assert!(html.contains(&format!("id=\"{form}\"")), "{form}");
        assert!(html.contains(&format!("<kbd>{key}</kbd>")), "{key}");
    }
    let before = untouched(&pool, ada).await;

    let r = control(&app, "/review?deck=1", card, "suspend", "1").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&r),
        format!("/review?deck=1&card={card}&did=suspend")
    );
    let html = app.get_html(&location(&r)).await;
    assert!(html.contains("Suspended ‘L1 Loss’"), "{html}");
    assert!(html.contains("id=\"unsuspend-now\""));
    assert_ne!(card_id_in(&html), Some(card));
    assert_eq!(review_counts(&html), (0, new));
    // /stats counts what the review page shows: nothing due today, nothing after.
    let stats = app.get_html("/stats").await;
    assert_eq!(
        stats_tile(&stats, "due-today"),
        0,
        "a suspended card is not due"
    );
    assert_eq!(stats_tile(&stats, "due-tomorrow"), 0);
    // /decks agrees, lists it, and the schedule and history are as they were.
    let decks = app.get_html("/decks").await;
    assert_eq!(deck_counts(&decks, 1), (unseen, 0));
    assert!(decks.contains(&format!("id=\"suspended-{card}\"")));
    assert!(
        app.get_html(&format!("/cards/{card}"))
            .await
            .contains("You have suspended this card")
    );
    assert_eq!(untouched(&pool, ada).await, before);
    // Every day after, too, in the all-decks queue.
    app.clock().advance(3 * DAY);
    for _ in 0..3 {
        let html = app.get_html("/review").await;
        assert_ne!(card_id_in(&html), Some(card));
        assert_eq!(review_counts(&html).0, 0);
    }

    // A new card suspended leaves the new count.
    let html = app.get_html("/review?deck=1").await;
    let fresh = card_id_in(&html).unwrap();
    set_new_per_day(&app, "9999").await; // the review page's new count: every unseen card
    let (_, new_before) = review_counts(&app.get_html("/review?deck=1").await);
    assert_eq!(new_before, unseen);
    control(&app, "/review?deck=1", fresh, "suspend", "1").await;
    let html = app.get_html("/review?deck=1").await;
    assert_eq!(review_counts(&html).1, unseen - 1);
    assert_ne!(card_id_in(&html), Some(fresh));
    assert_eq!(deck_counts(&app.get_html("/decks").await, 1).0, unseen - 1);

    // Unsuspend from /decks: back in the queue, due as it was.
    let r = app
        .submit(
            "/decks",
            &format!("/cards/{card}/unsuspend"),
            &[("back", "decks")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/decks#my-cards");
    let html = app.get_html("/review?deck=1").await;
    assert_eq!(card_id_in(&html), Some(card));
    assert_eq!(review_counts(&html).0, 1);
    assert!(
        !app.get_html("/decks")
            .await
            .contains(&format!("id=\"suspended-{card}\""))
    );
    // Twice is refused, with a reason.
    let r = control(&app, "/decks", card, "unsuspend", "").await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_buried_card_comes_back_on_the_next_study_day_with_its_schedule_unchanged() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let pool = app.pool().await;
    let ada = app.user_id("ada").await;
    let first = app.grade_next(5, Some(1)).await;
    let second = app.grade_next(5, Some(1)).await;
    app.clock().advance(DAY);
    let html = app.get_html("/review?deck=1").await;
    assert_eq!(card_id_in(&html), Some(first));
    assert_eq!(review_counts(&html).0, 2);
    let before = untouched(&pool, ada).await;

    let r = control(&app, "/review?deck=1", first, "bury", "1").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = app.get_html(&location(&r)).await;
    assert!(html.contains("Buried ‘L1 Loss’"), "{html}");
    assert_eq!(card_id_in(&html), Some(second));
    assert_eq!(review_counts(&html).0, 1);
    assert_eq!(deck_counts(&app.get_html("/decks").await, 1).1, 1);
    assert_eq!(untouched(&pool, ada).await, before);
    // /stats agrees: one due today, the buried one counted tomorrow, when it comes back.
    let stats = app.get_html("/stats").await;
    assert_eq!(stats_tile(&stats, "due-today"), 1);
    assert_eq!(stats_tile(&stats, "due-tomorrow"), 1);

    // Undo still takes back the last grade, and the buried card stays buried.
    app.grade_next(4, Some(1)).await;
    let r = app
        .submit("/review?deck=1", "/review/undo", &[("deck", "1")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = app.get_html(&location(&r)).await;
    assert_eq!(card_id_in(&html), Some(second), "the undone card is back");
    assert_eq!(review_counts(&html).0, 1);

    // A minute before the study day ends (04:00 the next morning) it is still out.
    let into_day = (app.clock().now().as_second() - 4 * 3600).rem_euclid(DAY);
    app.clock().advance(DAY - into_day - 60);
    let html = app.get_html("/review?deck=1").await;
    assert_eq!(card_id_in(&html), Some(second));
    // The next study day it is back, first, due as it was.
    app.clock().advance(120);
    let html = app.get_html("/review?deck=1").await;
    assert_eq!(card_id_in(&html), Some(first));
    assert_eq!(review_counts(&html).0, 2);
    assert_eq!(deck_counts(&app.get_html("/decks").await, 1).1, 2);
}

#[tokio::test]
async fn the_done_page_says_when_buried_cards_come_back() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let card = app.grade_next(5, Some(1)).await;
    set_new_per_day(&app, "0").await;
    app.clock().advance(DAY);
    let r = control(&app, "/review?deck=1", card, "bury", "1").await;
    let html = app.get_html(&location(&r)).await;
    assert!(html.contains("Nothing is due"), "{html}");
    assert!(html.contains("Buried ‘L1 Loss’"));
    assert!(html.contains("1 buried card comes back on your next study day."));
    // Not in another deck's session.
    assert!(
        !app.get_html("/review?deck=2")
            .await
            .contains("id=\"buried\"")
    );
}

#[tokio::test]
async fn a_skipped_card_goes_to_the_back_of_todays_queue_and_nothing_is_logged() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let pool = app.pool().await;
    let ada = app.user_id("ada").await;
    let first = app.grade_next(5, Some(1)).await;
    let second = app.grade_next(5, Some(1)).await;
    app.clock().advance(DAY);
    let html = app.get_html("/review?deck=1").await;
    assert_eq!(card_id_in(&html), Some(first));
    let counts = review_counts(&html);
    let before = untouched(&pool, ada).await;

    let r = control(&app, "/review?deck=1", first, "skip", "1").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = app.get_html(&location(&r)).await;
    assert!(html.contains("Skipped ‘L1 Loss’"));
    // Still owed today: the counts stand, nothing is written.
    assert_eq!(review_counts(&html), counts);
    assert_eq!(card_id_in(&html), Some(second));
    assert_eq!(untouched(&pool, ada).await, before);

    // Skipped again, after the other due card: both skipped, today's new cards come first.
    control(&app, "/review?deck=1", second, "skip", "1").await;
    let html = app.get_html("/review?deck=1").await;
    assert!(
        html.contains("New card"),
        "new cards come before the skipped ones"
    );
    assert_eq!(review_counts(&html), counts);
    // With no new card left for today, the skipped cards come back in the order skipped.
    set_new_per_day(&app, "0").await;
    let html = app.get_html("/review?deck=1").await;
    assert_eq!(
        card_id_in(&html),
        Some(first),
        "the first skipped comes first"
    );
    // Skipped again, it goes behind the other.
    control(&app, "/review?deck=1", first, "skip", "1").await;
    let html = app.get_html("/review?deck=1").await;
    assert_eq!(card_id_in(&html), Some(second));
    assert_eq!(untouched(&pool, ada).await, before);
    app.grade_next(4, Some(1)).await;
    let html = app.get_html("/review?deck=1").await;
    assert_eq!(card_id_in(&html), Some(first));
    assert_eq!(review_counts(&html).0, 1);
    app.grade_next(4, Some(1)).await;
    assert!(
        app.get_html("/review?deck=1")
            .await
            .contains("Nothing is due")
    );
}

#[tokio::test]
async fn a_card_failed_eight_times_is_a_leech_for_the_student_and_on_the_dashboard() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    let (class, code) = new_class(&teacher, "CS 7643").await;
    let student = admin.other_browser();
    student.register_ok("ada").await;
    join(&student, &code).await;

    let mut card = 0;
    for failure in 1..=8 {
        let html = student.get_html("/review?deck=1").await;
        assert!(
            !html.contains("id=\"leech\""),
            "not yet a leech after {}",
            failure - 1
        );
        // The same card each day: new on the first, then due first.
        let failed = student.grade_next(1, Some(1)).await;
        assert!(card == 0 || failed == card);
        card = failed;
        admin.clock().advance(DAY);
    }
    let leeches = student.get_html("/decks").await;
    assert!(
        leeches.contains(&format!("id=\"leech-{card}\"")),
        "{leeches}"
    );
    let dashboard = teacher
        .get_html(&format!("/classes/{class}/dashboard"))
        .await;
    assert!(
        dashboard.contains(&format!("id=\"leech-{card}\"")),
        "{dashboard}"
    );
    assert!(dashboard.contains("1 student"));

    let html = student.get_html("/review?deck=1").await;
    assert_eq!(card_id_in(&html), Some(card));
    assert!(html.contains("id=\"leech\""));
    assert!(html.contains("failed 8×"));
    assert!(html.contains("id=\"leech-note\""));
    // A leech is flagged, not suspended: it stays in the queue.
    assert_eq!(review_counts(&html).0, 1);

    // A day later it is overdue on the dashboard; suspended, it is not (the student's own
    // pages no longer count it due).
    let overdue = |csv: String| {
        let line = csv
            .lines()
            .find(|l| l.starts_with("ada,"))
            .unwrap()
            .to_owned();
        line.split(',').nth(3).unwrap().parse::<i64>().unwrap()
    };
    let csv_path = format!("/classes/{class}/students.csv");
    admin.clock().advance(DAY);
    let csv = teacher.get(&csv_path).await.text().await.unwrap();
    assert_eq!(overdue(csv), 1);
    let r = control(&student, "/review?deck=1", card, "suspend", "1").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let csv = teacher.get(&csv_path).await.text().await.unwrap();
    assert_eq!(overdue(csv), 0, "a suspended card is not overdue");
}

#[tokio::test]
async fn a_leech_needs_eight_failures() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    let (class, code) = new_class(&teacher, "CS 7643").await;
    let student = admin.other_browser();
    student.register_ok("ada").await;
    join(&student, &code).await;
    let mut card = 0;
    for _ in 0..7 {
        card = student.grade_next(1, Some(1)).await;
        // Today's repeat, failed too, is not counted: only the scheduled grades are.
        let r = student
            .submit(
                "/review?deck=1",
                &format!("/review/{card}"),
                &[("quality", "1"), ("deck", "1")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        admin.clock().advance(DAY);
    }
    let repeats: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM reviews WHERE card_id = $1 AND kind = 'repeat' AND quality < 3",
    )
    .bind(card)
    .fetch_one(&student.pool().await)
    .await
    .unwrap();
    assert_eq!(repeats, 7, "14 failures in all, 7 of them scheduled grades");
    let html = student.get_html("/review?deck=1").await;
    assert_eq!(card_id_in(&html), Some(card));
    assert!(!html.contains("id=\"leech\""));
    assert!(
        !student
            .get_html("/decks")
            .await
            .contains(&format!("id=\"leech-{card}\""))
    );
    let dashboard = teacher
        .get_html(&format!("/classes/{class}/dashboard"))
        .await;
    assert!(dashboard.contains("No leeches."));
}

#[tokio::test]
async fn a_custom_session_shows_a_decks_cards_and_writes_nothing() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let pool = app.pool().await;
    let ada = app.user_id("ada").await;
    app.grade_next(1, Some(1)).await; // L1 Loss, failed
    app.grade_next(5, Some(1)).await; // a second card, right
    let before = untouched(&pool, ada).await;
    let queue_before = review_counts(&app.get_html("/review?deck=1").await);

    assert!(
        app.get_html("/decks/1")
            .await
            .contains("/decks/1/custom?set=failed")
    );
    let html = app.get_html("/decks/1/custom?set=failed").await;
    assert!(html.contains("does <strong>not</strong> change your schedule"));
    assert!(html.contains("Card 1 of 1"));
    assert_eq!(front_in(&html).as_deref(), Some("L1 Loss"));
    assert!(html.contains("<section id=\"answer\" hidden>"));
    let shown = app.get_html("/decks/1/custom?set=failed&i=0&show=1").await;
    assert!(shown.contains("<section id=\"answer\">"));
    assert!(shown.contains("data-key=\"1\"") && shown.contains("data-key=\"3\""));
    let r = app
        .submit(
            "/decks/1/custom?set=failed&i=0&show=1",
            "/decks/1/custom",
            &[
                ("set", "failed"),
                ("i", "0"),
                ("right", "0"),
                ("wrong", "0"),
                ("result", "good"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&r),
        "/decks/1/custom?set=failed&i=1&right=1&wrong=0"
    );
    let done = app.get_html(&location(&r)).await;
    assert!(
        done.contains("Session over: 1 right, 0 again, of 1 card"),
        "{done}"
    );

    // All cards: every basic card of the deck, in order.
    let total: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM cards WHERE deck_id = 1 AND kind <> 'generated'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let html = app.get_html("/decks/1/custom?set=all").await;
    assert!(html.contains(&format!("Card 1 of {total}")));
    for i in 0..3 {
        let r = app
            .submit(
                &format!("/decks/1/custom?set=all&i={i}&show=1"),
                "/decks/1/custom",
                &[("set", "all"), ("i", &i.to_string()), ("result", "again")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    // Nothing was written: schedules, history, tallies, and the queue's counts are as before.
    assert_eq!(untouched(&pool, ada).await, before);
    assert_eq!(
        review_counts(&app.get_html("/review?deck=1").await),
        queue_before
    );

    // A week later the failure is out of the week.
    app.clock().advance(7 * DAY);
    let html = app.get_html("/decks/1/custom?set=failed").await;
    assert!(html.contains("You failed no card of this deck in the last 7 days."));
    // Bad requests.
    assert_eq!(
        app.get("/decks/1/custom?set=everything").await.status(),
        StatusCode::BAD_REQUEST
    );
    let r = app
        .submit(
            "/decks/1",
            "/decks/1/custom",
            &[("set", "all"), ("result", "5")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_first_review_under_sm2_has_two_buttons_and_fsrs_keeps_four() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let card = card_id_in(&app.get_html("/review?deck=1").await).unwrap();
    let html = app.get_html(&format!("/review?deck=1&show={card}")).await;
    assert_eq!(html.matches("name=\"quality\"").count(), 2, "{html}");
    assert!(html.contains("name=\"quality\" value=\"1\""));
    assert!(html.contains("name=\"quality\" value=\"4\""));
    assert!(html.contains("data-key=\"1\"") && html.contains("data-key=\"3\""));
    assert!(!html.contains("data-key=\"2\"") && !html.contains("data-key=\"4\""));
    assert!(html.contains("Keys <kbd>1</kbd> or <kbd>3</kbd>"));
    assert!(html.contains("id=\"first-review-note\""));
    // The two outcomes differ, as the four did not.
    assert!(html.contains("<span class=\"interval\">1d, and again today</span>"));
    assert!(html.contains("<span class=\"interval\">1d</span>"));

    // A card already reviewed has four, each its own interval.
    app.grade_next(4, Some(1)).await;
    app.clock().advance(DAY);
    let html = app.get_html(&format!("/review?deck=1&show={card}")).await;
    assert_eq!(card_id_in(&html), Some(card));
    assert_eq!(html.matches("name=\"quality\"").count(), 4);
    assert!(!html.contains("id=\"first-review-note\""));

    // Under FSRS a new card keeps four: its first intervals differ.
    let r = app
        .submit(
            "/account",
            "/account/scheduler",
            &[("scheduler", "fsrs"), ("desired_retention", "90")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    app.grade_next(4, Some(1)).await;
    let html = app.get_html("/review?deck=1").await;
    assert!(html.contains("New card"));
    assert_eq!(html.matches("name=\"quality\"").count(), 4);
}

#[tokio::test]
async fn forged_controls_change_nothing_and_get_a_clear_4xx() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    let private = import_private(&teacher, "Secret deck").await;
    let secret: i64 = sqlx::query_scalar("SELECT id FROM cards WHERE deck_id = $1")
        .bind(private)
        .fetch_one(&admin.pool().await)
        .await
        .unwrap();
    let student = admin.other_browser();
    student.register_ok("ada").await;
    let pool = admin.pool().await;
    let controls = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM card_controls")
            .fetch_one(&admin.pool().await)
            .await
            .unwrap()
    };

    // A card of a deck the student cannot see, and one that does not exist: not found.
    for card in [secret, 999_999] {
        for what in ["suspend", "unsuspend", "bury", "skip"] {
            let r = control(&student, "/review", card, what, "").await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{what} {card}");
        }
    }
    assert_eq!(
        student
            .get(&format!("/decks/{private}/custom?set=all"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // No card id, or no CSRF token.
    let token = crate::helpers::csrf_in(&student.get_html("/review").await);
    let r = student
        .post_form("/cards/abc/suspend", &[("csrf_token", &token)])
        .await;
    assert!(r.status().is_client_error(), "{}", r.status());
    let r = student.post_form("/cards/1/suspend", &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(controls().await, 0);

    // Controls are the student's own: another's suspension leaves this queue alone.
    let ada = student.user_id("ada").await;
    let card = card_id_in(&student.get_html("/review?deck=1").await).unwrap();
    let r = control(&teacher, "/decks", card, "suspend", "").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let before = untouched(&pool, ada).await;
    assert_eq!(
        card_id_in(&student.get_html("/review?deck=1").await),
        Some(card)
    );
    assert!(!student.get_html("/decks").await.contains("id=\"suspended-"));
    // And unsuspending it as the student is refused: it is not theirs to unsuspend.
    let r = control(&student, "/decks", card, "unsuspend", "").await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(
        teacher
            .get_html("/decks")
            .await
            .contains(&format!("id=\"suspended-{card}\""))
    );
    assert_eq!(untouched(&pool, ada).await, before);
}

#[tokio::test]
async fn a_generated_problem_can_be_skipped_buried_or_suspended_like_any_card() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let pool = app.pool().await;
    let ada = app.user_id("ada").await;
    let deck: i64 =
        sqlx::query_scalar("SELECT id FROM decks WHERE name = 'CS 7643 practice problems'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let review = format!("/review?deck={deck}");
    let html = app.get_html(&review).await;
    assert!(html.contains("id=\"answer-form\""), "a problem is shown");
    let first = card_id_in(&html).unwrap();
    for form in ["skip-form", "bury-form", "suspend-form"] {
        assert!(html.contains(&format!("id=\"{form}\"")), "{form}");
    }
    let before = untouched(&pool, ada).await;
    let r = control(&app, &review, first, "skip", &deck.to_string()).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let second = card_id_in(&app.get_html(&review).await).unwrap();
    assert_ne!(second, first);
    control(&app, &review, second, "bury", &deck.to_string()).await;
    let third = card_id_in(&app.get_html(&review).await).unwrap();
    assert!(third != first && third != second);
    assert_eq!(untouched(&pool, ada).await, before);
}

#[tokio::test]
async fn an_undo_does_not_bring_back_a_card_buried_since() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    // Failed: it would come back later today, and Undo would show it again at once.
    let failed = app.grade_next(1, Some(1)).await;
    let r = control(&app, "/review?deck=1", failed, "bury", "1").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .submit("/review?deck=1", "/review/undo", &[("deck", "1")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = app.get_html(&location(&r)).await;
    assert!(
        html.contains("Took back"),
        "the grade was taken back: {html}"
    );
    assert_ne!(
        card_id_in(&html),
        Some(failed),
        "buried, so not shown again today"
    );
    // The next study day it is back, new again since its only grade was taken back.
    app.clock().advance(DAY);
    let html = app.get_html("/review?deck=1").await;
    assert_eq!(card_id_in(&html), Some(failed));
}
