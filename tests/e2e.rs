//! End-to-end tests in a real browser: Debian's Chromium driven through chromedriver
//! (WebDriver) against the real server. They need the browser, so `cargo test` skips them;
//! `scripts/e2e` installs Chromium and chromedriver if missing, starts the driver and runs them.
//! Screenshots of the main pages land in `target/screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;
#[path = "api/tex_payloads.rs"]
mod tex_payloads;

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

/// chromedriver's Chrome DevTools command: here, to emulate `prefers-color-scheme`.
#[derive(Debug)]
struct Cdp(Value);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.0.to_string()))
    }
}

/// Light or dark, as the system would ask: the page's `prefers-color-scheme` from now on.
async fn color_scheme(c: &Client, scheme: &str) {
    c.issue_cmd(Cdp(json!({
        "cmd": "Emulation.setEmulatedMedia",
        "params": { "features": [{ "name": "prefers-color-scheme", "value": scheme }] }
    })))
    .await
    .unwrap();
    let dark = js(
        c,
        "return matchMedia('(prefers-color-scheme: dark)').matches",
    )
    .await;
    assert_eq!(
        dark,
        json!(scheme == "dark"),
        "the {scheme} scheme is emulated"
    );
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

/// Reads the console log after a page the server answered with `status` (a dead link's 400, a
/// refused form's 422), which the browser logs as a failed load: that and nothing else.
async fn expect_status_logged(c: &Client, status: u16) {
    body(c).await;
    let log = c.issue_cmd(BrowserLog).await.unwrap();
    let errors: Vec<&Value> = log
        .as_array()
        .map(|entries| entries.iter().filter(|e| e["level"] == "SEVERE").collect())
        .unwrap_or_default();
    let expected = format!("status of {status}");
    assert!(
        !errors.is_empty()
            && errors
                .iter()
                .all(|e| e["message"].as_str().unwrap_or("").contains(&expected)),
        "only the page's own {status}: {errors:?}"
    );
}

fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// WCAG 2.1 A and AA, the rules axe-core runs.
const AXE_RUN: &str = "const done = arguments[arguments.length - 1];
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
      .then(r => done(r.violations.map(v => ({ id: v.id, help: v.help,
        nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary) }))))
      .catch(e => done([{ id: 'axe failed', help: String(e) }]));";

/// Our own contrast check of every visible text, `<kbd>` and chart labels included.
const CONTRAST: &str = include_str!("e2e/contrast.js");

/// The td cells a phone does not show in full: hidden, or past the right edge of the screen.
const CUT_CELLS: &str = "const width = document.documentElement.clientWidth;
    return [...document.querySelectorAll('td')].filter(td => {
      if (td.closest('[hidden], details:not([open])')) return false;
      const s = getComputedStyle(td);
      const r = td.getBoundingClientRect();
      return s.display === 'none' || s.visibility !== 'visible' || r.right > width + 1 || r.left < -1;
    }).map(td => td.outerHTML.slice(0, 120));";

/// axe-core's source, which `scripts/e2e` installs from npm.
fn axe_source() -> String {
    let path = std::env::var("STUDYHALL_AXE").unwrap_or_else(|_| {
        panic!("STUDYHALL_AXE is not set: run the browser tests with scripts/e2e")
    });
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read axe-core at {path}: {e}"))
}

/// Every check a main page must pass, in the light theme and in the dark one, on the page as it is now (never reloaded, so a page
/// that answers a POST is audited too): axe-core's WCAG 2.1 A/AA rules and a contrast of at
/// least 4.5:1 for every text at desktop width; then, at a phone's width, no sideways scroll
/// and no table cell hidden or cut off. Screenshots at both widths, whole page.
async fn audit(c: &Client, name: &str) {
    color_scheme(c, "light").await;
    audit_in_theme(c, name).await;
    color_scheme(c, "dark").await;
    audit_in_theme(c, &format!("{name}-dark")).await;
    color_scheme(c, "light").await;
}

/// [`audit`]'s checks in the theme the page is in now.
async fn audit_in_theme(c: &Client, name: &str) {
    body(c).await;
    c.execute(&axe_source(), vec![]).await.unwrap();
    let violations = c.execute_async(AXE_RUN, vec![]).await.unwrap();
    assert_eq!(
        violations,
        json!([]),
        "axe-core finds WCAG 2.1 A/AA violations on {name}"
    );
    let low = c
        .execute(
            &format!("return (function() {{ {CONTRAST} }}).apply(null, arguments)"),
            vec![json!(4.5)],
        )
        .await
        .unwrap();
    assert_eq!(low, json!([]), "text below 4.5:1 contrast on {name}");
    assert_eq!(
        js(c, "return document.querySelectorAll('h1').length").await,
        json!(1),
        "one h1 on {name}"
    );
    assert_no_console_errors(c, name).await;
    shoot_whole(c, name, 1280).await;

    shoot_whole(c, &format!("{name}-phone"), PHONE_WIDTH).await;
    c.set_window_size(PHONE_WIDTH, 844).await.unwrap();
    let overflow = js(
        c,
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
    )
    .await;
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "{name} scrolls sideways by {overflow}px at {PHONE_WIDTH}px"
    );
    assert_eq!(
        js(c, CUT_CELLS).await,
        json!([]),
        "table cells hidden or cut off on {name} at {PHONE_WIDTH}px"
    );
    c.set_window_size(1200, 900).await.unwrap();
}

/// A screenshot of the whole page at `width`.
async fn shoot_whole(c: &Client, name: &str, width: u32) {
    c.set_window_size(width, 900).await.unwrap();
    let height = js(c, "return document.documentElement.scrollHeight").await;
    let height = u32::try_from(height.as_i64().unwrap_or(900)).unwrap_or(900);
    c.set_window_size(width, height.clamp(600, 5000))
        .await
        .unwrap();
    shoot(c, name).await;
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

/// Types `fields` (input or textarea names) into the page's form and presses `button`.
async fn fill_and_send(c: &Client, fields: &[(&str, &str)], button: &str) {
    for (field, value) in fields {
        c.find(Locator::Css(&format!("[name={field}]")))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    c.find(Locator::Css(button))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Opens the import page and sends `csv` (as a file) to the preview under the deck name `deck`.
/// Returns the file's folder: keep it until the preview has shown, as the browser may read
/// the file after the click returns.
async fn preview_csv_import(c: &Client, base: &str, csv: &str, deck: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deck.csv");
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
        .send_keys(deck)
        .await
        .unwrap();
    click(
        c,
        "form[action^='/admin/import/preview'] button[type=submit]",
    )
    .await;
    dir
}

async fn register(c: &Client, base: &str, name: &str) {
    register_in_class(c, base, name, "").await;
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
    // A first review under SM-2 has two, Again (1) and Good (3): every first grade gives one
    // day. Focus is not on a grade button, so that Space grades once.
    assert_eq!(
        js(
            &c,
            "return document.activeElement.classList.contains('grade')"
        )
        .await,
        json!(false)
    );
    assert_eq!(
        js(
            &c,
            "return document.querySelectorAll('#answer button.grade').length"
        )
        .await,
        json!(2)
    );
    press(&c, "3").await;
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

    // Every main page is audited (axe, contrast, a phone's width, screenshots) by
    // every_main_page_passes_axe_and_contrast_and_fits_a_phone_and_reports_reach_the_instructor.

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
async fn a_student_skips_buries_and_suspends_cards_with_the_keyboard() {
    let app = helpers::spawn_app().await;
    let base = app.address.clone();
    let c = browser().await;
    register(&c, &base, "ada").await;
    c.goto(&format!("{base}/review?deck=1")).await.unwrap();
    assert_eq!(front(&c).await, "L1 Loss");
    // The controls show their keys, as the grades do.
    for (form, key) in [
        ("skip-form", "S"),
        ("bury-form", "B"),
        ("suspend-form", "X"),
    ] {
        assert_eq!(
            js(
                &c,
                &format!("return document.querySelector('#{form} kbd').textContent")
            )
            .await,
            json!(key)
        );
    }
    // S skips: the card goes to the back of today's queue.
    press(&c, "s").await;
    let second = wait_for_next_card(&c, "L1 Loss").await;
    wait_for_text(&c, "Skipped ‘L1 Loss’").await;
    // With the answer shown, B still buries rather than grading.
    press(&c, " ").await;
    press(&c, "b").await;
    let third = wait_for_next_card(&c, &second).await;
    wait_for_text(&c, &format!("Buried ‘{second}’")).await;
    // X suspends; the notice's Unsuspend takes it back.
    press(&c, "x").await;
    let fourth = wait_for_next_card(&c, &third).await;
    wait_for_text(&c, &format!("Suspended ‘{third}’")).await;
    assert_ne!(fourth, "L1 Loss");
    shoot(&c, "review-suspended").await;
    c.goto(&format!("{base}/decks")).await.unwrap();
    wait_for_text(&c, "Suspended cards").await;
    assert!(body_text(&c).await.contains(&third));
    assert_no_console_errors(&c, "/review with card controls").await;
    // Letters typed in the report box are text, not controls.
    c.goto(&format!("{base}/review?deck=1")).await.unwrap();
    let shown = front(&c).await;
    js(
        &c,
        "document.querySelector('details.report').open = true; return 1",
    )
    .await;
    let area = c
        .find(Locator::Css("details.report textarea"))
        .await
        .unwrap();
    area.send_keys("sbx").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(front(&c).await, shown);
    assert_eq!(
        js(
            &c,
            "return document.querySelector('details.report textarea').value"
        )
        .await,
        json!("sbx")
    );
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
    let payloads: Vec<String> = payloads.iter().map(|p| (*p).to_owned()).collect();
    let csv = tex_payloads::csv_both_sides(&payloads);
    let _file = preview_csv_import(&c, &base, &csv, &payloads[1]).await;
    // The preview shows the cards, as text, before anything is imported.
    wait_for_text(&c, "3 cards will be added to a new deck").await;
    assert!(body_text(&c).await.contains(&payloads[0]));
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
            text.contains(&payloads[0]) || text.contains(&payloads[1]),
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

/// Checks, in the browser's DOM, that every formula on the page holds MathML elements only,
/// with no event handler, address or style; returns how many formulas there are.
const FORMULAS_ARE_MATHML: &str = r#"
const ns = 'http://www.w3.org/1998/Math/MathML';
const bad = [];
const formulas = document.querySelectorAll('.formula');
for (const f of formulas) {
  for (const el of f.querySelectorAll('*')) {
    if (el.namespaceURI !== ns) bad.push('element ' + el.tagName);
    for (const a of el.attributes) {
      const n = a.name.toLowerCase();
      if (n.startsWith('on') || ['href', 'src', 'style', 'class', 'action', 'xlink:href'].includes(n))
        bad.push('attribute ' + n + ' on ' + el.tagName);
    }
  }
}
const forms = [...document.querySelectorAll('form')].filter(f => f.closest('.formula'));
return { formulas: formulas.length, bad: bad.slice(0, 10), forms: forms.length };
"#;

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: run scripts/e2e"]
async fn hostile_tex_in_a_deck_puts_nothing_but_mathml_in_the_pages_dom() {
    let app = helpers::spawn_app().await;
    let base = app.address.clone();
    let c = browser().await;
    register(&c, &base, "admin").await;

    let mut fronts = tex_payloads::hostile_formulas();
    fronts.extend(tex_payloads::deep_formulas());
    let csv = tex_payloads::csv_both_sides(&fronts);
    let _file = preview_csv_import(&c, &base, &csv, "Hostile TeX").await;
    wait_for_text(&c, "cards will be added to a new deck").await;
    click(&c, "#confirm-import").await;
    wait_for_text(&c, "Imported").await;

    c.goto(&format!("{base}/decks/3")).await.unwrap();
    body(&c).await;
    let found = js(&c, FORMULAS_ARE_MATHML).await;
    assert_eq!(found["bad"], json!([]), "the deck page: {found}");
    assert_eq!(found["forms"], json!(0));
    assert!(found["formulas"].as_u64().unwrap() > 40, "{found}");
    assert!(body_text(&c).await.contains("shown as typed"));
    shoot(&c, "hostile-tex-deck").await;

    // Each card on the review page, its answer shown, then graded Good with the keyboard: a
    // formula holding a form once took over the grade buttons and stored nothing.
    for round in 0..12 {
        c.goto(&format!("{base}/review?deck=3")).await.unwrap();
        body(&c).await;
        let card = "return document.getElementById('grade-form')?.getAttribute('action')";
        let before = js(&c, card).await;
        press(&c, " ").await;
        wait_for_text(&c, "How well did you remember?").await;
        let found = js(&c, FORMULAS_ARE_MATHML).await;
        assert_eq!(found["bad"], json!([]), "review round {round}: {found}");
        assert_eq!(found["forms"], json!(0), "review round {round}");
        assert!(c.get_alert_text().await.is_err(), "no dialog");
        press(&c, "3").await;
        for _ in 0..100 {
            if js(&c, card).await != before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_ne!(
            js(&c, card).await,
            before,
            "round {round}: the next card is shown"
        );
    }
    let graded: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM reviews r JOIN cards c ON c.id = r.card_id WHERE c.deck_id = 3",
    )
    .fetch_one(&app.pool().await)
    .await
    .unwrap();
    assert_eq!(graded, 12, "each Good was stored");
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
    wait_for_text(&c, "Card added").await;
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

    // An exam in three weeks covering the assigned deck, set with the class page's form (the
    // date typed as the date picker would set it).
    let today = studyhall::srs::day::StudyCalendar::new(jiff::tz::TimeZone::UTC, 4)
        .day_of(app.clock().now());
    let date = studyhall::srs::day::date_of_day(today + 21).to_string();
    c.find(Locator::Css("#exams input[name=name]"))
        .await
        .unwrap()
        .send_keys("Quiz 3")
        .await
        .unwrap();
    js(
        &c,
        &format!("document.querySelector('#exams input[name=date]').value = '{date}'; return 0"),
    )
    .await;
    click(&c, "#exams input[name=deck_3]").await;
    click(&c, "#exams form[action$='/exams#exam-result'] button").await;
    wait_for_text(&c, "5 days").await;
    assert!(
        text_of(&c, "#exam-list").await.contains(&date),
        "the exam is listed with its date"
    );
    audit(&c, "class-with-exam").await;

    // A student joins, studies the exam's card, and sees the exam on their progress page;
    // the instructor then sees them in the dashboard's predicted recall.
    let code = text_of(&c, "#join-code").await;
    let s = browser().await;
    register_in_class(&s, &base, "stu", code.trim()).await;
    s.goto(&format!("{base}/review?deck=3")).await.unwrap();
    wait_for_text(&s, "What is a stride?").await;
    press(&s, " ").await;
    press(&s, "3").await;
    wait_for_text(&s, "Nothing").await;
    s.goto(&format!("{base}/stats")).await.unwrap();
    let mine = text_of(&s, "#my-exams").await;
    assert!(
        mine.contains("Quiz 3") && mine.contains("You have studied 1 of its 1 cards"),
        "{mine}"
    );
    audit(&s, "stats-with-exam").await;
    s.close().await.unwrap();
    let mut class_page = c.current_url().await.unwrap();
    class_page.set_fragment(None);
    c.goto(&format!("{class_page}/dashboard")).await.unwrap();
    click(&c, "#exam-recall summary").await;
    let recall = text_of(&c, "#exam-recall").await;
    assert!(
        recall.contains("stu") && recall.contains("1 of 1"),
        "{recall}"
    );
    c.goto(class_page.as_str()).await.unwrap();

    // The class's pages with a deck assigned and markup in its name pass the full audit.
    let class_url = class_page.to_string();
    for (path, name) in [
        (format!("{class_url}/dashboard"), "class-dashboard-assigned"),
        (format!("{class_url}/reports"), "class-reports-assigned"),
        (format!("{base}/admin/users"), "admin-users-with-class"),
    ] {
        c.goto(&path).await.unwrap();
        audit(&c, name).await;
    }
    c.close().await.unwrap();
}

/// Fills and sends the registration form, with a class code when given.
async fn register_in_class(c: &Client, base: &str, name: &str, code: &str) {
    c.goto(&format!("{base}/register")).await.unwrap();
    fill_and_send(
        c,
        &[
            ("username", name),
            ("password", helpers::PASSWORD),
            ("confirm", helpers::PASSWORD),
            ("code", code),
        ],
        "button.primary",
    )
    .await;
    wait_for_text(c, "Log out").await;
}

async fn log_in(c: &Client, base: &str, name: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    fill_and_send(
        c,
        &[("username", name), ("password", helpers::PASSWORD)],
        "main form button[type=submit]",
    )
    .await;
    wait_for_text(c, "Log out").await;
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Waits (up to 5 s) for an element matching `css`: after a click the next page may not have
/// loaded yet.
async fn wait_for_css(c: &Client, css: &str) {
    for _ in 0..100 {
        if exists(c, css).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page never showed {css:?}: {}", body_text(c).await);
}

async fn exists(c: &Client, css: &str) -> bool {
    body(c).await;
    c.find(Locator::Css(css)).await.is_ok()
}

async fn text_of(c: &Client, css: &str) -> String {
    body(c).await;
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// An admin (the first account, over HTTP) with a class; returns the class's id and join code.
async fn class_with_admin(app: &helpers::TestApp) -> (i64, String) {
    app.register_ok("teacher").await;
    let r = app
        .submit("/classes", "/classes", &[("name", "CS 7643 Fall")])
        .await;
    let at = r.headers()["location"].to_str().unwrap().to_owned();
    let id: i64 = at.trim_start_matches("/classes/").parse().unwrap();
    let html = app.get_html(&at).await;
    let start = html.find("id=\"join-code\">").unwrap() + "id=\"join-code\">".len();
    let code = html[start..start + html[start..].find('<').unwrap()].to_owned();
    (id, code)
}

/// What the review page shows: a flashcard's front, or a generated problem's title.
async fn shown_card(c: &Client) -> (String, bool) {
    if exists(c, "#answer-form").await {
        (text_of(c, ".problem-title").await, true)
    } else {
        (front(c).await, false)
    }
}

/// Answers the generated problem on the page correctly, from its permanent link.
async fn solve_problem(c: &Client) {
    let link = c
        .find(Locator::Css(".problem-title a"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let mut parts = link.trim_start_matches("/practice/").split('/');
    let family = practice::family(parts.next().unwrap()).unwrap();
    let seed: u64 = parts.next().unwrap().parse().unwrap();
    // A tie between layers reads "conv1_1 or conv1_2": either name is the answer.
    let answer = match family.variant(seed).expected {
        practice::Expected::Name(names) => names[0].clone(),
        other => other.display(),
    };
    c.find(Locator::Id("answer"))
        .await
        .unwrap()
        .send_keys(&answer)
        .await
        .unwrap();
    click(c, "#answer-form button.primary").await;
    for _ in 0..200 {
        if body_text(c).await.contains("Worked solution") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "no worked solution after answering {answer:?} to {link}: {}",
        c.source().await.unwrap_or_default()
    );
}

/// The figure of a /stats tile.
async fn tile(c: &Client, id: &str) -> i64 {
    text_of(c, &format!("#{id}")).await.parse().unwrap()
}

/// What the forecast's bar `index` says it holds (its tooltip's count).
async fn forecast_bar(c: &Client, index: usize) -> i64 {
    let title = js(
        c,
        &format!("return document.querySelectorAll('#forecast rect title')[{index}].textContent"),
    )
    .await;
    let title = title.as_str().unwrap().to_owned();
    title
        .rsplit(": ")
        .next()
        .unwrap()
        .trim_end_matches(" due")
        .parse()
        .unwrap()
}

/// The sum of a column of the /stats deck table.
async fn column_sum(c: &Client, label: &str) -> i64 {
    js(
        c,
        &format!(
            "return [...document.querySelectorAll('td[data-label={label}]')].reduce((s, td) => s + Number(td.textContent), 0)"
        ),
    )
    .await
    .as_i64()
    .unwrap()
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: run scripts/e2e"]
async fn a_new_students_first_day_meets_problems_undoes_studies_more_and_sees_consistent_stats() {
    let app = helpers::spawn_app().await;
    let base = app.address.clone();
    let (_, code) = class_with_admin(&app).await;
    let c = browser().await;
    register_in_class(&c, &base, "sam", &code).await;
    assert!(
        body_text(&c).await.contains("CS 7643 Fall"),
        "joining is confirmed by name"
    );

    // Default settings, the whole queue: a generated problem comes among the first ten.
    c.goto(&format!("{base}/review")).await.unwrap();
    audit(&c, "first-card").await;
    let mut studied = std::collections::BTreeSet::new();
    let (mut grades, mut right) = (0i64, 0i64);
    let mut first_problem = None;
    for i in 0..10 {
        let (card, problem) = shown_card(&c).await;
        studied.insert(card.clone());
        assert!(
            text_of(&c, "#progress")
                .await
                .contains(&format!("Card {} of", i + 1)),
            "the progress line counts the session"
        );
        if problem {
            first_problem.get_or_insert(i + 1);
            solve_problem(&c).await;
            if first_problem == Some(i + 1) {
                audit(&c, "first-problem-checked").await;
            }
            press(&c, "3").await;
            right += 1;
        } else {
            press(&c, " ").await;
            if i == 0 {
                // The first card is failed: it comes back today.
                press(&c, "1").await;
                grades += 1;
                wait_for_text(&c, "Card 2 of").await;
                // /stats now, by hand: one review, one card learning, due again today.
                c.goto(&format!("{base}/stats")).await.unwrap();
                assert_eq!(tile(&c, "reviews-today").await, 1);
                assert_eq!(tile(&c, "learned").await, 1);
                assert_eq!(column_sum(&c, "Learning").await, 1);
                assert_eq!(tile(&c, "due-today").await, 1);
                assert_eq!(
                    forecast_bar(&c, 0).await,
                    1,
                    "today's bar counts the repeat"
                );
                assert_eq!(tile(&c, "due-tomorrow").await, 1);
                assert_eq!(forecast_bar(&c, 1).await, 1);
                c.goto(&format!("{base}/review")).await.unwrap();
                continue;
            }
            press(&c, "3").await;
            right += 1;
        }
        grades += 1;
        if !problem && i == 3 {
            // Undo names what it took back and shows the card again.
            wait_for_text(&c, &format!("Card {} of", i + 2)).await;
            press(&c, "u").await;
            wait_for_text(&c, "Took back your Good on").await;
            assert!(text_of(&c, "#took-back").await.contains(&card));
            assert_eq!(front(&c).await, card);
            audit(&c, "after-undo").await;
            press(&c, " ").await;
            press(&c, "3").await;
        }
        wait_for_text(&c, &format!("Card {} of", i + 2)).await;
    }
    let first_problem = first_problem.expect("no generated problem among the first ten cards");
    eprintln!("first generated problem: card {first_problem}");

    // On to the day's limit of 20 new cards (the failed card's repeat comes on the way).
    for _ in 0..40 {
        if exists(&c, "#study-more").await {
            break;
        }
        let (card, problem) = shown_card(&c).await;
        studied.insert(card);
        if problem {
            solve_problem(&c).await;
        } else {
            press(&c, " ").await;
        }
        let before = text_of(&c, "#progress").await;
        press(&c, "3").await;
        grades += 1;
        right += 1;
        for _ in 0..100 {
            if exists(&c, "#study-more").await
                || exists(&c, "#progress").await && text_of(&c, "#progress").await != before
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert!(
        exists(&c, "#study-more").await,
        "the new-card limit ends the session"
    );
    assert!(
        text_of(&c, "#new-limit")
            .await
            .contains("today's 20 new cards")
    );
    assert_eq!(studied.len(), 20);
    // The end of the session, by hand: every grade, all right but the first, 20 cards due
    // tomorrow (one day's interval after a first review, the failed card included).
    assert_eq!(text_of(&c, "#sum-reviews").await, grades.to_string());
    assert!(
        text_of(&c, "#sum-right")
            .await
            .starts_with(&right.to_string())
    );
    assert_eq!(text_of(&c, "#sum-tomorrow").await, "20");
    assert_eq!(text_of(&c, "#sum-streak").await, "1 day");
    audit(&c, "session-done").await;

    c.goto(&format!("{base}/stats")).await.unwrap();
    assert_eq!(tile(&c, "reviews-today").await, grades);
    assert_eq!(tile(&c, "learned").await, 20);
    assert_eq!(
        column_sum(&c, "Learning").await + column_sum(&c, "Mature").await,
        20
    );
    assert_eq!(tile(&c, "due-today").await, 0);
    assert_eq!(forecast_bar(&c, 0).await, 0);
    assert_eq!(tile(&c, "due-tomorrow").await, 20);
    assert_eq!(forecast_bar(&c, 1).await, 20);
    assert_eq!(tile(&c, "streak").await, 1);
    audit(&c, "stats-after-a-day").await;
    // On a phone the year's heat map scrolls inside its panel and opens at today, its end.
    c.set_window_size(PHONE_WIDTH, 844).await.unwrap();
    let today_shown = js(
        &c,
        "const wrap = document.getElementById('heatmap-wrap').getBoundingClientRect();
         const cells = document.querySelectorAll('#heatmap rect');
         const today = cells[cells.length - 1].getBoundingClientRect();
         const first = cells[0].getBoundingClientRect();
         return [today.left >= wrap.left && today.right <= wrap.right + 1, first.left < wrap.left]",
    )
    .await;
    assert_eq!(
        today_shown,
        json!([true, true]),
        "today in view, last year scrolled off"
    );
    c.set_window_size(1200, 900).await.unwrap();

    // Study more: today's limit goes up without a trip to /account.
    c.goto(&format!("{base}/review")).await.unwrap();
    click(&c, "#study-more").await;
    wait_for_text(&c, "today").await;
    assert!(exists(&c, "#progress").await, "{}", body_text(&c).await);
    eprintln!("after study more: {}", text_of(&c, "#progress").await);
    let (card, _) = shown_card(&c).await;
    assert!(!studied.contains(&card), "a new card, past the day's limit");
    c.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: run scripts/e2e"]
async fn every_main_page_passes_axe_and_contrast_and_fits_a_phone_and_reports_reach_the_instructor()
{
    let app = helpers::spawn_app().await;
    let base = app.address.clone();
    let (class, code) = class_with_admin(&app).await;
    let c = browser().await;

    // The checks can fail: pale text and an unlabelled input are caught by both.
    c.goto(&format!("{base}/login")).await.unwrap();
    js(
        &c,
        "const p = document.createElement('p'); p.textContent = 'pale'; p.style.color = '#b0b0b0';
         document.querySelector('main').append(p, document.createElement('input')); return 1",
    )
    .await;
    let low = c
        .execute(
            &format!("return (function() {{ {CONTRAST} }}).apply(null, arguments)"),
            vec![json!(4.5)],
        )
        .await
        .unwrap();
    assert_eq!(low[0]["text"], json!("pale"), "{low}");
    c.execute(&axe_source(), vec![]).await.unwrap();
    let found = c.execute_async(AXE_RUN, vec![]).await.unwrap().to_string();
    assert!(
        found.contains("color-contrast") && found.contains("label"),
        "{found}"
    );

    for (path, name) in [
        ("/", "home"),
        ("/login", "login"),
        ("/register", "register"),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        audit(&c, name).await;
    }

    // A student, four buttons (the default).
    register_in_class(&c, &base, "kim", &code).await;
    audit(&c, "decks").await;
    c.goto(&format!("{base}/review?deck=1")).await.unwrap();
    audit(&c, "review-four").await;
    press(&c, " ").await;
    audit(&c, "review-four-answer").await;
    // A report on a card of the course deck, a public deck nobody assigned, reaches the
    // class's instructor, and the student is told so by name.
    click(&c, "details.report summary").await;
    c.find(Locator::Css("details.report textarea"))
        .await
        .unwrap()
        .send_keys("The back of this card cuts off mid-sentence.")
        .await
        .unwrap();
    click(&c, "details.report button").await;
    wait_for_text(&c, "your report was sent to teacher").await;
    c.goto(&format!("{base}/review?deck=2")).await.unwrap();
    audit(&c, "review-problem-four").await;
    click(&c, "button[name=give_up]").await;
    wait_for_text(&c, "Here is the solution").await;
    audit(&c, "review-problem-four-solution").await;
    // A card suspended with its key: the notice, then the list on /decks, then Unsuspend.
    c.goto(&format!("{base}/review?deck=1")).await.unwrap();
    press(&c, "x").await;
    wait_for_text(&c, "Suspended ‘").await;
    audit(&c, "review-suspended").await;
    c.goto(&format!("{base}/decks")).await.unwrap();
    wait_for_text(&c, "Suspended cards").await;
    audit(&c, "decks-suspended").await;
    click(&c, "#my-cards form button").await;
    wait_for_text(&c, "Decks").await;
    assert!(!body_text(&c).await.contains("Suspended cards"));
    for (path, name) in [
        ("/decks/1/custom?set=all&i=0&show=1", "custom-session"),
        ("/decks/1", "deck"),
        ("/cards/1", "card"),
        ("/practice", "practice"),
        ("/practice/receptive-field/11", "practice-receptive-field"),
        ("/practice/network/7", "practice-network"),
        ("/stats", "stats"),
        ("/classes", "classes-student"),
        ("/account", "account"),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        audit(&c, name).await;
    }
    c.goto(&format!("{base}/practice/network/7")).await.unwrap();
    c.find(Locator::Id("answer"))
        .await
        .unwrap()
        .send_keys("12\n")
        .await
        .unwrap();
    wait_for_text(&c, "Worked solution").await;
    audit(&c, "practice-network-answered").await;

    // Worked solutions with formulas rendered as MathML, and the new families' pages.
    for (path, name) in [
        ("/practice/output-shape/4", "practice-output-shape-solution"),
        (
            "/practice/conv-backward/2",
            "practice-conv-backward-solution",
        ),
        ("/practice/detection/4", "practice-detection-solution"),
        (
            "/practice/style-transfer/7",
            "practice-style-transfer-solution",
        ),
        (
            "/practice/residual-block/1",
            "practice-residual-block-solution",
        ),
        (
            "/practice/inception-module/2",
            "practice-inception-module-solution",
        ),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        click(&c, "button[name=give_up]").await;
        wait_for_text(&c, "Worked solution").await;
        assert!(
            !body_text(&c).await.contains("could not be read"),
            "every formula renders on {path}"
        );
        audit(&c, name).await;
    }
    c.goto(&format!("{base}/practice/output-shape/4"))
        .await
        .unwrap();
    click(&c, "button[name=give_up]").await;
    wait_for_text(&c, "Worked solution").await;
    assert!(
        js(
            &c,
            "return document.querySelectorAll('#solution math mfrac').length"
        )
        .await
        .as_i64()
        .unwrap()
            >= 2,
        "the output-size formula is a fraction in MathML"
    );

    // The six-grade layout, one preference away.
    c.goto(&format!("{base}/account")).await.unwrap();
    click(&c, "input[name=grade_buttons][value=six]").await;
    js(
        &c,
        "document.querySelector('input[name=grade_buttons]').form.requestSubmit(); return 1",
    )
    .await;
    wait_for_text(&c, "preferences were saved").await;
    c.goto(&format!("{base}/review?deck=1")).await.unwrap();
    press(&c, " ").await;
    assert_eq!(
        js(
            &c,
            "return document.querySelectorAll('#grade-form button.grade').length"
        )
        .await,
        json!(6)
    );
    audit(&c, "review-six-answer").await;
    c.goto(&format!("{base}/review?deck=2")).await.unwrap();
    click(&c, "button[name=give_up]").await;
    wait_for_text(&c, "Here is the solution").await;
    audit(&c, "review-problem-six-solution").await;
    click(&c, "form[action='/logout'] button").await;
    wait_for_text(&c, "Log in").await;

    // The instructor finds the report in the inbox and replies.
    log_in(&c, &base, "teacher").await;
    c.goto(&format!("{base}/reports")).await.unwrap();
    assert!(body_text(&c).await.contains("cuts off mid-sentence"));
    assert!(body_text(&c).await.contains("kim"));
    audit(&c, "reports").await;
    for (path, name) in [
        (format!("/classes/{class}"), "class"),
        (format!("/classes/{class}/dashboard"), "class-dashboard"),
        (format!("/classes/{class}/reports"), "class-reports"),
        ("/classes".to_owned(), "classes"),
        ("/admin/users".to_owned(), "admin-users"),
        ("/admin/users/2/identities".to_owned(), "admin-identities"),
        ("/admin/users/2/reset".to_owned(), "admin-confirm-reset"),
        ("/decks/1/edit".to_owned(), "deck-editor"),
        ("/admin/import".to_owned(), "import"),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        audit(&c, name).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("week2.csv");
    std::fs::write(
        &file,
        "front,back\nWhat is a stride?,The step of the kernel\nL1 Loss,dup\n",
    )
    .unwrap();
    c.find(Locator::Css("input[name=file]"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    click(
        &c,
        "form[action^='/admin/import/preview'] button[type=submit]",
    )
    .await;
    wait_for_text(&c, "Nothing has been imported yet").await;
    audit(&c, "import-preview").await;

    // The instructor replies; the resolved report stays under the filter.
    c.goto(&format!("{base}/reports")).await.unwrap();
    assert!(
        body_text(&c).await.contains("You can fix this card"),
        "the inbox tells an admin they can fix a course card"
    );
    c.find(Locator::Css(".reply-form textarea"))
        .await
        .unwrap()
        .send_keys("Thanks: passed on to the admins.")
        .await
        .unwrap();
    click(&c, ".reply-form button").await;
    wait_for_text(&c, "No open reports").await;
    c.goto(&format!("{base}/reports?show=resolved"))
        .await
        .unwrap();
    assert!(body_text(&c).await.contains("Resolved by teacher"));
    audit(&c, "reports-resolved").await;
    c.goto(&format!("{base}/classes/{class}")).await.unwrap();
    assert!(exists(&c, "#join-link").await);
    // An exam for the class, three weeks on, covering its first deck.
    let exam_date = (jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
        + jiff::Span::new().days(21))
    .to_string();
    c.execute(
        "document.querySelector('#exams input[name=name]').value = 'Unit test';
         document.querySelector('#exams input[name=date]').value = arguments[0];
         document.querySelector('#exams input[type=checkbox]').checked = true;",
        vec![serde_json::Value::String(exam_date.clone())],
    )
    .await
    .unwrap();
    click(&c, "#exams form button[type=submit]").await;
    wait_for_text(&c, &exam_date).await;
    click(&c, "form[action='/logout'] button").await;
    wait_for_text(&c, "Log in").await;

    // The student is told of the reply on their next page, and reads it through its link.
    log_in(&c, &base, "kim").await;
    assert!(exists(&c, "#reply-notice").await, "the reply is announced");
    audit(&c, "decks-reply-notice").await;
    for (path, name) in [
        (format!("/classes/join/{code}"), "class-join-member"),
        (format!("/classes/{class}/leave"), "class-leave-confirm"),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        audit(&c, name).await;
    }
    click(&c, "#reply-notice-link").await;
    wait_for_text(&c, "passed on to the admins").await;
    c.goto(&format!("{base}/decks")).await.unwrap();
    assert!(!exists(&c, "#reply-notice").await, "read, so gone");
    // The exam is announced beside it, on every page, until dismissed.
    assert!(exists(&c, "#exam-notice").await, "the exam is announced");
    assert!(body_text(&c).await.contains(&exam_date));
    audit(&c, "decks-exam-notice").await;
    click(&c, "#exam-notice-dismiss").await;
    wait_for_text(&c, "Review").await;
    c.goto(&format!("{base}/decks")).await.unwrap();
    assert!(!exists(&c, "#exam-notice").await, "dismissed, so gone");
    c.close().await.unwrap();
}

/// The seed of the review page's problem.
async fn problem_seed(c: &Client) -> String {
    body(c).await;
    c.find(Locator::Css("input[name=seed]"))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .unwrap()
}

/// Types `keys` where a keyboard user's focus is, without moving it (`press` focuses the body).
async fn type_at_focus(c: &Client, keys: &str) {
    body(c).await;
    c.active_element()
        .await
        .unwrap()
        .send_keys(keys)
        .await
        .unwrap();
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: run scripts/e2e"]
async fn space_after_a_wrong_answer_records_again_and_esc_then_u_undoes_from_the_answer_box() {
    const ESC: &str = "\u{e00c}";
    let app = helpers::spawn_app().await;
    let base = app.address.clone();
    let c = browser().await;
    register(&c, &base, "ada").await;
    c.goto(&format!("{base}/review?deck=2")).await.unwrap();
    let seed = problem_seed(&c).await;
    assert_eq!(
        js(&c, "return document.activeElement.id").await,
        json!("answer"),
        "the answer box has the focus"
    );

    // A wrong answer typed in the box and sent with Enter; Space then takes the suggested Wrong.
    type_at_focus(&c, "1\n").await;
    wait_for_text(&c, "Not quite.").await;
    assert!(body_text(&c).await.contains("Space for Wrong"));
    type_at_focus(&c, " ").await;
    wait_for_text(&c, "Card 2 of").await;
    let pool = app.pool().await;
    let grades: Vec<i64> = sqlx::query_scalar("SELECT quality FROM reviews ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(grades, [1], "Space recorded Again, once");

    // The next problem's box has the focus: a U there is a letter, Esc then U undoes.
    assert_eq!(
        js(&c, "return document.activeElement.id").await,
        json!("answer")
    );
    assert!(text_of(&c, "#undo-form").await.contains("Esc then U"));
    type_at_focus(&c, &format!("{ESC}u")).await;
    wait_for_text(&c, "Took back your Again").await;
    assert_eq!(problem_seed(&c).await, seed, "the undone attempt's numbers");
    assert_eq!(
        js(&c, "return document.getElementById('answer').value").await,
        json!(""),
        "no u was typed"
    );

    // Nothing is left to undo: the page says so instead of keeping the last message.
    type_at_focus(&c, &format!("{ESC}u")).await;
    wait_for_text(&c, "Nothing to undo").await;
    assert!(!body_text(&c).await.contains("Took back your"));
    assert_no_console_errors(&c, "/review?deck=2").await;
    c.close().await.unwrap();
}

/// Buttons on the page whose box is not wholly inside their scroll container's visible box
/// (cut off, or reached only by scrolling a panel sideways): their text.
const CUT_BUTTONS: &str = r#"
const cut = [];
for (const b of document.querySelectorAll(arguments[0])) {
  const r = b.getBoundingClientRect();
  let box = b.parentElement;
  while (box && getComputedStyle(box).overflowX === 'visible') box = box.parentElement;
  const outer = box ? box.getBoundingClientRect() : { left: 0, right: window.innerWidth };
  if (r.width === 0 || r.left < outer.left - 0.5 || r.right > outer.right + 0.5
      || (box && box.scrollWidth > box.clientWidth + 1)) {
    cut.push(b.textContent.trim() + ' ' + Math.round(r.left) + '-' + Math.round(r.right)
             + ' in ' + Math.round(outer.left) + '-' + Math.round(outer.right));
  }
}
return cut;
"#;

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: run scripts/e2e"]
async fn the_class_pages_take_back_buttons_are_whole_at_1280_px() {
    let app = helpers::spawn_app().await;
    let base = app.address.clone();
    let (class, _) = class_with_admin(&app).await;
    // The shipped course deck (public) and a deck with a long name, both assigned.
    let r = helpers::upload(
        &app,
        "d.tsv",
        b"term\tdefinition\n".to_vec(),
        "Convolutional networks, week 3: strides and padding",
        "tsv",
    )
    .await;
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    // Equality, not LIKE: PostgreSQL's deck names are case-insensitive (a nondeterministic
    // collation), which LIKE refuses.
    let mine: i64 = sqlx::query_scalar(
        "SELECT id FROM decks WHERE name = 'Convolutional networks, week 3: strides and padding'",
    )
    .fetch_one(&app.pool().await)
    .await
    .unwrap();
    for deck in ["1".to_owned(), mine.to_string()] {
        let r = app
            .submit(
                &format!("/classes/{class}"),
                &format!("/classes/{class}/decks/{deck}"),
                &[("assigned", "1")],
            )
            .await;
        assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    }
    let c = browser().await;
    log_in(&c, &base, "teacher").await;
    for width in [1024, 1280] {
        c.set_window_size(width, 900).await.unwrap();
        c.goto(&format!("{base}/classes/{class}")).await.unwrap();
        let buttons = c
            .find_all(Locator::Css("#class-decks button"))
            .await
            .unwrap();
        assert!(
            buttons.len() >= 2,
            "the class's decks are listed with their buttons"
        );
        assert_eq!(
            js(
                &c,
                &format!(
                    "return (function() {{ {CUT_BUTTONS} }}).apply(null, ['#class-decks button'])"
                )
            )
            .await,
            json!([]),
            "buttons cut off on the class page at {width} px"
        );
    }
    js(
        &c,
        "document.getElementById('class-decks').scrollIntoView(); return 0",
    )
    .await;
    shoot(&c, "class-decks-1280").await;
    c.close().await.unwrap();
}

/// Where `css`'s element is in the window: [top, bottom, window height].
async fn place_of(c: &Client, css: &str) -> (f64, f64, f64) {
    body(c).await;
    let v = js(
        c,
        &format!(
            "const r = document.querySelector('{css}').getBoundingClientRect();
             return [r.top, r.bottom, window.innerHeight]"
        ),
    )
    .await;
    let n = |i: usize| v[i].as_f64().unwrap();
    (n(0), n(1), n(2))
}

/// Fails unless the page opened at `css`, its result: its top in the window (in the upper
/// third on a phone, where the page was scrolled to it) and the focus on it, so that a
/// screen reader reads it.
async fn assert_opens_at(c: &Client, css: &str, phone: bool) {
    let (top, _, height) = place_of(c, css).await;
    let limit = if phone { height / 3.0 } else { height - 48.0 };
    assert!(
        top >= -1.0 && top < limit,
        "{css} starts at {top}px in a {height}px window: out of sight"
    );
    let focused = js(
        c,
        &format!("return document.activeElement === document.querySelector('{css}')"),
    )
    .await;
    assert_eq!(focused, json!(true), "{css} has the focus");
}

/// Rendered text sizes (font size times the chart's scale) of every label in the charts
/// shown, smallest first: [size, text].
const CHART_TEXT_SIZES: &str = "return [...document.querySelectorAll('svg.chart, svg.heatmap')]
      .filter(svg => getComputedStyle(svg).display !== 'none')
      .flatMap(svg => [...svg.querySelectorAll('text')].map(t =>
        [parseFloat(getComputedStyle(t).fontSize) * svg.getScreenCTM().a, t.textContent]))
      .sort((a, b) => a[0] - b[0]);";

/// The forecast's bars a reader can see in the window without scrolling sideways, of all.
const FORECAST_BARS_SHOWN: &str = "const width = document.documentElement.clientWidth;
    const rects = [...document.querySelectorAll('#forecast, [id^=forecast-]')]
      .filter(svg => getComputedStyle(svg).display !== 'none')
      .flatMap(svg => [...svg.querySelectorAll('rect')]);
    const wrap = document.querySelector('#forecast').closest('.chart-wrap').getBoundingClientRect();
    return [rects.filter(r => { const b = r.getBoundingClientRect();
      return b.left >= Math.max(0, wrap.left) - 1 && b.right <= Math.min(width, wrap.right) + 1; }).length, rects.length];";

/// The contrast between two elements' background colours (or fills).
const LEVEL_CONTRAST: &str = "function lum(css) {
      const [r, g, b] = css.match(/[\\d.]+/g).slice(0, 3).map(Number).map(v => { v /= 255;
        return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b; }
    const a = lum(getComputedStyle(document.querySelector(arguments[0])).backgroundColor);
    const b = lum(getComputedStyle(document.querySelector(arguments[1])).backgroundColor);
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);";

/// Each radio and check box on the page against its label: [radio width, height, whether it
/// sits before the label's text on its first line, the label's width, height].
const RADIO_GEOMETRY: &str =
    "return [...document.querySelectorAll('main input[type=radio], main input[type=checkbox]')]
    .filter(i => i.getBoundingClientRect().width > 0)
    .map(i => {
      const label = i.closest('label');
      const walker = document.createTreeWalker(label, NodeFilter.SHOW_TEXT);
      let node = walker.nextNode();
      while (node && !node.textContent.trim()) node = walker.nextNode();
      const range = document.createRange();
      range.selectNodeContents(node);
      const line = range.getClientRects()[0];
      const r = i.getBoundingClientRect();
      const l = label.getBoundingClientRect();
      const middle = (r.top + r.bottom) / 2;
      const onLine = r.right <= line.left + 1 && middle >= line.top && middle <= line.bottom;
      return [r.width, r.height, onLine, l.width, l.height, label.textContent.trim().slice(0, 30)];
    });";

/// Each visible header's link or button at its size: [width, height, text].
const NAV_TARGETS: &str = "return [...document.querySelectorAll('header a, header button, #undo-form button, #schedule-notice button')]
    .filter(e => e.getBoundingClientRect().width > 0)
    .map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height, e.textContent.trim()]; });";

/// The tables' column labels that wrap, at the width of now: a header cell, or on a phone
/// the label a stacked cell shows before its value, taller than one line and a half.
const WRAPPED_LABELS: &str = "const out = [];
    for (const th of document.querySelectorAll('table.decks th')) {
      const r = th.getBoundingClientRect();
      const line = parseFloat(getComputedStyle(th).lineHeight);
      const pad = parseFloat(getComputedStyle(th).paddingTop) + parseFloat(getComputedStyle(th).paddingBottom);
      if (r.height > 0 && r.height - pad > 1.5 * line && th.textContent.trim().indexOf(' ') < 0) out.push(['th', th.textContent.trim(), r.height]);
    }
    for (const td of document.querySelectorAll('table.decks td[data-label]')) {
      const before = getComputedStyle(td, '::before');
      if (before.content === 'none' || before.display === 'none') continue;
      const height = parseFloat(before.height);
      const line = parseFloat(before.lineHeight);
      if (!(height > 0 && line > 0)) out.push(['unmeasured', td.dataset.label, before.height, before.lineHeight]);
      else if (height > 1.5 * line) out.push(['td', td.dataset.label, height]);
    }
    return out;";

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: run scripts/e2e"]
async fn results_open_in_view_and_phone_controls_tables_and_charts_read_in_both_themes() {
    let app = helpers::spawn_app().await;
    let base = app.address.clone();
    let (class, code) = class_with_admin(&app).await;
    // A student who reports a card in words long enough to squeeze a column.
    let kim = app.other_browser();
    kim.register_ok("kim").await;
    let r = kim
        .submit("/classes", "/classes/join", &[("code", &code)])
        .await;
    assert_eq!(r.status(), 303);
    let r = kim
        .submit(
            "/review?deck=1",
            "/cards/1/report",
            &[
                (
                    "message",
                    "Thebackofthiscardcutsoffmidsentencebeforeitsaysanything, see the slides",
                ),
                ("deck", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let c = browser().await;

    // A student's pages at a phone's width: the result of each form is in sight.
    register_in_class(&c, &base, "ada", &code).await;
    for (width, height, phone) in [(PHONE_WIDTH, 844, true), (1280, 900, false)] {
        c.set_window_size(width, height).await.unwrap();
        c.goto(&format!("{base}/practice/network/7")).await.unwrap();
        type_at_focus(&c, "12\n").await;
        wait_for_text(&c, "Worked solution").await;
        assert_opens_at(&c, "#verdict", phone).await;
        c.goto(&format!("{base}/review?deck=2")).await.unwrap();
        type_at_focus(&c, "1\n").await;
        wait_for_text(&c, "Not quite.").await;
        assert_opens_at(&c, "#verdict", phone).await;
        if phone {
            audit(&c, "review-problem-checked").await;
            c.set_window_size(width, height).await.unwrap();
        }
    }

    // /account's radios sit on their label's line, with 44 px targets on a phone.
    for scheme in ["light", "dark"] {
        color_scheme(&c, scheme).await;
        for (width, phone) in [(PHONE_WIDTH, true), (1280, false)] {
            c.set_window_size(width, 900).await.unwrap();
            c.goto(&format!("{base}/account")).await.unwrap();
            let radios = js(&c, RADIO_GEOMETRY).await;
            assert_eq!(radios.as_array().unwrap().len(), 4, "{radios}");
            for r in radios.as_array().unwrap() {
                let n = |i: usize| r[i].as_f64().unwrap();
                assert_eq!(r[2], json!(true), "off its label's line at {width}px: {r}");
                assert!(n(1) >= 18.0, "a radio {}px tall at {width}px: {r}", n(1));
                if phone {
                    assert!(n(3) >= 44.0 && n(4) >= 44.0, "a small target: {r}");
                }
            }
            // Every link and button of the header is a 44 px target on a phone.
            if phone {
                for t in js(&c, NAV_TARGETS).await.as_array().unwrap() {
                    let n = |i: usize| t[i].as_f64().unwrap();
                    assert!(n(0) >= 44.0 && n(1) >= 44.0, "a small target: {t}");
                }
            }
        }
        c.set_window_size(1200, 900).await.unwrap();
    }
    color_scheme(&c, "light").await;
    c.goto(&format!("{base}/account")).await.unwrap();
    audit(&c, "account").await;

    // Dark mode themes the browser's own controls: the radios, the progress bar.
    color_scheme(&c, "dark").await;
    c.goto(&format!("{base}/review?deck=1")).await.unwrap();
    let themed = js(
        &c,
        "const p = getComputedStyle(document.querySelector('#progress progress'));
         return [p.colorScheme, p.accentColor]",
    )
    .await;
    assert!(themed[0].as_str().unwrap().contains("dark"), "{themed}");
    assert_eq!(
        themed[1],
        json!("rgb(122, 165, 255)"),
        "the accent: {themed}"
    );
    c.goto(&format!("{base}/account")).await.unwrap();
    let radio = js(
        &c,
        "return getComputedStyle(document.querySelector('input[type=radio]')).accentColor",
    )
    .await;
    assert_eq!(radio, json!("rgb(122, 165, 255)"));
    color_scheme(&c, "light").await;

    // Undo, on the review page, is a 44 px target on a phone.
    c.set_window_size(PHONE_WIDTH, 844).await.unwrap();
    c.goto(&format!("{base}/review?deck=1")).await.unwrap();
    press(&c, " ").await;
    press(&c, "3").await;
    wait_for_text(&c, "Undo last grade").await;
    for t in js(&c, NAV_TARGETS).await.as_array().unwrap() {
        let n = |i: usize| t[i].as_f64().unwrap();
        assert!(n(0) >= 44.0 && n(1) >= 44.0, "a small target: {t}");
    }

    // /stats: every chart label reads at 12 px or more on a phone, the whole forecast shows,
    // and a quiet day stands out from an empty one, in both themes.
    for scheme in ["light", "dark"] {
        color_scheme(&c, scheme).await;
        for width in [PHONE_WIDTH, 1280] {
            c.set_window_size(width, 900).await.unwrap();
            c.goto(&format!("{base}/stats")).await.unwrap();
            body(&c).await;
            let sizes = js(&c, CHART_TEXT_SIZES).await;
            let smallest = sizes[0][0].as_f64().unwrap();
            assert!(
                smallest >= 11.95,
                "chart text at {smallest}px at {width}px ({scheme}): {}",
                sizes[0]
            );
            let shown = js(&c, FORECAST_BARS_SHOWN).await;
            assert_eq!(
                shown,
                json!([30, 30]),
                "the forecast's days in sight at {width}px"
            );
            let levels = c
                .execute(
                    LEVEL_CONTRAST,
                    vec![json!(".legend .l1"), json!(".legend .l0")],
                )
                .await
                .unwrap();
            assert!(
                levels.as_f64().unwrap() >= 3.0,
                "a quiet day is {levels}:1 against an empty one ({scheme})"
            );
        }
    }
    color_scheme(&c, "light").await;
    c.set_window_size(1200, 900).await.unwrap();
    c.goto(&format!("{base}/stats")).await.unwrap();
    audit(&c, "stats").await;
    click(&c, "form[action='/logout'] button").await;
    wait_for_text(&c, "Log in").await;

    // The instructor's pages.
    log_in(&c, &base, "teacher").await;
    c.set_window_size(PHONE_WIDTH, 844).await.unwrap();
    c.goto(&format!("{base}/decks/1/edit")).await.unwrap();
    c.find(Locator::Css("#add-card textarea[name=front]"))
        .await
        .unwrap()
        .send_keys("What is \\(k^2\\)?")
        .await
        .unwrap();
    c.find(Locator::Css("#add-card textarea[name=back]"))
        .await
        .unwrap()
        .send_keys("The kernel's area")
        .await
        .unwrap();
    click(&c, "#add-card button[name=preview]").await;
    wait_for_text(&c, "not saved yet").await;
    assert_opens_at(&c, "#card-preview", true).await;
    audit(&c, "deck-editor-preview").await;

    // A bad exam date: the error is what the page opens at.
    c.set_window_size(PHONE_WIDTH, 844).await.unwrap();
    c.goto(&format!("{base}/classes/{class}")).await.unwrap();
    c.find(Locator::Css("#exams input[name=name]"))
        .await
        .unwrap()
        .send_keys("Quiz 1")
        .await
        .unwrap();
    js(
        &c,
        "document.querySelector('#exams input[name=date]').value = '2001-01-01'; return 0",
    )
    .await;
    click(&c, "#exams form[action*='/exams'] button[type=submit]").await;
    wait_for_text(&c, "a day after today").await;
    assert_opens_at(&c, "#exam-result", true).await;
    assert!(
        text_of(&c, "#exam-result")
            .await
            .contains("a day after today")
    );
    // The refusal's 422 is logged as a failed load: expected here, so let go of it.
    c.issue_cmd(BrowserLog).await.unwrap();

    // The import preview and the reports inbox: no label wraps a letter a line, at either width.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("long.csv");
    std::fs::write(
        &file,
        "front,back\nAconvolutionalneuralnetworklayerwithaverylongname,Backpropagationthroughtimeunrolledoverthesequence\nL1 Loss,dup\n",
    )
    .unwrap();
    c.goto(&format!("{base}/admin/import")).await.unwrap();
    c.find(Locator::Css("input[name=file]"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    click(
        &c,
        "form[action^='/admin/import/preview'] button[type=submit]",
    )
    .await;
    wait_for_text(&c, "Nothing has been imported yet").await;
    assert_opens_at(&c, "#import-preview", true).await;
    // In the dark the file picker's button is the theme's, not a light grey box.
    c.goto(&format!("{base}/admin/import")).await.unwrap();
    color_scheme(&c, "dark").await;
    let picker = js(
        &c,
        "const b = getComputedStyle(document.querySelector('input[type=file]'), '::file-selector-button');
         return [b.backgroundColor, b.color, getComputedStyle(document.querySelector('.panel')).backgroundColor]",
    )
    .await;
    assert_eq!(
        picker[0], picker[2],
        "the picker's button on the panel's colour: {picker}"
    );
    assert_eq!(picker[1], json!("rgb(236, 236, 239)"), "{picker}");
    color_scheme(&c, "light").await;
    c.goto(&format!("{base}/admin/import")).await.unwrap();
    c.find(Locator::Css("input[name=file]"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    click(
        &c,
        "form[action^='/admin/import/preview'] button[type=submit]",
    )
    .await;
    wait_for_text(&c, "Nothing has been imported yet").await;
    for page in ["import-preview-long", "reports-long"] {
        if page == "reports-long" {
            c.goto(&format!("{base}/reports")).await.unwrap();
            wait_for_text(&c, "Thebackofthiscard").await;
        }
        for width in [PHONE_WIDTH, 1280] {
            c.set_window_size(width, 900).await.unwrap();
            let wrapped = js(&c, WRAPPED_LABELS).await;
            assert_eq!(
                wrapped,
                json!([]),
                "labels broken in the {page} at {width}px"
            );
        }
        audit(&c, page).await;
    }

    // The dashboard: the students at risk come first, the long sections fold.
    c.set_window_size(PHONE_WIDTH, 844).await.unwrap();
    c.goto(&format!("{base}/classes/{class}/dashboard"))
        .await
        .unwrap();
    let risk = text_of(&c, "#at-risk").await;
    // kim never studied; ada reviewed today.
    assert!(
        risk.contains("kim: has not studied yet") && !risk.contains("ada"),
        "{risk}"
    );
    let (risk_top, _, _) = place_of(&c, "#at-risk").await;
    assert!(
        risk_top < 844.0 * 1.5,
        "the students at risk at {risk_top}px"
    );
    let folds = js(
        &c,
        "return document.querySelectorAll('main details.fold:not([open])').length",
    )
    .await;
    assert!(folds.as_i64().unwrap() >= 4, "{folds} sections folded");
    let height = js(&c, "return document.documentElement.scrollHeight").await;
    assert!(
        height.as_i64().unwrap() < 4000,
        "the dashboard is {height}px long on a phone"
    );
    audit(&c, "class-dashboard").await;
    c.close().await.unwrap();
}

/// University sign-on in the browser, through the real provider's own page
/// (`oidc-provider-mock`, started by `scripts/with-oidc scripts/e2e oidc`; `scripts/e2e` alone
/// skips this test).
#[tokio::test]
#[ignore = "needs Chromium and an OpenID provider: scripts/with-oidc scripts/e2e oidc"]
async fn oidc_a_student_signs_on_through_the_providers_page_and_logs_out_there_too() {
    let issuer = std::env::var("STUDYHALL_TEST_OIDC_ISSUER")
        .expect("STUDYHALL_TEST_OIDC_ISSUER: run scripts/with-oidc scripts/e2e oidc");
    // The public URL is the server's own address, so the port is chosen first.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let public = format!("http://127.0.0.1:{port}");
    let app = helpers::spawn_app_with(|s| {
        s.bind = format!("127.0.0.1:{port}");
        s.sign_on = studyhall::auth::oidc::settings::SignOn {
            public_url: Some(public.clone()),
            local_login: true,
            providers: vec![studyhall::auth::oidc::settings::ProviderSettings {
                key: "default".to_owned(),
                issuer: issuer.clone(),
                client_id: "studyhall".to_owned(),
                client_secret: Some("e2e".to_owned().into()),
                name: "Sign on with Example University".to_owned(),
                scopes: vec!["email".to_owned(), "profile".to_owned()],
                groups_claim: "groups".to_owned(),
                username_claim: "preferred_username".to_owned(),
                instructor_groups: Vec::new(),
                admin_groups: Vec::new(),
                allowed_domains: Vec::new(),
                authoritative_domains: Vec::new(),
                required_claim: None,
            }],
        };
    })
    .await;
    let base = app.address.clone();
    assert_eq!(base, public);
    let sub = format!("rosalind-{}", hex::encode(rand::random::<[u8; 4]>()));
    let claims = json!({"preferred_username": "rosalind", "email": "rf@example.edu",
                        "email_verified": true});
    helpers::client()
        .put(format!("{issuer}/users/{sub}"))
        .json(&claims)
        .send()
        .await
        .unwrap();
    let c = browser().await;
    c.goto(&format!("{base}/login")).await.unwrap();
    audit(&c, "login-sign-on").await;
    // The page's script adds the browser's time zone to the sign-on link.
    let zone = c
        .execute(
            "return Intl.DateTimeFormat().resolvedOptions().timeZone;",
            vec![],
        )
        .await
        .unwrap();
    let zone = zone.as_str().expect("the browser's zone").to_owned();
    let href = c
        .find(Locator::Css("#sign-on-default"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(href.contains("&time_zone="), "{href}");
    click(&c, "#sign-on-default").await;
    // The provider's own page: type the subject, Authorize.
    c.wait()
        .for_element(Locator::Css("input[name=sub]"))
        .await
        .unwrap()
        .send_keys(&sub)
        .await
        .unwrap();
    click(&c, "form button[type=submit]").await;
    wait_for_text(&c, "Log out").await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(&format!("{base}/decks"))
    );
    assert!(body_text(&c).await.contains("rosalind"));
    let stored: String = sqlx::query_scalar(
        "SELECT u.time_zone FROM users u JOIN identities i ON i.user_id = u.id
         WHERE i.subject = $1",
    )
    .bind(&sub)
    .fetch_one(app.db().await.reader())
    .await
    .unwrap();
    assert_eq!(stored, zone, "the new account has the browser's zone");
    // Logging out goes by the provider's end-session page and comes back to the landing page.
    click(&c, "form[action='/logout'] button").await;
    c.wait()
        .for_element(Locator::Css(
            "form[action$='/oauth2/end_session/confirm'] button",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&c, "Log in").await;
    assert_eq!(c.current_url().await.unwrap().as_str(), format!("{base}/"));
    c.goto(&format!("{base}/decks")).await.unwrap();
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(&format!("{base}/login"))
    );
    c.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: run scripts/e2e"]
async fn a_card_with_an_image_a_table_code_and_a_formula_reads_well_at_both_widths() {
    let app = helpers::spawn_app().await;
    let base = app.address.clone();
    let c = browser().await;
    register(&c, &base, "admin").await;
    c.goto(&format!("{base}/decks")).await.unwrap();
    fill_and_send(
        &c,
        &[("name", "Residual networks")],
        "form[action='/decks'] button[type=submit]",
    )
    .await;
    wait_for_text(&c, "Add a card").await;

    // The card is typed in the editor, its image uploaded from a file through the form
    // (no script of ours involved), previewed, then added.
    let image = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots/stats.png");
    js(
        &c,
        r#"const f = document.getElementById('add-card');
           f.querySelector('[name=front]').value = '<b>Residual block</b>: what does it add? \\(y = F(x) + x\\)';
           f.querySelector('[name=back]').value = '<table><caption>Shapes</caption><tr><th scope="col">Layer</th><th scope="col">Output</th></tr><tr><td>conv 3×3, 64</td><td>\\(56 \\times 56 \\times 64\\)</td></tr><tr><td>identity</td><td>\\(x\\)</td></tr></table><pre><code>def block(x):\n    return relu(conv(conv(x)) + x)</code></pre>\\[\\frac{\\partial L}{\\partial x} = \\frac{\\partial L}{\\partial y}\\left(1 + \\frac{\\partial F}{\\partial x}\\right)\\]';
           f.querySelector('[name=format]').value = 'html';
           f.querySelector('[name=image_alt]').value = 'A progress page, as an example picture';
           return true;"#,
    )
    .await;
    c.find(Locator::Css("#add-card input[type=file][name=image]"))
        .await
        .unwrap()
        .send_keys(image.to_str().unwrap())
        .await
        .unwrap();
    click(
        &c,
        "#add-card button[formaction$='/cards/image#card-preview']",
    )
    .await;
    wait_for_text(&c, "not saved yet").await;
    assert!(exists(&c, "#card-preview .back img[src^='/media/']").await);
    click(&c, "#add-card button.primary").await;
    wait_for_text(&c, "Card added").await;
    let card: i64 = sqlx::query_scalar("SELECT MAX(id) FROM cards")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();

    c.goto(&format!("{base}/cards/{card}")).await.unwrap();
    body(&c).await;
    // The image arrived and decoded, the formulas are MathML, set in the math font.
    let shown = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             document.fonts.ready.then(() => {
               const img = document.querySelector('.card-html img');
               done({
                 image: img ? img.naturalWidth : 0,
                 alt: img ? img.alt : '',
                 maths: document.querySelectorAll('.card-html math').length,
                 table: document.querySelectorAll('.card-html table td').length,
                 code: document.querySelectorAll('.card-html pre code').length,
                 font: [...document.fonts].some(f => f.family.includes('studyhall math') && f.status === 'loaded'),
               });
             });",
            vec![],
        )
        .await
        .unwrap();
    assert!(shown["image"].as_u64().unwrap() > 0, "{shown}");
    assert_eq!(shown["alt"], "A progress page, as an example picture");
    assert!(shown["maths"].as_u64().unwrap() >= 4, "{shown}");
    assert_eq!(shown["table"], 4, "{shown}");
    assert_eq!(shown["code"], 1, "{shown}");
    assert_eq!(shown["font"], true, "{shown}");
    // At a phone's width the image fits the page.
    c.set_window_size(PHONE_WIDTH, 844).await.unwrap();
    let width = js(
        &c,
        "return document.querySelector('.card-html img').getBoundingClientRect().width",
    )
    .await;
    assert!(width.as_f64().unwrap() <= f64::from(PHONE_WIDTH), "{width}");
    c.set_window_size(1200, 900).await.unwrap();
    // axe, the contrast check and no sideways scroll, at 1280 and 390 px, both themes, with
    // screenshots (docs/screenshots/rich-card*.png are copies of these).
    audit(&c, "rich-card").await;
    c.close().await.unwrap();
}

/// The first link to `public` in the newest outbox message of `kind`, as a full URL.
async fn mailed_link(app: &helpers::TestApp, public: &str, kind: &str) -> String {
    // A reset's message is written by the reset worker just after the answer: waited for.
    let mut text = String::new();
    for _ in 0..150 {
        let newest: Option<String> = sqlx::query_scalar(
            "SELECT body_text FROM outbox WHERE kind = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(kind)
        .fetch_optional(app.db().await.reader())
        .await
        .unwrap();
        if let Some(newest) = newest {
            text = newest;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let start = text.find(public).expect("a link to the site");
    text[start..].split_whitespace().next().unwrap().to_owned()
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: run scripts/e2e"]
async fn the_mail_pages_pass_axe_and_contrast_from_the_address_to_the_reset_and_the_unsubscribe() {
    // Links in messages point at the server itself, so its port is chosen first; the SMTP
    // port is closed: the messages wait in the outbox, where the test reads their links.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let public = format!("http://127.0.0.1:{port}");
    let app = helpers::spawn_app_with(|s| {
        s.bind = format!("127.0.0.1:{port}");
        s.mail = Some(studyhall::mail::MailSettings {
            host: "127.0.0.1".to_owned(),
            port: 9,
            tls: studyhall::mail::Tls::None,
            user: None,
            password: None,
            from: "studyhall <noreply@studyhall.test>".to_owned(),
            public_url: public.clone(),
            ca_file: None,
        });
    })
    .await;
    let base = app.address.clone();
    let c = browser().await;
    register(&c, &base, "mira").await;

    // The account page's address form, then the page saying a link is on its way.
    c.goto(&format!("{base}/account#email")).await.unwrap();
    audit(&c, "mail-account-address").await;
    fill_and_send(
        &c,
        &[("address", "mira@example.org")],
        "form[action='/account/email'] button[type=submit]",
    )
    .await;
    wait_for_text(&c, "not confirmed yet").await;
    audit(&c, "mail-account-unconfirmed").await;

    // The confirmation link opens a page with a button; the button confirms.
    let link = mailed_link(&app, &public, "confirm").await;
    c.goto(&link).await.unwrap();
    assert!(exists(&c, "#email-confirm").await);
    audit(&c, "mail-confirm").await;
    click(&c, "#email-confirm button[type=submit]").await;
    wait_for_text(&c, "Your e-mail address is confirmed").await;
    audit(&c, "mail-confirmed").await;
    c.goto(&link).await.unwrap();
    assert!(exists(&c, "#email-link-invalid").await);
    expect_status_logged(&c, 400).await;
    audit(&c, "mail-confirm-invalid").await;

    // Reminders on: the account page with the reminder settings.
    c.goto(&format!("{base}/account#email")).await.unwrap();
    click(&c, "input[name=reminders][value=daily]").await;
    click(&c, "#reminders button[type=submit]").await;
    wait_for_text(&c, "Study reminders by e-mail").await;
    assert!(exists(&c, "input[name=reminders][value=daily]:checked").await);
    audit(&c, "mail-account-reminders").await;

    // The unsubscribe link: a page with a button, then the page saying it is done.
    let token: String =
        sqlx::query_scalar("SELECT unsubscribe_token FROM mail_addresses WHERE address = $1")
            .bind("mira@example.org")
            .fetch_one(app.db().await.reader())
            .await
            .unwrap();
    let logged_out = browser().await;
    logged_out
        .goto(&format!("{base}/mail/unsubscribe?token={token}"))
        .await
        .unwrap();
    audit(&logged_out, "mail-unsubscribe").await;
    click(&logged_out, "form[action='/mail/unsubscribe'] button").await;
    wait_for_text(&logged_out, "no more study reminders").await;
    audit(&logged_out, "mail-unsubscribed").await;

    // Forgot the password: from the login page's link, the form, the answer, the reset page.
    logged_out.goto(&format!("{base}/login")).await.unwrap();
    logged_out
        .find(Locator::LinkText("Forgot your password?"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&logged_out, "Username or e-mail address").await;
    audit(&logged_out, "mail-forgot").await;
    fill_and_send(
        &logged_out,
        &[("name", "mira")],
        "form[action='/password/forgot'] button[type=submit]",
    )
    .await;
    // Each answer is the next page: wait for it (the click returns before it loads).
    wait_for_css(&logged_out, "#reset-sent").await;
    audit(&logged_out, "mail-forgot-sent").await;
    let link = mailed_link(&app, &public, "reset").await;
    logged_out.goto(&link).await.unwrap();
    audit(&logged_out, "mail-reset").await;
    fill_and_send(
        &logged_out,
        &[("new", "short"), ("confirm", "short")],
        "form[action='/password/reset'] button[type=submit]",
    )
    .await;
    wait_for_css(&logged_out, ".errors").await;
    expect_status_logged(&logged_out, 422).await;
    audit(&logged_out, "mail-reset-error").await;
    fill_and_send(
        &logged_out,
        &[
            ("new", "a brand new passphrase"),
            ("confirm", "a brand new passphrase"),
        ],
        "form[action='/password/reset'] button[type=submit]",
    )
    .await;
    wait_for_css(&logged_out, "#reset-done").await;
    audit(&logged_out, "mail-reset-done").await;
    logged_out.goto(&link).await.unwrap();
    assert!(exists(&logged_out, "#reset-link-invalid").await);
    expect_status_logged(&logged_out, 400).await;
    audit(&logged_out, "mail-reset-invalid").await;
    c.close().await.unwrap();
    logged_out.close().await.unwrap();
}
