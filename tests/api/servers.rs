//! Two app servers on one PostgreSQL database, a browser's requests going to either: what one
//! server changes holds on the other, for every write at once and for pages as soon as the
//! database's change notice reaches it (`web::session_cache`). (Several servers need
//! PostgreSQL; on SQLite the site is one process, so plain `cargo test` reports these tests
//! ignored.)

use crate::helpers::{PASSWORD, TestApp, require_postgres, spawn_app};
use reqwest::StatusCode;
use std::time::Duration;

/// The status of GET `path` once it is `want`, within a second: a page served from the
/// other server's session cache in the moment between a commit and its notice may still
/// show the state before (the writes are checked at once, below).
async fn soon(browser: &TestApp, path: &str, want: StatusCode) -> StatusCode {
    let mut status = browser.get(path).await.status();
    for _ in 0..50 {
        if status == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        status = browser.get(path).await.status();
    }
    status
}

/// Runs `sql` on the database without firing its triggers, so no change notice is sent: what
/// a commit looks like to another server in the moment before its notice arrives.
async fn change_unannounced(app: &TestApp, sql: &str) {
    let pool = app.pool().await;
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn two_servers() -> (TestApp, TestApp) {
    require_postgres();
    let a = spawn_app().await;
    let b = a.second_server().await;
    (a, b)
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn a_logout_on_one_server_ends_the_session_on_the_other() {
    let (a, b) = two_servers().await;
    a.register_ok("ada").await;
    let ada_on_b = a.on(&b);
    assert_eq!(ada_on_b.get("/decks").await.status(), StatusCode::OK);
    // The other server has looked the session up; the logout goes to the first.
    assert_eq!(
        a.submit("/decks", "/logout", &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        soon(&ada_on_b, "/decks", StatusCode::SEE_OTHER).await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn each_server_caches_sessions_and_every_write_reads_its_session_from_the_database() {
    let (a, b) = two_servers().await;
    a.register_ok("ada").await;
    let ada_on_b = a.on(&b);
    assert_eq!(ada_on_b.get("/decks").await.status(), StatusCode::OK);
    // The session ends without a notice (as in the moment between a logout's commit and its
    // notice): the page comes from the cache, so it did not read the session again ...
    change_unannounced(&a, "DELETE FROM sessions").await;
    assert_eq!(ada_on_b.get("/decks").await.status(), StatusCode::OK);
    // ... but a write does, and is refused: nothing is written.
    let r = ada_on_b
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
    // (Refused as a form from no session, or sent to log in: either way, not saved.)
    let saved = r
        .headers()
        .get("location")
        .is_some_and(|l| l.to_str().unwrap().contains("saved"));
    assert!(!saved, "{}", r.status());
    assert!(
        r.status() == StatusCode::FORBIDDEN || r.status() == StatusCode::SEE_OTHER,
        "{}",
        r.status()
    );
    let layout: String = sqlx::query_scalar("SELECT grade_buttons FROM users")
        .fetch_one(&a.pool().await)
        .await
        .unwrap();
    assert_eq!(layout, "four");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn a_server_that_stops_hearing_change_notices_trusts_no_cached_session() {
    let (a, b) = two_servers().await;
    a.register_ok("ada").await;
    let ada_on_b = a.on(&b);
    assert_eq!(ada_on_b.get("/decks").await.status(), StatusCode::OK);
    // Every listening connection is cut: each server forgets its sessions and reads them
    // from the database until it listens again.
    let pool = a.pool().await;
    sqlx::query(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE query LIKE 'LISTEN%' AND datname = current_database()
           AND pid <> pg_backend_pid()",
    )
    .execute(&pool)
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    change_unannounced(&a, "DELETE FROM sessions").await;
    assert_eq!(ada_on_b.get("/decks").await.status(), StatusCode::SEE_OTHER);
    // And once it listens again, its cache serves (and notices arrive) as before.
    a.login("ada", PASSWORD).await;
    assert_eq!(
        soon(&ada_on_b, "/decks", StatusCode::OK).await,
        StatusCode::OK
    );
    a.submit("/decks", "/logout", &[]).await;
    assert_eq!(
        soon(&ada_on_b, "/decks", StatusCode::SEE_OTHER).await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn a_password_change_or_disabling_on_one_server_holds_on_the_other() {
    let (admin, b) = two_servers().await;
    admin.register_ok("admin").await;
    let student = admin.other_browser();
    student.register_ok("student1").await;
    let laptop = student.other_browser();
    assert_eq!(
        laptop.login("student1", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let laptop_on_b = laptop.on(&b);
    assert_eq!(laptop_on_b.get("/decks").await.status(), StatusCode::OK);

    let new_password = "an entirely new passphrase";
    let r = student
        .submit(
            "/account",
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", new_password),
                ("confirm", new_password),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        soon(&laptop_on_b, "/decks", StatusCode::SEE_OTHER).await,
        StatusCode::SEE_OTHER,
        "the other session ended on the other server too"
    );

    let student_on_b = student.on(&b);
    assert_eq!(student_on_b.get("/decks").await.status(), StatusCode::OK);
    let id = admin.user_id("student1").await;
    admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/disabled"),
            &[("disabled", "1")],
        )
        .await;
    assert_eq!(
        soon(&student_on_b, "/decks", StatusCode::SEE_OTHER).await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn a_role_change_on_one_server_applies_on_the_other() {
    let (admin, b) = two_servers().await;
    admin.register_ok("admin").await;
    let teacher = admin.other_browser();
    teacher.register_ok("teacher").await;
    let teacher_on_b = teacher.on(&b);
    assert_eq!(
        teacher_on_b.get("/admin/import").await.status(),
        StatusCode::FORBIDDEN
    );
    let r = admin.set_role("teacher", "instructor").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        soon(&teacher_on_b, "/admin/import", StatusCode::OK).await,
        StatusCode::OK
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn simultaneous_first_registrations_on_two_servers_make_exactly_one_admin() {
    let (a, b) = two_servers().await;
    let browsers: Vec<TestApp> = (0..6)
        .map(|i| {
            let browser = a.other_browser();
            if i % 2 == 0 { browser } else { browser.on(&b) }
        })
        .collect();
    let registrations = browsers
        .iter()
        .enumerate()
        .map(|(i, browser)| async move { browser.register_ok(&format!("first{i}")).await });
    futures_util::future::join_all(registrations).await;
    let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin'")
        .fetch_one(&a.pool().await)
        .await
        .unwrap();
    assert_eq!(admins, 1);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn a_grade_answered_by_one_server_is_committed_for_the_other() {
    let (a, b) = two_servers().await;
    a.register_ok("ada").await;
    let ada_on_b = a.on(&b);
    for round in 0..6 {
        // Alternate servers; each grade is answered only once it is committed, so the other
        // server's very next page already counts it.
        let (grader, reader) = if round % 2 == 0 {
            (&a, &ada_on_b)
        } else {
            (&ada_on_b, &a)
        };
        let card = grader.grade_next(5, None).await;
        let events: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM reviews WHERE card_id = $1 AND kind = 'grade'",
        )
        .bind(card)
        .fetch_one(&reader.pool().await)
        .await
        .unwrap();
        assert_eq!(events, 1);
        let html = reader.get_html("/review").await;
        assert_ne!(
            crate::helpers::card_id_in(&html),
            Some(card),
            "the graded card is not shown again"
        );
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn wrong_passwords_spread_over_two_servers_count_as_one_budget() {
    let (a, b) = two_servers().await;
    a.register_ok("ada").await;
    let guesser = a.other_browser();
    let guesser_on_b = guesser.on(&b);
    let free = studyhall::auth::throttle::FREE_FAILURES;
    // Each server alone sees only half of the guesses, too few to slow anyone down.
    for i in 0..free {
        let server = if i % 2 == 0 { &guesser } else { &guesser_on_b };
        let r = server.login("ada", "not the password").await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "guess {i}");
    }
    for server in [&guesser, &guesser_on_b] {
        let r = server.login("ada", "not the password").await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(r.headers().contains_key("retry-after"));
    }
    // The owner elsewhere is not slowed (every test client is 127.0.0.1, so "elsewhere" is
    // simulated by a right password: it is not counted against the account's owner).
    let owner_on_b = a.other_browser().on(&b);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(
        owner_on_b.login("ada", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        guesser.login("ada", "not the password").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a right password started the pair over, on both servers"
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn a_deck_handed_out_or_taken_back_on_one_server_shows_or_hides_on_the_other() {
    let (admin, b) = two_servers().await;
    admin.register_ok("admin").await;
    let teacher = crate::classes::make_instructor(&admin, "teacher").await;
    let deck = crate::classes::import_private(&teacher, "Midterm drill").await;
    let (class, code) = crate::classes::new_class(&teacher, "Section A").await;
    let student = admin.other_browser();
    student.register_ok("student1").await;
    let r = student
        .submit("/classes", "/classes/join", &[("code", code.as_str())])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let student_on_b = student.on(&b);
    let deck_page = format!("/decks/{deck}");
    assert_eq!(
        student_on_b.get(&deck_page).await.status(),
        StatusCode::NOT_FOUND
    );

    // Handed out through the first server: the student sees it on the second at once.
    let r = crate::classes::assign(&teacher, class, deck).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        soon(&student_on_b, &deck_page, StatusCode::OK).await,
        StatusCode::OK
    );
    assert!(
        student_on_b
            .get_html("/decks")
            .await
            .contains("Midterm drill")
    );

    // Taken back through the first server: gone on the second at once.
    let r = teacher
        .submit(
            &deck_page,
            &format!("/decks/{deck}/classes/{class}/remove"),
            &[],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        soon(&student_on_b, &deck_page, StatusCode::NOT_FOUND).await,
        StatusCode::NOT_FOUND
    );
    assert!(
        !student_on_b
            .get_html("/decks")
            .await
            .contains("Midterm drill")
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn writes_of_different_students_run_side_by_side_and_a_site_wide_write_runs_alone() {
    use studyhall::db::{self, Rows};
    use tokio::time::timeout;
    require_postgres();
    let app = spawn_app().await;
    let pool = app.pool().await;
    let ada = db::begin_write_of(&pool, &[Rows::of_user(1)])
        .await
        .unwrap();
    // Another student's write (as from another server) starts while ada's is open ...
    let bob = timeout(
        Duration::from_secs(10),
        db::begin_write_of(&pool, &[Rows::of_user(3), Rows::of_user(2)]),
    )
    .await
    .expect("another student's write does not wait")
    .unwrap();
    // ... a second write of ada's waits for hers ...
    let pool2 = pool.clone();
    let ada_again = tokio::spawn(async move {
        let tx = db::begin_write_of(&pool2, &[Rows::of_user(1)])
            .await
            .unwrap();
        tx.rollback().await.unwrap();
    });
    // (It holds the site's lock shared by now: a waiting exclusive request would queue it.)
    tokio::time::sleep(Duration::from_millis(300)).await;
    // ... and so does a write that may change anyone's rows.
    let pool3 = pool.clone();
    let site = tokio::spawn(async move {
        let tx = db::begin_write(&pool3).await.unwrap();
        tx.rollback().await.unwrap();
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!ada_again.is_finished(), "ada's second write waited");
    assert!(!site.is_finished(), "the site-wide write waited");
    ada.commit().await.unwrap();
    timeout(Duration::from_secs(10), ada_again)
        .await
        .expect("ada's second write ran once hers committed")
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !site.is_finished(),
        "the site-wide write still waits for bob's"
    );
    bob.commit().await.unwrap();
    timeout(Duration::from_secs(10), site)
        .await
        .expect("the site-wide write ran once both committed")
        .unwrap();
}

/// Each PostgreSQL connection plans a statement once and keeps the plan: left to choose,
/// PostgreSQL planned the review page's statement again on every request on a site of many
/// courses (1.9 ms of planning for 0.12 ms of work; docs/performance.md).
#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn every_postgres_connection_keeps_its_generic_plans() {
    require_postgres();
    let app = spawn_app().await;
    let pool = app.pool().await;
    // Several connections at once, so that more than the first one is asked.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut conn = pool.acquire().await.unwrap();
        let mode: String = sqlx::query_scalar("SELECT current_setting('plan_cache_mode')")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(mode, "force_generic_plan");
        held.push(conn);
    }
}

/// An exam's notice dismissed through one server is gone from the other's pages at once,
/// though that server had the session, banner and all, in its cache: the notice's trigger
/// tells it (its cache would otherwise serve the banner for seconds more).
#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn an_exam_notice_dismissed_on_one_server_is_gone_on_the_other() {
    let (a, b) = two_servers().await;
    a.other_browser().register_ok("teacher").await;
    a.register_ok("ada").await;
    let teacher = a.user_id("teacher").await;
    let ada = a.user_id("ada").await;
    let pool = a.pool().await;
    let now = a.clock().now().as_second();
    let class: i64 = sqlx::query_scalar(
        "INSERT INTO classes (name, owner_id, join_code, created_at)
         VALUES ('Vision', $1, 'CODE5678', $2) RETURNING id",
    )
    .bind(teacher)
    .bind(now)
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO class_members (class_id, user_id, joined_at) VALUES ($1, $2, $3)")
        .bind(class)
        .bind(ada)
        .bind(now)
        .execute(&pool)
        .await
        .unwrap();
    let exam: i64 = sqlx::query_scalar(
        "INSERT INTO class_exams (class_id, name, exam_day, window_days, created_at)
         VALUES ($1, 'Midterm', $2, 5, $3) RETURNING id",
    )
    .bind(class)
    .bind(now / 86_400 + 20)
    .bind(now)
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO exam_notices (user_id, exam_id, created_at) VALUES ($1, $2, $3)")
        .bind(ada)
        .bind(exam)
        .bind(now)
        .execute(&pool)
        .await
        .unwrap();
    let ada_on_b = a.on(&b);
    let shows = |html: String| html.contains("id=\"exam-notice\"");
    let mut seen = false;
    for _ in 0..50 {
        seen = shows(ada_on_b.get_html("/decks").await);
        if seen {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        seen,
        "the other server shows the notice (and has cached it)"
    );
    assert_eq!(
        a.dismiss_exam_notice_on(&a.get_html("/decks").await)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let mut gone = false;
    for _ in 0..50 {
        gone = !shows(ada_on_b.get_html("/decks").await);
        if gone {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        gone,
        "dismissed through one server, gone on the other within a second"
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn a_review_queue_kept_by_one_server_gives_way_to_a_grade_or_an_edit_on_the_other() {
    let (a, b) = two_servers().await;
    a.register_ok("ada").await;
    let ada_on_b = a.on(&b);
    // B keeps ada's queue (the question view, then, once any notice of her registration has
    // surely arrived, the answer view).
    let html = ada_on_b.get_html("/review").await;
    let card = crate::helpers::card_id_in(&html).expect("a card is shown");
    let front = crate::helpers::front_in(&html).expect("its front");
    tokio::time::sleep(Duration::from_millis(200)).await;
    ada_on_b.get_html(&format!("/review?show={card}")).await;
    // A change B hears of by no notice: B's kept queue still shows the card's old text.
    change_unannounced(
        &a,
        &format!("UPDATE cards SET front = 'Unannounced' WHERE id = {card}"),
    )
    .await;
    let html = ada_on_b.get_html(&format!("/review?show={card}")).await;
    assert_eq!(crate::helpers::card_id_in(&html), Some(card));
    assert_eq!(
        crate::helpers::front_in(&html),
        Some(front),
        "B serves its kept queue"
    );
    // An edit through the triggers reaches B by notice.
    sqlx::query("UPDATE cards SET front = 'Edited on A' WHERE id = $1")
        .bind(card)
        .execute(&a.pool().await)
        .await
        .unwrap();
    let mut front = None;
    for _ in 0..50 {
        let html = ada_on_b.get_html("/review").await;
        front = crate::helpers::front_in(&html);
        if front.as_deref() == Some("Edited on A") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(front.as_deref(), Some("Edited on A"));
    // A grade on A: B's page moves on to another card.
    let graded = a.grade_next(5, None).await;
    assert_eq!(graded, card);
    let mut shown = Some(card);
    for _ in 0..50 {
        shown = crate::helpers::card_id_in(&ada_on_b.get_html("/review").await);
        if shown != Some(card) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        shown.is_some_and(|id| id != card),
        "the graded card leaves B's page: {shown:?}"
    );
}
