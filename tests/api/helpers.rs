//! A real server on a random port with a fresh store, and a browser-like client that keeps
//! cookies and does not follow redirects. The store is a new SQLite file, or, when
//! `STUDYHALL_TEST_POSTGRES` names a PostgreSQL server (`scripts/with-postgres` sets it), a new
//! database on that server: the same tests then prove the same behaviour on PostgreSQL.
//!
//! Every fresh store is a copy of one template, migrated and seeded with the shipped decks once
//! per test process (SQLite: the file's bytes, its log checkpointed first; PostgreSQL:
//! `CREATE DATABASE ... TEMPLATE`). The server still runs its migrations and its seed check on
//! start, and finds nothing to do; a test then costs a file write, not twenty migrations and
//! an import, so the suite grows cheaper per test.
//!
//! Which tests run on which backend, without any test passing unchecked:
//! - A test that needs PostgreSQL (two servers on one database, `migrate-to`, PostgreSQL's own
//!   storage settings, `tests/outage.rs`) is `#[ignore = "needs PostgreSQL: ..."]`, so plain
//!   `cargo test` reports it ignored. `scripts/with-postgres cargo test --test api` adds
//!   `--include-ignored` (only when every target it names is `api` or `outage`, so that no
//!   browser test, ignored for needing Chromium, is taken in). Run with `--include-ignored`
//!   and no server, it fails at [`require_postgres`] instead of returning early.
//! - A test of SQLite's own file (its modes, `studyhall backup`, its query plans) builds its
//!   app with [`spawn_sqlite_app`]: a SQLite file whatever backend the suite runs on, so it
//!   checks the same thing in both runs rather than returning early in one.
// The helpers open the test's SQLite file itself, below the server.
#![allow(clippy::disallowed_types)]

use actix_web::dev::ServerHandle;
use reqwest::multipart::{Form, Part};
use reqwest::{Client, Response, StatusCode};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use studyhall::clock::Clock;
use studyhall::config::Settings;
use studyhall::db::Location;
use studyhall::db::Pool as SqlitePool;
use studyhall::web::startup::Application;
use tempfile::TempDir;
use tokio::sync::OnceCell;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub address: String,
    pub settings: Settings,
    pub client: Client,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    dir: Arc<TempDir>,
    /// The store opened as the server opens it, once, for the tests that call `db` directly.
    store: Arc<OnceCell<studyhall::db::Db>>,
    /// One pool on the store for the test's own queries, opened at the first `pool()`.
    pool: Arc<OnceCell<SqlitePool>>,
}

pub fn client() -> Client {
    studyhall::http_client::install_crypto_provider();
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The PostgreSQL server the suite runs on, if any (a URL of one of its databases).
pub fn postgres_server() -> Option<String> {
    std::env::var("STUDYHALL_TEST_POSTGRES")
        .ok()
        .filter(|url| !url.is_empty())
}

/// Whether the suite runs on PostgreSQL.
pub fn on_postgres() -> bool {
    postgres_server().is_some()
}

/// The PostgreSQL server, for a test that needs one (and is `#[ignore]`d, so that it runs
/// only when asked for): fails, rather than passing unchecked, when there is none.
pub fn require_postgres() -> String {
    postgres_server().expect(
        "this test needs PostgreSQL: run it under scripts/with-postgres \
         (STUDYHALL_TEST_POSTGRES is not set)",
    )
}

/// A database URL on the server of `server` (a URL of another of its databases).
fn database_url(server: &str, name: &str) -> String {
    let base = server.rsplit_once('/').map_or(server, |(base, _)| base);
    format!("{base}/{name}")
}

/// Creates a database on the test server, a copy of `template` or else empty; returns its URL.
async fn create_postgres_database(server: &str, template: Option<&str>) -> String {
    use sqlx::Connection;
    let name = format!("t_{}", hex::encode(rand::random::<[u8; 8]>()));
    let sql = match template {
        Some(template) => format!("CREATE DATABASE {name} TEMPLATE {template}"),
        None => format!("CREATE DATABASE {name}"),
    };
    let mut conn = sqlx::PgConnection::connect(server).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    database_url(server, &name)
}

/// A new, empty database on the test server, as a URL.
pub async fn new_postgres_database(server: &str) -> String {
    create_postgres_database(server, None).await
}

/// Migrates the store at `location` and imports the shipped decks, as a server's first
/// start does, then closes it.
async fn migrate_and_seed(location: Location) {
    let pool = studyhall::db::connect(location).await.unwrap();
    studyhall::course::seed_on_first_start(&pool, jiff::Timestamp::now().as_second())
        .await
        .unwrap();
    if studyhall::db::Backend::of(&pool) == studyhall::db::Backend::Sqlite {
        // Everything into the main file, which is all a copy takes.
        let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(busy, 0, "the template's log is checkpointed");
    }
    pool.close().await;
}

/// The bytes of a SQLite store migrated and seeded, made once per test process.
static SQLITE_TEMPLATE: OnceCell<Vec<u8>> = OnceCell::const_new();

async fn sqlite_template() -> &'static [u8] {
    SQLITE_TEMPLATE
        .get_or_init(|| async {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("template.db");
            migrate_and_seed(Location::File(path.clone())).await;
            let log = path.with_extension("db-wal");
            assert!(
                std::fs::metadata(&log).map_or(true, |m| m.len() == 0),
                "nothing of the template is left in its log"
            );
            std::fs::read(&path).unwrap()
        })
        .await
}

/// The name of a PostgreSQL database migrated and seeded, made once per test process and
/// never connected to again (`CREATE DATABASE ... TEMPLATE` needs it idle).
static POSTGRES_TEMPLATE: OnceCell<String> = OnceCell::const_new();

async fn postgres_template(server: &str) -> &'static str {
    POSTGRES_TEMPLATE
        .get_or_init(|| async {
            let url = new_postgres_database(server).await;
            migrate_and_seed(Location::Postgres(url.clone())).await;
            url.rsplit_once('/').unwrap().1.to_owned()
        })
        .await
}

/// A fresh SQLite store at `path`, a copy of the template, in a folder and a file readable
/// by this user only (as the server makes them).
async fn copy_sqlite_template(path: &Path) {
    use std::io::Write;
    let bytes = sqlite_template().await;
    let mut folder = std::fs::DirBuilder::new();
    folder.recursive(true);
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create_new(true);
    #[cfg(unix)]
    {
        std::os::unix::fs::DirBuilderExt::mode(&mut folder, 0o700);
        std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    }
    folder.create(path.parent().unwrap()).unwrap();
    file.open(path).unwrap().write_all(bytes).unwrap();
}

/// A fresh SQLite file in `dir`, migrated and seeded.
async fn fresh_sqlite_store(dir: &TempDir) -> Location {
    let path = dir.path().join("data").join("test.db");
    copy_sqlite_template(&path).await;
    Location::File(path)
}

/// A fresh store for one test, migrated and seeded: a file in `dir`, or a new PostgreSQL
/// database.
pub async fn fresh_store(dir: &TempDir) -> Location {
    match postgres_server() {
        None => fresh_sqlite_store(dir).await,
        Some(server) => {
            let template = postgres_template(&server).await;
            Location::Postgres(create_postgres_database(&server, Some(template)).await)
        }
    }
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = Settings::for_database(fresh_store(&dir).await);
    settings.clock = Clock::system();
    configure(&mut settings);
    start(settings, dir).await
}

/// An app on a SQLite file whatever backend the suite runs on, for the tests of SQLite's own
/// file.
pub async fn spawn_sqlite_app() -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = Settings::for_database(fresh_sqlite_store(&dir).await);
    settings.clock = Clock::system();
    start(settings, dir).await
}

async fn start(settings: Settings, dir: Arc<TempDir>) -> TestApp {
    let app = Application::build(settings.clone()).await.unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let task = tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        settings,
        client: client(),
        handle,
        task,
        dir,
        store: Arc::default(),
        pool: Arc::default(),
    }
}

/// The value of the first `csrf_token` field in a page.
pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("the page has a csrf_token field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn db_path(&self) -> PathBuf {
        match &self.settings.database {
            studyhall::db::Location::File(path) => path.clone(),
            other => panic!("this test reads the SQLite file itself, not {other}"),
        }
    }

    /// The store as `--database` takes it: the file's path or the PostgreSQL URL.
    pub fn store_arg(&self) -> String {
        match &self.settings.database {
            studyhall::db::Location::File(path) => path.to_string_lossy().into_owned(),
            studyhall::db::Location::Postgres(url) => url.clone(),
        }
    }

    pub fn clock(&self) -> &Clock {
        &self.settings.clock
    }

    /// The same browser (same cookies), for use in a closure.
    pub fn clone_browser(&self) -> TestApp {
        TestApp {
            address: self.address.clone(),
            settings: self.settings.clone(),
            client: self.client.clone(),
            handle: self.handle.clone(),
            task: tokio::spawn(async { Ok(()) }),
            dir: self.dir.clone(),
            store: self.store.clone(),
            pool: self.pool.clone(),
        }
    }

    /// A second, independent browser.
    pub fn other_browser(&self) -> TestApp {
        TestApp {
            address: self.address.clone(),
            settings: self.settings.clone(),
            client: client(),
            handle: self.handle.clone(),
            task: tokio::spawn(async { Ok(()) }),
            dir: self.dir.clone(),
            store: self.store.clone(),
            pool: self.pool.clone(),
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_html(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Posts a form with the CSRF token of the page at `page`, as a browser would.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let token = csrf_in(&self.get_html(page).await);
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        form.extend_from_slice(fields);
        self.post_form(action, &form).await
    }

    /// Presses the exam banner's Dismiss on `html` (a page this browser was shown), as the
    /// form there says: its token and the newest notice the banner showed.
    pub async fn dismiss_exam_notice_on(&self, html: &str) -> Response {
        let field = |name: &str| {
            html.split(&format!("name=\"{name}\" value=\""))
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_else(|| panic!("the banner's {name}: {html}"))
                .to_owned()
        };
        let (token, at, exam) = (csrf_in(html), field("seen_at"), field("seen_exam"));
        self.post_form(
            "/stats/exam-notices/dismiss",
            &[
                ("csrf_token", &token),
                ("seen_at", &at),
                ("seen_exam", &exam),
            ],
        )
        .await
    }

    pub async fn register(&self, username: &str) -> Response {
        self.submit(
            "/register",
            "/register",
            &[
                ("username", username),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await
    }

    pub async fn register_ok(&self, username: &str) {
        let response = self.register(username).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "registering {username}"
        );
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.submit(
            "/login",
            "/login",
            &[("username", username), ("password", password)],
        )
        .await
    }

    /// Grades the card at the front of the queue (or of `deck`), returning its id.
    pub async fn grade_next(&self, quality: u8, deck: Option<i64>) -> i64 {
        let page = match deck {
            Some(d) => format!("/review?deck={d}"),
            None => "/review".to_owned(),
        };
        let html = self.get_html(&page).await;
        let card_id = card_id_in(&html).expect("a card is shown");
        let response = self
            .submit(
                &page,
                &format!("/review/{card_id}"),
                &[
                    ("quality", &quality.to_string()),
                    ("deck", &deck.map(|d| d.to_string()).unwrap_or_default()),
                ],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "grading card {card_id}"
        );
        card_id
    }

    /// The store as the server opens it (the tests of `db::hot` call it directly).
    pub async fn db(&self) -> &studyhall::db::Db {
        self.store
            .get_or_init(|| async {
                studyhall::db::Db::open(&self.settings.database)
                    .await
                    .unwrap()
            })
            .await
    }

    /// The test's own pool on the store, one per app (and its browsers): opened at the first
    /// call (`db::connect`, whose migrator finds nothing to do), a clone of it after that.
    pub async fn pool(&self) -> SqlitePool {
        self.pool
            .get_or_init(|| async {
                studyhall::db::connect(&self.settings.database)
                    .await
                    .unwrap()
            })
            .await
            .clone()
    }

    /// A second app server on the same store (and the same browser: cookies are kept per
    /// host, not per port), as a load balancer would put beside the first.
    pub async fn second_server(&self) -> TestApp {
        let mut app = start(self.settings.clone(), self.dir.clone()).await;
        app.client = self.client.clone();
        app.pool = self.pool.clone();
        app
    }

    /// The id of the account called `name`.
    pub async fn user_id(&self, name: &str) -> i64 {
        sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(name)
            .fetch_one(&self.pool().await)
            .await
            .unwrap()
    }

    /// The account called `name` as the use cases take it, loaded as a job loads one
    /// (`study::learner::load`).
    pub async fn learner(&self, name: &str) -> studyhall::study::Learner {
        let id = self.user_id(name).await;
        studyhall::study::learner::load(self.db().await.reader(), id, self.clock().now())
            .await
            .unwrap()
            .expect("an account that may log in")
    }

    /// This admin gives the account called `name` the role `role` through the users page.
    pub async fn set_role(&self, name: &str, role: &str) -> reqwest::Response {
        let id = self.user_id(name).await;
        self.submit(
            "/admin/users",
            &format!("/admin/users/{id}/role"),
            &[("role", role)],
        )
        .await
    }

    /// This browser on another server of the same site.
    pub fn on(&self, server: &TestApp) -> TestApp {
        let mut me = server.clone_browser();
        me.client = self.client.clone();
        me
    }

    /// Stops the server and starts a new one on the same database file.
    pub async fn restart(self) -> TestApp {
        self.handle.stop(true).await;
        self.task.await.unwrap().unwrap();
        start(self.settings, self.dir).await
    }
}

/// The id of the card a review page shows.
pub fn card_id_in(html: &str) -> Option<i64> {
    let marker = "action=\"/review/";
    let start = html.find(marker)? + marker.len();
    // The grade form posts to /review/{id}; a generated card's answer form to /review/{id}/answer.
    let digits: String = html[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The text of the front of the card a review page shows.
pub fn front_in(html: &str) -> Option<String> {
    let marker = "<div class=\"front\" id=\"front\">";
    let start = html.find(marker)? + marker.len();
    Some(html[start..start + html[start..].find("</div>")?].to_owned())
}

/// Uploads a deck file through the import form, as a browser would.
pub async fn upload(
    app: &TestApp,
    file_name: &str,
    content: Vec<u8>,
    deck: &str,
    format: &str,
) -> reqwest::Response {
    upload_to(app, "/admin/import", file_name, content, deck, format).await
}

/// Posts a deck file to `path` (`/admin/import` imports at once, `/admin/import/preview`
/// shows the preview the import page's form leads to).
pub async fn upload_to(
    app: &TestApp,
    path: &str,
    file_name: &str,
    content: Vec<u8>,
    deck: &str,
    format: &str,
) -> reqwest::Response {
    let form = Form::new()
        .text("csrf_token", csrf_in(&app.get_html("/admin/import").await))
        .text("deck", deck.to_owned())
        .text("format", format.to_owned())
        .part("file", Part::bytes(content).file_name(file_name.to_owned()));
    app.client
        .post(app.url(path))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// An admin resets user `id`'s password the way the pages do (the confirmation page, then the
/// POST, then the page it redirects to); returns the temporary password shown there.
pub async fn reset_password(admin: &TestApp, id: i64) -> String {
    let path = format!("/admin/users/{id}/reset");
    let response = admin.submit(&path, &path, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/admin/users?shown="), "{location}");
    let html = admin.get_html(&location).await;
    let marker = "id=\"temporary-password\">";
    let start = html.find(marker).expect("the temporary password is shown") + marker.len();
    let temporary = html[start..start + html[start..].find('<').unwrap()].to_owned();
    assert!(
        !admin.get_html(&location).await.contains(&temporary),
        "shown only once: reloading shows nothing and resets nothing"
    );
    temporary
}

/// Sets the student's new cards per day on /account (UTC, days starting at 04:00).
pub async fn set_new_per_day(app: &TestApp, n: &str) {
    let response = app
        .submit(
            "/account",
            "/account/preferences",
            &[
                ("time_zone", "UTC"),
                ("day_starts_hour", "4"),
                ("new_per_day", n),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

/// A grade of `card_id` by SM-2 student `user_id` on `today` (decks 1 and 2 visible), as the
/// batch writer takes it, with the student's new-card limit and exams.
pub fn sm2_grade(
    user_id: i64,
    today: i32,
    now: jiff::Timestamp,
    card_id: i64,
    quality: u8,
    new_per_day: u32,
    exams: Arc<[studyhall::srs::exam::ExamWindow]>,
) -> studyhall::study::review::GradeRequest {
    studyhall::study::review::GradeRequest {
        user_id,
        today,
        new_per_day,
        card_id,
        grade: studyhall::domain::Grade::try_from(quality).unwrap(),
        extras: studyhall::study::review::GradeExtras::default(),
        now,
        allowed_decks: vec![1, 2].into(),
        seen_today: None,
        scheduler: studyhall::srs::scheduler::Scheduler::Sm2,
        fsrs_parameters: Vec::new().into(),
        exams,
    }
}

/// A card's standing grades and repeats, (study day, quality), oldest first: what its
/// schedule is the fold of.
pub async fn standing_events(pool: &SqlitePool, user: i64, card: i64) -> Vec<(i32, u8)> {
    let history: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT study_day, quality FROM standing_reviews
         WHERE user_id = $1 AND card_id = $2 ORDER BY id",
    )
    .bind(user)
    .bind(card)
    .fetch_all(pool)
    .await
    .unwrap();
    history.iter().map(|&(d, q)| (d as i32, q as u8)).collect()
}
