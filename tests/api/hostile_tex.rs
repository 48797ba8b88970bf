//! Card text is hostile input: a formula nested deep enough to overflow a recursive parser, or
//! one that smuggles markup through the TeX converter, must neither stop the server nor put
//! anything but MathML on a page.

use crate::helpers::{TestApp, spawn_app, upload};
use crate::tex_payloads::{csv_both_sides, deep_formulas, hostile_formulas};
use reqwest::StatusCode;

/// MathML Core's elements: the only tags a formula on a page may hold.
const MATHML: &[&str] = &[
    "math",
    "merror",
    "mfrac",
    "mi",
    "mmultiscripts",
    "mn",
    "mo",
    "mover",
    "mpadded",
    "mphantom",
    "mprescripts",
    "mroot",
    "mrow",
    "ms",
    "mspace",
    "msqrt",
    "mstyle",
    "msub",
    "msubsup",
    "msup",
    "mtable",
    "mtd",
    "mtext",
    "mtr",
    "munder",
    "munderover",
    "semantics",
    "none",
];

/// Fails unless every formula on the page holds MathML elements only, with no event handler,
/// address or style. Returns how many formulas it checked.
fn assert_formulas_are_mathml_only(html: &str, page: &str) -> usize {
    let mut checked = 0;
    let mut rest = html;
    while let Some(start) = rest.find("<span class=\"formula\">") {
        let inner = &rest[start + "<span class=\"formula\">".len()..];
        let end = inner
            .find("</math></span>")
            .unwrap_or_else(|| panic!("{page}: a formula that does not end in </math>"));
        let formula = &inner[..end + "</math>".len()];
        for tag in formula.split('<').skip(1) {
            let tag = tag.trim_start_matches('/');
            let name: String = tag
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            assert!(
                MATHML.contains(&name.to_ascii_lowercase().as_str()),
                "{page}: <{name}> inside a formula: {}",
                &formula[..formula.floor_char_boundary(300)]
            );
            let attrs = &tag[name.len()..tag.find('>').unwrap_or(tag.len())];
            for attr in attrs.split_whitespace().filter_map(|a| a.split('=').next()) {
                let attr = attr.to_ascii_lowercase();
                assert!(
                    !attr.starts_with("on")
                        && !["href", "src", "style", "class", "action", "xlink:href"]
                            .contains(&attr.as_str()),
                    "{page}: attribute {attr} in a formula: {}",
                    &formula[..formula.floor_char_boundary(300)]
                );
            }
        }
        checked += 1;
        rest = &inner[end..];
    }
    checked
}

async fn import(app: &TestApp, name: &str, fronts: &[String]) -> i64 {
    let r = upload(
        app,
        "hostile.csv",
        csv_both_sides(fronts).into_bytes(),
        name,
        "csv",
    )
    .await;
    let page = r.text().await.unwrap();
    assert!(page.contains("Imported"), "{page}");
    sqlx::query_scalar("SELECT id FROM decks WHERE name = $1")
        .bind(name)
        .fetch_one(&app.pool().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn deep_formulas_in_a_deck_are_shown_as_typed_and_the_server_stays_up() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let deck = import(&app, "Deep", &deep_formulas()).await;
    // The editor saves one too, and its Preview shows one without saving it.
    let deepest = deep_formulas().remove(1);
    let r = app
        .submit(
            &format!("/decks/{deck}/edit"),
            &format!("/decks/{deck}/cards"),
            &[("front", &deepest), ("back", "b"), ("tags", "")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let preview = app
        .submit(
            &format!("/decks/{deck}/edit"),
            &format!("/decks/{deck}/cards"),
            &[
                ("front", &deep_formulas()[0]),
                ("back", "b"),
                ("tags", ""),
                ("preview", "1"),
            ],
        )
        .await;
    assert_eq!(preview.status(), StatusCode::OK);
    assert!(preview.text().await.unwrap().contains("shown as typed"));

    // Every page that shows the cards, again and again: the server answers each.
    for round in 0..6 {
        let page = app.get_html(&format!("/decks/{deck}")).await;
        assert!(
            page.matches("shown as typed").count() >= deep_formulas().len(),
            "round {round}: each deep formula is shown as typed"
        );
        let review = app.get(&format!("/review?deck={deck}")).await;
        assert_eq!(review.status(), StatusCode::OK, "round {round}");
        assert!(review.text().await.unwrap().contains("shown as typed"));
        assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn the_editors_preview_applies_the_same_limits_as_saving() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let deck = import(&app, "Limits", &["plain".to_owned()]).await;
    let long = format!(r"\({}\)", "x+".repeat(5_100));
    let preview = app
        .submit(
            &format!("/decks/{deck}/edit"),
            &format!("/decks/{deck}/cards"),
            &[
                ("front", &long),
                ("back", "b"),
                ("tags", ""),
                ("preview", "1"),
            ],
        )
        .await;
    assert_eq!(preview.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = preview.text().await.unwrap();
    assert!(
        html.contains("the limit is 10000"),
        "the length rule is named"
    );
    assert!(
        !html.contains("<math"),
        "text over the limit is not converted"
    );
}

#[tokio::test]
async fn hostile_tex_puts_nothing_but_mathml_in_a_page() {
    let app = spawn_app().await;
    app.register_ok("admin").await;
    let hostile = hostile_formulas();
    let deck = import(&app, "Hostile", &hostile).await;
    let page = app.get_html(&format!("/decks/{deck}")).await;
    let checked = assert_formulas_are_mathml_only(&page, "the deck page");
    assert!(
        checked >= hostile.len() / 2,
        "most payloads are formulas the converter reads ({checked} of {})",
        hostile.len()
    );
    // The review page shows each card in turn; grading moves on, so no payload takes over the
    // grade buttons (a `<form>` inside a formula once sent Good to /stats).
    for _ in 0..hostile.len() {
        let html = app.get_html(&format!("/review?deck={deck}")).await;
        assert_formulas_are_mathml_only(&html, "the review page");
        if !html.contains("name=\"quality\"") {
            break;
        }
        app.grade_next(5, Some(deck)).await;
    }
    let graded: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM reviews r JOIN cards c ON c.id = r.card_id WHERE c.deck_id = $1",
    )
    .bind(deck)
    .fetch_one(&app.pool().await)
    .await
    .unwrap();
    assert!(graded > 0, "the grade buttons still store grades");
}
