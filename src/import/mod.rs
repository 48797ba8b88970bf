//! Deck file formats, parsed into cards without touching the database. A parser either
//! returns every card of a file or an error naming the line at fault, so an import can be
//! all or nothing.

pub mod apkg;
pub mod cloze;
mod delimited;
pub mod export;
pub mod package;
mod quizwiz;

use crate::domain::CardText;
use std::fmt;

/// One card read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCard {
    /// The prompt.
    pub front: CardText,
    /// The answer.
    pub back: CardText,
    /// The 1-based line where the card starts.
    pub line: usize,
    /// How its sides are stored: text files give text, Anki packages HTML.
    pub format: crate::markup::Format,
    /// The cloze note it is one deletion number of, if it is.
    pub cloze: Option<ClozeOrigin>,
}

/// The cloze note a card was made from, kept with the card so that the note can be edited
/// (its cards follow) and exported back to Anki as a Cloze note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClozeOrigin {
    /// The card's deletion number.
    pub number: u32,
    /// The note's text, with its deletions, as written (`format`).
    pub text: String,
    /// What the back shows below the text (Anki's "Back Extra"), maybe empty.
    pub extra: String,
    /// How the note is written: a text file's plain text, an Anki package's HTML.
    pub format: crate::markup::Format,
}

/// A whole file's cards, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedDeck {
    /// The set's title, where the format carries one.
    pub title: Option<String>,
    /// The cards.
    pub cards: Vec<ParsedCard>,
    /// How the file was read, where the reader had to guess (shown on the preview).
    pub notes: Vec<String>,
    /// The media files the cards use (an Anki package's images and sounds), checked.
    pub media: Vec<MediaFile>,
    /// The package's other files (no card names them, or cards may not show them): kept
    /// with the deck, never served, so that its Anki export carries them back.
    pub kept: Vec<KeptFile>,
    /// The hashes of media files the cards use that are stored already: a confirmed
    /// preview's, checked and brought by the importer when it was previewed.
    pub stored_media: Vec<String>,
}

impl ParsedDeck {
    /// The hashes of every media file this import brings (its own files and those its
    /// preview stored), which its cards may tie whoever last uploaded them.
    pub fn brought(&self) -> Vec<String> {
        self.media
            .iter()
            .map(|f| f.checked.hash.clone())
            .chain(self.stored_media.iter().cloned())
            .collect()
    }
}

/// A file an Anki package brings that no card shows, kept with the deck under its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptFile {
    /// Its name in the package (what the package's templates and fields call it).
    pub name: String,
    /// The SHA-256 of its bytes, lowercase hex.
    pub hash: String,
    /// Its type when it is one we know (else `application/octet-stream`).
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its bytes; empty when it is stored already (a confirmed preview's files).
    pub bytes: Vec<u8>,
}

/// A media file an import brings, checked by `media::check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFile {
    /// Its name in the package.
    pub name: String,
    /// What it is, and its hash.
    pub checked: crate::media::Checked,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Why a file cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    /// The 1-based line at fault, when one line is.
    pub line: Option<usize>,
    /// What is wrong, as a sentence.
    pub message: String,
}

impl ImportError {
    fn at(line: usize, message: impl Into<String>) -> Self {
        Self {
            line: Some(line),
            message: message.into(),
        }
    }

    pub(crate) fn whole(message: impl Into<String>) -> Self {
        Self {
            line: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ImportError {}

/// The formats studyhall reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A Quizwiz/Quizlet page export: title, promo line, term/definition paragraphs, footer.
    Quizwiz,
    /// One `term<TAB>definition` per line (Quizlet's default export).
    Tsv,
    /// RFC 4180 CSV with a `front,back` header.
    Csv,
}

impl Format {
    /// Parses a format name as the CLI and the import form spell it.
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "quizwiz" | "quizlet" => Some(Self::Quizwiz),
            "tsv" => Some(Self::Tsv),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }

    /// Guesses a file's format from its name, then from its first line.
    pub fn detect(file_name: &str, text: &str) -> Self {
        let lower = file_name.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            return Self::Csv;
        }
        if lower.ends_with(".tsv") {
            return Self::Tsv;
        }
        let first = text
            .trim_start_matches('\u{feff}')
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        if first.contains('\t') {
            Self::Tsv
        } else if first.trim().eq_ignore_ascii_case("front,back") {
            Self::Csv
        } else {
            Self::Quizwiz
        }
    }
}

/// Parses `text` as `format`.
pub fn parse(format: Format, text: &str) -> Result<ParsedDeck, ImportError> {
    // A byte order mark is an artefact of the exporting editor, not card text.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let deck = match format {
        Format::Quizwiz => quizwiz::parse(text)?,
        Format::Tsv => delimited::parse_tsv(text)?,
        Format::Csv => delimited::parse_csv(text)?,
    };
    if deck.cards.is_empty() {
        return Err(ImportError::whole("the file holds no cards"));
    }
    Ok(deck)
}

/// Parses both sides of a card found at `line`, naming the line on failure.
fn card(front: &str, back: &str, line: usize) -> Result<ParsedCard, ImportError> {
    let front = CardText::parse(front, "front").map_err(|e| ImportError::at(line, e.0))?;
    let back = CardText::parse(back, "back").map_err(|e| ImportError::at(line, e.0))?;
    Ok(ParsedCard {
        front,
        back,
        line,
        format: crate::markup::Format::Text,
        cloze: None,
    })
}

/// The cards of a cloze note found at `line` of a text file (plain text), one per deletion
/// number.
fn cloze_cards(text: &str, extra: &str, line: usize) -> Result<Vec<ParsedCard>, ImportError> {
    let format = crate::markup::Format::Text;
    let made = cloze::note_cards(text, extra, format).map_err(|e| ImportError::at(line, e))?;
    Ok(made
        .into_iter()
        .map(|c| ParsedCard {
            front: c.front,
            back: c.back,
            line,
            format: crate::markup::Format::Html,
            cloze: Some(ClozeOrigin {
                number: c.number,
                text: text.to_owned(),
                extra: extra.to_owned(),
                format,
            }),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_detected_by_name_then_content() {
        assert_eq!(Format::detect("x.csv", "a\tb"), Format::Csv);
        assert_eq!(Format::detect("x.TSV", "a,b"), Format::Tsv);
        assert_eq!(Format::detect("x.txt", "\n\nterm\tdef\n"), Format::Tsv);
        assert_eq!(Format::detect("x.txt", "front,back\na,b\n"), Format::Csv);
        assert_eq!(Format::detect("x.txt", "Title\n\nPromo\n"), Format::Quizwiz);
    }

    #[test]
    fn an_empty_file_is_refused() {
        for format in [Format::Quizwiz, Format::Tsv, Format::Csv] {
            assert!(parse(format, "").is_err());
        }
    }
}

#[cfg(test)]
mod fuzz {
    //! No input, however malformed, makes a parser panic; whatever parses has valid cards.
    use super::*;
    use proptest::prelude::*;

    fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,400}",
            // Text built from the characters the formats care about.
            proptest::collection::vec(
                prop_oneof![
                    Just("\n".to_owned()),
                    Just("\r\n".to_owned()),
                    Just("\t".to_owned()),
                    Just(",".to_owned()),
                    Just("\"".to_owned()),
                    Just("front,back\n".to_owned()),
                    Just("Conjuntos de estudio relacionados".to_owned()),
                    Just("Quizwiz".to_owned()),
                    "[a-z ]{0,12}",
                ],
                0..60
            )
            .prop_map(|parts| parts.concat()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn no_input_makes_a_parser_panic(text in any_text()) {
            for format in [Format::Quizwiz, Format::Tsv, Format::Csv] {
                if let Ok(deck) = parse(format, &text) {
                    prop_assert!(!deck.cards.is_empty());
                    for card in &deck.cards {
                        prop_assert!(!card.front.as_str().trim().is_empty());
                        prop_assert!(!card.back.as_str().trim().is_empty());
                        prop_assert!(card.line >= 1);
                    }
                }
            }
            let _ = Format::detect("x", &text);
        }

        #[test]
        fn tsv_round_trips_what_it_is_given(
            cards in proptest::collection::vec(("[a-zA-Z0-9 ,.;:!?]{1,30}", "[a-zA-Z0-9 ,.;:!?]{1,30}"), 1..20)
        ) {
            let cards: Vec<(String, String)> = cards
                .into_iter()
                .filter(|(f, b)| !f.trim().is_empty() && !b.trim().is_empty())
                .collect();
            prop_assume!(!cards.is_empty());
            let text: String = cards.iter().map(|(f, b)| format!("{f}\t{b}\n")).collect();
            let deck = parse(Format::Tsv, &text).unwrap();
            let read: Vec<(String, String)> = deck
                .cards
                .iter()
                .map(|c| (c.front.as_str().to_owned(), c.back.as_str().to_owned()))
                .collect();
            prop_assert_eq!(read, cards);
        }

        #[test]
        fn csv_round_trips_quoted_fields(
            cards in proptest::collection::vec(("[a-z\",\n ]{0,20}[a-z]", "[a-z\",\n ]{0,20}[a-z]"), 1..10)
        ) {
            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record(["front", "back"]).unwrap();
            for (f, b) in &cards {
                writer.write_record([f, b]).unwrap();
            }
            let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
            let deck = parse(Format::Csv, &text).unwrap();
            let read: Vec<(String, String)> = deck
                .cards
                .iter()
                .map(|c| (c.front.as_str().to_owned(), c.back.as_str().to_owned()))
                .collect();
            prop_assert_eq!(read, cards);
        }
    }
}
