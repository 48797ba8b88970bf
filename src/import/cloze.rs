//! Cloze deletions as Anki writes them (`{{c1::answer}}`, `{{c1::answer::hint}}`): one card
//! per cloze number, its front showing `[...]` (or `[hint]`) in place of that number's
//! deletions and every other deletion as its answer, its back revealing them. Pure: the
//! importer and the deck editor turn a cloze note into these cards ([`note_cards`]), each
//! with a schedule of its own.

use crate::domain::CardText;
use crate::markup::Format;

/// One deletion found in a field.
struct Deletion<'a> {
    /// Where it starts and ends in the field (`{{` to `}}` inclusive).
    start: usize,
    end: usize,
    /// Its number (`c1` is 1).
    number: u32,
    /// The text deleted.
    answer: &'a str,
    /// Its hint, if any.
    hint: Option<&'a str>,
}

/// The deletions of `field`, in order. Nested deletions are not read (Anki's own are rare):
/// the outer one's answer keeps the inner one's text.
fn deletions(field: &str) -> Vec<Deletion<'_>> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(offset) = field[at..].find("{{c") {
        let start = at + offset;
        let rest = &field[start + 3..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let after = &rest[digits.len()..];
        let (Ok(number), true) = (digits.parse::<u32>(), after.starts_with("::")) else {
            at = start + 3;
            continue;
        };
        let body_start = start + 3 + digits.len() + 2;
        let Some(close) = field[body_start..].find("}}") else {
            break;
        };
        let body = &field[body_start..body_start + close];
        let (answer, hint) = match body.split_once("::") {
            Some((a, h)) => (a, Some(h)),
            None => (body, None),
        };
        out.push(Deletion {
            start,
            end: body_start + close + 2,
            number,
            answer,
            hint,
        });
        at = body_start + close + 2;
    }
    out
}

/// Whether `field` holds a cloze deletion.
pub fn is_cloze(field: &str) -> bool {
    !deletions(field).is_empty()
}

/// The cards of a cloze field, one per deletion number in ascending order: (number, front,
/// back), both HTML. `extra` (Anki's "Back Extra") follows the back when it is not empty.
pub fn cards(field: &str, extra: &str) -> Vec<(u32, String, String)> {
    let found = deletions(field);
    let mut numbers: Vec<u32> = found.iter().map(|d| d.number).collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers
        .into_iter()
        .map(|n| {
            let render = |reveal: bool| {
                let mut out = String::with_capacity(field.len());
                let mut from = 0;
                for d in &found {
                    out.push_str(&field[from..d.start]);
                    if d.number != n {
                        out.push_str(d.answer);
                    } else if reveal {
                        out.push_str("<b>");
                        out.push_str(d.answer);
                        out.push_str("</b>");
                    } else {
                        out.push_str("<b>[");
                        out.push_str(d.hint.unwrap_or("..."));
                        out.push_str("]</b>");
                    }
                    from = d.end;
                }
                out.push_str(&field[from..]);
                out
            };
            let mut back = render(true);
            if !extra.trim().is_empty() {
                back.push_str("<br><br>");
                back.push_str(extra);
            }
            (n, render(false), back)
        })
        .collect()
}

/// The most deletion numbers one note may hold (each is a card).
pub const MAX_NUMBERS: usize = 50;

/// A cloze note as its cards are made from it: the note's text and extra, both HTML (a note
/// written as plain text is escaped first, [`as_html`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteCard {
    /// Its deletion number.
    pub number: u32,
    /// The front: `[...]` (or the hint) in place of this number's deletions.
    pub front: CardText,
    /// The back: this number's deletions revealed.
    pub back: CardText,
}

/// A note's text or extra as HTML: as written when `format` is HTML, else escaped with its
/// line breaks kept.
pub fn as_html(text: &str, format: Format) -> String {
    if format.is_html() {
        text.to_owned()
    } else {
        super::apkg::text_to_html(text)
    }
}

/// How [`note_cards`]' refusal of a note without a deletion begins.
pub const NO_DELETION: &str = "A cloze note needs at least one deletion";

/// The cards of a cloze note (`text` and `extra` written as `format`), one per deletion
/// number, each checked as a card side is; or a sentence saying what is wrong.
pub fn note_cards(text: &str, extra: &str, format: Format) -> Result<Vec<NoteCard>, String> {
    let (text, extra) = (as_html(text, format), as_html(extra, format));
    let made = cards(&text, &extra);
    if made.is_empty() {
        return Err(format!(
            "{NO_DELETION}, written {{{{c1::answer}}}} or {{{{c1::answer::hint}}}}."
        ));
    }
    if made.len() > MAX_NUMBERS {
        return Err(format!(
            "A cloze note has {} deletion numbers; the limit is {MAX_NUMBERS}.",
            made.len()
        ));
    }
    made.into_iter()
        .map(|(number, front, back)| {
            Ok(NoteCard {
                number,
                front: CardText::parse_as(&front, "front", Format::Html).map_err(|e| e.0)?,
                back: CardText::parse_as(&back, "back", Format::Html).map_err(|e| e.0)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_card_per_number_with_the_others_shown() {
        let cards = cards(
            "{{c1::ReLU}} keeps {{c2::positive::sign}} inputs; {{c1::it}} zeroes the rest",
            "extra",
        );
        assert_eq!(cards.len(), 2);
        assert_eq!(
            cards[0],
            (
                1,
                "<b>[...]</b> keeps positive inputs; <b>[...]</b> zeroes the rest".to_owned(),
                "<b>ReLU</b> keeps positive inputs; <b>it</b> zeroes the rest<br><br>extra"
                    .to_owned()
            )
        );
        assert_eq!(
            cards[1].1,
            "ReLU keeps <b>[sign]</b> inputs; it zeroes the rest"
        );
        assert_eq!(
            cards[1].2,
            "ReLU keeps <b>positive</b> inputs; it zeroes the rest<br><br>extra"
        );
    }

    #[test]
    fn text_that_only_looks_like_a_cloze_is_not_one() {
        assert!(!is_cloze("{{Front}} and {{c::x}} and {{cx::y}}"));
        assert!(!is_cloze("{{c1::unclosed"));
        assert!(is_cloze("a {{c10::b}}"));
        assert_eq!(cards("a {{c10::b}}", "")[0].0, 10);
    }

    #[test]
    fn a_note_in_plain_text_is_escaped_and_numbered() {
        let made = note_cards("{{c2::a<b}} and {{c1::c}}", "", Format::Text).unwrap();
        let numbers: Vec<u32> = made.iter().map(|c| c.number).collect();
        assert_eq!(numbers, [1, 2]);
        assert_eq!(made[1].front.as_str(), "<b>[...]</b> and c");
        assert_eq!(made[1].back.as_str(), "<b>a&lt;b</b> and c");
        assert!(note_cards("no deletion", "", Format::Text).is_err());
        let many: String = (1..=51).map(|n| format!("{{{{c{n}::x}}}} ")).collect();
        assert!(
            note_cards(&many, "", Format::Html)
                .unwrap_err()
                .contains("limit")
        );
    }
}
