//! Floods against the real server binary, measuring its memory from /proc: concurrent
//! wrong-password logins and registrations must be throttled or turned away fast, and the
//! process must stay within its working size plus the bounded hashing pool's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod process;

use process::{PASSWORD, Running, browser, csrf_in, page, rss_kib, sign_up, start};
use reqwest::StatusCode;
use std::collections::BTreeMap;

/// What the burst may add to the server's peak memory. The hashing pool holds at most one
/// 19 MiB argon2 block per thread (at most 4); the rest is slack for request buffers.
const ALLOWED_GROWTH_KIB: u64 = 100 * 1024;

async fn login_page_token(client: &reqwest::Client, base: &str) -> String {
    csrf_in(&page(client, &format!("{base}/login")).await)
}

/// Sends `n` requests at once; returns how many got each status.
async fn burst(
    n: usize,
    request: impl Fn(usize) -> reqwest::RequestBuilder,
) -> BTreeMap<u16, usize> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let r = request(i);
            tokio::spawn(async move { r.send().await.unwrap().status().as_u16() })
        })
        .collect();
    let mut counts = BTreeMap::new();
    for t in tasks {
        *counts.entry(t.await.unwrap()).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_logins_are_throttled_within_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (server, base) = start(&dir.path().join("flood.db")).await;
    let server = Running(server);
    let (_victim, _) = sign_up(&base, "victim").await;
    let attacker = browser();
    let token = login_page_token(&attacker, &base).await;
    let (before, _) = rss_kib(&server.0);

    let counts = burst(200, |_| {
        attacker.post(format!("{base}/login")).form(&[
            ("csrf_token", token.as_str()),
            ("username", "victim"),
            ("password", "not the password"),
        ])
    })
    .await;
    let (after, peak) = rss_kib(&server.0);
    eprintln!("login burst: {counts:?}; RSS {before} KiB before, peak {peak}, after {after}");
    // Every wrong password that was checked is a 422; the throttle lets through only the
    // free failures plus one, however many arrive at once.
    let checked = counts.get(&422).copied().unwrap_or(0);
    assert!(
        checked <= studyhall::auth::throttle::FREE_FAILURES as usize + 1,
        "{counts:?}"
    );
    assert!(counts.get(&429).copied().unwrap_or(0) > 150, "{counts:?}");
    assert!(
        peak < before + ALLOWED_GROWTH_KIB,
        "peak {peak} KiB from {before} KiB"
    );

    // Only that account is slowed at this address: another account is still checked.
    let other = browser();
    let token = login_page_token(&other, &base).await;
    let r = other
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", "someone-else"),
            ("password", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_registrations_stay_within_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (server, base) = start(&dir.path().join("flood.db")).await;
    let server = Running(server);
    let client = browser();
    let token = csrf_in(&page(&client, &format!("{base}/register")).await);
    let (before, _) = rss_kib(&server.0);
    let counts = burst(200, |i| {
        client.post(format!("{base}/register")).form(&[
            ("csrf_token", token.clone()),
            ("username", format!("flood{i}")),
            ("password", PASSWORD.to_owned()),
            ("confirm", PASSWORD.to_owned()),
        ])
    })
    .await;
    let (after, peak) = rss_kib(&server.0);
    eprintln!(
        "registration burst: {counts:?}; RSS {before} KiB before, peak {peak}, after {after}"
    );
    assert!(
        peak < before + ALLOWED_GROWTH_KIB,
        "peak {peak} KiB from {before} KiB"
    );
    // Past the hashing queue, registrations are turned away with 503 and Retry-After, or
    // with 429 once the address's registrations are used up.
    let refused = counts.get(&503).copied().unwrap_or(0) + counts.get(&429).copied().unwrap_or(0);
    assert!(refused > 0, "{counts:?}");
    assert_eq!(
        counts.values().sum::<usize>(),
        refused + counts.get(&303).copied().unwrap_or(0),
        "every registration was created or refused cleanly: {counts:?}"
    );
}
