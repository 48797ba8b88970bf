//! The course's own deck, shipped in `decks/` and compiled into the binary so that a fresh
//! server has something to study. It is imported on first start only: an admin who deletes
//! or edits it does not see it come back.

use crate::db;
use crate::domain::DeckName;
use crate::import::{self, Format};
use crate::study::import::{ImportReport, import_into};
use sqlx::SqlitePool;

/// The Quizwiz export of CS 7643 Quiz 3.
pub const COURSE_DECK: &str = include_str!("../decks/cs7643-quiz3.txt");
/// The deck name when the file has no title.
const FALLBACK_NAME: &str = "CS 7643 Quiz 3";
/// Marks a database whose first start imported the course deck.
const SEEDED_KEY: &str = "course_deck_imported";

/// Imports the course deck unless this database already did; returns what was imported.
pub async fn seed_on_first_start(
    pool: &SqlitePool,
    now: i64,
) -> anyhow::Result<Option<ImportReport>> {
    let mut tx = db::begin_write(pool).await?;
    if db::meta::get(&mut *tx, SEEDED_KEY).await?.is_some() {
        return Ok(None);
    }
    let parsed = import::parse(Format::Quizwiz, COURSE_DECK)?;
    let name = DeckName::parse(parsed.title.as_deref().unwrap_or(FALLBACK_NAME))?;
    let report = import_into(&mut tx, &name, &parsed, None, now)
        .await
        .map_err(|e| anyhow::anyhow!("importing the course deck failed: {e}"))?;
    db::meta::set(&mut *tx, SEEDED_KEY, &now.to_string()).await?;
    tx.commit().await?;
    Ok(Some(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_course_deck_parses_to_39_cards_in_order_with_text_unchanged() {
        let deck = import::parse(Format::Quizwiz, COURSE_DECK).unwrap();
        assert_eq!(deck.title.as_deref(), Some("CS 7643 Quiz 3"));
        assert_eq!(deck.cards.len(), 39);
        assert_eq!(deck.cards[0].front.as_str(), "L1 Loss");
        assert_eq!(
            deck.cards[0].back.as_str(),
            "Sum of Absolute Value of (true - predicted)"
        );
        assert_eq!(
            deck.cards[38].front.as_str(),
            "CAM = Class Activation Mapping"
        );
        // Every card's text is a line of the file, byte for byte.
        let lines: Vec<&str> = COURSE_DECK.lines().collect();
        for card in &deck.cards {
            assert_eq!(lines[card.line - 1], card.front.as_str());
            assert_eq!(lines[card.line + 1], card.back.as_str());
        }
        // The related-sets footer is not cards.
        assert!(
            deck.cards
                .iter()
                .all(|c| c.front.as_str() != "View Set" && c.back.as_str() != "View Set")
        );
    }
}
