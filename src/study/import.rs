//! Importing parsed cards into a deck: all of a file or none of it.

use crate::db;
use crate::domain::DeckName;
use crate::error::AppError;
use crate::import::{self, Format, ParsedDeck, apkg};
use sqlx::{SqliteConnection, SqlitePool};

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// The deck imported into.
    pub deck_id: i64,
    /// Its name.
    pub deck_name: String,
    /// Cards added.
    pub added: usize,
    /// Cards skipped because the deck already had them (same front and back).
    pub already_present: usize,
}

/// Imports `parsed` into the deck called `name` (created if missing) in one transaction.
pub async fn import_deck(
    pool: &SqlitePool,
    name: &DeckName,
    parsed: &ParsedDeck,
    owner_id: Option<i64>,
    public: bool,
    now: i64,
) -> Result<ImportReport, AppError> {
    let mut tx = db::begin_write(pool).await?;
    let report = import_into(&mut tx, name, parsed, owner_id, public, now).await?;
    tx.commit().await?;
    Ok(report)
}

/// Imports inside a caller's transaction.
pub async fn import_into(
    conn: &mut SqliteConnection,
    name: &DeckName,
    parsed: &ParsedDeck,
    owner_id: Option<i64>,
    public: bool,
    now: i64,
) -> Result<ImportReport, AppError> {
    let deck_id = match db::decks::find_by_name(&mut *conn, name.as_str()).await? {
        Some(deck) => deck.id,
        None => db::decks::create(&mut *conn, name.as_str(), "", owner_id, public, now).await?,
    };
    let mut position = db::decks::next_position(&mut *conn, deck_id).await?;
    let mut added = 0;
    for card in &parsed.cards {
        let is_new = db::decks::add_card_if_absent(
            &mut *conn,
            deck_id,
            card.front.as_str(),
            card.back.as_str(),
            position,
            now,
        )
        .await?;
        if is_new {
            added += 1;
            position += 1;
        }
    }
    Ok(ImportReport {
        deck_id,
        deck_name: name.as_str().to_owned(),
        added,
        already_present: parsed.cards.len() - added,
    })
}

/// Reads an uploaded deck file: an Anki package (recognised by its zip signature), or UTF-8
/// text in `format` (guessed from the name and first line when None).
pub async fn read_deck_file(
    bytes: &[u8],
    file_name: &str,
    format: Option<Format>,
) -> Result<ParsedDeck, AppError> {
    if apkg::is_zip(bytes) {
        let collection = apkg::collection(bytes)?;
        let notes = db::anki::read_notes(&collection).await.map_err(|e| {
            AppError::Validation(format!(
                "The file was not imported: the Anki collection could not be read ({e})."
            ))
        })?;
        let deck = apkg::deck_from_notes(notes)?;
        if deck.cards.is_empty() {
            return Err(AppError::Validation(
                "The file was not imported: the package holds no notes.".to_owned(),
            ));
        }
        return Ok(deck);
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        AppError::Validation(format!(
            "The file is not UTF-8 text or an Anki package (the first bad byte is at offset {}).",
            e.valid_up_to()
        ))
    })?;
    let format = format.unwrap_or_else(|| Format::detect(file_name, text));
    Ok(import::parse(format, text)?)
}
