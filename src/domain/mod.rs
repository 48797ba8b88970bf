//! Domain types that parse, not validate: once a value exists it is valid. Each parser's
//! error is a sentence a user can act on.

mod account;
mod card;
mod email;
mod exam;
mod report;

pub use account::{DayStartHour, NewPerDay, Password, Role, TimeZoneName, Username};
pub use card::{CardText, DeckName, Grade, Tags};
pub use email::EmailAddress;
pub use exam::ExamName;
pub use report::{ReportMessage, ReportReply};

/// A value a user typed that breaks a rule; the text says which rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Characters that reorder how text around them is displayed (Unicode's bidirectional
/// embeddings, overrides and isolates, and the invisible direction marks): in a name they can
/// make one deck or class look like another.
fn reorders_text(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// A one-line name (of a deck, a class): trimmed, 1 to `max_chars` characters, with no control
/// characters (NUL, line breaks, tabs) and no direction overrides. `what` names it in messages
/// ("A deck", "A class").
pub fn one_line_name(raw: &str, what: &str, max_chars: usize) -> Result<String, Invalid> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Invalid::new(format!("{what} needs a name.")));
    }
    if name.chars().count() > max_chars {
        return Err(Invalid::new(format!(
            "{what}'s name is at most {max_chars} characters long."
        )));
    }
    one_line(name, what)?;
    Ok(name.to_owned())
}

/// The character rule of a one-line name, apart from its length: no line breaks, no other
/// control characters, no direction overrides. `what` names the thing ("An exam").
fn one_line(name: &str, what: &str) -> Result<(), Invalid> {
    if name.contains(['\n', '\r']) {
        return Err(Invalid::new(format!("{what}'s name is a single line.")));
    }
    if let Some(c) = name.chars().find(|c| c.is_control() || reorders_text(*c)) {
        return Err(Invalid::new(format!(
            "{what}'s name cannot contain the invisible character U+{:04X}.",
            u32::from(c)
        )));
    }
    Ok(())
}

/// Whether card text holds a control character other than tab and line breaks (NUL, escape,
/// ...): no browser shows them, and HTML forbids NUL.
pub(crate) fn stray_control(text: &str) -> Option<char> {
    text.chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn names_refuse_invisible_and_reordering_characters() {
        assert_eq!(one_line_name("  Week 1 ", "A deck", 10).unwrap(), "Week 1");
        for bad in ["a\0b", "a\u{202E}b", "a\tb", "a\u{2066}b", "a\u{7}"] {
            let e = one_line_name(bad, "A deck", 20).unwrap_err();
            assert!(e.0.contains("invisible character U+"), "{bad:?}: {e}");
        }
        assert!(
            one_line_name("a\nb", "A class", 20)
                .unwrap_err()
                .0
                .contains("single line")
        );
        assert!(
            one_line_name("", "A class", 20)
                .unwrap_err()
                .0
                .contains("needs a name")
        );
        assert!(one_line_name("Ünïcödé ✓ 名前", "A deck", 20).is_ok());
        assert_eq!(stray_control("tab\tand\nline"), None);
        assert_eq!(stray_control("nul\0"), Some('\0'));
    }
}
