//! A real server on a random port with a fresh store, and a browser-like client that keeps
//! cookies and does not follow redirects. The store is a new SQLite file, or, when
//! `STUDYHALL_TEST_POSTGRES` names a PostgreSQL server (`scripts/with-postgres` sets it), a new
//! database on that server: the same tests then prove the same behaviour on PostgreSQL.
// The helpers open the test's SQLite file itself, below the server.
#![allow(clippy::disallowed_types)]

use actix_web::dev::ServerHandle;
use reqwest::multipart::{Form, Part};
use reqwest::{Client, Response, StatusCode};
use std::path::PathBuf;
use std::sync::Arc;
use studyhall::clock::Clock;
use studyhall::config::Settings;
use studyhall::db::Pool as SqlitePool;
use studyhall::web::startup::Application;
use tempfile::TempDir;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub address: String,
    pub settings: Settings,
    pub client: Client,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    dir: Arc<TempDir>,
    /// The store opened as the server opens it, once, for the tests that call `db` directly.
    store: Arc<tokio::sync::OnceCell<studyhall::db::Db>>,
}

pub fn client() -> Client {
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

/// Whether the suite runs on PostgreSQL: the tests of SQLite's own file (its migrations from
/// earlier versions, its checkpoints, `studyhall backup`) have nothing to test there.
pub fn on_postgres() -> bool {
    postgres_server().is_some()
}

/// A new, empty database on the test server, as a URL.
pub async fn new_postgres_database(server: &str) -> String {
    use sqlx::Connection;
    let name = format!("t_{}", hex::encode(rand::random::<[u8; 8]>()));
    let mut conn = sqlx::PgConnection::connect(server).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let base = server.rsplit_once('/').map_or(server, |(base, _)| base);
    format!("{base}/{name}")
}

/// A fresh store for one test: a file in `dir`, or a new PostgreSQL database.
pub async fn fresh_store(dir: &TempDir) -> studyhall::db::Location {
    match postgres_server() {
        None => studyhall::db::Location::File(dir.path().join("data").join("test.db")),
        Some(server) => studyhall::db::Location::Postgres(new_postgres_database(&server).await),
    }
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = Settings::for_database(fresh_store(&dir).await);
    settings.clock = Clock::system();
    configure(&mut settings);
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

    pub async fn pool(&self) -> SqlitePool {
        studyhall::db::connect(&self.settings.database)
            .await
            .unwrap()
    }

    /// A second app server on the same store (and the same browser: cookies are kept per
    /// host, not per port), as a load balancer would put beside the first.
    pub async fn second_server(&self) -> TestApp {
        let mut app = start(self.settings.clone(), self.dir.clone()).await;
        app.client = self.client.clone();
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
