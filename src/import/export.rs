//! Writing decks back out, in the formats the importers read, so that exporting a deck and
//! importing the file gives the same cards.

use std::fmt;

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
        writer.write_record([front, back]).map_err(fail)?;
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
        out.push_str(front);
        out.push('\t');
        out.push_str(back);
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

    proptest! {
        #[test]
        fn csv_export_reimports_to_the_same_cards(
            cards in proptest::collection::vec(("\\PC*[a-z]\\PC*", "\\PC*[a-z]\\PC*"), 1..8)
        ) {
            let refs = cards.iter().map(|(f, b)| (f.as_str(), b.as_str()));
            let text = to_csv(refs).unwrap();
            prop_assert_eq!(round_trip(Format::Csv, &text), cards);
        }

        #[test]
        fn tsv_export_reimports_to_the_same_cards(
            cards in proptest::collection::vec(("[a-z][a-z ,\"']{0,20}", "[a-z][a-z ,\"']{0,20}"), 1..8)
        ) {
            let refs = cards.iter().map(|(f, b)| (f.as_str(), b.as_str()));
            let text = to_tsv(refs).unwrap();
            prop_assert_eq!(round_trip(Format::Tsv, &text), cards);
        }
    }
}
