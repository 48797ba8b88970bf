//! Formatted card text (issue 24). A card's sides are stored in one of two forms, named by the
//! card's `format`:
//! - **text** (every card made before formatting existed, and every card imported from a
//!   text file): shown exactly as before, escaped by the template, with its web addresses as
//!   links and its TeX as MathML (`text::runs`);
//! - **html**: sanitised HTML as Anki stores it. It passes [`clean`] when it is stored and
//!   again in [`render`] each time a page shows it, so no stored row, however it was written,
//!   puts anything outside the allow-list in a page.
//!
//! The allow-list is [`ammonia`]'s, built here once: bold, italic, underline, strike-through,
//! sub/superscript, paragraphs, line breaks, lists, tables, code and preformatted blocks,
//! block quotes, links with `http`, `https` or `mailto` addresses (opened as
//! `rel="noopener noreferrer nofollow"`), and images and sound players (`audio controls`)
//! whose address is one of our own `/media/{sha256}` files. No `style`, `class` (beyond the few this module sets), `id`,
//! event handler, form, frame, SVG, or script (their content is dropped with them), and no
//! `javascript:` or `data:` address survives.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// How a card's text is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Plain text, shown as typed.
    #[default]
    Text,
    /// Sanitised HTML.
    Html,
}

impl Format {
    /// The stored name: `text` or `html`. Anything else reads as text, the safe reading.
    pub fn from_stored(name: &str) -> Self {
        if name == "html" {
            Self::Html
        } else {
            Self::Text
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Html => "html",
        }
    }

    /// Whether this is HTML.
    pub fn is_html(self) -> bool {
        self == Self::Html
    }
}

/// Whether a stored format name is `html` (for the templates).
pub fn is_html(format: impl AsRef<str>) -> bool {
    Format::from_stored(format.as_ref()).is_html()
}

/// HTML elements a card may hold.
const TAGS: &[&str] = &[
    "a",
    "audio",
    "b",
    "blockquote",
    "br",
    "caption",
    "code",
    "col",
    "colgroup",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "hr",
    "i",
    "img",
    "kbd",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
];

/// Elements removed with everything inside them (not unwrapped into their text).
const DROPPED_WITH_CONTENT: &[&str] = &[
    "script", "style", "template", "noscript", "iframe", "object", "embed", "svg", "frameset",
    "noembed", "xmp", "title", "head",
];

/// Whether `src` is one of our media files: `/media/` and a lowercase sha256.
pub fn is_media_address(src: &str) -> bool {
    src.strip_prefix("/media/").is_some_and(|hash| {
        hash.len() == 64
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The relative addresses kept: our own media files.
fn media_only(url: &str) -> Option<Cow<'_, str>> {
    is_media_address(url).then_some(Cow::Borrowed(url))
}

fn sanitiser() -> &'static ammonia::Builder<'static> {
    static SANITISER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    SANITISER.get_or_init(|| {
        let mut tags: HashSet<&str> = TAGS.iter().copied().collect();
        tags.extend(crate::math::ELEMENTS.iter().copied());
        let mut attributes: HashMap<&str, HashSet<&str>> = HashMap::new();
        attributes.insert("a", ["href", "title"].into_iter().collect());
        attributes.insert("img", ["src", "alt", "title"].into_iter().collect());
        attributes.insert("audio", ["src", "controls"].into_iter().collect());
        attributes.insert("td", ["colspan", "rowspan"].into_iter().collect());
        attributes.insert("th", ["colspan", "rowspan", "scope"].into_iter().collect());
        attributes.insert("ol", ["start", "type"].into_iter().collect());
        attributes.insert("col", ["span"].into_iter().collect());
        attributes.insert("colgroup", ["span"].into_iter().collect());
        for element in crate::math::ELEMENTS {
            attributes.insert(element, crate::math::ATTRIBUTES.iter().copied().collect());
        }
        let mut classes: HashMap<&str, HashSet<&str>> = HashMap::new();
        classes.insert("span", ["formula", "tex-unreadable"].into_iter().collect());
        classes.insert("small", ["tex-note"].into_iter().collect());
        let mut builder = ammonia::Builder::empty();
        builder
            .tags(tags)
            .clean_content_tags(DROPPED_WITH_CONTENT.iter().copied().collect())
            .tag_attributes(attributes)
            .allowed_classes(classes)
            .url_schemes(["http", "https", "mailto"].into_iter().collect())
            // Relative addresses: only our own media files.
            .url_relative(ammonia::UrlRelative::Custom(Box::new(media_only)))
            .attribute_filter(|element, attribute, value| match (element, attribute) {
                // An image only from our own media: no remote origin, no data: address.
                ("img" | "audio", "src") => is_media_address(value).then_some(Cow::Borrowed(value)),
                // A link never to a media file by a relative address that is not one.
                ("a", "href") if !value.contains(':') && !is_media_address(value) => None,
                _ => Some(Cow::Borrowed(value)),
            })
            .link_rel(Some("noopener noreferrer nofollow"))
            .strip_comments(true);
        builder
    })
}

/// `html` with everything outside the allow-list removed: the stored form of an HTML side.
pub fn clean(html: &str) -> String {
    sanitiser().clean(html).to_string()
}

/// A formula's source as TeX: card HTML writes `<` as `&lt;` and may break a line inside one.
fn tex_source(html: &str) -> Cow<'_, str> {
    if !html.contains(['&', '<']) {
        return Cow::Borrowed(html);
    }
    Cow::Owned(crate::import::apkg::html_to_text(html).replace('\n', " "))
}

/// An HTML side as a page shows it: its formulas rendered as MathML, then the whole passed
/// through the allow-list. The result is safe to put in a page as it is.
pub fn render_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 32);
    for piece in crate::math::pieces_with(html, tex_source) {
        match piece {
            crate::math::Piece::Text(t) => out.push_str(t),
            crate::math::Piece::Math(m) => {
                out.push_str("<span class=\"formula\">");
                out.push_str(&m);
                out.push_str("</span>");
            }
            crate::math::Piece::Unreadable(src) => {
                out.push_str("<span class=\"tex-unreadable\">");
                out.push_str(&html_escape::encode_text(&tex_source(src)));
                out.push_str(
                    "</span><small class=\"tex-note\"> (a formula that could not be read, shown as typed)</small>",
                );
            }
        }
    }
    clean(&out)
}

/// One side as plain text for a list or a table cell (the template escapes it): a text side
/// as it is, an HTML side without its markup (an image as its alt text).
pub fn summary(text: &str, format: &str) -> String {
    if Format::from_stored(format).is_html() {
        crate::import::apkg::html_to_text(text)
    } else {
        text.to_owned()
    }
}

/// One side as a line of a list, ready for a page: [`summary`]'s plain text, escaped, with
/// its formulas as MathML (so deck pages, the dashboard and the card lists show math as
/// math, not as TeX), and its web addresses as text (the line is often a link itself). Safe
/// to put in a page as it is: the text is escaped, the MathML passed the allow-list.
pub fn summary_html(text: &str, format: &str) -> String {
    let plain = summary(text, format);
    let mut out = String::with_capacity(plain.len() + 16);
    for run in crate::text::runs(&plain) {
        match run {
            crate::text::Run::Plain(t) | crate::text::Run::Link(t) => {
                out.push_str(&html_escape::encode_text(t));
            }
            crate::text::Run::Math(m) => {
                out.push_str("<span class=\"formula\">");
                out.push_str(&m);
                out.push_str("</span>");
            }
            crate::text::Run::Unreadable(t) => {
                out.push_str("<span class=\"tex-unreadable\">");
                out.push_str(&html_escape::encode_text(t));
                out.push_str("</span>");
            }
        }
    }
    out
}

/// `html` without its images: every `<img …>` element left out (the editor's "replace the
/// images" upload). Attribute values are skipped whole, quotes and all, so a `>` inside one
/// does not end the element early.
pub fn without_images(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    // Lowercased once (ASCII only, so at the same offsets): not again for every image.
    let lower = html.to_ascii_lowercase();
    while let Some(at) = lower[html.len() - rest.len()..].find("<img") {
        out.push_str(&rest[..at]);
        let mut quote: Option<char> = None;
        let mut end = rest.len();
        for (i, c) in rest[at..].char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '>') => {
                    end = at + i + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Whether an HTML side shows nothing: no text and no image.
pub fn html_is_empty(html: &str) -> bool {
    crate::import::apkg::html_to_text(html).trim().is_empty()
        && !html.contains("<img")
        && !html.contains("<audio")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Hostile fields, one a line in `tests/data/xss-vectors.txt` (shared with
    /// `tests/api/rich.rs`): each must come out of [`render_html`] without anything that runs.
    pub fn hostile() -> impl Iterator<Item = &'static str> {
        include_str!("../tests/data/xss-vectors.txt")
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with("# "))
    }

    /// What none of the output may contain, compared in lower case.
    pub const FORBIDDEN: &[&str] = &[
        "<script",
        "onerror",
        "onload",
        "onclick",
        "ontoggle",
        "javascript:",
        "data:",
        "<svg",
        "<iframe",
        "<form",
        "<input",
        "<object",
        "<embed",
        "style",
        "<meta",
        "<link",
        "<base",
        "evil.example",
        "xlink",
        "<video",
        "<source",
    ];

    /// The tags of serialised HTML, each from `<` to its `>` outside quotes: text between
    /// tags is escaped, so harmless whatever it says.
    pub fn tags_of(html: &str) -> Vec<String> {
        let mut tags = Vec::new();
        let mut current: Option<String> = None;
        let mut quoted = false;
        for c in html.chars() {
            match current.as_mut() {
                None if c == '<' => current = Some(String::from("<")),
                None => {}
                Some(tag) => {
                    tag.push(c);
                    if c == '"' {
                        quoted = !quoted;
                    } else if c == '>' && !quoted {
                        tags.push(tag.to_ascii_lowercase());
                        current = None;
                    }
                }
            }
        }
        tags.extend(current);
        tags
    }

    /// Panics if a tag of `out` carries anything of [`FORBIDDEN`].
    pub fn assert_harmless(out: &str, input: &str) {
        for tag in tags_of(out) {
            for bad in FORBIDDEN {
                assert!(!tag.contains(bad), "{bad} survived {input:?}: {out}");
            }
        }
    }

    #[test]
    fn hostile_fields_lose_everything_that_could_run() {
        assert!(hostile().count() >= 30);
        for input in hostile() {
            assert_harmless(&render_html(input), input);
            assert_harmless(&clean(input), input);
            // Cleaning what was cleaned changes nothing that matters.
            assert_harmless(&render_html(&clean(input)), input);
        }
    }

    #[test]
    fn formatting_is_kept() {
        let out = render_html(
            "<b>Bold</b> <i>it</i> <u>u</u> H<sub>2</sub>O x<sup>2</sup><ul><li>one</li></ul>\
             <ol><li>a</li></ol><table><tr><td>c</td></tr></table><code>x</code><pre>y</pre><br>",
        );
        for part in [
            "<b>Bold</b>",
            "<i>it</i>",
            "<u>u</u>",
            "<sub>2</sub>",
            "<sup>2</sup>",
            "<ul><li>one</li></ul>",
            "<ol><li>a</li></ol>",
            "<td>c</td>",
            "<code>x</code>",
            "<pre>y</pre>",
            "<br>",
        ] {
            assert!(out.contains(part), "{part} in {out}");
        }
        let link = render_html(r#"<a href="https://arxiv.org/abs/1512.03385">paper</a>"#);
        assert!(
            link.contains(r#"href="https://arxiv.org/abs/1512.03385""#),
            "{link}"
        );
        assert!(link.contains("noopener"), "{link}");
        let hash = "ab".repeat(32);
        let img = render_html(&format!(r#"<img src="/media/{hash}" alt="A diagram">"#));
        assert!(
            img.contains(&format!(r#"src="/media/{hash}""#)) && img.contains("A diagram"),
            "{img}"
        );
    }

    #[test]
    fn formulas_in_html_become_mathml() {
        let out = render_html(r"<b>Rows:</b> \(\frac{a &lt; b}{2}\)");
        assert!(out.contains("<b>Rows:</b>"), "{out}");
        assert!(out.contains("<math") && out.contains("<mfrac>"), "{out}");
        assert!(
            out.contains('<') && out.contains("class=\"formula\""),
            "{out}"
        );
        let bad = render_html(r"\(\frac{1}{\)");
        assert!(bad.contains("tex-unreadable"), "{bad}");
    }

    #[test]
    fn summary_lines_show_math_as_math_and_escape_the_rest() {
        let line = summary_html(
            r"<b>Loss</b> \(\frac{a}{b}\) <script>x</script> &lt;i&gt;",
            "html",
        );
        assert!(
            line.starts_with("Loss <span class=\"formula\"><math"),
            "{line}"
        );
        assert!(line.contains("<mfrac>"), "{line}");
        assert!(line.ends_with(" &lt;i&gt;"), "{line}");
        assert!(!line.contains("<script") && !line.contains("<b>"), "{line}");
        let text = summary_html(r"a < b, see https://x.example \(x^2\)", "text");
        assert!(
            text.starts_with("a &lt; b, see https://x.example <span"),
            "{text}"
        );
        assert!(!text.contains("<a "), "{text}");
        for input in tests::hostile() {
            tests::assert_harmless(&summary_html(input, "html"), input);
            tests::assert_harmless(&summary_html(input, "text"), input);
        }
    }

    #[test]
    fn summaries_and_emptiness() {
        assert_eq!(summary("<b>x</b> &lt;", "html"), "x <");
        assert_eq!(summary("<b>x</b>", "text"), "<b>x</b>");
        assert!(html_is_empty("<div><br></div>"));
        assert!(!html_is_empty(r#"<img src="/media/x">"#));
    }

    #[test]
    fn images_are_taken_out_whole() {
        assert_eq!(
            without_images(r#"a<br><IMG src="/media/x" alt="1 > 0">b<img src='y'>"#),
            "a<br>b"
        );
        assert_eq!(without_images("no images"), "no images");
        // Linear: 20,000 images (400 KB) once took a lowercased copy of the rest per image.
        let many = "<img src=\"x\">ab".repeat(20_000);
        assert_eq!(without_images(&many), "ab".repeat(20_000));
        assert_eq!(without_images("broken <img src=\"x"), "broken ");
    }
}
