//! Background jobs (`studyhall::jobs`) on the store itself: claimed once however many runners
//! share it, taken again when their server stops answering, shown with their place in the
//! queue. The runners here are the servers' own, with test kinds of job.

use crate::helpers::{fresh_store, new_postgres_database, require_postgres};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use studyhall::clock::Clock;
use studyhall::db::{Db, Location};
use studyhall::jobs::{Job, Progress, Queue, Runner, Status};
use studyhall::study::fits::{FitJobs, FitOf, FitStatus};

/// Runners look for other runners' jobs this often here.
const POLL: Duration = Duration::from_millis(10);

/// A fresh store of the suite's backend.
async fn store() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(fresh_store(&dir).await).await.unwrap();
    (dir, db)
}

/// Waits (up to 10 s) until `check` holds.
async fn until<F: Future<Output = bool>>(what: &str, check: impl Fn() -> F) {
    for _ in 0..1000 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
}

async fn count(db: &Db, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(db.reader())
        .await
        .unwrap()
}

/// Runs of each job, by key.
type Runs = Arc<Mutex<HashMap<String, usize>>>;

/// A handler that counts its runs and takes a few milliseconds.
fn counting(
    runs: &Runs,
) -> impl Fn(Job, Progress) -> std::pin::Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>
+ Send
+ Sync
+ 'static {
    let runs = runs.clone();
    move |job: Job, _| {
        let runs = runs.clone();
        Box::pin(async move {
            *runs.lock().unwrap().entry(job.key).or_default() += 1;
            tokio::time::sleep(Duration::from_millis(3)).await;
            Ok(())
        })
    }
}

/// Two servers' runners (each its own pool on the store, two places each) and twenty jobs:
/// every job runs once, and is recorded done.
async fn two_runners_run_each_job_once(location: Location) {
    let a = Db::open(location.clone()).await.unwrap();
    let b = Db::open(location).await.unwrap();
    let queue = Queue::new(a.clone(), 2);
    for key in 0..20 {
        assert!(
            queue
                .enqueue("count", &key.to_string(), "{}")
                .await
                .unwrap()
        );
    }
    let runs = Runs::default();
    let first = Runner::new(queue, "server-a")
        .handle("count", counting(&runs))
        .polling_every(POLL)
        .spawn();
    let second = Runner::new(Queue::new(b.clone(), 2), "server-b")
        .handle("count", counting(&runs))
        .polling_every(POLL)
        .spawn();
    until("all twenty jobs are done", || async {
        count(&a, "SELECT COUNT(*) FROM jobs WHERE state = 'done'").await == 20
    })
    .await;
    first.stop().await;
    second.stop().await;
    let runs = runs.lock().unwrap().clone();
    assert_eq!(runs.len(), 20, "{runs:?}");
    assert!(runs.values().all(|&n| n == 1), "each ran once: {runs:?}");
    let claimed_once = count(&a, "SELECT COUNT(*) FROM jobs WHERE attempts = 1").await;
    assert_eq!(claimed_once, 20, "each was claimed once");
    let servers: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT claimed_by FROM jobs ORDER BY claimed_by")
            .fetch_all(a.reader())
            .await
            .unwrap();
    assert!(!servers.is_empty() && servers.iter().all(|s| s.starts_with("server-")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runners_on_one_sqlite_file_run_each_of_twenty_jobs_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    two_runners_run_each_job_once(Location::File(dir.path().join("site.db"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn two_runners_on_one_postgres_database_run_each_of_twenty_jobs_exactly_once() {
    let server = require_postgres();
    let url = new_postgres_database(&server).await;
    two_runners_run_each_job_once(Location::Postgres(url)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_server_stopped_answering_is_taken_again_once_its_lease_has_run_out() {
    let (_dir, db) = store().await;
    let clock = Clock::system();
    let queue = Queue::new(db.clone(), 1).with_clock(clock.clone());
    assert!(queue.enqueue("count", "only", "{}").await.unwrap());
    // A server takes it, then stops answering: it never renews its lease.
    let now = clock.now().as_millisecond();
    let lease = i64::try_from(studyhall::jobs::LEASE.as_millis()).unwrap();
    let dead = studyhall::db::jobs::claim(db.writer(), "dead", ",count,", now, now + lease)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dead.attempts, 1);
    let runs = Runs::default();
    let alive = Runner::new(queue.clone(), "alive")
        .handle("count", counting(&runs))
        .polling_every(POLL)
        .spawn();
    // While the lease holds, the job is the silent server's.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(runs.lock().unwrap().is_empty());
    assert!(matches!(
        queue.status("count", "only").await.unwrap(),
        Some(Status::Running { .. })
    ));
    clock.advance(studyhall::jobs::LEASE.as_secs() as i64 + 1);
    until("the job is done", || async {
        queue.status("count", "only").await.unwrap().is_none()
    })
    .await;
    alive.stop().await;
    assert_eq!(runs.lock().unwrap().get("only"), Some(&1));
    let (state, by, attempts, error) = studyhall::db::jobs::state_of(db.reader(), dead.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (state.as_str(), by.as_deref(), attempts, error),
        ("done", Some("alive"), 2, None)
    );
    // The silent server, back, changes nothing: the job is no longer its claim.
    let later = clock.now().as_millisecond();
    assert!(
        !studyhall::db::jobs::heartbeat(db.writer(), &dead, "dead", later + lease, (1, 1))
            .await
            .unwrap()
    );
    assert!(
        !studyhall::db::jobs::finish(db.writer(), &dead, "dead", later, Some("late"))
            .await
            .unwrap()
    );
    let (state, ..) = studyhall::db::jobs::state_of(db.reader(), dead.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state, "done");
}

#[tokio::test]
async fn a_job_that_kills_its_server_every_time_fails_after_its_last_try() {
    let (_dir, db) = store().await;
    let queue = Queue::new(db.clone(), 1);
    assert!(queue.enqueue("count", "doomed", "{}").await.unwrap());
    let mut now = jiff::Timestamp::now().as_millisecond();
    for attempt in 1..=studyhall::jobs::MAX_ATTEMPTS {
        let claimed = studyhall::db::jobs::claim(db.writer(), "dead", ",count,", now, now + 10)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claimed.attempts, attempt);
        now += 20;
        let mut tx = db.begin_write().await.unwrap();
        studyhall::db::jobs::requeue_expired(&mut tx, now, studyhall::jobs::MAX_ATTEMPTS)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let none = studyhall::db::jobs::claim(db.writer(), "dead", ",count,", now, now + 10)
        .await
        .unwrap();
    assert!(none.is_none(), "{none:?}");
    let failed = count(&db, "SELECT COUNT(*) FROM jobs WHERE state = 'failed'").await;
    assert_eq!(failed, 1);
    // Asked for again, it is a new job.
    assert!(queue.enqueue("count", "doomed", "{}").await.unwrap());
}

#[tokio::test]
async fn asking_for_the_same_fit_twice_queues_one_job() {
    let (_dir, db) = store().await;
    // No runner: what is asked for stays queued.
    let fits = FitJobs::new(Queue::new(db.clone(), 1));
    let now = jiff::Timestamp::now();
    assert!(fits.start(FitOf::Class(7), now).await.unwrap());
    assert!(!fits.start(FitOf::Class(7), now).await.unwrap());
    // A student's fit of the same id is another job.
    assert!(fits.start(FitOf::Student(7), now).await.unwrap());
    assert!(!fits.start(FitOf::Student(7), now).await.unwrap());
    assert_eq!(count(&db, "SELECT COUNT(*) FROM jobs").await, 2);
    assert_eq!(
        fits.status(FitOf::Class(7)).await.unwrap(),
        Some(FitStatus::Queued { ahead: 0 })
    );
    assert_eq!(
        fits.status(FitOf::Student(7)).await.unwrap(),
        Some(FitStatus::Queued { ahead: 1 })
    );
    assert_eq!(fits.status(FitOf::Class(8)).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_jobs_show_their_place_at_most_the_cap_run_and_all_finish() {
    let (_dir, db) = store().await;
    let queue = Queue::new(db.clone(), 2);
    let mut release = HashMap::new();
    let waits = Arc::new(Mutex::new(HashMap::new()));
    for key in 0..5 {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        release.insert(key.to_string(), tx);
        waits.lock().unwrap().insert(key.to_string(), rx);
        assert!(queue.enqueue("hold", &key.to_string(), "{}").await.unwrap());
    }
    assert!(!queue.enqueue("hold", "4", "{}").await.unwrap());
    let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (r, m) = (running.clone(), most.clone());
    let runner = Runner::new(queue.clone(), "server")
        .handle("hold", move |job: Job, progress: Progress| {
            let wait = waits.lock().unwrap().remove(&job.key);
            let (running, most) = (r.clone(), m.clone());
            async move {
                use std::sync::atomic::Ordering::SeqCst;
                most.fetch_max(running.fetch_add(1, SeqCst) + 1, SeqCst);
                progress.set(3, 10);
                if let Some(wait) = wait {
                    let _ = wait.await;
                }
                running.fetch_sub(1, SeqCst);
                if job.key == "3" {
                    anyhow::bail!("nothing to fit on");
                }
                Ok(())
            }
        })
        .polling_every(POLL)
        .spawn();
    let status = |key: &'static str| {
        let queue = queue.clone();
        async move { queue.status("hold", key).await.unwrap() }
    };
    // The progress a running job reports reaches the store (at most once a second).
    until("the first two run and show their progress", || async {
        status("0").await == Some(Status::Running { done: 3, total: 10 })
            && status("1").await == Some(Status::Running { done: 3, total: 10 })
    })
    .await;
    assert_eq!(status("2").await, Some(Status::Queued { ahead: 2 }));
    assert_eq!(status("4").await, Some(Status::Queued { ahead: 4 }));
    // The first to finish lets the longest-waiting one start.
    release.remove("1").unwrap().send(()).unwrap();
    until("job 2 runs", || async {
        matches!(status("2").await, Some(Status::Running { .. }))
    })
    .await;
    assert_eq!(status("1").await, None);
    assert_eq!(status("3").await, Some(Status::Queued { ahead: 2 }));
    for (_, tx) in release.drain() {
        let _ = tx.send(());
    }
    until("every job ended", || async {
        count(
            &db,
            "SELECT COUNT(*) FROM jobs WHERE state IN ('done', 'failed')",
        )
        .await
            == 5
    })
    .await;
    runner.stop().await;
    assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 2);
    let failed: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT key, error FROM jobs WHERE state = 'failed'")
            .fetch_all(db.reader())
            .await
            .unwrap();
    assert_eq!(
        failed,
        vec![("3".to_owned(), Some("nothing to fit on".to_owned()))]
    );
}
