//! Cloze notes (`cloze_notes`, migration 0033) and the cards made from them
//! (`cards.note_id`, `cards.cloze`). A note goes with its last card (a trigger).

use super::Executor;
use sqlx::FromRow;

/// A cloze note.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct NoteRow {
    /// Id.
    pub id: i64,
    /// Its deck.
    pub deck_id: i64,
    /// Its text, with its deletions.
    pub text: String,
    /// What the back shows below the text.
    pub extra: String,
    /// How it is written: `text` or `html`.
    pub format: String,
}

/// A card of a cloze note, with its note.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct NoteCardRow {
    /// The card.
    pub card_id: i64,
    /// Its deletion number.
    pub cloze: i64,
    /// The note.
    #[sqlx(flatten)]
    pub note: NoteRow,
}

/// Creates a note; returns its id.
pub async fn create_note(
    db: impl Executor<'_>,
    deck_id: i64,
    text: &str,
    extra: &str,
    format: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO cloze_notes (deck_id, text, extra, format, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(deck_id)
    .bind(text)
    .bind(extra)
    .bind(format)
    .bind(now)
    .fetch_one(db)
    .await
}

/// The deck's note with this text and extra, if any (a re-import finds the note it made).
pub async fn find_by_text(
    db: impl Executor<'_>,
    deck_id: i64,
    text: &str,
    extra: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM cloze_notes WHERE deck_id = $1 AND text = $2 AND extra = $3
         ORDER BY id LIMIT 1",
    )
    .bind(deck_id)
    .bind(text)
    .bind(extra)
    .fetch_optional(db)
    .await
}

/// The note of card `card_id` and the card's number, if it is a cloze card.
pub async fn of_card(
    db: impl Executor<'_>,
    card_id: i64,
) -> Result<Option<NoteCardRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.id AS card_id, c.cloze, n.id, n.deck_id, n.text, n.extra, n.format
         FROM cards c JOIN cloze_notes n ON n.id = c.note_id WHERE c.id = $1",
    )
    .bind(card_id)
    .fetch_optional(db)
    .await
}

/// Every cloze card of deck `deck_id` with its note, in card order.
pub async fn of_deck(db: impl Executor<'_>, deck_id: i64) -> Result<Vec<NoteCardRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.id AS card_id, c.cloze, n.id, n.deck_id, n.text, n.extra, n.format
         FROM cards c JOIN cloze_notes n ON n.id = c.note_id WHERE c.deck_id = $1
         ORDER BY c.position, c.id",
    )
    .bind(deck_id)
    .fetch_all(db)
    .await
}

/// The cards of note `note_id`: (card id, deletion number), by number.
pub async fn cards_of(db: impl Executor<'_>, note_id: i64) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT id, cloze FROM cards WHERE note_id = $1 ORDER BY cloze")
        .bind(note_id)
        .fetch_all(db)
        .await
}

/// Makes card `card_id` deletion `number` of note `note_id`.
pub async fn attach(
    db: impl Executor<'_>,
    card_id: i64,
    note_id: i64,
    number: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cards SET note_id = $2, cloze = $3 WHERE id = $1")
        .bind(card_id)
        .bind(note_id)
        .bind(number)
        .execute(db)
        .await?;
    Ok(())
}

/// Changes a note's text, extra and format (its cards are rewritten by the caller).
pub async fn update_note(
    db: impl Executor<'_>,
    note_id: i64,
    text: &str,
    extra: &str,
    format: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE cloze_notes SET text = $2, extra = $3, format = $4, updated_at = $5 WHERE id = $1",
    )
    .bind(note_id)
    .bind(text)
    .bind(extra)
    .bind(format)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}
