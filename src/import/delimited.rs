//! Delimited exports: TSV (one `term<TAB>definition` a line, Quizlet's default) and CSV
//! (RFC 4180, a `front,back` header or else the first two columns; the `csv` crate does the
//! quoting).

use super::export::from_spreadsheet_safe;
use super::{ImportError, ParsedDeck, card, cloze::is_cloze, cloze_cards};

pub(super) fn parse_tsv(text: &str) -> Result<ParsedDeck, ImportError> {
    let mut cards = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        if !line.contains('\t') && is_cloze(line) {
            // A line of its own with cloze deletions is a cloze note: one card per number.
            cards.extend(cloze_cards(from_spreadsheet_safe(line), "", line_no)?);
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
    Ok(ParsedDeck {
        media: Vec::new(),
        kept: Vec::new(),
        stored_media: Vec::new(),
        title: None,
        cards,
        notes: Vec::new(),
    })
}

/// The preview's note for a CSV file read without a header, so that a first row of column
/// names (say `term,definition`) shows up as the card it became rather than passing unseen.
pub const NO_HEADER_NOTE: &str = "No front,back header: the first two columns are used.";

/// The columns a CSV header may name.
const COLUMNS: &[&str] = &["front", "back", "cloze", "extra"];

/// Where each known column is in a header row that names a `cloze` column (with `extra`,
/// and `front` and `back` for the rows that are basic cards): `None` when it is no such
/// header.
fn cloze_header(names: &[String]) -> Option<[Option<usize>; 4]> {
    if !names.iter().any(|n| n == "cloze") || !names.iter().all(|n| COLUMNS.contains(&n.as_str())) {
        return None;
    }
    let mut at = [None; 4];
    for (i, column) in COLUMNS.iter().enumerate() {
        at[i] = names.iter().position(|n| n == column);
    }
    Some(at)
}

/// Reads a CSV file. With a `front,back` first row, every later row must have exactly those
/// two fields (a third is most often an unquoted comma). With a header naming a `cloze`
/// column (any of `front`, `back`, `cloze`, `extra`, in any order), a row whose cloze cell
/// holds deletions is a cloze note (its `extra` shown on the back), any other a basic card
/// from its front and back. Without a header, the first row is a card too and each row
/// gives its first two columns (spreadsheet exports often carry more, such as tags); the
/// deck's notes say so.
pub(super) fn parse_csv(text: &str) -> Result<ParsedDeck, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut header: Option<bool> = None;
    let mut columns: Option<[Option<usize>; 4]> = None;
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
        let with_header = match header {
            Some(with_header) => with_header,
            None => {
                let names: Vec<String> = record.iter().map(|h| h.trim().to_lowercase()).collect();
                if let Some(at) = cloze_header(&names) {
                    columns = Some(at);
                    header = Some(true);
                    continue;
                }
                let is_header = names.len() >= 2 && names[0] == "front" && names[1] == "back";
                if is_header && names.len() != 2 {
                    return Err(ImportError::at(
                        line,
                        format!(
                            "the header must be exactly \"front,back\" (or name a cloze column: front, back, cloze, extra), found \"{}\"",
                            record.iter().collect::<Vec<_>>().join(",")
                        ),
                    ));
                }
                header = Some(is_header);
                if is_header {
                    continue;
                }
                false
            }
        };
        if let Some([front_at, back_at, cloze_at, extra_at]) = columns {
            let cell = |at: Option<usize>| at.and_then(|i| record.get(i)).unwrap_or("");
            let cloze = from_spreadsheet_safe(cell(cloze_at));
            if !cloze.trim().is_empty() {
                cards.extend(cloze_cards(
                    cloze,
                    from_spreadsheet_safe(cell(extra_at)),
                    line,
                )?);
            } else if front_at.is_some() && back_at.is_some() {
                cards.push(card(
                    from_spreadsheet_safe(cell(front_at)),
                    from_spreadsheet_safe(cell(back_at)),
                    line,
                )?);
            } else {
                return Err(ImportError::at(line, "the cloze column is empty"));
            }
            continue;
        }
        if with_header && record.len() != 2 {
            return Err(ImportError::at(
                line,
                format!(
                    "expected 2 fields (front,back), found {}; quote fields that contain commas",
                    record.len()
                ),
            ));
        }
        if record.len() < 2 {
            return Err(ImportError::at(
                line,
                "expected at least 2 fields (the front, then the back), found 1",
            ));
        }
        cards.push(card(
            from_spreadsheet_safe(&record[0]),
            from_spreadsheet_safe(&record[1]),
            line,
        )?);
    }
    let notes = if header == Some(false) {
        vec![NO_HEADER_NOTE.to_owned()]
    } else {
        Vec::new()
    };
    Ok(ParsedDeck {
        media: Vec::new(),
        kept: Vec::new(),
        stored_media: Vec::new(),
        title: None,
        cards,
        notes,
    })
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
    fn csv_with_a_header_needs_two_fields_a_row() {
        let err = parse_csv("front,back\na,b\nc,d,e\n").unwrap_err();
        assert_eq!(err.line, Some(3));
        let err = parse_csv("front,back\n,b\n").unwrap_err();
        assert!(err.message.contains("front"));
        let err = parse_csv("front,back,tags\na,b,c\n").unwrap_err();
        assert_eq!(err.line, Some(1));
        let deck = parse_csv(" Front , BACK \na,b\n").unwrap();
        assert_eq!(deck.cards.len(), 1);
        assert!(deck.notes.is_empty());
    }

    #[test]
    fn csv_without_a_header_reads_every_row_from_its_first_two_columns() {
        let deck = parse_csv("term,definition\na,b,tag1\n\"c, d\",e\n").unwrap();
        let sides: Vec<(&str, &str)> = deck
            .cards
            .iter()
            .map(|c| (c.front.as_str(), c.back.as_str()))
            .collect();
        assert_eq!(sides, [("term", "definition"), ("a", "b"), ("c, d", "e")]);
        assert_eq!(deck.cards[0].line, 1);
        assert_eq!(deck.notes, [NO_HEADER_NOTE]);
    }

    #[test]
    fn cloze_columns_make_one_card_per_number() {
        let deck = parse_csv(
            "cloze,extra,front,back\n\"{{c1::ReLU}} keeps {{c2::positive}} inputs\",see ch. 6,,\n,,a,b\n",
        )
        .unwrap();
        assert_eq!(deck.cards.len(), 3);
        let first = &deck.cards[0];
        assert_eq!(first.front.as_str(), "<b>[...]</b> keeps positive inputs");
        assert_eq!(
            first.back.as_str(),
            "<b>ReLU</b> keeps positive inputs<br><br>see ch. 6"
        );
        let origin = first.cloze.as_ref().unwrap();
        assert_eq!((origin.number, origin.extra.as_str()), (1, "see ch. 6"));
        assert_eq!(deck.cards[1].cloze.as_ref().unwrap().number, 2);
        assert!(deck.cards[2].cloze.is_none());
        assert_eq!(deck.cards[2].front.as_str(), "a");
        let err = parse_csv("cloze\nno deletion here\n").unwrap_err();
        assert_eq!(err.line, Some(2));
        let deck = parse_tsv("a\tb\n{{c1::x}} and {{c2::y}}\n").unwrap();
        assert_eq!(deck.cards.len(), 3);
        assert_eq!(deck.cards[2].front.as_str(), "x and <b>[...]</b>");
    }

    #[test]
    fn csv_without_a_header_still_needs_a_back_on_each_row() {
        let err = parse_csv("a,b\nlonely\n").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("at least 2 fields"));
    }
}
