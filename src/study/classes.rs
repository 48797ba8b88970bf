//! Classes: creating them with an unguessable join code, joining and leaving.

use super::StudyError;
use crate::auth::quota::{Guesser, Kind, Quotas};
use crate::db;
use crate::db::Pool;
use jiff::Timestamp;
use std::net::IpAddr;

/// Characters of a join code: capitals and digits without look-alikes (0/O, 1/I).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// 10 characters of 32: 50 bits, short enough to read out in class, far too many to guess.
const CODE_LENGTH: usize = 10;

/// A fresh join code.
pub fn new_join_code() -> String {
    (0..CODE_LENGTH)
        .map(|_| {
            let i = rand::Rng::random_range(&mut rand::rng(), 0..CODE_ALPHABET.len());
            char::from(CODE_ALPHABET[i])
        })
        .collect()
}

/// A typed code, normalised: spaces and dashes dropped, capitals.
pub fn normalise_code(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Creates a class run by `owner_id`, within their hourly budget of new classes; returns its
/// id.
pub async fn create(
    pool: &Pool,
    quotas: &Quotas,
    name: &str,
    owner_id: i64,
    now: Timestamp,
) -> Result<i64, StudyError> {
    let name = crate::domain::one_line_name(name, "A class", 120)?;
    let name = name.as_str();
    quotas.spend(owner_id, &[(Kind::Class, 1)], now.as_millisecond())?;
    // A clash of two random 50-bit codes is all but impossible; one retry covers it.
    for _ in 0..2 {
        match db::classes::create(pool, name, owner_id, &new_join_code(), now.as_second()).await {
            Err(e) if db::is_unique_violation(&e) => continue,
            other => return Ok(other?),
        }
    }
    Err(StudyError::Internal(anyhow::anyhow!(
        "could not draw a unique join code"
    )))
}

/// The class a typed join code opens, within the budget of wrong codes of `guesser` and of
/// `ip` (see `auth::quota`): a wrong code uses one attempt of each, a right one none.
pub async fn class_for_code(
    pool: &Pool,
    quotas: &Quotas,
    guesser: &Guesser,
    ip: IpAddr,
    code: &str,
    now: Timestamp,
) -> Result<i64, StudyError> {
    let code = normalise_code(code);
    if code.is_empty() {
        return Err(StudyError::Validation(
            "Type the join code your instructor gave you.".to_owned(),
        ));
    }
    // Reserved before the lookup, so that guesses sent at once are all counted.
    let attempt = quotas.begin_code(guesser, ip, now.as_millisecond())?;
    match db::classes::find_by_code(pool, &code).await {
        Ok(Some(class)) => {
            quotas.code_was_right(attempt);
            Ok(class.id)
        }
        Ok(None) => Err(StudyError::Validation(
            "No class has that join code; check it with your instructor.".to_owned(),
        )),
        Err(e) => {
            quotas.code_was_right(attempt);
            Err(e.into())
        }
    }
}

/// Joins the class with this code (see [`class_for_code`]); returns its id.
pub async fn join(
    pool: &Pool,
    quotas: &Quotas,
    user_id: i64,
    ip: IpAddr,
    code: &str,
    now: Timestamp,
) -> Result<i64, StudyError> {
    let class_id = class_for_code(pool, quotas, &Guesser::User(user_id), ip, code, now).await?;
    db::classes::join(pool, class_id, user_id, now.as_second()).await?;
    Ok(class_id)
}

/// Draws a new join code for a class (the old one stops working).
pub async fn regenerate_code(pool: &Pool, class_id: i64) -> Result<(), StudyError> {
    for _ in 0..2 {
        match db::classes::set_join_code(pool, class_id, &new_join_code()).await {
            Err(e) if db::is_unique_violation(&e) => continue,
            other => return Ok(other?),
        }
    }
    Err(StudyError::Internal(anyhow::anyhow!(
        "could not draw a unique join code"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_unambiguous_and_forgiving_to_type() {
        let code = new_join_code();
        assert_eq!(code.len(), CODE_LENGTH);
        assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)));
        assert_ne!(code, new_join_code());
        assert_eq!(normalise_code(" abcd-efgh 23 "), "ABCDEFGH23");
    }
}
