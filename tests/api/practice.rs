use crate::helpers::{TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};
use studyhall::practice::{self, Expected};

/// The value of a hidden or text input in a page.
fn field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..start + html[start..].find('"')?].to_owned())
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

fn answer_of(family: &str, seed: u64) -> String {
    practice::family(family)
        .unwrap()
        .variant(seed)
        .expected
        .display()
}

fn misconception_of(family: &str, seed: u64) -> Option<(String, &'static str)> {
    let v = practice::family(family).unwrap().variant(seed);
    v.misconceptions
        .first()
        .map(|m| (m.answer.display(), m.label))
}

async fn practice_deck(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT id FROM decks WHERE name = 'CS 7643 practice problems'")
        .fetch_one(&app.pool().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_practice_page_lists_every_family_and_gives_each_problem_a_permanent_link() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let html = app.get_html("/practice").await;
    for family in practice::FAMILIES {
        assert!(
            html.contains(&format!("href=\"/practice/{}\"", family.id)),
            "{}",
            family.id
        );
    }
    let response = app.get("/practice/conv-params").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let link = location(&response);
    let seed: u64 = link.rsplit('/').next().unwrap().parse().unwrap();
    assert!(seed <= practice::MAX_SEED);
    let first = app.get_html(&link).await;
    let prompt = practice::family("conv-params")
        .unwrap()
        .variant(seed)
        .prompt;
    let prompt_in = |html: &str| {
        html.split("id=\"prompt\">")
            .nth(1)
            // Paragraphs in the page, lines in the prompt.
            .map(|s| {
                s[..s.find("</div>").unwrap()]
                    .trim()
                    .trim_start_matches("<p>")
                    .trim_end_matches("</p>")
                    .replace("</p><p>", "\n")
            })
    };
    assert_eq!(
        prompt_in(&first).as_deref(),
        Some(prompt.as_str()),
        "the page shows the variant's prompt"
    );
    assert_eq!(
        prompt_in(&app.get_html(&link).await),
        prompt_in(&first),
        "the same link shows the same problem"
    );

    assert_eq!(
        app.get("/practice/no-such-family").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/practice/conv-params/9007199254740992")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/practice/conv-params/abc").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_right_answer_is_confirmed_and_explained_with_this_problems_numbers() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let seed = 1234;
    let page = format!("/practice/conv-params/{seed}");
    let response = app
        .submit(
            &page,
            &page,
            &[("answer", &answer_of("conv-params", seed)), ("started", "")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let html = app.get_html(&location(&response)).await;
    assert!(html.contains("<strong>Right.</strong>"));
    let v = practice::family("conv-params").unwrap().variant(seed);
    for step in &v.solution {
        assert!(
            html.contains(&step.replace('\'', "&#39;")),
            "solution step {step}"
        );
    }
    assert!(html.contains("Another one"));
}

#[tokio::test]
async fn a_known_wrong_answer_names_its_misconception() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let seed = (0..200u64)
        .find(|s| misconception_of("fc-params", *s).is_some())
        .unwrap();
    let (wrong, label) = misconception_of("fc-params", seed).unwrap();
    let page = format!("/practice/fc-params/{seed}");
    let response = app.submit(&page, &page, &[("answer", &wrong)]).await;
    let html = app.get_html(&location(&response)).await;
    assert!(html.contains("Not quite."));
    assert!(
        html.contains(&format!("It looks like you {label}.")),
        "{html}"
    );
    assert!(html.contains(&answer_of("fc-params", seed)));
}

#[tokio::test]
async fn an_unreadable_answer_says_so_and_is_not_graded() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let page = "/practice/output-shape/77";
    let response = app.submit(page, page, &[("answer", "about fifty")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("is not a shape") && html.contains("not graded"));
    assert!(
        html.contains("value=\"about fifty\""),
        "the typed answer is kept"
    );
    let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM practice_attempts")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    assert_eq!(attempts, 0);
}

#[tokio::test]
async fn another_users_attempt_is_not_found() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let page = "/practice/loss/5";
    let response = app.submit(page, page, &[("answer", "1")]).await;
    let link = location(&response);
    let bob = app.other_browser();
    bob.register_ok("bob").await;
    assert_eq!(bob.get(&link).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&link).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_generated_card_in_review_shows_a_fresh_problem_checks_it_and_suggests_the_grade() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let deck = practice_deck(&app).await;
    let review = format!("/review?deck={deck}");
    let html = app.get_html(&review).await;
    assert!(
        html.contains("Conv layer parameters"),
        "the first practice card comes first"
    );
    assert!(
        !html.contains("id=\"grade-form\""),
        "no grades before an answer"
    );
    let seed: u64 = field(&html, "seed").unwrap().parse().unwrap();
    let action = html
        .split("action=\"")
        .find(|s| s.contains("/answer\""))
        .unwrap();
    let action = action[..action.find('"').unwrap()].to_owned();
    let card_id: i64 = action
        .trim_start_matches("/review/")
        .trim_end_matches("/answer")
        .parse()
        .unwrap();

    // A fresh variant each time the card is shown.
    let again = app.get_html(&review).await;
    assert_ne!(field(&again, "seed"), Some(seed.to_string()));

    // Answer the first one right and quickly.
    let response = app
        .submit(
            &review,
            &action,
            &[
                ("answer", &answer_of("conv-params", seed)),
                ("seed", &seed.to_string()),
                ("started", &app.clock().now().as_millisecond().to_string()),
                ("deck", &deck.to_string()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let checked = app.get_html(&location(&response)).await;
    assert!(checked.contains("<strong>Right.</strong>"));
    // Four buttons worded as an attempt; the suggested one marked.
    assert!(checked.contains("Right at once") && checked.contains("Right, with difficulty"));
    assert!(!checked.contains("Blackout"));
    assert!(checked.contains("grade-5 suggested"));
    let attempt = field(&checked, "attempt").unwrap();

    // The student lowers it to 4; the history keeps seed, answer and the suggestion.
    let graded = app
        .submit(
            &location(&response),
            &format!("/review/{card_id}"),
            &[
                ("quality", "4"),
                ("attempt", &attempt),
                ("deck", &deck.to_string()),
            ],
        )
        .await;
    assert_eq!(graded.status(), StatusCode::SEE_OTHER);
    let row: (i64, String, String, i64) = sqlx::query_as(
        "SELECT quality, variant_seed, answer, suggested_quality FROM reviews WHERE card_id = $1",
    )
    .bind(card_id)
    .fetch_one(&app.pool().await)
    .await
    .unwrap();
    assert_eq!(
        row,
        (4, seed.to_string(), answer_of("conv-params", seed), 5)
    );
    let interval: i64 =
        sqlx::query_scalar("SELECT interval_days FROM review_states WHERE card_id = $1")
            .bind(card_id)
            .fetch_one(&app.pool().await)
            .await
            .unwrap();
    assert_eq!(interval, 1);
}

#[tokio::test]
async fn a_wrong_or_unreadable_answer_in_review_is_handled_without_grading() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let deck = practice_deck(&app).await;
    let review = format!("/review?deck={deck}");
    let html = app.get_html(&review).await;
    let seed = field(&html, "seed").unwrap();
    let card: i64 = sqlx::query_scalar("SELECT id FROM cards WHERE generator = 'conv-params'")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    let action = format!("/review/{card}/answer");

    let unreadable = app
        .submit(
            &review,
            &action,
            &[
                ("answer", "lots"),
                ("seed", &seed),
                ("deck", &deck.to_string()),
            ],
        )
        .await;
    assert_eq!(unreadable.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = unreadable.text().await.unwrap();
    assert!(html.contains("not graded"));
    assert_eq!(
        field(&html, "seed"),
        Some(seed.clone()),
        "the same problem stays"
    );

    let wrong = app
        .submit(
            &review,
            &action,
            &[
                ("answer", "1"),
                ("seed", &seed),
                ("deck", &deck.to_string()),
            ],
        )
        .await;
    let html = app.get_html(&location(&wrong)).await;
    assert!(html.contains("Not quite."));
    assert!(html.contains("grade-1 suggested"), "Wrong is suggested");

    // Giving up shows the solution and suggests 0.
    let html = app.get_html(&review).await;
    let seed = field(&html, "seed").unwrap();
    let gave_up = app
        .submit(
            &review,
            &action,
            &[
                ("answer", ""),
                ("seed", &seed),
                ("give_up", "1"),
                ("deck", &deck.to_string()),
            ],
        )
        .await;
    let html = app.get_html(&location(&gave_up)).await;
    assert!(
        html.contains("grade-1 suggested"),
        "a give-up suggests Wrong (grade 0 to 2)"
    );
    assert!(html.contains("Here is the solution.") && !html.contains("Not quite"));
    assert!(!html.contains("(gave up)"));
    assert!(html.contains("Worked solution"));
    let graded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reviews")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    assert_eq!(graded, 0, "answers alone grade nothing");
}

#[tokio::test]
async fn a_forged_attempt_cannot_be_attached_to_a_grade() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let page = "/practice/loss/9";
    let response = app.submit(page, page, &[("answer", "1")]).await;
    let at = location(&response);
    assert!(
        at.ends_with("#verdict"),
        "the page opens at the verdict: {at}"
    );
    let attempt = at
        .trim_end_matches("#verdict")
        .rsplit('=')
        .next()
        .unwrap()
        .to_owned();
    let card: i64 = sqlx::query_scalar("SELECT id FROM cards WHERE generator = 'loss'")
        .fetch_one(&app.pool().await)
        .await
        .unwrap();
    // A drill attempt belongs to no card: it cannot be passed off as this card's answer.
    let response = app
        .submit(
            "/decks",
            &format!("/review/{card}"),
            &[("quality", "5"), ("attempt", &attempt)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_api_needs_a_login_and_answers_in_json() {
    let app = spawn_app().await;
    let anonymous = app.get("/api/v1/practice").await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.json::<Value>().await.unwrap()["error"].is_string());

    app.register_ok("ada").await;
    let families: Value = app.get("/api/v1/practice").await.json().await.unwrap();
    assert_eq!(families.as_array().unwrap().len(), practice::FAMILIES.len());
    assert_eq!(families[0]["id"], "conv-params");
    assert!(families[0]["title"].is_string() && families[0]["description"].is_string());

    let v: Value = app
        .get("/api/v1/practice/conv-params?seed=42")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["id"], "conv-params");
    assert_eq!(v["seed"], 42);
    assert_eq!(v["params"]["asks"], "parameters");
    assert_eq!(v["params"]["input"].as_array().unwrap().len(), 3);
    let layer = &v["params"]["layers"][0];
    assert_eq!(layer["type"], "conv2d");
    for key in [
        "in_channels",
        "out_channels",
        "kernel_size",
        "stride",
        "padding",
        "bias",
    ] {
        assert!(!layer[key].is_null(), "{key}");
    }
    let again: Value = app
        .get("/api/v1/practice/conv-params?seed=42")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v, again);

    let loss = (0..100)
        .map(|s| practice::family("loss").unwrap().variant(s))
        .find(|v| matches!(&v.params.data, practice::Data::Loss { loss: "focal", .. }))
        .unwrap();
    let json: Value = app
        .get(&format!("/api/v1/practice/loss?seed={}", loss.seed))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json["params"]["asks"], "loss");
    assert_eq!(json["params"]["loss"], "focal");
    assert!(json["params"]["gamma"].is_number() && json["params"]["targets"].is_array());
    assert!(json["params"]["reduction"] == "sum" || json["params"]["reduction"] == "mean");
}

#[tokio::test]
async fn the_api_checks_answers_and_refuses_bad_requests_clearly() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let url =
        |family: &str, seed: &str| app.url(&format!("/api/v1/practice/{family}/{seed}/answer"));
    let post = |u: String, body: Value| app.client.post(u).json(&body).send();

    let right: Value = post(
        url("conv-params", "42"),
        json!({"answer": answer_of("conv-params", 42)}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(right["correct"], true);
    assert_eq!(right["misconception"], Value::Null);
    assert_eq!(right["tolerance"], 0.0);
    let Expected::Integer(n) = practice::family("conv-params")
        .unwrap()
        .variant(42)
        .expected
    else {
        panic!()
    };
    assert_eq!(right["expected"], n);
    assert!(right["solution"].as_array().unwrap().len() >= 3);

    let seed = (0..200u64)
        .find(|s| misconception_of("conv-params", *s).is_some())
        .unwrap();
    let (wrong, label) = misconception_of("conv-params", seed).unwrap();
    let checked: Value = post(
        url("conv-params", &seed.to_string()),
        json!({"answer": wrong}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(checked["correct"], false);
    assert_eq!(checked["misconception"], label);

    let memory: Value = post(
        url("activation-memory", "3"),
        json!({"answer": answer_of("activation-memory", 3)}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(memory["correct"], true);
    assert_eq!(memory["tolerance"], 0.01);

    for (u, body, status) in [
        (
            url("nope", "1"),
            json!({"answer": "1"}),
            StatusCode::NOT_FOUND,
        ),
        (
            url("conv-params", "x"),
            json!({"answer": "1"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            url("conv-params", "9007199254740992"),
            json!({"answer": "1"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            url("conv-params", "1"),
            json!({"reply": "1"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            url("conv-params", "1"),
            json!({"answer": "many"}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let response = post(u.clone(), body).await.unwrap();
        assert_eq!(response.status(), status, "{u}");
        assert!(response.json::<Value>().await.unwrap()["error"].is_string());
    }
    let form = app
        .client
        .post(url("conv-params", "1"))
        .form(&[("answer", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let bad_seed = app.get("/api/v1/practice/conv-params?seed=-1").await;
    assert_eq!(bad_seed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get("/api/v1/practice/nope").await.status(),
        StatusCode::NOT_FOUND
    );

    let anonymous = crate::helpers::client()
        .post(url("conv-params", "1"))
        .json(&json!({"answer": "1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_answer_format_and_tolerance_show_before_answering() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let html = app.get_html("/practice/conv-params/7").await;
    assert!(html.contains("id=\"answer-hint\">A whole number, exact"));
    assert!(
        !html.contains("#7<"),
        "the permanent link is not a number in the title"
    );
    assert!(html.contains("permanent link"));
    let html = app.get_html("/practice/output-shape/7").await;
    assert!(html.contains("A shape, channels first"));
    let loss = app.get_html("/practice/loss/7").await;
    assert!(loss.contains("within 1% count"));
}

/// A variant of `family` through the API.
async fn api_variant(app: &TestApp, family: &str, seed: u64) -> Value {
    app.get(&format!("/api/v1/practice/{family}?seed={seed}"))
        .await
        .json()
        .await
        .unwrap()
}

/// The API's verdict on `answer` to `family`'s variant `seed`.
async fn api_answer(app: &TestApp, family: &str, seed: u64, answer: &str) -> Value {
    app.client
        .post(app.url(&format!("/api/v1/practice/{family}/{seed}/answer")))
        .json(&json!({ "answer": answer }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_api_serves_convolution_problems_as_matrices_a_client_can_recompute() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let family = practice::family("conv-backward").unwrap();
    // One seed of each question, found by asking the generator.
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..200u64 {
        let variant = family.variant(seed);
        let v = api_variant(&app, "conv-backward", seed).await;
        let asks = v["params"]["asks"].as_str().unwrap().to_owned();
        if !seen.insert(asks.clone()) {
            continue;
        }
        let input = v["params"]["input"].as_array().unwrap();
        assert!(input.iter().all(|row| row.is_array()), "{v}");
        assert!(v["params"]["kernel"][0].is_array());
        assert!(v["params"]["stride"].is_u64() && v["params"]["padding"].is_u64());
        assert_eq!(
            v["params"]["upstream"].is_array(),
            asks.starts_with("grad_"),
            "the gradients give G: {v}"
        );
        // Typed with ASCII minus signs, rows separated by semicolons.
        let Expected::Matrix(rows) = &variant.expected else {
            panic!("a matrix answer")
        };
        let typed: Vec<String> = rows
            .iter()
            .map(|r| r.iter().map(i64::to_string).collect::<Vec<_>>().join(" "))
            .collect();
        let answer = api_answer(&app, "conv-backward", seed, &typed.join("; ")).await;
        assert_eq!(answer["correct"], true, "{answer}");
        assert_eq!(
            answer["expected"],
            json!(rows),
            "expected in the params' form"
        );
        assert_eq!(answer["tolerance"], 0.0);
    }
    let all: Vec<&str> = seen.iter().map(String::as_str).collect();
    assert_eq!(
        all,
        [
            "conv_output",
            "grad_input",
            "grad_weight",
            "transposed_conv_output"
        ]
    );
}

#[tokio::test]
async fn the_api_serves_detection_problems_with_boxes_anchors_and_grids() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let family = practice::family("detection").unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..200u64 {
        let variant = family.variant(seed);
        let v = api_variant(&app, "detection", seed).await;
        let p = &v["params"];
        let asks = p["asks"].as_str().unwrap().to_owned();
        if !seen.insert(asks.clone()) {
            continue;
        }
        match asks.as_str() {
            "anchor_count" => {
                let map = &p["feature_maps"][0];
                for key in ["h", "w", "scales", "ratios"] {
                    assert!(!map[key].is_null(), "{key} in {v}");
                }
            }
            "iou" => assert_eq!(p["boxes"].as_array().unwrap().len(), 2),
            "nms_kept" => {
                assert_eq!(p["boxes"][0].as_array().unwrap().len(), 4);
                assert_eq!(
                    p["scores"].as_array().unwrap().len(),
                    p["boxes"].as_array().unwrap().len()
                );
                assert!(p["iou_threshold"].is_f64());
            }
            "output_shape" => {
                for key in ["grid", "boxes_per_cell", "classes"] {
                    assert!(p[key].is_u64(), "{key} in {v}");
                }
            }
            other => panic!("unexpected asks {other}"),
        }
        let answer = api_answer(&app, "detection", seed, &variant.expected.display()).await;
        assert_eq!(answer["correct"], true, "{answer}");
        if asks == "nms_kept" {
            assert!(answer["expected"].is_array(), "indices as a JSON list");
        }
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
}

#[tokio::test]
async fn the_api_serves_style_residual_and_inception_problems_completely() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    for (id, keys, asks_all) in [
        (
            "style-transfer",
            &["features"][..],
            &["content_loss", "gram_matrix", "style_loss"][..],
        ),
        (
            "residual-block",
            &["input", "block", "layers", "shortcut"][..],
            &["output_shape", "parameters"][..],
        ),
        (
            "inception-module",
            &["input", "branches"][..],
            &[
                "multiply_adds",
                "output_shape",
                "parameters",
                "parameters_saved_by_reductions",
            ][..],
        ),
    ] {
        let family = practice::family(id).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..120u64 {
            let v = api_variant(&app, id, seed).await;
            let p = &v["params"];
            for key in keys {
                assert!(!p[key].is_null(), "{id}: {key} in {v}");
            }
            let asks = p["asks"].as_str().unwrap().to_owned();
            match asks.as_str() {
                "style_loss" => assert_eq!(p["style_normalization"], "gatys"),
                "content_loss" => assert!(p["content_features"][0][0].is_array()),
                _ => {}
            }
            if id == "residual-block" {
                let types: Vec<&str> = p["layers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l["type"].as_str().unwrap())
                    .collect();
                assert!(types.contains(&"batchnorm2d") && types.contains(&"conv2d"));
                assert_eq!(p["layers"][0]["bias"], false);
            }
            if !seen.insert(asks) {
                continue;
            }
            let answer = api_answer(&app, id, seed, &family.variant(seed).expected.display()).await;
            assert_eq!(answer["correct"], true, "{id} {seed}: {answer}");
        }
        let seen: Vec<&str> = seen.iter().map(String::as_str).collect();
        assert_eq!(seen, asks_all, "{id}");
    }
}

#[tokio::test]
async fn a_question_about_one_layers_output_names_it_in_params() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let seed = (0..500u64)
        .find(|s| {
            matches!(
                practice::family("network").unwrap().variant(*s).params.asks,
                practice::Asks::OutputShape
            )
        })
        .unwrap();
    let v = api_variant(&app, "network", seed).await;
    let of = v["params"]["of"]
        .as_str()
        .expect("params.of names the layer");
    let names: Vec<&str> = v["params"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&of) && names.last() != Some(&of),
        "{of} in {names:?}"
    );
    assert!(v["prompt"].as_str().unwrap().contains(of));
    // Without `of`, the question is about the last layer.
    let one: Value = app
        .get("/api/v1/practice/output-shape?seed=3")
        .await
        .json()
        .await
        .unwrap();
    assert!(one["params"].get("of").is_none(), "{one}");
}

/// The grade Space gives on a review page: the button app.js presses (`data-space`).
fn space_grade(html: &str) -> Option<String> {
    let at = html.find(" data-space")?;
    let tag = &html[html[..at].rfind("<button")?..at];
    field(tag, "quality")
}

/// The grade a page focuses, so that Enter takes it without the script.
fn focused_grade(html: &str) -> Option<String> {
    let at = html.find(" autofocus>")?;
    let tag = &html[html[..at].rfind("<button")?..at];
    field(tag, "quality")
}

/// Answers the review page's problem (`html`) with `answer`; returns the checked page.
async fn answer_in_review(app: &TestApp, deck: i64, html: &str, answer: &str) -> String {
    let seed = field(html, "seed").unwrap();
    let action = html
        .split("action=\"")
        .find(|s| s.contains("/answer\""))
        .unwrap();
    let action = &action[..action.find('"').unwrap()];
    let review = format!("/review?deck={deck}");
    let response = app
        .submit(
            &review,
            action,
            &[
                ("answer", answer),
                ("seed", &seed),
                ("started", &app.clock().now().as_millisecond().to_string()),
                ("deck", &deck.to_string()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    app.get_html(&location(&response)).await
}

#[tokio::test]
async fn after_a_wrong_answer_space_and_its_hint_take_wrong_and_after_a_right_one_the_suggested_grade()
 {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let deck = practice_deck(&app).await;
    let html = app.get_html(&format!("/review?deck={deck}")).await;
    let checked = answer_in_review(&app, deck, &html, "1").await;
    assert!(checked.contains("Not quite."), "{checked}");
    assert!(checked.contains("grade-1 suggested"));
    assert_eq!(
        space_grade(&checked).as_deref(),
        Some("1"),
        "Space takes Wrong"
    );
    assert!(
        checked.contains("<kbd>Space</kbd> for <span id=\"space-grade\">Wrong</span>"),
        "the hint names Wrong: {checked}"
    );
    assert_eq!(
        focused_grade(&checked).as_deref(),
        Some("1"),
        "Enter without script"
    );

    // A right, quick answer: Space takes the suggested Right at once, not Right.
    let html = app.get_html(&format!("/review?deck={deck}")).await;
    let seed: u64 = field(&html, "seed").unwrap().parse().unwrap();
    let checked = answer_in_review(&app, deck, &html, &answer_of("conv-params", seed)).await;
    assert!(checked.contains("grade-5 suggested"), "{checked}");
    assert_eq!(space_grade(&checked).as_deref(), Some("5"));
    assert!(checked.contains("<kbd>Space</kbd> for <span id=\"space-grade\">Right at once</span>"));
    assert_eq!(focused_grade(&checked).as_deref(), Some("5"));

    // A memory card suggests nothing: Space is Good, and no grade takes the focus.
    let memory = app.get_html("/review?deck=1").await;
    assert_eq!(space_grade(&memory).as_deref(), Some("4"));
    assert!(memory.contains("<kbd>Space</kbd> for <span id=\"space-grade\">Good</span>"));
    assert_eq!(focused_grade(&memory), None);
}

#[tokio::test]
async fn undoing_a_graded_problem_brings_back_the_same_numbers_and_the_hint_says_esc_then_u() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let deck = practice_deck(&app).await;
    let review = format!("/review?deck={deck}");
    let html = app.get_html(&review).await;
    let seed = field(&html, "seed").unwrap();
    let card = crate::helpers::card_id_in(&html);
    let checked = answer_in_review(&app, deck, &html, "1").await;
    let attempt = field(&checked, "attempt").unwrap();
    let graded = app
        .submit(
            &review,
            &format!("/review/{}", card.unwrap()),
            &[
                ("quality", "1"),
                ("attempt", &attempt),
                ("deck", &deck.to_string()),
            ],
        )
        .await;
    assert_eq!(graded.status(), StatusCode::SEE_OTHER);

    // The next problem has an answer box, which takes a typed U: the hint says Esc first.
    let next = app.get_html(&review).await;
    assert!(next.contains("id=\"answer-form\""));
    assert!(
        next.contains("Undo last grade <span class=\"key-hint\" id=\"undo-keys\"><kbd>Esc</kbd> then <kbd>U</kbd>"),
        "{next}"
    );

    let undone = app
        .submit(&review, "/review/undo", &[("deck", &deck.to_string())])
        .await;
    assert_eq!(undone.status(), StatusCode::SEE_OTHER);
    let back = app.get_html(&location(&undone)).await;
    assert!(back.contains("Took back your Again"), "{back}");
    assert_eq!(crate::helpers::card_id_in(&back), card);
    assert_eq!(field(&back, "seed"), Some(seed.clone()), "the same numbers");
    assert!(
        back.contains("id=\"answer-form\""),
        "ready to redo the attempt"
    );
    // A reload keeps them.
    assert_eq!(
        field(&app.get_html(&location(&undone)).await, "seed"),
        Some(seed)
    );
}
