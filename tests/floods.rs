//! Floods against the real server binary, measuring its memory from /proc: concurrent
//! wrong-password logins and registrations must be throttled or turned away fast, and the
//! process must stay within its working size plus the bounded hashing pool's. Slow and silent
//! clients (headers, bodies, idle connections) are timed out, and connections past the cap
//! wait in the kernel's queue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod process;

use process::{PASSWORD, Running, browser, csrf_in, page, rss_kib, sign_up, start};
use reqwest::StatusCode;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// A server in this process with `configure`d settings on a fresh SQLite file: its address
/// and how many connections it holds at most. Stopped when the test's runtime ends.
async fn server_with(
    dir: &std::path::Path,
    configure: impl FnOnce(&mut studyhall::config::Settings),
) -> (String, usize) {
    let mut settings = studyhall::config::Settings::for_database(studyhall::db::Location::File(
        dir.join("slow.db"),
    ));
    configure(&mut settings);
    let app = studyhall::web::startup::Application::build(settings)
        .await
        .unwrap();
    let address = format!("127.0.0.1:{}", app.port());
    let connections = app.connection_limits().total();
    tokio::spawn(app.run_until_stopped());
    (address, connections)
}

/// Timeouts of about a second (actix's own are at least one), so the tests wait little.
fn short_timeouts(settings: &mut studyhall::config::Settings) {
    let short = studyhall::config::MIN_SERVER_TIMEOUT;
    settings.timeouts = studyhall::config::Timeouts {
        header: short,
        keep_alive: short,
        body_idle: Duration::from_millis(300),
        body: Duration::from_millis(900),
        disconnect: short,
    };
}

/// Far above every timeout above: a connection still open after this is held for ever.
const CLOSED_WITHIN: Duration = Duration::from_secs(20);

/// Everything the server sends until it closes the connection; fails if it is still open
/// after [`CLOSED_WITHIN`].
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    match tokio::time::timeout(CLOSED_WITHIN, stream.read_to_end(&mut received)).await {
        Ok(_) => String::from_utf8_lossy(&received).into_owned(),
        Err(_) => panic!(
            "the connection was still open after {CLOSED_WITHIN:?}; it had sent {:?}",
            String::from_utf8_lossy(&received)
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_body_never_arrives_is_answered_408_and_closed() {
    let dir = tempfile::tempdir().unwrap();
    let (address, _) = server_with(dir.path(), short_timeouts).await;
    // A form post that declares 100 bytes and sends none: the handler waits for its form.
    let mut stream = TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
              Content-Length: 100\r\n\r\nusername=",
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // A chunked body that stops, sent to a page that never reads it: actix would drain it for
    // as long as the client kept the connection open.
    let mut stream = TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_trickles_in_past_its_deadline_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let (address, _) = server_with(dir.path(), short_timeouts).await;
    let mut stream = TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
              Content-Length: 1000\r\n\r\n",
        )
        .await
        .unwrap();
    // A byte every 100 ms never pauses long enough for the idle limit, but 1,000 of them
    // take far longer than the whole body's 900 ms.
    let trickle = async {
        for _ in 0..1000 {
            if stream.write_all(b"a").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(3), trickle).await;
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_header_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let (address, _) = server_with(dir.path(), short_timeouts).await;

    // Kept alive after a response, then silent.
    let mut stream = TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // Half a request line, then nothing.
    let mut stream = TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHo")
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // Connected, and not a byte sent.
    let mut stream = TcpStream::connect(&address).await.unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_until_one_closes() {
    let dir = tempfile::tempdir().unwrap();
    let (address, cap) = server_with(dir.path(), |settings| {
        settings.max_connections = 2;
        settings.timeouts.keep_alive = Duration::from_secs(60);
    })
    .await;
    assert!((1..=64).contains(&cap), "{cap}");
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n";
    // Fill the cap with connections that were served and are kept alive.
    let mut held = Vec::new();
    for _ in 0..cap {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut buffer = [0u8; 512];
        let n = tokio::time::timeout(CLOSED_WITHIN, stream.read(&mut buffer))
            .await
            .unwrap()
            .unwrap();
        assert!(buffer[..n].starts_with(b"HTTP/1.1 200"));
        held.push(stream);
    }
    // One more is queued by the kernel, but not served while the others stay open.
    let mut waiting = TcpStream::connect(&address).await.unwrap();
    waiting.write_all(request).await.unwrap();
    let mut buffer = [0u8; 512];
    assert!(
        tokio::time::timeout(Duration::from_millis(700), waiting.read(&mut buffer))
            .await
            .is_err(),
        "a connection past the cap of {cap} was served"
    );
    drop(held);
    let n = tokio::time::timeout(CLOSED_WITHIN, waiting.read(&mut buffer))
        .await
        .expect("served once the others closed")
        .unwrap();
    assert!(buffer[..n].starts_with(b"HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_trickling_its_next_requests_headers_is_closed() {
    // actix times only a connection's first request's headers: after one answered request,
    // a client that sends the next request's headers a byte at a time held the connection for
    // as long as it kept trickling.
    let dir = tempfile::tempdir().unwrap();
    let (address, _) = server_with(dir.path(), short_timeouts).await;
    let mut stream = TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 1024];
    let n = tokio::time::timeout(CLOSED_WITHIN, stream.read(&mut buffer))
        .await
        .unwrap()
        .unwrap();
    assert!(buffer[..n].starts_with(b"HTTP/1.1 200"));
    let started = std::time::Instant::now();
    let trickle = b"GET /healthz HTTP/1.1\r\nX-Slow: "
        .iter()
        .chain(std::iter::repeat(&b'a'));
    for byte in trickle {
        if stream.write_all(&[*byte]).await.is_err() {
            break;
        }
        let mut probe = [0u8; 1024];
        let read = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut probe));
        if let Ok(Ok(0) | Err(_)) = read.await {
            break;
        }
        assert!(
            started.elapsed() < CLOSED_WITHIN,
            "a connection trickling its second request's headers was still open after {CLOSED_WITHIN:?}"
        );
    }
}
