//! The review loop's forms: a grade, an answer to a generated card, undo, "study more" and a
//! report on a card. Each answers with a redirect to the review page (or, for a form to fix,
//! the page itself: `render_review`).

use super::{Rerender, Retry, ReviewQuery, deck_of, render_review, review_url};
use crate::domain::Grade;
use crate::practice;
use crate::study::StudyError;
use crate::study::decks::visible_card;
use crate::study::practice::{self as checking, Submission};
use crate::study::review::{self, GradeExtras, GradeRequest};
use crate::web::error::AppError;
use crate::web::routes::see_other;
use crate::web::{AppState, CsrfForm, CurrentUser};
use actix_web::{HttpResponse, web};
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct GradeForm {
    #[serde(default)]
    quality: String,
    #[serde(default)]
    deck: String,
    #[serde(default)]
    response_ms: String,
    #[serde(default)]
    attempt: String,
    /// The card's events today when the page was shown (see `Shown::seen_today`).
    #[serde(default)]
    seen: String,
}

#[derive(Deserialize)]
pub(super) struct AnswerForm {
    #[serde(default)]
    answer: String,
    #[serde(default)]
    seed: String,
    #[serde(default)]
    started: String,
    #[serde(default)]
    deck: String,
    give_up: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct UndoForm {
    #[serde(default)]
    deck: String,
}

pub(super) async fn undo_grade(
    state: web::Data<AppState>,
    user: CurrentUser,
    form: CsrfForm<UndoForm>,
) -> Result<HttpResponse, AppError> {
    crate::web::routes::spend_write(&state, &user)?;
    let deck = deck_of(&form.0.deck);
    let undone = match review::undo(state.db.writer(), &user.learner, state.clock.now()).await {
        Ok(undone) => undone,
        Err(StudyError::Conflict(_)) => {
            // Nothing left: the page says so rather than keeping the last undo's message.
            let query = ReviewQuery::of_deck(deck);
            return render_review(&state, &user, &query, Some(Rerender::NothingToUndo)).await;
        }
        Err(other) => return Err(other.into()),
    };
    let mut url = review_url(deck);
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(&format!("undone={}", undone.card_id));
    if let Some(q) = undone.quality {
        url.push_str(&format!("&q={q}"));
    }
    if let Some(seed) = undone.variant_seed {
        url.push_str(&format!("&seed={seed}"));
    }
    Ok(see_other(&url))
}

pub(super) async fn answer_card(
    state: web::Data<AppState>,
    user: CurrentUser,
    card_id: web::Path<i64>,
    form: CsrfForm<AnswerForm>,
) -> Result<HttpResponse, AppError> {
    crate::web::routes::spend_write(&state, &user)?;
    let form = form.0;
    let card = visible_card(state.db.reader(), &user.learner, *card_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let family = card
        .generator
        .as_deref()
        .and_then(practice::family)
        .ok_or_else(|| AppError::BadRequest("This card has no problem to answer.".to_owned()))?;
    let seed = form
        .seed
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|s| *s <= practice::MAX_SEED)
        .ok_or_else(|| {
            AppError::BadRequest("The problem's seed is missing or malformed.".to_owned())
        })?;
    let now = state.clock.now();
    let response_ms = checking::elapsed_ms(&form.started, now.as_millisecond());
    let submission = if form.give_up.is_some() {
        Submission::GiveUp
    } else {
        Submission::Answer(&form.answer)
    };
    let deck = deck_of(&form.deck);
    match checking::record_attempt(
        state.db.writer(),
        &user.learner,
        family,
        seed,
        submission,
        response_ms,
        Some(card.id),
        now.as_second(),
    )
    .await
    {
        Ok(id) => {
            let mut url = review_url(deck);
            url.push_str(if deck.is_some() { "&" } else { "?" });
            // The page opens at the verdict (on a phone it was below the fold).
            url.push_str(&format!("attempt={id}#verdict"));
            Ok(see_other(&url))
        }
        Err(StudyError::Validation(error)) => {
            let query = ReviewQuery::of_deck(deck);
            let retry = Retry {
                seed,
                started: form.started,
                answer: form.answer,
                error,
            };
            render_review(&state, &user, &query, Some(Rerender::Retry(retry))).await
        }
        Err(other) => Err(other.into()),
    }
}

pub(super) async fn grade_card(
    state: web::Data<AppState>,
    user: CurrentUser,
    card_id: web::Path<i64>,
    form: CsrfForm<GradeForm>,
) -> Result<HttpResponse, AppError> {
    crate::web::routes::spend_write(&state, &user)?;
    let form = form.0;
    let grade = Grade::parse(&form.quality)?;
    let mut extras = GradeExtras {
        response_ms: form
            .response_ms
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|ms| (0..86_400_000).contains(ms)),
        ..GradeExtras::default()
    };
    if let Ok(id) = form.attempt.trim().parse::<i64>() {
        // The answer this grade follows: it must be this user's, to this card.
        let (row, _) = checking::attempt(state.db.reader(), &user.learner, id)
            .await?
            .filter(|(row, _)| row.card_id == Some(*card_id))
            .ok_or(AppError::NotFound)?;
        extras = GradeExtras {
            response_ms: row.response_ms,
            variant_seed: Some(row.seed.to_string()),
            answer: Some(row.answer),
            suggested_quality: u8::try_from(row.suggested_quality).ok(),
        };
    }
    let request = GradeRequest::new(&user.learner, *card_id, grade, extras, state.clock.now())
        .seen(form.seen.trim().parse::<i64>().ok());
    state.grader.grade(request).await?;
    // The next page names the card just graded: another server's kept queue that still shows
    // it (its notice not yet heard) is read again (`study::review::Expect`).
    let mut url = review_url(deck_of(&form.deck));
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(&format!("graded={card_id}"));
    Ok(see_other(&url))
}

#[derive(Deserialize)]
pub(super) struct MoreForm {
    #[serde(default)]
    count: String,
    #[serde(default)]
    deck: String,
}

/// "Study N more new cards today": raises today's new-card limit for this day only.
pub(super) async fn study_more(
    state: web::Data<AppState>,
    user: CurrentUser,
    form: CsrfForm<MoreForm>,
) -> Result<HttpResponse, AppError> {
    // Anything but a number is refused with the same message as a number out of range.
    let count = form.0.count.trim().parse::<i64>().unwrap_or(0);
    review::study_more(
        state.db.writer(),
        &*state.sessions,
        &user.learner,
        count,
        state.clock.now(),
    )
    .await?;
    Ok(see_other(&review_url(deck_of(&form.0.deck))))
}

#[derive(Deserialize)]
pub(super) struct ReportForm {
    #[serde(default)]
    message: String,
    #[serde(default)]
    deck: String,
}

/// A student reports a problem with a card; their instructor triages it.
pub(super) async fn report_card(
    state: web::Data<AppState>,
    user: CurrentUser,
    card_id: web::Path<i64>,
    form: CsrfForm<ReportForm>,
) -> Result<HttpResponse, AppError> {
    crate::web::routes::spend_write(&state, &user)?;
    let report = crate::study::reports::file(
        state.db.writer(),
        &user.learner,
        *card_id,
        &form.0.message,
        state.clock.now(),
    )
    .await?;
    let mut url = review_url(deck_of(&form.0.deck));
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(&format!("reported={report}"));
    Ok(see_other(&url))
}
