//! Budgets for people who have accounts (issue 21): what an instructor creates in an hour,
//! wrong join codes per account and per address, the queue of FSRS fits, and a disabled
//! account's login that says nothing of the password.

use crate::classes::{join, make_instructor, new_class};
use crate::helpers::{PASSWORD, TestApp, card_id_in, csrf_in, spawn_app, upload, upload_to};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reqwest::StatusCode;
use studyhall::auth::quota;

/// An admin and an instructor called "teacher".
async fn admin_and_teacher() -> (TestApp, TestApp) {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    (admin, teacher)
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&app.pool().await)
        .await
        .unwrap()
}

/// A refusal is a 429 with Retry-After and a page that says which limit and when.
async fn assert_refused(r: reqwest::Response, limit: &str) {
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    let html = r.text().await.unwrap();
    assert!(html.contains(limit), "{limit} in {html}");
    assert!(html.contains("try again in"), "{html}");
}

#[tokio::test]
async fn an_instructor_creates_twenty_classes_an_hour_and_the_next_is_refused_with_nothing_written()
{
    let (admin, teacher) = admin_and_teacher().await;
    let token = csrf_in(&teacher.get_html("/classes").await);
    for i in 0..quota::CLASSES_PER_HOUR {
        let name = format!("Section {i}");
        let r = teacher
            .post_form("/classes", &[("csrf_token", &token), ("name", &name)])
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "class {i}");
    }
    let r = teacher
        .post_form(
            "/classes",
            &[("csrf_token", &token), ("name", "One too many")],
        )
        .await;
    assert_refused(r, "20 new classes an hour").await;
    let made = count(&admin, "SELECT COUNT(*) FROM classes").await;
    assert_eq!(made, i64::try_from(quota::CLASSES_PER_HOUR).unwrap());
    // Another instructor has a budget of their own.
    let other = make_instructor(&admin, "other").await;
    new_class(&other, "Theirs").await;
    // One class comes back every three minutes.
    admin.clock().advance(3600 / quota::CLASSES_PER_HOUR as i64);
    let r = teacher
        .post_form("/classes", &[("csrf_token", &token), ("name", "Later")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn exams_decks_and_imports_each_have_an_hourly_budget() {
    let (admin, teacher) = admin_and_teacher().await;
    let (class, _) = new_class(&teacher, "CS 7643").await;
    let deck: i64 = count(&admin, "SELECT id FROM decks WHERE name = 'CS 7643 Quiz 3'").await;
    let token = csrf_in(&teacher.get_html(&format!("/classes/{class}")).await);
    let date = jiff::tz::TimeZone::UTC
        .to_datetime(admin.clock().now())
        .date()
        .checked_add(jiff::Span::new().days(60))
        .unwrap()
        .to_string();
    let deck_field = format!("deck_{deck}");
    let exam = |name: String| {
        let (token, date, deck_field) = (token.clone(), date.clone(), deck_field.clone());
        let teacher = &teacher;
        async move {
            teacher
                .post_form(
                    &format!("/classes/{class}/exams"),
                    &[
                        ("csrf_token", &token),
                        ("name", &name),
                        ("date", &date),
                        ("window_days", "7"),
                        (&deck_field, "1"),
                    ],
                )
                .await
        }
    };
    for i in 0..quota::EXAMS_PER_HOUR {
        assert_eq!(
            exam(format!("Quiz {i}")).await.status(),
            StatusCode::SEE_OTHER
        );
    }
    assert_refused(exam("Quiz again".to_owned()).await, "200 new exams an hour").await;
    let exams = count(&admin, "SELECT COUNT(*) FROM class_exams").await;
    assert_eq!(exams, i64::try_from(quota::EXAMS_PER_HOUR).unwrap());

    for i in 0..quota::DECKS_PER_HOUR {
        let name = format!("Deck {i}");
        let r = teacher
            .post_form("/decks", &[("csrf_token", &token), ("name", &name)])
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "deck {i}");
    }
    let r = teacher
        .post_form("/decks", &[("csrf_token", &token), ("name", "Deck again")])
        .await;
    assert_refused(r, "50 new decks an hour").await;
    let teacher_id = admin.user_id("teacher").await;
    let owned = format!("SELECT COUNT(*) FROM decks WHERE owner_id = {teacher_id}");
    let decks = count(&admin, &owned).await;
    assert_eq!(decks, i64::try_from(quota::DECKS_PER_HOUR).unwrap());

    for i in 0..quota::IMPORTS_PER_HOUR {
        let file = format!("term {i}\tdefinition {i}\n").into_bytes();
        let r = upload(&teacher, "d.tsv", file, &format!("Imported {i}"), "tsv").await;
        assert_eq!(r.status(), StatusCode::OK, "import {i}");
    }
    let r = upload(
        &teacher,
        "d.tsv",
        b"late\tcard\n".to_vec(),
        "Too late",
        "tsv",
    )
    .await;
    assert_refused(r, "30 imports an hour").await;
    let imported = count(&admin, &owned).await - decks;
    assert_eq!(imported, i64::try_from(quota::IMPORTS_PER_HOUR).unwrap());
    assert_eq!(
        count(&admin, "SELECT COUNT(*) FROM decks WHERE name = 'Too late'").await,
        0
    );
}

#[tokio::test]
async fn imports_are_bounded_by_the_bytes_of_card_text_an_hour() {
    let (admin, teacher) = admin_and_teacher().await;
    // Files of 100 cards with sides of 10,000 characters: 2,000,000 bytes of text each, so the
    // hour's 50 MiB pass 26 previews and refuse the 27th, well before 30 imports.
    let file = |n: usize| {
        let mut text = String::new();
        for card in 0..100 {
            let side = |s: char| format!("{n:04}{card:04}{}", s.to_string().repeat(9_992));
            text.push_str(&format!("{}\t{}\n", side('a'), side('b')));
        }
        text.into_bytes()
    };
    let per_file = 100 * 2 * 10_000;
    let fit = usize::try_from(quota::IMPORT_BYTES_PER_HOUR).unwrap() / per_file;
    assert!(fit < usize::try_from(quota::IMPORTS_PER_HOUR).unwrap());
    for n in 0..fit {
        let r = upload_to(
            &teacher,
            "/admin/import/preview",
            "d.tsv",
            file(n),
            "Big",
            "tsv",
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK, "preview {n}");
    }
    let r = upload_to(
        &teacher,
        "/admin/import/preview",
        "d.tsv",
        file(fit),
        "Big",
        "tsv",
    )
    .await;
    assert_refused(r, "MiB of imported card text an hour").await;
    // The refused preview was not kept: the one waiting is the last that passed.
    let waiting: String = sqlx::query_scalar("SELECT cards FROM pending_imports")
        .fetch_one(&admin.pool().await)
        .await
        .unwrap();
    assert!(waiting.contains(&format!("{:04}0000", fit - 1)));
    // The bytes come back with time.
    admin.clock().advance(3600);
    let r = upload_to(
        &teacher,
        "/admin/import/preview",
        "d.tsv",
        file(fit),
        "Big",
        "tsv",
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// Posts `code` on the classes page's join form.
async fn try_code(student: &TestApp, token: &str, code: &str) -> reqwest::Response {
    student
        .post_form("/classes/join", &[("csrf_token", token), ("code", code)])
        .await
}

#[tokio::test]
async fn wrong_join_codes_are_refused_after_ten_and_a_right_code_still_works_for_another_account() {
    let (admin, teacher) = admin_and_teacher().await;
    let (class, code) = new_class(&teacher, "CS 7643").await;
    let guesser = admin.other_browser();
    guesser.register_ok("guesser").await;
    let token = csrf_in(&guesser.get_html("/classes").await);
    for i in 0..quota::WRONG_CODES_PER_ACCOUNT {
        let r = try_code(&guesser, &token, &format!("AAAAAAA{i:03}")).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "guess {i}");
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("No class has that join code")
        );
    }
    let r = try_code(&guesser, &token, "AAAAAAAZZZ").await;
    assert_refused(r, "Too many wrong join codes").await;
    // Refused before the code is looked at: even the right one waits.
    let r = try_code(&guesser, &token, &code).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another account at the same address joins with the right code.
    let student = admin.other_browser();
    student.register_ok("student").await;
    join(&student, &code).await;
    let members = count(
        &admin,
        &format!("SELECT COUNT(*) FROM class_members WHERE class_id = {class}"),
    )
    .await;
    assert_eq!(members, 1);
    // The account's budget comes back with time.
    admin.clock().advance(3600);
    let r = try_code(&guesser, &token, &code).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

/// A registration form posted with `fields` (and the page's token).
async fn register_with(
    browser: &TestApp,
    token: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("csrf_token", token)];
    form.extend_from_slice(fields);
    browser.post_form("/register", &form).await
}

#[tokio::test]
async fn an_address_may_enter_two_hundred_wrong_codes_on_register_an_hour() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let browser = app.other_browser();
    let token = csrf_in(&browser.get_html("/register").await);
    for i in 0..quota::WRONG_CODES_PER_ADDRESS {
        let name = format!("newcomer{i}");
        let r = register_with(
            &browser,
            &token,
            &[
                ("username", &name),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
                ("code", "WRONGCODE2"),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "guess {i}");
    }
    let fields = [
        ("username", "onemore"),
        ("password", PASSWORD),
        ("confirm", PASSWORD),
        ("code", "WRONGCODE3"),
    ];
    assert_refused(
        register_with(&browser, &token, &fields).await,
        "Too many wrong join codes",
    )
    .await;
    // No account was made for any wrong code; one without a code still registers.
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, 1);
    let r = register_with(
        &browser,
        &token,
        &[
            ("username", "plain"),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn register_reports_a_wrong_code_only_once_the_rest_of_the_form_is_valid() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let browser = app.other_browser();
    let token = csrf_in(&browser.get_html("/register").await);
    let r = register_with(
        &browser,
        &token,
        &[
            ("username", "newcomer"),
            ("password", "short"),
            ("confirm", "short"),
            ("code", "WRONGCODE2"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("password"), "{html}");
    assert!(!html.contains("join code"), "{html}");
    // The same code on a valid form is reported.
    let r = register_with(
        &browser,
        &token,
        &[
            ("username", "newcomer"),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
            ("code", "WRONGCODE2"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("No class has that join code")
    );
}

/// The error paragraph of a login page.
fn login_error(html: &str) -> String {
    let start = html.find("role=\"alert\"").expect("an error is shown");
    html[start..start + html[start..].find("</div>").unwrap()].to_owned()
}

#[tokio::test]
async fn a_disabled_accounts_login_answer_is_the_same_whatever_the_password() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let student = app.other_browser();
    student.register_ok("student1").await;
    let id = app.user_id("student1").await;
    let r = app
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/disabled"),
            &[("disabled", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let right = student.login("student1", PASSWORD).await;
    assert_eq!(right.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let right = login_error(&right.text().await.unwrap());
    let wrong = student.login("student1", "not the password at all").await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wrong = login_error(&wrong.text().await.unwrap());
    assert_eq!(right, wrong);
    assert!(right.contains("disabled"), "{right}");
}

#[tokio::test]
async fn fits_past_the_sites_cap_are_queued_shown_with_their_place_and_all_finish() {
    let (admin, teacher) = admin_and_teacher().await;
    // One student in several classes: each class's history is theirs.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let classes = studyhall::study::fits::cap_for(cores) + 2;
    let student = admin.other_browser();
    student.register_ok("ada").await;
    let mut ids = Vec::new();
    for i in 0..classes {
        let (id, code) = new_class(&teacher, &format!("Section {i}")).await;
        join(&student, &code).await;
        ids.push(id);
    }
    // Ten days of study with random grades.
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    for _ in 0..10 {
        if student.get("/review").await.status().is_redirection() {
            student.login("ada", PASSWORD).await;
        }
        for _ in 0..40 {
            let Some(card) = card_id_in(&student.get_html("/review").await) else {
                break;
            };
            let q = rng.random_range(0..=5u8).to_string();
            let r = student
                .submit(
                    "/review",
                    &format!("/review/{card}"),
                    &[("quality", &q), ("deck", "")],
                )
                .await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
        }
        admin.clock().advance(86_400);
    }
    if teacher.get("/classes").await.status().is_redirection() {
        teacher.login("teacher", PASSWORD).await;
    }
    let token = csrf_in(&teacher.get_html("/classes").await);
    // On PostgreSQL the test holds the lock the fits save under, so the fits that start cannot
    // finish: what runs and what waits stays put while the pages are read. SQLite has one
    // write lock for every table, which asking for a fit (a row in the queue) needs too, and
    // these fits take milliseconds: there the pages are not frozen, and the places in the
    // queue are checked on the queue itself (`jobs::queued_jobs_show_their_place_...`).
    let pool = admin.pool().await;
    let mut lock = pool.acquire().await.unwrap();
    let frozen = crate::helpers::on_postgres();
    if frozen {
        sqlx::raw_sql("BEGIN; LOCK TABLE class_fit_proposals IN EXCLUSIVE MODE")
            .execute(&mut *lock)
            .await
            .unwrap();
    }
    for id in &ids {
        let r = teacher
            .post_form(&format!("/classes/{id}/fit"), &[("csrf_token", &token)])
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let cap = studyhall::study::fits::cap_for(cores);
    for (i, id) in ids.iter().enumerate().filter(|_| frozen) {
        let html = teacher.get_html(&format!("/classes/{id}/dashboard")).await;
        if i < cap {
            assert!(html.contains("id=\"fit-running\""), "fit {i} runs: {html}");
        } else {
            assert!(
                html.contains(&format!("Queued, {i} ahead")),
                "fit {i} waits: {html}"
            );
        }
    }
    if frozen {
        sqlx::raw_sql("ROLLBACK").execute(&mut *lock).await.unwrap();
    }
    drop(lock);
    // Once released, every fit finishes. (How many run at once is the unit test's to check:
    // pages read one after another cannot see one instant, and a fit that ends between two
    // reads would be counted beside the one it let start.)
    let mut finished = vec![false; classes];
    for _ in 0..1200 {
        for (i, id) in ids.iter().enumerate() {
            let html = teacher.get_html(&format!("/classes/{id}/dashboard")).await;
            finished[i] = html.contains("id=\"fit-proposal\"") && !html.contains("id=\"fitting\"");
        }
        if finished.iter().all(|f| *f) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        finished.iter().all(|f| *f),
        "every fit finished: {finished:?}"
    );
    let fits = count(&admin, "SELECT COUNT(*) FROM class_fit_proposals").await;
    assert_eq!(fits, i64::try_from(classes).unwrap());
}
