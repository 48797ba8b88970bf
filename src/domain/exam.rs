//! A class's exams.

use super::Invalid;
use std::fmt;

/// Longest exam name, in characters.
pub const MAX_EXAM_NAME_CHARS: usize = 100;

/// An exam's name: 1 to [`MAX_EXAM_NAME_CHARS`] characters, trimmed, on one line, without
/// control characters or direction overrides: students read it on their dashboards, where a
/// right-to-left override could make "Final" read as anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExamName(String);

impl ExamName {
    /// Parses a typed exam name.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let name = raw.trim();
        if name.is_empty() || name.chars().count() > MAX_EXAM_NAME_CHARS {
            return Err(Invalid::new(format!(
                "The exam's name is 1 to {MAX_EXAM_NAME_CHARS} characters."
            )));
        }
        super::one_line(name, "The exam")?;
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exam_names_are_one_plain_line() {
        assert_eq!(ExamName::parse("  Midterm ").unwrap().as_str(), "Midterm");
        assert!(ExamName::parse("Examen final ✓ 期末").is_ok());
        for (bad, why) in [
            ("", "1 to 100"),
            ("   ", "1 to 100"),
            (&"x".repeat(101), "1 to 100"),
            ("Mid\nterm", "single line"),
            ("Mid\rterm", "single line"),
            ("Final\u{202E}lanif", "U+202E"),
            ("Final\u{2066}", "U+2066"),
            ("Final\u{200F}", "U+200F"),
            ("Fi\0nal", "U+0000"),
            ("Fi\tnal", "U+0009"),
        ] {
            let e = ExamName::parse(bad).unwrap_err();
            assert!(e.0.contains(why), "{bad:?}: {e}");
        }
    }
}
