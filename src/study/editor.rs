//! The deck editor's operations: instructors edit their own decks, admins any. Each operation
//! checks the actor's rights itself, inside the transaction that writes (a deck they may not
//! see is not found, one they see but may not edit is forbidden), and says through [`Forget`]
//! when what people see has changed, so no handler has a check or a cache to forget.

use super::actor::Actor;
use super::decks::{visible_card, visible_deck};
use super::{Context, Forget, Stale, StudyError};
use crate::auth::budget::WriteBudget;
use crate::auth::quota::{Kind, Quotas};
use crate::db;
use crate::db::Pool;
use crate::domain::{CardText, DeckName, Tags};
pub use crate::markup::Format;
use jiff::Timestamp;

pub use crate::db::cloze::NoteCardRow;
pub use crate::db::decks::{CardRow, DeckRow};

/// Cards per page of the editor: a deck of 1,000 cards is 20 short pages, not one long form.
pub const PAGE: i64 = 50;

/// Why someone who sees `deck` may not change it, and whom to ask instead.
fn owner_only(deck: &DeckRow) -> String {
    match &deck.owner_name {
        Some(owner) => format!(
            "Only {owner}, the deck's owner, or an administrator can edit \u{2018}{}\u{2019}: ask {owner} for the change.",
            deck.name
        ),
        None => format!(
            "Only the site's administrators can edit \u{2018}{}\u{2019}: ask one of them for the change.",
            deck.name
        ),
    }
}

/// Deck `deck_id` if `actor` may edit it: not found if they may not see it, forbidden if they
/// see it but may not change it.
async fn editable(
    db: impl db::Executor<'_>,
    actor: Actor<'_>,
    deck_id: i64,
) -> Result<DeckRow, StudyError> {
    let deck = visible_deck(db, actor.learner, deck_id)
        .await?
        .ok_or(StudyError::NotFound)?;
    if actor.may_edit_deck(deck.owner_id) {
        Ok(deck)
    } else {
        Err(StudyError::Forbidden(owner_only(&deck)))
    }
}

/// Card `card_id` and its deck, if `actor` may edit the deck.
async fn editable_card(
    conn: &mut db::Conn,
    actor: Actor<'_>,
    card_id: i64,
) -> Result<(DeckRow, CardRow), StudyError> {
    let card = visible_card(&mut *conn, actor.learner, card_id)
        .await?
        .ok_or(StudyError::NotFound)?;
    let deck = editable(&mut *conn, actor, card.deck_id).await?;
    Ok((deck, card))
}

/// Card `card_id` for an edit by `actor` (who must be able to edit its deck), with its cloze
/// note: refused unless it is a deletion of one exactly when `cloze` (a card is edited
/// through its own form, a cloze note's card through the note's).
async fn card_to_edit(
    conn: &mut db::Conn,
    actor: Actor<'_>,
    card_id: i64,
    cloze: bool,
) -> Result<(DeckRow, CardRow, Option<NoteCardRow>), StudyError> {
    let (deck, card) = editable_card(conn, actor, card_id).await?;
    let note = db::cloze::of_card(&mut *conn, card.id)
        .await
        .context("reading a card's note")?;
    match (cloze, note.is_some()) {
        (false, true) => Err(StudyError::Validation(
            "This card is one deletion of a cloze note: edit the note's text instead.".to_owned(),
        )),
        (true, false) => Err(StudyError::Validation(
            "This card is not part of a cloze note.".to_owned(),
        )),
        _ => Ok((deck, card, note)),
    }
}

/// A unique violation on a deck's name, as the form says it.
fn name_taken(name: &DeckName) -> impl FnOnce(sqlx::Error) -> StudyError + '_ {
    move |e| {
        if db::is_unique_violation(&e) {
            StudyError::Validation(format!("You already have a deck named '{name}'."))
        } else {
            StudyError::Database {
                context: "saving a deck",
                source: e,
            }
        }
    }
}

/// A unique violation on a card, as the form says it.
fn duplicate(e: sqlx::Error) -> StudyError {
    if db::is_unique_violation(&e) {
        StudyError::Validation("The deck already has a card with this front and back.".to_owned())
    } else {
        StudyError::Database {
            context: "saving a card",
            source: e,
        }
    }
}

/// A card as typed in the editor's form.
#[derive(Debug, Clone, Copy, Default)]
pub struct CardFields<'a> {
    /// The front.
    pub front: &'a str,
    /// The back.
    pub back: &'a str,
    /// Tags, comma-separated.
    pub tags: &'a str,
    /// How the sides are written: plain text, or HTML (kept through the allow-list).
    pub format: Format,
}

/// A card that passed the editor's rules.
#[derive(Debug, Clone)]
pub struct NewCard {
    /// The front.
    pub front: CardText,
    /// The back.
    pub back: CardText,
    /// The tags.
    pub tags: Tags,
    /// How the sides are stored.
    pub format: Format,
}

/// Both sides and the tags of a card form, or the messages of everything wrong with them.
pub fn parse_card(fields: CardFields<'_>) -> Result<NewCard, Vec<String>> {
    let front = CardText::parse_as(fields.front, "front", fields.format);
    let back = CardText::parse_as(fields.back, "back", fields.format);
    let tags = Tags::parse(fields.tags);
    match (front, back, tags) {
        (Ok(front), Ok(back), Ok(tags)) => Ok(NewCard {
            front,
            back,
            tags,
            format: fields.format,
        }),
        (f, b, t) => Err([f.err(), b.err(), t.err()]
            .into_iter()
            .flatten()
            .map(|e| e.0)
            .collect()),
    }
}

/// One page of a deck's cards in the editor.
#[derive(Debug, Clone)]
pub struct EditorCards {
    /// The deck.
    pub deck: DeckRow,
    /// The search, as applied (trimmed, at most 200 characters).
    pub q: String,
    /// The cards of this page.
    pub cards: Vec<CardRow>,
    /// Cards matching the search (all the deck's when there is none).
    pub matching: i64,
    /// The number, in the deck's order, of the first card shown.
    pub first_number: i64,
    /// The page shown, 1-based, and how many there are.
    pub page: i64,
    /// How many pages there are.
    pub pages: i64,
    /// The card just added, when it is this deck's.
    pub added: Option<CardRow>,
    /// The cards of this page that belong to a cloze note, with their notes.
    pub notes: Vec<NoteCardRow>,
}

/// Page `page` (clamped to the pages there are) of deck `deck_id`'s cards matching `q`, if
/// `actor` may edit the deck; `added` names a card just added, to link to.
pub async fn cards(
    pool: &Pool,
    actor: Actor<'_>,
    deck_id: i64,
    q: &str,
    page: Option<i64>,
    added: Option<i64>,
) -> Result<EditorCards, StudyError> {
    let deck = editable(pool, actor, deck_id).await?;
    page_of(pool, deck, q, page, added).await
}

async fn page_of(
    pool: &Pool,
    deck: DeckRow,
    q: &str,
    page: Option<i64>,
    added: Option<i64>,
) -> Result<EditorCards, StudyError> {
    let q: String = q.trim().chars().take(200).collect();
    // An address past the last page (cards deleted since) shows the last page.
    let matching = db::decks::count_matching(pool, deck.id, &q)
        .await
        .context("counting a deck's cards")?;
    let pages = ((matching + PAGE - 1) / PAGE).max(1);
    let page = page.unwrap_or(1).clamp(1, pages);
    let offset = (page - 1) * PAGE;
    let cards = db::decks::cards_page(pool, deck.id, &q, offset, PAGE)
        .await
        .context("reading a page of a deck's cards")?;
    let notes = db::cloze::of_deck(pool, deck.id)
        .await
        .context("reading a deck's cloze notes")?
        .into_iter()
        .filter(|n| cards.iter().any(|c| c.id == n.card_id))
        .collect();
    let added = match added {
        Some(id) => db::decks::card(pool, id)
            .await
            .context("reading a card")?
            .filter(|c| c.deck_id == deck.id),
        None => None,
    };
    Ok(EditorCards {
        deck,
        q,
        cards,
        matching,
        first_number: offset + 1,
        page,
        pages,
        added,
        notes,
    })
}

/// The editor's page that shows card `card_id`, within the search `q` while the card matches
/// it (else among all the deck's cards), if `actor` may edit its deck.
pub async fn page_with_card(
    pool: &Pool,
    actor: Actor<'_>,
    card_id: i64,
    q: &str,
) -> Result<(EditorCards, CardRow), StudyError> {
    let mut conn = pool.acquire().await.context("reading a card")?;
    let (deck, card) = editable_card(&mut conn, actor, card_id).await?;
    drop(conn);
    let place = place(pool, deck.id, q, card.id).await?;
    Ok((
        page_of(pool, deck, &place.q, Some(place.page), None).await?,
        card,
    ))
}

/// Where a card shows in the editor after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// Its deck.
    pub deck_id: i64,
    /// The card.
    pub card_id: i64,
    /// The search it shows in: the one asked for while the card matches it, else none.
    pub q: String,
    /// The page, 1-based.
    pub page: i64,
}

/// Where card `card_id` of deck `deck_id` shows, within `q` while it still matches.
async fn place(pool: &Pool, deck_id: i64, q: &str, card_id: i64) -> Result<Placed, StudyError> {
    let (q, rank) = match db::decks::card_rank(pool, deck_id, q, card_id)
        .await
        .context("placing a card")?
    {
        Some(rank) => (q, rank),
        None => (
            "",
            db::decks::card_rank(pool, deck_id, "", card_id)
                .await
                .context("placing a card")?
                .unwrap_or(0),
        ),
    };
    Ok(Placed {
        deck_id,
        card_id,
        q: q.to_owned(),
        page: rank / PAGE + 1,
    })
}

/// Creates a deck owned by `actor`, within their hourly budget of new decks; returns its id.
/// An admin's deck is public, an instructor's private until assigned to a class.
pub async fn create_deck(
    db: &db::Db,
    quotas: &Quotas,
    sessions: &dyn Forget,
    actor: Actor<'_>,
    name: &DeckName,
    description: &str,
    now: Timestamp,
) -> Result<i64, StudyError> {
    if !actor.is_instructor() {
        return Err(StudyError::Forbidden(
            "Only instructors and admins create decks.".to_owned(),
        ));
    }
    quotas.spend(actor.id(), &[(Kind::Deck, 1)], now.as_millisecond())?;
    let mut tx = db.begin_write().await.context("creating a deck")?;
    let id = db::decks::create(
        &mut *tx,
        name.as_str(),
        description.trim(),
        Some(actor.id()),
        actor.is_admin(),
        now.as_second(),
    )
    .await
    .map_err(name_taken(name))?;
    tx.commit().await.context("creating a deck")?;
    sessions.forget(Stale::Everyone);
    Ok(id)
}

/// Renames deck `deck_id` and sets its description.
pub async fn update_deck(
    db: &db::Db,
    actor: Actor<'_>,
    deck_id: i64,
    name: &DeckName,
    description: &str,
) -> Result<(), StudyError> {
    let mut tx = db.begin_write().await.context("saving a deck")?;
    let deck = editable(&mut *tx, actor, deck_id).await?;
    db::decks::update(&mut *tx, deck.id, name.as_str(), description.trim())
        .await
        .map_err(name_taken(name))?;
    tx.commit().await.context("saving a deck")
}

/// The deck's owner (or an admin) takes deck `deck_id` back from class `class_id`, whoever
/// runs the class.
pub async fn take_back(
    db: &db::Db,
    sessions: &dyn Forget,
    actor: Actor<'_>,
    deck_id: i64,
    class_id: i64,
) -> Result<(), StudyError> {
    let mut tx = db.begin_write().await.context("taking a deck back")?;
    let deck = editable(&mut *tx, actor, deck_id).await?;
    db::classes::set_deck(&mut *tx, class_id, deck.id, false)
        .await
        .context("taking a deck back")?;
    tx.commit().await.context("taking a deck back")?;
    sessions.forget(Stale::Everyone);
    Ok(())
}

/// Deck `deck_id` and how many cards it has, for the question before deleting it.
pub async fn deck_to_delete(
    pool: &Pool,
    actor: Actor<'_>,
    deck_id: i64,
) -> Result<(DeckRow, usize), StudyError> {
    let deck = editable(pool, actor, deck_id).await?;
    let cards = db::decks::cards(pool, deck.id)
        .await
        .context("counting a deck's cards")?
        .len();
    Ok((deck, cards))
}

/// Deletes deck `deck_id` with its cards and everyone's progress on them, once `confirmed`.
pub async fn delete_deck(
    db: &db::Db,
    sessions: &dyn Forget,
    actor: Actor<'_>,
    deck_id: i64,
    confirmed: bool,
) -> Result<(), StudyError> {
    let mut tx = db.begin_write().await.context("deleting a deck")?;
    let deck = editable(&mut *tx, actor, deck_id).await?;
    if !confirmed {
        return Err(unconfirmed());
    }
    db::decks::delete(&mut *tx, deck.id)
        .await
        .context("deleting a deck")?;
    tx.commit().await.context("deleting a deck")?;
    sessions.forget(Stale::Everyone);
    Ok(())
}

fn unconfirmed() -> StudyError {
    StudyError::Validation("Deleting needs the confirmation on the previous page.".to_owned())
}

/// Spends one write of `actor`'s budget: each card saved is a write a script could repeat, so
/// it spends from the same budget as a grade (imports have an hourly budget of their own).
fn spend(writes: &WriteBudget, actor: Actor<'_>, now: Timestamp) -> Result<(), StudyError> {
    writes
        .spend(actor.id(), now.as_millisecond())
        .map_err(|retry_after_secs| StudyError::TooManyRequests { retry_after_secs })
}

/// Adds `card` at the end of deck `deck_id`; returns where it shows.
pub async fn add_card(
    db: &db::Db,
    writes: &WriteBudget,
    actor: Actor<'_>,
    deck_id: i64,
    card: &NewCard,
    now: Timestamp,
) -> Result<Placed, StudyError> {
    let mut tx = db.begin_write().await.context("adding a card")?;
    let deck = editable(&mut *tx, actor, deck_id).await?;
    spend(writes, actor, now)?;
    let card_id = db::decks::add_card(
        &mut *tx,
        deck.id,
        card.front.as_str(),
        card.back.as_str(),
        card.tags.as_str(),
        card.format.as_str(),
        now.as_second(),
    )
    .await
    .map_err(duplicate)?;
    let writer = super::media::Writer {
        brought: &[],
        user_id: Some(actor.id()),
        learner: Some(actor.learner),
    };
    if super::media::link_card(
        &mut tx,
        card_id,
        card.front.as_str(),
        card.back.as_str(),
        &writer,
    )
    .await?
    {
        super::media::refuse_if_deck_over(&mut tx, deck.id).await?;
    }
    tx.commit().await.context("adding a card")?;
    place(db.writer(), deck.id, "", card_id).await
}

/// Changes card `card_id`'s text and tags as typed (checked once the rights are); its id, and
/// so every student's progress on it, stays. Returns where it shows within the search `q`.
pub async fn update_card(
    db: &db::Db,
    writes: &WriteBudget,
    actor: Actor<'_>,
    card_id: i64,
    fields: CardFields<'_>,
    q: &str,
    now: Timestamp,
) -> Result<Placed, StudyError> {
    let mut tx = db.begin_write().await.context("saving a card")?;
    let (deck, card, _) = card_to_edit(&mut tx, actor, card_id, false).await?;
    let new = parse_card(fields).map_err(|errors| StudyError::Validation(errors.join(" ")))?;
    spend(writes, actor, now)?;
    db::decks::update_card(
        &mut *tx,
        card.id,
        new.front.as_str(),
        new.back.as_str(),
        new.tags.as_str(),
        new.format.as_str(),
        now.as_second(),
    )
    .await
    .map_err(duplicate)?;
    let writer = super::media::Writer {
        brought: &[],
        user_id: Some(actor.id()),
        learner: Some(actor.learner),
    };
    if super::media::link_card(
        &mut tx,
        card.id,
        new.front.as_str(),
        new.back.as_str(),
        &writer,
    )
    .await?
    {
        super::media::refuse_if_deck_over(&mut tx, deck.id).await?;
    }
    tx.commit().await.context("saving a card")?;
    place(db.writer(), deck.id, q, card.id).await
}

/// Swaps card `card_id` with its neighbour before (`up`) or after it; returns where it shows
/// within the search `q`.
pub async fn move_card(
    db: &db::Db,
    actor: Actor<'_>,
    card_id: i64,
    up: bool,
    q: &str,
) -> Result<Placed, StudyError> {
    let mut tx = db.begin_write().await.context("moving a card")?;
    let (deck, card) = editable_card(&mut tx, actor, card_id).await?;
    db::decks::move_card(&mut *tx, card.id, up)
        .await
        .context("moving a card")?;
    tx.commit().await.context("moving a card")?;
    place(db.writer(), deck.id, q, card.id).await
}

/// Card `card_id` and its deck, for the question before deleting it.
pub async fn card_to_delete(
    pool: &Pool,
    actor: Actor<'_>,
    card_id: i64,
) -> Result<(DeckRow, CardRow), StudyError> {
    let mut conn = pool.acquire().await.context("reading a card")?;
    editable_card(&mut conn, actor, card_id).await
}

/// Deletes card `card_id` and everyone's progress on it, once `confirmed`; returns its deck's
/// id.
pub async fn delete_card(
    db: &db::Db,
    actor: Actor<'_>,
    card_id: i64,
    confirmed: bool,
) -> Result<i64, StudyError> {
    let mut tx = db.begin_write().await.context("deleting a card")?;
    let (deck, card) = editable_card(&mut tx, actor, card_id).await?;
    if !confirmed {
        return Err(unconfirmed());
    }
    db::decks::delete_card(&mut *tx, card.id)
        .await
        .context("deleting a card")?;
    tx.commit().await.context("deleting a card")?;
    Ok(deck.id)
}

/// A cloze note as typed in the editor's form.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClozeFields<'a> {
    /// The text with its deletions: `{{c1::answer}}` or `{{c1::answer::hint}}`.
    pub text: &'a str,
    /// What the back shows below the text, maybe empty.
    pub extra: &'a str,
    /// Tags, comma-separated, given to each of its cards.
    pub tags: &'a str,
    /// How the text is written.
    pub format: Format,
}

/// A cloze note that passed the editor's rules, with the cards it makes.
#[derive(Debug, Clone)]
pub struct NewCloze {
    /// The text as stored (HTML through the allow-list).
    pub text: String,
    /// The extra as stored.
    pub extra: String,
    /// The tags.
    pub tags: Tags,
    /// How it is written.
    pub format: Format,
    /// Its cards, one per deletion number.
    pub cards: Vec<crate::import::cloze::NoteCard>,
}

/// A cloze note form's note and cards, or the messages of everything wrong with it.
pub fn parse_cloze(fields: ClozeFields<'_>) -> Result<NewCloze, Vec<String>> {
    let mut errors = Vec::new();
    let text = CardText::parse_as(fields.text, "text", fields.format)
        .map(CardText::into_inner)
        .map_err(|e| e.0.replace("of a card", "of a cloze note"));
    let extra = if fields.extra.trim().is_empty() {
        Ok(String::new())
    } else {
        CardText::parse_as(fields.extra, "extra", fields.format)
            .map(CardText::into_inner)
            .map_err(|e| e.0)
    };
    let tags = Tags::parse(fields.tags).map_err(|e| e.0);
    let (text, extra, tags) = match (text, extra, tags) {
        (Ok(text), Ok(extra), Ok(tags)) => (text, extra, tags),
        (t, x, g) => {
            errors.extend([t.err(), x.err(), g.err()].into_iter().flatten());
            return Err(errors);
        }
    };
    let cards =
        crate::import::cloze::note_cards(&text, &extra, fields.format).map_err(|e| vec![e])?;
    Ok(NewCloze {
        text,
        extra,
        tags,
        format: fields.format,
        cards,
    })
}

/// Writes `note`'s cards as note `note_id`'s in deck `deck_id`: the card of each number the
/// note already has is rewritten in place (its id, and so every student's progress on it,
/// stays), a new number gets a new card at the end of the deck, and the cards of numbers the
/// text no longer holds are deleted with their progress. Returns the cards by number.
async fn write_note_cards(
    conn: &mut db::Conn,
    actor: Actor<'_>,
    deck_id: i64,
    note_id: i64,
    note: &NewCloze,
    now: i64,
) -> Result<Vec<(u32, i64)>, StudyError> {
    let existing = db::cloze::cards_of(&mut *conn, note_id)
        .await
        .context("reading a note's cards")?;
    let writer = super::media::Writer {
        brought: &[],
        user_id: Some(actor.id()),
        learner: Some(actor.learner),
    };
    let mut written = Vec::with_capacity(note.cards.len());
    let mut grew = false;
    for card in &note.cards {
        let (front, back) = (card.front.as_str(), card.back.as_str());
        let id = match existing.iter().find(|(_, n)| *n == i64::from(card.number)) {
            Some((id, _)) => {
                db::decks::update_card(
                    &mut *conn,
                    *id,
                    front,
                    back,
                    note.tags.as_str(),
                    "html",
                    now,
                )
                .await
                .map_err(duplicate)?;
                *id
            }
            None => {
                let id = db::decks::add_card(
                    &mut *conn,
                    deck_id,
                    front,
                    back,
                    note.tags.as_str(),
                    "html",
                    now,
                )
                .await
                .map_err(duplicate)?;
                db::cloze::attach(&mut *conn, id, note_id, i64::from(card.number))
                    .await
                    .context("adding a card to a note")?;
                id
            }
        };
        grew |= super::media::link_card(conn, id, front, back, &writer).await?;
        written.push((card.number, id));
    }
    for (id, number) in &existing {
        if !note.cards.iter().any(|c| i64::from(c.number) == *number) {
            db::decks::delete_card(&mut *conn, *id)
                .await
                .context("deleting a note's card")?;
        }
    }
    // After the cards of the numbers gone let go of their files: an image replaced under a
    // new number does not count twice.
    if grew {
        super::media::refuse_if_deck_over(conn, deck_id).await?;
    }
    Ok(written)
}

/// Adds cloze note `note` to deck `deck_id`, one card per deletion number at the end of the
/// deck; returns where its first card shows.
pub async fn add_cloze_note(
    db: &db::Db,
    writes: &WriteBudget,
    actor: Actor<'_>,
    deck_id: i64,
    note: &NewCloze,
    now: Timestamp,
) -> Result<Placed, StudyError> {
    let mut tx = db.begin_write().await.context("adding a cloze note")?;
    let deck = editable(&mut *tx, actor, deck_id).await?;
    spend(writes, actor, now)?;
    let note_id = db::cloze::create_note(
        &mut *tx,
        deck.id,
        &note.text,
        &note.extra,
        note.format.as_str(),
        now.as_second(),
    )
    .await
    .context("adding a cloze note")?;
    let written = write_note_cards(&mut tx, actor, deck.id, note_id, note, now.as_second()).await?;
    tx.commit().await.context("adding a cloze note")?;
    let first = written.first().map_or(0, |(_, id)| *id);
    place(db.writer(), deck.id, "", first).await
}

/// Changes the cloze note of card `card_id` as typed: the cards of the numbers that remain
/// keep their ids and everyone's progress, new numbers get new cards, numbers gone take
/// their cards with them. Returns where the card shows (or, if its number went, the note's
/// first card) within the search `q`.
pub async fn update_cloze_note(
    db: &db::Db,
    writes: &WriteBudget,
    actor: Actor<'_>,
    card_id: i64,
    fields: ClozeFields<'_>,
    q: &str,
    now: Timestamp,
) -> Result<Placed, StudyError> {
    let mut tx = db.begin_write().await.context("saving a cloze note")?;
    let (deck, card, of) = card_to_edit(&mut tx, actor, card_id, true).await?;
    let of = of.ok_or(StudyError::NotFound)?;
    let note = parse_cloze(fields).map_err(|errors| StudyError::Validation(errors.join(" ")))?;
    spend(writes, actor, now)?;
    db::cloze::update_note(
        &mut *tx,
        of.note.id,
        &note.text,
        &note.extra,
        note.format.as_str(),
        now.as_second(),
    )
    .await
    .context("saving a cloze note")?;
    let written =
        write_note_cards(&mut tx, actor, deck.id, of.note.id, &note, now.as_second()).await?;
    tx.commit().await.context("saving a cloze note")?;
    let shown = if written.iter().any(|(_, id)| *id == card.id) {
        card.id
    } else {
        written.first().map_or(card.id, |(_, id)| *id)
    };
    place(db.writer(), deck.id, q, shown).await
}

/// Keeps an image the editor uploads for a card of deck `deck_id` (which `actor` must be
/// able to edit), spending one write of their budget; returns the `<img>` element to put in
/// a side (`media::upload_image`). Nothing is tied to a card until the card is saved; an
/// image never saved goes a day later with the other files no card took up.
#[allow(clippy::too_many_arguments)]
pub async fn upload_image(
    db: &db::Db,
    writes: &WriteBudget,
    actor: Actor<'_>,
    deck_id: i64,
    path: std::path::PathBuf,
    file_name: &str,
    alt: &str,
    now: Timestamp,
) -> Result<String, StudyError> {
    editable(db.reader(), actor, deck_id).await?;
    spend(writes, actor, now)?;
    super::media::upload_image(
        db.writer(),
        actor.id(),
        deck_id,
        path,
        file_name,
        alt,
        now.as_second(),
    )
    .await
}

/// Keeps an image the editor uploads into existing card `card_id` (which `actor` must be
/// able to edit; a cloze note's card exactly when `cloze`, the upload then being the note's),
/// as [`upload_image`] does for a new card: nothing changes on the card until it is saved,
/// when the images it no longer names are let go (an image no other card uses goes with it).
#[allow(clippy::too_many_arguments)]
pub async fn upload_card_image(
    db: &db::Db,
    writes: &WriteBudget,
    actor: Actor<'_>,
    card_id: i64,
    cloze: bool,
    path: std::path::PathBuf,
    file_name: &str,
    alt: &str,
    now: Timestamp,
) -> Result<String, StudyError> {
    let mut conn = db.reader().acquire().await.context("reading a card")?;
    let (deck, _, _) = card_to_edit(&mut conn, actor, card_id, cloze).await?;
    drop(conn);
    upload_image(db, writes, actor, deck.id, path, file_name, alt, now).await
}
