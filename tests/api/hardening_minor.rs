//! Issue 21's smaller findings: the reports inbox pages, the users page's notice comes from a
//! fixed list, a pre-login CSRF token must be one the site signed, exam names are one plain
//! line, and reports hold no control characters.

use crate::classes::{make_instructor, new_class};
use crate::helpers::{PASSWORD, TestApp, card_id_in, csrf_in, spawn_app};
use reqwest::StatusCode;
use studyhall::db::Pool;

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// The ids of the report rows on an inbox page, in page order.
fn report_ids(html: &str) -> Vec<i64> {
    html.split("<tr id=\"report-")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].parse().unwrap())
        .collect()
}

/// The address of the link with this id, if the page has it.
fn link(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let tag = &html[html[..at].rfind('<').unwrap()..];
    let start = tag.find("href=\"").unwrap() + "href=\"".len();
    Some(tag[start..start + tag[start..].find('"').unwrap()].to_owned())
}

/// Files `count` reports by `user_id` on the course deck's cards, straight into the store
/// (the write budget would stop a student filing hundreds through the site).
async fn file_reports(pool: &Pool, user_id: i64, from: usize, count: usize) {
    let cards: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM cards WHERE deck_id = 1 ORDER BY position")
            .fetch_all(pool)
            .await
            .unwrap();
    for i in from..from + count {
        sqlx::query(
            "INSERT INTO card_reports (card_id, user_id, message, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(cards[i % cards.len()])
        .bind(user_id)
        .bind(format!("Report {i:04}: the back of this card disagrees with the lecture."))
        .bind(jiff::Timestamp::now().as_second())
        .execute(pool)
        .await
        .unwrap();
    }
}

async fn open_report_ids(pool: &Pool) -> Vec<i64> {
    sqlx::query_scalar("SELECT id FROM card_reports WHERE resolved_at IS NULL ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_reports_inbox_shows_fifty_at_a_time_and_its_links_reach_every_report() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let student = admin.other_browser();
    student.register_ok("student").await;
    // A student in no class, on the public course deck: the reports go to the admins.
    let pool = admin.pool().await;
    file_reports(&pool, admin.user_id("student").await, 0, 120).await;

    let first = admin.get_html("/reports").await;
    let first_ids = report_ids(&first);
    assert_eq!(first_ids.len(), 50, "one page");
    assert!(first.contains("120 open reports"), "the count");
    assert_eq!(link(&first, "previous-reports"), None);

    let mut seen = first_ids.clone();
    let mut pages = vec![(String::from("/reports"), first.clone())];
    let mut page = first.clone();
    while let Some(next) = link(&page, "next-reports") {
        page = admin.get_html(&next).await;
        let ids = report_ids(&page);
        assert!(!ids.is_empty() && ids.len() <= 50, "{next}: {}", ids.len());
        seen.extend(ids);
        pages.push((next, page.clone()));
    }
    assert_eq!(pages.len(), 3, "50 + 50 + 20");
    assert_eq!(
        seen,
        open_report_ids(&pool).await,
        "every report once, oldest first"
    );
    // Each page's link back shows the page before it.
    for pair in pages.windows(2) {
        let back = link(&pair[1].1, "previous-reports").expect("a link back");
        assert_eq!(
            report_ids(&admin.get_html(&back).await),
            report_ids(&pair[0].1)
        );
    }

    // A reply from the second page comes back to it.
    let (second_url, second) = &pages[1];
    let id = report_ids(second)[0];
    let r = admin
        .submit(
            second_url,
            &format!("/reports/{id}/reply"),
            &[("reply", "Fixed, thanks."), ("back", second_url)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(&location(&r), second_url);

    // The page stays one page however large the backlog grows.
    let before = admin.get_html("/reports").await;
    file_reports(&pool, admin.user_id("student").await, 120, 400).await;
    let after = admin.get_html("/reports").await;
    assert_eq!(report_ids(&after), first_ids);
    assert!(after.contains("519 open reports"));
    assert!(
        after.len().abs_diff(before.len()) < 64,
        "{} bytes, then {} bytes",
        before.len(),
        after.len()
    );
}

#[tokio::test]
async fn the_users_page_confirms_only_known_changes_and_never_echoes_the_address() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let ada = admin.other_browser();
    ada.register_ok("ada").await;

    for forged in [
        "/admin/users?saved=your+session+expired%3B+log+in+again+at+evil.example",
        "/admin/users?saved=%3Cb%3Eroled%3C%2Fb%3E",
        "/admin/users?saved=Role",
    ] {
        let html = admin.get_html(forged).await;
        assert!(!html.contains("evil.example"), "{forged}");
        assert!(!html.contains("roled"), "{forged}");
        assert!(!html.contains("Saved"), "{forged}");
    }

    let r = admin.set_role("ada", "instructor").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = admin.get_html(&location(&r)).await;
    assert!(html.contains("Saved: the new role applies"), "{html}");

    let id = admin.user_id("ada").await;
    let r = admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/disabled"),
            &[("disabled", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = admin.get_html(&location(&r)).await;
    assert!(html.contains("Saved: the account is disabled"), "{html}");
}

async fn users_named(app: &TestApp, name: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username = $1")
        .bind(name)
        .fetch_one(&app.pool().await)
        .await
        .unwrap()
}

fn registration<'a>(token: &'a str, name: &'a str) -> [(&'a str, &'a str); 4] {
    [
        ("csrf_token", token),
        ("username", name),
        ("password", PASSWORD),
        ("confirm", PASSWORD),
    ]
}

#[tokio::test]
async fn a_pre_login_token_of_the_right_shape_that_the_site_never_issued_is_refused() {
    let app = spawn_app().await;
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Planted in the cookie and copied into the form, as someone who can write cookies for
    // the host would: the old rule's shape (64 hex digits), and the new one's, unsigned.
    let expires = app.clock().now().as_second() + 3600;
    let old_shape = "ab".repeat(32);
    let new_shape = format!("{}.{expires}.{}", "cd".repeat(16), "ef".repeat(32));
    for planted in [old_shape, new_shape] {
        let r = bare
            .post(app.url("/register"))
            .header("cookie", format!("studyhall_csrf={planted}"))
            .form(&registration(&planted, "mallory"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{planted}");
    }
    assert_eq!(users_named(&app, "mallory").await, 0);

    // A real token is this browser's: another browser's does not go with this cookie.
    let other = app.other_browser();
    let theirs = csrf_in(&other.get_html("/register").await);
    let mine = csrf_in(&app.get_html("/register").await);
    assert_ne!(theirs, mine);
    assert_eq!(
        mine,
        csrf_in(&app.get_html("/login").await),
        "kept while fresh"
    );
    let r = app
        .post_form("/register", &registration(&theirs, "mallory"))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(users_named(&app, "mallory").await, 0);

    // The real one works, on any server of the site: they share the signing key.
    let second = app.second_server().await;
    let r = second
        .post_form("/register", &registration(&mine, "ada"))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(users_named(&app, "ada").await, 1);

    // A day later the token has expired; the login page serves a new one.
    let late = app.other_browser();
    let stale = csrf_in(&late.get_html("/login").await);
    app.clock().advance(25 * 3600);
    let login = |token: &str| {
        [
            ("csrf_token", token.to_owned()),
            ("username", "ada".to_owned()),
            ("password", PASSWORD.to_owned()),
        ]
    };
    let r = late
        .client
        .post(late.url("/login"))
        .form(&login(&stale))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let fresh = csrf_in(&late.get_html("/login").await);
    assert_ne!(fresh, stale);
    let r = late
        .client
        .post(late.url("/login"))
        .form(&login(&fresh))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn exam_names_with_direction_overrides_or_line_breaks_are_refused_and_nothing_is_saved() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    let (class, _) = new_class(&teacher, "Section E").await;
    let pool = admin.pool().await;
    let deck: i64 = sqlx::query_scalar("SELECT id FROM decks WHERE name = 'CS 7643 Quiz 3'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let date = (admin.clock().now() + jiff::SignedDuration::from_hours(10 * 24))
        .in_tz("UTC")
        .unwrap()
        .date()
        .to_string();
    let page = format!("/classes/{class}");
    let action = format!("/classes/{class}/exams");
    let deck_field = format!("deck_{deck}");
    let exams = || async {
        sqlx::query_scalar::<_, String>("SELECT name FROM class_exams")
            .fetch_all(&pool)
            .await
            .unwrap()
    };
    for (name, why) in [
        ("Final\u{202E}cod.exe", "U+202E"),
        ("Final\u{2067}", "U+2067"),
        ("Final\u{200F}", "U+200F"),
        ("Mid\nterm", "single line"),
        ("Mid\r\nterm", "single line"),
        ("Quiz\0", "U+0000"),
        ("Quiz\u{1b}[2J", "U+001B"),
    ] {
        let r = teacher
            .submit(
                &page,
                &action,
                &[("name", name), ("date", &date), (&deck_field, "1")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        let body = r.text().await.unwrap();
        assert!(body.contains(why), "{why} for {name:?}");
    }
    assert_eq!(exams().await, Vec::<String>::new());

    // Class names keep the same rule.
    let r = teacher
        .submit("/classes", "/classes", &[("name", "Section\u{202E}")])
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let r = teacher
        .submit(
            &page,
            &action,
            &[
                ("name", "  Final exam "),
                ("date", &date),
                (&deck_field, "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(exams().await, vec!["Final exam".to_owned()]);
}

#[tokio::test]
async fn a_report_with_a_nul_or_another_control_character_is_refused_and_nothing_is_saved() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let student = admin.other_browser();
    student.register_ok("student").await;
    let pool = admin.pool().await;
    let review = "/review?deck=1";
    let card = card_id_in(&student.get_html(review).await).unwrap();
    let action = format!("/cards/{card}/report");
    let messages = || async {
        sqlx::query_scalar::<_, String>("SELECT message FROM card_reports")
            .fetch_all(&pool)
            .await
            .unwrap()
    };
    for (message, why) in [
        ("wrong\0answer", "U+0000"),
        ("bell\u{7}", "U+0007"),
        ("\u{1b}[2Jcleared", "U+001B"),
    ] {
        let r = student
            .submit(review, &action, &[("message", message), ("deck", "1")])
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{message:?}");
        assert!(r.text().await.unwrap().contains(why), "{why}");
    }
    assert_eq!(messages().await, Vec::<String>::new());

    // Lines and tabs are text.
    let r = student
        .submit(
            review,
            &action,
            &[("message", "Line one\r\n\tline two"), ("deck", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(messages().await, vec!["Line one\r\n\tline two".to_owned()]);

    // A reply holds to the same rule, and the refused one leaves the report open.
    let id = open_report_ids(&pool).await[0];
    let r = admin
        .submit(
            "/reports",
            &format!("/reports/{id}/reply"),
            &[("reply", "Fixed\0"), ("back", "/reports")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(open_report_ids(&pool).await, vec![id]);
}

/// A form's address opened as a page (a bookmark, a reload, a typed address) answers 405 with
/// a page saying what happened and the `Allow` header, in the visitor's own navigation,
/// instead of actix's empty body (which browsers show as "This page isn't working").
#[tokio::test]
async fn a_forms_address_opened_as_a_page_says_so() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    for path in ["/cards/1/edit", "/cards/1/cloze/image", "/decks/1/cards"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(response.headers()["allow"], "POST", "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        let html = response.text().await.unwrap();
        assert!(html.contains("has no page of its own"), "{path}: {html}");
        assert!(html.contains("ada"), "{path}: the signed-in navigation");
    }
    let stranger = app.other_browser();
    let html = stranger.get("/cards/1/edit").await.text().await.unwrap();
    assert!(html.contains("has no page of its own"));
    assert!(!html.contains("ada"));
}
