//! What one student's pages cost on a site that holds many other courses (issue 23): seeds two
//! sites, "fresh" (the shipped decks, an admin and the student) and "large" (the same, plus
//! instructors with private decks, classes with decks assigned and thousands of other students
//! with review history in them; the student belongs to none of it), starts a release server
//! on each and measures the student's pages on both with `wrk`, fresh and large alternating in
//! every round so the machine's noise falls on both. Prints figures; asserts only that every
//! response was a success and that the session really is logged in.
//!
//! After the pages, the grades (`POST /review/{card}`, as the review page's form posts them):
//! a grade refuses a card that is not due, so both sites then get grading students (in no
//! class), each with the course deck due, enough that every due card is graded once; a wrk
//! script posts them, and the grades are counted in the history after (wrk counts a redirect
//! as a success, whatever it redirects to). `--skip-grades` leaves them out.
//!
//! Run it with `scripts/bench-site` (which builds the release binaries and installs wrk),
//! e.g. `scripts/bench-site --rounds 5 --seconds 10`, or on PostgreSQL
//! `scripts/with-postgres bash -c 'scripts/bench-site --database "$STUDYHALL_TEST_POSTGRES"'`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use anyhow::{Context, bail};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use studyhall::auth::session::SESSION_COOKIE;
use studyhall::db::{Location, Pool};
use studyhall::srs::day::StudyCalendar;

#[derive(Parser)]
struct Args {
    /// Private decks of the other courses (the large site only).
    #[arg(long, default_value_t = 2000)]
    other_decks: i64,
    /// Cards in each of those decks.
    #[arg(long, default_value_t = 10)]
    other_cards: i64,
    /// Classes, owned by the instructors, each with a few of their decks assigned.
    #[arg(long, default_value_t = 100)]
    classes: i64,
    /// Other students, spread over the classes, with review history on their class decks.
    #[arg(long, default_value_t = 10_000)]
    other_students: i64,
    /// Instructors owning the private decks and the classes.
    #[arg(long, default_value_t = 40)]
    instructors: i64,
    /// Rounds; each measures every page on both sites, the two in alternating order.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Seconds of each wrk run.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Connections of each measurement (split between the servers when there are two).
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// A `postgres://` URL of a server, on which the benchmark creates its two databases (and
    /// drops them after). Without it both sites are SQLite files in a temporary folder.
    #[arg(long)]
    database: Option<String>,
    /// App servers per site (on PostgreSQL: two servers on one database, each driven by its own
    /// wrk with half the connections, their figures summed).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    servers: u8,
    /// Run ANALYZE on the SQLite files after seeding. The server itself never does, so by
    /// default the sites are measured as they run, without planner statistics.
    #[arg(long)]
    analyze: bool,
    /// The server binary (default: `studyhall` beside this example's folder).
    #[arg(long)]
    server: Option<PathBuf>,
    /// The wrk binary.
    #[arg(long, default_value = "wrk")]
    wrk: PathBuf,
    /// Skip the grades (`POST /review/{card}`), measured after the pages.
    #[arg(long)]
    skip_grades: bool,
    /// The fastest grade rate the grades phase is seeded for (each due card is graded once,
    /// so a faster server would run out of due cards and see refusals, reported as errors).
    /// Default: 15,000 a second on SQLite, 4,000 on PostgreSQL (where seeding more takes long).
    #[arg(long)]
    max_grade_rate: Option<i64>,
}

const DAY: i64 = 86_400;
/// wrk's timeout: long enough that a slow page's latencies are measured, not dropped (wrk's
/// default is 2 s).
const WRK_TIMEOUT: &str = "30s";
/// Decks assigned to each class (from its owner's private decks).
const DECKS_PER_CLASS: i64 = 3;
/// Cards of the course deck the measured student has studied (the others are new to them).
const STUDIED_CARDS: i64 = 40;
/// The measured student's session token (64 hex digits, as the server's are).
const TOKEN: &str = "5173be4c000000000000000000000000000000000000000000000000000000a1";
const CSRF: &str = "c5f0be4c000000000000000000000000000000000000000000000000000000a1";

#[derive(Clone, Copy, PartialEq)]
enum Size {
    Fresh,
    Large,
}

impl Size {
    fn name(self) -> &'static str {
        match self {
            Size::Fresh => "fresh",
            Size::Large => "large",
        }
    }
}

/// A seeded site: what the measurement needs to know about it.
struct Site {
    size: Size,
    db: Location,
    /// A card of the course deck the student has studied, for `/cards/{id}`.
    card: i64,
    seed_secs: f64,
    counts: String,
}

/// `SELECT COUNT(*)` of `table`.
async fn count(pool: &Pool, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Runs one set-based statement with its bindings in order.
async fn run(tx: &mut sqlx::Transaction<'static, sqlx::Any>, sql: &'static str, binds: &[i64]) {
    let mut query = sqlx::query(sql);
    for b in binds {
        query = query.bind(*b);
    }
    query
        .execute(&mut **tx)
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
}

/// Seeds one site with set-based SQL.
async fn seed(db: Location, size: Size, a: &Args, now: i64, today: i64) -> Site {
    let started = Instant::now();
    let pool = studyhall::db::connect(&db).await.unwrap();
    studyhall::course::seed_on_first_start(&pool, now)
        .await
        .unwrap();
    let hash = studyhall::auth::password::hash_blocking("bench password").unwrap();
    let mut tx = pool.begin().await.unwrap();
    for (name, role) in [("admin", "admin"), ("student", "student")] {
        sqlx::query(
            "INSERT INTO users (username, password_hash, role, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(name)
        .bind(&hash)
        .bind(role)
        .bind(now)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    let student: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = 'student'")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    // The course deck: the shipped deck of plain cards (the practice deck's are generated).
    let course: i64 = sqlx::query_scalar("SELECT MIN(deck_id) FROM cards WHERE kind = 'basic'")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    // The student has studied the first cards of the course deck; half of those are due.
    run(
        &mut tx,
        "INSERT INTO review_states (user_id, card_id, repetitions, easiness_hundredths,
             interval_days, due_day, lapses, last_reviewed_at)
         SELECT $1, id, 2, 250, 6,
                CASE WHEN position % 2 = 0 THEN $2 - position % 5
                     ELSE $2 + 1 + position % 20 END,
                0, $3
         FROM cards WHERE deck_id = $4 AND position <= $5",
        &[student, today, now - 6 * DAY, course, STUDIED_CARDS],
    )
    .await;
    let hash = studyhall::auth::session::token_hash(TOKEN);
    studyhall::db::sessions::create(&mut *tx, &hash, student, CSRF, now, now + 30 * DAY)
        .await
        .unwrap();

    if size == Size::Large {
        seed_other_courses(&mut tx, a, now, today).await;
    }

    // Two past grades behind every schedule: the history.
    run(
        &mut tx,
        "INSERT INTO reviews (user_id, card_id, kind, reviewed_at, study_day, quality,
             repetitions_before, easiness_before, interval_before, due_day_before, lapses_before,
             last_reviewed_before, repetitions_after, easiness_after, interval_after, due_day_after)
         SELECT s.user_id, s.card_id, 'grade', $2 - k.k * 7 * 86400, $1 - k.k * 7,
                3 + (s.card_id + k.k) % 3, k.k - 1, 250, 1, $1 - k.k * 7, 0, $2, k.k, 250, 6, $1
         FROM review_states s, (SELECT 1 AS k UNION ALL SELECT 2) k",
        &[today, now],
    )
    .await;
    let card: i64 = sqlx::query_scalar("SELECT MIN(card_id) FROM review_states WHERE user_id = $1")
        .bind(student)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    studyhall::db::stats::rebuild_review_days(&pool)
        .await
        .unwrap();
    match &db {
        Location::File(_) => {
            if a.analyze {
                sqlx::query("ANALYZE").execute(&pool).await.unwrap();
            }
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&pool)
                .await
                .unwrap();
        }
        // Bulk inserts leave dead row versions (the tally triggers update a row per insert)
        // that autovacuum clears within minutes on a running site; measure that site.
        Location::Postgres(_) => {
            sqlx::query("VACUUM (ANALYZE)")
                .execute(&pool)
                .await
                .unwrap();
        }
    }
    let mut counts = Vec::new();
    for table in [
        "users",
        "decks",
        "cards",
        "classes",
        "class_members",
        "class_decks",
        "review_states",
        "reviews",
    ] {
        counts.push(format!("{} {table}", count(&pool, table).await));
    }
    pool.close().await;
    Site {
        size,
        db,
        card,
        seed_secs: started.elapsed().as_secs_f64(),
        counts: counts.join(", "),
    }
}

/// The other courses of a large site: instructors, their private decks and classes, and the
/// classes' students with schedules on every card of their class decks.
async fn seed_other_courses(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    a: &Args,
    now: i64,
    today: i64,
) {
    let hash = "not a password hash: these accounts never log in";
    for (prefix, role, n) in [
        ("instructor", "instructor", a.instructors),
        ("other", "student", a.other_students),
    ] {
        sqlx::query(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $1)
             INSERT INTO users (username, password_hash, role, created_at)
             SELECT $2 || n, $3, $4, $5 FROM seq",
        )
        .bind(n)
        .bind(prefix)
        .bind(hash)
        .bind(role)
        .bind(now)
        .execute(&mut **tx)
        .await
        .unwrap();
    }
    // Deck n belongs to instructor 1 + n % I.
    run(
        tx,
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $1)
         INSERT INTO decks (name, description, owner_id, created_at, public)
         SELECT 'Private deck ' || s.n, 'A course of its own', i.id, $3, 0
         FROM seq s JOIN (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS r FROM users
                          WHERE role = 'instructor') i ON i.r = 1 + s.n % $2",
        &[a.other_decks, a.instructors, now],
    )
    .await;
    run(
        tx,
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $1)
         INSERT INTO cards (deck_id, front, back, position, created_at, updated_at)
         SELECT d.id, 'Question ' || s.n || ' of deck ' || d.id, 'Answer ' || s.n, s.n, $2, $2
         FROM decks d, seq s WHERE d.public = 0",
        &[a.other_cards, now],
    )
    .await;
    // Class n belongs to instructor 1 + n % I too.
    run(
        tx,
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $1)
         INSERT INTO classes (name, owner_id, join_code, created_at)
         SELECT 'Class ' || s.n, i.id, 'benchcode' || s.n, $3
         FROM seq s JOIN (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS r FROM users
                          WHERE role = 'instructor') i ON i.r = 1 + s.n % $2",
        &[a.classes, a.instructors, now],
    )
    .await;
    // An instructor's k-th class gets their decks (k-1)*3+1 .. k*3, while they last.
    run(
        tx,
        "INSERT INTO class_decks (class_id, deck_id)
         SELECT c.id, d.id
         FROM (SELECT id, owner_id, ROW_NUMBER() OVER (PARTITION BY owner_id ORDER BY id) AS r
               FROM classes) c
         JOIN (SELECT id, owner_id, ROW_NUMBER() OVER (PARTITION BY owner_id ORDER BY id) AS r
               FROM decks WHERE public = 0) d
           ON d.owner_id = c.owner_id AND d.r > (c.r - 1) * $1 AND d.r <= c.r * $1",
        &[DECKS_PER_CLASS],
    )
    .await;
    // Other student n joins class 1 + n % K.
    run(
        tx,
        "INSERT INTO class_members (class_id, user_id, joined_at)
         SELECT c.id, u.id, $2
         FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS r FROM users
               WHERE role = 'student' AND username <> 'student') u
         JOIN (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS r FROM classes) c
           ON c.r = 1 + u.r % $1",
        &[a.classes, now],
    )
    .await;
    // Every member has studied every card of their class decks; half of those are due.
    run(
        tx,
        "INSERT INTO review_states (user_id, card_id, repetitions, easiness_hundredths,
             interval_days, due_day, lapses, last_reviewed_at)
         SELECT m.user_id, c.id, 2, 250, 6,
                CASE WHEN c.position % 2 = 0 THEN $1 - c.position % 7
                     ELSE $1 + 1 + c.position % 30 END,
                0, $2
         FROM class_members m
         JOIN class_decks cd ON cd.class_id = m.class_id
         JOIN cards c ON c.deck_id = cd.deck_id",
        &[today, now - 6 * DAY],
    )
    .await;
}

/// The grades phase's wrk script: each thread takes its share of a file of "token csrf card"
/// lines (every due card once) and posts a grade of each in turn, as the review page's form
/// does. Arguments: the number of threads, the file.
const GRADE_SCRIPT: &str = r#"
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  local threads = tonumber(args[1])
  queue = {}
  local i = 0
  for line in io.lines(args[2]) do
    if i % threads == id then
      local token, csrf, card = line:match("(%S+) (%S+) (%S+)")
      queue[#queue + 1] = wrk.format("POST", "/review/" .. card,
        { ["Cookie"] = "studyhall_session=" .. token,
          ["Content-Type"] = "application/x-www-form-urlencoded" },
        "csrf_token=" .. csrf .. "&quality=4")
    end
    i = i + 1
  end
  taken = 0
end
function request()
  taken = taken + 1
  local r = queue[taken]
  if r == nil then
    -- Out of due cards: a request that fails, so that the run is reported as failed.
    return wrk.format("POST", "/review/0")
  end
  return r
end
"#;

fn grader_token(id: i64) -> String {
    format!("{:064x}", 0x9a0e_0000_0000_i64 + id)
}

fn grader_csrf(id: i64) -> String {
    format!("{:064x}", 0xc5f1_0000_0000_i64 + id)
}

/// Seeds students for the grades phase into a site (its server running): enough of them,
/// each with every card of the course deck due, that every round grades cards of its own at
/// up to `a.max_grade_rate` a second. Returns each round's "token csrf card" lines.
async fn seed_graders(db: &Location, a: &Args, now: i64, today: i64) -> Vec<Vec<String>> {
    let pool = studyhall::db::connect(db).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    let course: i64 = sqlx::query_scalar("SELECT MIN(deck_id) FROM cards WHERE kind = 'basic'")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let cards: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cards WHERE deck_id = $1")
        .bind(course)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let rounds = a.rounds.max(1) as i64;
    let rate = a.max_grade_rate.unwrap_or(match db {
        Location::File(_) => 15_000,
        Location::Postgres(_) => 4_000,
    });
    let per_round = (rate * a.seconds as i64 + cards - 1) / cards.max(1);
    sqlx::query(
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $1)
         INSERT INTO users (username, password_hash, role, created_at)
         SELECT 'grader' || n, 'never logs in', 'student', $2 FROM seq",
    )
    .bind(per_round * rounds)
    .bind(now)
    .execute(&mut *tx)
    .await
    .unwrap();
    let graders: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM users WHERE substr(username, 1, 6) = 'grader' ORDER BY id",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    run(
        &mut tx,
        "INSERT INTO review_states (user_id, card_id, repetitions, easiness_hundredths,
             interval_days, due_day, lapses, last_reviewed_at)
         SELECT u.id, c.id, 2, 250, 6, $1 - c.position % 3, 0, $2
         FROM users u JOIN cards c ON c.deck_id = $3
         WHERE substr(u.username, 1, 6) = 'grader'",
        &[today, now - 6 * DAY, course],
    )
    .await;
    for &id in &graders {
        let hash = studyhall::auth::session::token_hash(&grader_token(id));
        studyhall::db::sessions::create(&mut *tx, &hash, id, &grader_csrf(id), now, now + 30 * DAY)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let due: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT s.user_id, s.card_id FROM review_states s JOIN users u ON u.id = s.user_id
         WHERE substr(u.username, 1, 6) = 'grader' ORDER BY s.card_id, s.user_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    let first = graders.first().copied().unwrap_or(0);
    let mut lines = vec![Vec::new(); rounds as usize];
    for (user, card) in due {
        let round = ((user - first) / per_round).min(rounds - 1) as usize;
        lines[round].push(format!(
            "{} {} {card}",
            grader_token(user),
            grader_csrf(user)
        ));
    }
    lines
}

/// Kills the servers it holds when dropped, however the benchmark ends.
struct Servers {
    children: Vec<Child>,
    urls: Vec<String>,
}

impl Drop for Servers {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_servers(server: &Path, db: &Location, n: u8) -> anyhow::Result<Servers> {
    let db_arg = match db {
        Location::File(path) => path.to_string_lossy().into_owned(),
        Location::Postgres(url) => url.clone(),
    };
    let mut servers = Servers {
        children: Vec::new(),
        urls: Vec::new(),
    };
    for _ in 0..n {
        let port = free_port();
        let child = Command::new(server)
            .args([
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--database",
                &db_arg,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", server.display()))?;
        servers.children.push(child);
        let url = format!("http://127.0.0.1:{port}");
        let mut up = false;
        for _ in 0..400 {
            if reqwest::get(format!("{url}/healthz"))
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if !up {
            bail!("the server on {url} did not answer /healthz within 20 s");
        }
        servers.urls.push(url);
    }
    Ok(servers)
}

/// Fetches `path` once as the student and checks it is that page, logged in: a 200 (no
/// redirect to the login page), the layout's log-out form, and for /review a card to study.
async fn check_page(base: &str, path: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let response = client
        .get(format!("{base}{path}"))
        .header("cookie", format!("{SESSION_COOKIE}={TOKEN}"))
        .send()
        .await?;
    let status = response.status();
    let body = response.text().await?;
    if status != reqwest::StatusCode::OK {
        bail!("GET {path} as the student answered {status}, not 200");
    }
    if path != "/healthz" && !body.contains("action=\"/logout\"") {
        bail!("GET {path} as the student shows no log-out form: the session is not logged in");
    }
    if path == "/review" && !body.contains("class=\"flashcard\"") {
        bail!("GET /review as the student shows no card to study");
    }
    Ok(())
}

/// One wrk run's figures.
#[derive(Clone, Copy, Default)]
struct Run {
    rps: f64,
    requests: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
    /// Connect errors (read and write errors are not counted: they are mostly connections
    /// closed at the end of the run).
    connect_errors: u64,
    /// Requests that took longer than wrk's timeout (`WRK_TIMEOUT`): not failures, but
    /// missing from the figures.
    timeouts: u64,
}

/// A wrk duration ("812.00us", "1.23ms", "2.00s", "1.00m") in milliseconds.
fn duration_ms(s: &str) -> Option<f64> {
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        "h" => n * 3_600_000.0,
        _ => return None,
    })
}

/// wrk's figures from its printout (run with `--latency`).
fn parse_wrk(out: &str) -> anyhow::Result<Run> {
    let mut run = Run::default();
    let mut rps = None;
    for line in out.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", n] => rps = n.parse().ok(),
            ["50%", t] => run.p50_ms = duration_ms(t).unwrap_or(f64::NAN),
            ["99%", t] => run.p99_ms = duration_ms(t).unwrap_or(f64::NAN),
            [n, "requests", "in", ..] => run.requests = n.parse().unwrap_or(0.0),
            ["Non-2xx", "or", "3xx", "responses:", n] => run.non_2xx = n.parse().unwrap_or(0),
            ["Socket", "errors:", ..] => {
                // "Socket errors: connect 0, read 0, write 0, timeout 0"
                let field = |name: &str| {
                    words
                        .iter()
                        .position(|w| *w == name)
                        .and_then(|i| words.get(i + 1))
                        .and_then(|n| n.trim_end_matches(',').parse::<u64>().ok())
                        .unwrap_or(0)
                };
                run.connect_errors = field("connect");
                run.timeouts = field("timeout");
            }
            _ => {}
        }
    }
    run.rps = rps.with_context(|| format!("no Requests/sec in wrk's output:\n{out}"))?;
    Ok(run)
}

/// Measures `path` with wrk: one wrk per server at once, the connections split between them,
/// their rates summed. With `script`, each wrk runs it with its own file of requests.
fn measure(
    a: &Args,
    urls: &[String],
    path: &str,
    script: Option<(&Path, &[PathBuf])>,
) -> anyhow::Result<Run> {
    let threads = (2 / urls.len()).max(1);
    let connections = (a.connections / urls.len()).max(threads);
    let children = urls
        .iter()
        .enumerate()
        .map(|(i, base)| {
            let mut args = vec![
                format!("-t{threads}"),
                format!("-c{connections}"),
                format!("-d{}s", a.seconds),
                "--latency".into(),
                format!("--timeout={WRK_TIMEOUT}"),
            ];
            match script {
                None => args.extend([
                    "-H".into(),
                    format!("Cookie: {SESSION_COOKIE}={TOKEN}"),
                    format!("{base}{path}"),
                ]),
                Some((script, files)) => args.extend([
                    "-s".into(),
                    script.to_string_lossy().into_owned(),
                    format!("{base}{path}"),
                    "--".into(),
                    threads.to_string(),
                    files[i].to_string_lossy().into_owned(),
                ]),
            }
            Command::new(&a.wrk)
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .with_context(|| format!("cannot run {}", a.wrk.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut runs = Vec::new();
    for child in children {
        let out = child.wait_with_output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!(
                "wrk failed on {path}: {}{}",
                text,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        runs.push(parse_wrk(&text)?);
    }
    let requests: f64 = runs.iter().map(|r| r.requests).sum();
    Ok(Run {
        rps: runs.iter().map(|r| r.rps).sum(),
        requests,
        // The servers' medians weighted by their requests; the worst 99th percentile.
        p50_ms: runs.iter().map(|r| r.p50_ms * r.requests).sum::<f64>() / requests.max(1.0),
        p99_ms: runs.iter().map(|r| r.p99_ms).fold(0.0, f64::max),
        non_2xx: runs.iter().map(|r| r.non_2xx).sum(),
        connect_errors: runs.iter().map(|r| r.connect_errors).sum(),
        timeouts: runs.iter().map(|r| r.timeouts).sum(),
    })
}

/// Records a run's failed responses.
fn failed(failures: &mut Vec<String>, round: usize, site: &str, page: &str, run: &Run) {
    if run.non_2xx > 0 {
        failures.push(format!(
            "round {}, {site} site, {page}: {} of {} responses were not 2xx or 3xx{}",
            round + 1,
            run.non_2xx,
            run.requests,
            if page.starts_with("POST") {
                " (a grade of a card not due, or the due cards ran out: see --max-grade-rate)"
            } else {
                ""
            }
        ));
    }
    if run.connect_errors > 0 {
        failures.push(format!(
            "round {}, {site} site, {page}: {} connections failed",
            round + 1,
            run.connect_errors
        ));
    }
    if run.timeouts > 0 {
        eprintln!(
            "warning: round {}, {site} site, {page}: {} requests took longer than {WRK_TIMEOUT} and are left out of its figures",
            round + 1,
            run.timeouts
        );
    }
}

/// The median rate of the first page (/healthz) on site `s`.
fn self_rate(results: &[[Vec<Run>; 2]], s: usize) -> f64 {
    median(results[0][s].iter().map(|r| r.rps).collect())
}

fn median(mut xs: Vec<f64>) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(f64::total_cmp);
    let mid = xs.len() / 2;
    if xs.len() % 2 == 1 {
        xs[mid]
    } else {
        (xs[mid - 1] + xs[mid]) / 2.0
    }
}

/// A new PostgreSQL database on the server at `url`, as a URL.
async fn new_postgres_database(url: &str, name: &str) -> String {
    admin_statement(url, &format!("DROP DATABASE IF EXISTS {name}")).await;
    admin_statement(url, &format!("CREATE DATABASE {name}")).await;
    let base = url.rsplit_once('/').map_or(url, |(base, _)| base);
    format!("{base}/{name}")
}

async fn admin_statement(url: &str, statement: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap();
}

#[tokio::main]
async fn main() {
    // reqwest is built without a TLS provider of its own (`http_client`).
    studyhall::http_client::install_crypto_provider();
    let a = Args::parse();
    let dir = tempfile::tempdir().unwrap();
    let names = [Size::Fresh, Size::Large]
        .map(|s| format!("site_bench_{}_{}", std::process::id(), s.name()));
    let mut locations = Vec::new();
    for (size, name) in [Size::Fresh, Size::Large].into_iter().zip(&names) {
        locations.push(match &a.database {
            None => Location::File(dir.path().join(format!("{}.db", size.name()))),
            Some(url) => Location::Postgres(new_postgres_database(url, name).await),
        });
    }
    let outcome = bench(&a, locations).await;
    if let Some(url) = &a.database {
        for name in &names {
            admin_statement(url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        }
    }
    if let Err(e) = outcome {
        eprintln!("site_bench: {e:#}");
        std::process::exit(1);
    }
}

async fn bench(a: &Args, locations: Vec<Location>) -> anyhow::Result<()> {
    let server = a.server.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .unwrap()
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("studyhall")
    });
    let now = jiff::Timestamp::now();
    let today = i64::from(StudyCalendar::new(jiff::tz::TimeZone::UTC, 4).day_of(now));
    let now = now.as_second();
    let mut sites = Vec::new();
    for (size, db) in [Size::Fresh, Size::Large].into_iter().zip(locations) {
        let site = seed(db, size, a, now, today).await;
        println!(
            "{} site seeded in {:.1} s: {}",
            site.size.name(),
            site.seed_secs,
            site.counts
        );
        sites.push(site);
    }
    let backend = match &sites[0].db {
        Location::File(_) => "SQLite",
        Location::Postgres(_) => "PostgreSQL",
    };

    let mut servers = Vec::new();
    for site in &sites {
        servers.push(start_servers(&server, &site.db, a.servers).await?);
    }
    let pages: Vec<String> = [
        "/healthz".to_owned(),
        "/review".to_owned(),
        "/decks".to_owned(),
        "/stats".to_owned(),
        format!("/cards/{}", sites[0].card),
        "/practice".to_owned(),
    ]
    .into();
    // The card's id is the same on both sites (seeded alike before the other courses).
    if sites[0].card != sites[1].card {
        bail!(
            "the student's card is {} on the fresh site but {} on the large one",
            sites[0].card,
            sites[1].card
        );
    }
    for (site, s) in sites.iter().zip(&servers) {
        for url in &s.urls {
            for page in &pages {
                check_page(url, page)
                    .await
                    .with_context(|| format!("on the {} site", site.size.name()))?;
            }
        }
    }

    println!(
        "{backend}, {} server(s) per site; wrk {} connections, {} s a run, {} rounds, fresh and large alternating",
        a.servers, a.connections, a.seconds, a.rounds
    );
    // results[page][site] = runs
    let mut results = vec![[Vec::<Run>::new(), Vec::new()]; pages.len()];
    let mut failures = Vec::new();
    for round in 0..a.rounds {
        for (p, page) in pages.iter().enumerate() {
            let order = if (round + p) % 2 == 0 { [0, 1] } else { [1, 0] };
            for s in order {
                let run = measure(a, &servers[s].urls, page, None)?;
                let site = sites[s].size.name();
                println!(
                    "round {} {site:>5} {page:<12} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
                    round + 1,
                    run.rps,
                    run.p50_ms,
                    run.p99_ms
                );
                failed(&mut failures, round, site, page, &run);
                results[p][s].push(run);
            }
        }
    }
    let mut grades = [Vec::<Run>::new(), Vec::new()];
    if !a.skip_grades {
        let files_dir = tempfile::tempdir()?;
        let script = files_dir.path().join("grade.lua");
        std::fs::write(&script, GRADE_SCRIPT)?;
        // files[site][round]: one file of due cards per server.
        let mut files = Vec::new();
        for (site, s) in sites.iter().zip(&servers) {
            let started = Instant::now();
            let rounds = seed_graders(&site.db, a, now, today).await;
            println!(
                "{} site: {} due cards of grading students seeded in {:.1} s",
                site.size.name(),
                rounds.iter().map(Vec::len).sum::<usize>(),
                started.elapsed().as_secs_f64()
            );
            let mut per_round = Vec::new();
            for (r, lines) in rounds.iter().enumerate() {
                let mut paths = Vec::new();
                for k in 0..s.urls.len() {
                    let path = files_dir
                        .path()
                        .join(format!("{}-{r}-{k}.txt", site.size.name()));
                    let mine: Vec<&str> = lines
                        .iter()
                        .skip(k)
                        .step_by(s.urls.len())
                        .map(String::as_str)
                        .collect();
                    std::fs::write(&path, mine.join("\n") + "\n")?;
                    paths.push(path);
                }
                per_round.push(paths);
            }
            files.push(per_round);
        }
        let page = "POST /review/{card}";
        let by_round: Vec<[&[PathBuf]; 2]> = (0..a.rounds)
            .map(|r| [files[0][r].as_slice(), files[1][r].as_slice()])
            .collect();
        for (round, files) in by_round.into_iter().enumerate() {
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for s in order {
                let run = measure(a, &servers[s].urls, "/review/0", Some((&script, files[s])))?;
                let site = sites[s].size.name();
                println!(
                    "round {} {site:>5} {page} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
                    round + 1,
                    run.rps,
                    run.p50_ms,
                    run.p99_ms
                );
                failed(&mut failures, round, site, page, &run);
                grades[s].push(run);
            }
        }
        // wrk counts a redirect as a success: check the grades are in the history.
        for (s, site) in sites.iter().enumerate() {
            let answered: f64 = grades[s].iter().map(|r| r.requests).sum();
            let pool = studyhall::db::connect(&site.db).await?;
            let recorded: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM reviews r JOIN users u ON u.id = r.user_id
                 WHERE substr(u.username, 1, 6) = 'grader' AND r.kind = 'grade'",
            )
            .fetch_one(&pool)
            .await?;
            pool.close().await;
            println!(
                "{} site: {recorded} grades recorded for {answered} answered",
                site.size.name()
            );
            if (recorded as f64) < answered {
                failures.push(format!(
                    "{} site: only {recorded} grades recorded for {answered} answered",
                    site.size.name()
                ));
            }
        }
    }
    // Still logged in, still a card to study, after all the load.
    for (site, s) in sites.iter().zip(&servers) {
        check_page(&s.urls[0], "/review")
            .await
            .with_context(|| format!("after the runs, on the {} site", site.size.name()))?;
    }
    drop(servers);

    let rate = |p: usize, s: usize| median(results[p][s].iter().map(|r| r.rps).collect());
    let p50 = |p: usize, s: usize| median(results[p][s].iter().map(|r| r.p50_ms).collect());
    let p99 = |p: usize, s: usize| median(results[p][s].iter().map(|r| r.p99_ms).collect());
    println!();
    println!(
        "| page | fresh req/s | large req/s | large/fresh | fresh % of /healthz | large % of /healthz | fresh p50 / p99 ms | large p50 / p99 ms |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (p, page) in pages.iter().enumerate() {
        let (fresh, large) = (rate(p, 0), rate(p, 1));
        println!(
            "| {page} | {fresh:.0} | {large:.0} | {:.1}% | {:.1}% | {:.1}% | {:.2} / {:.2} | {:.2} / {:.2} |",
            100.0 * large / fresh,
            100.0 * fresh / rate(0, 0),
            100.0 * large / rate(0, 1),
            p50(p, 0),
            p99(p, 0),
            p50(p, 1),
            p99(p, 1),
        );
    }
    if !a.skip_grades {
        let rate = |s: usize| median(grades[s].iter().map(|r| r.rps).collect());
        let p50 = |s: usize| median(grades[s].iter().map(|r| r.p50_ms).collect());
        let p99 = |s: usize| median(grades[s].iter().map(|r| r.p99_ms).collect());
        println!(
            "| POST /review/{{card}} (a grade) | {:.0} | {:.0} | {:.1}% | {:.1}% | {:.1}% | {:.2} / {:.2} | {:.2} / {:.2} |",
            rate(0),
            rate(1),
            100.0 * rate(1) / rate(0),
            100.0 * rate(0) / self_rate(&results, 0),
            100.0 * rate(1) / self_rate(&results, 1),
            p50(0),
            p99(0),
            p50(1),
            p99(1),
        );
    }
    println!();
    println!(
        "(medians of {} rounds; large site: {} instructors, {} private decks of {} cards, {} classes with {} decks each, {} other students)",
        a.rounds,
        a.instructors,
        a.other_decks,
        a.other_cards,
        a.classes,
        DECKS_PER_CLASS,
        a.other_students
    );
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("error: {f}");
        }
        bail!(
            "{} runs had failed responses: their figures are not the pages' cost",
            failures.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_printouts_are_read_with_their_units() {
        let out = "Running 5s test @ http://127.0.0.1:1/review
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.61ms  510.98us  12.00ms   80.00%
    Req/Sec    10.01k   500.00     11.00k    70.00%
  Latency Distribution
     50%  812.00us
     75%    1.50ms
     90%    2.00ms
     99%    1.20s
  100100 requests in 5.00s, 90.00MB read
  Socket errors: connect 0, read 3, write 0, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec:  20020.00
Transfer/sec:     18.00MB
";
        let run = parse_wrk(out).unwrap();
        assert_eq!(run.rps, 20020.0);
        assert_eq!(run.requests, 100100.0);
        assert!((run.p50_ms - 0.812).abs() < 1e-9);
        assert_eq!(run.p99_ms, 1200.0);
        assert_eq!(run.non_2xx, 7);
        assert_eq!(run.connect_errors, 0);
        assert_eq!(run.timeouts, 2);
    }
}
