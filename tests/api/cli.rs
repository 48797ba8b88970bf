use crate::helpers::PASSWORD;
use std::io::Write;
use std::process::{Command, Stdio};

fn studyhall(db: &std::path::Path, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_studyhall"))
        .arg("--database")
        .arg(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn the_import_command_is_all_or_nothing_and_names_the_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let bad = dir.path().join("bad.tsv");
    std::fs::write(&bad, "a\tb\nc\td\nbroken line\n").unwrap();
    let out = studyhall(
        &db,
        &["import", bad.to_str().unwrap(), "--deck", "Mine"],
        "",
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 3"), "{stderr}");

    let good = dir.path().join("good.csv");
    std::fs::write(&good, "front,back\nx,y\n\"a, b\",c\n").unwrap();
    let out = studyhall(
        &db,
        &["import", good.to_str().unwrap(), "--deck", "Mine"],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 2 new cards into \"Mine\""));
    let out = studyhall(
        &db,
        &["import", good.to_str().unwrap(), "--deck", "mine"],
        "",
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 0 new cards"));

    let pool = studyhall::db::connect(&db).await.unwrap();
    let cards: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM cards c JOIN decks d ON d.id = c.deck_id WHERE d.name = 'Mine'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(cards, 2);
}

#[tokio::test]
async fn create_admin_reads_the_password_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let out = studyhall(&db, &["create-admin", "boss"], "short\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8 characters"));
    let out = studyhall(&db, &["create-admin", "boss"], &format!("{PASSWORD}\n"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = studyhall(&db, &["create-admin", "boss"], &format!("{PASSWORD}\n"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("taken"));
    // Not the first account, still the break-glass kind: it logs in with its password when
    // local login is off.
    let out = studyhall(&db, &["create-admin", "chief"], &format!("{PASSWORD}\n"));
    assert!(out.status.success());

    let pool = studyhall::db::connect(&db).await.unwrap();
    let role: String = sqlx::query_scalar("SELECT role FROM users WHERE username = 'boss'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(role, "admin");
    let break_glass: Vec<(String, i64)> =
        sqlx::query_as("SELECT username, break_glass FROM users ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        break_glass,
        [("boss".to_owned(), 1), ("chief".to_owned(), 1)]
    );
    let ok = studyhall::auth::password::verify_blocking(
        PASSWORD,
        &sqlx::query_scalar::<_, String>("SELECT password_hash FROM users WHERE username = 'boss'")
            .fetch_one(&pool)
            .await
            .unwrap(),
    );
    assert!(ok);
}

#[tokio::test]
async fn a_backup_taken_while_the_server_runs_is_consistent_and_complete() {
    // On SQLite whatever the suite's backend: PostgreSQL sites back up with pg_dump
    // (docs/operations.md); `backup` copies a file.
    let app = crate::helpers::spawn_sqlite_app().await;
    app.register_ok("ada").await;
    let card = app.grade_next(5, None).await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("backups").join("copy.db");
    let out = studyhall(&app.db_path(), &["backup", copy.to_str().unwrap()], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The server keeps working while and after the copy is taken.
    app.grade_next(4, None).await;

    let pool = studyhall::db::connect(&copy).await.unwrap();
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
    let graded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reviews WHERE card_id = $1")
        .bind(card)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(graded, 1);
    let out = studyhall(&app.db_path(), &["backup", copy.to_str().unwrap()], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}
