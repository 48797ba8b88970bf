//! The real server binary as a child process on a free port, for the tests that kill it or
//! measure its memory, and a browser-like client for it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use reqwest::{Client, StatusCode};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "correct horse battery";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn start(db: &std::path::Path) -> (Child, String) {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_studyhall"))
        .args(["--bind", &format!("127.0.0.1:{port}"), "--database"])
        .arg(db)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        studyhall::http_client::install_crypto_provider();
        if let Ok(r) = reqwest::get(format!("{base}/healthz")).await
            && r.status() == StatusCode::OK
        {
            return (child, base);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    panic!("the server did not start");
}

pub fn browser() -> Client {
    studyhall::http_client::install_crypto_provider();
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    // To the closing quote: a signed pre-login token is longer than a session's 64 digits.
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

pub async fn sign_up(base: &str, name: &str) -> (Client, String) {
    let client = browser();
    let form = [
        (
            "csrf_token",
            csrf_in(&page(&client, &format!("{base}/register")).await),
        ),
        ("username", name.to_owned()),
        ("password", PASSWORD.to_owned()),
        ("confirm", PASSWORD.to_owned()),
    ];
    let r = client
        .post(format!("{base}/register"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let token = csrf_in(&page(&client, &format!("{base}/account")).await);
    let prefs = [
        ("csrf_token", token.clone()),
        ("time_zone", "UTC".to_owned()),
        ("day_starts_hour", "4".to_owned()),
        ("new_per_day", "9999".to_owned()),
    ];
    let r = client
        .post(format!("{base}/account/preferences"))
        .form(&prefs)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    (client, token)
}

/// A page's HTML, fetched with `client`.
pub async fn page(client: &Client, url: &str) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// The process's resident memory now and at its peak, in KiB, from /proc.
pub fn rss_kib(child: &Child) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A server process that is killed when dropped, so a failing test leaves nothing running.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
