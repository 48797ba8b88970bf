use crate::helpers::{PASSWORD, TestApp, card_id_in, csrf_in, spawn_app};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

pub(crate) async fn make_instructor(admin: &TestApp, name: &str) -> TestApp {
    let teacher = admin.other_browser();
    teacher.register_ok(name).await;
    let r = admin.set_role(name, "instructor").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    teacher
}

/// The student joins a class by its code.
pub(crate) async fn join(student: &TestApp, code: &str) {
    let r = student
        .submit("/classes", "/classes/join", &[("code", code)])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

/// The instructor hands deck `deck` to class `class`.
pub(crate) async fn assign(teacher: &TestApp, class: i64, deck: i64) -> reqwest::Response {
    teacher
        .submit(
            &format!("/classes/{class}"),
            &format!("/classes/{class}/decks/{deck}"),
            &[("assigned", "1")],
        )
        .await
}

/// The instructor imports a private deck; returns its id.
pub(crate) async fn import_private(teacher: &TestApp, deck: &str) -> i64 {
    let form = Form::new()
        .text(
            "csrf_token",
            csrf_in(&teacher.get_html("/admin/import").await),
        )
        .text("deck", deck.to_owned())
        .text("format", "tsv")
        .part(
            "file",
            Part::text("secret term\tsecret definition\n").file_name("d.tsv"),
        );
    let r = teacher
        .client
        .post(teacher.url("/admin/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    sqlx::query_scalar("SELECT id FROM decks WHERE name = $1")
        .bind(deck)
        .fetch_one(&teacher.pool().await)
        .await
        .unwrap()
}

pub(crate) async fn new_class(teacher: &TestApp, name: &str) -> (i64, String) {
    let r = teacher
        .submit("/classes", "/classes", &[("name", name)])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let url = location(&r);
    let id: i64 = url.rsplit('/').next().unwrap().parse().unwrap();
    let html = teacher.get_html(&url).await;
    let marker = "id=\"join-code\">";
    let start = html.find(marker).unwrap() + marker.len();
    (id, html[start..start + 10].to_owned())
}

#[tokio::test]
async fn students_see_a_private_deck_only_through_a_class_it_is_assigned_to() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    let deck = import_private(&teacher, "Secret deck").await;
    let (class, code) = new_class(&teacher, "CS 7643").await;

    let student = admin.other_browser();
    student.register_ok("student").await;
    let hidden = |s: &TestApp| {
        let s = s.clone_browser();
        async move {
            assert!(!s.get_html("/decks").await.contains("Secret deck"));
            assert_eq!(
                s.get(&format!("/decks/{deck}")).await.status(),
                StatusCode::NOT_FOUND
            );
            assert_eq!(
                s.get(&format!("/decks/{deck}/export.csv")).await.status(),
                StatusCode::NOT_FOUND
            );
            assert_eq!(
                s.get(&format!("/review?deck={deck}")).await.status(),
                StatusCode::NOT_FOUND
            );
            let card: i64 = sqlx::query_scalar("SELECT id FROM cards WHERE deck_id = $1")
                .bind(deck)
                .fetch_one(&s.pool().await)
                .await
                .unwrap();
            assert_eq!(
                s.get(&format!("/cards/{card}")).await.status(),
                StatusCode::NOT_FOUND
            );
            let graded = s
                .submit("/decks", &format!("/review/{card}"), &[("quality", "5")])
                .await;
            assert_eq!(
                graded.status(),
                StatusCode::NOT_FOUND,
                "a hidden card cannot be graded"
            );
        }
    };
    hidden(&student).await;

    // Joined but not yet assigned: still hidden. Assigned: visible everywhere.
    let joined = student
        .submit(
            "/classes",
            "/classes/join",
            &[("code", &code.to_lowercase())],
        )
        .await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    hidden(&student).await;
    let assign = crate::classes::assign(&teacher, class, deck).await;
    assert_eq!(assign.status(), StatusCode::SEE_OTHER);
    assert!(student.get_html("/decks").await.contains("Secret deck"));
    let html = student.get_html(&format!("/review?deck={deck}")).await;
    let card = card_id_in(&html).unwrap();
    let graded = student
        .submit(
            &format!("/review?deck={deck}"),
            &format!("/review/{card}"),
            &[("quality", "5")],
        )
        .await;
    assert_eq!(graded.status(), StatusCode::SEE_OTHER);
    assert!(
        teacher
            .get_html(&format!("/classes/{class}"))
            .await
            .contains("<li>student</li>")
    );

    // Leaving hides it again, progress kept for a later return.
    let left = student
        .submit(
            "/classes",
            &format!("/classes/{class}/leave"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(left.status(), StatusCode::SEE_OTHER);
    hidden(&student).await;
    // An outsider never saw it.
    let outsider = admin.other_browser();
    outsider.register_ok("outsider").await;
    hidden(&outsider).await;
}

#[tokio::test]
async fn a_join_code_works_at_registration_and_a_new_code_retires_the_old_one() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    let (class, code) = new_class(&teacher, "Section A").await;

    let student = admin.other_browser();
    let r = student
        .submit(
            "/register",
            "/register",
            &[
                ("username", "ada"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(student.get_html("/classes").await.contains("Section A"));

    let bad = admin.other_browser();
    let r = bad
        .submit(
            "/register",
            "/register",
            &[
                ("username", "bob"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
                ("code", "NOPE123456"),
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

    teacher
        .submit(
            &format!("/classes/{class}"),
            &format!("/classes/{class}/code"),
            &[],
        )
        .await;
    let late = admin.other_browser();
    late.register_ok("late").await;
    let r = late
        .submit("/classes", "/classes/join", &[("code", &code)])
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "the old code no longer works"
    );
}

/// Makes every insert into `class_members` fail, as a store failing at the last step of a
/// registration would.
async fn refuse_joins(app: &TestApp) {
    let pool = app.pool().await;
    let statements: &[&str] = if crate::helpers::on_postgres() {
        &[
            "CREATE FUNCTION refuse_join() RETURNS trigger AS $$
             BEGIN RAISE EXCEPTION 'joins are refused'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_joins BEFORE INSERT ON class_members
             FOR EACH ROW EXECUTE FUNCTION refuse_join()",
        ]
    } else {
        &["CREATE TRIGGER refuse_joins BEFORE INSERT ON class_members
           BEGIN SELECT RAISE(ABORT, 'joins are refused'); END"]
    };
    for sql in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
            .execute(&pool)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_registration_that_fails_at_joining_its_class_leaves_no_account_behind() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    let (_, code) = new_class(&teacher, "Section A").await;
    refuse_joins(&admin).await;

    let student = admin.other_browser();
    let form = [
        ("username", "ada"),
        ("password", PASSWORD),
        ("confirm", PASSWORD),
        ("code", code.as_str()),
    ];
    let r = student.submit("/register", "/register", &form).await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let (users, sessions): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM users WHERE username = 'ada'),
                (SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id
                  WHERE u.username = 'ada')",
    )
    .fetch_one(&admin.pool().await)
    .await
    .unwrap();
    assert_eq!((users, sessions), (0, 0), "the account was rolled back");

    // The name is still free: once the class can be joined, the same form registers.
    let drop = if crate::helpers::on_postgres() {
        "DROP TRIGGER refuse_joins ON class_members"
    } else {
        "DROP TRIGGER refuse_joins"
    };
    sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
        .execute(&admin.pool().await)
        .await
        .unwrap();
    let r = student.submit("/register", "/register", &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(student.get_html("/classes").await.contains("Section A"));
}

#[tokio::test]
async fn students_cannot_run_classes_and_instructors_cannot_reach_each_others() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    let other = make_instructor(&admin, "other").await;
    let (class, _) = new_class(&teacher, "Mine").await;
    let student = admin.other_browser();
    student.register_ok("student").await;

    assert_eq!(
        student
            .submit("/classes", "/classes", &[("name", "Nope")])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        student.get(&format!("/classes/{class}")).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        student.get("/admin/import").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        other.get(&format!("/classes/{class}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let r = other
        .submit("/classes", &format!("/classes/{class}/code"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = other
        .submit(
            "/classes",
            &format!("/classes/{class}/decks/1"),
            &[("assigned", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // An instructor cannot add cards to someone else's deck by importing under its name: the
    // import makes a deck of their own with that name instead.
    let form = Form::new()
        .text(
            "csrf_token",
            csrf_in(&other.get_html("/admin/import").await),
        )
        .text("deck", "CS 7643 Quiz 3")
        .text("format", "tsv")
        .part("file", Part::text("a\tb\n").file_name("d.tsv"));
    let r = other
        .client
        .post(other.url("/admin/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let pool = other.pool().await;
    let counts: Vec<(Option<i64>, i64)> = sqlx::query_as(
        "SELECT d.owner_id, COUNT(c.id) FROM decks d JOIN cards c ON c.deck_id = d.id
         WHERE d.name = 'CS 7643 Quiz 3' GROUP BY d.id ORDER BY d.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(counts.len(), 2, "{counts:?}");
    assert_eq!(counts[0], (None, 39), "the shipped deck is untouched");
    assert_eq!(counts[1].1, 1);
}

#[tokio::test]
async fn a_students_report_reaches_the_class_instructor_who_resolves_it() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    let deck = import_private(&teacher, "Reported deck").await;
    let (class, code) = new_class(&teacher, "Section R").await;
    crate::classes::assign(&teacher, class, deck).await;
    let student = admin.other_browser();
    student.register_ok("student").await;
    crate::classes::join(&student, &code).await;

    let review = format!("/review?deck={deck}");
    let card = card_id_in(&student.get_html(&review).await).unwrap();
    let long = "x".repeat(501);
    let r = student
        .submit(
            &review,
            &format!("/cards/{card}/report"),
            &[("message", &long), ("deck", &deck.to_string())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = student
        .submit(
            &review,
            &format!("/cards/{card}/report"),
            &[
                ("message", "The definition is <b>wrong</b>"),
                ("deck", &deck.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        student
            .get_html(&location(&r))
            .await
            .contains("your report was sent")
    );

    let triage = teacher.get_html(&format!("/classes/{class}/reports")).await;
    assert!(triage.contains("secret term") && triage.contains("student"));
    assert!(!triage.contains("<b>wrong</b>"), "the message is escaped");
    let report: i64 = sqlx::query_scalar("SELECT id FROM card_reports")
        .fetch_one(&admin.pool().await)
        .await
        .unwrap();

    // Only the class's instructor resolves; students do not see the list.
    assert_eq!(
        student
            .get(&format!("/classes/{class}/reports"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let other = make_instructor(&admin, "other").await;
    let r = other
        .submit(
            "/classes",
            &format!("/classes/{class}/reports/{report}/resolve"),
            &[],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = teacher
        .submit(
            &format!("/classes/{class}/reports"),
            &format!("/classes/{class}/reports/{report}/resolve"),
            &[],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        teacher
            .get_html(&format!("/classes/{class}/reports"))
            .await
            .contains("No open reports.")
    );
    let again = teacher
        .submit(
            &format!("/classes/{class}/reports"),
            &format!("/classes/{class}/reports/{report}/resolve"),
            &[],
        )
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "already resolved");

    // A card the student cannot see cannot be reported.
    let hidden = import_private(&other, "Other deck").await;
    let hidden_card: i64 = sqlx::query_scalar("SELECT id FROM cards WHERE deck_id = $1")
        .bind(hidden)
        .fetch_one(&admin.pool().await)
        .await
        .unwrap();
    let r = student
        .submit(
            "/decks",
            &format!("/cards/{hidden_card}/report"),
            &[("message", "hi")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// Grades `card` for `student` with `quality`, as the review form does.
async fn grade(student: &TestApp, card: i64, quality: &str) {
    let r = student
        .submit(
            "/decks",
            &format!("/review/{card}"),
            &[("quality", quality)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "grading card {card}");
}

#[tokio::test]
async fn the_dashboard_matches_figures_computed_by_hand() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    // Two cards, A and B, in a private deck assigned to the class.
    let form = Form::new()
        .text(
            "csrf_token",
            csrf_in(&teacher.get_html("/admin/import").await),
        )
        .text("deck", "Dash deck")
        .text("format", "tsv")
        .part(
            "file",
            Part::text("card A\ta\ncard B\tb\n").file_name("d.tsv"),
        );
    teacher
        .client
        .post(teacher.url("/admin/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let pool = admin.pool().await;
    let id_of = |front: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT id FROM cards WHERE front = $1")
                .bind(front)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let (a, b) = (id_of("card A").await, id_of("card B").await);
    let deck: i64 = sqlx::query_scalar("SELECT id FROM decks WHERE name = 'Dash deck'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let (class, code) = new_class(&teacher, "Dash").await;
    crate::classes::assign(&teacher, class, deck).await;
    let mut students = Vec::new();
    for name in ["stu1", "stu2", "stu3"] {
        let s = admin.other_browser();
        s.register_ok(name).await;
        crate::classes::join(&s, &code).await;
        students.push(s);
    }
    // Someone outside the class studies too: none of it may count.
    let outsider = admin.other_browser();
    outsider.register_ok("outsider").await;
    outsider.grade_next(1, None).await;

    // Day 0: A = 5, 4, 3 and B = 2, 3, 1 (all first reviews: no lapses).
    for (s, (qa, qb)) in students.iter().zip([("5", "2"), ("4", "3"), ("3", "1")]) {
        grade(s, a, qa).await;
        grade(s, b, qb).await;
    }
    // s3 falls for a known practice misconception.
    let seed = (0..200u64)
        .find(|s| {
            studyhall::practice::family("fc-params")
                .unwrap()
                .variant(*s)
                .misconceptions
                .iter()
                .any(|m| m.label == "forgot the bias")
        })
        .unwrap();
    let v = studyhall::practice::family("fc-params")
        .unwrap()
        .variant(seed);
    let wrong = v
        .misconceptions
        .iter()
        .find(|m| m.label == "forgot the bias")
        .unwrap()
        .answer
        .display();
    let page = format!("/practice/fc-params/{seed}");
    students[2]
        .submit(&page, &page, &[("answer", &wrong)])
        .await;
    // A free drill belongs to no deck, so it is not this class's business; a generated card
    // of a deck the class studies is.
    let practice: i64 =
        sqlx::query_scalar("SELECT id FROM decks WHERE name = 'CS 7643 practice problems'")
            .fetch_one(&pool)
            .await
            .unwrap();
    teacher
        .submit(
            &format!("/classes/{class}"),
            &format!("/classes/{class}/decks/{practice}"),
            &[("assigned", "1")],
        )
        .await;
    let review = format!("/review?deck={practice}");
    let html = students[2].get_html(&review).await;
    let after = &html[html.find("action=\"/review/").unwrap() + 16..];
    let card: i64 = after[..after.find('/').unwrap()].parse().unwrap();
    let marker = "name=\"seed\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    let card_seed: u64 = html[start..start + html[start..].find('"').unwrap()]
        .parse()
        .unwrap();
    let family: String = sqlx::query_scalar("SELECT generator FROM cards WHERE id = $1")
        .bind(card)
        .fetch_one(&pool)
        .await
        .unwrap();
    let variant = studyhall::practice::family(&family)
        .unwrap()
        .variant(card_seed);
    let misconception = variant.misconceptions.first().unwrap();
    students[2]
        .submit(
            &review,
            &format!("/review/{card}/answer"),
            &[
                ("answer", &misconception.answer.display()),
                ("seed", &card_seed.to_string()),
                ("deck", &practice.to_string()),
            ],
        )
        .await;

    // Day 1: s1 forgets A (a lapse: A had been learned) and recalls B.
    admin.clock().advance(86_400);
    grade(&students[0], a, "1").await;
    grade(&students[0], b, "4").await;

    // By hand: A = 5, 4, 3, 1 -> mean 3.25, lapse rate 1 of 1 learned reviews = 100%;
    //          B = 2, 3, 1, 4 -> mean 2.50, lapse rate 0 of 0 -> 0%. B is the harder card.
    let html = teacher
        .get_html(&format!("/classes/{class}/dashboard"))
        .await;
    assert!(
        html.contains("id=\"active-7\">3<") && html.contains("id=\"active-30\">3<"),
        "the outsider is not counted"
    );
    let hardest = html.split("id=\"hardest\"").nth(1).unwrap();
    let row_b = hardest.find(&format!("id=\"hard-{b}\"")).unwrap();
    let row_a = hardest.find(&format!("id=\"hard-{a}\"")).unwrap();
    assert!(row_b < row_a, "lowest mean grade first");
    assert!(hardest.contains(&format!("<tr id=\"hard-{b}\"><td data-label=\"Card\"><a href=\"/cards/{b}\">card B</a></td><td class=\"num\" data-label=\"Mean grade\">2.50</td><td class=\"num\" data-label=\"Lapse rate\">0%</td><td class=\"num\" data-label=\"Students\">3</td><td class=\"num\" data-label=\"Reviews\">4</td></tr>")));
    assert!(hardest.contains(&format!("<tr id=\"hard-{a}\"><td data-label=\"Card\"><a href=\"/cards/{a}\">card A</a></td><td class=\"num\" data-label=\"Mean grade\">3.25</td><td class=\"num\" data-label=\"Lapse rate\">100%</td><td class=\"num\" data-label=\"Students\">3</td><td class=\"num\" data-label=\"Reviews\">4</td></tr>")));
    // Families appear by their titles.
    let title = studyhall::practice::family(&family).unwrap().title;
    assert!(html.contains(&format!(
        "<tr><td data-label=\"Problem family\">{title}</td><td data-label=\"Misconception\">{}</td><td class=\"num\" data-label=\"Times\">1</td></tr>",
        misconception.label
    )));
    let fc_title = studyhall::practice::family("fc-params").unwrap().title;
    assert!(
        !html.contains(&format!(">{fc_title}</td>")),
        "the free drill is not counted"
    );
    // 30 days on the desktop chart, and again in a phone's two rows.
    assert!(html.matches(" reviews</title></rect>").count() == 60);

    // Day 2: s2 and s3 have A and B overdue (due on day 1); s1's are due today.
    admin.clock().advance(86_400);
    let csv = teacher
        .get(&format!("/classes/{class}/students.csv"))
        .await
        .text()
        .await
        .unwrap();
    let day = |n: i64| {
        let now = admin.clock().now().as_second() - 4 * 3600 - (2 - n) * 86_400;
        studyhall::srs::day::date_of_day(i32::try_from(now.div_euclid(86_400)).unwrap()).to_string()
    };
    assert_eq!(
        csv,
        format!(
            "student,reviews,retention,overdue_cards,last_active\nstu1,4,,0,{}\nstu2,2,,2,{}\nstu3,2,,2,{}\n",
            day(1),
            day(0),
            day(0)
        )
    );
    assert_eq!(
        students[0]
            .get(&format!("/classes/{class}/dashboard"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let other = make_instructor(&admin, "other").await;
    assert_eq!(
        other
            .get(&format!("/classes/{class}/dashboard"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other
            .get(&format!("/classes/{class}/students.csv"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_student_joins_from_the_account_page_too() {
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    let (_, code) = new_class(&teacher, "From account").await;
    let student = admin.other_browser();
    student.register_ok("student").await;
    let r = student
        .submit("/account", "/classes/join", &[("code", &code)])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(student.get_html("/classes").await.contains("From account"));
}

#[tokio::test]
async fn the_class_use_cases_find_a_class_only_for_the_instructor_who_runs_it() {
    use studyhall::study::{StudyError, classes, dashboard};
    let admin = spawn_app().await;
    admin.register_ok("admin").await;
    let teacher = make_instructor(&admin, "teacher").await;
    make_instructor(&admin, "other").await;
    let (class, code) = new_class(&teacher, "Section A").await;
    let (teacher_id, other_id) = (admin.user_id("teacher").await, admin.user_id("other").await);
    let db = admin.db().await;

    let mine = classes::owned(db.reader(), teacher_id, class)
        .await
        .unwrap();
    assert_eq!((mine.id, mine.name.as_str()), (class, "Section A"));
    let not_found = |r: Result<_, StudyError>| matches!(r, Err(StudyError::NotFound));
    assert!(not_found(
        classes::owned(db.reader(), other_id, class)
            .await
            .map(|_| ())
    ));
    assert!(not_found(
        dashboard::students(db.reader(), other_id, class, 0)
            .await
            .map(|_| ())
    ));
    let other = admin.learner("other").await;
    let other_actor = studyhall::study::actor::Actor {
        learner: &other,
        role: studyhall::domain::Role::Instructor,
    };
    assert!(not_found(
        classes::open_reports(db.reader(), other_actor, class)
            .await
            .map(|_| ())
    ));
    assert!(not_found(
        classes::regenerate_code(db.writer(), other_id, class).await
    ));
    let after = classes::owned(db.reader(), teacher_id, class)
        .await
        .unwrap();
    assert_eq!(after.join_code, code, "another's request drew no new code");
}
