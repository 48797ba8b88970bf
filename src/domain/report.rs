//! What students write about a card, and what their instructors write back.

use super::Invalid;

/// Longest report, in characters.
pub const MAX_REPORT_CHARS: usize = 500;
/// Longest reply to a report, in characters.
pub const MAX_REPLY_CHARS: usize = 1_000;

/// A student's report of a problem with a card: trimmed, 1 to [`MAX_REPORT_CHARS`]
/// characters, several lines allowed, but no NUL or other control character besides tab and
/// line breaks (no page can show them, and PostgreSQL refuses NUL in text outright).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportMessage(String);

impl ReportMessage {
    /// Parses a typed report.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let message = raw.trim();
        if message.is_empty() || message.chars().count() > MAX_REPORT_CHARS {
            return Err(Invalid::new(format!(
                "Describe the problem in 1 to {MAX_REPORT_CHARS} characters."
            )));
        }
        plain_text(message, "A report")?;
        Ok(Self(message.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An instructor's reply to a report: trimmed, at most [`MAX_REPLY_CHARS`] characters, the
/// same characters as a report. An empty reply is no reply (resolving without a word).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportReply(String);

impl ReportReply {
    /// Parses a typed reply; `None` when nothing was written.
    pub fn parse(raw: &str) -> Result<Option<Self>, Invalid> {
        let reply = raw.trim();
        if reply.chars().count() > MAX_REPLY_CHARS {
            return Err(Invalid::new(format!(
                "A reply is at most {MAX_REPLY_CHARS} characters."
            )));
        }
        plain_text(reply, "A reply")?;
        Ok((!reply.is_empty()).then(|| Self(reply.to_owned())))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Refuses control characters other than tab and line breaks; `what` names the text.
fn plain_text(text: &str, what: &str) -> Result<(), Invalid> {
    match super::stray_control(text) {
        Some(c) => Err(Invalid::new(format!(
            "{what} cannot contain the control character U+{:04X}; write it in plain text.",
            u32::from(c)
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_keep_lines_and_tabs_but_refuse_other_control_characters() {
        let m = ReportMessage::parse("  The answer says 3.\r\n\tIt is 4. ").unwrap();
        assert_eq!(m.as_str(), "The answer says 3.\r\n\tIt is 4.");
        for (bad, why) in [
            ("", "1 to 500"),
            (&"x".repeat(501), "1 to 500"),
            ("wrong\0answer", "U+0000"),
            ("bell\u{7}", "U+0007"),
            ("esc\u{1b}[31m", "U+001B"),
            ("del\u{7f}", "U+007F"),
        ] {
            let e = ReportMessage::parse(bad).unwrap_err();
            assert!(e.0.contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn an_empty_reply_is_no_reply_and_a_nul_is_refused() {
        assert_eq!(ReportReply::parse("  ").unwrap(), None);
        assert_eq!(
            ReportReply::parse(" Fixed.\nThanks ")
                .unwrap()
                .unwrap()
                .as_str(),
            "Fixed.\nThanks"
        );
        assert!(ReportReply::parse("a\0").unwrap_err().0.contains("U+0000"));
        assert!(
            ReportReply::parse(&"y".repeat(1_001))
                .unwrap_err()
                .0
                .contains("at most 1000")
        );
    }
}
