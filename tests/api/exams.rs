//! Exam dates (issue 12): a class's exam keeps every card of its decks from coming due after
//! it without a review in its window, spreads the window's load, and the dashboard predicts
//! each student's recall on the day. Driven over simulated weeks with the movable clock.

use crate::classes::{import_private, make_instructor, new_class};
use crate::helpers::{PASSWORD, TestApp, card_id_in, set_new_per_day, spawn_app};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reqwest::StatusCode;
use studyhall::db::Pool as SqlitePool;
use studyhall::srs::day::date_of_day;

/// A class with a teacher and students who joined it.
struct Class {
    admin: TestApp,
    teacher: TestApp,
    id: i64,
    students: Vec<(TestApp, &'static str)>,
    pool: SqlitePool,
    course_deck: i64,
}

async fn class_with(names: &[&'static str]) -> Class {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    let (id, code) = new_class(&teacher, "CS 7643").await;
    let mut students = Vec::new();
    for &name in names {
        let s = admin.other_browser();
        s.register_ok(name).await;
        crate::classes::join(&s, &code).await;
        set_new_per_day(&s, "8").await;
        students.push((s, name));
    }
    let pool = admin.pool().await;
    let course_deck = sqlx::query_scalar("SELECT id FROM decks WHERE name = 'CS 7643 Quiz 3'")
        .fetch_one(&pool)
        .await
        .unwrap();
    Class {
        admin,
        teacher,
        id,
        students,
        pool,
        course_deck,
    }
}

impl Class {
    fn today(&self) -> i32 {
        studyhall::srs::day::StudyCalendar::new(jiff::tz::TimeZone::UTC, 4)
            .day_of(self.admin.clock().now())
    }

    async fn add_exam(&self, name: &str, day: i32, window: &str) -> reqwest::Response {
        let page = format!("/classes/{}", self.id);
        self.relogin_teacher().await;
        let deck_field = format!("deck_{}", self.course_deck);
        self.teacher
            .submit(
                &page,
                &format!("/classes/{}/exams", self.id),
                &[
                    ("name", name),
                    ("date", &date_of_day(day).to_string()),
                    ("window_days", window),
                    (&deck_field, "1"),
                ],
            )
            .await
    }

    async fn relogin_teacher(&self) {
        if self.teacher.get("/classes").await.status().is_redirection() {
            self.teacher.login("teacher", PASSWORD).await;
        }
    }

    async fn user_id(&self, name: &str) -> i64 {
        sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// Every student studies one day: what the page shows, with grades from `grades`.
    async fn study_day(&self, rng: &mut ChaCha8Rng, grades: std::ops::RangeInclusive<u8>) {
        for (s, name) in &self.students {
            if s.get("/review").await.status().is_redirection() {
                s.login(name, PASSWORD).await;
            }
            for _ in 0..60 {
                let Some(card) = card_id_in(&s.get_html("/review").await) else {
                    break;
                };
                let q = rng.random_range(grades.clone()).to_string();
                let r = s
                    .submit(
                        "/review",
                        &format!("/review/{card}"),
                        &[("quality", &q), ("deck", "")],
                    )
                    .await;
                assert_eq!(r.status(), StatusCode::SEE_OTHER);
            }
        }
    }
}

/// (card, graded day, interval, due day) of a student's course-deck cards.
async fn course_states(c: &Class, user: i64) -> Vec<(i64, i64, i64, i64)> {
    sqlx::query_as(
        "SELECT s.card_id, s.graded_day, s.interval_days, s.due_day
         FROM review_states s JOIN cards c ON c.id = s.card_id
         WHERE s.user_id = $1 AND c.deck_id = $2 ORDER BY s.card_id",
    )
    .bind(user)
    .bind(c.course_deck)
    .fetch_all(&c.pool)
    .await
    .unwrap()
}

/// No card graded before the window comes due on or after the exam, and no window day
/// carries more than ceil(cards in the window / window days) + 1. Returns how many cards the
/// exam moved (their natural due day reached the window).
fn assert_window_holds(states: &[(i64, i64, i64, i64)], exam_day: i64, window: i64) -> usize {
    let start = exam_day - window;
    let mut moved = 0;
    for &(card, graded, interval, due) in states {
        if graded < start {
            assert!(
                due < exam_day,
                "card {card} graded on {graded} is due {due}, after the exam on {exam_day}"
            );
            if graded + interval >= start {
                moved += 1;
                assert!(
                    (start..exam_day).contains(&due),
                    "card {card} reaches the window but is due {due}"
                );
            }
        }
    }
    let in_window: Vec<i64> = states
        .iter()
        .map(|s| s.3)
        .filter(|d| (start..exam_day).contains(d))
        .collect();
    let share = (in_window.len() as i64 + window - 1) / window + 1;
    for day in start..exam_day {
        let load = in_window.iter().filter(|d| **d == day).count() as i64;
        assert!(
            load <= share,
            "day {day} carries {load} of {} (share {share})",
            in_window.len()
        );
    }
    moved
}

/// The scheduler's own state is untouched by the exam: (n, EF, interval) are the SM-2 fold of
/// the card's history, and the due day is the fold's or in the window.
async fn assert_sm2_fold_with_exam(c: &Class, user: i64, exam_day: i64, window: i64) {
    let states: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT card_id, repetitions, easiness_hundredths, interval_days, due_day
         FROM review_states WHERE user_id = $1",
    )
    .bind(user)
    .fetch_all(&c.pool)
    .await
    .unwrap();
    for (card, reps, ef, interval, due) in states {
        let events = crate::helpers::standing_events(&c.pool, user, card).await;
        let (s, _) = studyhall::srs::scheduler::recompute(
            &[],
            &events,
            studyhall::srs::scheduler::Scheduler::Sm2,
            studyhall::srs::sm2::DEFAULT_MAX_INTERVAL_DAYS,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (reps, ef, interval),
            (
                i64::from(s.sm2.repetitions),
                i64::from(s.sm2.easiness_hundredths),
                i64::from(s.sm2.interval_days)
            ),
            "card {card}: {events:?}"
        );
        let natural = i64::from(s.due_day);
        assert!(
            due == natural || (exam_day - window..exam_day).contains(&due),
            "card {card}: due {due}, the fold says {natural}"
        );
    }
}

/// Under FSRS too the exam moves only due days: SM-2's fields, the interval and the memory
/// are the FSRS fold of the history (at 80%, default parameters), and the due day is the
/// fold's or in the window.
async fn assert_fsrs_fold_with_exam(c: &Class, user: i64, exam_day: i64, window: i64) {
    let states: Vec<(i64, i64, i64, i64, f64)> = sqlx::query_as(
        "SELECT card_id, repetitions, interval_days, due_day, stability
         FROM review_states WHERE user_id = $1",
    )
    .bind(user)
    .fetch_all(&c.pool)
    .await
    .unwrap();
    assert!(!states.is_empty());
    for (card, reps, interval, due, stability) in states {
        let events = crate::helpers::standing_events(&c.pool, user, card).await;
        let (s, memory) = studyhall::srs::scheduler::recompute(
            &[],
            &events,
            studyhall::srs::scheduler::Scheduler::Fsrs { retention_pct: 80 },
            studyhall::srs::sm2::DEFAULT_MAX_INTERVAL_DAYS,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (reps, interval),
            (i64::from(s.sm2.repetitions), i64::from(s.sm2.interval_days)),
            "card {card}: {events:?}"
        );
        let (ms, _) = memory.unwrap();
        assert!((f64::from(ms) - stability).abs() < 1e-3 * stability.max(1.0));
        let natural = i64::from(s.due_day);
        assert!(
            due == natural || (exam_day - window..exam_day).contains(&due),
            "card {card}: due {due}, the fold says {natural}"
        );
    }
}

#[tokio::test]
async fn no_card_jumps_an_exam_and_its_window_carries_an_even_load_over_simulated_weeks() {
    let c = class_with(&["ada", "bob"]).await;
    // Bob studies with FSRS: the exam constrains every scheduler.
    let (bob, _) = &c.students[1];
    let r = bob
        .submit(
            "/account",
            "/account/scheduler",
            &[("scheduler", "fsrs"), ("desired_retention", "80")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let exam_day = i64::from(c.today()) + 26;
    let r = c.add_exam("Quiz 3", exam_day as i32, "").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = c.teacher.get_html(&format!("/classes/{}", c.id)).await;
    assert!(page.contains("Quiz 3"), "{page}");
    assert!(page.contains(&date_of_day(exam_day as i32).to_string()));

    // Good grades, so intervals grow past the exam; both study daily until the window opens.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let window = 5;
    while i64::from(c.today()) < exam_day - window {
        c.study_day(&mut rng, 3..=5).await;
        c.admin.clock().advance(86_400);
    }
    let ada = c.user_id("ada").await;
    let bob_id = c.user_id("bob").await;
    for user in [ada, bob_id] {
        let states = course_states(&c, user).await;
        assert!(states.len() >= 30, "{} cards studied", states.len());
        let moved = assert_window_holds(&states, exam_day, window);
        assert!(moved >= 5, "only {moved} cards reached the window");
    }
    assert_sm2_fold_with_exam(&c, ada, exam_day, window).await;
    assert_fsrs_fold_with_exam(&c, bob_id, exam_day, window).await;
    crate::tallies::assert_tables_match_a_recount(&c.pool, "grades before an exam").await;

    // The window's days come: every card graded before it is reviewed by the exam day.
    while i64::from(c.today()) < exam_day {
        c.study_day(&mut rng, 3..=5).await;
        c.admin.clock().advance(86_400);
    }
    for user in [ada, bob_id] {
        let unreviewed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM review_states s JOIN cards c ON c.id = s.card_id
             WHERE s.user_id = $1 AND c.deck_id = $2 AND s.graded_day < $3",
        )
        .bind(user)
        .bind(c.course_deck)
        .bind(exam_day - window)
        .fetch_one(&c.pool)
        .await
        .unwrap();
        assert_eq!(unreviewed, 0, "every card had its review in the window");
    }
}

#[tokio::test]
async fn an_exam_set_later_pulls_scheduled_cards_into_its_window_and_deleting_it_gives_them_back() {
    let c = class_with(&["ada"]).await;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for _ in 0..12 {
        c.study_day(&mut rng, 4..=5).await;
        c.admin.clock().advance(86_400);
    }
    let ada = c.user_id("ada").await;
    let before = course_states(&c, ada).await;
    let exam_day = i64::from(c.today()) + 9;
    let jumping = before.iter().filter(|s| s.3 >= exam_day).count();
    assert!(jumping >= 5, "{jumping} cards due after the exam day");
    // Every card's due day so far is the one its scheduler gave.
    assert!(before.iter().all(|s| s.1 + s.2 == s.3));

    assert_eq!(
        c.add_exam("Midterm", exam_day as i32, "3").await.status(),
        StatusCode::SEE_OTHER
    );
    // The queue's tallies follow the moved due days.
    crate::tallies::assert_tables_match_a_recount(&c.pool, "adding an exam").await;
    let placed = course_states(&c, ada).await;
    let moved = assert_window_holds(&placed, exam_day, 3);
    assert!(moved >= jumping, "{moved} of {jumping}");
    // Only due days moved.
    for (b, p) in before.iter().zip(&placed) {
        assert_eq!((b.0, b.1, b.2), (p.0, p.1, p.2));
    }
    // The student sees the exam on their progress page: how many of their cards come back in
    // its window, and their predicted recall on the day.
    let in_window = placed
        .iter()
        .filter(|s| (exam_day - 3..exam_day).contains(&s.3))
        .count();
    let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT r.user_id, r.card_id, r.study_day, r.quality FROM standing_reviews r
         JOIN cards c ON c.id = r.card_id
         WHERE r.user_id = $1 AND c.deck_id = $2 AND r.quality IS NOT NULL
         ORDER BY r.card_id, r.id",
    )
    .bind(ada)
    .bind(c.course_deck)
    .fetch_all(&c.pool)
    .await
    .unwrap();
    let recalls: Vec<f64> = studyhall::srs::evaluate::histories_by_card(&rows)
        .iter()
        .filter_map(|h| studyhall::srs::evaluate::recall_at(&[], h, exam_day as i32))
        .collect();
    let recall = recalls.iter().sum::<f64>() / 39.0;
    let (ada_app, name) = &c.students[0];
    if ada_app.get("/stats").await.status().is_redirection() {
        ada_app.login(name, PASSWORD).await;
    }
    let stats = ada_app.get_html("/stats").await;
    let mine = stats
        .split("id=\"my-exams\"")
        .nth(1)
        .expect("the exam is shown");
    assert!(mine.contains("Midterm"), "{mine}");
    assert!(
        mine.contains(&format!(
            "You have studied {} of its 39 cards; {in_window} come back in its window",
            recalls.len()
        )),
        "{mine}"
    );
    assert!(
        mine.contains(&format!(
            "Predicted recall on the day: {:.0}%",
            recall * 100.0
        )),
        "{mine}"
    );
    // Deleting the exam gives every card its natural due day back.
    let page = format!("/classes/{}", c.id);
    let html = c.teacher.get_html(&page).await;
    let exam_id: i64 = html
        .split(&format!("/classes/{}/exams/", c.id))
        .nth(1)
        .and_then(|s| s.split('/').next())
        .and_then(|s| s.parse().ok())
        .expect("a delete form");
    let r = c
        .teacher
        .submit(
            &page,
            &format!("/classes/{}/exams/{exam_id}/delete", c.id),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(course_states(&c, ada).await, before);
    crate::tallies::assert_tables_match_a_recount(&c.pool, "deleting an exam").await;
}

#[tokio::test]
async fn the_dashboard_predicts_each_students_recall_at_the_exam() {
    let c = class_with(&["ada", "bob"]).await;
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    // Ada studies for a week, Bob one day.
    for day in 0..7 {
        if day == 0 {
            c.study_day(&mut rng, 2..=5).await;
        } else {
            let (ada, name) = &c.students[0];
            if ada.get("/review").await.status().is_redirection() {
                ada.login(name, PASSWORD).await;
            }
            for _ in 0..40 {
                let Some(card) = card_id_in(&ada.get_html("/review").await) else {
                    break;
                };
                let q = rng.random_range(2..=5u8).to_string();
                ada.submit(
                    "/review",
                    &format!("/review/{card}"),
                    &[("quality", &q), ("deck", "")],
                )
                .await;
            }
        }
        c.admin.clock().advance(86_400);
    }
    let exam_day = c.today() + 10;
    assert_eq!(
        c.add_exam("Final", exam_day, "5").await.status(),
        StatusCode::SEE_OTHER
    );
    let dashboard = format!("/classes/{}/dashboard", c.id);
    let html = c.teacher.get_html(&dashboard).await;
    let section = html.split("id=\"exam-recall\"").nth(1).unwrap();
    assert!(section.contains("Final"), "{section}");

    // The figures computed here from the history, with FSRS's default parameters.
    let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT r.user_id, r.card_id, r.study_day, r.quality FROM standing_reviews r
         JOIN cards c ON c.id = r.card_id WHERE c.deck_id = $1 AND r.quality IS NOT NULL
         ORDER BY r.user_id, r.card_id, r.id",
    )
    .bind(c.course_deck)
    .fetch_all(&c.pool)
    .await
    .unwrap();
    let cards: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cards WHERE deck_id = $1")
        .bind(c.course_deck)
        .fetch_one(&c.pool)
        .await
        .unwrap();
    let mut expected = Vec::new();
    for name in ["ada", "bob"] {
        let user = c.user_id(name).await;
        let mine: Vec<(i64, i64, i64, i64)> =
            rows.iter().copied().filter(|r| r.0 == user).collect();
        let histories = studyhall::srs::evaluate::histories_by_card(&mine);
        let recalls: Vec<f64> = histories
            .iter()
            .filter_map(|h| studyhall::srs::evaluate::recall_at(&[], h, exam_day))
            .collect();
        assert!(!recalls.is_empty());
        assert!(recalls.iter().all(|r| (0.0..=1.0).contains(r)));
        let mean = recalls.iter().sum::<f64>() / cards as f64;
        let row = format!(
            "<td data-label=\"Student\">{name}</td><td class=\"num\" data-label=\"Predicted recall\">{:.0}%</td><td class=\"num\" data-label=\"Cards studied\">{} of {cards}</td>",
            mean * 100.0,
            recalls.len()
        );
        assert!(section.contains(&row), "{row} in {section}");
        expected.push((name, mean));
    }
    // Bob studied less, so he is predicted to recall less, and is listed first.
    assert!(expected[1].1 < expected[0].1, "{expected:?}");
    let bob_at = section.find(">bob<").unwrap();
    let ada_at = section.find(">ada<").unwrap();
    assert!(bob_at < ada_at);
    assert!(section.contains("least likely to recall"));
}

#[tokio::test]
async fn bad_or_forged_exams_are_refused_and_change_nothing() {
    let c = class_with(&["ada"]).await;
    let page = format!("/classes/{}", c.id);
    let action = format!("/classes/{}/exams", c.id);
    let deck_field = format!("deck_{}", c.course_deck);
    let tomorrow = date_of_day(c.today() + 1).to_string();
    let today = date_of_day(c.today()).to_string();
    let far = date_of_day(c.today() + 4 * 366).to_string();
    let long_name = "x".repeat(101);
    // Another instructor's private deck is not this class's to examine.
    let other = make_instructor(&c.admin, "other").await;
    let foreign = import_private(&other, "Not yours").await;
    let foreign_field = format!("deck_{foreign}");
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("name", "Quiz"), ("date", &today), (&deck_field, "1")],
            "a day after today",
        ),
        (
            vec![("name", "Quiz"), ("date", &far), (&deck_field, "1")],
            "within three years",
        ),
        (
            vec![
                ("name", "Quiz"),
                ("date", "next friday"),
                (&deck_field, "1"),
            ],
            "a date like",
        ),
        (
            vec![
                ("name", "Quiz"),
                ("date", &tomorrow),
                ("window_days", "31"),
                (&deck_field, "1"),
            ],
            "from 1 to 30",
        ),
        (
            vec![
                ("name", "Quiz"),
                ("date", &tomorrow),
                ("window_days", "-1"),
                (&deck_field, "1"),
            ],
            "from 1 to 30",
        ),
        (
            vec![("name", "Quiz"), ("date", &tomorrow)],
            "at least one deck",
        ),
        (
            vec![("name", "Quiz"), ("date", &tomorrow), (&foreign_field, "1")],
            "only decks this class studies",
        ),
        (
            vec![("name", "  "), ("date", &tomorrow), (&deck_field, "1")],
            "1 to 100 characters",
        ),
        (
            vec![
                ("name", &long_name),
                ("date", &tomorrow),
                (&deck_field, "1"),
            ],
            "1 to 100 characters",
        ),
    ];
    for (fields, message) in cases {
        let r = c.teacher.submit(&page, &action, &fields).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        let body = r.text().await.unwrap();
        assert!(body.contains(message), "{message} for {fields:?}: {body}");
    }
    let exams = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM class_exams")
            .fetch_one(&c.pool)
            .await
            .unwrap()
    };
    assert_eq!(exams().await, 0);

    // A forged form (no CSRF token), a student, and another instructor: nothing is added.
    let fields = [
        ("name", "Quiz"),
        ("date", tomorrow.as_str()),
        (deck_field.as_str(), "1"),
    ];
    assert_eq!(
        c.teacher.post_form(&action, &fields).await.status(),
        StatusCode::FORBIDDEN
    );
    let (ada, _) = &c.students[0];
    assert_eq!(
        ada.submit("/classes", &action, &fields).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        other.submit("/classes", &action, &fields).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(exams().await, 0);

    // A real one; then another instructor cannot delete it, nor can a forged form.
    assert_eq!(
        c.add_exam("Quiz", c.today() + 1, "2").await.status(),
        StatusCode::SEE_OTHER
    );
    let exam_id: i64 = sqlx::query_scalar("SELECT id FROM class_exams")
        .fetch_one(&c.pool)
        .await
        .unwrap();
    let delete = format!("/classes/{}/exams/{exam_id}/delete", c.id);
    assert_eq!(
        other
            .submit("/classes", &delete, &[("confirm", "yes")])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.teacher.post_form(&delete, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    // An exam of another class through this class's address is not found.
    let (other_class, _) = new_class(&other, "Other").await;
    let wrong = format!("/classes/{other_class}/exams/{exam_id}/delete");
    assert_eq!(
        other
            .submit("/classes", &wrong, &[("confirm", "yes")])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(exams().await, 1);
}

#[tokio::test]
async fn grades_in_one_batch_spread_over_the_window_as_if_committed_one_by_one() {
    use studyhall::srs::exam::ExamWindow;
    use studyhall::study::review::{GradeRequest, Graded, grade_batch};
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let pool = app.pool().await;
    let user: i64 = sqlx::query_scalar("SELECT id FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    let now = app.clock().now();
    let today = studyhall::srs::day::StudyCalendar::new(jiff::tz::TimeZone::UTC, 4).day_of(now);
    // The exam is in three days with a two-day window: tomorrow and the day after. A new
    // card graded 5 comes due tomorrow, in the window, so it is spread like the rest.
    let exams: std::sync::Arc<[ExamWindow]> = vec![ExamWindow {
        exam_day: today + 3,
        window_days: 2,
        decks: vec![1],
    }]
    .into();
    let request =
        |card_id: i64| crate::helpers::sm2_grade(user, today, now, card_id, 5, 20, exams.clone());
    let batch: Vec<GradeRequest> = (1..=4).map(request).collect();
    let mut tx = pool.begin().await.unwrap();
    let results = grade_batch(&mut *tx, &batch, 36_500).await.unwrap();
    tx.commit().await.unwrap();
    let days: Vec<i32> = results
        .iter()
        .map(|r| match r {
            Ok(Graded::Scheduled { due_day }) => *due_day,
            other => panic!("{other:?}"),
        })
        .collect();
    // The later day on a tie, then the lighter one: two a day, not four on one.
    assert_eq!(days, vec![today + 2, today + 1, today + 2, today + 1]);
    let stored: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT due_day, interval_days, graded_day FROM review_states WHERE user_id = $1
         ORDER BY card_id",
    )
    .bind(user)
    .fetch_all(&pool)
    .await
    .unwrap();
    for (s, d) in stored.iter().zip(&days) {
        // SM-2's interval stays its own; only the due day moved.
        assert_eq!(*s, (i64::from(*d), 1, i64::from(today)));
    }
}

/// The outcome the Good button (grade 4) shows on a review page.
fn good_outcome(html: &str) -> String {
    let button = html
        .split("name=\"quality\" value=\"4\"")
        .nth(1)
        .expect("a Good button");
    let start = button.find("<span class=\"interval\">").unwrap() + 23;
    button[start..start + button[start..].find("</span>").unwrap()].to_owned()
}

#[tokio::test]
async fn the_grade_buttons_show_the_day_an_exam_window_gives() {
    let c = class_with(&["ada"]).await;
    // A two-day window from tomorrow: a new card graded Good would come due tomorrow, so the
    // exam spreads it over tomorrow and the day after.
    let today = c.today();
    assert_eq!(
        c.add_exam("Quiz", today + 3, "2").await.status(),
        StatusCode::SEE_OTHER
    );
    let (ada, _) = &c.students[0];
    let page = format!("/review?deck={}", c.course_deck);
    let user = c.user_id("ada").await;
    for expected in [2, 1, 2, 1] {
        let html = ada.get_html(&page).await;
        assert_eq!(good_outcome(&html), format!("{expected}d"), "{html}");
        let card = card_id_in(&html).unwrap();
        let r = ada
            .submit(
                &page,
                &format!("/review/{card}"),
                &[("quality", "4"), ("deck", &c.course_deck.to_string())],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        // The grade did what its button said.
        let due: i64 = sqlx::query_scalar(
            "SELECT due_day FROM review_states WHERE user_id = $1 AND card_id = $2",
        )
        .bind(user)
        .bind(card)
        .fetch_one(&c.pool)
        .await
        .unwrap();
        assert_eq!(due, i64::from(today + expected));
    }
}

/// An exam set for a class is news on every page of each of its members (and of nobody
/// else's), even with their sessions cached, until they open /stats or dismiss it; a dismissal
/// without the session's form token changes nothing; deleting the exam takes its notice away.
#[tokio::test]
async fn a_new_exam_is_a_notice_on_its_members_next_page_until_seen_dismissed_or_deleted() {
    let c = class_with(&["ada", "bob", "eve"]).await;
    // Cy is in another class of the same teacher.
    let (_, other_code) = crate::classes::new_class(&c.teacher, "Other class").await;
    let cy = c.admin.other_browser();
    cy.register_ok("cyd").await;
    crate::classes::join(&cy, &other_code).await;
    let (ada, _) = &c.students[0];
    let (bob, _) = &c.students[1];
    let (eve, _) = &c.students[2];
    // Every session is read (and cached) before the exam is set.
    for s in [ada, bob, eve, &cy] {
        assert!(!s.get_html("/decks").await.contains("id=\"exam-notice\""));
    }
    let exam_day = c.today() + 9;
    assert_eq!(
        c.add_exam("Midterm", exam_day, "3").await.status(),
        StatusCode::SEE_OTHER
    );
    let date = date_of_day(exam_day).to_string();
    for s in [ada, bob, eve] {
        let html = s.get_html("/decks").await;
        let banner = html
            .split("id=\"exam-notice\"")
            .nth(1)
            .expect("the member's next page tells of the exam");
        let banner = banner.split("</div>").next().unwrap();
        for part in [
            "Midterm",
            "CS 7643",
            &date,
            "CS 7643 Quiz 3",
            "/stats#my-exams",
        ] {
            assert!(banner.contains(part), "{part}: {banner}");
        }
    }
    assert!(
        !cy.get_html("/decks").await.contains("id=\"exam-notice\""),
        "another class's student hears nothing"
    );
    // A dismissal without the form token (a forged cross-site post) is refused.
    let forged = ada.post_form("/stats/exam-notices/dismiss", &[]).await;
    assert!(forged.status().is_client_error(), "{}", forged.status());
    assert!(ada.get_html("/review").await.contains("id=\"exam-notice\""));
    // Dismissed: gone from every page.
    let r = ada
        .dismiss_exam_notice_on(&ada.get_html("/decks").await)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!ada.get_html("/decks").await.contains("id=\"exam-notice\""));
    assert!(!ada.get_html("/review").await.contains("id=\"exam-notice\""));
    // Bob opens his exams: that page shows them without the banner, and it is gone after.
    let stats = bob.get_html("/stats").await;
    assert!(!stats.contains("id=\"exam-notice\""));
    assert!(stats.contains("id=\"my-exams\""));
    assert!(!bob.get_html("/decks").await.contains("id=\"exam-notice\""));
    // A second exam is news again; deleting it before Eve looks takes its notice away (and
    // Eve's notice of the first one with it: she is told of the newest, and counted both).
    assert_eq!(
        c.add_exam("Final", exam_day + 5, "3").await.status(),
        StatusCode::SEE_OTHER
    );
    let html = eve.get_html("/decks").await;
    assert!(
        html.contains("&quot;Final&quot;") || html.contains("&#34;Final&#34;"),
        "{html}"
    );
    assert!(html.contains("One more exam was set too."), "{html}");
    assert!(ada.get_html("/decks").await.contains("Final"));
    let page = format!("/classes/{}", c.id);
    for exam in ["Final", "Midterm"] {
        let html = c.teacher.get_html(&page).await;
        let exam_id: i64 = sqlx::query_scalar("SELECT id FROM class_exams WHERE name = $1")
            .bind(exam)
            .fetch_one(&c.pool)
            .await
            .unwrap();
        assert!(html.contains(&format!("/classes/{}/exams/{exam_id}/delete", c.id)));
        let r = c
            .teacher
            .submit(
                &page,
                &format!("/classes/{}/exams/{exam_id}/delete", c.id),
                &[("confirm", "yes")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let left = eve.get_html("/decks").await;
        if exam == "Final" {
            assert!(!left.contains("Final"), "{left}");
            assert!(
                left.contains("Midterm") && !left.contains("One more"),
                "{left}"
            );
        } else {
            assert!(!left.contains("id=\"exam-notice\""), "{left}");
        }
    }
    assert!(!ada.get_html("/decks").await.contains("id=\"exam-notice\""));
    let notices: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM exam_notices")
        .fetch_one(&c.pool)
        .await
        .unwrap();
    assert_eq!(notices, 0, "a deleted exam's notices go with it");
}

/// The banner's Dismiss removes the notices the banner showed, not one written after the page
/// was shown: an exam set between the page and the press is still news on the next page.
#[tokio::test]
async fn dismissing_the_exam_banner_keeps_a_notice_written_after_the_page() {
    let c = class_with(&["ada"]).await;
    let (ada, _) = &c.students[0];
    let exam_day = c.today() + 9;
    assert_eq!(
        c.add_exam("Midterm", exam_day, "3").await.status(),
        StatusCode::SEE_OTHER
    );
    let shown = ada.get_html("/decks").await;
    assert!(shown.contains("Midterm"), "{shown}");
    // The teacher sets another exam while the page is open.
    assert_eq!(
        c.add_exam("Final", exam_day + 5, "3").await.status(),
        StatusCode::SEE_OTHER
    );
    let r = ada.dismiss_exam_notice_on(&shown).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = ada.get_html("/decks").await;
    let banner = html
        .split("id=\"exam-notice\"")
        .nth(1)
        .expect("the exam set after the page is still news");
    let banner = banner.split("</div>").next().unwrap();
    assert!(banner.contains("Final"), "{banner}");
    assert!(!banner.contains("One more exam"), "{banner}");
    // Dismissed again from a page that showed it: gone.
    let r = ada.dismiss_exam_notice_on(&html).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!ada.get_html("/decks").await.contains("id=\"exam-notice\""));
}
