//! Anki packages (`.apkg`): a zip holding a SQLite collection (`collection.anki21` or the
//! legacy `collection.anki2`) and a `media` index. This module does the parts that need no
//! database: unpacking and packing the zip, and converting field HTML to and from card text.
//! Reading and writing the collection itself is in `db::anki`.

use super::ImportError;
use std::io::{Cursor, Read, Write};

/// The collection file names, preferred first (Anki 2.1 writes both in "compatible" exports).
const COLLECTIONS: &[&str] = &["collection.anki21", "collection.anki2"];

/// The largest collection unpacked from a package. A 2 MiB upload can claim gigabytes (a zip
/// bomb once peaked at 2.1 GB of memory): the size is checked while reading, never trusted.
pub const MAX_COLLECTION_BYTES: u64 = 32 * 1024 * 1024;

/// Whether `bytes` look like a zip file.
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// The collection database inside an `.apkg`.
pub fn collection(bytes: &[u8]) -> Result<Vec<u8>, ImportError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ImportError::whole(format!("the file is not a readable Anki package: {e}")))?;
    for name in COLLECTIONS {
        if let Ok(file) = archive.by_name(name) {
            let too_large = || {
                ImportError::whole(format!(
                    "the package's collection is larger than {} MiB unpacked",
                    MAX_COLLECTION_BYTES / 1024 / 1024
                ))
            };
            if file.size() > MAX_COLLECTION_BYTES {
                return Err(too_large());
            }
            let mut out = Vec::new();
            file.take(MAX_COLLECTION_BYTES + 1)
                .read_to_end(&mut out)
                .map_err(|e| ImportError::whole(format!("{name} could not be read: {e}")))?;
            if out.len() as u64 > MAX_COLLECTION_BYTES {
                return Err(too_large());
            }
            return Ok(out);
        }
    }
    if archive.by_name("collection.anki21b").is_ok() {
        return Err(ImportError::whole(
            "this package uses Anki's newest format only; export it from Anki with \"Support older Anki versions\" ticked",
        ));
    }
    Err(ImportError::whole("the package holds no Anki collection"))
}

/// An `.apkg` holding `collection` as `collection.anki2`, with no media.
pub fn package(collection: &[u8]) -> Result<Vec<u8>, std::io::Error> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    writer
        .start_file("collection.anki2", options)
        .map_err(std::io::Error::other)?;
    writer.write_all(collection)?;
    writer
        .start_file("media", options)
        .map_err(std::io::Error::other)?;
    writer.write_all(b"{}")?;
    Ok(writer.finish().map_err(std::io::Error::other)?.into_inner())
}

/// Card text from an Anki field: line breaks for `<br>` and block ends, other tags dropped,
/// the usual entities decoded, surrounding space trimmed.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let tag = rest[start + 1..start + end].trim().to_ascii_lowercase();
        let name = tag
            .trim_start_matches('/')
            .split([' ', '/'])
            .next()
            .unwrap_or("");
        if name == "br" || (tag.starts_with('/') && matches!(name, "div" | "p" | "li")) {
            out.push('\n');
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    decode_entities(&out).trim().to_owned()
}

/// Every HTML5 named and numeric entity, by the `html-escape` crate (Anki fields use them
/// freely: `&middot;`, `&gamma;`...).
fn decode_entities(s: &str) -> String {
    // Anki editors put &nbsp; where a plain space was meant; a typed no-break space stays.
    html_escape::decode_html_entities(&s.replace("&nbsp;", " ")).into_owned()
}

/// An Anki field from card text: HTML-escaped, line breaks as `<br>`.
pub fn text_to_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Cards from an Anki collection's notes (the fields of each, in order): the first field is
/// the front, the second the back. `line` numbers the note, for messages.
pub fn deck_from_notes(notes: Vec<Vec<String>>) -> Result<super::ParsedDeck, ImportError> {
    let mut cards = Vec::with_capacity(notes.len());
    for (i, fields) in notes.into_iter().enumerate() {
        let number = i + 1;
        let [front, back, ..] = fields.as_slice() else {
            return Err(ImportError {
                line: None,
                message: format!(
                    "note {number} has fewer than two fields; only basic notes (front, back) are imported"
                ),
            });
        };
        let card = super::card(&html_to_text(front), &html_to_text(back), number).map_err(|e| {
            ImportError {
                line: None,
                message: format!("note {number}: {}", e.message),
            }
        })?;
        cards.push(card);
    }
    Ok(super::ParsedDeck {
        title: None,
        cards,
        notes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn anki_html_becomes_plain_card_text() {
        assert_eq!(
            html_to_text("Capital of <b>France</b>"),
            "Capital of France"
        );
        assert_eq!(
            html_to_text("Paris &amp; more<br>line"),
            "Paris & more\nline"
        );
        assert_eq!(html_to_text("<div>a</div><div>b</div>"), "a\nb");
        assert_eq!(
            html_to_text("x &lt; y &#x41;&#66; &unknown; 1 & 2"),
            "x < y AB &unknown; 1 & 2"
        );
        assert_eq!(
            html_to_text("K&middot;K &minus; &gamma;&nbsp;ok"),
            "K·K − γ ok"
        );
        assert_eq!(html_to_text("broken <tag"), "broken <tag");
    }

    #[test]
    fn notes_become_cards_and_odd_notes_are_named() {
        let deck = deck_from_notes(vec![vec![
            "<b>F</b>".into(),
            "B<br>2".into(),
            "extra".into(),
        ]])
        .unwrap();
        assert_eq!(deck.cards[0].front.as_str(), "F");
        assert_eq!(deck.cards[0].back.as_str(), "B\n2");
        let err = deck_from_notes(vec![vec!["a".into(), "b".into()], vec!["only one".into()]])
            .unwrap_err();
        assert!(err.message.contains("note 2"));
        let err = deck_from_notes(vec![vec!["<img src=x>".into(), "b".into()]]).unwrap_err();
        assert!(err.message.contains("note 1") && err.message.contains("empty"));
    }

    #[test]
    fn packages_round_trip_and_odd_files_are_refused() {
        let apkg = package(b"sqlite bytes").unwrap();
        assert!(is_zip(&apkg));
        assert_eq!(collection(&apkg).unwrap(), b"sqlite bytes");
        assert!(collection(b"not a zip").is_err());
    }

    #[test]
    fn a_zip_bomb_is_refused_while_reading() {
        // 40 MiB of zeros compresses to a few dozen KiB.
        let zeros = vec![0u8; (MAX_COLLECTION_BYTES + 8 * 1024 * 1024) as usize];
        let apkg = package(&zeros).unwrap();
        assert!(apkg.len() < 1024 * 1024);
        let err = collection(&apkg).unwrap_err();
        assert!(err.message.contains("larger than 32 MiB"), "{err}");
    }

    proptest! {
        #[test]
        fn text_survives_the_trip_through_anki_html(text in "[^\\r]{0,80}") {
            prop_assert_eq!(html_to_text(&text_to_html(&text)), text.trim());
        }

        #[test]
        fn no_field_makes_the_converter_panic(html in "\\PC{0,120}") {
            let _ = html_to_text(&html);
        }
    }
}
