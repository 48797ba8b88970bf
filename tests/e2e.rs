//! End-to-end tests in a real browser: Debian's Chromium driven through chromedriver
//! (WebDriver) against the real server. They need the browser, so `cargo test` skips them;
//! `scripts/e2e` installs Chromium and chromedriver if missing, starts the driver and runs them.
//! Screenshots of the main pages land in `target/screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use studyhall::practice;

const PHONE_WIDTH: u32 = 390;

async fn browser() -> Client {
    let driver =
        std::env::var("STUDYHALL_WEBDRIVER").unwrap_or_else(|_| "http://127.0.0.1:9515".to_owned());
    let mut caps = Capabilities::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()),
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--no-first-run", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--window-size=1200,900"]
        }),
    );
    caps.insert("goog:loggingPrefs".to_owned(), json!({ "browser": "ALL" }));
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver)
        .await
        .unwrap_or_else(|e| panic!("cannot reach chromedriver at {driver} ({e}); run scripts/e2e"))
}

/// chromedriver's browser-log command (not in the W3C standard, hence hand-made here).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}

/// Fails on any console error or failed resource load since the last call.
async fn assert_no_console_errors(c: &Client, page: &str) {
    let log = c.issue_cmd(BrowserLog).await.unwrap();
    let errors: Vec<&Value> = log
        .as_array()
        .map(|entries| entries.iter().filter(|e| e["level"] == "SEVERE").collect())
        .unwrap_or_default();
    assert!(errors.is_empty(), "console errors on {page}: {errors:?}");
}

fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shoot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
}

/// The page's body, waiting out a navigation in progress (a submitted form's page may not
/// have loaded yet; the old one's elements go stale).
async fn body(c: &Client) -> fantoccini::elements::Element {
    for _ in 0..100 {
        if js(c, "return document.readyState").await == json!("complete")
            && let Ok(body) = c.find(Locator::Css("body")).await
        {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page never finished loading");
}

async fn body_text(c: &Client) -> String {
    for _ in 0..20 {
        if let Ok(text) = body(c).await.text().await {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page's text could not be read");
}

async fn press(c: &Client, keys: &str) {
    for _ in 0..20 {
        if body(c).await.send_keys(keys).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("could not press {keys:?}");
}

async fn js(c: &Client, script: &str) -> Value {
    for _ in 0..20 {
        if let Ok(value) = c.execute(script, vec![]).await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("could not run {script:?}");
}

/// Waits for the page to show `text`.
async fn wait_for_text(c: &Client, text: &str) {
    for _ in 0..100 {
        if body_text(c).await.contains(text) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page never showed {text:?}: {}", body_text(c).await);
}

/// Fails if the element is squeezed below `min_height` pixels: a style clash once collapsed
/// every form on the site while every click still worked.
async fn assert_laid_out(c: &Client, selector: &str, min_height: i64) {
    let script = format!(
        "return Math.round(document.querySelector('{selector}').getBoundingClientRect().height)"
    );
    let height = js(c, &script).await.as_i64().unwrap_or(0);
    assert!(
        height >= min_height,
        "{selector} is {height}px high, expected at least {min_height}px"
    );
}

async fn front(c: &Client) -> String {
    body(c).await;
    c.find(Locator::Id("front"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Waits until the card front differs from `before`.
async fn wait_for_next_card(c: &Client, before: &str) -> String {
    for _ in 0..100 {
        if let Ok(el) = c.find(Locator::Id("front")).await
            && let Ok(text) = el.text().await
            && text != before
        {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the card never changed from {before:?}");
}

async fn register(c: &Client, base: &str, name: &str) {
    c.goto(&format!("{base}/register")).await.unwrap();
    c.find(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys(name)
        .await
        .unwrap();
    c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(helpers::PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Css("input[name=confirm]"))
        .await
        .unwrap()
        .send_keys(helpers::PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Css("button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(c, "Decks").await;
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: run scripts/e2e"]
async fn a_student_studies_with_the_keyboard_answers_a_problem_and_logs_out() {
    let app = helpers::spawn_app().await;
    let base = app.address.clone();
    let c = browser().await;

    c.goto(&format!("{base}/register")).await.unwrap();
    shoot(&c, "register").await;
    assert_laid_out(&c, "form.stack", 200).await;
    register(&c, &base, "ada").await;
    assert!(c.current_url().await.unwrap().path().ends_with("/decks"));
    shoot(&c, "decks").await;
    assert_no_console_errors(&c, "/decks").await;

    // Review the course deck with the keyboard only.
    c.goto(&format!("{base}/review?deck=1")).await.unwrap();
    assert_eq!(front(&c).await, "L1 Loss");
    assert_eq!(
        js(&c, "return document.getElementById('answer').hidden").await,
        json!(true)
    );
    shoot(&c, "review-front").await;
    press(&c, " ").await;
    assert_eq!(
        js(&c, "return document.getElementById('answer').hidden").await,
        json!(false)
    );
    shoot(&c, "review-answer").await;
    // Four buttons by default: 1 Again, 2 Hard, 3 Good, 4 Easy; Space after the answer is Good.
    // Focus is not on a grade button, so that Space grades once, not twice.
    assert_eq!(
        js(
            &c,
            "return document.activeElement.classList.contains('grade')"
        )
        .await,
        json!(false)
    );
    press(&c, "4").await;
    let second = wait_for_next_card(&c, "L1 Loss").await;
    assert_eq!(second, "L2 Loss");
    press(&c, " ").await;
    press(&c, " ").await;
    let third = wait_for_next_card(&c, "L2 Loss").await;
    press(&c, " ").await;
    press(&c, "1").await;
    let fourth = wait_for_next_card(&c, &third).await;
    assert_ne!(fourth, third);
    // U takes the last grade back: the third card is shown again.
    press(&c, "u").await;
    assert_eq!(wait_for_next_card(&c, &fourth).await, third);
    assert_no_console_errors(&c, "/review").await;

    c.goto(&format!("{base}/stats")).await.unwrap();
    assert_eq!(
        c.find(Locator::Id("reviews-today"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "2"
    );
    shoot(&c, "stats").await;
    assert_no_console_errors(&c, "/stats").await;

    // A generated problem on the review page: read the seed, type the answer, grade with a key.
    c.goto(&format!("{base}/review?deck=2")).await.unwrap();
    shoot(&c, "review-problem").await;
    let seed: u64 = c
        .find(Locator::Css("input[name=seed]"))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    let expected = practice::family("conv-params")
        .unwrap()
        .variant(seed)
        .expected
        .display();
    c.find(Locator::Id("answer"))
        .await
        .unwrap()
        .send_keys(&format!("{expected}\n"))
        .await
        .unwrap();
    wait_for_text(&c, "Right.").await;
    assert!(body_text(&c).await.contains("Worked solution"));
    shoot(&c, "review-problem-checked").await;
    press(&c, "4").await;
    wait_for_text(&c, "Fully connected layer parameters").await;
    assert_no_console_errors(&c, "/review?deck=2").await;

    for (path, name) in [
        ("/practice", "practice"),
        ("/practice/network/7", "practice-network"),
        ("/account", "account"),
        ("/decks/1", "deck"),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        shoot(&c, name).await;
        assert_no_console_errors(&c, path).await;
    }

    // Every main page fits a phone's width without sideways scrolling.
    c.set_window_size(PHONE_WIDTH, 844).await.unwrap();
    for (path, name) in [
        ("/decks", "decks"),
        ("/review?deck=1", "review"),
        ("/review?deck=2", "review-problem"),
        ("/stats", "stats"),
        ("/practice", "practice"),
        ("/account", "account"),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        let overflow = js(
            &c,
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
        )
        .await;
        assert!(
            overflow.as_i64().unwrap() <= 0,
            "{path} scrolls sideways by {overflow}px at {PHONE_WIDTH}px"
        );
        shoot(&c, &format!("{name}-phone")).await;
    }
    c.set_window_size(1200, 900).await.unwrap();

    // Log out with the header button.
    c.goto(&format!("{base}/decks")).await.unwrap();
    c.find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&c, "Log in").await;
    assert!(c.current_url().await.unwrap().path().ends_with("/login"));
    shoot(&c, "login").await;
    c.goto(&format!("{base}/decks")).await.unwrap();
    assert!(
        c.current_url().await.unwrap().path().ends_with("/login"),
        "the session is gone"
    );
    assert_no_console_errors(&c, "/login").await;
    c.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: run scripts/e2e"]
async fn script_in_card_text_and_deck_names_shows_as_text_and_never_runs() {
    let app = helpers::spawn_app().await;
    let base = app.address.clone();
    let c = browser().await;
    register(&c, &base, "admin").await;

    let payloads = [
        "<script>window.__xss = 1</script>",
        "<img src=x onerror=\"window.__xss = 2\">",
        "<svg onload=\"window.__xss = 3\"></svg>",
    ];
    let csv_field = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut csv = String::from("front,back\n");
    for p in &payloads {
        csv.push_str(&format!("{},{}\n", csv_field(p), csv_field(p)));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("evil.csv");
    std::fs::write(&file, csv).unwrap();

    c.goto(&format!("{base}/admin/import")).await.unwrap();
    c.find(Locator::Css("input[name=file]"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    c.find(Locator::Css("input[name=deck]"))
        .await
        .unwrap()
        .send_keys(payloads[1])
        .await
        .unwrap();
    c.find(Locator::Css(
        "form[action='/admin/import/preview'] button[type=submit]",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    // The preview shows the cards, as text, before anything is imported.
    wait_for_text(&c, "3 cards will be added to a new deck").await;
    assert!(body_text(&c).await.contains(payloads[0]));
    assert_eq!(
        js(&c, "return window.__xss === undefined").await,
        json!(true),
        "no script ran on the preview"
    );
    shoot(&c, "import-preview").await;
    c.find(Locator::Id("confirm-import"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&c, "Imported 3 new cards").await;

    for path in [
        "/decks",
        "/decks/3",
        "/review?deck=3",
        "/review?deck=3&show=49",
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        let text = body_text(&c).await;
        assert!(
            text.contains(payloads[0]) || text.contains(payloads[1]),
            "{path} shows the markup as text"
        );
        assert_eq!(
            js(&c, "return window.__xss === undefined").await,
            json!(true),
            "no script ran on {path}"
        );
        assert!(c.get_alert_text().await.is_err(), "no dialog on {path}");
    }
    shoot(&c, "xss-deck").await;
    c.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: run scripts/e2e"]
async fn an_instructor_runs_a_class_in_the_browser() {
    let app = helpers::spawn_app().await;
    let base = app.address.clone();
    let c = browser().await;
    register(&c, &base, "teacher").await; // the first account: an admin, who may teach

    // Create a deck and a class whose name carries markup, assign the deck.
    c.goto(&format!("{base}/decks")).await.unwrap();
    c.find(Locator::Css("form[action='/decks'] input[name=name]"))
        .await
        .unwrap()
        .send_keys("Week 1")
        .await
        .unwrap();
    c.find(Locator::Css("form[action='/decks'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&c, "Edit deck").await;
    c.find(Locator::Css("#add-card textarea[name=front]"))
        .await
        .unwrap()
        .send_keys("What is a stride?")
        .await
        .unwrap();
    c.find(Locator::Css("#add-card textarea[name=back]"))
        .await
        .unwrap()
        .send_keys("The step of the kernel")
        .await
        .unwrap();
    c.find(Locator::Css("#add-card button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&c, "Cards (1)").await;
    assert_laid_out(&c, "#add-card", 200).await;
    shoot(&c, "deck-edit").await;
    assert_no_console_errors(&c, "/decks/{id}/edit").await;

    c.goto(&format!("{base}/classes")).await.unwrap();
    c.find(Locator::Css("form[action='/classes'] input[name=name]"))
        .await
        .unwrap()
        .send_keys("<img src=x onerror=\"window.__xss = 4\">")
        .await
        .unwrap();
    c.find(Locator::Css("form[action='/classes'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&c, "Join code").await;
    assert_eq!(
        js(&c, "return window.__xss === undefined").await,
        json!(true)
    );
    assert!(
        body_text(&c).await.contains("<img src=x"),
        "the class name shows as text"
    );
    c.find(Locator::Css("form[action$='/decks/3'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&c, "Take back").await;
    shoot(&c, "class").await;
    assert_no_console_errors(&c, "/classes/{id}").await;

    let class_url = c.current_url().await.unwrap().to_string();
    for (suffix, name) in [
        ("/dashboard", "class-dashboard"),
        ("/reports", "class-reports"),
    ] {
        c.goto(&format!("{class_url}{suffix}")).await.unwrap();
        shoot(&c, name).await;
        assert_no_console_errors(&c, suffix).await;
    }
    c.goto(&format!("{base}/admin/users")).await.unwrap();
    shoot(&c, "admin-users").await;
    assert_no_console_errors(&c, "/admin/users").await;

    c.set_window_size(PHONE_WIDTH, 844).await.unwrap();
    for (path, name) in [
        (format!("{class_url}/dashboard"), "class-dashboard"),
        (format!("{base}/admin/users"), "admin-users"),
        (format!("{base}/classes"), "classes"),
    ] {
        c.goto(&path).await.unwrap();
        let overflow = js(
            &c,
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
        )
        .await;
        assert!(
            overflow.as_i64().unwrap() <= 0,
            "{path} scrolls sideways by {overflow}px at {PHONE_WIDTH}px"
        );
        shoot(&c, &format!("{name}-phone")).await;
    }
    c.close().await.unwrap();
}
