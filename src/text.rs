//! Card text as the pages show it: web addresses become links and TeX formulas MathML. The
//! text is split into runs here and each is escaped by the template; the only markup a page
//! takes from text is the MathML that `math` renders.

/// A run of card text: plain, or a web address to link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// The text (for a link, also its address).
    pub text: &'a str,
    /// Whether it is an `http://` or `https://` address.
    pub link: bool,
}

/// A run of text as a page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Run<'a> {
    /// Plain text, escaped by the template.
    Plain(&'a str),
    /// A web address, shown as a link to itself.
    Link(&'a str),
    /// A formula rendered as MathML by `math`.
    Math(String),
    /// A formula that could not be read, shown as its escaped source.
    Unreadable(&'a str),
}

/// Text split into its formulas (`\(…\)`, `\[…\]`), links and plain runs.
pub fn runs(text: &str) -> Vec<Run<'_>> {
    let mut out = Vec::new();
    for piece in crate::math::pieces(text) {
        match piece {
            crate::math::Piece::Text(t) => out.extend(segments(t).into_iter().map(|s| {
                if s.link {
                    Run::Link(s.text)
                } else {
                    Run::Plain(s.text)
                }
            })),
            crate::math::Piece::Math(m) => out.push(Run::Math(m)),
            crate::math::Piece::Unreadable(src) => out.push(Run::Unreadable(src)),
        }
    }
    out
}

/// Characters that end an address (besides whitespace): they cannot appear unescaped in one,
/// and `<`, `>` and quotes commonly wrap one in prose.
fn ends_address(c: char) -> bool {
    c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '`')
}

/// Splits `text` into plain runs and `http(s)://` addresses. Punctuation that ends a sentence
/// (`.`, `,`, `;`, `:`, `!`, `?`) and a closing bracket without an opening one inside the
/// address are left out of it, as in "see https://example.org/a_(b)."
pub fn segments(text: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut plain_from = 0;
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let starts = rest.starts_with("https://") || rest.starts_with("http://");
        let at_boundary = text[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        if starts && at_boundary {
            let len = rest.find(ends_address).unwrap_or(rest.len());
            let address = trim_trailing(&rest[..len]);
            let scheme = if rest.starts_with("https://") { 8 } else { 7 };
            if address.len() > scheme {
                if plain_from < i {
                    out.push(Segment {
                        text: &text[plain_from..i],
                        link: false,
                    });
                }
                out.push(Segment {
                    text: address,
                    link: true,
                });
                i += address.len();
                plain_from = i;
                continue;
            }
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    if plain_from < text.len() {
        out.push(Segment {
            text: &text[plain_from..],
            link: false,
        });
    }
    out
}

/// The address without the sentence punctuation and unbalanced closing brackets that end it.
/// The brackets are counted once and the counts kept as characters are dropped, so the cost
/// is linear in the address however many brackets it ends with.
fn trim_trailing(address: &str) -> &str {
    let count = |c: char| address.chars().filter(|&x| x == c).count();
    let (open_round, mut close_round) = (count('('), count(')'));
    let (open_square, mut close_square) = (count('['), count(']'));
    let mut end = address.len();
    while let Some(last) = address[..end].chars().next_back() {
        let drop = match last {
            '.' | ',' | ';' | ':' | '!' | '?' => true,
            ')' if open_round < close_round => {
                close_round -= 1;
                true
            }
            ']' if open_square < close_square => {
                close_square -= 1;
                true
            }
            _ => false,
        };
        if !drop {
            return &address[..end];
        }
        end -= last.len_utf8();
    }
    // Only punctuation and brackets: no address at all.
    ""
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn links(text: &str) -> Vec<&str> {
        segments(text)
            .into_iter()
            .filter(|s| s.link)
            .map(|s| s.text)
            .collect()
    }

    #[test]
    fn addresses_become_links_without_the_sentence_around_them() {
        assert_eq!(
            links("See https://arxiv.org/abs/1512.03385. Also http://x.org/a_(b), ok?"),
            ["https://arxiv.org/abs/1512.03385", "http://x.org/a_(b)"]
        );
        assert_eq!(
            links("(see https://example.org/page)"),
            ["https://example.org/page"]
        );
        assert_eq!(links("<https://example.org/>"), ["https://example.org/"]);
        assert!(links("no links: http:// alone, xhttps://x.org, javascript:alert(1)").is_empty());
        assert!(links("ftp://example.org").is_empty());
    }

    #[test]
    fn the_segments_are_the_whole_text() {
        let text = "a https://b.org/c d\nhttps://e.org";
        let segs = segments(text);
        assert_eq!(segs.iter().map(|s| s.text).collect::<String>(), text);
        assert_eq!(segs.len(), 4);
    }

    #[test]
    fn links_ending_in_many_brackets_are_trimmed_in_one_pass() {
        // Each trimmed bracket once recounted the whole address: 2 MB of them took seconds.
        let tail = ")]".repeat(200_000);
        let text = format!("see https://example.org/a_(b){tail}.");
        assert_eq!(links(&text), ["https://example.org/a_(b)"]);
        let balanced = format!("https://x.org/{}{}", "(".repeat(1000), ")".repeat(1000));
        assert_eq!(links(&balanced), [balanced.as_str()]);
    }

    proptest! {
        #[test]
        fn segments_join_back_to_the_text(text in "(\\PC|https?://[a-z./()]{0,12}){0,12}") {
            let joined: String = segments(&text).iter().map(|s| s.text).collect();
            prop_assert_eq!(joined, text.clone());
            for s in segments(&text).iter().filter(|s| s.link) {
                prop_assert!(s.text.starts_with("http://") || s.text.starts_with("https://"));
                prop_assert!(!s.text.contains(['<', '>', '"', ' ']));
            }
        }
    }
}
