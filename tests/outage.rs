//! The database going away for a moment under a running server: requests answer 503 with a
//! clear message, and the server recovers by itself when the database is back. Needs the
//! throwaway PostgreSQL server of `scripts/with-postgres` (which `.ci/run` runs it under), since
//! the test stops and starts that server: plain `cargo test` reports it ignored, and run
//! without that server (`--include-ignored`) it fails rather than passing unchecked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::StatusCode;
use studyhall::config::Settings;
use studyhall::db::Location;
use studyhall::web::startup::Application;

fn pg_ctl(action: &str) {
    let command = std::env::var("STUDYHALL_PG_CTL").unwrap();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{command} {action}"))
        .status()
        .unwrap();
    assert!(status.success(), "pg_ctl {action}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn an_unreachable_database_answers_503_and_the_server_recovers_when_it_returns() {
    let needs = "this test needs the PostgreSQL server of scripts/with-postgres";
    let server = std::env::var("STUDYHALL_TEST_POSTGRES").expect(needs);
    assert!(std::env::var("STUDYHALL_PG_CTL").is_ok(), "{needs}");
    let app = Application::build(Settings::for_database(Location::Postgres(server)))
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    studyhall::http_client::install_crypto_provider();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let decks = || client.get(format!("{base}/decks")).send();
    assert_eq!(decks().await.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(
        client
            .get(format!("{base}/login"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    // A signed-in student whose review page has run (on PostgreSQL it reads through this
    // worker's spare connections, `db::hot`, which the restart below kills).
    let student = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let form = student
        .get(format!("{base}/register"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"csrf_token\" value=\"";
    let start = form.find(marker).unwrap() + marker.len();
    let token = &form[start..start + form[start..].find('"').unwrap()];
    let password = "a long enough passphrase";
    let registered = student
        .post(format!("{base}/register"))
        .form(&[
            ("csrf_token", token),
            ("username", "olga"),
            ("password", password),
            ("confirm", password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::SEE_OTHER);
    let review = || student.get(format!("{base}/review")).send();
    for _ in 0..3 {
        assert_eq!(review().await.unwrap().status(), StatusCode::OK);
    }

    pg_ctl("-m fast stop");
    let down = client
        .get(format!("{base}/stats"))
        .header("cookie", "studyhall_session=0123456789abcdef")
        .send()
        .await
        .unwrap();
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(down.headers()["retry-after"], "5");
    assert!(
        down.text()
            .await
            .unwrap()
            .contains("The database cannot be reached at the moment")
    );

    pg_ctl("start");
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..100 {
        status = client
            .get(format!("{base}/stats"))
            .header("cookie", "studyhall_session=0123456789abcdef")
            .send()
            .await
            .unwrap()
            .status();
        if status != StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Back: an unknown session is sent to the login page, as before the outage.
    assert_eq!(status, StatusCode::SEE_OTHER);
    // And the review page again, its dead connections dropped after their one failure each.
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..100 {
        status = review().await.unwrap().status();
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::OK);
}
