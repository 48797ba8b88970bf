//! Upgrading a database made by an earlier version keeps every row.

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

/// A database file at `path` with one connection, for an earlier version's migrations.
async fn old_database(path: &std::path::Path) -> sqlx::SqlitePool {
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .foreign_keys(true),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn the_deck_rights_migration_keeps_cards_and_history_and_drops_only_taken_assignments() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let old = old_database(&path).await;
    studyhall::db::SQLITE_MIGRATOR
        .run_to(7, &old)
        .await
        .unwrap();
    sqlx::raw_sql(
        "INSERT INTO users (id, username, password_hash, role, created_at) VALUES
             (1, 'admin', 'x', 'admin', 0), (2, 'inst1', 'x', 'instructor', 0),
             (3, 'inst2', 'x', 'instructor', 0), (4, 'student', 'x', 'student', 0);
         INSERT INTO decks (id, name, owner_id, public, created_at) VALUES
             (1, 'Shipped', NULL, 1, 0), (2, 'Private of inst1', 2, 0, 0);
         INSERT INTO cards (id, deck_id, front, back, position, created_at, updated_at) VALUES
             (1, 1, 'a', 'b', 1, 0, 0), (2, 2, 'c', 'd', 1, 0, 0), (3, 2, 'e', 'f', 2, 0, 0);
         INSERT INTO classes (id, name, owner_id, join_code, created_at) VALUES
             (1, 'inst1 class', 2, 'AAAA-BBBB', 0), (2, 'inst2 class', 3, 'CCCC-DDDD', 0);
         INSERT INTO class_decks (class_id, deck_id) VALUES (1, 2), (2, 2), (2, 1);
         INSERT INTO reviews (user_id, card_id, kind, reviewed_at, study_day, quality)
             VALUES (4, 2, 'grade', 0, 0, 4);",
    )
    .execute(&old)
    .await
    .unwrap();
    old.close().await;

    let pool = studyhall::db::connect(&path).await.unwrap();
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(count("SELECT COUNT(*) FROM cards").await, 3);
    // Accounts that existed keep the six grades they know; new ones get four.
    assert_eq!(
        count("SELECT COUNT(*) FROM users WHERE grade_buttons = 'six'").await,
        4
    );
    assert_eq!(count("SELECT COUNT(*) FROM reviews").await, 1);
    assert_eq!(count("SELECT COUNT(*) FROM decks").await, 2);
    // inst2 had taken inst1's private deck; the public deck and inst1's own stay assigned.
    let assigned: Vec<(i64, i64)> =
        sqlx::query_as("SELECT class_id, deck_id FROM class_decks ORDER BY 1, 2")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(assigned, vec![(1, 2), (2, 1)]);
    let problems: Vec<(String,)> = sqlx::query_as("PRAGMA foreign_key_check")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(problems.is_empty());
    // Names are now unique per owner only.
    sqlx::query("INSERT INTO decks (name, owner_id, public, created_at) VALUES ('Private of inst1', 3, 0, 0)")
        .execute(&pool)
        .await
        .unwrap();
    let same_owner = sqlx::query(
        "INSERT INTO decks (name, owner_id, public, created_at) VALUES ('PRIVATE of inst1', 2, 0, 0)",
    )
    .execute(&pool)
    .await;
    assert!(studyhall::db::is_unique_violation(&same_owner.unwrap_err()));
    // Deleting a deck still cascades to its cards (the foreign keys survived the rebuild).
    sqlx::query("DELETE FROM decks WHERE id = 2")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(count("SELECT COUNT(*) FROM cards").await, 1);
}

/// The generators of the practice deck's cards, in order.
async fn practice_generators(app: &crate::helpers::TestApp) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT generator FROM cards JOIN decks ON decks.id = cards.deck_id
         WHERE decks.name = 'CS 7643 practice problems' ORDER BY position, cards.id",
    )
    .fetch_all(&app.pool().await)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_family_new_to_a_database_reaches_its_practice_deck_once_and_deleted_cards_stay_deleted()
{
    let app = crate::helpers::spawn_app().await;
    let all = practice_generators(&app).await;
    assert_eq!(all.len(), studyhall::practice::FAMILIES.len());
    // As a database made before "loss" existed: no loss card, and "loss" not received. Its
    // admin deleted the network card.
    let pool = app.pool().await;
    sqlx::query("DELETE FROM cards WHERE generator IN ('loss', 'network')")
        .execute(&pool)
        .await
        .unwrap();
    let received: Vec<&str> = studyhall::practice::FAMILIES
        .iter()
        .map(|f| f.id)
        .filter(|id| *id != "loss")
        .collect();
    sqlx::query("UPDATE app_meta SET value = $1 WHERE key = 'practice_families'")
        .bind(received.join(","))
        .execute(&pool)
        .await
        .unwrap();
    let cards_before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cards")
        .fetch_one(&pool)
        .await
        .unwrap();
    drop(pool);

    let app = app.restart().await;
    let after = practice_generators(&app).await;
    assert_eq!(after.last().map(String::as_str), Some("loss"), "{after:?}");
    assert!(
        !after.iter().any(|g| g == "network"),
        "a deleted card stays deleted"
    );
    let cards_after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cards")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    assert_eq!(cards_after, cards_before + 1, "nothing else changes");

    // Once: a second start adds nothing, even after the new card is deleted.
    sqlx::query("DELETE FROM cards WHERE generator = 'loss'")
        .execute(&app.pool().await)
        .await
        .unwrap();
    let app = app.restart().await;
    assert!(!practice_generators(&app).await.iter().any(|g| g == "loss"));
}

#[tokio::test]
async fn the_exam_migration_gives_every_schedule_the_day_of_its_last_grade_and_moves_none() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let old = old_database(&path).await;
    studyhall::db::SQLITE_MIGRATOR
        .run_to(18, &old)
        .await
        .unwrap();
    sqlx::raw_sql(
        "INSERT INTO users (id, username, password_hash, role, created_at) VALUES
             (1, 'student', 'x', 'student', 0);
         INSERT INTO decks (id, name, owner_id, public, created_at) VALUES (1, 'D', NULL, 1, 0);
         INSERT INTO cards (id, deck_id, front, back, position, created_at, updated_at) VALUES
             (1, 1, 'a', 'b', 1, 0, 0), (2, 1, 'c', 'd', 2, 0, 0);
         INSERT INTO review_states (user_id, card_id, repetitions, easiness_hundredths,
             interval_days, due_day, lapses, last_reviewed_at)
         VALUES (1, 1, 2, 250, 6, 20006, 0, 0), (1, 2, 1, 236, 1, 20011, 0, 0);",
    )
    .execute(&old)
    .await
    .unwrap();
    old.close().await;

    let pool = studyhall::db::connect(&path).await.unwrap();
    let states: Vec<(i64, i64, i64)> =
        sqlx::query_as("SELECT card_id, graded_day, due_day FROM review_states ORDER BY 1")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(states, vec![(1, 20000, 20006), (2, 20010, 20011)]);
    let exams: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM class_exams")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(exams, 0);
    // The tallies the triggers keep were not disturbed by the backfill.
    crate::tallies::assert_tables_match_a_recount(&pool, "the exam migration").await;
}

#[tokio::test]
async fn replies_written_before_the_reply_notices_count_as_read_and_open_reports_wait() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let old = old_database(&path).await;
    studyhall::db::SQLITE_MIGRATOR
        .run_to(24, &old)
        .await
        .unwrap();
    sqlx::raw_sql(
        "INSERT INTO users (id, username, password_hash, role, created_at) VALUES
             (1, 'student', 'x', 'student', 0);
         INSERT INTO decks (id, name, owner_id, public, created_at) VALUES (1, 'D', NULL, 1, 0);
         INSERT INTO cards (id, deck_id, front, back, position, created_at, updated_at) VALUES
             (1, 1, 'a', 'b', 1, 0, 0);
         INSERT INTO card_reports (id, card_id, user_id, message, created_at, resolved_at, reply,
             replied_at)
         VALUES (1, 1, 1, 'typo', 10, 20, 'fixed', 20), (2, 1, 1, 'another', 30, NULL, NULL, NULL),
                (3, 1, 1, 'third', 40, 50, NULL, NULL);",
    )
    .execute(&old)
    .await
    .unwrap();
    old.close().await;

    let pool = studyhall::db::connect(&path).await.unwrap();
    let seen: Vec<(i64, Option<i64>)> =
        sqlx::query_as("SELECT id, reply_seen_at FROM card_reports ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(seen, vec![(1, Some(20)), (2, None), (3, None)]);
}
