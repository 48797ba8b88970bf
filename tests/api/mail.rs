//! Mail (issue 27) through the real server: the address on /account confirmed by a link, the
//! password reset by e-mail, and nothing of it without SMTP settings.
//!
//! Most tests read the links from the outbox table (the messages as the sender will send
//! them), so they run under plain `cargo test` and on PostgreSQL. The tests named
//! `smtp_...` need a real SMTP server: `scripts/with-smtp` starts aiosmtpd and runs them; they
//! read the messages it received from its maildir, and follow their links against the app.

use crate::helpers::{PASSWORD, TestApp, csrf_in, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use std::time::Duration;
use studyhall::mail::{MailSettings, Tls};

/// The site's public address in messages (the tests swap it for the app's own).
const PUBLIC: &str = "http://studyhall.test";

/// Mail settings sending to `port` on the loopback interface, in plain text.
fn settings(port: u16) -> MailSettings {
    MailSettings {
        host: "127.0.0.1".to_owned(),
        port,
        tls: Tls::None,
        user: None,
        password: None,
        from: "studyhall <noreply@studyhall.test>".to_owned(),
        public_url: PUBLIC.to_owned(),
        ca_file: None,
    }
}

/// An app whose mail goes to a port nothing listens on: the messages wait in the outbox,
/// where these tests read them.
async fn app_with_outbox() -> TestApp {
    spawn_app_with(|s| s.mail = Some(settings(9))).await
}

/// The newest message of `kind` to `to` in the outbox: (subject, text).
async fn newest(app: &TestApp, to: &str, kind: &str) -> Option<(String, String)> {
    sqlx::query_as(
        "SELECT subject, body_text FROM outbox WHERE to_address = $1 AND kind = $2
         ORDER BY id DESC LIMIT 1",
    )
    .bind(to)
    .bind(kind)
    .fetch_optional(app.db().await.reader())
    .await
    .unwrap()
}

async fn count_messages(app: &TestApp, to: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE to_address = $1")
        .bind(to)
        .fetch_one(app.db().await.reader())
        .await
        .unwrap()
}

/// The first link to the site in `text`, as a path on the app.
fn link_in(text: &str) -> String {
    let start = text.find(PUBLIC).expect("a link to the site") + PUBLIC.len();
    text[start..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .next()
        .unwrap()
        .replace("&amp;", "&")
}

/// The kinds of message the tests read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Confirm,
    Reset,
    Reminder,
}

impl Kind {
    /// The outbox's name for it.
    fn name(self) -> &'static str {
        match self {
            Kind::Confirm => "confirm",
            Kind::Reset => "reset",
            Kind::Reminder => "reminder",
        }
    }

    /// Whether a delivered message is of this kind: by its subject; a reminder by its RFC 8058
    /// header, which only reminders carry.
    fn is(self, raw: &str) -> bool {
        let subject = header(raw, "Subject").unwrap_or_default();
        match self {
            Kind::Confirm => subject.contains("confirm your e-mail address"),
            Kind::Reset => subject.contains("reset your password"),
            Kind::Reminder => header(raw, "List-Unsubscribe-Post").is_some(),
        }
    }
}

/// A message as a test reads it: when the site wrote it (its clock), and its text.
#[derive(Debug)]
struct Mail {
    at: jiff::Timestamp,
    text: String,
}

/// Where a scenario reads the site's messages: the outbox table (the messages as the sender
/// will send them: plain `cargo test`, SQLite or PostgreSQL), or the maildir of the SMTP server
/// the app's own sender delivered them to (`scripts/with-smtp`).
enum Inbox {
    Outbox,
    Maildir(std::path::PathBuf),
}

impl Inbox {
    /// The maildir of `scripts/with-smtp`'s server.
    fn smtp() -> Self {
        Inbox::Maildir(smtp_server().1)
    }

    /// An app whose messages land where this inbox reads them.
    async fn app(&self) -> TestApp {
        match self {
            Inbox::Outbox => app_with_outbox().await,
            Inbox::Maildir(_) => {
                let (port, _) = smtp_server();
                spawn_app_with(|s| s.mail = Some(settings(port))).await
            }
        }
    }

    /// An address for `name`; in the maildir, which every test (and run) shares, one of its own.
    fn address(&self, name: &str) -> String {
        match self {
            Inbox::Outbox => format!("{name}@example.org"),
            Inbox::Maildir(_) => format!(
                "{name}-{}@example.org",
                hex::encode(rand::random::<[u8; 4]>())
            ),
        }
    }

    /// The messages of `kind` to `to` so far, oldest first.
    async fn read(&self, app: &TestApp, to: &str, kind: Kind) -> Vec<Mail> {
        match self {
            Inbox::Outbox => {
                let rows: Vec<(i64, String)> = sqlx::query_as(
                    "SELECT created_at, body_text FROM outbox WHERE to_address = $1 AND kind = $2
                     ORDER BY id",
                )
                .bind(to)
                .bind(kind.name())
                .fetch_all(app.db().await.reader())
                .await
                .unwrap();
                rows.into_iter()
                    .map(|(ms, text)| Mail {
                        at: jiff::Timestamp::from_millisecond(ms).unwrap(),
                        text,
                    })
                    .collect()
            }
            Inbox::Maildir(dir) => maildir_messages(dir, to)
                .into_iter()
                .filter(|raw| kind.is(raw))
                .map(|raw| {
                    let date = header(&raw, "Date").expect("a Date header");
                    let at = jiff::fmt::rfc2822::parse(date)
                        .unwrap_or_else(|e| panic!("{date:?}: {e}"))
                        .timestamp();
                    let body = raw.split_once("\n\n").map_or("", |(_, body)| body);
                    Mail {
                        at,
                        text: decoded(body),
                    }
                })
                .collect(),
        }
    }

    /// The messages of `kind` to `to`, oldest first, once there are at least `count` (waiting
    /// up to 15 s for them to be written, and delivered).
    async fn wait(&self, app: &TestApp, to: &str, kind: Kind, count: usize) -> Vec<Mail> {
        self.settled_or_not(app, to, kind, count, false).await
    }

    /// [`Inbox::wait`], and with the maildir once none of them waits in the outbox any more
    /// (every one written is delivered, or failed): the whole of what `to` gets.
    async fn settled(&self, app: &TestApp, to: &str, kind: Kind, count: usize) -> Vec<Mail> {
        self.settled_or_not(app, to, kind, count, true).await
    }

    async fn settled_or_not(
        &self,
        app: &TestApp,
        to: &str,
        kind: Kind,
        count: usize,
        settled: bool,
    ) -> Vec<Mail> {
        for _ in 0..150 {
            let waiting: i64 = match self {
                Inbox::Maildir(_) if settled => sqlx::query_scalar(
                    "SELECT COUNT(*) FROM outbox WHERE to_address = $1 AND kind = $2
                       AND state IN ('pending', 'sending')",
                )
                .bind(to)
                .bind(kind.name())
                .fetch_one(app.db().await.reader())
                .await
                .unwrap(),
                _ => 0,
            };
            if waiting == 0 {
                let found = self.read(app, to, kind).await;
                if found.len() >= count {
                    return found;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("fewer than {count} messages of {kind:?} reached {to}");
    }
}

/// The messages in the maildir `dir` to `to`, raw (lines ending in `\n`), in the order they
/// arrived.
fn maildir_messages(dir: &std::path::Path, to: &str) -> Vec<String> {
    let mut found = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            let raw = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let unfolded = raw.replace("\r\n", "\n");
            if unfolded
                .lines()
                .take_while(|l| !l.is_empty())
                .any(|l| l.eq_ignore_ascii_case(&format!("To: {to}")))
            {
                let arrived = entry.metadata().and_then(|m| m.modified()).ok();
                found.push((arrived, entry.file_name(), unfolded));
            }
        }
    }
    found.sort();
    found.into_iter().map(|(_, _, raw)| raw).collect()
}

async fn set_address(app: &TestApp, address: &str) -> reqwest::Response {
    app.submit("/account", "/account/email", &[("address", address)])
        .await
}

/// Opens a confirmation link and presses its page's button, as a person does: (the page the
/// link opens, the response to the button).
async fn confirm_by_link(browser: &TestApp, link: &str) -> (String, reqwest::Response) {
    let page = browser.get_html(link).await;
    let token = page
        .split("name=\"token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("a button with the link's token: {page}"))
        .to_owned();
    // No session cookie and no CSRF token needed: the link's token is the authority.
    let response = reqwest::Client::new()
        .post(browser.url("/account/email/confirm"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    (page, response)
}

async fn confirmed_address(app: &TestApp, name: &str, address: &str) {
    confirmed_address_via(&Inbox::Outbox, app, name, address).await;
}

/// Registers `name` and confirms `address` by the link of the confirmation `inbox` holds.
async fn confirmed_address_via(inbox: &Inbox, app: &TestApp, name: &str, address: &str) {
    app.register_ok(name).await;
    let response = set_address(app, address).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let text = inbox
        .wait(app, address, Kind::Confirm, 1)
        .await
        .pop()
        .expect("a confirmation")
        .text;
    let (_, confirmed) = confirm_by_link(app, &link_in(&text)).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let page = confirmed.text().await.unwrap();
    assert!(page.contains("id=\"email-confirmed\""), "{page}");
}

async fn ask_reset(browser: &TestApp, name: &str) -> (StatusCode, String) {
    let response = browser
        .submit("/password/forgot", "/password/forgot", &[("name", name)])
        .await;
    let status = response.status();
    (status, response.text().await.unwrap())
}

async fn choose(browser: &TestApp, link: &str, new: &str) -> reqwest::Response {
    let page = browser.get(link).await;
    let html = page.text().await.unwrap();
    let token = link.split("token=").nth(1).unwrap_or_default().to_owned();
    let csrf = if html.contains("csrf_token") {
        csrf_in(&html)
    } else {
        csrf_in(&browser.get_html("/password/forgot").await)
    };
    browser
        .post_form(
            "/password/reset",
            &[
                ("csrf_token", &csrf),
                ("token", &token),
                ("new", new),
                ("confirm", new),
            ],
        )
        .await
}

#[tokio::test]
async fn without_smtp_settings_no_mail_feature_shows_or_answers() {
    let app = spawn_app().await;
    let login = app.get_html("/login").await;
    assert!(!login.contains("Forgot"), "{login}");
    app.register_ok("nomail").await;
    let account = app.get_html("/account").await;
    assert!(!account.contains("id=\"email\""));
    for path in [
        "/password/forgot",
        "/password/reset?token=x",
        "/account/email/confirm?token=x",
    ] {
        assert_eq!(
            app.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn an_address_is_confirmed_by_a_single_use_link_and_shown_only_to_its_owner() {
    let app = app_with_outbox().await;
    assert!(
        app.get_html("/login")
            .await
            .contains(">Forgot your password?<")
    );
    app.register_ok("ana").await;
    for bad in [
        "not-an-address",
        "ana@example.org\r\nBcc: eve@example.org",
        "Ana <ana@example.org>",
        "ana@example.org, eve@example.org",
    ] {
        let response = set_address(&app, bad).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad:?}"
        );
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("not an e-mail address")
        );
    }
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM outbox")
            .fetch_one(app.db().await.reader())
            .await
            .unwrap(),
        0,
        "bad input sends nothing"
    );
    let response = set_address(&app, "ana@example.org").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let account = app.get_html("/account").await;
    assert!(
        account.contains("ana@example.org: not confirmed yet"),
        "{account}"
    );
    let (subject, text) = newest(&app, "ana@example.org", "confirm").await.unwrap();
    assert!(subject.contains("confirm your e-mail address"));
    assert!(text.contains("\"ana\"") && text.contains("You got this message because"));
    let link = link_in(&text);
    let token = link.split("token=").nth(1).unwrap();
    // Only the token's hash is stored.
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_tokens WHERE token_hash = $1")
        .bind(token)
        .fetch_one(app.db().await.reader())
        .await
        .unwrap();
    assert_eq!(stored, 0);
    // Opening the link (as a mail program's link checker does, twice) confirms nothing: its
    // page asks, with a button.
    let other = app.other_browser();
    for _ in 0..2 {
        let opened = other.get(&link).await;
        assert_eq!(opened.status(), StatusCode::OK);
        let page = opened.text().await.unwrap();
        assert!(page.contains("id=\"email-confirm\""), "{page}");
        assert!(!page.contains("id=\"email-confirmed\""), "{page}");
    }
    assert!(
        app.get_html("/account")
            .await
            .contains("ana@example.org: not confirmed yet"),
        "a GET changed nothing"
    );
    // The button, from another browser, not signed in: it works, once.
    let (_, confirmed) = confirm_by_link(&other, &link).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    assert!(
        confirmed
            .text()
            .await
            .unwrap()
            .contains("id=\"email-confirmed\"")
    );
    assert!(
        app.get_html("/account")
            .await
            .contains("ana@example.org: confirmed.")
    );
    let again = other.get(&link).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    let twice = reqwest::Client::new()
        .post(app.url("/account/email/confirm"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), StatusCode::BAD_REQUEST, "used once");
    // A forged token does nothing, opened or posted.
    let forged = "0000000000000000000000000000000000000000000000000000000000000000";
    let opened = other
        .get(&format!("/account/email/confirm?token={forged}"))
        .await;
    assert_eq!(opened.status(), StatusCode::BAD_REQUEST);
    let posted = reqwest::Client::new()
        .post(app.url("/account/email/confirm"))
        .form(&[("token", forged)])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::BAD_REQUEST);
    // Another student sees none of it.
    other.register_ok("bea").await;
    for page in ["/account", "/decks", "/classes"] {
        assert!(
            !other.get_html(page).await.contains("ana@example.org"),
            "{page}"
        );
    }
    // A changed address needs its own confirmation; the old link cannot confirm it.
    set_address(&app, "ana@uni.example.edu").await;
    assert!(
        app.get_html("/account")
            .await
            .contains("ana@uni.example.edu: not confirmed yet")
    );
    // Its link, opened after the address changed again, offers no button that would fail.
    let (_, text) = newest(&app, "ana@uni.example.edu", "confirm")
        .await
        .unwrap();
    let stale = link_in(&text);
    set_address(&app, "ana@lab.example.edu").await;
    let opened = other.get(&stale).await;
    assert_eq!(opened.status(), StatusCode::BAD_REQUEST);
    assert!(
        !opened
            .text()
            .await
            .unwrap()
            .contains("id=\"email-confirm\"")
    );
}

#[tokio::test]
async fn a_reset_link_works_once_within_the_hour_and_ends_every_session() {
    reset_link_works_once_within_the_hour_and_ends_every_session(&Inbox::Outbox).await;
}

/// The same, with the links taken from the messages the SMTP server received.
#[tokio::test]
#[ignore = "needs an SMTP server: scripts/with-smtp"]
async fn smtp_a_delivered_reset_link_works_once_within_the_hour_and_ends_every_session() {
    reset_link_works_once_within_the_hour_and_ends_every_session(&Inbox::smtp()).await;
}

async fn reset_link_works_once_within_the_hour_and_ends_every_session(inbox: &Inbox) {
    let app = inbox.app().await;
    let carla = inbox.address("carla");
    let carla = carla.as_str();
    confirmed_address_via(inbox, &app, "carla", carla).await;
    let phone = app.other_browser();
    assert_eq!(
        phone.login("carla", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let stranger = app.other_browser();
    // The same answer whether or not the account exists.
    let (status, known) = ask_reset(&stranger, "carla").await;
    assert_eq!(status, StatusCode::OK);
    let (status, unknown) = ask_reset(&stranger, "nobody-here").await;
    assert_eq!(status, StatusCode::OK);
    let (status, by_address) = ask_reset(&stranger, &carla.to_uppercase()).await;
    assert_eq!(status, StatusCode::OK);
    for page in [&known, &unknown, &by_address] {
        assert!(page.contains("id=\"reset-sent\""));
    }
    let strip = |p: &str| {
        p.lines()
            .filter(|l| !l.contains("csrf"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&known), strip(&unknown));
    let resets = inbox.settled(&app, carla, Kind::Reset, 2).await;
    assert_eq!(resets.len(), 2, "two resets");
    assert_eq!(
        count_messages(&app, carla).await,
        3,
        "one confirm, two resets"
    );
    // Only the newest link works.
    let newest_link = link_in(&resets[1].text);
    let older_link = link_in(&resets[0].text);
    assert_ne!(older_link, newest_link);
    assert_eq!(
        stranger.get(&older_link).await.status(),
        StatusCode::BAD_REQUEST
    );
    let form = stranger.get_html(&newest_link).await;
    assert!(form.contains("carla"));
    // A weak password is refused and the link still works.
    let weak = choose(&stranger, &newest_link, "short").await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let done = choose(&stranger, &newest_link, "a brand new passphrase").await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("id=\"reset-done\""));
    // Used once: refused after.
    assert_eq!(
        stranger.get(&newest_link).await.status(),
        StatusCode::BAD_REQUEST
    );
    let twice = choose(&stranger, &newest_link, "yet another passphrase").await;
    assert_eq!(twice.status(), StatusCode::BAD_REQUEST);
    // Every session ended.
    for browser in [&app, &phone] {
        let response = browser.get("/account").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    assert_eq!(
        stranger.login("carla", PASSWORD).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        stranger
            .login("carla", "a brand new passphrase")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn an_account_made_by_sign_on_gets_no_reset_link() {
    // A reset would give it a password, and a way in past the provider and its groups.
    let app = app_with_outbox().await;
    confirmed_address(&app, "dora", "dora@example.org").await;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE username = 'dora'")
        .bind(studyhall::study::sso::NO_PASSWORD)
        .execute(app.db().await.writer())
        .await
        .unwrap();
    let (status, page) = ask_reset(&app.other_browser(), "dora").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("id=\"reset-sent\""),
        "the same answer as always"
    );
    requests_done(&app).await;
    assert_eq!(newest(&app, "dora@example.org", "reset").await, None);
}

/// Waits until the reset requests made so far are done: the worker takes them in order, so
/// once a request made after them has its message, they are done too.
async fn requests_done(app: &TestApp) {
    let name = format!("last{}", hex::encode(rand::random::<[u8; 3]>()));
    let address = format!("{name}@example.org");
    confirmed_address(&app.other_browser(), &name, &address).await;
    ask_reset(&app.other_browser(), &name).await;
    Inbox::Outbox.wait(app, &address, Kind::Reset, 1).await;
}

#[tokio::test]
async fn a_reset_link_is_void_after_an_hour_and_after_a_password_change() {
    reset_link_is_void_after_an_hour_and_after_a_password_change(&Inbox::Outbox).await;
}

/// The same, with the links taken from the messages the SMTP server received.
#[tokio::test]
#[ignore = "needs an SMTP server: scripts/with-smtp"]
async fn smtp_a_delivered_reset_link_is_void_after_an_hour_and_after_a_password_change() {
    reset_link_is_void_after_an_hour_and_after_a_password_change(&Inbox::smtp()).await;
}

async fn reset_link_is_void_after_an_hour_and_after_a_password_change(inbox: &Inbox) {
    let app = inbox.app().await;
    let dora = inbox.address("dora");
    confirmed_address_via(inbox, &app, "dora", &dora).await;
    let stranger = app.other_browser();
    ask_reset(&stranger, "dora").await;
    let text = inbox.wait(&app, &dora, Kind::Reset, 1).await.remove(0).text;
    let link = link_in(&text);
    // The movable clock runs on from real time, so the margins are a minute each: a loaded
    // machine once took more than a second between asking for the link and opening it.
    app.clock().advance(3540);
    assert_eq!(stranger.get(&link).await.status(), StatusCode::OK);
    app.clock().advance(120);
    assert_eq!(stranger.get(&link).await.status(), StatusCode::BAD_REQUEST);
    // A new link, then a password change on the account page: the link is void.
    ask_reset(&stranger, "dora").await;
    let text = inbox.wait(&app, &dora, Kind::Reset, 2).await.remove(1).text;
    let link = link_in(&text);
    assert_eq!(stranger.get(&link).await.status(), StatusCode::OK);
    let changed = app
        .submit(
            "/account",
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", "changed passphrase here"),
                ("confirm", "changed passphrase here"),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert_eq!(stranger.get(&link).await.status(), StatusCode::BAD_REQUEST);
    let refused = choose(&stranger, &link, "a brand new passphrase").await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn reset_requests_are_throttled_per_address_and_capped_per_account() {
    let app = app_with_outbox().await;
    confirmed_address(&app, "emil", "emil@example.org").await;
    let stranger = app.other_browser();
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(ask_reset(&stranger, "emil").await.0);
    }
    assert!(
        statuses[..5].iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    requests_done(&app).await;
    let resets: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'reset' AND to_address = 'emil@example.org'",
    )
    .fetch_one(app.db().await.reader())
    .await
    .unwrap();
    assert_eq!(resets, 3, "at most three an hour reach one account");
}

// ---- against a real SMTP server (scripts/with-smtp) ----

/// The SMTP server's port and maildir, from `scripts/with-smtp`.
fn smtp_server() -> (u16, std::path::PathBuf) {
    let port = std::env::var("STUDYHALL_TEST_SMTP_PORT")
        .expect("needs an SMTP server: run under scripts/with-smtp")
        .parse()
        .unwrap();
    let dir = std::env::var("STUDYHALL_TEST_MAILDIR").unwrap();
    (port, dir.into())
}

/// The messages in the maildir to `to`, raw, waiting up to 15 s for `count` of them.
async fn delivered(dir: &std::path::Path, to: &str, count: usize) -> Vec<String> {
    for _ in 0..150 {
        let found = maildir_messages(dir, to);
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {count} messages reached {to}");
}

/// A header's value in a raw message.
fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.lines().take_while(|l| !l.is_empty()).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The body with quoted-printable soft breaks and `=3D` undone.
fn decoded(raw: &str) -> String {
    raw.replace("=\n", "").replace("=3D", "=")
}

#[tokio::test]
#[ignore = "needs an SMTP server: scripts/with-smtp"]
async fn smtp_mail_confirm_and_reset_arrive_once_with_their_headers_and_working_links() {
    let (port, dir) = smtp_server();
    let app = spawn_app_with(|s| s.mail = Some(settings(port))).await;
    let tag = hex::encode(rand::random::<[u8; 4]>());
    let address = format!("fay-{tag}@example.org");
    app.register_ok("fay").await;
    assert_eq!(
        set_address(&app, &address).await.status(),
        StatusCode::SEE_OTHER
    );
    let messages = delivered(&dir, &address, 1).await;
    let raw = &messages[0];
    assert_eq!(
        header(raw, "From"),
        Some("studyhall <noreply@studyhall.test>")
    );
    assert!(
        header(raw, "Subject")
            .unwrap()
            .contains("confirm your e-mail address")
    );
    assert!(
        header(raw, "Message-ID")
            .unwrap()
            .ends_with("@studyhall.test>")
    );
    assert!(
        header(raw, "List-Unsubscribe").is_none(),
        "a confirmation is not a list"
    );
    assert!(raw.contains("multipart/alternative") && raw.contains("text/html"));
    let link = link_in(&decoded(raw));
    let (_, confirmed) = confirm_by_link(&app, &link).await;
    assert!(
        confirmed
            .text()
            .await
            .unwrap()
            .contains("id=\"email-confirmed\"")
    );
    // The password reset, from the login page's link.
    let stranger = app.other_browser();
    let login = stranger.get_html("/login").await;
    assert!(login.contains("href=\"/password/forgot\""));
    ask_reset(&stranger, &address).await;
    let messages = delivered(&dir, &address, 2).await;
    let reset = messages
        .iter()
        .find(|m| header(m, "Subject").is_some_and(|s| s.contains("reset your password")))
        .expect("the reset message");
    let link = link_in(&decoded(reset));
    let done = choose(&stranger, &link, "a brand new passphrase").await;
    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(stranger.get(&link).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        stranger
            .login("fay", "a brand new passphrase")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    // Each arrived once.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(delivered(&dir, &address, 2).await.len(), 2);
    // A reminder, tomorrow at this hour: with the RFC 8058 headers, whose link works with
    // no login, twice.
    let fay = app.other_browser();
    assert_eq!(
        fay.login("fay", "a brand new passphrase").await.status(),
        StatusCode::SEE_OTHER
    );
    set_zone(&fay, "UTC").await;
    for _ in 0..2 {
        fay.grade_next(1, Some(1)).await;
    }
    app.clock().advance(86_400);
    let hour = app
        .clock()
        .now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .hour()
        .to_string();
    assert_eq!(
        choose_reminders(&fay, "daily", &hour).await.status(),
        StatusCode::SEE_OTHER
    );
    let site = studyhall::mail::Site {
        public_url: PUBLIC.to_owned(),
    };
    let now = app.clock().now();
    let written = studyhall::study::reminders::pass(app.db().await, &site, now)
        .await
        .unwrap();
    assert_eq!(written, 1);
    let messages = delivered(&dir, &address, 3).await;
    let reminder = messages
        .iter()
        .find(|m| header(m, "Subject").is_some_and(|s| s.contains("due today")))
        .expect("the reminder");
    assert_eq!(
        header(reminder, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let unsubscribe = header(reminder, "List-Unsubscribe").unwrap();
    let unsubscribe = unsubscribe.trim_start_matches('<').trim_end_matches('>');
    assert!(unsubscribe.starts_with(&format!("{PUBLIC}/mail/unsubscribe?token=")));
    let text = decoded(reminder);
    assert!(text.contains("2 cards are due"), "{text}");
    assert!(text.contains(&format!("{PUBLIC}/review")));
    let path = link_in(unsubscribe);
    assert_eq!(one_click(&app, &path).await, StatusCode::OK);
    assert_eq!(one_click(&app, &path).await, StatusCode::OK);
    assert!(
        fay.get_html("/account")
            .await
            .contains("value=\"off\" checked")
    );
    // The sent links (live for a day, an hour) are not kept in the outbox's words; the
    // reminder's are.
    let kept: Vec<(String, String)> =
        sqlx::query_as("SELECT kind, body_text FROM outbox WHERE state = 'sent' ORDER BY id")
            .fetch_all(app.db().await.reader())
            .await
            .unwrap();
    assert!(kept.iter().any(|(kind, _)| kind == "reset"), "{kept:?}");
    for (kind, text) in &kept {
        assert_eq!(
            text.is_empty(),
            kind == "reset" || kind == "confirm",
            "{kind}"
        );
    }
}

/// The TLS servers of `scripts/with-smtp`: (TLS from the first byte, STARTTLS, the file of the
/// authority that signed their certificate).
fn tls_servers() -> (u16, u16, std::path::PathBuf) {
    let port = |name: &str| {
        std::env::var(name)
            .unwrap_or_else(|_| panic!("{name}: run under scripts/with-smtp"))
            .parse()
            .unwrap()
    };
    let ca = std::env::var("STUDYHALL_TEST_SMTP_CA").expect("run under scripts/with-smtp");
    (
        port("STUDYHALL_TEST_SMTPS_PORT"),
        port("STUDYHALL_TEST_STARTTLS_PORT"),
        ca.into(),
    )
}

/// A message to `to`, as the outbox holds it.
fn plain_message(to: &str, subject: &str) -> studyhall::mail::Outgoing {
    studyhall::mail::Outgoing {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text: "Hello over TLS".to_owned(),
        html: "<p>Hello over TLS</p>".to_owned(),
        unsubscribe_url: None,
        message_id: format!(
            "<{}@studyhall.test>",
            hex::encode(rand::random::<[u8; 8]>())
        ),
        written_at: jiff::Timestamp::now(),
    }
}

/// `smtp_tls = tls` and `starttls` against servers whose certificate the operator's own
/// authority signed (`smtp_ca_file`): each message arrives once. (The STARTTLS server refuses
/// any message before the upgrade: aiosmtpd's `require_starttls`.)
#[tokio::test]
#[ignore = "needs an SMTP server: scripts/with-smtp"]
async fn smtp_a_message_is_delivered_over_tls_and_over_starttls() {
    use studyhall::mail::Transport;
    let (_, dir) = smtp_server();
    let (smtps, starttls, ca) = tls_servers();
    for (tls, port) in [(Tls::Tls, smtps), (Tls::Starttls, starttls)] {
        let mut settings = settings(port);
        settings.tls = tls;
        settings.ca_file = Some(ca.clone());
        let transport = studyhall::mail::smtp::Smtp::new(&settings).unwrap();
        let to = format!("tls-{}@example.org", hex::encode(rand::random::<[u8; 4]>()));
        transport
            .send(&plain_message(&to, &format!("over {tls:?}")))
            .await
            .unwrap_or_else(|e| panic!("{tls:?}: {e}"));
        let raw = delivered(&dir, &to, 1).await;
        assert_eq!(raw.len(), 1, "{tls:?}");
        assert_eq!(
            header(&raw[0], "Subject"),
            Some(format!("over {tls:?}").as_str())
        );
        assert!(raw[0].contains("Hello over TLS"), "{tls:?}");
    }
}

/// The same servers without the operator's authority: their certificate is not trusted, the
/// send is refused before anything is sent, and the error says so and what to set; a file that
/// holds no certificate stops the server at start.
/// STARTTLS asked of a server that does not offer it (aiosmtpd's plain port) fails: no
/// silent fallback to plain text, nothing delivered.
#[tokio::test]
#[ignore = "needs an SMTP server: scripts/with-smtp"]
async fn smtp_starttls_against_a_server_without_it_fails_and_sends_nothing() {
    use studyhall::mail::Transport;
    let (port, dir) = smtp_server();
    let mut settings = settings(port);
    settings.tls = Tls::Starttls;
    let transport = studyhall::mail::smtp::Smtp::new(&settings).unwrap();
    let to = format!(
        "plain-{}@example.org",
        hex::encode(rand::random::<[u8; 4]>())
    );
    let error = transport
        .send(&plain_message(&to, "never in plain text"))
        .await
        .expect_err("no STARTTLS offered: refused");
    assert!(!error.permanent, "{}", error.message);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(maildir_messages(&dir, &to).is_empty(), "nothing was sent");
}

#[tokio::test]
#[ignore = "needs an SMTP server: scripts/with-smtp"]
async fn smtp_a_server_certificate_not_trusted_is_refused_with_a_clear_error() {
    use studyhall::mail::Transport;
    let (_, dir) = smtp_server();
    let (smtps, starttls, _) = tls_servers();
    let to = format!(
        "untrusted-{}@example.org",
        hex::encode(rand::random::<[u8; 4]>())
    );
    for (tls, port) in [(Tls::Tls, smtps), (Tls::Starttls, starttls)] {
        let mut settings = settings(port);
        settings.tls = tls;
        let transport = studyhall::mail::smtp::Smtp::new(&settings).unwrap();
        let error = transport
            .send(&plain_message(&to, "never"))
            .await
            .expect_err("an untrusted certificate is refused");
        assert!(
            !error.permanent,
            "{tls:?}: retried once the operator fixes it"
        );
        assert!(
            error.message.contains("certificate is not trusted")
                && error.message.contains("STUDYHALL_SMTP_CA_FILE"),
            "{tls:?}: {}",
            error.message
        );
    }
    assert!(maildir_messages(&dir, &to).is_empty(), "nothing was sent");
    // An authority file that is not one is refused at start.
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), "not a certificate").unwrap();
    let mut settings = settings(smtps);
    settings.tls = Tls::Tls;
    settings.ca_file = Some(bad.path().to_owned());
    let error = studyhall::mail::smtp::Smtp::new(&settings)
        .unwrap_err()
        .to_string();
    assert!(error.contains("smtp_ca_file"), "{error}");
}

// ---- reminders ----

async fn set_zone(app: &TestApp, zone: &str) {
    let response = app
        .submit(
            "/account",
            "/account/preferences",
            &[
                ("time_zone", zone),
                ("day_starts_hour", "4"),
                ("new_per_day", "20"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

async fn choose_reminders(app: &TestApp, how: &str, hour: &str) -> reqwest::Response {
    app.submit(
        "/account",
        "/account/reminders",
        &[("reminders", how), ("hour", hour)],
    )
    .await
}

/// A student in `zone` with a confirmed address, reminders `how` at `hour`, and three cards
/// graded today (due again from tomorrow).
async fn reminded_student(app: &TestApp, name: &str, zone: &str, how: &str, hour: &str) -> TestApp {
    let address = format!("{name}@example.org");
    reminded_student_at(&Inbox::Outbox, app, name, &address, zone, how, hour).await
}

/// [`reminded_student`] at `address`, confirmed by the link `inbox` holds.
async fn reminded_student_at(
    inbox: &Inbox,
    app: &TestApp,
    name: &str,
    address: &str,
    zone: &str,
    how: &str,
    hour: &str,
) -> TestApp {
    let browser = app.other_browser();
    confirmed_address_via(inbox, &browser, name, address).await;
    set_zone(&browser, zone).await;
    assert_eq!(
        choose_reminders(&browser, how, hour).await.status(),
        StatusCode::SEE_OTHER
    );
    for _ in 0..3 {
        browser.grade_next(1, Some(1)).await;
    }
    browser
}

/// The reminders written for `address`: (when, by the site's clock; text).
async fn reminders_to(app: &TestApp, address: &str) -> Vec<(jiff::Timestamp, String)> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT created_at, body_text FROM outbox WHERE to_address = $1 AND kind = 'reminder'
         ORDER BY id",
    )
    .bind(address)
    .fetch_all(app.db().await.reader())
    .await
    .unwrap();
    rows.into_iter()
        .map(|(ms, text)| (jiff::Timestamp::from_millisecond(ms).unwrap(), text))
        .collect()
}

/// A one-click unsubscribe as a mail program sends it: no cookie, no CSRF token.
async fn one_click(app: &TestApp, link: &str) -> StatusCode {
    reqwest::Client::new()
        .post(app.url(link))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_of_reminders_across_time_zones_and_a_dst_change() {
    week_of_reminders_across_time_zones_and_a_dst_change(&Inbox::Outbox).await;
}

/// The same week, read from what the SMTP server received: the app's own sender delivers each
/// reminder, and each message's `Date` is when the site wrote it (the movable clock's time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs an SMTP server: scripts/with-smtp"]
async fn smtp_a_week_of_reminders_across_time_zones_and_a_dst_change() {
    week_of_reminders_across_time_zones_and_a_dst_change(&Inbox::smtp()).await;
}

async fn week_of_reminders_across_time_zones_and_a_dst_change(inbox: &Inbox) {
    let app = inbox.app().await;
    app.register_ok("admin").await;
    let [gus, hana, ivo, joan] = ["gus", "hana", "ivo", "joan"].map(|n| inbox.address(n));
    let gus_browser =
        reminded_student_at(inbox, &app, "gus", &gus, "America/New_York", "daily", "18").await;
    reminded_student_at(inbox, &app, "hana", &hana, "Asia/Tokyo", "daily", "7").await;
    reminded_student_at(inbox, &app, "ivo", &ivo, "UTC", "weekly", "9").await;
    reminded_student_at(inbox, &app, "joan", &joan, "UTC", "off", "9").await;
    let site = studyhall::mail::Site {
        public_url: PUBLIC.to_owned(),
    };
    let db = app.db().await.clone();
    // To 2027-03-09 20:00 UTC: 15:00 in New York (EST), 05:00 on the 10th in Tokyo. New
    // York moves to EDT on Sunday the 14th; Monday is the 15th.
    let start: jiff::Timestamp = "2027-03-09T20:00:00Z".parse().unwrap();
    let now = app.clock().now();
    assert!(start > now, "the test's week is ahead of the clock");
    app.clock().advance(start.as_second() - now.as_second());
    let new_york = jiff::tz::TimeZone::get("America/New_York").unwrap();
    let tokyo = jiff::tz::TimeZone::get("Asia/Tokyo").unwrap();
    let mut unsubscribed = false;
    for _ in 0..(8 * 24) {
        app.clock().advance(3600);
        let now = app.clock().now();
        // Gus studies on the 12th in the morning: no reminder that day.
        let gus_local = now.to_zoned_datetime(new_york.clone());
        if gus_local.date() == jiff::civil::date(2027, 3, 12) && gus_local.hour() == 10 {
            // (Three months on, the session from the start has run out.)
            assert_eq!(
                gus_browser.login("gus", PASSWORD).await.status(),
                StatusCode::SEE_OTHER
            );
            gus_browser.grade_next(1, Some(1)).await;
        }
        studyhall::study::reminders::pass(&db, &site, now)
            .await
            .unwrap();
        // Hana stops them on the 13th at noon, with the link in her last reminder.
        let hana_local = now.to_zoned_datetime(tokyo.clone());
        if !unsubscribed
            && hana_local.date() == jiff::civil::date(2027, 3, 13)
            && hana_local.hour() == 12
        {
            let text = inbox
                .settled(&app, &hana, Kind::Reminder, 4)
                .await
                .pop()
                .unwrap()
                .text;
            let at = text.find("/mail/unsubscribe").unwrap();
            let path = text[at..].split_whitespace().next().unwrap().to_owned();
            assert_eq!(one_click(&app, &path).await, StatusCode::OK);
            assert_eq!(one_click(&app, &path).await, StatusCode::OK, "idempotent");
            let multipart = reqwest::Client::new()
                .post(app.url(&path))
                .multipart(reqwest::multipart::Form::new().text("List-Unsubscribe", "One-Click"))
                .send()
                .await
                .unwrap();
            assert_eq!(
                multipart.status(),
                StatusCode::OK,
                "multipart, as RFC 8058 allows"
            );
            unsubscribed = true;
        }
    }
    assert!(unsubscribed);
    // Gus: one a day at 18:00 his time, from the 9th to the 16th, but none on the 12th.
    let sent = inbox.settled(&app, &gus, Kind::Reminder, 7).await;
    let days: Vec<jiff::civil::Date> = sent
        .iter()
        .map(|m| m.at.to_zoned_datetime(new_york.clone()).date())
        .collect();
    let expected: Vec<jiff::civil::Date> = [9, 10, 11, 13, 14, 15, 16]
        .into_iter()
        .map(|d| jiff::civil::date(2027, 3, d))
        .collect();
    assert_eq!(days, expected);
    assert!(
        sent.iter()
            .all(|m| m.at.to_zoned_datetime(new_york.clone()).hour() == 18),
        "{:?}",
        sent.iter().map(|m| m.at).collect::<Vec<_>>()
    );
    let utc_hours: std::collections::BTreeSet<i8> = sent
        .iter()
        .map(|m| m.at.to_zoned_datetime(jiff::tz::TimeZone::UTC).hour())
        .collect();
    assert_eq!(
        utc_hours.len(),
        2,
        "18:00 in New York is 23:00 UTC, then 22:00"
    );
    let text = &sent[0].text;
    assert!(text.contains("3 cards are due"), "{text}");
    assert!(text.contains(&format!("{PUBLIC}/review")));
    // Hana: the 10th to the 13th at 07:00 Tokyo time, then nothing.
    let sent = inbox.settled(&app, &hana, Kind::Reminder, 4).await;
    let days: Vec<jiff::civil::Date> = sent
        .iter()
        .map(|m| m.at.to_zoned_datetime(tokyo.clone()).date())
        .collect();
    assert_eq!(
        days,
        (10..=13)
            .map(|d| jiff::civil::date(2027, 3, d))
            .collect::<Vec<_>>()
    );
    assert!(
        sent.iter()
            .all(|m| m.at.to_zoned_datetime(tokyo.clone()).hour() == 7)
    );
    // Ivo's weekly digest: Monday the 15th at 09:00 UTC only; Joan asked for none.
    let sent = inbox.settled(&app, &ivo, Kind::Reminder, 1).await;
    assert_eq!(sent.len(), 1);
    let at = sent[0].at.to_zoned_datetime(jiff::tz::TimeZone::UTC);
    assert_eq!(at.date(), jiff::civil::date(2027, 3, 15));
    assert_eq!(at.hour(), 9);
    assert!(
        inbox
            .settled(&app, &joan, Kind::Reminder, 0)
            .await
            .is_empty()
    );
}

/// A reminder hour (02:00) before the hour the student's days start (04:00): the reminder is
/// about the study day that starts on its date, so last night's session (the study day before)
/// does not silence it, and the once-a-day mark is that same day's.
#[tokio::test]
async fn a_reminder_before_the_day_starts_is_about_the_coming_study_day() {
    let app = app_with_outbox().await;
    let pia = reminded_student(&app, "pia", "UTC", "daily", "2").await;
    let site = studyhall::mail::Site {
        public_url: PUBLIC.to_owned(),
    };
    let db = app.db().await.clone();
    let start: jiff::Timestamp = "2027-04-05T22:00:00Z".parse().unwrap();
    let now = app.clock().now();
    assert!(start > now, "the test's days are ahead of the clock");
    app.clock().advance(start.as_second() - now.as_second());
    // 22:00 on the 5th: she studies (study day the 5th); the pass then finds her done.
    assert_eq!(
        pia.login("pia", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    pia.grade_next(1, Some(1)).await;
    for _ in 0..(38 / 2) {
        studyhall::study::reminders::pass(&db, &site, app.clock().now())
            .await
            .unwrap();
        app.clock().advance(7200);
    }
    // To 12:00 on the 7th, a pass every two hours: one reminder on the 6th at 02:00 (her
    // session on the evening of the 5th was the day before's) and one on the 7th.
    let sent: Vec<String> = reminders_to(&app, "pia@example.org")
        .await
        .into_iter()
        .map(|(at, _)| at.strftime("%Y-%m-%d %H:%M").to_string())
        .collect();
    assert_eq!(sent, ["2027-04-06 02:00", "2027-04-07 02:00"]);
    let (_, text) = reminders_to(&app, "pia@example.org").await.remove(0);
    assert!(text.contains("cards are due"), "{text}");
}

/// A reminder sent at 02:00, before the student's study day starts at 04:00, counts the cards
/// due on the coming study day, which /review shows only from 04:00: it says so ("from
/// 04:00"), and from then on /review's count is the reminder's. Sent after the start, it says
/// nothing of the kind.
#[tokio::test]
async fn a_reminder_sent_before_the_day_starts_says_from_when_its_count_holds() {
    let app = app_with_outbox().await;
    let ria = reminded_student(&app, "ria", "UTC", "daily", "2").await;
    let ria_id = app.user_id("ria").await;
    let site = studyhall::mail::Site {
        public_url: PUBLIC.to_owned(),
    };
    let db = app.db().await.clone();
    let start: jiff::Timestamp = "2027-05-03T01:30:00Z".parse().unwrap();
    let now = app.clock().now();
    assert!(start > now, "the test's days are ahead of the clock");
    app.clock().advance(start.as_second() - now.as_second());
    // Of her three cards, one is due on the study day under way (the 2nd, until 04:00 on the
    // 3rd), two on the one that starts at 04:00.
    let day = |d| {
        i64::from(studyhall::srs::day::day_number(jiff::civil::date(
            2027, 5, d,
        )))
    };
    sqlx::query("UPDATE review_states SET due_day = $1 WHERE user_id = $2")
        .bind(day(3))
        .bind(ria_id)
        .execute(db.writer())
        .await
        .unwrap();
    sqlx::query(
        "UPDATE review_states SET due_day = $1 WHERE user_id = $2
           AND card_id = (SELECT MIN(card_id) FROM review_states WHERE user_id = $2)",
    )
    .bind(day(2))
    .bind(ria_id)
    .execute(db.writer())
    .await
    .unwrap();
    let due_today = |html: String| -> i64 {
        let at = html.find("id=\"due-today\">").expect("the due tile") + 15;
        html[at..]
            .split('<')
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    app.clock().advance(1800);
    assert_eq!(
        ria.login("ria", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    studyhall::study::reminders::pass(&db, &site, app.clock().now())
        .await
        .unwrap();
    let sent = reminders_to(&app, "ria@example.org").await;
    assert_eq!(sent.len(), 1);
    let text = &sent[0].1;
    assert!(
        text.contains("ria, 3 cards are due for review today from 04:00"),
        "{text}"
    );
    assert!(text.contains("Study from 04:00:"), "{text}");
    let (subject, _) = newest(&app, "ria@example.org", "reminder").await.unwrap();
    assert!(
        subject.ends_with("3 cards due today from 04:00"),
        "{subject}"
    );
    // At 02:00 the review page shows the day before's card alone; from 04:00, all three.
    assert_eq!(due_today(ria.get_html("/stats").await), 1);
    app.clock().advance(2 * 3600);
    assert_eq!(due_today(ria.get_html("/stats").await), 3);
    // The next day at 05:00, after the day started: no "from".
    assert_eq!(
        choose_reminders(&ria, "daily", "5").await.status(),
        StatusCode::SEE_OTHER
    );
    app.clock().advance(25 * 3600);
    studyhall::study::reminders::pass(&db, &site, app.clock().now())
        .await
        .unwrap();
    let sent = reminders_to(&app, "ria@example.org").await;
    assert_eq!(sent.len(), 2);
    assert!(
        sent[1].1.contains("ria, 3 cards are due for review today:"),
        "{}",
        sent[1].1
    );
    assert!(!sent[1].1.contains("from 04:00"), "{}", sent[1].1);
}

#[tokio::test]
async fn a_local_date_that_comes_round_again_gets_no_second_reminder() {
    let app = app_with_outbox().await;
    let quinn = reminded_student(&app, "quinn", "Pacific/Kiritimati", "daily", "20").await;
    let site = studyhall::mail::Site {
        public_url: PUBLIC.to_owned(),
    };
    let db = app.db().await.clone();
    // 20:00 on the 5th in Kiritimati (UTC+14) is 06:00 UTC on the 5th.
    let start: jiff::Timestamp = "2027-04-05T06:00:00Z".parse().unwrap();
    let now = app.clock().now();
    assert!(start > now, "the test's days are ahead of the clock");
    app.clock().advance(start.as_second() - now.as_second());
    studyhall::study::reminders::pass(&db, &site, app.clock().now())
        .await
        .unwrap();
    assert_eq!(reminders_to(&app, "quinn@example.org").await.len(), 1);
    // She moves to Pago Pago (UTC-11), where it is 19:00 on the 4th: the evening of a date
    // already behind her last reminder. Passes through its hours send nothing.
    assert_eq!(
        quinn.login("quinn", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    set_zone(&quinn, "Pacific/Pago_Pago").await;
    for _ in 0..4 {
        app.clock().advance(3600);
        studyhall::study::reminders::pass(&db, &site, app.clock().now())
            .await
            .unwrap();
    }
    assert_eq!(reminders_to(&app, "quinn@example.org").await.len(), 1);
}

#[tokio::test]
async fn reminders_need_a_confirmed_address_and_an_unknown_unsubscribe_link_is_refused() {
    let app = app_with_outbox().await;
    app.register_ok("kim").await;
    set_address(&app, "kim@example.org").await;
    let refused = choose_reminders(&app, "daily", "18").await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Confirm your e-mail address first")
    );
    let (_, text) = newest(&app, "kim@example.org", "confirm").await.unwrap();
    confirm_by_link(&app, &link_in(&text)).await;
    let bad_hour = choose_reminders(&app, "daily", "24").await;
    assert_eq!(bad_hour.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        choose_reminders(&app, "daily", "18").await.status(),
        StatusCode::SEE_OTHER
    );
    assert!(
        app.get_html("/account")
            .await
            .contains("value=\"daily\" checked")
    );
    assert_eq!(
        one_click(&app, "/mail/unsubscribe?token=forged").await,
        StatusCode::BAD_REQUEST
    );
    // Opening the link in a browser only asks.
    let page = app
        .other_browser()
        .get_html("/mail/unsubscribe?token=forged")
        .await;
    assert!(page.contains("Stop my study reminders"));
}

#[tokio::test]
async fn a_reply_a_new_exam_and_a_rescheduling_are_folded_into_the_next_reminder() {
    let app = app_with_outbox().await;
    app.register_ok("teacher").await;
    let lena = reminded_student(&app, "lena", "UTC", "daily", "0").await;
    let lena_id = app.user_id("lena").await;
    let teacher_id = app.user_id("teacher").await;
    let db = app.db().await.clone();
    let now = app.clock().now().as_second();
    // Today's date in UTC: tomorrow's reminder is about the study day that starts on
    // tomorrow's date, whatever the hour now.
    let today = i64::from(studyhall::srs::day::day_number(
        app.clock()
            .now()
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date(),
    ));
    let exec = |sql: &'static str, binds: Vec<i64>| {
        let db = db.clone();
        async move {
            let mut q = sqlx::query(sql);
            for b in binds {
                q = q.bind(b);
            }
            q.execute(db.writer()).await.unwrap();
        }
    };
    exec(
        "INSERT INTO classes (name, owner_id, join_code, created_at) VALUES ('Vision', $1, 'CODE1234', $2)",
        vec![teacher_id, now],
    )
    .await;
    let class_id: i64 = sqlx::query_scalar("SELECT id FROM classes WHERE join_code = 'CODE1234'")
        .fetch_one(db.reader())
        .await
        .unwrap();
    exec(
        "INSERT INTO class_members (class_id, user_id, joined_at) VALUES ($1, $2, $3)",
        vec![class_id, lena_id, now],
    )
    .await;
    exec(
        "INSERT INTO class_exams (class_id, name, exam_day, window_days, created_at)
         VALUES ($1, 'Midterm', $2, 5, $3)",
        vec![class_id, today + 10, now],
    )
    .await;
    // The notice the class page's use case writes with the exam (`exam_notices`).
    exec(
        "INSERT INTO exam_notices (user_id, exam_id, created_at)
         SELECT $1, id, $2 FROM class_exams WHERE class_id = $3",
        vec![lena_id, now, class_id],
    )
    .await;
    exec(
        "INSERT INTO card_reports (card_id, user_id, message, created_at, resolved_at, reply, replied_at)
         VALUES ((SELECT MIN(id) FROM cards), $1, 'typo', $2, $2, 'fixed, thanks', $2)",
        vec![lena_id, now],
    )
    .await;
    exec(
        "INSERT INTO schedule_notices (user_id, changed_at, cards) VALUES ($1, $2, 7)",
        vec![lena_id, now],
    )
    .await;
    // Tomorrow, past midnight UTC: her cards are due.
    app.clock().advance(86_400);
    let site = studyhall::mail::Site {
        public_url: PUBLIC.to_owned(),
    };
    let written = studyhall::study::reminders::pass(&db, &site, app.clock().now())
        .await
        .unwrap();
    assert_eq!(written, 1);
    let sent = reminders_to(&app, "lena@example.org").await;
    let text = &sent[0].1;
    assert!(
        text.contains("Your exam \"Midterm\" is in 9 days"),
        "{text}"
    );
    assert!(
        text.contains("New: your class set the exam \"Midterm\""),
        "{text}"
    );
    assert!(text.contains("New: 1 reply to your reports"), "{text}");
    assert!(text.contains("rescheduled 7 of your cards"), "{text}");
    // Nothing was sent for them on its own.
    assert_eq!(
        count_messages(&app, "lena@example.org").await,
        2,
        "the confirmation and the reminder"
    );
    // The same day: no second reminder.
    assert_eq!(
        studyhall::study::reminders::pass(&db, &site, app.clock().now())
            .await
            .unwrap(),
        0
    );
    // The next day (her cards still due): the exam's countdown again, but the news was told
    // once, in the reminder before; the pages still show it until she reads it.
    app.clock().advance(86_400);
    assert_eq!(
        studyhall::study::reminders::pass(&db, &site, app.clock().now())
            .await
            .unwrap(),
        1
    );
    let sent = reminders_to(&app, "lena@example.org").await;
    assert_eq!(sent.len(), 2);
    let text = &sent[1].1;
    assert!(
        text.contains("Your exam \"Midterm\" is in 8 days"),
        "{text}"
    );
    assert!(!text.contains("New:"), "{text}");
    let page = lena.get_html("/decks").await;
    assert!(
        page.contains("Your report on a card got a reply."),
        "the page still tells of the reply: {page}"
    );
    // A second reply to the same report, and a second rescheduling, are news again, written
    // by their own statements (the teacher's reply, the fit's notice): the day after, in the
    // next reminder, and only they.
    let report_id: i64 = sqlx::query_scalar("SELECT id FROM card_reports WHERE user_id = $1")
        .bind(lena_id)
        .fetch_one(db.reader())
        .await
        .unwrap();
    let reply = studyhall::domain::ReportReply::parse("fixed again, sorry")
        .unwrap()
        .unwrap();
    let replied = studyhall::db::reports::reply(
        db.writer(),
        report_id,
        teacher_id,
        true,
        Some(&reply),
        now + 2 * 86_400,
    )
    .await
    .unwrap();
    assert_eq!(replied, Some(lena_id));
    studyhall::db::analytics::save_notice(
        db.writer(),
        lena_id,
        studyhall::db::analytics::NoticeRow {
            changed_at: now + 2 * 86_400,
            cards: 4,
        },
    )
    .await
    .unwrap();
    app.clock().advance(86_400);
    assert_eq!(
        studyhall::study::reminders::pass(&db, &site, app.clock().now())
            .await
            .unwrap(),
        1
    );
    let sent = reminders_to(&app, "lena@example.org").await;
    let text = &sent[2].1;
    assert!(text.contains("New: 1 reply to your reports"), "{text}");
    assert!(text.contains("rescheduled 4 of your cards"), "{text}");
    assert!(!text.contains("New: your class set"), "{text}");
}

/// The newest reminder to `to` once the app's sender has tried it (its SMTP server is down, so
/// it waits out a backoff, pending): (id, state).
async fn tried_reminder(app: &TestApp, to: &str) -> (i64, String) {
    for _ in 0..200 {
        let row: (i64, String, i64) = sqlx::query_as(
            "SELECT id, state, attempts FROM outbox WHERE to_address = $1 AND kind = 'reminder'
             ORDER BY id DESC LIMIT 1",
        )
        .bind(to)
        .fetch_one(app.db().await.reader())
        .await
        .unwrap();
        if row.2 >= 1 && row.1 != "sending" {
            return (row.0, row.1);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the app's sender never tried the reminder to {to}");
}

/// A reminder that never goes out told nothing: its news is told by the next reminder,
/// whether its tries ran out or the student turned reminders off while it waited.
#[tokio::test]
async fn the_news_of_a_reminder_that_failed_is_told_by_the_next_one() {
    let app = app_with_outbox().await;
    app.register_ok("teacher").await;
    let lena = reminded_student(&app, "lena", "UTC", "daily", "0").await;
    let lena_id = app.user_id("lena").await;
    let db = app.db().await.clone();
    let now = app.clock().now().as_second();
    sqlx::query(
        "INSERT INTO card_reports (card_id, user_id, message, created_at, resolved_at, reply, replied_at)
         VALUES ((SELECT MIN(id) FROM cards), $1, 'typo', $2, $2, 'fixed, thanks', $2)",
    )
    .bind(lena_id)
    .bind(now)
    .execute(db.writer())
    .await
    .unwrap();
    studyhall::db::analytics::save_notice(
        db.writer(),
        lena_id,
        studyhall::db::analytics::NoticeRow {
            changed_at: now,
            cards: 7,
        },
    )
    .await
    .unwrap();
    let site = studyhall::mail::Site {
        public_url: PUBLIC.to_owned(),
    };
    let address = "lena@example.org";
    let next_reminder = |day: usize| {
        let (app, db, site) = (&app, &db, &site);
        async move {
            app.clock().advance(86_400);
            assert_eq!(
                studyhall::study::reminders::pass(db, site, app.clock().now())
                    .await
                    .unwrap(),
                1
            );
            let sent = reminders_to(app, address).await;
            assert_eq!(sent.len(), day);
            sent[day - 1].1.clone()
        }
    };
    let told = |text: &str| {
        assert!(text.contains("New: 1 reply to your reports"), "{text}");
        assert!(text.contains("rescheduled 7 of your cards"), "{text}");
    };
    told(&next_reminder(1).await);
    // Its tries run out: the app's sender (its SMTP server down) makes the last one.
    let (id, state) = tried_reminder(&app, address).await;
    assert_eq!(state, "pending");
    let changed = sqlx::query(
        "UPDATE outbox SET attempts = $2, next_attempt_at = 0 WHERE id = $1 AND state = 'pending'",
    )
    .bind(id)
    .bind(studyhall::jobs::mail::MAX_ATTEMPTS - 1)
    .execute(db.writer())
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(changed, 1);
    let mut state = String::new();
    for _ in 0..200 {
        state = outbox_state(&app, address, "reminder").await.0;
        if state == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(state, "failed");
    told(&next_reminder(2).await);
    // Turned off while the next one waits, then on again: told once more.
    assert_eq!(tried_reminder(&app, address).await.1, "pending");
    assert_eq!(
        choose_reminders(&lena, "off", "0").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(outbox_state(&app, address, "reminder").await.0, "failed");
    assert_eq!(
        choose_reminders(&lena, "daily", "0").await.status(),
        StatusCode::SEE_OTHER
    );
    let text = next_reminder(3).await;
    told(&text);
    // That one stays pending (it will go out): the day after, the news was told.
    assert!(!next_reminder(4).await.contains("New:"));
}

/// Two app servers' senders (each its own pool on one store: PostgreSQL under
/// `scripts/with-smtp scripts/with-postgres`) deliver each of thirty messages to the real SMTP
/// server exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs an SMTP server: scripts/with-smtp"]
async fn smtp_two_senders_on_one_store_deliver_each_message_exactly_once() {
    let (port, dir) = smtp_server();
    let tmp = tempfile::tempdir().unwrap();
    let location = crate::helpers::fresh_store(&tmp).await;
    let a = studyhall::db::Db::open(location.clone()).await.unwrap();
    let b = studyhall::db::Db::open(location).await.unwrap();
    let tag = hex::encode(rand::random::<[u8; 4]>());
    let now = jiff::Timestamp::now().as_millisecond();
    let addresses: Vec<String> = (0..30).map(|i| format!("s{i}-{tag}@example.org")).collect();
    for (i, to) in addresses.iter().enumerate() {
        let mut tx = a.begin_write().await.unwrap();
        studyhall::db::outbox::add(
            &mut *tx,
            &studyhall::db::outbox::NewMessage {
                user_id: None,
                kind: "test",
                to,
                subject: "Hello",
                text: "Hello",
                html: "<p>Hello</p>",
                unsubscribe_url: None,
            },
            &format!("<{tag}-{i}@studyhall.test>"),
            now,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let sender = |db: &studyhall::db::Db, name: &str| {
        let transport =
            std::sync::Arc::new(studyhall::mail::smtp::Smtp::new(&settings(port)).unwrap());
        studyhall::jobs::mail::Sender::new(db.clone(), transport, name)
            .polling_every(Duration::from_millis(10))
            .spawn()
    };
    let first = sender(&a, "server-a");
    let second = sender(&b, "server-b");
    for to in &addresses {
        delivered(&dir, to, 1).await;
    }
    first.stop().await;
    second.stop().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for to in &addresses {
        assert_eq!(delivered(&dir, to, 1).await.len(), 1, "{to}");
    }
    let servers: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT claimed_by FROM outbox ORDER BY claimed_by")
            .fetch_all(a.reader())
            .await
            .unwrap();
    assert!(!servers.is_empty(), "{servers:?}");
}

/// The SMTP server unreachable for a while (the sender's tries fail and wait their backoff),
/// then back: every message arrives once.
#[tokio::test]
#[ignore = "needs an SMTP server: scripts/with-smtp"]
async fn smtp_down_for_a_while_then_back_every_message_arrives_once() {
    let (port, dir) = smtp_server();
    let tmp = tempfile::tempdir().unwrap();
    let db = studyhall::db::Db::open(crate::helpers::fresh_store(&tmp).await)
        .await
        .unwrap();
    let clock = studyhall::clock::Clock::system();
    let tag = hex::encode(rand::random::<[u8; 4]>());
    let addresses: Vec<String> = (0..5).map(|i| format!("d{i}-{tag}@example.org")).collect();
    for (i, to) in addresses.iter().enumerate() {
        let mut tx = db.begin_write().await.unwrap();
        studyhall::db::outbox::add(
            &mut *tx,
            &studyhall::db::outbox::NewMessage {
                user_id: None,
                kind: "test",
                to,
                subject: "Hello",
                text: "Hello",
                html: "<p>Hello</p>",
                unsubscribe_url: None,
            },
            &format!("<{tag}-{i}@studyhall.test>"),
            clock.now().as_millisecond(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    // Down: nothing listens on the port the sender uses (a closed one on the loopback).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let transport =
        |port| std::sync::Arc::new(studyhall::mail::smtp::Smtp::new(&settings(port)).unwrap());
    let down = studyhall::jobs::mail::Sender::new(db.clone(), transport(closed_port), "down")
        .with_clock(clock.clone());
    for _ in 0..3 {
        assert_eq!(down.send_batch().await.unwrap(), 5, "every message tried");
        clock.advance(3600);
    }
    let pending: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND attempts = 3")
            .fetch_one(db.reader())
            .await
            .unwrap();
    assert_eq!(pending, 5, "three failed tries each, none given up");
    // Back.
    let up = studyhall::jobs::mail::Sender::new(db.clone(), transport(port), "up")
        .with_clock(clock.clone());
    assert_eq!(up.send_batch().await.unwrap(), 5);
    clock.advance(3600);
    assert_eq!(up.send_batch().await.unwrap(), 0, "nothing left to send");
    for to in &addresses {
        assert_eq!(delivered(&dir, to, 1).await.len(), 1, "{to}");
    }
}

/// The state and error of the newest message of `kind` to `to`.
async fn outbox_state(app: &TestApp, to: &str, kind: &str) -> (String, Option<String>) {
    sqlx::query_as(
        "SELECT state, last_error FROM outbox WHERE to_address = $1 AND kind = $2
         ORDER BY id DESC LIMIT 1",
    )
    .bind(to)
    .bind(kind)
    .fetch_one(app.db().await.reader())
    .await
    .unwrap()
}

/// A reset link sent to an address works only while that address is the account's confirmed
/// one: once the student changes it (or removes it) the link is refused and changes nothing,
/// and the reset message still waiting to go to the old address never goes.
#[tokio::test]
async fn a_reset_link_is_void_once_the_address_is_changed_or_removed() {
    let app = app_with_outbox().await;
    for (name, change) in [("ella", true), ("finn", false)] {
        let student = app.other_browser();
        let address = format!("{name}@example.org");
        confirmed_address(&student, name, &address).await;
        let stranger = app.other_browser();
        ask_reset(&stranger, name).await;
        let text = Inbox::Outbox
            .wait(&app, &address, Kind::Reset, 1)
            .await
            .remove(0)
            .text;
        let link = link_in(&text);
        assert_eq!(stranger.get(&link).await.status(), StatusCode::OK);
        if change {
            let changed = set_address(&student, &format!("{name}.new@example.org")).await;
            assert_eq!(changed.status(), StatusCode::SEE_OTHER);
        } else {
            let removed = student
                .submit("/account", "/account/email/remove", &[])
                .await;
            assert_eq!(removed.status(), StatusCode::SEE_OTHER);
        }
        assert_eq!(stranger.get(&link).await.status(), StatusCode::BAD_REQUEST);
        let refused = choose(&stranger, &link, "a brand new passphrase").await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{name}");
        // The password is unchanged.
        let again = app.other_browser();
        let login = again.login(name, PASSWORD).await;
        assert_eq!(login.status(), StatusCode::SEE_OTHER, "{name}");
        let (state, error) = outbox_state(&app, &address, "reset").await;
        assert_eq!(state, "failed", "{name}");
        assert!(error.unwrap_or_default().starts_with("address "), "{name}");
    }
}

/// A reminder already written and waiting (here: for its next try) is never sent once the
/// student unsubscribes by the one-click link, or turns reminders off on /account.
#[tokio::test]
async fn unsubscribing_or_turning_reminders_off_stops_reminders_already_queued() {
    let app = app_with_outbox().await;
    for (name, one_click_link) in [("gil", true), ("hana", false)] {
        let student = app.other_browser();
        let address = format!("{name}@example.org");
        confirmed_address(&student, name, &address).await;
        assert_eq!(
            choose_reminders(&student, "daily", "18").await.status(),
            StatusCode::SEE_OTHER
        );
        let db = app.db().await;
        let (user_id, token): (i64, String) = sqlx::query_as(
            "SELECT m.user_id, m.unsubscribe_token FROM mail_addresses m
             JOIN users u ON u.id = m.user_id WHERE u.username = $1",
        )
        .bind(name)
        .fetch_one(db.reader())
        .await
        .unwrap();
        let now = app.clock().now().as_millisecond();
        let mut tx = db.begin_write().await.unwrap();
        studyhall::db::outbox::add(
            &mut *tx,
            &studyhall::db::outbox::NewMessage {
                user_id: Some(user_id),
                kind: "reminder",
                to: &address,
                subject: "3 cards are due",
                text: "3 cards are due",
                html: "<p>3 cards are due</p>",
                unsubscribe_url: None,
            },
            &format!("<{name}@test>"),
            // Waiting out a backoff: due in ten minutes.
            now + 600_000,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(outbox_state(&app, &address, "reminder").await.0, "pending");
        if one_click_link {
            assert_eq!(
                one_click(&app, &format!("/mail/unsubscribe?token={token}")).await,
                StatusCode::OK
            );
        } else {
            assert_eq!(
                choose_reminders(&student, "off", "18").await.status(),
                StatusCode::SEE_OTHER
            );
        }
        let (state, error) = outbox_state(&app, &address, "reminder").await;
        assert_eq!(
            (state.as_str(), error.as_deref()),
            ("failed", Some("unsubscribed")),
            "{name}"
        );
    }
}

/// One student whose reminder cannot be written (here the outbox refuses their address) does
/// not stop the pass: the students after them get theirs, and the pass reports no error.
#[tokio::test]
async fn one_students_failure_does_not_stop_the_reminders_of_the_others() {
    let app = app_with_outbox().await;
    // Registered first: the pass reads students in the order of their ids.
    reminded_student(&app, "ivo", "UTC", "daily", "20").await;
    reminded_student(&app, "jade", "UTC", "daily", "20").await;
    let db = app.db().await.clone();
    let refuse = match db.backend() {
        studyhall::db::Backend::Sqlite => {
            "CREATE TRIGGER refuse_ivo BEFORE INSERT ON outbox
             WHEN NEW.to_address = 'ivo@example.org'
             BEGIN SELECT RAISE(ABORT, 'refused'); END"
        }
        studyhall::db::Backend::Postgres => {
            "ALTER TABLE outbox ADD CONSTRAINT refuse_ivo CHECK (to_address <> 'ivo@example.org') NOT VALID"
        }
    };
    sqlx::query(refuse).execute(db.writer()).await.unwrap();
    let site = studyhall::mail::Site {
        public_url: PUBLIC.to_owned(),
    };
    let start: jiff::Timestamp = "2027-04-05T20:30:00Z".parse().unwrap();
    let now = app.clock().now();
    assert!(start > now, "the test's days are ahead of the clock");
    app.clock().advance(start.as_second() - now.as_second());
    let written = studyhall::study::reminders::pass(&db, &site, app.clock().now())
        .await
        .unwrap();
    assert_eq!(written, 1);
    assert!(reminders_to(&app, "ivo@example.org").await.is_empty());
    assert_eq!(reminders_to(&app, "jade@example.org").await.len(), 1);
}
