use crate::helpers::{PASSWORD, csrf_in, spawn_app};
use reqwest::StatusCode;

fn assert_security_headers(response: &reqwest::Response) {
    let h = response.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
}

#[tokio::test]
async fn every_response_carries_the_security_headers_error_pages_included() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    for path in [
        "/healthz",
        "/login",
        "/decks",
        "/no/such/page",
        "/decks/999",
        "/decks/not-a-number",
    ] {
        let response = app.get(path).await;
        assert_security_headers(&response);
    }
    let missing = app.get("/no/such/page").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.text().await.unwrap().contains("Not found"));
}

#[tokio::test]
async fn the_json_api_has_its_own_stricter_policy_error_answers_included() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    for (path, status) in [
        ("/api/v1/practice", StatusCode::OK),
        ("/api/v1/practice/no-such-family", StatusCode::NOT_FOUND),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), status, "{path}");
        let h = response.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'none'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
    }
    let page = app.get("/decks").await;
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'self'"),
        "a page keeps the pages' policy"
    );
}

#[tokio::test]
async fn every_form_post_without_the_csrf_token_is_forbidden_and_changes_nothing() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let posts: &[(&str, &[(&str, &str)])] = &[
        ("/review/1", &[("quality", "5")]),
        ("/review/undo", &[]),
        ("/cards/1/suspend", &[]),
        ("/cards/1/unsuspend", &[]),
        ("/cards/1/bury", &[]),
        ("/cards/1/skip", &[]),
        ("/decks/1/custom", &[("set", "all"), ("result", "good")]),
        (
            "/account/preferences",
            &[
                ("time_zone", "UTC"),
                ("day_starts_hour", "4"),
                ("new_per_day", "1"),
            ],
        ),
        (
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", "x new password"),
                ("confirm", "x new password"),
            ],
        ),
        ("/logout", &[]),
        ("/login", &[("username", "ada"), ("password", PASSWORD)]),
        (
            "/register",
            &[
                ("username", "eve"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        ),
    ];
    for (path, fields) in posts {
        let missing = app.post_form(path, fields).await;
        assert_eq!(
            missing.status(),
            StatusCode::FORBIDDEN,
            "{path} without a token"
        );
        let mut forged = vec![("csrf_token", "0".repeat(64))];
        forged.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
        let forged: Vec<(&str, &str)> = forged.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let wrong = app.post_form(path, &forged).await;
        assert_eq!(
            wrong.status(),
            StatusCode::FORBIDDEN,
            "{path} with a wrong token"
        );
    }
    let import = app
        .client
        .post(app.url("/admin/import"))
        .multipart(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::text("a\tb\n").file_name("x.tsv"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(import.status(), StatusCode::FORBIDDEN);
    // The editor's image uploads (multipart): no token, then a wrong one.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x08\0\0\0\x08\x08\x06\0\0\0".to_vec();
    for path in ["/decks/1/cards/image", "/cards/1/image"] {
        for token in [None, Some("0".repeat(64))] {
            let mut form = reqwest::multipart::Form::new()
                .text("front", "forged")
                .text("back", "card")
                .text("tags", "")
                .text("format", "html");
            if let Some(token) = &token {
                form = form.text("csrf_token", token.clone());
            }
            let form = form.part(
                "image",
                reqwest::multipart::Part::bytes(png.clone()).file_name("x.png"),
            );
            let r = app
                .client
                .post(app.url(path))
                .multipart(form)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} with {token:?}");
        }
    }

    let pool = app.pool().await;
    let (reviews, users, decks): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM reviews), (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM decks)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((reviews, users, decks), (0, 1, 2));
    let controls: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM card_controls")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(controls, 0, "no card was suspended, buried or skipped");
    let media: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM media")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(media, 0, "no image was kept");
    assert_eq!(
        app.get("/decks").await.status(),
        StatusCode::OK,
        "still logged in"
    );
}

#[tokio::test]
async fn a_cross_site_origin_is_refused_even_with_the_right_token() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let token = csrf_in(&app.get_html("/review").await);
    let response = app
        .client
        .post(app.url("/review/1"))
        .header("origin", "https://evil.example")
        .form(&[("csrf_token", token.as_str()), ("quality", "5")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let same = app
        .client
        .post(app.url("/review/1"))
        .header("origin", app.address.as_str())
        .form(&[("csrf_token", token.as_str()), ("quality", "5")])
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let app = spawn_app().await;
    let token = csrf_in(&app.get_html("/login").await);
    let huge = "x".repeat(200 * 1024);
    let response = app
        .post_form(
            "/login",
            &[
                ("csrf_token", &token),
                ("username", "ada"),
                ("password", &huge),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.text().await.unwrap().contains("limit"));
}

#[tokio::test]
async fn repeated_wrong_passwords_on_one_account_back_off_without_locking_it() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let attacker = app.other_browser();
    let mut statuses = Vec::new();
    for _ in 0..200 {
        statuses.push(attacker.login("ada", "wrong password!").await.status());
    }
    let free = studyhall::auth::throttle::FREE_FAILURES as usize;
    assert!(
        statuses[..free]
            .iter()
            .all(|s| *s == StatusCode::UNPROCESSABLE_ENTITY),
        "{statuses:?}"
    );
    // Past the free failures each one doubles the wait: in the few seconds this loop takes,
    // only a handful more are checked.
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    assert!(checked <= free + 4, "{checked} checked: {statuses:?}");
    assert!(
        statuses[free..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS || *s == StatusCode::UNPROCESSABLE_ENTITY)
    );
    let throttled = attacker.login("ada", PASSWORD).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 900);

    // The owner, from another address, still gets in at once.
    let owner = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let page = owner
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let response = owner
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf_in(&page).as_str()),
            ("username", "ada"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn logging_into_ones_own_account_does_not_reset_the_count_on_another() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let attacker = app.other_browser();
    attacker.register_ok("mallory").await;
    attacker.submit("/decks", "/logout", &[]).await;
    let free = studyhall::auth::throttle::FREE_FAILURES as usize;
    // Three rounds of guesses, each followed by a login to the attacker's own account. When a
    // success reset the count, each round had its full budget (15 guesses checked); now the
    // count carries over, and only the backoff's slow trickle gets through (the loop takes a
    // few seconds, so one or two more at most).
    let mut checked = 0;
    for _ in 0..3 {
        for _ in 0..free {
            if attacker.login("ada", "guess").await.status() == StatusCode::UNPROCESSABLE_ENTITY {
                checked += 1;
            }
        }
        let own = attacker.other_browser();
        assert_eq!(
            own.login("mallory", PASSWORD).await.status(),
            StatusCode::SEE_OTHER
        );
    }
    assert!(checked <= free + 3, "{checked} guesses were checked");
    // Behind the same address (a campus NAT), other students still log in.
    let classmate = app.other_browser();
    classmate.register_ok("bob").await;
    let classmate = app.other_browser();
    assert_eq!(
        classmate.login("bob", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn the_current_password_check_is_throttled_like_a_login() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let r = app
            .submit(
                "/account",
                "/account/password",
                &[
                    ("current", "not it"),
                    ("new", "a brand new password"),
                    ("confirm", "a brand new password"),
                ],
            )
            .await;
        statuses.push(r.status());
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn markup_in_card_text_and_deck_names_is_shown_as_text() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let payload = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let file = format!("front,back\n\"{payload}\",\"{payload}\"\n");
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf_in(&app.get_html("/admin/import").await))
        .text("deck", payload)
        .text("format", "csv")
        .part(
            "file",
            reqwest::multipart::Part::text(file).file_name("x.csv"),
        );
    let response = app
        .client
        .post(app.url("/admin/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    for page in ["/decks", "/decks/3", "/review?deck=3&show=49"] {
        let html = app.get_html(page).await;
        assert!(!html.contains(payload), "{page} must escape the payload");
        let escaped = html.replace("&#60;", "&lt;").replace("&#62;", "&gt;");
        assert!(
            escaped.contains("&lt;script&gt;alert(1)&lt;"),
            "{page}: {html}"
        );
        assert!(
            escaped.contains("&lt;img src=x onerror=alert(2)&gt;"),
            "{page}"
        );
    }
}

#[tokio::test]
async fn sql_metacharacters_are_plain_text() {
    let app = spawn_app().await;
    let sneaky = "o'brien\"--";
    let response = app.register(sneaky).await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "usernames allow no quotes"
    );
    app.register_ok("obrien").await;
    let browser = app.other_browser();
    let response = browser.login("' OR '1'='1", "' OR '1'='1").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = app
        .submit(
            "/account",
            "/account/preferences",
            &[
                ("time_zone", "UTC'; DROP TABLE users; --"),
                ("day_starts_hour", "4"),
                ("new_per_day", "20"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Deck names, card text and practice answers carry them as plain text too.
    let sneaky_text = "x'); DROP TABLE cards; --";
    let file = format!("front,back\n\"{sneaky_text}\",\"{sneaky_text}\"\n");
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf_in(&app.get_html("/admin/import").await))
        .text("deck", sneaky_text)
        .text("format", "csv")
        .part(
            "file",
            reqwest::multipart::Part::text(file).file_name("x.csv"),
        );
    let response = app
        .client
        .post(app.url("/admin/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let stored: (String, String) = sqlx::query_as(
        "SELECT d.name, c.front FROM cards c JOIN decks d ON d.id = c.deck_id WHERE d.id = 3",
    )
    .fetch_one(&app.pool().await)
    .await
    .unwrap();
    assert_eq!(stored, (sneaky_text.to_owned(), sneaky_text.to_owned()));
    let practice = app
        .submit(
            "/practice/loss/1",
            "/practice/loss/1",
            &[("answer", "1'; DELETE FROM users; --")],
        )
        .await;
    assert_eq!(practice.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    assert_eq!(users, 1);
}

#[tokio::test]
async fn forwarded_addresses_count_only_behind_a_proxy() {
    let free = studyhall::auth::throttle::FREE_FAILURES as usize;
    let guess = |app: &crate::helpers::TestApp, forwarded: String| {
        let app = app.clone_browser();
        async move {
            let token = csrf_in(&app.get_html("/login").await);
            app.client
                .post(app.url("/login"))
                .header("x-forwarded-for", forwarded)
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("username", "ada"),
                    ("password", "wrong guess"),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // Directly exposed: the header is the client's to invent, so it buys no fresh budget.
    let direct = spawn_app().await;
    direct.register_ok("ada").await;
    let attacker = direct.other_browser();
    let mut statuses = Vec::new();
    for i in 0..=free {
        statuses.push(guess(&attacker, format!("10.0.0.{i}")).await);
    }
    assert_eq!(
        statuses[free],
        StatusCode::TOO_MANY_REQUESTS,
        "{statuses:?}"
    );

    // Behind a proxy: the proxy's last entry is the client, so two students are two budgets.
    let proxied = crate::helpers::spawn_app_with(|s| s.behind_proxy = true).await;
    proxied.register_ok("ada").await;
    let attacker = proxied.other_browser();
    for _ in 0..=free {
        guess(&attacker, "198.51.100.7, 10.0.0.1".to_owned()).await;
    }
    assert_eq!(
        guess(&attacker, "203.0.113.9, 10.0.0.1".to_owned()).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the spoofed first entry is ignored"
    );
    assert_eq!(
        guess(&attacker, "10.0.0.2".to_owned()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "another client of the proxy is not slowed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_script_cannot_grow_the_database_without_end_on_one_login() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let page = "/practice/conv-params/7";
    let token = csrf_in(&app.get_html(page).await);
    let started = std::time::Instant::now();
    let burst = studyhall::auth::budget::BURST as usize;
    // Until the budget says no: how many requests that takes depends on how fast this
    // machine answers them (the budget refills meanwhile), so the script stops at the first
    // refusal rather than after a fixed count, and gives up at three bursts.
    let refused = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let app = app.clone_browser();
            let token = token.clone();
            let refused = refused.clone();
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for _ in 0..(3 * burst) / 8 {
                    if refused.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let r = app
                        .post_form(
                            "/practice/conv-params/7",
                            &[("csrf_token", &token), ("answer", "12")],
                        )
                        .await;
                    if r.status() == StatusCode::TOO_MANY_REQUESTS {
                        refused.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    statuses.push(r.status());
                }
                statuses
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs() + 1;
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(throttled > 0, "no answer was refused");
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM practice_attempts")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    let allowed = burst as u64 + u64::from(studyhall::auth::budget::PER_SECOND) * elapsed;
    assert!(
        rows as usize >= burst,
        "the budget's worth was written: {rows}"
    );
    assert!(
        (rows as u64) <= allowed,
        "{rows} rows in {elapsed} s, budget {allowed}"
    );
    // Another student is not affected.
    let other = app.other_browser();
    other.register_ok("bob").await;
    let r = other.submit(page, page, &[("answer", "12")]).await;
    assert_ne!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn addresses_in_card_text_become_safe_links_and_nothing_else_does() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let file = "front,back\n\"ResNet\",\"He et al., https://arxiv.org/abs/1512.03385.\nSecond line\"\n\"Trap\",\"https://x.org/\"\"onmouseover=\"\"alert(1) and javascript:alert(2) <b>bold</b>\"\n";
    let r =
        crate::helpers::upload(&app, "links.csv", file.as_bytes().to_vec(), "Links", "csv").await;
    assert_eq!(r.status(), StatusCode::OK);
    let deck: i64 = sqlx::query_scalar("SELECT id FROM decks WHERE name = 'Links'")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    let html = app.get_html(&format!("/decks/{deck}")).await;
    assert!(html.contains(
        "He et al., <a href=\"https://arxiv.org/abs/1512.03385\" rel=\"nofollow noopener noreferrer\" target=\"_blank\">https://arxiv.org/abs/1512.03385</a>.\nSecond line"
    ));
    // The quote ends the address and is shown as text: no attribute can be smuggled in.
    assert!(html.contains(
        "<a href=\"https://x.org/\" rel=\"nofollow noopener noreferrer\" target=\"_blank\">https://x.org/</a>&#34;onmouseover=&#34;alert(1)"
    ));
    assert!(!html.contains("<b>bold</b>") && !html.contains("href=\"javascript"));
}
