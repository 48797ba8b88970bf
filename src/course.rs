//! The course's own deck, shipped in `decks/` and compiled into the binary so that a fresh
//! server has something to study. It is imported on first start only: an admin who deletes
//! or edits it does not see it come back.

use crate::db;
use crate::db::Pool;
use crate::domain::DeckName;
use crate::import::{self, Format};
use crate::study::import::{ImportReport, import_into};

/// The Quizwiz export of CS 7643 Quiz 3.
pub const COURSE_DECK: &str = include_str!("../decks/cs7643-quiz3.txt");
/// The deck name when the file has no title.
const FALLBACK_NAME: &str = "CS 7643 Quiz 3";
/// Marks a database whose first start imported the course deck.
const SEEDED_KEY: &str = "course_deck_imported";
/// Marks a database that received the practice deck (databases created before it existed get
/// it on their next start).
const PRACTICE_KEY: &str = "practice_deck_imported";
/// The deck of generated problems, one card per practice family.
pub const PRACTICE_DECK: &str = "CS 7643 practice problems";
/// The practice families this database has received, comma-separated: a family added to the
/// code later reaches an existing site once, and a card its admin deleted stays deleted.
const FAMILIES_KEY: &str = "practice_families";
/// The families every practice deck had before they were tracked one by one.
const FIRST_FAMILIES: &[&str] = &[
    "conv-params",
    "fc-params",
    "pool-params",
    "output-shape",
    "activation-memory",
    "transposed-conv",
    "receptive-field",
    "network",
    "loss",
];

/// Imports the course deck and the practice deck, each unless this database already had it,
/// in one transaction; returns "deck name: cards" for each deck added.
pub async fn seed_on_first_start(pool: &Pool, now: i64) -> anyhow::Result<Vec<String>> {
    let mut tx = db::begin_write(pool).await?;
    let mut seeded = Vec::new();
    if db::meta::get(&mut *tx, SEEDED_KEY).await?.is_none() {
        let parsed = import::parse(Format::Quizwiz, COURSE_DECK)?;
        let name = DeckName::parse(parsed.title.as_deref().unwrap_or(FALLBACK_NAME))?;
        let report: ImportReport = import_into(&mut tx, &name, &parsed, None, true, now)
            .await
            .map_err(|e| anyhow::anyhow!("importing the course deck failed: {e}"))?;
        db::meta::set(&mut *tx, SEEDED_KEY, &now.to_string()).await?;
        seeded.push(format!("{}: {} cards", report.deck_name, report.added));
    }
    if db::meta::get(&mut *tx, PRACTICE_KEY).await?.is_none() {
        let deck_id = match db::decks::find_by_name(&mut *tx, None, PRACTICE_DECK).await? {
            Some(deck) => deck.id,
            None => {
                db::decks::create(
                    &mut *tx,
                    PRACTICE_DECK,
                    "Generated problems: every review shows fresh numbers, checks your answer and explains it.",
                    None,
                    true,
                    now,
                )
                .await?
            }
        };
        for (position, family) in (1..).zip(crate::practice::FAMILIES) {
            db::decks::add_generated_card_if_absent(
                &mut *tx,
                deck_id,
                family.title,
                family.description,
                family.id,
                position,
                now,
            )
            .await?;
        }
        db::meta::set(&mut *tx, PRACTICE_KEY, &now.to_string()).await?;
        let all: Vec<&str> = crate::practice::FAMILIES.iter().map(|f| f.id).collect();
        db::meta::set(&mut *tx, FAMILIES_KEY, &all.join(",")).await?;
        seeded.push(format!(
            "{PRACTICE_DECK}: {} cards",
            crate::practice::FAMILIES.len()
        ));
    } else if let Some(added) = add_new_families(&mut tx, now).await? {
        seeded.push(added);
    }
    tx.commit().await?;
    Ok(seeded)
}

/// Gives a database that has the practice deck the cards of families it has not received
/// yet, at the deck's end; returns what was added. A deck its admin deleted is not recreated.
async fn add_new_families(conn: &mut crate::db::Conn, now: i64) -> anyhow::Result<Option<String>> {
    let received = db::meta::get(&mut *conn, FAMILIES_KEY)
        .await?
        .unwrap_or_else(|| FIRST_FAMILIES.join(","));
    let received: Vec<&str> = received.split(',').filter(|id| !id.is_empty()).collect();
    let missing: Vec<&crate::practice::Family> = crate::practice::FAMILIES
        .iter()
        .filter(|f| !received.contains(&f.id))
        .collect();
    if missing.is_empty() {
        return Ok(None);
    }
    let mut added = Vec::new();
    if let Some(deck) = db::decks::find_by_name(&mut *conn, None, PRACTICE_DECK).await? {
        let mut position = db::decks::next_position(&mut *conn, deck.id).await?;
        for family in &missing {
            if db::decks::add_generated_card_if_absent(
                &mut *conn,
                deck.id,
                family.title,
                family.description,
                family.id,
                position,
                now,
            )
            .await?
            {
                added.push(family.title);
                position += 1;
            }
        }
    }
    let all: Vec<&str> = received
        .iter()
        .copied()
        .chain(missing.iter().map(|f| f.id))
        .collect();
    db::meta::set(&mut *conn, FAMILIES_KEY, &all.join(",")).await?;
    Ok((!added.is_empty()).then(|| format!("{PRACTICE_DECK}: added {}", added.join(", "))))
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
