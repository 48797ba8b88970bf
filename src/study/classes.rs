//! Classes: creating them with an unguessable join code, joining and leaving.

use super::StudyError;
use crate::db;
use crate::db::Pool;

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

/// Creates a class run by `owner_id`; returns its id.
pub async fn create(pool: &Pool, name: &str, owner_id: i64, now: i64) -> Result<i64, StudyError> {
    let name = crate::domain::one_line_name(name, "A class", 120)?;
    let name = name.as_str();
    // A clash of two random 50-bit codes is all but impossible; one retry covers it.
    for _ in 0..2 {
        match db::classes::create(pool, name, owner_id, &new_join_code(), now).await {
            Err(e) if db::is_unique_violation(&e) => continue,
            other => return Ok(other?),
        }
    }
    Err(StudyError::Internal(anyhow::anyhow!(
        "could not draw a unique join code"
    )))
}

/// Joins the class with this code; returns its id.
pub async fn join(pool: &Pool, user_id: i64, code: &str, now: i64) -> Result<i64, StudyError> {
    let class = db::classes::find_by_code(pool, &normalise_code(code))
        .await?
        .ok_or_else(|| {
            StudyError::Validation(
                "No class has that join code; check it with your instructor.".to_owned(),
            )
        })?;
    db::classes::join(pool, class.id, user_id, now).await?;
    Ok(class.id)
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
