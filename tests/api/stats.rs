use crate::helpers::spawn_app;

fn figure(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = html.find(&marker).unwrap() + marker.len();
    html[start..start + html[start..].find('<').unwrap()].to_owned()
}

#[tokio::test]
async fn progress_shows_todays_reviews_the_forecast_and_the_heat_map() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let empty = app.get_html("/stats").await;
    assert_eq!(figure(&empty, "reviews-today"), "0");
    assert!(empty.contains("no mature cards yet"));

    app.grade_next(5, None).await;
    app.grade_next(4, None).await;
    app.grade_next(1, None).await; // comes back today
    let html = app.get_html("/stats").await;
    assert_eq!(figure(&html, "reviews-today"), "3");
    assert_eq!(figure(&html, "learned"), "3");
    assert_eq!(
        figure(&html, "due-today"),
        "1",
        "the failed card owes a repeat"
    );
    assert_eq!(figure(&html, "due-tomorrow"), "3");
    // 30 forecast bars, tomorrow's the tallest; 53 weeks of heat map ending with today shaded.
    // The desktop chart, and the same 30 days in a phone's two rows.
    let wide = html.split("id=\"forecast\"").nth(1).unwrap();
    let wide = &wide[..wide.find("</svg>").unwrap()];
    assert_eq!(wide.matches(" due</title></rect>").count(), 30);
    assert_eq!(html.matches(" due</title></rect>").count(), 60);
    assert!(html.contains("id=\"forecast-1\"") && html.contains("id=\"forecast-2\""));
    assert!(html.contains(": 3 due</title>"));
    assert!(html.contains("class=\"l4\"><title>"));
    assert!(html.contains(": 3 reviews</title>"));
    assert!(!html.contains("<script>"), "charts are drawn on the server");
}

#[tokio::test]
async fn retention_counts_reviews_of_mature_cards() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let pool = app.pool().await;
    // Make one mature card: interval 30 days, due today.
    let card = app.grade_next(5, None).await;
    sqlx::query("UPDATE review_states SET interval_days = 30, repetitions = 3, due_day = due_day - 1 WHERE card_id = $1")
        .bind(card)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(app.grade_next(4, None).await, card);
    let html = app.get_html("/stats").await;
    assert_eq!(figure(&html, "retention"), "100%");
    assert!(html.contains("(1 reviews)"));
}

#[tokio::test]
async fn the_daily_rollup_always_equals_what_the_history_says() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    let pool = app.pool().await;
    // Grades, a failure with its repeats, undos, and a mature card, over two days.
    let first = app.grade_next(5, None).await;
    sqlx::query(
        "UPDATE review_states SET interval_days = 40, due_day = due_day - 1 WHERE card_id = $1",
    )
    .bind(first)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        app.grade_next(2, None).await,
        first,
        "the mature card is due again"
    );
    app.grade_next(4, None).await;
    app.submit("/review", "/review/undo", &[("deck", "")]).await;
    app.grade_next(1, None).await;
    app.clock().advance(86_400);
    app.grade_next(5, None).await;
    app.grade_next(3, None).await;
    app.submit("/review", "/review/undo", &[("deck", "")]).await;

    let snapshot = || async {
        sqlx::query_as::<_, (i64, i64, i64, i64, i64, i64)>(
            "SELECT user_id, study_day, reviews, mature_reviews, mature_passed, introduced
             FROM review_days
             WHERE reviews <> 0 OR mature_reviews <> 0 ORDER BY user_id, study_day",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    let maintained = snapshot().await;
    studyhall::db::stats::rebuild_review_days(&pool)
        .await
        .unwrap();
    assert_eq!(maintained, snapshot().await);
    assert!(
        maintained.iter().any(|row| row.3 == 1),
        "the mature review is counted"
    );
}

#[tokio::test]
async fn the_stats_page_agrees_with_itself() {
    let app = spawn_app().await;
    app.register_ok("ada").await;
    // Three cards studied: one right, one failed (owed a repeat today), one right.
    app.grade_next(5, Some(1)).await;
    app.grade_next(2, Some(1)).await;
    app.grade_next(4, Some(1)).await;
    let html = app.get_html("/stats").await;
    let figure = |id: &str| {
        let marker = format!("id=\"{id}\">");
        let start = html.find(&marker).unwrap() + marker.len();
        html[start..start + html[start..].find('<').unwrap()].to_owned()
    };
    // "Studied" is the table's learning plus mature.
    assert_eq!(figure("learned"), "3");
    assert!(html.contains("cards studied (learning and mature)"));
    let row = html.split("id=\"deck-1\"").nth(1).unwrap();
    assert!(row.contains("data-label=\"Learning\">3<"), "{row}");
    // The failed card is due again today: the tile and the forecast's first bar agree.
    assert_eq!(figure("due-today"), "1");
    let forecast = html.split("id=\"forecast\"").nth(1).unwrap();
    let first_bar =
        &forecast[forecast.find("<title>").unwrap()..forecast.find("</title>").unwrap()];
    assert!(first_bar.ends_with(": 1 due"), "{first_bar}");
    // The chart carries the number without hover, and its axes.
    let after_bar = &forecast[forecast.find("</rect>").unwrap()..];
    assert!(
        after_bar.starts_with("</rect><text class=\"value\""),
        "{after_bar}"
    );
    assert!(after_bar[..after_bar.find("</text>").unwrap()].ends_with(">1"));
    assert!(forecast.contains(">today</text>"));
    assert!(html.contains("class=\"weekday\" x=\"0\""));
    assert!(html.contains("class=\"month\""));
}
