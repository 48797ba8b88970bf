//! Anki packages (`.apkg`): converting field HTML to and from card text, resolving a note's
//! media and turning notes (Basic, Cloze) into cards. The container itself (the zip, the
//! zstd-compressed modern layout, the protobuf and JSON media indexes, packing) is in
//! `import::package`, re-exported here; reading and writing the collection is in `db::anki`.

use super::{ImportError, MediaFile};
use crate::domain::{CardText, Invalid};
use crate::markup::Format;
use std::collections::HashMap;

pub use super::package::{
    MAX_COLLECTION_BYTES, PackageMedia, collection, collection_from, is_zip, media, media_from,
    package, package_with_media,
};

/// A formatted side as Anki stores it: each of our media addresses becomes the file name
/// `name_of(hash)` gives it (an audio player Anki's `[sound:...]`).
pub fn media_to_anki(html: &str, name_of: impl Fn(&str) -> Option<String>) -> String {
    let mut out = html.to_owned();
    for hash in crate::media::referenced(html) {
        let Some(name) = name_of(&hash) else {
            continue;
        };
        let address = format!("/media/{hash}");
        for player in [
            format!(r#"<audio controls="" src="{address}"></audio>"#),
            format!(r#"<audio controls src="{address}"></audio>"#),
        ] {
            out = out.replace(&player, &format!("[sound:{name}]"));
        }
        out = out.replace(&address, &name);
    }
    out
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

/// Whether an Anki field is plain text in HTML's clothes: no element but line breaks and
/// blocks (`br`, `div`, `p`, a bare `span`). Such a note is stored as text, as before
/// formatting existed, so importing it again finds the cards it made then.
fn is_plain(html: &str) -> bool {
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let Some(end) = rest[start..].find('>') else {
            return true;
        };
        let tag = rest[start + 1..start + end].trim().to_ascii_lowercase();
        let name = tag
            .trim_start_matches('/')
            .split([' ', '/'])
            .next()
            .unwrap_or("");
        if !matches!(name, "br" | "div" | "p" | "span") {
            return false;
        }
        rest = &rest[start + end + 1..];
    }
    true
}

/// The value of attribute `name` in the inside of a tag (`img src="x.png" alt=y`).
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        let before_ok = at == 0 || lower.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value_at = tag.len() - rest.len() + 1;
        let value = tag[value_at..].trim_start();
        return Some(match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or(""),
            _ => value
                .split(|c: char| c.is_whitespace())
                .next()
                .unwrap_or(""),
        });
    }
    None
}

/// A package's media files by their names in it.
pub type MediaByName<'a> = HashMap<&'a str, &'a MediaFile>;

/// The media file a field's reference names: as written, with entities decoded, or with
/// `%XX` escapes decoded (Anki writes each of these).
fn lookup<'a>(media: &MediaByName<'a>, name: &str) -> Option<&'a MediaFile> {
    if let Some(found) = media.get(name) {
        return Some(found);
    }
    let decoded = decode_entities(name);
    if let Some(found) = media.get(decoded.as_str()) {
        return Some(found);
    }
    let bytes = decoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    media.get(String::from_utf8_lossy(&out).as_ref()).copied()
}

/// An Anki field with its media resolved: each `<img>` whose file the package carries
/// becomes an image of ours (`/media/{hash}`, with Anki's alt text or else the file name),
/// each `[sound:…]` a native audio player; a file the package lacks (or that was refused) is
/// named in the text, `[image: diagram.png]`, rather than lost.
pub fn with_media(html: &str, media: &MediaByName<'_>) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    loop {
        let lower = rest.to_ascii_lowercase();
        let img = lower.find("<img");
        let sound = rest.find("[sound:");
        let at = match (img, sound) {
            (None, None) => break,
            (Some(i), Some(s)) => i.min(s),
            (Some(i), None) => i,
            (None, Some(s)) => s,
        };
        out.push_str(&rest[..at]);
        if Some(at) == sound {
            let Some(end) = rest[at..].find(']') else {
                out.push_str(&rest[at..]);
                rest = "";
                break;
            };
            let name = &rest[at + "[sound:".len()..at + end];
            match lookup(media, name).filter(|m| !m.checked.kind.is_image()) {
                Some(file) => {
                    out.push_str(&format!(
                        r#"<audio controls src="/media/{}"></audio>"#,
                        file.checked.hash
                    ));
                }
                None => {
                    out.push_str("[sound: ");
                    out.push_str(&html_escape::encode_text(&decode_entities(name)));
                    out.push(']');
                }
            }
            rest = &rest[at + end + 1..];
            continue;
        }
        let Some(end) = rest[at..].find('>') else {
            out.push_str(&rest[at..]);
            rest = "";
            break;
        };
        let tag = &rest[at + 1..at + end];
        let src = attribute(tag, "src").unwrap_or("");
        let alt = attribute(tag, "alt")
            .filter(|a| !a.trim().is_empty())
            .map(decode_entities)
            .unwrap_or_else(|| decode_entities(src));
        match lookup(media, src).filter(|m| m.checked.kind.is_image()) {
            Some(file) => out.push_str(&format!(
                r#"<img src="/media/{}" alt="{}">"#,
                file.checked.hash,
                html_escape::encode_double_quoted_attribute(&alt)
            )),
            None => {
                out.push_str("[image: ");
                out.push_str(&html_escape::encode_text(&alt));
                out.push(']');
            }
        }
        rest = &rest[at + end + 1..];
    }
    out.push_str(rest);
    out
}

/// One note's card: text when both fields are plain ([`is_plain`]), else sanitised HTML.
pub fn note_card(front: &str, back: &str) -> Result<(CardText, CardText, Format), Invalid> {
    note_card_with(front, back, &HashMap::new())
}

/// [`note_card`] with the package's media resolved ([`with_media`]).
pub fn note_card_with(
    front: &str,
    back: &str,
    media: &MediaByName<'_>,
) -> Result<(CardText, CardText, Format), Invalid> {
    let sound = |f: &str| f.contains("[sound:");
    if is_plain(front) && is_plain(back) && !sound(front) && !sound(back) {
        return Ok((
            CardText::parse(&html_to_text(front), "front")?,
            CardText::parse(&html_to_text(back), "back")?,
            Format::Text,
        ));
    }
    Ok((
        CardText::parse_as(&with_media(front, media), "front", Format::Html)?,
        CardText::parse_as(&with_media(back, media), "back", Format::Html)?,
        Format::Html,
    ))
}

/// Cards from an Anki collection's notes (the fields of each, in order): the first field is
/// the front, the second the back. `line` numbers the note, for messages.
pub fn deck_from_notes(notes: Vec<Vec<String>>) -> Result<super::ParsedDeck, ImportError> {
    deck_from_package(notes, PackageMedia::default())
}

/// [`deck_from_notes`] with the package's media: the files the cards use are kept in the
/// deck (the others dropped), and the files refused are named in the notes.
pub fn deck_from_package(
    notes: Vec<Vec<String>>,
    package_media: PackageMedia,
) -> Result<super::ParsedDeck, ImportError> {
    let by_name: MediaByName<'_> = package_media
        .files
        .iter()
        .map(|f| (f.name.as_str(), f))
        .collect();
    let mut cards = Vec::with_capacity(notes.len());
    let (mut cloze_notes, mut cloze_cards) = (0, 0);
    for (i, fields) in notes.into_iter().enumerate() {
        let number = i + 1;
        if let Some(text) = fields.first().filter(|f| super::cloze::is_cloze(f)) {
            // A Cloze note: one card per deletion number, each with its own schedule. The
            // note is kept (media resolved, through the allow-list) so that it can be edited.
            let text = crate::markup::clean(&with_media(text, &by_name));
            let extra = crate::markup::clean(&with_media(
                fields.get(1).map_or("", String::as_str),
                &by_name,
            ));
            cloze_notes += 1;
            let made =
                super::cloze::note_cards(&text, &extra, Format::Html).map_err(|e| ImportError {
                    line: None,
                    message: format!("note {number}: {e}"),
                })?;
            for c in made {
                cards.push(super::ParsedCard {
                    front: c.front,
                    back: c.back,
                    line: number,
                    format: Format::Html,
                    cloze: Some(super::ClozeOrigin {
                        number: c.number,
                        text: text.clone(),
                        extra: extra.clone(),
                        format: Format::Html,
                    }),
                });
                cloze_cards += 1;
            }
            continue;
        }
        let [front, back, ..] = fields.as_slice() else {
            return Err(ImportError {
                line: None,
                message: format!(
                    "note {number} has fewer than two fields; only basic notes (front, back) are imported"
                ),
            });
        };
        let (front, back, format) =
            note_card_with(front, back, &by_name).map_err(|e| ImportError {
                line: None,
                message: format!("note {number}: {}", e.0),
            })?;
        cards.push(super::ParsedCard {
            front,
            back,
            line: number,
            format,
            cloze: None,
        });
    }
    let used: std::collections::HashSet<String> = cards
        .iter()
        .filter(|c| c.format.is_html())
        .flat_map(|c| {
            let mut r = crate::media::referenced(c.front.as_str());
            r.extend(crate::media::referenced(c.back.as_str()));
            r
        })
        .collect();
    let mut notes = Vec::new();
    if cloze_notes > 0 {
        notes.push(format!(
            "{cloze_notes} cloze {} became {cloze_cards} cards, one per deletion number, each with its own schedule.",
            if cloze_notes == 1 { "note" } else { "notes" }
        ));
    }
    if !package_media.refused.is_empty() {
        let listed: Vec<String> = package_media
            .refused
            .iter()
            .take(20)
            .map(|(name, why)| format!("{name} ({why})"))
            .collect();
        notes.push(format!(
            "{} media {} not kept, and the cards name {} in its place: {}{}.",
            package_media.refused.len(),
            if package_media.refused.len() == 1 {
                "file was"
            } else {
                "files were"
            },
            if package_media.refused.len() == 1 {
                "it"
            } else {
                "each"
            },
            listed.join(", "),
            if package_media.refused.len() > 20 {
                ", …"
            } else {
                ""
            }
        ));
    }
    let mut media: Vec<MediaFile> = Vec::new();
    let mut unshown: Vec<String> = Vec::new();
    for file in package_media.files {
        if !used.contains(&file.checked.hash) {
            unshown.push(file.name);
        } else if !media.iter().any(|m| m.checked.hash == file.checked.hash) {
            media.push(file);
        }
    }
    if !unshown.is_empty() {
        // Anki packages often carry files no note names any more (or names only from a
        // template's styling): kept out of the site, but named so that nothing goes unseen.
        unshown.sort();
        notes.push(format!(
            "{} media {} not shown on any card, so not kept: {}{}.",
            unshown.len(),
            if unshown.len() == 1 {
                "file is"
            } else {
                "files are"
            },
            unshown
                .iter()
                .take(20)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            if unshown.len() > 20 { ", …" } else { "" }
        ));
    }
    if !media.is_empty() {
        let images = media.iter().filter(|m| m.checked.kind.is_image()).count();
        notes.push(format!(
            "{images} {} and {} {} come with the cards.",
            if images == 1 { "image" } else { "images" },
            media.len() - images,
            if media.len() - images == 1 {
                "sound"
            } else {
                "sounds"
            },
        ));
    }
    Ok(super::ParsedDeck {
        title: None,
        cards,
        notes,
        media,
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
        // Bold makes the note formatted: kept as sanitised HTML.
        assert_eq!(deck.cards[0].front.as_str(), "<b>F</b>");
        assert_eq!(deck.cards[0].back.as_str(), "B<br>2");
        assert_eq!(deck.cards[0].format, Format::Html);
        // Line breaks alone are plain text, as before formatting existed.
        let deck = deck_from_notes(vec![vec!["<div>F</div>".into(), "B<br>2".into()]]).unwrap();
        assert_eq!(deck.cards[0].front.as_str(), "F");
        assert_eq!(deck.cards[0].back.as_str(), "B\n2");
        assert_eq!(deck.cards[0].format, Format::Text);
        let err = deck_from_notes(vec![vec!["a".into(), "b".into()], vec!["only one".into()]])
            .unwrap_err();
        assert!(err.message.contains("note 2"));
        let err = deck_from_notes(vec![vec!["<div><br></div>".into(), "b".into()]]).unwrap_err();
        assert!(err.message.contains("note 1") && err.message.contains("empty"));
        // Formatting makes an HTML card; an image-only side is not empty.
        let deck = deck_from_notes(vec![vec![
            "<b>Key</b> <script>alert(1)</script>".into(),
            r#"<img src="diagram.png" onerror="alert(1)">"#.into(),
        ]])
        .unwrap();
        let card = &deck.cards[0];
        assert_eq!(card.format, Format::Html);
        assert_eq!(card.front.as_str(), "<b>Key</b> ");
        assert_eq!(card.back.as_str(), "[image: diagram.png]");
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
