//! Domain types that parse, not validate: once a value exists it is valid. Each parser's
//! error is a sentence a user can act on.

mod account;
mod card;

pub use account::{DayStartHour, NewPerDay, Password, Role, TimeZoneName, Username};
pub use card::{CardText, DeckName, Grade, Tags};

/// A value a user typed that breaks a rule; the text says which rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
