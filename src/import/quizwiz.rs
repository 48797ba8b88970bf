//! Quizwiz/Quizlet page exports, as students save them from the browser:
//!
//! ```text
//! CS 7643 Quiz 3            <- title
//!                           
//! ¡Supera tus tareas ...!   <- promo line (mentions Quizwiz or Quizlet)
//!
//! L1 Loss                   <- term
//!
//! Sum of Absolute Value ... <- definition
//! ...
//! Conjuntos de estudio relacionados   <- footer of related sets: not cards
//! ```
//!
//! Paragraphs are separated by blank lines; a paragraph of several lines keeps its line breaks.

use super::{ImportError, ParsedDeck, card};

/// Headings that open the related-sets footer, in the export languages seen so far.
const FOOTER_HEADINGS: &[&str] = &[
    "conjuntos de estudio relacionados",
    "related study sets",
    "related sets",
    "ensembles d'études connexes",
    "verwandte lernsets",
    "conjuntos de estudo relacionados",
];

struct Paragraph {
    text: String,
    line: usize,
}

pub(super) fn parse(text: &str) -> Result<ParsedDeck, ImportError> {
    let mut paragraphs = paragraphs(text).into_iter().peekable();
    let Some(title) = paragraphs.next() else {
        return Err(ImportError::whole("the file is empty"));
    };
    if paragraphs.peek().is_some_and(|p| is_promo(&p.text)) {
        paragraphs.next();
    }
    let body: Vec<Paragraph> = paragraphs.take_while(|p| !is_footer(&p.text)).collect();
    let mut cards = Vec::with_capacity(body.len() / 2);
    let mut pairs = body.chunks(2);
    for pair in &mut pairs {
        match pair {
            [term, definition] => cards.push(card(&term.text, &definition.text, term.line)?),
            [term] => {
                return Err(ImportError::at(
                    term.line,
                    format!(
                        "the term \"{}\" has no definition after it (terms and definitions alternate, separated by blank lines)",
                        term.text.chars().take(60).collect::<String>()
                    ),
                ));
            }
            _ => unreachable!("chunks(2) yields one or two paragraphs"),
        }
    }
    Ok(ParsedDeck {
        media: Vec::new(),
        kept: Vec::new(),
        stored_media: Vec::new(),
        title: Some(title.text),
        cards,
        notes: Vec::new(),
    })
}

fn paragraphs(text: &str) -> Vec<Paragraph> {
    let mut out = Vec::new();
    let mut current: Option<Paragraph> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            out.extend(current.take());
            continue;
        }
        match current.as_mut() {
            Some(p) => {
                p.text.push('\n');
                p.text.push_str(line);
            }
            None => {
                current = Some(Paragraph {
                    text: line.to_owned(),
                    line: index + 1,
                });
            }
        }
    }
    out.extend(current);
    out
}

fn is_promo(text: &str) -> bool {
    let lower = text.to_lowercase();
    !text.contains('\n') && (lower.contains("quizwiz") || lower.contains("quizlet"))
}

fn is_footer(text: &str) -> bool {
    let lower = text.trim().to_lowercase();
    FOOTER_HEADINGS.contains(&lower.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "My Set\n\n¡Supera tus tareas y exámenes ahora con Quizwiz!\n\nTerm A\n\nDef A\n\nTerm B\n\nDef B line 1\nDef B line 2\n\n\nConjuntos de estudio relacionados\n\nOther set\n\nView Set\n";

    #[test]
    fn reads_title_skips_promo_and_footer() {
        let deck = parse(SAMPLE).unwrap();
        assert_eq!(deck.title.as_deref(), Some("My Set"));
        assert_eq!(deck.cards.len(), 2);
        assert_eq!(deck.cards[0].front.as_str(), "Term A");
        assert_eq!(deck.cards[0].back.as_str(), "Def A");
        assert_eq!(deck.cards[0].line, 5);
        assert_eq!(deck.cards[1].back.as_str(), "Def B line 1\nDef B line 2");
    }

    #[test]
    fn a_file_without_a_promo_line_starts_with_the_first_term() {
        let deck = parse("Title\n\nT\n\nD\n").unwrap();
        assert_eq!(deck.cards.len(), 1);
        assert_eq!(deck.cards[0].front.as_str(), "T");
    }

    #[test]
    fn a_term_without_definition_is_refused_naming_its_line() {
        let err = parse("Title\n\nT1\n\nD1\n\nT2\n").unwrap_err();
        assert_eq!(err.line, Some(7));
        assert!(err.message.contains("T2"));
    }

    #[test]
    fn windows_line_endings_are_not_card_text() {
        let deck = parse("Title\r\n\r\nT\r\n\r\nD\r\n").unwrap();
        assert_eq!(deck.cards[0].back.as_str(), "D");
    }
}
