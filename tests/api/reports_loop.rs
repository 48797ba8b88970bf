//! Reports close the loop (issue 25, item 5): the reader of a report is told who can edit its
//! card; resolved reports stay listed under the inbox's filter; the student who reported is
//! told of a reply on every page until they read it or dismiss the notice. And the class page
//! (item 9): a join link to share, and confirmations before leaving a class or deleting an
//! exam.

use crate::classes::{assign, import_private, join, make_instructor, new_class};
use crate::helpers::{TestApp, card_id_in, spawn_app};
use reqwest::StatusCode;

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// `student` reports the card `review` shows (of deck `deck`); returns the card's id.
async fn report_a_card(student: &TestApp, deck: i64, message: &str) -> i64 {
    let review = format!("/review?deck={deck}");
    let card = card_id_in(&student.get_html(&review).await).expect("a card to review");
    let r = student
        .submit(
            &review,
            &format!("/cards/{card}/report"),
            &[("message", message), ("deck", &deck.to_string())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    card
}

/// The id of the report whose message is `message`.
async fn report_id(app: &TestApp, message: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM card_reports WHERE message = $1")
        .bind(message)
        .fetch_one(&app.pool().await)
        .await
        .unwrap()
}

/// The instructor resolves report `id` from the inbox, replying `reply` (empty: none).
async fn reply(teacher: &TestApp, id: i64, reply: &str) -> reqwest::Response {
    teacher
        .submit(
            "/reports",
            &format!("/reports/{id}/reply"),
            &[("reply", reply), ("back", "/reports")],
        )
        .await
}

/// The part of a page inside the element with `id` (up to the next closing tag of a
/// paragraph), to read one line of the inbox.
fn around(html: &str, id: &str) -> String {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in the page"));
    let end = html[start..].find("</p>").map_or(html.len(), |e| start + e);
    html[start..end].to_owned()
}

/// An admin, an instructor with a class, and a student in it.
async fn a_class() -> (TestApp, TestApp, TestApp, i64, String) {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    let (class, code) = new_class(&teacher, "Section R").await;
    let student = admin.other_browser();
    student.register_ok("student").await;
    join(&student, &code).await;
    (admin, teacher, student, class, code)
}

#[tokio::test]
async fn an_instructor_is_told_who_can_edit_a_reported_card_and_resolved_reports_stay_under_the_filter()
 {
    let (admin, teacher, student, class, _) = a_class().await;
    // The shipped course deck (deck 1) belongs to the site: only the admins edit it.
    let course_card = report_a_card(&student, 1, "The course card is wrong").await;
    // A deck of the instructor's own, assigned to the class.
    let deck = import_private(&teacher, "Own deck").await;
    assign(&teacher, class, deck).await;
    report_a_card(&student, deck, "My teacher's card is wrong").await;
    // A deck an admin imported: public, and its owner teaches (as an admin).
    let r = crate::helpers::upload(
        &admin,
        "a.tsv",
        b"admin term\tadmin definition\n".to_vec(),
        "Admin deck",
        "tsv",
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let admin_deck: i64 = sqlx::query_scalar("SELECT id FROM decks WHERE name = 'Admin deck'")
        .fetch_one(&admin.pool().await)
        .await
        .unwrap();
    let admin_card = report_a_card(&student, admin_deck, "The admin's card is wrong").await;

    // The instructor cannot edit the course card: the site says so, and whom to ask.
    let edit = teacher
        .submit(
            "/reports",
            &format!("/cards/{course_card}/edit"),
            &[("front", "changed"), ("back", "changed"), ("tags", "")],
        )
        .await;
    assert_eq!(edit.status(), StatusCode::FORBIDDEN);
    let said = edit.text().await.unwrap();
    assert!(
        said.contains("administrators can edit ‘CS 7643 Quiz 3’: ask one of them"),
        "{said}"
    );
    let edit = teacher
        .submit(
            "/reports",
            &format!("/cards/{admin_card}/edit"),
            &[("front", "changed"), ("back", "changed"), ("tags", "")],
        )
        .await;
    assert_eq!(edit.status(), StatusCode::FORBIDDEN);
    let said = edit.text().await.unwrap();
    assert!(
        said.contains(
            "Only admin, the deck&#39;s owner, or an administrator can edit ‘Admin deck’: ask admin"
        ),
        "{said}"
    );
    let inbox = teacher.get_html("/reports").await;
    let course = report_id(&admin, "The course card is wrong").await;
    let own = report_id(&admin, "My teacher's card is wrong").await;
    let admins = report_id(&admin, "The admin's card is wrong").await;
    let line = around(&inbox, &format!("editors-{course}"));
    assert!(
        line.contains("Only the site's administrators can edit this card")
            && line.contains("ask admin to fix it"),
        "{line}"
    );
    let line = around(&inbox, &format!("editors-{own}"));
    assert!(
        line.contains("You can fix this card") && line.contains(&format!("/decks/{deck}/edit")),
        "{line}"
    );
    let line = around(&inbox, &format!("editors-{admins}"));
    assert!(
        line.contains("Only admin, the deck's owner, or an administrator can edit this card"),
        "{line}"
    );
    // The class's triage page says the same.
    let triage = teacher.get_html(&format!("/classes/{class}/reports")).await;
    assert!(
        around(&triage, &format!("editors-{course}"))
            .contains("Only the site's administrators can edit this card")
    );

    // Resolved reports stay, under the filter, with their replies.
    assert_eq!(
        reply(&teacher, course, "Passed on to the admins, thanks")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let open = teacher.get_html("/reports").await;
    assert!(
        !open.contains(&format!("id=\"report-{course}\"")),
        "no longer open"
    );
    assert!(open.contains(&format!("id=\"report-{own}\"")));
    assert!(open.contains("2 open reports"), "{open}");
    let resolved = teacher.get_html("/reports?show=resolved").await;
    assert!(resolved.contains(&format!("id=\"report-{course}\"")));
    assert!(!resolved.contains(&format!("id=\"report-{own}\"")));
    assert!(resolved.contains("Resolved by teacher"));
    assert!(resolved.contains("Passed on to the admins, thanks"));
    assert!(resolved.contains("1 resolved report."), "{resolved}");
    let all = teacher.get_html("/reports?show=all").await;
    for id in [course, own, admins] {
        assert!(all.contains(&format!("id=\"report-{id}\"")), "report {id}");
    }
    // A reply from a filtered page goes back to it.
    let r = teacher
        .submit(
            "/reports?show=all",
            &format!("/reports/{own}/reply"),
            &[("reply", ""), ("back", "/reports?show=all")],
        )
        .await;
    assert_eq!(location(&r), "/reports?show=all");
    // Another instructor hears of none of them, resolved or not.
    let other = make_instructor(&admin, "other").await;
    let theirs = other.get_html("/reports?show=all").await;
    assert!(theirs.contains("No reports."), "{theirs}");
}

#[tokio::test]
async fn a_reply_shows_on_the_reporters_every_page_until_they_open_it_or_dismiss_it() {
    let (admin, teacher, student, _, _) = a_class().await;
    let card = report_a_card(&student, 1, "Typo on the back").await;
    let report = report_id(&admin, "Typo on the back").await;
    // Loaded (and cached) before the reply.
    assert!(!student.get_html("/decks").await.contains("reply-notice"));

    // A resolution without a reply tells the student nothing.
    assert_eq!(
        reply(&teacher, report, "").await.status(),
        StatusCode::SEE_OTHER
    );
    assert!(!student.get_html("/decks").await.contains("reply-notice"));
    assert_eq!(
        reply(&teacher, report, "Fixed, thank you").await.status(),
        StatusCode::SEE_OTHER
    );
    // The very next page, on this server (its cached session was dropped) ...
    let html = student.get_html("/decks").await;
    assert!(html.contains("id=\"reply-notice\""), "{html}");
    assert!(html.contains("Your report on a card got a reply."));
    assert!(html.contains(&format!("href=\"/cards/{card}#my-reports\"")));
    // ... and on another server of the site, on every page.
    let server = admin.second_server().await;
    let there = student.on(&server);
    for page in ["/review", "/stats", "/classes"] {
        assert!(
            there.get_html(page).await.contains("id=\"reply-notice\""),
            "{page} shows the notice"
        );
    }
    // Opening the card shows the reply, marked new, and reads it.
    let card_page = there.get_html(&format!("/cards/{card}")).await;
    assert!(card_page.contains("Fixed, thank you"));
    assert!(card_page.contains("<span class=\"badge\">new</span>"));
    assert!(
        !card_page.contains("id=\"reply-notice\""),
        "the page that reads the reply does not announce it"
    );
    assert!(!there.get_html("/decks").await.contains("reply-notice"));
    let again = there.get_html(&format!("/cards/{card}")).await;
    assert!(again.contains("Fixed, thank you") && !again.contains("badge\">new"));

    // Two more replies: counted, and dismissed at once without reading them.
    let second = report_a_card(&student, 1, "Another typo").await;
    report_a_card(&student, 1, "A third typo").await;
    for message in ["Another typo", "A third typo"] {
        let id = report_id(&admin, message).await;
        reply(&teacher, id, &format!("About: {message}")).await;
    }
    let html = student.get_html("/decks").await;
    assert!(
        html.contains("2 of your reports on cards got replies."),
        "{html}"
    );
    // A forged dismissal changes nothing.
    let forged = student
        .post_form("/reports/replies/dismiss", &[("csrf_token", "forged")])
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(student.get_html("/decks").await.contains("reply-notice"));
    let r = student
        .submit("/decks", "/reports/replies/dismiss", &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!student.get_html("/decks").await.contains("reply-notice"));
    // The replies stay on the cards' pages.
    assert!(
        student
            .get_html(&format!("/cards/{second}"))
            .await
            .contains("About: ")
    );
    // Nobody else was told.
    assert!(!teacher.get_html("/decks").await.contains("reply-notice"));
}

#[tokio::test]
async fn a_join_link_asks_a_logged_in_student_and_sends_a_visitor_to_log_in_and_back() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    let (class, code) = new_class(&teacher, "Section J").await;
    let link = format!("/classes/join/{code}");
    let page = teacher.get_html(&format!("/classes/{class}")).await;
    assert!(
        page.contains(&format!("href=\"{link}\"")),
        "the class page shares it"
    );
    assert!(
        page.contains(&format!("{}{link}", teacher.address)),
        "in full"
    );

    // Logged in: the link asks; the GET joins nobody.
    let ada = admin.other_browser();
    ada.register_ok("ada").await;
    let ask = ada.get(&link).await;
    assert_eq!(ask.status(), StatusCode::OK);
    let html = ask.text().await.unwrap();
    assert!(html.contains("Join ‘Section J’?") && html.contains("Taught by teacher"));
    assert!(!ada.get_html("/classes").await.contains("joined-"));
    let r = ada.submit(&link, "/classes/join", &[("code", &code)]).await;
    assert_eq!(location(&r), format!("/classes?joined={class}"));
    assert!(
        ada.get_html(&link)
            .await
            .contains("You are already in the class")
    );

    // A wrong code says so (and counts as a wrong guess).
    let wrong = ada.get("/classes/join/WRONGCODE2").await;
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("No class has that join code")
    );

    // A visitor is sent to log in, then comes back to the question.
    let visitor = admin.other_browser();
    let r = visitor.get(&link).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let login = location(&r);
    assert_eq!(login, format!("/login?next={link}"));
    let login_page = visitor.get_html(&login).await;
    assert!(login_page.contains(&format!("name=\"next\" value=\"{link}\"")));
    // ... or to register with the code filled in, which joins the class.
    assert!(login_page.contains(&format!("href=\"/register?code={code}\"")));
    let register = visitor.get_html(&format!("/register?code={code}")).await;
    assert!(register.contains(&format!("name=\"code\" value=\"{code}\"")));
    ada.submit("/classes", "/logout", &[]).await;
    let r = ada
        .submit(
            &login,
            "/login",
            &[
                ("username", "ada"),
                ("password", crate::helpers::PASSWORD),
                ("next", &link),
            ],
        )
        .await;
    assert_eq!(location(&r), link);
    // A login never sends anyone elsewhere.
    ada.submit("/classes", "/logout", &[]).await;
    let r = ada
        .submit(
            "/login",
            "/login",
            &[
                ("username", "ada"),
                ("password", crate::helpers::PASSWORD),
                ("next", "https://evil.example/classes/join/X"),
            ],
        )
        .await;
    assert_eq!(location(&r), "/decks");
}

#[tokio::test]
async fn leaving_a_class_and_deleting_an_exam_ask_first_and_a_forged_post_changes_nothing() {
    let (admin, teacher, student, class, _) = a_class().await;
    let pool = admin.pool().await;
    let members = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM class_members")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let leave = format!("/classes/{class}/leave");
    let asked = student.get_html("/classes").await;
    assert!(
        asked.contains(&format!("href=\"{leave}\"")),
        "Leave is a link"
    );
    let confirm = student.get(&leave).await;
    assert_eq!(confirm.status(), StatusCode::OK);
    let html = confirm.text().await.unwrap();
    assert!(html.contains("Leave the class ‘Section R’?"));
    assert_eq!(members().await, 1, "a GET leaves nothing");
    // A post without the confirmation is sent to the question.
    let r = student.submit("/classes", &leave, &[]).await;
    assert_eq!(location(&r), leave);
    assert_eq!(members().await, 1);
    let forged = student
        .post_form(&leave, &[("csrf_token", "forged"), ("confirm", "yes")])
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(members().await, 1);
    // Someone else's leave page is not found.
    assert_eq!(teacher.get(&leave).await.status(), StatusCode::NOT_FOUND);
    let r = student.submit(&leave, &leave, &[("confirm", "yes")]).await;
    assert_eq!(location(&r), "/classes");
    assert_eq!(members().await, 0);

    // An exam.
    let today = studyhall::srs::day::StudyCalendar::new(jiff::tz::TimeZone::UTC, 4)
        .day_of(admin.clock().now());
    let day = studyhall::srs::day::date_of_day(today + 10).to_string();
    let r = teacher
        .submit(
            &format!("/classes/{class}"),
            &format!("/classes/{class}/exams"),
            &[("name", "Quiz 1"), ("date", &day), ("deck_1", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let exams = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM class_exams")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let exam: i64 = sqlx::query_scalar("SELECT id FROM class_exams")
        .fetch_one(&pool)
        .await
        .unwrap();
    let delete = format!("/classes/{class}/exams/{exam}/delete");
    assert!(
        teacher
            .get_html(&format!("/classes/{class}"))
            .await
            .contains(&format!("href=\"{delete}\""))
    );
    let html = teacher.get_html(&delete).await;
    assert!(html.contains("Delete the exam ‘Quiz 1’?"), "{html}");
    assert_eq!(exams().await, 1, "a GET deletes nothing");
    let r = teacher
        .submit(&format!("/classes/{class}"), &delete, &[])
        .await;
    assert_eq!(location(&r), delete);
    let forged = teacher
        .post_form(&delete, &[("csrf_token", "forged"), ("confirm", "yes")])
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(exams().await, 1);
    assert_eq!(student.get(&delete).await.status(), StatusCode::FORBIDDEN);
    let r = teacher
        .submit(&delete, &delete, &[("confirm", "yes")])
        .await;
    assert_eq!(location(&r), format!("/classes/{class}#exams"));
    assert_eq!(exams().await, 0);
}

#[tokio::test]
async fn assigning_a_public_deck_says_what_it_changes() {
    let (_, teacher, _, class, _) = a_class().await;
    let page = teacher.get_html(&format!("/classes/{class}")).await;
    assert!(page.contains("A public deck is already visible to every student"));
    assert!(page.contains("assigning one changes nothing students see"));
    assert!(page.contains("aria-describedby=\"public-assign-note\""));
}
