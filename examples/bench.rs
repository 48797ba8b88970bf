//! Load benchmark: seeds a database of U users x C cards with review history, starts the
//! release server as its own process and drives it over HTTP/1.1 keep-alive with N concurrent
//! simulated students, each with its own session. Prints figures; asserts nothing.
//!
//! Run it with `scripts/bench` (which builds the release binaries first), e.g.
//! `scripts/bench --users 10000 --clients 64 --seconds 10`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;
use reqwest::{Client, StatusCode};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use studyhall::db::Location;
use studyhall::srs::day::StudyCalendar;

#[derive(Parser)]
struct Args {
    /// Seeded students.
    #[arg(long, default_value_t = 1000)]
    users: i64,
    /// Cards in the benchmark deck.
    #[arg(long, default_value_t = 500)]
    cards: i64,
    /// Concurrent simulated students.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds per phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds of the grades phase (default: --seconds). A long one needs enough due cards:
    /// each seeded student has about 225, and the phase grades each (student, card) once.
    #[arg(long)]
    grade_seconds: Option<u64>,
    /// Every student on FSRS instead of SM-2.
    #[arg(long)]
    fsrs: bool,
    /// Review history of the one heavy user whose /stats is measured.
    #[arg(long, default_value_t = 10_000)]
    heavy_reviews: i64,
    /// The server binary (default: `studyhall` beside this example's folder).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Keep the database here instead of a temporary folder; or a `postgres://` URL of a
    /// server, on which the benchmark creates a database of its own (and drops it after).
    #[arg(long)]
    database: Option<Location>,
    /// App servers on the one database (PostgreSQL: each request goes to the next one, as a
    /// round-robin load balancer sends them).
    #[arg(long, default_value_t = 1)]
    servers: usize,
    /// Instead of the usual phases: one student with this many studied cards switches
    /// scheduler (SM-2 to FSRS and back, `--switches` times in all) while the other clients
    /// grade; prints each switch's time and the others' grade latency, alone and beside it.
    #[arg(long, default_value_t = 0)]
    switch_cards: i64,
    /// Switches in the switch mode.
    #[arg(long, default_value_t = 4)]
    switches: usize,
    /// Every bench card formatted (HTML) with bold text and an image on its front, the image
    /// one stored file (issue 24): the review page of a card with an image, against the
    /// plain-text default; adds a phase that fetches the image itself.
    #[arg(long)]
    image: bool,
    /// Instead of the usual phases: this many students (`--users` is set to it) each with a
    /// confirmed address and a daily reminder due now; measures /review while the servers'
    /// reminders' pass writes them and their senders send them to a real SMTP server, and
    /// with no reminders due, in turn (`--rounds` of each). Needs the SMTP server that
    /// `scripts/with-smtp scripts/bench --reminders 10000` starts.
    #[arg(long, default_value_t = 0)]
    reminders: i64,
    /// Rounds of each condition in the reminders mode.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// The longest a reminders run may take before the mode gives up, in seconds.
    #[arg(long, default_value_t = 900)]
    reminder_timeout: u64,
    /// Only /healthz and the grades phase (to compare two server builds' grade rates).
    #[arg(long)]
    grades_only: bool,
}

/// The image every bench card shows with `--image`: a 64 by 48 PNG header and 4 KiB.
fn bench_image() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend(64u32.to_be_bytes());
    b.extend(48u32.to_be_bytes());
    b.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
    b.extend(std::iter::repeat_n(7u8, 4096));
    b
}

/// The app servers' base URLs; shown, it is the next one in turn.
struct Servers {
    urls: Vec<String>,
    next: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Display for Servers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        f.write_str(&self.urls[i % self.urls.len()])
    }
}

/// A new database on the PostgreSQL server at `url`, as a URL.
async fn new_postgres_database(url: &str) -> String {
    use sqlx::Connection;
    let name = format!("bench_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    for statement in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let base = url.rsplit_once('/').map_or(url, |(base, _)| base);
    format!("{base}/{name}")
}

const DAY: i64 = 86_400;

fn token(user: i64) -> String {
    format!("{:064x}", 0xbe4c_0000_0000_u64 + user as u64)
}

fn csrf(user: i64) -> String {
    format!("{:064x}", 0xc5f0_0000_0000_u64 + user as u64)
}

fn cookie(user: i64) -> String {
    format!("studyhall_session={}", token(user))
}

/// Seeds everything with set-based SQL; returns (heavy user id, due (user, card) pairs).
async fn seed(db: &Location, a: &Args, today: i32) -> (i64, Vec<(i64, i64)>) {
    let pool = studyhall::db::connect(db).await.unwrap();
    let now = jiff::Timestamp::now().as_second();
    studyhall::course::seed_on_first_start(&pool, now)
        .await
        .unwrap();
    let hash = studyhall::auth::password::hash_blocking("bench password").unwrap();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $1)
         INSERT INTO users (username, password_hash, role, created_at)
         SELECT 'bench' || n, $2, 'student', $3 FROM seq",
    )
    .bind(a.users)
    .bind(&hash)
    .bind(now)
    .execute(&mut *tx)
    .await
    .unwrap();
    let heavy: i64 = sqlx::query_scalar(
        "INSERT INTO users (username, password_hash, role, created_at)
         VALUES ('heavy', $1, 'student', $2) RETURNING id",
    )
    .bind(&hash)
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    let deck: i64 = sqlx::query_scalar(
        "INSERT INTO decks (name, created_at) VALUES ('Bench deck', $1) RETURNING id",
    )
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    if a.image {
        let image = bench_image();
        let hash = studyhall::media::hash(&image);
        sqlx::query(
            "INSERT INTO media (hash, content_type, bytes, size, created_at)
             VALUES ($1, 'image/png', $2, $3, $4)",
        )
        .bind(&hash)
        .bind(&image)
        .bind(image.len() as i64)
        .bind(now)
        .execute(&mut *tx)
        .await
        .unwrap();
        sqlx::query(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $1)
             INSERT INTO cards (deck_id, front, back, position, created_at, updated_at, format)
             SELECT $2, '<b>Bench question ' || n || '</b><br><img src=\"/media/' || $4
                        || '\" alt=\"A diagram\">',
                    'Bench answer ' || n, n, $3, $3, 'html' FROM seq",
        )
        .bind(a.cards)
        .bind(deck)
        .bind(now)
        .bind(&hash)
        .execute(&mut *tx)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO card_media (card_id, hash) SELECT id, $2 FROM cards WHERE deck_id = $1",
        )
        .bind(deck)
        .bind(&hash)
        .execute(&mut *tx)
        .await
        .unwrap();
    } else {
        sqlx::query(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $1)
             INSERT INTO cards (deck_id, front, back, position, created_at, updated_at)
             SELECT $2, 'Bench question ' || n, 'Bench answer ' || n, n, $3, $3 FROM seq",
        )
        .bind(a.cards)
        .bind(deck)
        .bind(now)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    // 90% of the cards have a schedule; half of those are due (up to a week overdue).
    sqlx::query(
        "INSERT INTO review_states (user_id, card_id, repetitions, easiness_hundredths,
             interval_days, due_day, lapses, last_reviewed_at)
         SELECT u.id, c.id, 2, 250, 6,
                CASE WHEN c.position % 2 = 0 THEN $2 - (c.position % 7)
                     ELSE $2 + 1 + (c.position % 30) END,
                0, $3
         FROM users u JOIN cards c ON c.deck_id = $1
         WHERE substr(u.username, 1, 5) = 'bench' AND c.position <= $4 * 9 / 10",
    )
    .bind(deck)
    .bind(today)
    .bind(now - 6 * DAY)
    .bind(a.cards)
    .execute(&mut *tx)
    .await
    .unwrap();
    // Two past grades per scheduled card: the history.
    sqlx::query(
        "INSERT INTO reviews (user_id, card_id, kind, reviewed_at, study_day, quality,
             repetitions_before, easiness_before, interval_before, due_day_before, lapses_before,
             last_reviewed_before, repetitions_after, easiness_after, interval_after, due_day_after)
         SELECT s.user_id, s.card_id, 'grade', $2 - k.k * 7 * 86400, $1 - k.k * 7,
                3 + (s.card_id + k.k) % 3, k.k - 1, 250, 1, $1 - k.k * 7, 0, $2, k.k, 250, 6, $1
         FROM review_states s, (SELECT 1 AS k UNION ALL SELECT 2) k",
    )
    .bind(today)
    .bind(now)
    .execute(&mut *tx)
    .await
    .unwrap();
    // The heavy user: a year of history over the deck.
    sqlx::query(
        "WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < $1 - 1)
         INSERT INTO reviews (user_id, card_id, kind, reviewed_at, study_day, quality,
             repetitions_before, easiness_before, interval_before, due_day_before, lapses_before,
             last_reviewed_before, repetitions_after, easiness_after, interval_after, due_day_after)
         SELECT $2, (SELECT MIN(id) FROM cards WHERE deck_id = $3) + n % $4, 'grade',
                $5 - (n % 365) * 86400, $6 - n % 365, 2 + n % 4, 3, 250, 25, $6, 0, $5, 4, 250,
                60, $6 + 60
         FROM seq",
    )
    .bind(a.heavy_reviews)
    .bind(heavy)
    .bind(deck)
    .bind(a.cards)
    .bind(now)
    .bind(today)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO review_states (user_id, card_id, repetitions, easiness_hundredths,
             interval_days, due_day, lapses, last_reviewed_at)
         SELECT $1, id, 3, 250, 30, $2 + position % 30, 1, $3 FROM cards WHERE deck_id = $4",
    )
    .bind(heavy)
    .bind(today)
    .bind(now)
    .bind(deck)
    .execute(&mut *tx)
    .await
    .unwrap();
    // A live session per user, so the load needs no logins (argon2 would dominate).
    let users: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM users WHERE substr(username, 1, 5) = 'bench' OR username = 'heavy'",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    for id in users {
        let hash = studyhall::auth::session::token_hash(&token(id));
        studyhall::db::sessions::create(&mut *tx, &hash, id, &csrf(id), now, now + 30 * DAY)
            .await
            .unwrap();
    }
    if a.fsrs {
        // Every student on FSRS, each schedule with a memory as if FSRS had set it.
        sqlx::query("UPDATE users SET scheduler = 'fsrs', desired_retention = 90")
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query(
            "UPDATE review_states SET difficulty = 5.0,
                 stability = CASE WHEN interval_days > 1 THEN interval_days ELSE 1 END",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    studyhall::db::stats::rebuild_review_days(&pool)
        .await
        .unwrap();
    if matches!(db, Location::File(_)) {
        // The switch mode measures the site as it runs: the server never analyzes, and with
        // statistics SQLite's planner may choose another plan for a rewrite than it does on a
        // real site (the old quadratic one, found by the index on user_id, was its choice
        // without them).
        if a.switch_cards == 0 {
            sqlx::query("PRAGMA optimize").execute(&pool).await.unwrap();
        }
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&pool)
            .await
            .unwrap();
    } else {
        // The seed's set-based inserts fire the tally triggers once per row: 450,000 updates
        // leave old row versions no running site holds at once (autovacuum removes them
        // within minutes). Measure the site as it runs, not the minute after a bulk load.
        sqlx::query("VACUUM (ANALYZE)")
            .execute(&pool)
            .await
            .unwrap();
    }
    let due: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT s.user_id, s.card_id FROM review_states s JOIN users u ON u.id = s.user_id
         WHERE substr(u.username, 1, 5) = 'bench' AND s.due_day <= $1 ORDER BY s.card_id, s.user_id",
    )
    .bind(today)
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    (heavy, due)
}

/// The switch mode's student: `cards` cards of a deck of their own, each with three standing
/// grades long ago and a schedule, and a live session. Returns their id.
async fn seed_switcher(db: &Location, cards: i64, today: i32) -> i64 {
    let pool = studyhall::db::connect(db).await.unwrap();
    let now = jiff::Timestamp::now().as_second();
    let mut tx = pool.begin().await.unwrap();
    let user: i64 = sqlx::query_scalar(
        "INSERT INTO users (username, password_hash, role, created_at)
         VALUES ('switcher', 'x', 'student', $1) RETURNING id",
    )
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    let deck: i64 = sqlx::query_scalar(
        "INSERT INTO decks (name, created_at) VALUES ('Switch deck', $1) RETURNING id",
    )
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $1)
         INSERT INTO cards (deck_id, front, back, position, created_at, updated_at)
         SELECT $2, 'Switch question ' || n, 'Switch answer ' || n, n, $3, $3 FROM seq",
    )
    .bind(cards)
    .bind(deck)
    .bind(now)
    .execute(&mut *tx)
    .await
    .unwrap();
    // Three grades a card (one statement each, so ids follow the days), a year ago and more.
    let first = i64::from(today) - 400;
    for (k, offset) in [0_i64, 1, 7].into_iter().enumerate() {
        sqlx::query(
            "INSERT INTO reviews (user_id, card_id, kind, reviewed_at, study_day, quality)
             SELECT $1, id, 'grade', ($2 + $3) * 86400, $2 + $3, 3 + (id + $4) % 3
             FROM cards WHERE deck_id = $5 ORDER BY id",
        )
        .bind(user)
        .bind(first)
        .bind(offset)
        .bind(k as i64)
        .bind(deck)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO review_states (user_id, card_id, repetitions, easiness_hundredths,
             interval_days, due_day, lapses, last_reviewed_at, graded_day)
         SELECT $1, id, 3, 250, 6, $2 + 13, 0, ($2 + 7) * 86400, $2 + 7
         FROM cards WHERE deck_id = $3",
    )
    .bind(user)
    .bind(first)
    .bind(deck)
    .execute(&mut *tx)
    .await
    .unwrap();
    let hash = studyhall::auth::session::token_hash(&token(user));
    studyhall::db::sessions::create(&mut *tx, &hash, user, &csrf(user), now, now + 30 * DAY)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    studyhall::db::stats::rebuild_review_days(&pool)
        .await
        .unwrap();
    pool.close().await;
    user
}

/// The switch mode: the clients grade (the first half of the due pairs) alone for
/// `seconds`, then again (the second half) while the switcher changes scheduler `switches`
/// times, one after the other. Prints each switch's time and both grade latencies.
async fn switch_mode(base: Arc<Servers>, a: &Args, switcher: i64, due: Vec<(i64, i64)>) {
    let clients = a.clients.max(1);
    let half = due.len() / 2;
    let due = Arc::new(due);
    let b = base.clone();
    let shared = due.clone();
    let (alone, t_alone) = phase(clients, a.seconds, move |i, n, c, mut s| {
        let (user, card) = shared[(i + n * clients) % half];
        let url = format!("{b}/review/{card}");
        let form = [("csrf_token", csrf(user)), ("quality", "4".to_owned())];
        async move {
            let request = c.post(url).header("cookie", cookie(user)).form(&form);
            timed(
                &mut s,
                "POST /review/{card}",
                request,
                StatusCode::SEE_OTHER,
            )
            .await;
            s
        }
    })
    .await;

    let stop = Arc::new(AtomicBool::new(false));
    let mut graders = Vec::new();
    for i in 0..clients {
        let (stop, due, b) = (stop.clone(), due.clone(), base.clone());
        graders.push(tokio::spawn(async move {
            let c = Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut s = Samples::default();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let (user, card) = due[half + (i + n * clients) % (due.len() - half)];
                let form = [("csrf_token", csrf(user)), ("quality", "4".to_owned())];
                let request = c
                    .post(format!("{b}/review/{card}"))
                    .header("cookie", cookie(user))
                    .form(&form);
                timed(
                    &mut s,
                    "POST /review/{card}",
                    request,
                    StatusCode::SEE_OTHER,
                )
                .await;
                n += 1;
            }
            s
        }));
    }
    // Let the graders reach their pace, then switch.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let c = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut switches = Vec::new();
    for k in 0..a.switches {
        let scheduler = if k % 2 == 0 { "fsrs" } else { "sm2" };
        let form = [
            ("csrf_token", csrf(switcher)),
            ("scheduler", scheduler.to_owned()),
            ("desired_retention", "90".to_owned()),
        ];
        let t = Instant::now();
        let response = c
            .post(format!("{base}/account/scheduler"))
            .header("cookie", cookie(switcher))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "switching to {scheduler}"
        );
        switches.push((scheduler, t.elapsed().as_secs_f64() * 1000.0));
    }
    let t_beside = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut beside = Samples::default();
    for g in graders {
        beside.merge(g.await.unwrap());
    }

    println!();
    println!("| switch | to | ms |");
    println!("| ---: | --- | ---: |");
    for (k, (to, ms)) in switches.iter().enumerate() {
        println!("| {} | {to} | {ms:.0} |", k + 1);
    }
    println!();
    println!("| others' grades | requests | req/s | p50 ms | p99 ms | max ms |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (label, samples, seconds) in [
        ("alone", alone, t_alone),
        ("while switching", beside, t_beside),
    ] {
        for r in rows("switch", samples, seconds) {
            println!(
                "| {label} | {} | {:.0} | {:.2} | {:.2} | {:.2} |",
                r.count, r.rps, r.p50, r.p99, r.max
            );
        }
    }
    let worst = switches.iter().map(|s| s.1).fold(0.0, f64::max);
    println!();
    println!(
        "a student with {} studied cards switches scheduler in at most {worst:.0} ms",
        a.switch_cards
    );
}

/// Latencies in microseconds per endpoint.
#[derive(Default)]
struct Samples(BTreeMap<&'static str, Vec<u32>>);

impl Samples {
    fn merge(&mut self, other: Samples) {
        for (k, mut v) in other.0 {
            self.0.entry(k).or_default().append(&mut v);
        }
    }
}

async fn timed(
    samples: &mut Samples,
    name: &'static str,
    request: reqwest::RequestBuilder,
    expect: StatusCode,
) {
    let started = Instant::now();
    let response = request.send().await.expect("request failed");
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status != expect {
        let message = body
            .split("class=\"message\">")
            .nth(1)
            .unwrap_or(&body)
            .split('<')
            .next()
            .unwrap_or("");
        panic!("{name}: expected {expect}, got {status}: {message}");
    }
    let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
    samples.0.entry(name).or_default().push(micros);
}

/// Runs `clients` concurrent loops for `seconds`; each iteration calls `step(client, n, ...)`.
async fn phase<F, Fut>(clients: usize, seconds: u64, step: F) -> (Samples, f64)
where
    F: Fn(usize, usize, Client, Samples) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Samples> + Send,
{
    let (samples, seconds, ()) = phase_until(
        clients,
        tokio::time::sleep(Duration::from_secs(seconds)),
        step,
    )
    .await;
    (samples, seconds)
}

/// Runs `clients` concurrent loops until `until` completes; returns its output too.
async fn phase_until<F, Fut, T>(
    clients: usize,
    until: impl std::future::Future<Output = T>,
    step: F,
) -> (Samples, f64, T)
where
    F: Fn(usize, usize, Client, Samples) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Samples> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let step = Arc::new(step);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..clients {
        let (stop, step) = (stop.clone(), step.clone());
        tasks.push(tokio::spawn(async move {
            // One keep-alive connection per simulated student.
            let client = Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut samples = Samples::default();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                samples = step(i, n, client.clone(), samples).await;
                n += 1;
            }
            samples
        }));
    }
    let output = until.await;
    stop.store(true, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    let mut all = Samples::default();
    for t in tasks {
        all.merge(t.await.unwrap());
    }
    (all, seconds, output)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[index.min(sorted.len() - 1)]) / 1000.0
}

struct Row {
    phase: &'static str,
    endpoint: &'static str,
    count: usize,
    rps: f64,
    p50: f64,
    p99: f64,
    max: f64,
    /// The server's CPU time and context switches per request over the whole phase.
    cpu_us: f64,
    switches: f64,
}

/// The server's CPU time (µs, user + system, all threads) and context switches (voluntary
/// and not, summed over its threads) so far, from /proc.
fn server_cost(pids: &[u32]) -> (f64, f64) {
    pids.iter()
        .map(|&pid| one_server_cost(pid))
        .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1))
}

fn one_server_cost(pid: u32) -> (f64, f64) {
    let ticks_per_second = 100.0; // USER_HZ on Linux
    let cpu = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // Fields after the command name, which is in parentheses and may hold spaces.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / ticks_per_second * 1e6)
        })
        .unwrap_or(f64::NAN);
    let mut switches = 0.0;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
            for line in status.lines() {
                if line.starts_with("voluntary_ctxt_switches:")
                    || line.starts_with("nonvoluntary_ctxt_switches:")
                {
                    switches += line
                        .split_whitespace()
                        .nth(1)
                        .and_then(|n| n.parse::<f64>().ok())
                        .unwrap_or(0.0);
                }
            }
        }
    }
    (cpu, switches)
}

/// Rows of one phase with the server's cost spread over all of the phase's requests.
/// (Threads that ended during the phase take their switches with them; the server's threads
/// live as long as it does.)
fn costed(mut rows: Vec<Row>, before: (f64, f64), after: (f64, f64)) -> Vec<Row> {
    let requests: usize = rows.iter().map(|r| r.count).sum();
    let per = |x: f64| x / requests.max(1) as f64;
    for r in &mut rows {
        r.cpu_us = per(after.0 - before.0);
        r.switches = per(after.1 - before.1);
    }
    rows
}

fn rows(phase: &'static str, samples: Samples, seconds: f64) -> Vec<Row> {
    samples
        .0
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(endpoint, mut v)| {
            v.sort_unstable();
            Row {
                phase,
                endpoint,
                count: v.len(),
                rps: v.len() as f64 / seconds,
                p50: percentile(&v, 0.50),
                p99: percentile(&v, 0.99),
                max: percentile(&v, 1.0),
                cpu_us: f64::NAN,
                switches: f64::NAN,
            }
        })
        .collect()
}

fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() {
    // reqwest is built without a TLS provider of its own (`http_client`).
    studyhall::http_client::install_crypto_provider();
    let mut a = Args::parse();
    if a.reminders > 0 {
        a.users = a.reminders;
    }
    let dir = tempfile::tempdir().unwrap();
    let (db, admin_url) = match a.database.clone() {
        None => (Location::File(dir.path().join("bench.db")), None),
        Some(Location::File(path)) => (Location::File(path), None),
        Some(Location::Postgres(url)) => (
            Location::Postgres(new_postgres_database(&url).await),
            Some(url),
        ),
    };
    let db_arg = match &db {
        Location::File(path) => path.to_string_lossy().into_owned(),
        Location::Postgres(url) => url.clone(),
    };
    let server = a.server.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .unwrap()
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("studyhall")
    });
    let today = StudyCalendar::new(jiff::tz::TimeZone::UTC, 4).day_of(jiff::Timestamp::now());

    let seeding = Instant::now();
    let (heavy, due) = seed(&db, &a, today).await;
    let switcher = if a.switch_cards > 0 {
        Some(seed_switcher(&db, a.switch_cards, today).await)
    } else {
        None
    };
    let seed_secs = seeding.elapsed().as_secs_f64();
    let history: i64 = {
        let pool = studyhall::db::connect(&db).await.unwrap();
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM reviews")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    };

    if a.reminders > 0 {
        reminders_mode(&a, &db, &db_arg, &server).await;
        drop_postgres_database(&admin_url, &db).await;
        return;
    }
    let (children, urls) = start_servers(&server, &db_arg, a.servers, &[]).await;
    let pids: Vec<u32> = children.iter().map(|c| c.id()).collect();
    let pid = pids.as_slice();
    let base = Arc::new(Servers {
        urls,
        next: std::sync::atomic::AtomicUsize::new(0),
    });

    println!(
        "studyhall benchmark: {} users x {} cards, {history} review rows, {} clients, {} s per phase",
        a.users, a.cards, a.clients, a.seconds
    );
    println!(
        "server: {} x {} on {}",
        server.display(),
        pids.len(),
        match &db {
            Location::File(_) => "SQLite",
            Location::Postgres(_) => "PostgreSQL",
        }
    );
    if let Some(switcher) = switcher {
        switch_mode(base.clone(), &a, switcher, due).await;
        for mut child in children {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        drop_postgres_database(&admin_url, &db).await;
        return;
    }
    let mut table = Vec::new();
    let (users, clients, seconds) = (a.users, a.clients, a.seconds);

    let b = base.clone();
    let before = server_cost(pid);
    let (s, t) = phase(clients, seconds, move |_, _, c, mut s| {
        let url = format!("{b}/healthz");
        async move {
            timed(&mut s, "GET /healthz", c.get(url), StatusCode::OK).await;
            s
        }
    })
    .await;
    table.extend(costed(rows("alone", s, t), before, server_cost(pid)));

    let half_clients = (clients / 2).max(1);
    if !a.grades_only {
        let b = base.clone();
        let before = server_cost(pid);
        let (s, t) = phase(clients, seconds, move |i, n, c, mut s| {
            let user = 1 + ((i + n * clients) as i64 % users);
            let url = format!("{b}/review");
            async move {
                timed(
                    &mut s,
                    "GET /review",
                    c.get(url).header("cookie", cookie(user)),
                    StatusCode::OK,
                )
                .await;
                s
            }
        })
        .await;
        table.extend(costed(rows("alone", s, t), before, server_cost(pid)));

        if a.image {
            // The image itself, as each browser fetches it once (then keeps it: immutable).
            let b = base.clone();
            let hash = studyhall::media::hash(&bench_image());
            let before = server_cost(pid);
            let (s, t) = phase(clients, seconds, move |i, n, c, mut s| {
                let user = 1 + ((i + n * clients) as i64 % users);
                let url = format!("{b}/media/{hash}");
                async move {
                    timed(
                        &mut s,
                        "GET /media/{hash} (the card's image)",
                        c.get(url).header("cookie", cookie(user)),
                        StatusCode::OK,
                    )
                    .await;
                    s
                }
            })
            .await;
            table.extend(costed(rows("alone", s, t), before, server_cost(pid)));
        }

        // One student's page from every client (the queue of one student, read 64 at a time).
        let b = base.clone();
        let before = server_cost(pid);
        let (s, t) = phase(clients, seconds, move |_, _, c, mut s| {
            let url = format!("{b}/review");
            async move {
                timed(
                    &mut s,
                    "GET /review, one student",
                    c.get(url).header("cookie", cookie(1)),
                    StatusCode::OK,
                )
                .await;
                s
            }
        })
        .await;
        table.extend(costed(rows("alone", s, t), before, server_cost(pid)));

        // Half the connections, for the latency goal (p99 under 10 ms at 32).
        let b = base.clone();

        let before = server_cost(pid);
        let (s, t) = phase(half_clients, seconds, move |i, n, c, mut s| {
            let user = 1 + ((i + n * half_clients) as i64 % users);
            let url = format!("{b}/review");
            async move {
                timed(
                    &mut s,
                    "GET /review, half the clients",
                    c.get(url).header("cookie", cookie(user)),
                    StatusCode::OK,
                )
                .await;
                s
            }
        })
        .await;
        table.extend(costed(rows("alone", s, t), before, server_cost(pid)));
    }
    // Grades: the clients work through the first half of the due (user, card) pairs, each
    // pair once; the mixed phase takes the second half.
    // (With --grades-only, every pair.)
    let half = if a.grades_only {
        due.len()
    } else {
        due.len() / 2
    };
    let due = Arc::new(due);
    let b = base.clone();
    let shared = due.clone();
    let before = server_cost(pid);
    let grade_seconds = a.grade_seconds.unwrap_or(seconds);
    let (s, t) = phase(clients, grade_seconds, move |i, n, c, mut s| {
        let (user, card) = shared[(i + n * clients) % half];
        let url = format!("{b}/review/{card}");
        let form = [("csrf_token", csrf(user)), ("quality", "4".to_owned())];
        async move {
            let request = c.post(url).header("cookie", cookie(user)).form(&form);
            timed(
                &mut s,
                "POST /review/{card}",
                request,
                StatusCode::SEE_OTHER,
            )
            .await;
            s
        }
    })
    .await;
    table.extend(costed(rows("alone", s, t), before, server_cost(pid)));
    let wal_after_grades_mb = wal_mb(&db);

    if !a.grades_only {
        let b = base.clone();
        let before = server_cost(pid);
        let (s, t) = phase(clients, seconds, move |_, _, c, mut s| {
            let url = format!("{b}/stats");
            async move {
                let request = c.get(url).header("cookie", cookie(heavy));
                timed(&mut s, "GET /stats (10k reviews)", request, StatusCode::OK).await;
                s
            }
        })
        .await;
        table.extend(costed(rows("alone", s, t), before, server_cost(pid)));

        // The same page's latency for one student at a time, with nothing else running.
        let b = base.clone();
        let before = server_cost(pid);
        let (s, t) = phase(1, seconds, move |_, _, c, mut s| {
            let url = format!("{b}/stats");
            async move {
                let request = c.get(url).header("cookie", cookie(heavy));
                timed(
                    &mut s,
                    "GET /stats (10k reviews), 1 client",
                    request,
                    StatusCode::OK,
                )
                .await;
                s
            }
        })
        .await;
        table.extend(costed(rows("alone", s, t), before, server_cost(pid)));

        // A study session per student: see the card, grade it, now and then look at progress.
        let b = base.clone();
        let shared = due.clone();
        let before = server_cost(pid);
        let (s, t) = phase(clients, seconds, move |i, n, c, mut s| {
            let (user, card) = shared[half + (i + n * clients) % half];
            let b = b.clone();
            async move {
                let review = c.get(format!("{b}/review")).header("cookie", cookie(user));
                timed(&mut s, "GET /review", review, StatusCode::OK).await;
                let form = [("csrf_token", csrf(user)), ("quality", "4".to_owned())];
                let grade = c
                    .post(format!("{b}/review/{card}"))
                    .header("cookie", cookie(user))
                    .form(&form);
                timed(&mut s, "POST /review/{card}", grade, StatusCode::SEE_OTHER).await;
                if n % 10 == 0 {
                    let stats = c.get(format!("{b}/stats")).header("cookie", cookie(user));
                    timed(&mut s, "GET /stats", stats, StatusCode::OK).await;
                    timed(
                        &mut s,
                        "GET /healthz",
                        c.get(format!("{b}/healthz")),
                        StatusCode::OK,
                    )
                    .await;
                }
                s
            }
        })
        .await;
        table.extend(costed(rows("mixed", s, t), before, server_cost(pid)));
    }
    let rss = pids.iter().map(|&p| peak_rss_mb(p)).fold(0.0, f64::max);
    for mut child in children {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let size_mb = match &db {
        Location::File(path) => {
            ["", "-wal", "-shm"]
                .iter()
                .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", path.display())).ok())
                .map(|m| m.len())
                .sum::<u64>() as f64
                / 1_048_576.0
        }
        Location::Postgres(_) => {
            let pool = studyhall::db::connect(&db).await.unwrap();
            let bytes: i64 =
                sqlx::query_scalar("SELECT CAST(pg_database_size(current_database()) AS BIGINT)")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            pool.close().await;
            bytes as f64 / 1_048_576.0
        }
    };

    let wal_end_mb = wal_mb(&db);
    let healthz = table
        .iter()
        .find(|r| r.phase == "alone" && r.endpoint == "GET /healthz")
        .map_or(1.0, |r| r.rps);
    println!();
    println!(
        "| phase | endpoint | requests | req/s | vs /healthz | p50 ms | p99 ms | max ms | server CPU µs/req | switches/req |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in &table {
        println!(
            "| {} | {} | {} | {:.0} | {:.0}% | {:.2} | {:.2} | {:.2} | {:.0} | {:.1} |",
            r.phase,
            r.endpoint,
            r.count,
            r.rps,
            100.0 * r.rps / healthz,
            r.p50,
            r.p99,
            r.max,
            r.cpu_us,
            r.switches
        );
    }
    println!();
    println!("server peak RSS: {rss:.1} MB (the largest of the servers)");
    println!(
        "database size: {size_mb:.1} MB (write-ahead log after the grades: {wal_after_grades_mb:.1} MB, at the end: {wal_end_mb:.1} MB)"
    );
    println!("time to seed: {seed_secs:.1} s");

    // Issue 11's goals, each against this run's figure.
    let find = |phase: &str, endpoint: &str| {
        table
            .iter()
            .find(|r| r.phase == phase && r.endpoint == endpoint)
    };
    let share = |endpoint: &str| find("alone", endpoint).map_or(0.0, |r| 100.0 * r.rps / healthz);
    let mixed_p99 = table
        .iter()
        .filter(|r| r.phase == "mixed" && r.endpoint != "GET /healthz")
        .map(|r| r.p99)
        .fold(0.0, f64::max);
    let goals: [(String, String, bool); 7] = [
        (
            format!("/review, {users} students, at least 40% of /healthz"),
            format!("{:.0}%", share("GET /review")),
            share("GET /review") >= 40.0,
        ),
        (
            "/review, one student, at least 40% of /healthz".into(),
            format!("{:.0}%", share("GET /review, one student")),
            share("GET /review, one student") >= 40.0,
        ),
        (
            format!("/review p99 under 10 ms at {half_clients} connections"),
            find("alone", "GET /review, half the clients")
                .map_or("-".into(), |r| format!("{:.2} ms", r.p99)),
            find("alone", "GET /review, half the clients").is_some_and(|r| r.p99 < 10.0),
        ),
        (
            "grades at 10,000/s or more".into(),
            find("alone", "POST /review/{card}").map_or("-".into(), |r| format!("{:.0}/s", r.rps)),
            find("alone", "POST /review/{card}").is_some_and(|r| r.rps >= 10_000.0),
        ),
        (
            "write-ahead log bounded after the grades (under 32 MB)".into(),
            format!("{wal_after_grades_mb:.1} MB"),
            wal_after_grades_mb < 32.0,
        ),
        (
            format!("mixed session p99 under 20 ms at {clients} clients (worst endpoint)"),
            format!("{mixed_p99:.2} ms"),
            mixed_p99 < 20.0,
        ),
        (
            "peak RSS under 200 MB".into(),
            format!("{rss:.1} MB"),
            rss < 200.0,
        ),
    ];
    drop_postgres_database(&admin_url, &db).await;
    println!();
    println!("| goal | this run | |");
    println!("| --- | ---: | --- |");
    for (goal, figure, met) in goals {
        println!(
            "| {goal} | {figure} | {} |",
            if met { "met" } else { "missed" }
        );
    }
}

/// Starts `count` app servers on `db_arg` with the environment `envs`, each on a free port,
/// and waits until each answers.
async fn start_servers(
    server: &std::path::Path,
    db_arg: &str,
    count: usize,
    envs: &[(&str, String)],
) -> (Vec<std::process::Child>, Vec<String>) {
    let mut children = Vec::new();
    let mut urls = Vec::new();
    for _ in 0..count.max(1) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(server)
            .args(["--bind", &format!("127.0.0.1:{port}"), "--database", db_arg])
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", server.display()));
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if reqwest::get(format!("{url}/healthz")).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        children.push(child);
        urls.push(url);
    }
    (children, urls)
}

/// The reminders mode's SMTP server, from `scripts/with-smtp`: (port, maildir).
fn smtp_sink() -> (u16, PathBuf) {
    let port = std::env::var("STUDYHALL_TEST_SMTP_PORT")
        .expect(
            "the reminders mode sends to a real SMTP server: run it as \
             `scripts/with-smtp scripts/bench --reminders 10000`",
        )
        .parse()
        .unwrap();
    let dir = std::env::var("STUDYHALL_TEST_MAILDIR").expect("STUDYHALL_TEST_MAILDIR");
    (port, dir.into())
}

/// Messages the SMTP server has written to its maildir; `clear` deletes them.
fn maildir_count(dir: &std::path::Path, clear: bool) -> usize {
    let mut n = 0;
    for sub in ["new", "cur", "tmp"] {
        if let Ok(entries) = std::fs::read_dir(dir.join(sub)) {
            for entry in entries.flatten() {
                n += 1;
                if clear {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }
    n
}

/// Gives every seeded student a confirmed address and a daily reminder at 00:00 UTC (so one
/// is due whenever the benchmark runs, once per date).
async fn seed_addresses(db: &Location) {
    let pool = studyhall::db::connect(db).await.unwrap();
    let now = jiff::Timestamp::now().as_second();
    sqlx::query(
        "INSERT INTO mail_addresses (user_id, address, confirmed_at, created_at, remind_hour,
             remind_weekly, unsubscribe_token)
         SELECT id, username || '@bench.example.org', $1, $1, 0, 0, 'unsubscribe-' || id
         FROM users WHERE substr(username, 1, 5) = 'bench'",
    )
    .bind(now)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}

/// Empties the outbox, and makes every student's reminder due today (`due`) or sent today
/// already (the pass then reads them all and writes nothing, as it does once a minute on
/// most minutes of a real site's day).
async fn reset_reminders(db: &Location, due: bool) {
    let pool = studyhall::db::connect(db).await.unwrap();
    sqlx::query("DELETE FROM outbox")
        .execute(&pool)
        .await
        .unwrap();
    if due {
        sqlx::query("UPDATE mail_addresses SET reminded_day = NULL")
            .execute(&pool)
            .await
            .unwrap();
    } else {
        let today = studyhall::srs::day::day_number(
            jiff::Timestamp::now()
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date(),
        );
        sqlx::query("UPDATE mail_addresses SET reminded_day = $1")
            .bind(i64::from(today))
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
}

/// Reminder rows in the outbox: (written, sent).
async fn outbox_counts(pool: &studyhall::db::Pool) -> (i64, i64) {
    let written: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'reminder'")
        .fetch_one(pool)
        .await
        .unwrap();
    let sent: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'reminder' AND state = 'sent'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    (written, sent)
}

/// Waits until `done(written, sent)` holds (checking every 200 ms) or `timeout` has passed
/// since `started`; returns the seconds since `started` when it held.
async fn wait_for(
    db: Location,
    started: Instant,
    timeout: Duration,
    done: impl Fn(i64, i64) -> bool,
) -> Option<f64> {
    let pool = studyhall::db::connect(&db).await.unwrap();
    let at = loop {
        let (written, sent) = outbox_counts(&pool).await;
        if done(written, sent) {
            break Some(started.elapsed().as_secs_f64());
        }
        if started.elapsed() > timeout {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    pool.close().await;
    at
}

/// The reminders mode: a run with no reminder due (the servers' pass reads every student and
/// writes nothing, as on most minutes of a real day) for `--seconds`, then a run with every
/// student's reminder due (the pass writes them in batches, the senders send them to the SMTP
/// server), `--rounds` times, and a last run with none due; each on freshly started servers
/// while the clients read /review. The run with reminders is measured in two parts: while
/// the pass writes them, and while the rest are sent. Prints /review's figures for each and
/// how long the reminders took.
async fn reminders_mode(a: &Args, db: &Location, db_arg: &str, server: &std::path::Path) {
    let (port, maildir) = smtp_sink();
    seed_addresses(db).await;
    let envs = [
        ("STUDYHALL_SMTP_HOST", "127.0.0.1".to_owned()),
        ("STUDYHALL_SMTP_PORT", port.to_string()),
        ("STUDYHALL_SMTP_TLS", "none".to_owned()),
        (
            "STUDYHALL_SMTP_FROM",
            "studyhall bench <bench@studyhall.test>".to_owned(),
        ),
        ("STUDYHALL_PUBLIC_URL", "http://studyhall.test".to_owned()),
    ];
    let n = a.reminders;
    let (clients, users) = (a.clients, a.users);
    println!(
        "reminders mode: {n} students with a reminder due, {} round(s), {clients} clients \
         on /review, SMTP to aiosmtpd on 127.0.0.1:{port}",
        a.rounds
    );
    let step = move |b: Arc<Servers>| {
        move |i: usize, k: usize, c: Client, mut s: Samples| {
            let user = 1 + ((i + k * clients) as i64 % users);
            let url = format!("{b}/review");
            async move {
                timed(
                    &mut s,
                    "GET /review",
                    c.get(url).header("cookie", cookie(user)),
                    StatusCode::OK,
                )
                .await;
                s
            }
        }
    };
    let mut lines = Vec::new();
    let mut printed = 0;
    let mut figures: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    let timeout = Duration::from_secs(a.reminder_timeout);
    let mut runs: Vec<bool> = (0..a.rounds).flat_map(|_| [false, true]).collect();
    runs.push(false);
    for (run, due) in runs.into_iter().enumerate() {
        reset_reminders(db, due).await;
        maildir_count(&maildir, true);
        let started = Instant::now();
        let (children, urls) = start_servers(server, db_arg, a.servers, &envs).await;
        let base = Arc::new(Servers {
            urls,
            next: std::sync::atomic::AtomicUsize::new(0),
        });
        let pids: Vec<u32> = children.iter().map(|c| c.id()).collect();
        let mut parts = Vec::new();
        if due {
            let before = server_cost(&pids);
            let until = wait_for(db.clone(), started, timeout, move |w, _| w >= n);
            let (samples, seconds, written_at) =
                phase_until(clients, until, step(base.clone())).await;
            parts.push((
                "reminders written",
                samples,
                seconds,
                before,
                server_cost(&pids),
                format!(
                    "all {n} written {} s after the start",
                    written_at.map_or("-".to_owned(), |s| format!("{s:.1}"))
                ),
            ));
            let before = server_cost(&pids);
            let until = wait_for(db.clone(), started, timeout, move |_, s| s >= n);
            let (samples, seconds, sent_at) = phase_until(clients, until, step(base.clone())).await;
            parts.push((
                "reminders sent",
                samples,
                seconds,
                before,
                server_cost(&pids),
                format!(
                    "all {n} sent {} s after the start",
                    sent_at.map_or("-".to_owned(), |s| format!("{s:.1}"))
                ),
            ));
        } else {
            let before = server_cost(&pids);
            let (samples, seconds) = phase(clients, a.seconds, step(base.clone())).await;
            parts.push((
                "none due",
                samples,
                seconds,
                before,
                server_cost(&pids),
                String::new(),
            ));
        }
        for mut child in children {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        let delivered = maildir_count(&maildir, true);
        let counts = {
            let pool = studyhall::db::connect(db).await.unwrap();
            let counts = outbox_counts(&pool).await;
            pool.close().await;
            counts
        };
        for (label, samples, seconds, before, after, note) in parts {
            for r in costed(rows("reminders", samples, seconds), before, after) {
                figures.entry(label).or_default().push(r.rps);
                lines.push(format!(
                    "| {} | {label} | {seconds:.1} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.0} | {note} |",
                    run + 1,
                    r.count,
                    r.rps,
                    r.p50,
                    r.p99,
                    r.max,
                    r.cpu_us,
                ));
            }
        }
        if due {
            lines.push(format!(
                "| {} | (outbox: {} written, {} sent; {delivered} messages reached aiosmtpd) | | | | | | | | |",
                run + 1,
                counts.0,
                counts.1
            ));
        }
        // As it goes, for a long run watched from a terminal.
        for line in &lines[printed..] {
            eprintln!("{line}");
        }
        printed = lines.len();
    }
    println!();
    println!(
        "| run | /review while | s | requests | req/s | p50 ms | p99 ms | max ms | server CPU µs/req | |"
    );
    println!("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for line in &lines {
        println!("{line}");
    }
    println!();
    let mean = |v: &Vec<f64>| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let quiet = figures.get("none due").map_or(f64::NAN, mean);
    for (label, v) in &figures {
        println!(
            "/review, {label}: {:.0} req/s on average ({:.0}% of none due)",
            mean(v),
            100.0 * mean(v) / quiet
        );
    }
}

/// Drops the benchmark's own PostgreSQL database, if it made one.
async fn drop_postgres_database(admin_url: &Option<String>, db: &Location) {
    if let (Some(url), Location::Postgres(bench_url)) = (admin_url, db) {
        use sqlx::Connection;
        let name = bench_url.rsplit_once('/').map_or("", |(_, n)| n);
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await
        .unwrap();
    }
}

/// The write-ahead log's size now, in MB.
fn wal_mb(db: &Location) -> f64 {
    match db {
        Location::File(path) => std::fs::metadata(format!("{}-wal", path.display()))
            .map_or(0.0, |m| m.len() as f64 / 1_048_576.0),
        Location::Postgres(_) => 0.0,
    }
}
