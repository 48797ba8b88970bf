//! The review loop: show the next card, reveal its answer, grade it, undo.

use super::practice::Verdict;
use super::{Nav, page_with};
use crate::domain::Grade;
use crate::practice::{self, Variant};
use crate::srs::day::date_of_day;
use crate::srs::schedule::{Preview, Standing, interval_label};
use crate::study::decks::{CardRow, DeckRow, visible_card, visible_deck};
use crate::study::practice as checking;
use crate::study::progress::SessionSummary;
use crate::study::review;
use crate::web::error::AppError;
use crate::web::{AppState, CurrentUser};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

mod writes;
use writes::{answer_card, grade_card, report_card, study_more, undo_grade};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/review").route(web::get().to(show_review)))
        .service(web::resource("/review/undo").route(web::post().to(undo_grade)))
        .service(web::resource("/review/more").route(web::post().to(study_more)))
        .service(web::resource("/review/{card_id}/answer").route(web::post().to(answer_card)))
        .service(web::resource("/cards/{card_id}/report").route(web::post().to(report_card)))
        .service(web::resource("/review/{card_id}").route(web::post().to(grade_card)));
}

struct GradeButton {
    quality: u8,
    /// The key that presses it.
    key: u8,
    /// Its name on the button ("Good", or the grade's digit in the six-grade layout).
    label: String,
    meaning: &'static str,
    outcome: String,
    suggested: bool,
    /// Space presses it: the suggested grade after a checked answer, else Good.
    space: bool,
}

/// A generated card's problem on the review page.
struct ProblemView {
    variant: Variant,
    started_ms: i64,
    answer: String,
    error: Option<String>,
    verdict: Option<Verdict>,
    attempt_id: i64,
}

/// Why a POST shows the review page itself instead of redirecting.
enum Rerender {
    /// An unreadable answer: the same problem again, with the error (422).
    Retry(Retry),
    /// An undo with nothing left to undo (409): the page says so, in place of any earlier
    /// "took back" message.
    NothingToUndo,
}

/// What the page says when an undo finds nothing to take back.
const NOTHING_TO_UNDO: &str = "Nothing to undo: no grade from today is left to take back.";

/// A problem to show again after an unreadable answer: same seed, the typed text, the error.
struct Retry {
    seed: u64,
    started: String,
    answer: String,
    error: String,
}

#[derive(Template)]
#[template(path = "review/card.html")]
struct CardPage {
    nav: Nav,
    deck_name: String,
    /// `?deck=N` or empty: keeps the session in one deck.
    answer_query: String,
    deck_id: String,
    card: CardRow,
    revealed: bool,
    standing: &'static str,
    grades: Vec<GradeButton>,
    /// The name of the grade Space gives, for the key hint.
    space_name: String,
    problem: Option<ProblemView>,
    /// The problem's answer box is on the page (it takes typed letters while focused).
    answer_box: bool,
    suggested: Option<u8>,
    due: i64,
    new_available: i64,
    repeats: usize,
    can_undo: bool,
    reported: Option<String>,
    seen_today: i64,
    took_back: Option<String>,
    /// The four-button layout (keys 1 to 4) rather than six grades (keys 0 to 5).
    four: bool,
    /// Where the session stands: done today, and how many in all.
    done_today: i64,
    total_today: i64,
    /// What a control just did ("Buried ..."), and the card to unsuspend if it suspended one.
    controlled: Option<(String, Option<i64>)>,
    /// How many times the student has failed this card, when it is a leech.
    leech: Option<i64>,
}

#[derive(Template)]
#[template(path = "review/done.html")]
struct DonePage {
    nav: Nav,
    deck: Option<DeckRow>,
    deck_id: String,
    next_due: Option<String>,
    can_undo: bool,
    /// New cards waiting only because today's limit is used up.
    new_held_back: i64,
    /// Today's new-card limit.
    new_limit: u32,
    /// What the "study more" button offers.
    more: i64,
    took_back: Option<String>,
    reported: Option<String>,
    /// What a control just did, and the card to unsuspend if it suspended one.
    controlled: Option<(String, Option<i64>)>,
    /// Cards buried today, back on the next study day.
    buried: i64,
    /// The end-of-session summary, when something was studied today.
    summary: Option<SessionSummary>,
}

/// The grade Space gives when no answer suggests one.
const GOOD: u8 = 4;

/// The grade of the Again button.
const AGAIN: u8 = 1;

/// New cards one "study more" press adds to today's limit, at most.
const STUDY_MORE_STEP: i64 = 10;

#[derive(Deserialize)]
struct ReviewQuery {
    deck: Option<i64>,
    show: Option<i64>,
    attempt: Option<i64>,
    /// A report just filed, to say who will see it.
    reported: Option<i64>,
    /// The card an undo just took back (shown first) and the grade it took back.
    undone: Option<i64>,
    q: Option<u8>,
    /// The variant of the undone generated card that was graded, shown again.
    seed: Option<u64>,
    /// The card a control (suspend, bury, skip) was just applied to, and which.
    card: Option<i64>,
    did: Option<String>,
    /// The card just graded (the grade's redirect names it).
    graded: Option<i64>,
}

impl ReviewQuery {
    /// The plain review page of a session (one deck or all).
    fn of_deck(deck: Option<i64>) -> Self {
        Self {
            deck,
            show: None,
            attempt: None,
            reported: None,
            undone: None,
            q: None,
            seed: None,
            card: None,
            did: None,
            graded: None,
        }
    }
}

fn outcome_of(p: &Preview, standing: Standing) -> String {
    match (standing, p.again_today) {
        (Standing::RepeatToday(_), true) => "again today".to_owned(),
        (Standing::RepeatToday(_), false) => "done for today".to_owned(),
        (_, true) => format!("{}, and again today", interval_label(p.interval_days)),
        (_, false) => interval_label(p.interval_days),
    }
}

pub(super) fn review_url(deck: Option<i64>) -> String {
    deck.map_or_else(|| "/review".to_owned(), |d| format!("/review?deck={d}"))
}

/// A deck id from a form field; blank or malformed means "all decks".
pub(super) fn deck_of(field: &str) -> Option<i64> {
    field.trim().parse().ok()
}

async fn show_review(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<ReviewQuery>,
) -> Result<HttpResponse, AppError> {
    render_review(&state, &user, &query, None).await
}

/// The grade buttons: by default four (Again, Hard, Good, Easy, keys 1 to 4; worded as an
/// attempt on a computed problem), or SM-2's six grades (keys 0 to 5) for those who chose
/// them. Every button previews the interval it would give. Space takes the suggested grade
/// when there is one (a wrong answer's Wrong, not Right), else Good.
///
/// A new card under SM-2 shows only Again and Good (keys 1 and 3): there every grade gives
/// the same next interval (1 day; below 4 also again today), so four buttons would preview
/// two choices twice; what Hard and Easy would change later is in docs/scheduling.md. FSRS keeps four: its first intervals
/// differ. A generated problem keeps its four results too: they say what the checked answer
/// was (right at once, right, wrong), and the grade, suggested from it, moves the easiness
/// SM-2 carries forward even where tomorrow's interval is the same.
fn grade_buttons(
    user: &CurrentUser,
    shown: &review::Shown,
    suggested: Option<u8>,
    computed: bool,
) -> Vec<GradeButton> {
    let preview = |q: u8| shown.previews.iter().find(|p| p.quality == q);
    if user.six_grades {
        return shown
            .previews
            .iter()
            .map(|p| GradeButton {
                quality: p.quality,
                key: p.quality,
                label: p.quality.to_string(),
                meaning: Grade::MEANINGS[usize::from(p.quality)],
                outcome: outcome_of(p, shown.standing),
                suggested: suggested == Some(p.quality),
                space: suggested.unwrap_or(GOOD) == p.quality,
            })
            .collect();
    }
    let two = !computed
        && shown.standing == Standing::New
        && user.learner.scheduler.retention().is_none();
    let suggested = suggested.map(Grade::nearest_of_four);
    (1u8..)
        .zip(Grade::FOUR)
        .filter(|(_, (q, _, _))| !two || *q == AGAIN || *q == GOOD)
        .filter_map(|(key, (q, name, attempt))| {
            preview(q).map(|p| GradeButton {
                quality: q,
                key,
                label: if computed { attempt } else { name }.to_owned(),
                meaning: if computed { name } else { "" },
                outcome: outcome_of(p, shown.standing),
                suggested: suggested == Some(q),
                space: suggested.unwrap_or(GOOD) == q,
            })
        })
        .collect()
}

/// "Took back your Good on 'Inception Net'." after an undo (the redirect names the card and
/// the grade; a card the user cannot see names nothing).
async fn took_back_message(
    db: &crate::db::Pool,
    user: &CurrentUser,
    query: &ReviewQuery,
) -> Result<Option<String>, AppError> {
    // Said once, on the page that shows the card taken back, not again on its answer view.
    let Some(card_id) = query.undone.filter(|_| query.show.is_none()) else {
        return Ok(None);
    };
    let Some(card) = visible_card(db, &user.learner, card_id).await? else {
        return Ok(None);
    };
    let whole = crate::markup::summary(&card.front, &card.format);
    let mut front: String = whole.chars().take(60).collect();
    if whole.chars().count() > 60 {
        front.push('…');
    }
    let grade = query
        .q
        .and_then(|q| Grade::NAMES.get(usize::from(q)))
        .map_or_else(|| "grade".to_owned(), |name| (*name).to_owned());
    Ok(Some(format!("Took back your {grade} on ‘{front}’.")))
}

/// Builds the review page: the next card (revealed if asked), or the "done" page. A generated
/// card shows a fresh variant and an answer box, or, after an answer, its verdict.
async fn render_review(
    state: &AppState,
    user: &CurrentUser,
    query: &ReviewQuery,
    again: Option<Rerender>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let (retry, nothing_to_undo) = match again {
        Some(Rerender::Retry(r)) => (Some(r), false),
        Some(Rerender::NothingToUndo) => (None, true),
        None => (None, false),
    };
    let expect = review::Expect {
        showing: query.show,
        moved_on_from: query.graded.or(query.card),
    };
    let queue = review::next_cached(
        &state.db,
        &state.queues,
        &user.learner,
        query.deck,
        query.undone,
        expect,
        now,
        state.max_interval_days,
    )
    .await?;
    let deck_id = query.deck.map(|d| d.to_string()).unwrap_or_default();
    let took_back = if nothing_to_undo {
        Some(NOTHING_TO_UNDO.to_owned())
    } else {
        took_back_message(state.db.reader(), user, query).await?
    };
    let status = if nothing_to_undo {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    let controlled = super::card_controls::controlled_message(
        state.db.reader(),
        user,
        query.card,
        query.did.as_deref(),
    )
    .await?;
    let reported = match query.reported {
        Some(id) => crate::study::reports::audience(state.db.reader(), &user.learner, id)
            .await?
            .map(|names| {
                if names.is_empty() {
                    "Thanks: your report was sent to the site's administrators.".to_owned()
                } else {
                    format!(
                        "Thanks: your report was sent to {}; you will be told of a reply on your next page.",
                        names.join(", ")
                    )
                }
            }),
        None => None,
    };
    let Some(shown) = queue.next else {
        // Only here is the deck looked up: a shown card proves its deck exists.
        let deck = match query.deck {
            Some(id) => Some(
                visible_deck(state.db.reader(), &user.learner, id)
                    .await?
                    .ok_or(AppError::NotFound)?,
            ),
            None => None,
        };
        return page_with(
            status,
            &DonePage {
                nav: Nav::for_user(user),
                deck,
                deck_id,
                next_due: queue.next_due_day.map(|d| date_of_day(d).to_string()),
                can_undo: queue.can_undo,
                new_held_back: queue.new_held_back,
                new_limit: queue.new_limit,
                more: queue.new_held_back.min(STUDY_MORE_STEP),
                took_back,
                reported,
                controlled,
                buried: queue.buried,
                summary: crate::study::progress::session_summary(
                    state.db.reader(),
                    &user.learner,
                    queue.reviewed_today,
                    queue.right_today,
                    now,
                )
                .await?,
            },
        );
    };
    let deck_name = shown.deck_name.clone();
    let family = shown.card.generator.as_deref().and_then(practice::family);
    // The card an undo took back comes back with the numbers it was graded on.
    let undone_seed = query
        .seed
        .filter(|s| query.undone == Some(shown.card.id) && *s <= practice::MAX_SEED);
    let problem = match family {
        None => None,
        Some(family) => Some(
            problem_view(
                state.db.reader(),
                user,
                family,
                shown.card.id,
                query.attempt,
                retry,
                undone_seed,
                now,
            )
            .await?,
        ),
    };
    let suggested = problem
        .as_ref()
        .and_then(|p| p.verdict.as_ref())
        .map(|v| v.suggested);
    let grades = grade_buttons(user, &shown, suggested, problem.is_some());
    let space_name = grades
        .iter()
        .find(|g| g.space)
        .map(|g| {
            if user.six_grades {
                Grade::NAMES[usize::from(g.quality)].to_owned()
            } else {
                g.label.clone()
            }
        })
        .unwrap_or_default();
    let status = if problem.as_ref().is_some_and(|p| p.error.is_some()) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        status
    };
    page_with(
        status,
        &CardPage {
            nav: Nav::for_user(user),
            deck_name,
            // The answer view of a card an undo took back prefers it again, as its question
            // view did (the queue's head may be another card).
            answer_query: format!(
                "{}{}",
                query.deck.map(|d| format!("deck={d}&")).unwrap_or_default(),
                query
                    .undone
                    .filter(|id| *id == shown.card.id)
                    .map(|id| format!("undone={id}&"))
                    .unwrap_or_default()
            ),
            deck_id,
            revealed: query.show == Some(shown.card.id) || suggested.is_some(),
            standing: match shown.standing {
                Standing::New => "New card",
                Standing::Scheduled(_) => "Review",
                Standing::RepeatToday(_) => "Again today",
            },
            seen_today: shown.seen_today,
            took_back,
            four: !user.six_grades,
            done_today: queue.reviewed_today,
            controlled,
            leech: Some(shown.failures).filter(|f| *f >= crate::study::controls::LEECH_FAILURES),
            total_today: queue.reviewed_today
                + queue.due
                + queue.new_available
                + i64::try_from(queue.repeats).unwrap_or(0),
            card: shown.card,
            grades,
            space_name,
            answer_box: problem.as_ref().is_some_and(|p| p.verdict.is_none()),
            problem,
            suggested,
            due: queue.due,
            new_available: queue.new_available,
            repeats: queue.repeats,
            can_undo: queue.can_undo,
            reported,
        },
    )
}

/// The problem of a generated card: the answered variant when `attempt` is this user's answer
/// to this card, the retried one after an unreadable answer, the graded one of an undone
/// grade (`undone_seed`), else a fresh one.
#[allow(clippy::too_many_arguments)]
async fn problem_view(
    pool: &crate::db::Pool,
    user: &CurrentUser,
    family: &'static practice::Family,
    card_id: i64,
    attempt: Option<i64>,
    retry: Option<Retry>,
    undone_seed: Option<u64>,
    now: jiff::Timestamp,
) -> Result<ProblemView, AppError> {
    if let Some(id) = attempt
        && let Some((row, variant)) = checking::attempt(pool, &user.learner, id).await?
        && row.card_id == Some(card_id)
    {
        return Ok(ProblemView {
            verdict: Some(Verdict::of(&row, &variant)),
            variant,
            started_ms: now.as_millisecond(),
            answer: row.answer,
            error: None,
            attempt_id: row.id,
        });
    }
    Ok(match retry {
        Some(r) => ProblemView {
            variant: family.variant(r.seed),
            started_ms: r
                .started
                .trim()
                .parse()
                .unwrap_or_else(|_| now.as_millisecond()),
            answer: r.answer,
            error: Some(r.error),
            verdict: None,
            attempt_id: 0,
        },
        None => ProblemView {
            variant: family.variant(undone_seed.unwrap_or_else(checking::random_seed)),
            started_ms: now.as_millisecond(),
            answer: String::new(),
            error: None,
            verdict: None,
            attempt_id: 0,
        },
    })
}
