//! A learner loaded by user id, as a job or a launch gets one without a request.

use crate::helpers::{set_new_per_day, spawn_app};
use studyhall::study::learner;

#[tokio::test]
async fn a_learner_loads_from_a_user_id_with_the_sessions_limits_and_decks() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let student = app.other_browser();
    student.register_ok("ada").await;
    set_new_per_day(&student, "7").await;
    let pool = app.pool().await;
    let admin_id = app.user_id("admin").await;
    let private: i64 = sqlx::query_scalar(
        "INSERT INTO decks (name, owner_id, public, created_at) VALUES ('Private', $1, 0, 0)
         RETURNING id",
    )
    .bind(admin_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let ada = app.user_id("ada").await;
    let now = app.clock().now();
    let reader = app.db().await.reader();

    let learner = learner::load(reader, ada, now).await.unwrap().expect("ada");
    assert_eq!(learner.id, ada);
    assert_eq!(learner.new_per_day, 7);
    assert!(learner.can_see(1), "the course deck is public");
    assert!(!learner.can_see(private), "another's private deck is not");
    let visible = learner.visible_decks().expect("not every deck");
    assert!(!visible.contains(&private.to_string()), "{visible}");
    assert!(visible.starts_with("[1,"), "{visible}");
    let admin = learner::load(reader, admin_id, now)
        .await
        .unwrap()
        .expect("admin");
    assert!(admin.can_see(private), "an admin sees every deck");
    assert_eq!(admin.visible_decks(), None, "and reads them unfiltered");

    assert!(learner::load(reader, 9_999, now).await.unwrap().is_none());
    sqlx::query("UPDATE users SET disabled = 1 WHERE id = $1")
        .bind(ada)
        .execute(&pool)
        .await
        .unwrap();
    assert!(
        learner::load(reader, ada, now).await.unwrap().is_none(),
        "a disabled account has no learner"
    );
}
