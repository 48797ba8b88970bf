//! Delimited exports: TSV (one `term<TAB>definition` a line, Quizlet's default) and CSV
//! (RFC 4180, `front,back` header; the `csv` crate does the quoting).

use super::export::from_spreadsheet_safe;
use super::{ImportError, ParsedDeck, card};

pub(super) fn parse_tsv(text: &str) -> Result<ParsedDeck, ImportError> {
    let mut cards = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.split('\t');
        let (Some(front), Some(back), None) = (fields.next(), fields.next(), fields.next()) else {
            let tabs = line.matches('\t').count();
            return Err(ImportError::at(
                line_no,
                format!("expected a term and a definition separated by one tab, found {tabs} tabs"),
            ));
        };
        // Exports quote formula-like cells for spreadsheets; the quote is not the text.
        cards.push(card(
            from_spreadsheet_safe(front),
            from_spreadsheet_safe(back),
            line_no,
        )?);
    }
    Ok(ParsedDeck { title: None, cards })
}

pub(super) fn parse_csv(text: &str) -> Result<ParsedDeck, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ImportError::at(1, format!("unreadable header: {e}")))?;
    let names: Vec<String> = headers.iter().map(|h| h.trim().to_lowercase()).collect();
    if names != ["front", "back"] {
        return Err(ImportError::at(
            1,
            format!(
                "the header must be exactly \"front,back\", found \"{}\"",
                headers.iter().collect::<Vec<_>>().join(",")
            ),
        ));
    }
    let mut cards = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            ImportError::at(line, format!("unreadable CSV: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim().is_empty()) {
            continue;
        }
        if record.len() != 2 {
            return Err(ImportError::at(
                line,
                format!(
                    "expected 2 fields (front,back), found {}; quote fields that contain commas",
                    record.len()
                ),
            ));
        }
        cards.push(card(
            from_spreadsheet_safe(&record[0]),
            from_spreadsheet_safe(&record[1]),
            line,
        )?);
    }
    Ok(ParsedDeck { title: None, cards })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_reads_one_card_a_line() {
        let deck = parse_tsv("a\tb\n\nc\td e\r\n").unwrap();
        assert_eq!(deck.cards.len(), 2);
        assert_eq!(deck.cards[1].back.as_str(), "d e");
        assert_eq!(deck.cards[1].line, 3);
    }

    #[test]
    fn tsv_refuses_a_line_without_exactly_one_tab() {
        let err = parse_tsv("a\tb\nno tab here\n").unwrap_err();
        assert_eq!(err.line, Some(2));
        let err = parse_tsv("a\tb\tc\n").unwrap_err();
        assert!(err.message.contains("2 tabs"));
    }

    #[test]
    fn csv_handles_rfc4180_quoting() {
        let text = "front,back\n\"a, b\",\"say \"\"hi\"\"\"\n\"multi\nline\",x\nplain,y\n";
        let deck = parse_csv(text).unwrap();
        assert_eq!(deck.cards.len(), 3);
        assert_eq!(deck.cards[0].front.as_str(), "a, b");
        assert_eq!(deck.cards[0].back.as_str(), "say \"hi\"");
        assert_eq!(deck.cards[1].front.as_str(), "multi\nline");
        assert_eq!(deck.cards[2].line, 5);
    }

    #[test]
    fn csv_needs_its_header_and_two_fields() {
        assert_eq!(
            parse_csv("term,definition\na,b\n").unwrap_err().line,
            Some(1)
        );
        let err = parse_csv("front,back\na,b\nc,d,e\n").unwrap_err();
        assert_eq!(err.line, Some(3));
        let err = parse_csv("front,back\n,b\n").unwrap_err();
        assert!(err.message.contains("front"));
    }
}
