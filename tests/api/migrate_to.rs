//! `studyhall migrate-to`: a SQLite site with accounts, a class, a private deck, grades, an
//! undo, a report and a practice attempt, copied into an empty PostgreSQL database while its
//! server runs; a server on PostgreSQL then carries on where the file left off. Needs the
//! suite's PostgreSQL server (`scripts/with-postgres`); on SQLite alone there is no target, and
//! plain `cargo test` reports the test ignored.

use crate::classes::{import_private, make_instructor, new_class};
use crate::helpers::{
    TestApp, card_id_in, new_postgres_database, require_postgres, spawn_app_with,
};
use reqwest::StatusCode;
use studyhall::db::Location;

fn migrate_to(file: &std::path::Path, target: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_studyhall"))
        .arg("--database")
        .arg(file)
        .args(["migrate-to", target])
        .output()
        .unwrap()
}

/// A review row: id, user, card, kind, quality, undoes, study day.
type ReviewRow = (i64, i64, i64, String, Option<i64>, Option<i64>, i64);

/// Every row of the history, as text, in id order.
async fn history(pool: &studyhall::db::Pool) -> Vec<String> {
    let rows: Vec<ReviewRow> = sqlx::query_as(
        "SELECT id, user_id, card_id, kind, quality, undoes, study_day FROM reviews ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter().map(|r| format!("{r:?}")).collect()
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn a_sqlite_site_moves_to_postgres_whole_and_a_full_target_is_refused() {
    let server = require_postgres();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("site.db");
    let site_file = file.clone();
    let site = spawn_app_with(move |s| s.database = Location::File(site_file)).await;
    site.register_ok("admin").await;
    let teacher = make_instructor(&site, "teacher").await;
    let deck = import_private(&teacher, "Private notes").await;
    let (class, code) = new_class(&teacher, "Section M").await;
    crate::classes::assign(&teacher, class, deck).await;
    let student = site.other_browser();
    student.register_ok("student").await;
    crate::classes::join(&student, &code).await;
    let review = format!("/review?deck={deck}");
    let card = card_id_in(&student.get_html(&review).await).unwrap();
    let r = student
        .submit(
            &review,
            &format!("/cards/{card}/report"),
            &[("message", "Typo here"), ("deck", &deck.to_string())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    for quality in [5, 2, 4, 3] {
        student.grade_next(quality, None).await;
    }
    let r = student.submit("/review", "/review/undo", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = student
        .submit(
            "/practice/conv-params/7",
            "/practice/conv-params/7",
            &[("answer", "12")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM practice_attempts")
        .fetch_one(&site.pool().await)
        .await
        .unwrap();
    assert_eq!(attempts, 1);

    let target = new_postgres_database(&server).await;
    let out = migrate_to(&file, &target);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for table in ["users", "sessions", "reviews", "card_reports", "due_tally"] {
        assert!(stdout.contains(table), "{table} is listed: {stdout}");
    }

    let sqlite = site.pool().await;
    let postgres = studyhall::db::connect(Location::Postgres(target.clone()))
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
           AND name <> '_sqlx_migrations'",
    )
    .fetch_all(&sqlite)
    .await
    .unwrap();
    assert!(tables.len() >= 20, "{tables:?}");
    for table in &tables {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        if table == "queue_versions" {
            // SQLite's check of kept review queues; PostgreSQL's servers hear of changes by
            // notice and leave theirs empty.
            let b: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(&postgres)
                .await
                .unwrap();
            assert_eq!(b, 0, "{table} is not copied");
            continue;
        }
        let a: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_one(&sqlite)
            .await
            .unwrap();
        let b: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&postgres)
            .await
            .unwrap();
        assert_eq!(a, b, "{table}");
    }
    let copied = history(&postgres).await;
    assert!(
        copied.len() >= 5 && copied.iter().any(|r| r.contains("\"undo\"")),
        "{copied:?}"
    );
    assert_eq!(history(&sqlite).await, copied);
    crate::tallies::assert_tables_match_a_recount(&postgres, "after migrate-to").await;

    // A server on the copy: the sessions were kept, the queue is where it was.
    let moved_target = target.clone();
    let moved: TestApp =
        spawn_app_with(move |s| s.database = Location::Postgres(moved_target)).await;
    let student_there = student.on(&moved);
    assert_eq!(student_there.get("/decks").await.status(), StatusCode::OK);
    assert_eq!(
        card_id_in(&student_there.get_html(&review).await),
        card_id_in(&student.get_html(&review).await)
    );
    assert_eq!(
        card_id_in(&student_there.get_html("/review").await),
        card_id_in(&student.get_html("/review").await)
    );
    // New rows get new ids after the copied ones.
    student_there.grade_next(5, None).await;
    let teacher_there = teacher.on(&moved);
    let inbox = teacher_there
        .get_html(&format!("/classes/{class}/reports"))
        .await;
    assert!(inbox.contains("Typo here"), "{inbox}");

    // Now the target holds a site: a second copy is refused and changes nothing.
    let before = history(&postgres).await;
    let out = migrate_to(&file, &target);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not empty"), "{stderr}");
    // One sentence, said once (not wrapped in a database driver's "configuration" error).
    assert_eq!(stderr.matches("not empty").count(), 1, "{stderr}");
    assert!(!stderr.contains("configuration"), "{stderr}");
    assert_eq!(history(&postgres).await, before);
}
