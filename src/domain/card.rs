//! Cards, decks and grades.

use super::Invalid;
use std::fmt;

/// Longest side of a card, in characters: room for a long definition, not for a book.
pub const MAX_CARD_TEXT_CHARS: usize = 10_000;
/// Longest deck name, in characters.
pub const MAX_DECK_NAME_CHARS: usize = 120;

/// One side of a card: not blank, at most [`MAX_CARD_TEXT_CHARS`]. Kept exactly as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardText(String);

impl CardText {
    /// Parses one side; `side` names it in the message ("front", "back").
    pub fn parse(raw: &str, side: &str) -> Result<Self, Invalid> {
        if raw.trim().is_empty() {
            return Err(Invalid::new(format!(
                "The {side} of a card cannot be empty."
            )));
        }
        let len = raw.chars().count();
        if len > MAX_CARD_TEXT_CHARS {
            return Err(Invalid::new(format!(
                "The {side} of a card is {len} characters long; the limit is {MAX_CARD_TEXT_CHARS}."
            )));
        }
        if let Some(c) = super::stray_control(raw) {
            return Err(Invalid::new(format!(
                "The {side} of a card contains the control character U+{:04X}, which no page can show.",
                u32::from(c)
            )));
        }
        Ok(Self(raw.to_owned()))
    }

    /// Parses one side stored as `format`: HTML is passed through the allow-list
    /// (`markup::clean`) first, and a side that shows no text and no image is empty.
    pub fn parse_as(raw: &str, side: &str, format: crate::markup::Format) -> Result<Self, Invalid> {
        if !format.is_html() {
            return Self::parse(raw, side);
        }
        let clean = crate::markup::clean(raw);
        if crate::markup::html_is_empty(&clean) {
            return Err(Invalid::new(format!(
                "The {side} of a card cannot be empty."
            )));
        }
        Self::parse(&clean, side)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A deck's name: 1 to [`MAX_DECK_NAME_CHARS`] characters, trimmed, on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeckName(String);

impl DeckName {
    /// Parses a typed deck name.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        super::one_line_name(raw, "A deck", MAX_DECK_NAME_CHARS).map(Self)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A card's tags: up to 10, each 1 to 32 of lowercase letters, digits, '-' and '_'; typed
/// separated by commas or spaces, stored as "cnn,loss".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tags(String);

impl Tags {
    /// Parses typed tags (case is folded, duplicates dropped).
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let mut tags: Vec<String> = Vec::new();
        for tag in raw
            .split([',', ' '])
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let tag = tag.to_lowercase();
            if tag.chars().count() > 32
                || !tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(Invalid::new(format!(
                    "'{}' is not a tag: use up to 32 letters, digits, '-' or '_'.",
                    tag.chars().take(40).collect::<String>()
                )));
            }
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        if tags.len() > 10 {
            return Err(Invalid::new("A card has at most 10 tags."));
        }
        Ok(Self(tags.join(",")))
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An SM-2 grade, 0 (blackout) to 5 (perfect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Grade(u8);

impl Grade {
    /// Every grade with the meaning shown on its button.
    pub const MEANINGS: [&'static str; 6] = [
        "Blackout: no memory at all",
        "Wrong, but the answer felt familiar",
        "Wrong, but the answer seemed easy once seen",
        "Right, with serious difficulty",
        "Right, after some hesitation",
        "Perfect: right at once",
    ];

    /// A word for each grade, for messages ("Took back your Good on ..."): the four-button
    /// names where a grade has one (Again = 1, Hard = 3, Good = 4, Easy = 5).
    pub const NAMES: [&'static str; 6] = ["Blackout", "Again", "Almost", "Hard", "Good", "Easy"];

    /// The four buttons offered by default: (grade, name, for a memory card, for a computed
    /// answer). Again, Hard, Good, Easy are SM-2's grades 1, 3, 4 and 5.
    pub const FOUR: [(u8, &'static str, &'static str); 4] = [
        (1, "Again", "Wrong"),
        (3, "Hard", "Right, with difficulty"),
        (4, "Good", "Right"),
        (5, "Easy", "Right at once"),
    ];

    /// Grade `q` named as the button that gives it, for a card's history: on the four-button
    /// layout its name (Again, Hard, Good, Easy; with the attempt's wording first on a
    /// computed problem, "Right (Good)"), on SM-2's six grades its number and meaning. A grade
    /// the four buttons do not give (0 or 2, from the six) reads as on the six. The quality
    /// number alone meant nothing to someone who pressed Good.
    pub fn button_name(q: u8, six_grades: bool, computed: bool) -> String {
        let four = Self::FOUR.iter().find(|(grade, _, _)| *grade == q);
        match (four, six_grades) {
            (Some((_, name, attempt)), false) if computed => format!("{attempt} ({name})"),
            (Some((_, name, _)), false) => (*name).to_owned(),
            _ => match Self::MEANINGS.get(usize::from(q)) {
                Some(meaning) => format!("{q} · {meaning}"),
                None => q.to_string(),
            },
        }
    }

    /// The four-button grade nearest to `q` (0 to 2 fail: Again).
    pub fn nearest_of_four(q: u8) -> u8 {
        match q {
            0..=2 => 1,
            q => q.min(5),
        }
    }

    /// Parses a submitted grade ("0".."5").
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        raw.trim()
            .parse::<u8>()
            .ok()
            .and_then(|q| Self::try_from(q).ok())
            .ok_or_else(|| {
                Invalid::new(format!(
                    "'{}' is not a grade: grades are whole numbers from 0 to 5.",
                    raw.chars().take(20).collect::<String>()
                ))
            })
    }

    /// The number.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Grade {
    type Error = Invalid;

    fn try_from(q: u8) -> Result<Self, Invalid> {
        if q <= 5 {
            Ok(Self(q))
        } else {
            Err(Invalid::new(format!(
                "{q} is not a grade: grades are whole numbers from 0 to 5."
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grade_is_named_as_the_button_that_gave_it() {
        let four: Vec<String> = [1, 3, 4, 5]
            .into_iter()
            .map(|q| Grade::button_name(q, false, false))
            .collect();
        assert_eq!(four, ["Again", "Hard", "Good", "Easy"]);
        assert_eq!(Grade::button_name(4, false, true), "Right (Good)");
        assert_eq!(Grade::button_name(1, false, true), "Wrong (Again)");
        assert_eq!(
            Grade::button_name(5, true, false),
            "5 · Perfect: right at once"
        );
        assert_eq!(
            Grade::button_name(0, false, false),
            "0 · Blackout: no memory at all"
        );
        assert_eq!(Grade::button_name(9, true, false), "9");
    }

    #[test]
    fn card_text_is_kept_exactly_but_not_blank_or_huge() {
        assert_eq!(
            CardText::parse(" a\nb ", "front").unwrap().as_str(),
            " a\nb "
        );
        assert!(CardText::parse(" \n", "front").is_err());
        let err = CardText::parse(&"x".repeat(MAX_CARD_TEXT_CHARS + 1), "back").unwrap_err();
        assert!(err.0.contains("back"));
    }

    #[test]
    fn deck_names_are_trimmed_single_lines() {
        assert_eq!(DeckName::parse("  Quiz 3 ").unwrap().as_str(), "Quiz 3");
        assert!(DeckName::parse("").is_err());
        assert!(DeckName::parse("a\nb").is_err());
        assert!(DeckName::parse(&"d".repeat(121)).is_err());
    }

    #[test]
    fn tags_are_folded_deduplicated_and_checked() {
        assert_eq!(Tags::parse(" CNN, loss cnn ").unwrap().as_str(), "cnn,loss");
        assert_eq!(Tags::parse("").unwrap().as_str(), "");
        assert!(Tags::parse("<b>").is_err());
        let eleven: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
        assert!(Tags::parse(&eleven.join(",")).is_err());
        assert!(Tags::parse(&eleven[..10].join(",")).is_ok());
    }

    #[test]
    fn grades_are_zero_to_five() {
        assert_eq!(Grade::parse("5").unwrap().get(), 5);
        assert_eq!(Grade::parse(" 0 ").unwrap().get(), 0);
        for bad in ["9", "6", "-1", "2.5", "", "five"] {
            assert!(Grade::parse(bad).is_err(), "{bad} should be refused");
        }
        assert!(Grade::try_from(6).is_err());
    }
}
