//! Writing decks back out, in the formats the importers read, so that exporting a deck and
//! importing the file gives the same cards.

use std::borrow::Cow;
use std::fmt;

/// Characters that make a spreadsheet read a cell as a formula (OWASP's list: `=`, `+`, `-`,
/// `@`, tab and carriage return).
const FORMULA_STARTS: &[char] = &['=', '+', '-', '@', '\t', '\r'];

fn needs_quote(cell: &str) -> bool {
    let mut chars = cell.chars();
    match chars.next() {
        Some(c) if FORMULA_STARTS.contains(&c) => true,
        // An apostrophe that would otherwise be taken for the quote itself on re-import.
        Some('\'') => chars
            .next()
            .is_some_and(|c| c == '\'' || FORMULA_STARTS.contains(&c)),
        _ => false,
    }
}

/// A cell a spreadsheet shows as text: one that would start a formula (`=HYPERLINK(...)`,
/// `+cmd|...`, `@SUM`, `-2+3`) gets a leading apostrophe, as OWASP recommends for CSV
/// injection. [`from_spreadsheet_safe`] undoes it exactly.
pub fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    if needs_quote(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The text of a cell written by [`spreadsheet_safe`] (a leading apostrophe before a formula
/// character or another apostrophe is the quote; any other is the text's own).
pub fn from_spreadsheet_safe(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_quote(rest) || rest.starts_with('\'') => rest,
        _ => cell,
    }
}

/// Why a deck cannot be written in a format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportError(pub String);

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ExportError {}

/// CSV with a `front,back` header, quoted as RFC 4180 requires.
pub fn to_csv<'a>(
    cards: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<String, ExportError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| ExportError(format!("the CSV could not be written: {e}"));
    writer.write_record(["front", "back"]).map_err(fail)?;
    for (front, back) in cards {
        writer
            .write_record([
                spreadsheet_safe(front).as_ref(),
                spreadsheet_safe(back).as_ref(),
            ])
            .map_err(fail)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| ExportError(format!("the CSV could not be written: {e}")))?;
    String::from_utf8(bytes).map_err(|e| ExportError(e.to_string()))
}

/// One `front<TAB>back` line per card. TSV has no quoting, so a card whose text holds a tab
/// or a line break cannot be written faithfully; such a deck is refused (use CSV).
pub fn to_tsv<'a>(
    cards: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<String, ExportError> {
    let mut out = String::new();
    for (i, (front, back)) in cards.into_iter().enumerate() {
        if [front, back].iter().any(|t| t.contains(['\t', '\n', '\r'])) {
            return Err(ExportError(format!(
                "card {} contains a tab or a line break, which TSV cannot hold; export the deck as CSV",
                i + 1
            )));
        }
        out.push_str(&spreadsheet_safe(front));
        out.push('\t');
        out.push_str(&spreadsheet_safe(back));
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{Format, parse};
    use proptest::prelude::*;

    fn round_trip(format: Format, text: &str) -> Vec<(String, String)> {
        parse(format, text)
            .unwrap()
            .cards
            .into_iter()
            .map(|c| (c.front.into_inner(), c.back.into_inner()))
            .collect()
    }

    #[test]
    fn tsv_refuses_text_it_cannot_hold() {
        assert!(to_tsv([("a\tb", "c")]).unwrap_err().0.contains("CSV"));
        assert_eq!(to_tsv([("a", "b")]).unwrap(), "a\tb\n");
    }

    #[test]
    fn formulas_are_neutralised_and_come_back_as_typed() {
        for (cell, safe) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("@SUM(1)", "'@SUM(1)"),
            ("-2+3", "'-2+3"),
            ("\tx", "'\tx"),
            ("'=1", "''=1"),
            ("''", "'''"),
            ("'tis", "'tis"),
            ("plain", "plain"),
            ("a=b", "a=b"),
        ] {
            assert_eq!(spreadsheet_safe(cell), safe);
            assert_eq!(from_spreadsheet_safe(safe), cell);
        }
        let text = to_csv([("=1+1", "@me")]).unwrap();
        assert_eq!(text, "front,back\n'=1+1,'@me\n");
    }

    proptest! {
        #[test]
        fn a_cell_survives_the_spreadsheet_quote(cell in "['=+@-]{0,3}\\PC{0,10}") {
            let safe = spreadsheet_safe(&cell);
            prop_assert!(!safe.starts_with(['=', '+', '-', '@']));
            prop_assert_eq!(from_spreadsheet_safe(&safe), cell.as_str());
        }

        #[test]
        fn csv_export_reimports_to_the_same_cards(
            cards in proptest::collection::vec(("['=+@-]?\\PC*[a-z]\\PC*", "['=+@-]?\\PC*[a-z]\\PC*"), 1..8)
        ) {
            let refs = cards.iter().map(|(f, b)| (f.as_str(), b.as_str()));
            let text = to_csv(refs).unwrap();
            prop_assert_eq!(round_trip(Format::Csv, &text), cards);
        }

        #[test]
        fn tsv_export_reimports_to_the_same_cards(
            cards in proptest::collection::vec(("['=+@-]?[a-z][a-z ,\"']{0,20}", "['=+@-]?[a-z][a-z ,\"']{0,20}"), 1..8)
        ) {
            let refs = cards.iter().map(|(f, b)| (f.as_str(), b.as_str()));
            let text = to_tsv(refs).unwrap();
            prop_assert_eq!(round_trip(Format::Tsv, &text), cards);
        }
    }
}
