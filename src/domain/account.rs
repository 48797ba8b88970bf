//! Accounts: names, passwords, roles and study preferences.

use super::Invalid;
use std::fmt;

/// A login name: 3 to 32 characters of letters, digits, `.`, `_` and `-`, starting with a
/// letter or digit. Unique without regard to case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Parses a typed username (surrounding spaces are ignored).
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let name = raw.trim();
        let len = name.chars().count();
        if !(3..=32).contains(&len) {
            return Err(Invalid::new("Usernames are 3 to 32 characters long."));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(Invalid::new(
                "Usernames use only letters, digits, '.', '_' and '-'.",
            ));
        }
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(Invalid::new("Usernames start with a letter or a digit."));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as typed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password: 8 to 128 characters, not only spaces, and not the username itself.
/// Long passphrases are welcome; there are no composition rules (NIST SP 800-63B).
pub struct Password(String);

impl Password {
    /// Parses a chosen password for `username`.
    pub fn parse(raw: &str, username: &str) -> Result<Self, Invalid> {
        let len = raw.chars().count();
        if len < 8 {
            return Err(Invalid::new("Passwords are at least 8 characters long."));
        }
        if len > 128 {
            return Err(Invalid::new("Passwords are at most 128 characters long."));
        }
        if raw.trim().is_empty() {
            return Err(Invalid::new("A password cannot be only spaces."));
        }
        if raw.eq_ignore_ascii_case(username) {
            return Err(Invalid::new("A password cannot be the username."));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The secret, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// What a user may do on the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Runs the site: imports decks, manages users.
    Admin,
    /// Publishes decks to classes.
    Instructor,
    /// Studies.
    Student,
}

impl Role {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Instructor => "instructor",
            Role::Student => "student",
        }
    }

    /// Parses a stored role name.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw {
            "admin" => Ok(Role::Admin),
            "instructor" => Ok(Role::Instructor),
            "student" => Ok(Role::Student),
            other => Err(Invalid::new(format!("Unknown role '{other}'."))),
        }
    }
}

/// An IANA time zone name such as `Europe/Madrid`, known to the bundled tz database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    /// Parses a typed time zone name.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let name = raw.trim();
        if name.is_empty() || name.len() > 64 || jiff::tz::TimeZone::get(name).is_err() {
            return Err(Invalid::new(format!(
                "'{}' is not a time zone name; use one like UTC, Europe/Madrid or America/New_York.",
                truncate(name, 64)
            )));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The hour (0..=23, local time) at which a user's study day begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayStartHour(u8);

impl DayStartHour {
    /// Parses a typed hour.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw.trim().parse::<u8>() {
            Ok(h) if h <= 23 => Ok(Self(h)),
            _ => Err(Invalid::new(
                "The study day starts at a whole hour from 0 to 23.",
            )),
        }
    }

    /// The hour.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// How many new cards a user sees a day (0..=9999).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewPerDay(u32);

impl NewPerDay {
    /// Parses a typed count.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw.trim().parse::<u32>() {
            Ok(n) if n <= 9999 => Ok(Self(n)),
            _ => Err(Invalid::new(
                "New cards per day is a whole number from 0 to 9999.",
            )),
        }
    }

    /// The count.
    pub fn get(self) -> u32 {
        self.0
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_their_rules() {
        assert_eq!(Username::parse("  ada_l ").unwrap().as_str(), "ada_l");
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse(&"a".repeat(33)).is_err());
        assert!(Username::parse("ada lovelace").is_err());
        assert!(Username::parse("<script>").is_err());
        assert!(Username::parse("_ada").is_err());
        assert!(Username::parse("ada.l-2").is_ok());
    }

    #[test]
    fn passwords_follow_their_rules_and_never_print() {
        assert!(Password::parse("short", "ada").is_err());
        assert!(Password::parse("        ", "ada").is_err());
        assert!(Password::parse("adalovelace", "AdaLovelace").is_err());
        assert!(Password::parse(&"x".repeat(129), "ada").is_err());
        let p = Password::parse("correct horse battery", "ada").unwrap();
        assert_eq!(format!("{p:?}"), "Password(***)");
    }

    #[test]
    fn time_zones_must_exist() {
        assert!(TimeZoneName::parse("Europe/Madrid").is_ok());
        assert!(TimeZoneName::parse("UTC").is_ok());
        assert!(TimeZoneName::parse("Mars/Olympus").is_err());
        assert!(TimeZoneName::parse("").is_err());
    }

    #[test]
    fn hours_and_new_card_counts_have_ranges() {
        assert_eq!(DayStartHour::parse("4").unwrap().get(), 4);
        assert!(DayStartHour::parse("24").is_err());
        assert!(DayStartHour::parse("-1").is_err());
        assert_eq!(NewPerDay::parse("20").unwrap().get(), 20);
        assert!(NewPerDay::parse("10000").is_err());
        assert!(NewPerDay::parse("lots").is_err());
    }

    #[test]
    fn roles_round_trip() {
        for role in [Role::Admin, Role::Instructor, Role::Student] {
            assert_eq!(Role::parse(role.as_str()).unwrap(), role);
        }
        assert!(Role::parse("root").is_err());
    }
}
