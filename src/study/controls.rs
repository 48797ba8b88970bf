//! What a student may do to a card besides grading it (issue 25): suspend it (out of every
//! queue until they unsuspend it), bury it (out of today's queue, back on their next study
//! day), skip it (to the back of today's queue); the leeches (cards failed
//! [`LEECH_FAILURES`] times); and custom sessions, which show a deck's cards without touching
//! the schedule. None of it writes `review_states` or the review history.

use super::decks::{visible_card, visible_deck};
use super::{Context, Learner, StudyError};
use crate::db::{self, Pool, decks::CardRow, decks::DeckRow};
use jiff::Timestamp;

pub use crate::db::controls::ListedCard;

/// Failures (standing grades below 3, same-day repeats not counted) that make a card a leech:
/// Anki's default threshold. A leech is flagged, never suspended by itself: the student (or
/// the instructor, who sees the class's leeches) decides whether the card needs rewriting,
/// more study or suspending, and a card that leaves the queue on its own is one a student
/// stops seeing without being told why.
pub const LEECH_FAILURES: i64 = 8;

/// A control a student applies to a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Out of every queue until unsuspended.
    Suspend,
    /// Back into the queues, its schedule as it was.
    Unsuspend,
    /// Out of today's queue; back on the next study day.
    Bury,
    /// To the back of today's queue.
    Skip,
}

impl Control {
    /// Every control, for routes and forms.
    pub const ALL: [Control; 4] = [
        Control::Suspend,
        Control::Unsuspend,
        Control::Bury,
        Control::Skip,
    ];

    /// Its name in addresses (`/cards/{id}/suspend`, `did=suspend`).
    pub fn name(self) -> &'static str {
        match self {
            Control::Suspend => "suspend",
            Control::Unsuspend => "unsuspend",
            Control::Bury => "bury",
            Control::Skip => "skip",
        }
    }

    /// The control named `name`, if any.
    pub fn named(name: &str) -> Option<Control> {
        Control::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// Applies `control` to card `card_id` for `learner` at `now`; returns the card. A card the
/// learner may not see (another user's private deck, a deck of a class they left) is not
/// found, and nothing is written.
pub async fn apply(
    pool: &Pool,
    learner: &Learner,
    card_id: i64,
    control: Control,
    now: Timestamp,
) -> Result<CardRow, StudyError> {
    let mut tx = db::begin_write_of(pool, &[db::Rows::of_user(learner.id)]).await?;
    let card = visible_card(&mut *tx, learner, card_id)
        .await?
        .ok_or(StudyError::NotFound)?;
    let today = learner.today(now);
    match control {
        Control::Suspend => db::controls::suspend(&mut *tx, learner.id, card.id, now.as_second())
            .await
            .context("suspending a card")?,
        Control::Unsuspend => {
            if !db::controls::unsuspend(&mut *tx, learner.id, card.id)
                .await
                .context("unsuspending a card")?
            {
                return Err(StudyError::Conflict(
                    "This card is not suspended.".to_owned(),
                ));
            }
        }
        Control::Bury => db::controls::bury(&mut *tx, learner.id, card.id, today)
            .await
            .context("burying a card")?,
        Control::Skip => db::controls::skip(&mut *tx, learner.id, card.id, today)
            .await
            .context("skipping a card")?,
    }
    tx.commit().await?;
    Ok(card)
}

/// Whether `learner` has suspended card `card_id`.
pub async fn is_suspended(
    pool: &Pool,
    learner: &Learner,
    card_id: i64,
) -> Result<bool, StudyError> {
    db::controls::is_suspended(pool, learner.id, card_id)
        .await
        .context("reading a card's controls")
}

/// A student's own card lists.
#[derive(Debug, Clone, Default)]
pub struct MyCards {
    /// The cards they suspended, the latest first (the figure: when, Unix seconds).
    pub suspended: Vec<ListedCard>,
    /// Their leeches, the most failed first (the figure: failures).
    pub leeches: Vec<ListedCard>,
}

/// `learner`'s suspended cards and leeches in the decks they can see.
pub async fn my_cards(pool: &Pool, learner: &Learner) -> Result<MyCards, StudyError> {
    let decks = learner.visible_decks();
    Ok(MyCards {
        suspended: db::controls::suspended(pool, learner.id, decks)
            .await
            .context("reading the suspended cards")?,
        leeches: db::controls::leeches(pool, learner.id, LEECH_FAILURES, decks)
            .await
            .context("reading the leeches")?,
    })
}

/// Which cards of a deck a custom session shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomSet {
    /// The cards the student failed (a grade or repeat below 3) in the last 7 study days.
    FailedThisWeek,
    /// Every card of the deck.
    All,
}

impl CustomSet {
    /// The set a query names ("failed" or "all").
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "failed" => Some(Self::FailedThisWeek),
            "all" => Some(Self::All),
            _ => None,
        }
    }

    /// Its name in a query.
    pub fn name(self) -> &'static str {
        match self {
            Self::FailedThisWeek => "failed",
            Self::All => "all",
        }
    }
}

/// One step of a custom session.
#[derive(Debug, Clone)]
pub struct CustomStep {
    /// The deck.
    pub deck: DeckRow,
    /// Cards in the session.
    pub total: usize,
    /// The card at the asked position, if the session has not ended.
    pub card: Option<CardRow>,
}

/// Card `index` (from 0) of `learner`'s custom session `set` over deck `deck_id` at `now`.
/// Reads only: a custom session never writes the schedule or the history. Generated problems
/// are left out (they have their own practice pages).
pub async fn custom_step(
    pool: &Pool,
    learner: &Learner,
    deck_id: i64,
    set: CustomSet,
    index: usize,
    now: Timestamp,
) -> Result<CustomStep, StudyError> {
    let deck = visible_deck(pool, learner, deck_id)
        .await?
        .ok_or(StudyError::NotFound)?;
    let ids = match set {
        CustomSet::All => db::controls::deck_card_ids(pool, deck.id).await,
        CustomSet::FailedThisWeek => {
            db::controls::failed_since(pool, learner.id, deck.id, learner.today(now) - 6).await
        }
    }
    .context("reading a custom session's cards")?;
    let card = match ids.get(index) {
        Some(&id) => db::decks::card(pool, id).await.context("reading a card")?,
        None => None,
    };
    Ok(CustomStep {
        deck,
        total: ids.len(),
        card,
    })
}
