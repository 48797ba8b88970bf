//! Anki packages (`.apkg`): converting field HTML to and from card text, resolving a note's
//! media and turning notes (Basic, Cloze) into cards. The container itself (the zip, the
//! zstd-compressed modern layout, the protobuf and JSON media indexes, packing) is in
//! `import::package`, re-exported here; reading and writing the collection is in `db::anki`.

use super::{ImportError, MediaFile};
use crate::domain::{CardText, Invalid};
use crate::markup::Format;
use std::collections::HashMap;

pub use super::package::{
    MAX_COLLECTION_BYTES, PackageMedia, PackageWriter, collection, collection_from, is_zip, media,
    media_from, package, package_with_media,
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

/// A formatted side as Anki stores it with the deck's kept files (`kept`, names in the
/// package) named again: the placeholder an import left for a file cards may not show,
/// `[sound: clip.webm]` or `[image: scan.tiff]`, becomes Anki's reference to it, so that the
/// file (exported with the deck) shows in Anki again. Importing the export leaves the same
/// placeholder, so the same card.
pub fn kept_to_anki(html: &str, kept: &[String]) -> String {
    let mut out = html.to_owned();
    for name in kept {
        let shown = html_escape::encode_text(name);
        let src = html_escape::encode_double_quoted_attribute(name);
        out = out.replace(&format!("[sound: {shown}]"), &format!("[sound:{shown}]"));
        out = out.replace(
            &format!("[image: {shown}]"),
            &format!(r#"<img src="{src}">"#),
        );
        // With its alt text: `[image: scan.tiff; alt: A scan]`.
        let open = format!("[image: {shown}{ALT_MARK}");
        let mut with_alt = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(at) = rest.find(&open) {
            let after = &rest[at + open.len()..];
            let Some(end) = after.find(']') else {
                break;
            };
            let alt = decode_entities(&after[..end]);
            with_alt.push_str(&rest[..at]);
            with_alt.push_str(&format!(
                r#"<img src="{src}" alt="{}">"#,
                html_escape::encode_double_quoted_attribute(&alt)
            ));
            rest = &after[end + 1..];
        }
        with_alt.push_str(rest);
        out = with_alt;
    }
    out
}

/// What separates a placeholder's file name from its alt text: `[image: scan.tiff; alt: A scan]`.
const ALT_MARK: &str = "; alt: ";

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

/// Where `pattern` next occurs in `hay` from `base` on, relative to `base`; `cache` keeps the
/// absolute place found last (`usize::MAX`: none left), searched again only once passed.
fn next_at(cache: &mut Option<usize>, hay: &str, base: usize, pattern: &str) -> Option<usize> {
    if cache.is_none_or(|p| p != usize::MAX && p < base) {
        *cache = Some(hay[base..].find(pattern).map_or(usize::MAX, |i| base + i));
    }
    cache.filter(|p| *p != usize::MAX).map(|p| p - base)
}

/// An Anki field with its media resolved: each `<img>` whose file the package carries
/// becomes an image of ours (`/media/{hash}`, with Anki's alt text or else the file name),
/// each `[sound:…]` a native audio player; a file the package lacks (or that was refused) is
/// named in the text, `[image: diagram.png]`, rather than lost.
pub fn with_media(html: &str, media: &MediaByName<'_>) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    // Lowercased once (ASCII only, so at the same offsets), and each kind's next place found
    // again only once it is passed: not a copy and a search of the rest for every tag.
    let lower = html.to_ascii_lowercase();
    let (mut next_img, mut next_sound) = (None, None);
    loop {
        let base = html.len() - rest.len();
        let img = next_at(&mut next_img, &lower, base, "<img");
        let sound = next_at(&mut next_sound, html, base, "[sound:");
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
            // Trimmed: our own placeholder, `[sound: name]`, reads back as it was written.
            let name = rest[at + "[sound:".len()..at + end].trim();
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
        let given = attribute(tag, "alt")
            .filter(|a| !a.trim().is_empty())
            .map(decode_entities);
        let name = decode_entities(src);
        match lookup(media, src).filter(|m| m.checked.kind.is_image()) {
            Some(file) => out.push_str(&format!(
                r#"<img src="/media/{}" alt="{}">"#,
                file.checked.hash,
                html_escape::encode_double_quoted_attribute(given.as_deref().unwrap_or(&name))
            )),
            None => {
                // The file's name always (so that an export names the file again), then
                // any alt text, without the `]` that would end the placeholder early.
                out.push_str("[image: ");
                out.push_str(&html_escape::encode_text(&name));
                if let Some(alt) = given.filter(|a| *a != name) {
                    out.push_str(ALT_MARK);
                    out.push_str(&html_escape::encode_text(&alt.replace(']', ")")));
                }
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

/// A note type as an Anki collection defines it: what the importer needs to map its notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteType {
    /// Its id (`notes.mid`).
    pub id: i64,
    /// Its name, as the collection spells it.
    pub name: String,
    /// Whether it is a cloze type (Anki's `type` 1, or kind CLOZE).
    pub cloze: bool,
    /// Its fields' names, in order.
    pub fields: Vec<String>,
    /// Each template's front (`qfmt`), in order.
    pub fronts: Vec<String>,
}

/// One note of a package: its type's id (None when the collection does not say) and fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageNote {
    /// `notes.mid`.
    pub type_id: Option<i64>,
    /// Its fields, in order, as Anki HTML.
    pub fields: Vec<String>,
}

/// How a note type's notes become cards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mapping {
    /// Two fields, one template showing the first: one card, first field on the front.
    Basic,
    /// Two templates, each showing one field (Anki's "Basic (and reversed card)"): two cards,
    /// `front` to `back` and `back` to `front`. With `only_if` (Anki's "Basic (optional
    /// reversed card)"), the reverse card only when that field is not empty.
    Reversed {
        front: usize,
        back: usize,
        only_if: Option<usize>,
    },
    /// One card per deletion number of field `text`; the other fields are the back's extra.
    Cloze { text: usize },
    /// Anything else: the first field on the front, the rest on the back.
    Other,
}

/// The field a template front shows when it shows exactly one, plainly (`{{Front}}`), and
/// the field it depends on when wrapped in a conditional (`{{#Add Reverse}}{{Back}}{{/Add
/// Reverse}}`).
fn shown_field(front: &str) -> Option<(Option<&str>, &str)> {
    fn single(s: &str) -> Option<&str> {
        let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
        let plain = !inner.is_empty()
            && !inner.contains(['{', '}', ':'])
            && !inner.starts_with(['#', '^', '/', '!']);
        plain.then_some(inner)
    }
    let front = front.trim();
    if let Some(name) = single(front) {
        return Some((None, name));
    }
    let rest = front.strip_prefix("{{#")?;
    let (condition, rest) = rest.split_once("}}")?;
    let condition = condition.trim();
    let body = rest
        .trim_end()
        .strip_suffix("}}")?
        .strip_suffix(condition)?
        .trim_end()
        .strip_suffix("{{/")?;
    Some((Some(condition), single(body)?))
}

/// How notes of type `t` become cards, from its kind, fields and templates (never its name,
/// which users rename and translate).
fn mapping(t: &NoteType) -> Mapping {
    let index = |name: &str| t.fields.iter().position(|f| f.trim() == name);
    if t.cloze {
        // The field the template's `{{cloze:Text}}` names; the first when none is found.
        let text = t
            .fronts
            .first()
            .and_then(|q| q.split("{{cloze:").nth(1))
            .and_then(|rest| rest.split("}}").next())
            .and_then(|name| index(name.trim()))
            .unwrap_or(0);
        return Mapping::Cloze { text };
    }
    match t.fronts.as_slice() {
        [one] if t.fields.len() == 2 && shown_field(one) == Some((None, t.fields[0].trim())) => {
            Mapping::Basic
        }
        [first, second] => {
            let (Some((None, a)), Some((condition, b))) = (shown_field(first), shown_field(second))
            else {
                return Mapping::Other;
            };
            let (Some(front), Some(back)) = (index(a), index(b)) else {
                return Mapping::Other;
            };
            let only_if = match condition {
                None => None,
                Some(c) => match index(c) {
                    Some(c) => Some(c),
                    None => return Mapping::Other,
                },
            };
            let distinct = front != back && only_if.is_none_or(|c| c != front && c != back);
            if distinct && t.fields.len() == 2 + usize::from(only_if.is_some()) {
                Mapping::Reversed {
                    front,
                    back,
                    only_if,
                }
            } else {
                Mapping::Other
            }
        }
        _ => Mapping::Other,
    }
}

/// Cards from an Anki collection's notes (the fields of each, in order) whose types are not
/// known: a note whose first field has deletions is a cloze note, any other has its first
/// field on the front and the rest on the back.
pub fn deck_from_notes(notes: Vec<Vec<String>>) -> Result<super::ParsedDeck, ImportError> {
    let notes = notes
        .into_iter()
        .map(|fields| PackageNote {
            type_id: None,
            fields,
        })
        .collect();
    deck_from_package(notes, &[], PackageMedia::default())
}

/// Anki HTML fields joined for one side, empty ones left out.
fn joined(fields: &[String]) -> String {
    fields
        .iter()
        .filter(|f| !html_to_text(f).is_empty() || f.contains("<img") || f.contains("[sound:"))
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("<br>")
}

/// Why a note is skipped, as the preview says it after the count.
const SKIP_EMPTY: &str =
    "with an empty front or back (a field left empty, or holding only what cards may not show)";
/// Why a note is skipped, as the preview says it after the count.
const SKIP_NO_DELETION: &str = "of a Cloze type with no deletion ({{c1::answer}})";
/// Why a note is skipped, as the preview says it after the count.
const SKIP_ONE_FIELD: &str = "with fewer than two fields (a note type of one field), so no back";

/// What the preview says of one note type's notes.
#[derive(Debug, Default)]
struct Tally {
    notes: usize,
    cards: usize,
}

/// "1 note" or "3 notes".
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Cards from a package's notes, mapped by their types (`types`; a note whose type is
/// missing is mapped as [`deck_from_notes`] does): Basic as one card, Basic and reversed as
/// two (front to back and back to front, each its own card with its own schedule; the
/// optional reverse only when its field is filled), Cloze as one card per deletion number,
/// any other type with its first field on the front and the rest on the back, with a line in
/// the notes per such type. `line` numbers the note, for messages. The media files the cards
/// use are kept in the deck; the package's other files are kept with the deck (never shown)
/// so that its export carries them back; files refused are named in the notes.
pub fn deck_from_package(
    notes: Vec<PackageNote>,
    types: &[NoteType],
    package_media: PackageMedia,
) -> Result<super::ParsedDeck, ImportError> {
    let by_name: MediaByName<'_> = package_media
        .files
        .iter()
        .map(|f| (f.name.as_str(), f))
        .collect();
    let mapped: HashMap<i64, (&NoteType, Mapping)> =
        types.iter().map(|t| (t.id, (t, mapping(t)))).collect();
    let mut cards = Vec::with_capacity(notes.len());
    let (mut cloze_notes, mut cloze_cards) = (0, 0);
    let mut reversed: std::collections::BTreeMap<(String, Option<String>), Tally> =
        Default::default();
    let mut others: std::collections::BTreeMap<(String, usize), Tally> = Default::default();
    let mut skipped: std::collections::BTreeMap<&str, usize> = Default::default();
    for (i, note) in notes.into_iter().enumerate() {
        let number = i + 1;
        let fields = note.fields;
        let known = note.type_id.and_then(|id| mapped.get(&id));
        let field = |i: usize| fields.get(i).map_or("", String::as_str);
        let mapping = match known {
            // Anki's image occlusion is a cloze type over an image's masks, which cards here
            // cannot draw: its fields go on the card as any other type's.
            Some((_, Mapping::Cloze { text })) if field(*text).contains("image-occlusion:") => {
                Mapping::Other
            }
            Some((_, m)) => *m,
            None if fields.first().is_some_and(|f| super::cloze::is_cloze(f)) => {
                Mapping::Cloze { text: 0 }
            }
            None => Mapping::Other,
        };
        let fail = |message: String| ImportError {
            line: None,
            message: format!("note {number}: {message}"),
        };
        // One card's sides, or None when a side shows nothing (a field left empty, or one
        // holding only what the allow-list removes): the note is then skipped, and the
        // preview says how many were and why, rather than the whole package refused.
        let made = |front: &str, back: &str| -> Result<Option<super::ParsedCard>, ImportError> {
            match note_card_with(front, back, &by_name) {
                Ok((front, back, format)) => Ok(Some(super::ParsedCard {
                    front,
                    back,
                    line: number,
                    format,
                    cloze: None,
                })),
                Err(e) if e.0.ends_with("cannot be empty.") => Ok(None),
                Err(e) => Err(fail(e.0)),
            }
        };
        match mapping {
            Mapping::Cloze { text } => {
                // A Cloze note: one card per deletion number, each with its own schedule. The
                // note is kept (media resolved, through the allow-list) so that it can be
                // edited; its other fields (Anki's "Back Extra") follow on the back.
                let rest: Vec<String> = fields
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != text)
                    .map(|(_, f)| f.clone())
                    .collect();
                let text = crate::markup::clean(&with_media(field(text), &by_name));
                let extra = crate::markup::clean(&with_media(&joined(&rest), &by_name));
                // A note with no deletion, or whose text shows nothing, is skipped and
                // counted like any empty note; other faults (too many numbers) refuse.
                let made = match super::cloze::note_cards(&text, &extra, Format::Html) {
                    Ok(made) => made,
                    Err(e) if e.starts_with(super::cloze::NO_DELETION) => {
                        *skipped.entry(SKIP_NO_DELETION).or_default() += 1;
                        continue;
                    }
                    Err(e) if e.ends_with("cannot be empty.") => {
                        *skipped.entry(SKIP_EMPTY).or_default() += 1;
                        continue;
                    }
                    Err(e) => return Err(fail(e)),
                };
                cloze_notes += 1;
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
            }
            Mapping::Basic => match made(field(0), field(1))? {
                Some(card) => cards.push(card),
                None => *skipped.entry(SKIP_EMPTY).or_default() += 1,
            },
            Mapping::Reversed {
                front,
                back,
                only_if,
            } => {
                let Some(card) = made(field(front), field(back))? else {
                    *skipped.entry(SKIP_EMPTY).or_default() += 1;
                    continue;
                };
                cards.push(card);
                let reverse = only_if.is_none_or(|c| {
                    !html_to_text(field(c)).is_empty() || field(c).contains("<img")
                });
                if reverse && let Some(card) = made(field(back), field(front))? {
                    cards.push(card);
                }
                if let Some((t, _)) = known {
                    let condition = only_if.and_then(|c| t.fields.get(c).cloned());
                    let tally = reversed.entry((t.name.clone(), condition)).or_default();
                    tally.notes += 1;
                    tally.cards += 1 + usize::from(reverse);
                }
            }
            Mapping::Other => {
                if fields.len() < 2 {
                    *skipped.entry(SKIP_ONE_FIELD).or_default() += 1;
                    continue;
                }
                let Some(card) = made(field(0), &joined(&fields[1..]))? else {
                    *skipped.entry(SKIP_EMPTY).or_default() += 1;
                    continue;
                };
                cards.push(card);
                if let Some((t, _)) = known {
                    let tally = others.entry((t.name.clone(), t.fields.len())).or_default();
                    tally.notes += 1;
                    tally.cards += 1;
                }
            }
        }
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
    for ((name, condition), tally) in &reversed {
        notes.push(match condition {
            None => format!(
                "{} of type '{name}' became {}: front to back and back to front, each with its own schedule.",
                plural(tally.notes, "note", "notes"),
                plural(tally.cards, "card", "cards"),
            ),
            Some(field) => format!(
                "{} of type '{name}' became {}: front to back, and back to front where the '{field}' field is filled, each with its own schedule.",
                plural(tally.notes, "note", "notes"),
                plural(tally.cards, "card", "cards"),
            ),
        });
    }
    for ((name, fields), tally) in &others {
        notes.push(format!(
            "{} of type '{name}' ({}): first field on the front, the rest on the back.",
            plural(tally.notes, "note", "notes"),
            plural(*fields, "field", "fields"),
        ));
    }
    if !skipped.is_empty() {
        let total: usize = skipped.values().sum();
        let why: Vec<String> = skipped
            .iter()
            .map(|(why, n)| format!("{n} {why}"))
            .collect();
        notes.push(format!(
            "{} skipped: {}.",
            plural(total, "note was", "notes were"),
            why.join("; ")
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
    let mut kept: Vec<super::KeptFile> = Vec::new();
    let mut keep = |name: String, hash: String, content_type: &str, bytes: Vec<u8>| {
        if !kept.iter().any(|k| k.name == name) {
            kept.push(super::KeptFile {
                name,
                hash,
                content_type: content_type.to_owned(),
                size: bytes.len() as u64,
                bytes,
            });
        }
    };
    for file in package_media.files {
        if !used.contains(&file.checked.hash) {
            // Anki packages often carry files no note names any more, or that only a
            // template's styling names (a font): kept with the deck, to go back out.
            keep(
                file.name,
                file.checked.hash,
                file.checked.kind.content_type(),
                file.bytes,
            );
        } else if !media.iter().any(|m| m.checked.hash == file.checked.hash) {
            media.push(file);
        }
    }
    let mut why_unserved: HashMap<String, String> = HashMap::new();
    for (name, bytes, why) in package_media.unserved {
        let hash = crate::media::hash(&bytes);
        why_unserved.insert(name.clone(), why);
        keep(name, hash, "application/octet-stream", bytes);
    }
    if !kept.is_empty() {
        let mut names: Vec<String> = kept
            .iter()
            .map(|k| match why_unserved.get(&k.name) {
                Some(why) => format!("{} (not shown: {why})", k.name),
                None => k.name.clone(),
            })
            .collect();
        names.sort_unstable();
        notes.push(format!(
            "{} that no card shows {} kept with the deck, never served, and {} back out with its Anki export: {}{}.",
            plural(kept.len(), "media file", "media files"),
            if kept.len() == 1 { "is" } else { "are" },
            if kept.len() == 1 { "goes" } else { "go" },
            names
                .iter()
                .take(20)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            if names.len() > 20 { ", …" } else { "" }
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
        kept,
        stored_media: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_field_of_many_images_is_read_in_linear_time() {
        // 20,000 missing images (400 KB): once a lowercased copy of the rest per image, which
        // took seconds (no clock here: a quadratic reader shows as a slow test, measured by
        // the benchmarks, not as a flaky one).
        let many = "<img src=\"x.png\">ab".repeat(20_000);
        let out = with_media(&many, &MediaByName::new());
        assert_eq!(out, "[image: x.png]ab".repeat(20_000));
    }

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
        // Bold makes the note formatted: kept as sanitised HTML. A note of no known type
        // has its first field on the front, the rest on the back.
        assert_eq!(deck.cards[0].front.as_str(), "<b>F</b>");
        assert_eq!(deck.cards[0].back.as_str(), "B<br>2<br>extra");
        assert_eq!(deck.cards[0].format, Format::Html);
        // Line breaks alone are plain text, as before formatting existed.
        let deck = deck_from_notes(vec![vec!["<div>F</div>".into(), "B<br>2".into()]]).unwrap();
        assert_eq!(deck.cards[0].front.as_str(), "F");
        assert_eq!(deck.cards[0].back.as_str(), "B\n2");
        assert_eq!(deck.cards[0].format, Format::Text);
        // A note of one field, or whose side shows nothing, is skipped and counted.
        let deck = deck_from_notes(vec![
            vec!["a".into(), "b".into()],
            vec!["only one".into()],
            vec!["<div><br></div>".into(), "b".into()],
        ])
        .unwrap();
        assert_eq!(deck.cards.len(), 1);
        assert!(
            deck.notes.iter().any(|n| n
                .starts_with("2 notes were skipped: 1 with an empty front or back")
                && n.contains("; 1 with fewer than two fields")),
            "{:?}",
            deck.notes
        );
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

    fn note_type(id: i64, name: &str, cloze: bool, fields: &[&str], fronts: &[&str]) -> NoteType {
        NoteType {
            id,
            name: name.to_owned(),
            cloze,
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            fronts: fronts.iter().map(|f| (*f).to_owned()).collect(),
        }
    }

    fn note(type_id: i64, fields: &[&str]) -> PackageNote {
        PackageNote {
            type_id: Some(type_id),
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
        }
    }

    #[test]
    fn a_cloze_note_with_no_deletion_or_empty_text_is_skipped_and_counted() {
        let types = [note_type(
            5,
            "Cloze",
            true,
            &["Text", "Back Extra"],
            &["{{cloze:Text}}"],
        )];
        let deck = deck_from_package(
            vec![
                note(5, &["{{c1::ReLU}} is zero below", ""]),
                note(5, &["no deletion here", "extra"]),
                note(5, &["", ""]),
                note(5, &["<div><br></div>", "x"]),
            ],
            &types,
            PackageMedia::default(),
        )
        .unwrap();
        assert_eq!(deck.cards.len(), 1);
        assert!(
            deck.notes
                .iter()
                .any(|n| n.starts_with("3 notes were skipped: 3 of a Cloze type with no deletion")),
            "{:?}",
            deck.notes
        );
    }

    #[test]
    fn note_types_are_mapped_by_their_templates() {
        let types = [
            note_type(1, "Basic", false, &["Front", "Back"], &["{{Front}}"]),
            note_type(
                2,
                "Basic (and reversed card)",
                false,
                &["Front", "Back"],
                &["{{Front}}", "{{Back}}"],
            ),
            note_type(
                3,
                "Basic (optional reversed card)",
                false,
                &["Front", "Back", "Add Reverse"],
                &["{{Front}}", "{{#Add Reverse}}{{Back}}{{/Add Reverse}}"],
            ),
            note_type(
                4,
                "Vocab",
                false,
                &["Word", "Meaning", "Example"],
                &["{{Word}}", "{{Meaning}}<br>{{Example}}"],
            ),
            note_type(
                5,
                "Cloze",
                true,
                &["Text", "Back Extra"],
                &["{{cloze:Text}}"],
            ),
            note_type(
                6,
                "Basic (type in the answer)",
                false,
                &["Front", "Back"],
                &["{{Front}}\n\n{{type:Back}}"],
            ),
        ];
        let deck = deck_from_package(
            vec![
                note(1, &["{{c1::literal}}", "b"]),
                note(2, &["dog", "Hund"]),
                note(3, &["cat", "Katze", "y"]),
                note(3, &["mouse", "Maus", ""]),
                note(4, &["Haus", "house", "Das Haus ist alt."]),
                note(4, &["Baum", "tree", ""]),
                note(5, &["{{c1::ReLU}} is {{c2::zero}} below", "extra"]),
                note(6, &["2+2", "4"]),
            ],
            &types,
            PackageMedia::default(),
        )
        .unwrap();
        let cards: Vec<(&str, &str, usize)> = deck
            .cards
            .iter()
            .map(|c| (c.front.as_str(), c.back.as_str(), c.line))
            .collect();
        assert_eq!(
            cards,
            vec![
                // A Basic note is one card, cloze braces or not.
                ("{{c1::literal}}", "b", 1),
                // Basic and reversed: both ways.
                ("dog", "Hund", 2),
                ("Hund", "dog", 2),
                // Optional reverse: only where "Add Reverse" is filled.
                ("cat", "Katze", 3),
                ("Katze", "cat", 3),
                ("mouse", "Maus", 4),
                // Any other type: the first field on the front, the rest on the back.
                ("Haus", "house\nDas Haus ist alt.", 5),
                ("Baum", "tree", 6),
                (
                    "<b>[...]</b> is zero below",
                    "<b>ReLU</b> is zero below<br><br>extra",
                    7
                ),
                (
                    "ReLU is <b>[...]</b> below",
                    "ReLU is <b>zero</b> below<br><br>extra",
                    7
                ),
                ("2+2", "4", 8),
            ]
        );
        assert!(deck.notes.contains(&"1 note of type 'Basic (and reversed card)' became 2 cards: front to back and back to front, each with its own schedule.".to_owned()), "{:?}", deck.notes);
        assert!(deck.notes.contains(&"2 notes of type 'Basic (optional reversed card)' became 3 cards: front to back, and back to front where the 'Add Reverse' field is filled, each with its own schedule.".to_owned()), "{:?}", deck.notes);
        assert!(deck.notes.contains(&"2 notes of type 'Vocab' (3 fields): first field on the front, the rest on the back.".to_owned()), "{:?}", deck.notes);
        assert!(deck.notes.contains(&"1 note of type 'Basic (type in the answer)' (2 fields): first field on the front, the rest on the back.".to_owned()), "{:?}", deck.notes);
        assert!(
            !deck
                .notes
                .iter()
                .any(|n| n.contains("'Basic'") || n.contains("'Cloze'"))
        );
    }

    #[test]
    fn template_fronts_are_read_strictly() {
        assert_eq!(shown_field("{{Front}}"), Some((None, "Front")));
        assert_eq!(shown_field(" {{ Back }} "), Some((None, "Back")));
        assert_eq!(
            shown_field("{{#Add Reverse}}{{Back}}{{/Add Reverse}}"),
            Some((Some("Add Reverse"), "Back"))
        );
        assert_eq!(shown_field("{{type:Back}}"), None);
        assert_eq!(shown_field("{{Front}} {{Back}}"), None);
        assert_eq!(shown_field("{{#A}}{{Back}}{{/B}}"), None);
        assert_eq!(shown_field("<b>{{Front}}</b>"), None);
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
