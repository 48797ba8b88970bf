//! TeX in text, rendered on the server as MathML: card text and worked solutions may carry
//! formulas between `\(` and `\)` (inline) or `\[` and `\]` (display). The conversion is the
//! `math-core` crate's; its output is the only markup the pages take from text, and a formula
//! it cannot read is shown as its source, escaped, with a note.

use math_core::{LatexToMathML, MathCoreConfig, MathDisplay};
use std::sync::OnceLock;

/// A piece of text: words, or a formula.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Text outside any formula.
    Text(&'a str),
    /// A formula, as MathML.
    Math(String),
    /// A formula that could not be read: its source, delimiters included.
    Unreadable(&'a str),
}

fn converter() -> Option<&'static LatexToMathML> {
    static CONVERTER: OnceLock<Option<LatexToMathML>> = OnceLock::new();
    CONVERTER
        .get_or_init(|| LatexToMathML::new(MathCoreConfig::default()).ok())
        .as_ref()
}

/// The MathML of one formula, or None when it cannot be read.
pub fn to_mathml(tex: &str, display: bool) -> Option<String> {
    let mode = if display {
        MathDisplay::Block
    } else {
        MathDisplay::Inline
    };
    converter()?
        .convert_with_local_state(tex, mode)
        .ok()
        .map(|r| r.mathml)
}

/// Splits `text` at its formulas. A `\(` or `\[` without its closing partner is plain text.
pub fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut plain_len = 0;
    while let Some(open) = rest[plain_len..]
        .find("\\(")
        .into_iter()
        .chain(rest[plain_len..].find("\\["))
        .min()
        .map(|i| i + plain_len)
    {
        let display = rest[open..].starts_with("\\[");
        let close_token = if display { "\\]" } else { "\\)" };
        let Some(close) = rest[open + 2..].find(close_token).map(|i| i + open + 2) else {
            // No partner: this opening is text; look further on.
            plain_len = open + 2;
            continue;
        };
        if open > 0 {
            out.push(Piece::Text(&rest[..open]));
        }
        let source = &rest[open..close + 2];
        let tex = &rest[open + 2..close];
        out.push(match to_mathml(tex, display) {
            Some(mathml) if !tex.trim().is_empty() => Piece::Math(mathml),
            _ => Piece::Unreadable(source),
        });
        rest = &rest[close + 2..];
        plain_len = 0;
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
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
}
