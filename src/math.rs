//! TeX in text, rendered on the server as MathML: card text and worked solutions may carry
//! formulas between `\(` and `\)` (inline) or `\[` and `\]` (display). The conversion is the
//! `math-core` crate's; a formula it cannot read, or one nested deeper than a page needs, is
//! shown as its source, escaped, with a note.
//!
//! Card text is written by instructors and imported from files, so every formula is hostile
//! input to a recursive parser. Three guards stand between it and the page:
//! - **Nesting**: a formula whose groups (`{}`, `\left…\right`, `\begin…\end`) nest deeper
//!   than [`MAX_NESTING`] is not converted at all.
//! - **Stack**: what nesting does not catch (a chain such as `\frac\frac\frac…`, each taking
//!   the next as its argument) recurses at most once per byte of the formula, so the
//!   conversion runs with a stack sized for its length ([`stack_for`]): on the caller's own
//!   stack when it has room, else on a fresh one (`stacker`). No formula can overflow it.
//! - **Sanitiser**: whatever the converter emits passes an allow-list of MathML Core's
//!   elements and attributes (`ammonia`) before a page marks it safe, so a converter bug (its
//!   `\operatorname{…}` once copied markup through) cannot become an injection.
//!
//! The splitting itself is one pass over the text.

use math_core::{LatexToMathML, MathCoreConfig, MathDisplay};
use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::OnceLock;

/// A piece of text: words, or a formula.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Text outside any formula.
    Text(&'a str),
    /// A formula, as sanitised MathML.
    Math(String),
    /// A formula that could not be read: its source, delimiters included.
    Unreadable(&'a str),
}

/// How deep a formula's groups may nest: far beyond any course's formula (a continued
/// fraction five levels deep nests about 15), far below what could strain a stack.
pub const MAX_NESTING: usize = 32;

/// Stack the converter may need beyond the formula's own share.
const STACK_BASE: usize = 256 * 1024;

/// Stack the converter may need per byte of formula: at most one level of recursion per
/// byte, each level measured at under 2.5 KiB in release builds and 9 KiB in debug builds
/// (the `deep_formulas_*` tests below run every nesting pattern on exactly this budget).
const STACK_PER_BYTE: usize = if cfg!(debug_assertions) {
    16 * 1024
} else {
    4 * 1024
};

/// The stack a conversion of a formula of `len` bytes is given.
pub const fn stack_for(len: usize) -> usize {
    STACK_BASE + len * STACK_PER_BYTE
}

fn converter() -> Option<&'static LatexToMathML> {
    static CONVERTER: OnceLock<Option<LatexToMathML>> = OnceLock::new();
    CONVERTER
        .get_or_init(|| LatexToMathML::new(MathCoreConfig::default()).ok())
        .as_ref()
}

/// How deeply the groups of `tex` nest: braces, `\left…\right` and `\begin…\end`. Escaped
/// braces (`\{`, `\}`) are characters, not groups. One pass, no recursion.
pub fn nesting(tex: &str) -> usize {
    let bytes = tex.as_bytes();
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            b'\\' => {
                let name_start = i + 1;
                let mut j = name_start;
                while j < bytes.len() && bytes[j].is_ascii_alphabetic() {
                    j += 1;
                }
                match &tex[name_start..j] {
                    "left" | "begin" => depth += 1,
                    "right" | "end" => depth = depth.saturating_sub(1),
                    // A one-character command (`\{`, `\\`): skip that character too.
                    "" => j = (name_start + 1).min(bytes.len()),
                    _ => {}
                }
                i = j;
                deepest = deepest.max(depth);
                continue;
            }
            _ => {}
        }
        deepest = deepest.max(depth);
        i += 1;
    }
    deepest
}

/// Bytes of converted formulas kept: a course's formulas many times over. A formula costs
/// about 20 µs to convert and sanitise and a lookup well under one, and a card's formulas
/// are shown on every review of it.
const CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// Weighs a cached formula by its source and its MathML.
#[derive(Clone)]
struct ByBytes;

impl quick_cache::Weighter<(Box<str>, bool), Option<Box<str>>> for ByBytes {
    fn weight(&self, key: &(Box<str>, bool), value: &Option<Box<str>>) -> u64 {
        (key.0.len() + value.as_ref().map_or(0, |v| v.len()) + 64) as u64
    }
}

type FormulaCache = quick_cache::sync::Cache<(Box<str>, bool), Option<Box<str>>, ByBytes>;

fn cache() -> &'static FormulaCache {
    static CACHE: OnceLock<FormulaCache> = OnceLock::new();
    CACHE.get_or_init(|| FormulaCache::with_weighter(4096, CACHE_BYTES, ByBytes))
}

/// The MathML of one formula, sanitised, or None when it cannot be read or nests deeper
/// than [`MAX_NESTING`]. Remembered: the same formula is converted once.
pub fn to_mathml(tex: &str, display: bool) -> Option<String> {
    let key = (Box::<str>::from(tex), display);
    if let Some(known) = cache().get(&key) {
        return known.map(String::from);
    }
    let converted = convert(tex, display);
    cache().insert(key, converted.as_deref().map(Box::from));
    converted
}

/// [`to_mathml`] without the memory (the benchmark times both).
pub fn convert(tex: &str, display: bool) -> Option<String> {
    if tex.trim().is_empty() || nesting(tex) > MAX_NESTING {
        return None;
    }
    let mode = if display {
        MathDisplay::Block
    } else {
        MathDisplay::Inline
    };
    let converter = converter()?;
    let stack = stack_for(tex.len());
    // A panic inside the converter is a formula it cannot read, not a failed page.
    let mathml = stacker::maybe_grow(stack, stack, || {
        std::panic::catch_unwind(|| converter.convert_with_local_state(tex, mode))
            .ok()?
            .ok()
            .map(|r| r.mathml)
    })?;
    Some(sanitise(&mathml))
}

/// MathML Core's elements (MathML Core, section 2.1), less `maction`, `annotation` and
/// `annotation-xml`, which the W3C's safe list says to drop; `semantics` keeps its first
/// child only because its annotations are dropped.
pub(crate) const ELEMENTS: &[&str] = &[
    "math",
    "merror",
    "mfrac",
    "mi",
    "mmultiscripts",
    "mn",
    "mo",
    "mover",
    "mpadded",
    "mphantom",
    "mprescripts",
    "mroot",
    "mrow",
    "ms",
    "mspace",
    "msqrt",
    "mstyle",
    "msub",
    "msubsup",
    "msup",
    "mtable",
    "mtd",
    "mtext",
    "mtr",
    "munder",
    "munderover",
    "semantics",
    "none",
];

/// MathML Core's attributes that carry no address and no script: the global ones and each
/// element's own. `style` and `class` are not among them (a style can fetch; math-core's
/// output does not need either for anything the pages show).
pub(crate) const ATTRIBUTES: &[&str] = &[
    "dir",
    "displaystyle",
    "mathbackground",
    "mathcolor",
    "mathsize",
    "mathvariant",
    "scriptlevel",
    "display",
    "linethickness",
    "form",
    "fence",
    "separator",
    "lspace",
    "rspace",
    "stretchy",
    "symmetric",
    "maxsize",
    "minsize",
    "largeop",
    "movablelimits",
    "width",
    "height",
    "depth",
    "voffset",
    "accent",
    "accentunder",
    "columnspan",
    "rowspan",
    "columnalign",
    "rowalign",
    "columnlines",
    "rowlines",
    "columnspacing",
    "rowspacing",
    "frame",
    "framespacing",
    "equalrows",
    "equalcolumns",
];

fn sanitiser() -> &'static ammonia::Builder<'static> {
    static SANITISER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    SANITISER.get_or_init(|| {
        let mut builder = ammonia::Builder::empty();
        builder
            .tags(ELEMENTS.iter().copied().collect::<HashSet<_>>())
            .generic_attributes(ATTRIBUTES.iter().copied().collect::<HashSet<_>>())
            .url_schemes(HashSet::new())
            .link_rel(None)
            .strip_comments(true);
        builder
    })
}

/// `mathml` with every element and attribute outside the allow-list removed (the text of a
/// removed element is kept, escaped), so nothing but MathML Core reaches a page.
pub fn sanitise(mathml: &str) -> String {
    sanitiser().clean(mathml).to_string()
}

/// Splits `text` at its formulas. A `\(` or `\[` without its closing partner is plain text.
/// One pass: each opening is found once, and once a closing token is missing from the rest
/// of the text no later opening of that kind looks for it again.
pub fn pieces(text: &str) -> Vec<Piece<'_>> {
    pieces_with(text, |tex| Cow::Borrowed(tex))
}

/// [`pieces`] where each formula's source is first passed through `source` (card HTML's
/// formulas carry entities and line breaks that are not TeX).
pub fn pieces_with<'a>(text: &'a str, tex: impl Fn(&str) -> Cow<'_, str>) -> Vec<Piece<'a>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut plain_from = 0;
    let mut at = 0;
    // Whether `\)` (0) or `\]` (1) is missing from the rest of the text.
    let mut unclosed = [false; 2];
    while let Some(offset) = text[at..].find('\\') {
        let open = at + offset;
        let (kind, close_token) = match bytes.get(open + 1) {
            Some(b'(') => (0, "\\)"),
            Some(b'[') => (1, "\\]"),
            _ => {
                at = open + 1;
                continue;
            }
        };
        let close = if unclosed[kind] {
            None
        } else {
            text[open + 2..].find(close_token).map(|i| i + open + 2)
        };
        let Some(close) = close else {
            // No partner: this opening is text; look further on.
            unclosed[kind] = true;
            at = open + 2;
            continue;
        };
        if plain_from < open {
            out.push(Piece::Text(&text[plain_from..open]));
        }
        let source = &text[open..close + 2];
        out.push(match to_mathml(&tex(&text[open + 2..close]), kind == 1) {
            Some(mathml) => Piece::Math(mathml),
            None => Piece::Unreadable(source),
        });
        at = close + 2;
        plain_from = at;
    }
    if plain_from < text.len() {
        out.push(Piece::Text(&text[plain_from..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_mathml_and_text_stays_text() {
        let p = pieces(r"Output: \(\left\lfloor \frac{H + 2P - K}{S} \right\rfloor + 1\) rows.");
        assert_eq!(p.len(), 3);
        assert_eq!(p[0], Piece::Text("Output: "));
        let Piece::Math(m) = &p[1] else {
            panic!("{p:?}")
        };
        assert!(
            m.starts_with("<math") && m.contains("<mfrac>") && m.contains('⌊'),
            "{m}"
        );
        assert_eq!(p[2], Piece::Text(" rows."));
        let Piece::Math(block) = &pieces(r"\[\sum_i x_i^2\]")[0] else {
            panic!()
        };
        assert!(block.contains(r#"display="block""#), "{block}");
    }

    #[test]
    fn unreadable_or_unclosed_formulas_are_left_as_their_source() {
        assert_eq!(
            pieces(r"bad \(\frac{1}{\) end"),
            vec![
                Piece::Text("bad "),
                Piece::Unreadable(r"\(\frac{1}{\)"),
                Piece::Text(" end")
            ]
        );
        assert_eq!(pieces(r"just \( open"), vec![Piece::Text(r"just \( open")]);
        assert_eq!(pieces("no math"), vec![Piece::Text("no math")]);
        assert_eq!(pieces(r"\(\)"), vec![Piece::Unreadable(r"\(\)")]);
    }

    #[test]
    fn markup_inside_a_formula_never_reaches_the_page_as_markup() {
        // Rendered, with the text escaped.
        let Piece::Math(m) = &pieces(r"\(\text{<script>} a < b\)")[0] else {
            panic!("a formula with < is still a formula")
        };
        assert!(
            m.contains("&lt;script&gt;") && m.contains("<mo>&lt;</mo>"),
            "{m}"
        );
        for tex in [
            r"\(\text{<script>alert(1)</script>}\)",
            r#"\(x<img src=x onerror="alert(1)">\)"#,
            r"\(a < b > c \& d\)",
            r"\(\href{javascript:alert(1)}{x}\)",
        ] {
            for piece in pieces(tex) {
                if let Piece::Math(m) = piece {
                    let lower = m.to_lowercase();
                    assert!(
                        !lower.contains("<script")
                            && !lower.contains("<img")
                            && !lower.contains("onerror")
                            && !lower.contains("javascript:")
                            && !lower.contains("href"),
                        "{tex} gave {m}"
                    );
                }
            }
        }
    }

    /// The stack an HTTP worker thread has (Rust's default for spawned threads).
    const WORKER_STACK: usize = 2 * 1024 * 1024;

    /// Runs `f` on a thread with a worker's stack, as a page render does.
    fn on_worker_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(WORKER_STACK)
            .spawn(f)
            .expect("a thread")
            .join()
            .expect("no panic")
    }

    fn commands() -> Vec<&'static str> {
        include_str!("../tests/data/tex-commands.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect()
    }

    fn short(s: &str) -> &str {
        &s[..s.floor_char_boundary(300)]
    }

    /// Every piece of a text is text, escaped source, or MathML Core alone.
    fn assert_vetted(text: &str) {
        for piece in pieces(text) {
            if let Piece::Math(m) = piece {
                assert!(
                    m.starts_with("<math") && m.ends_with("</math>"),
                    "{}",
                    short(&m)
                );
                for tag in m.split('<').skip(1) {
                    let tag = tag.trim_start_matches('/');
                    let name: String = tag
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric())
                        .collect();
                    assert!(
                        ELEMENTS.contains(&name.as_str()),
                        "<{name}> in {}",
                        short(&m)
                    );
                    let attrs = &tag[name.len()..tag.find('>').unwrap_or(tag.len())];
                    for attr in attrs.split_whitespace().filter_map(|a| a.split('=').next()) {
                        let attr = attr.to_lowercase();
                        assert!(
                            ATTRIBUTES.contains(&attr.as_str()) || attr == "/",
                            "attribute {attr} in {}",
                            short(&m)
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn deep_nesting_is_refused_and_shown_as_typed() {
        let braces = format!(r"\({}x{}\)", "{".repeat(1250), "}".repeat(1250));
        let fracs = format!(r"\({}x{}\)", r"\frac{".repeat(900), "}{y}".repeat(900));
        let lefts = format!(r"\({}x{}\)", r"\left(".repeat(40), r"\right)".repeat(40));
        for tex in [braces, fracs, lefts] {
            let shown = on_worker_stack(move || pieces(&tex).len());
            assert_eq!(shown, 1);
        }
        assert_eq!(nesting(r"\left( {a} \right) \{ \} {{b}}"), 2);
        assert_eq!(nesting(r"\begin{matrix} a \end{matrix}"), 2);
        let ok = format!(
            r"\({}x{}\)",
            "{".repeat(MAX_NESTING - 1),
            "}".repeat(MAX_NESTING - 1)
        );
        assert!(matches!(pieces(&ok)[0], Piece::Math(_)), "{ok}");
    }

    #[test]
    fn every_command_the_converter_knows_chained_and_nested_to_the_card_limit_is_safe() {
        // A chain (`\cmd\cmd…x`) nests as deep as the converter lets one command take the
        // next as its argument; braces nest to just under the limit. Both at the card text's
        // 10,000 characters, on a worker's stack: each converts or is shown as typed.
        on_worker_stack(|| {
            for cmd in commands() {
                let unit = format!(r"\{cmd} ");
                let chain = format!(r"\({}x\)", unit.repeat(9_990 / unit.len()));
                assert_vetted(&chain);
                let nested = format!(
                    r"\({}x{}\)",
                    format!(r"\{cmd}{{").repeat(MAX_NESTING),
                    "}".repeat(MAX_NESTING)
                );
                assert_vetted(&nested);
                let scripted = format!(
                    r"\({}x\)",
                    format!(r"x^\{cmd} ").repeat(9_990 / (unit.len() + 2))
                );
                assert_vetted(&scripted);
            }
        });
    }

    #[test]
    fn environments_and_text_mode_nested_to_the_limit_are_safe() {
        on_worker_stack(|| {
            for env in [
                "matrix", "pmatrix", "array", "aligned", "cases", "gathered", "subarray",
            ] {
                let open = format!(r"\begin{{{env}}}{{c}}");
                let close = format!(r"\end{{{env}}}");
                let n = 9_990 / (open.len() + close.len());
                assert_vetted(&format!(r"\[{}x{}\]", open.repeat(n), close.repeat(n)));
            }
            for (open, close) in [
                (r"\text{$", "$}"),
                (r"\text{\(", r"\)}"),
                (r"\sqrt[", "]x"),
                ("x_{", "}"),
            ] {
                let n = 9_990 / (open.len() + close.len());
                assert_vetted(&format!(r"\({}x{}\)", open.repeat(n), close.repeat(n)));
            }
        });
    }

    /// Tokens that open, close and chain nesting in TeX, and markup that must stay text.
    const TOKENS: &[&str] = &[
        "{",
        "}",
        r"\frac",
        r"\sqrt",
        "[",
        "]",
        "^",
        "_",
        r"\left(",
        r"\right)",
        r"\left.",
        r"\right|",
        r"\begin{matrix}",
        r"\end{matrix}",
        "&",
        r"\\",
        r"\text{",
        "$",
        "x",
        "1",
        " ",
        r"\operatorname{",
        r"\mathrm{",
        "<",
        ">",
        "\"",
        "'",
        r"\(",
        r"\)",
        r"\[",
        r"\]",
        r"\href{",
        r"\color{",
        r"\not",
        r"\overset",
        r"\binom",
        "<img src=x onerror=a()>",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        #[test]
        fn any_sequence_of_tex_tokens_renders_or_is_shown_as_typed(
            picks in proptest::collection::vec(0..TOKENS.len(), 0..3_000)
        ) {
            let body: String = picks.iter().map(|&i| TOKENS[i]).collect();
            let text = format!(r"a \({body}\) b \[{body}\]");
            let joined = on_worker_stack(move || {
                assert_vetted(&text);
                pieces(&text).len()
            });
            proptest::prop_assert!(joined >= 1);
        }

        #[test]
        fn arbitrary_text_never_panics_and_keeps_its_plain_parts(text in "\\PC{0,400}") {
            let t = text.clone();
            on_worker_stack(move || assert_vetted(&t));
            for piece in pieces(&text) {
                if let Piece::Text(t) | Piece::Unreadable(t) = piece {
                    proptest::prop_assert!(text.contains(t));
                }
            }
        }
    }

    #[test]
    fn splitting_is_linear_in_unclosed_openings() {
        // Each `\(` without a partner once searched the whole rest of the text for one.
        let text = r"\( \[ ".repeat(200_000);
        let pieces = pieces(&text);
        assert_eq!(pieces, vec![Piece::Text(&text)]);
    }
}
