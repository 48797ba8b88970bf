//! Reading decks and cards, scoped to the learner. A deck or card they may not see is `None`
//! (or `NotFound`) from the read itself: no handler fetches by id and then checks, so a new
//! page cannot leak a private deck by forgetting the check.

use super::actor::Actor;
use super::{Context, Learner, StudyError};
use crate::db;
use crate::db::Pool;
use crate::import::{apkg, export};
use jiff::Timestamp;

pub use crate::db::classes::Assignment;
pub use crate::db::decks::{CardRow, DeckRow, DeckSummary};
pub use crate::db::reports::MyReport;
pub use crate::db::reviews::{HistoryRow, StateRow};

/// The decks `learner` may see, with their counts of new, due and all cards, by name.
pub async fn list(
    pool: &Pool,
    learner: &Learner,
    now: Timestamp,
) -> Result<Vec<DeckSummary>, StudyError> {
    db::decks::list_with_counts(
        pool,
        learner.id,
        learner.today(now),
        learner.visible_decks(),
    )
    .await
    .context("listing decks")
}

/// What the decks page's main button may offer, so that it never promises what /review will
/// not show ("Review all due cards" with nothing due sent people to an empty page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStudy {
    /// Cards are due, or owe a repeat today.
    Due,
    /// Nothing is due, but today's limit still lets new cards in.
    New,
    /// Nothing today; `new_waiting` when new cards wait past today's limit.
    Nothing {
        /// Whether unseen cards wait for tomorrow (or for a raised limit).
        new_waiting: bool,
    },
}

impl NextStudy {
    /// Chooses from the cards due (repeats included), the unseen cards and the new cards
    /// today's limit still allows.
    pub fn choose(due: i64, unseen: i64, new_left: u32) -> Self {
        if due > 0 {
            Self::Due
        } else if unseen > 0 && new_left > 0 {
            Self::New
        } else {
            Self::Nothing {
                new_waiting: unseen > 0,
            }
        }
    }
}

/// What `learner` can study now across `decks` (as [`list`] gave them): their due cards plus
/// today's pending repeats, and their unseen cards against today's new-card limit.
pub async fn next_study(
    pool: &Pool,
    learner: &Learner,
    decks: &[DeckSummary],
    now: Timestamp,
) -> Result<NextStudy, StudyError> {
    let today = learner.today(now);
    let events = super::review::today_events(pool, learner.id, today).await?;
    let digest = crate::srs::today::Today::from_events(&events);
    // Suspended and buried cards owe no repeat today.
    let held: Vec<i64> = db::controls::active(pool, learner.id, today)
        .await
        .context("reading the card controls")?
        .into_iter()
        .filter(|c| c.hidden)
        .map(|c| c.card_id)
        .collect();
    let repeats = digest
        .repeats
        .iter()
        .filter(|r| learner.can_see(r.deck_id) && !held.contains(&r.card_id))
        .count();
    let due =
        decks.iter().map(|d| d.due_count).sum::<i64>() + i64::try_from(repeats).unwrap_or(i64::MAX);
    let unseen = decks.iter().map(|d| d.new_count).sum::<i64>();
    Ok(NextStudy::choose(
        due,
        unseen,
        digest.new_left(learner.new_limit(today)),
    ))
}

/// The name of class `class_id` if `learner` belongs to it (for "You joined ...").
pub async fn joined_class(
    pool: &Pool,
    learner: &Learner,
    class_id: Option<i64>,
) -> Result<Option<String>, StudyError> {
    let Some(id) = class_id else { return Ok(None) };
    Ok(db::classes::joined_by(pool, learner.id)
        .await
        .context("reading the classes joined")?
        .into_iter()
        .find(|c| c.id == id)
        .map(|c| c.name))
}

/// Deck `deck_id` if `learner` may see it; `None` if it does not exist or they may not.
pub async fn visible_deck(
    db: impl db::Executor<'_>,
    learner: &Learner,
    deck_id: i64,
) -> Result<Option<DeckRow>, StudyError> {
    if !learner.can_see(deck_id) {
        return Ok(None);
    }
    db::decks::find(db, deck_id).await.context("reading a deck")
}

/// Card `card_id` if `learner` may see its deck; `None` if it does not exist or they may not.
pub async fn visible_card(
    db: impl db::Executor<'_>,
    learner: &Learner,
    card_id: i64,
) -> Result<Option<CardRow>, StudyError> {
    Ok(db::decks::card(db, card_id)
        .await
        .context("reading a card")?
        .filter(|c| learner.can_see(c.deck_id)))
}

/// A deck's page.
#[derive(Debug, Clone)]
pub struct DeckView {
    /// The deck.
    pub deck: DeckRow,
    /// Its cards in order.
    pub cards: Vec<CardRow>,
    /// Whether the reader may edit it.
    pub can_edit: bool,
    /// The classes it is assigned to, for those who may edit it (empty for the others).
    pub assignments: Vec<Assignment>,
}

/// Deck `deck_id`'s page for `actor`; not found when they may not see it.
pub async fn deck_page(
    pool: &Pool,
    actor: Actor<'_>,
    deck_id: i64,
) -> Result<DeckView, StudyError> {
    let deck = visible_deck(pool, actor.learner, deck_id)
        .await?
        .ok_or(StudyError::NotFound)?;
    let cards = db::decks::cards(pool, deck.id)
        .await
        .context("reading a deck's cards")?;
    let can_edit = actor.may_edit_deck(deck.owner_id);
    let assignments = if can_edit {
        db::classes::assignments(pool, deck.id)
            .await
            .context("reading a deck's classes")?
    } else {
        Vec::new()
    };
    Ok(DeckView {
        deck,
        cards,
        can_edit,
        assignments,
    })
}

/// A deck as a file to download.
#[derive(Debug)]
pub struct Exported {
    /// Its MIME type.
    pub content_type: &'static str,
    /// The file's name: the deck's, made safe, and the format's extension.
    pub file_name: String,
    /// The file.
    pub body: ExportBody,
}

/// An export's bytes: text in memory, an Anki package in a temporary file (unnamed: it goes
/// when the file is closed), to be streamed back.
#[derive(Debug)]
pub enum ExportBody {
    /// A text file (CSV, TSV): the deck's text, a few megabytes at most.
    Bytes(Vec<u8>),
    /// A package, read from its start: the file, its length, and its export slot, to be
    /// dropped with the file once the download ends (so a slow reader's temporary file
    /// counts among the exports at once).
    File(std::fs::File, u64, tokio::sync::OwnedSemaphorePermit),
}

/// Anki packages built at once; more are asked to retry. Each reads its deck's media one
/// file at a time into a temporary file, so memory stays bounded whatever the deck holds,
/// but building one reads up to 400 MiB of media from the store and writes it to disk.
pub const CONCURRENT_EXPORTS: usize = 2;

/// The places for packages being built or downloaded at once, one set per server.
pub fn export_slots() -> std::sync::Arc<tokio::sync::Semaphore> {
    std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENT_EXPORTS))
}

/// Deck `deck_id` as an Anki package (`apkg`), CSV (`csv`) or TSV (`tsv`) file; not found
/// when `actor` may not see it or the format is none of these. The package's other files the
/// deck keeps (never served) travel only to whoever may edit the deck; anyone else's package
/// has their placeholders as text. A package takes one of `slots` (else `Busy`) from before
/// it is built until its body, which holds the slot, is dropped.
pub async fn export(
    pool: &Pool,
    slots: &std::sync::Arc<tokio::sync::Semaphore>,
    actor: Actor<'_>,
    deck_id: i64,
    format: &str,
    now: Timestamp,
) -> Result<Exported, StudyError> {
    let deck = visible_deck(pool, actor.learner, deck_id)
        .await?
        .ok_or(StudyError::NotFound)?;
    let cards = db::decks::cards(pool, deck.id)
        .await
        .context("reading a deck's cards")?;
    let file_name = format!("{}.{format}", file_stem(&deck.name));
    if format == "apkg" {
        let slot = slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| StudyError::Busy {
                message: "Other Anki packages are being built; try again in a few seconds."
                    .to_owned(),
                retry_after_secs: 5,
            })?;
        // The media the deck's formatted cards use travel with it, named by hash and type:
        // (name, hash), their bytes read one at a time as the package is written.
        let mut files: Vec<(String, String)> = Vec::new();
        let mut names: std::collections::HashMap<String, String> = Default::default();
        for c in cards.iter().filter(|c| crate::markup::is_html(&c.format)) {
            // The files tied to the card (`card_media`), not every hash its text names: a
            // file travels only with a card that may show it.
            let hashes = db::media::of_card(pool, c.id)
                .await
                .context("reading a card's media")?;
            for hash in hashes {
                if names.contains_key(&hash) {
                    continue;
                }
                if let Some(content_type) = db::media::type_of(pool, &hash)
                    .await
                    .context("reading a deck's media")?
                {
                    let extension = content_type.rsplit('/').next().unwrap_or("bin");
                    let extension = if extension == "mpeg" {
                        "mp3"
                    } else {
                        extension
                    };
                    let name = format!("{hash}.{extension}");
                    names.insert(hash.clone(), name.clone());
                    files.push((name, hash));
                }
            }
        }
        // The package's other files the deck keeps go back under their own names (a
        // template's font keeps working in Anki).
        let kept = if actor.may_edit_deck(deck.owner_id) {
            db::media::kept_by_deck(pool, deck.id)
                .await
                .context("reading a deck's kept files")?
        } else {
            Vec::new()
        };
        let kept_names: Vec<String> = kept.iter().map(|(name, _)| name.clone()).collect();
        for (name, hash) in kept {
            if files.iter().any(|(n, _)| *n == name) {
                continue;
            }
            files.push((name, hash));
        }
        let name_of = |hash: &str| names.get(hash).cloned();
        let as_anki = |text: &str, format: &str| {
            if crate::markup::is_html(format) {
                // Already Anki's form: sanitised HTML, our media addresses as file names,
                // the kept files' placeholders as references to them.
                apkg::kept_to_anki(&apkg::media_to_anki(text, name_of), &kept_names)
            } else {
                apkg::text_to_html(text)
            }
        };
        // A cloze card goes as its note, once, where its first card is, with every
        // number the note still has.
        let cloze = db::cloze::of_deck(pool, deck.id)
            .await
            .context("reading a deck's cloze notes")?;
        let mut notes: Vec<db::anki::AnkiNote> = Vec::with_capacity(cards.len());
        let mut written_notes = std::collections::HashSet::new();
        // Two cards that mirror each other (one's front the other's back, and back its
        // front, stored alike) go as one Basic and reversed note, where the first is: what
        // an imported Basic and reversed note became.
        let cloze_cards: std::collections::HashSet<i64> = cloze.iter().map(|n| n.card_id).collect();
        let mut mirror_of: std::collections::HashMap<i64, i64> = Default::default();
        {
            let mut waiting: std::collections::HashMap<(&str, &str, &str), Vec<i64>> =
                Default::default();
            for c in cards.iter().filter(|c| !cloze_cards.contains(&c.id)) {
                let wanted = (c.back.as_str(), c.front.as_str(), c.format.as_str());
                if c.front != c.back
                    && let Some(first) = waiting.get_mut(&wanted).and_then(Vec::pop)
                {
                    mirror_of.insert(first, c.id);
                    mirror_of.insert(c.id, first);
                    continue;
                }
                waiting
                    .entry((c.front.as_str(), c.back.as_str(), c.format.as_str()))
                    .or_default()
                    .push(c.id);
            }
        }
        let mut paired_written = std::collections::HashSet::new();
        for c in &cards {
            if let Some(other) = mirror_of.get(&c.id) {
                if paired_written.insert(*other) {
                    paired_written.insert(c.id);
                    notes.push(db::anki::AnkiNote::Reversed {
                        front: as_anki(&c.front, &c.format),
                        back: as_anki(&c.back, &c.format),
                    });
                }
                continue;
            }
            match cloze.iter().find(|n| n.card_id == c.id) {
                Some(of) => {
                    if !written_notes.insert(of.note.id) {
                        continue;
                    }
                    let numbers = cloze
                        .iter()
                        .filter(|n| n.note.id == of.note.id)
                        .filter_map(|n| u32::try_from(n.cloze).ok())
                        .collect();
                    notes.push(db::anki::AnkiNote::Cloze {
                        text: as_anki(&of.note.text, &of.note.format),
                        extra: as_anki(&of.note.extra, &of.note.format),
                        numbers,
                    });
                }
                None => notes.push(db::anki::AnkiNote::Basic {
                    front: as_anki(&c.front, &c.format),
                    back: as_anki(&c.back, &c.format),
                }),
            }
        }
        let collection = db::anki::write_notes(&deck.name, &notes, now.as_millisecond())
            .await
            .context("writing an Anki collection")?;
        let (file, len) = write_package(pool, &collection, &files).await?;
        return Ok(Exported {
            content_type: "application/octet-stream",
            file_name,
            body: ExportBody::File(file, len, slot),
        });
    }
    let pairs = cards.iter().map(|c| (c.front.as_str(), c.back.as_str()));
    let (body, content_type) = match format {
        "csv" => (export::to_csv(pairs), "text/csv; charset=utf-8"),
        "tsv" => (
            export::to_tsv(pairs),
            "text/tab-separated-values; charset=utf-8",
        ),
        _ => return Err(StudyError::NotFound),
    };
    let body =
        body.map_err(|e| StudyError::Validation(format!("The deck was not exported: {e}.")))?;
    Ok(Exported {
        content_type,
        file_name,
        body: ExportBody::Bytes(body.into_bytes()),
    })
}

/// Writes a package of `collection` and `files` (name, hash) into a temporary file, reading
/// each file's bytes from the store only when it is written (a file gone meanwhile is
/// written empty); returns the file, read from its start, and its length.
async fn write_package(
    pool: &Pool,
    collection: &[u8],
    files: &[(String, String)],
) -> Result<(std::fs::File, u64), StudyError> {
    let internal =
        |e: std::io::Error| StudyError::Internal(anyhow::anyhow!("writing a package: {e}"));
    let joined =
        |e: tokio::task::JoinError| StudyError::Internal(anyhow::anyhow!("writing a package: {e}"));
    let names: Vec<String> = files.iter().map(|(name, _)| name.clone()).collect();
    let collection = collection.to_vec();
    let mut writer = tokio::task::spawn_blocking(move || {
        apkg::PackageWriter::new(tempfile::tempfile()?, &collection, &names)
    })
    .await
    .map_err(joined)?
    .map_err(internal)?;
    for (_, hash) in files {
        let bytes = db::media::get(pool, hash)
            .await
            .context("reading a deck's media")?
            .map(|f| f.bytes)
            .unwrap_or_default();
        writer = tokio::task::spawn_blocking(move || {
            writer.add(&bytes)?;
            Ok::<_, std::io::Error>(writer)
        })
        .await
        .map_err(joined)?
        .map_err(internal)?;
    }
    tokio::task::spawn_blocking(move || {
        use std::io::Seek;
        let mut file = writer.finish()?;
        let len = file.seek(std::io::SeekFrom::End(0))?;
        file.rewind()?;
        Ok::<_, std::io::Error>((file, len))
    })
    .await
    .map_err(joined)?
    .map_err(internal)
}

/// A deck name made safe for a file name: letters, digits, '-' and '_' only.
fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let stem = stem.trim_matches('-');
    if stem.is_empty() {
        "deck".to_owned()
    } else {
        stem.chars().take(60).collect()
    }
}

/// A card's page: the learner's schedule of it, their history and their reports.
#[derive(Debug, Clone)]
pub struct CardView {
    /// Its deck.
    pub deck: DeckRow,
    /// The card.
    pub card: CardRow,
    /// The learner's schedule of it, if they have studied it.
    pub schedule: Option<StateRow>,
    /// The learner's reviews of it, oldest first.
    pub history: Vec<HistoryRow>,
    /// The learner's reports on it, with any reply, newest first.
    pub reports: Vec<MyReport>,
}

/// Card `card_id`'s page for `learner`; not found when they may not see its deck. The page
/// shows the replies to their reports on it, which so are read (`reports::replies_read`).
pub async fn card_page(
    db: &db::Db,
    sessions: &dyn super::Forget,
    learner: &Learner,
    card_id: i64,
    now: Timestamp,
) -> Result<CardView, StudyError> {
    let pool = db.reader();
    let card = visible_card(pool, learner, card_id)
        .await?
        .ok_or(StudyError::NotFound)?;
    let deck = visible_deck(pool, learner, card.deck_id)
        .await?
        .ok_or(StudyError::NotFound)?;
    let schedule = db::reviews::state(pool, learner.id, card.id)
        .await
        .context("reading a card's schedule")?;
    let history = db::reviews::history(pool, learner.id, Some(card.id))
        .await
        .context("reading a card's history")?;
    let reports = db::reports::mine_on_card(pool, learner.id, card.id)
        .await
        .context("reading the reports on a card")?;
    if reports.iter().any(|r| r.unread) {
        super::reports::replies_read(db.writer(), sessions, learner.id, Some(card.id), now).await?;
    }
    Ok(CardView {
        deck,
        card,
        schedule,
        history,
        reports,
    })
}

#[cfg(test)]
mod tests {
    use super::{NextStudy, file_stem};

    #[test]
    fn the_next_study_is_due_cards_then_new_ones_within_the_limit_then_nothing() {
        assert_eq!(NextStudy::choose(3, 10, 5), NextStudy::Due);
        assert_eq!(NextStudy::choose(3, 0, 0), NextStudy::Due);
        assert_eq!(NextStudy::choose(0, 10, 5), NextStudy::New);
        assert_eq!(
            NextStudy::choose(0, 10, 0),
            NextStudy::Nothing { new_waiting: true }
        );
        assert_eq!(
            NextStudy::choose(0, 0, 5),
            NextStudy::Nothing { new_waiting: false }
        );
    }

    #[test]
    fn a_file_name_keeps_letters_digits_dashes_and_underscores_only() {
        assert_eq!(file_stem("CS 7643: Quiz 3"), "CS-7643--Quiz-3");
        assert_eq!(file_stem("!!!"), "deck");
    }
}
