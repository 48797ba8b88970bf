//! Students' e-mail addresses and the single-use tokens sent to them (migration 0029).

use super::Executor;
use sqlx::FromRow;

/// A student's address.
#[derive(Debug, Clone, FromRow)]
pub struct AddressRow {
    /// The address as typed.
    pub address: String,
    /// When it was confirmed (Unix seconds), if it was.
    pub confirmed_at: Option<i64>,
}

/// The address of `user_id`, if they gave one.
pub async fn address_of(
    db: impl Executor<'_>,
    user_id: i64,
) -> Result<Option<AddressRow>, sqlx::Error> {
    sqlx::query_as("SELECT address, confirmed_at FROM mail_addresses WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(db)
        .await
}

/// Sets the address of `user_id`, unconfirmed.
pub async fn set_address(
    db: impl Executor<'_>,
    user_id: i64,
    address: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO mail_addresses (user_id, address, confirmed_at, created_at)
         VALUES ($1, $2, NULL, $3)
         ON CONFLICT (user_id) DO UPDATE SET address = $2, confirmed_at = NULL, created_at = $3",
    )
    .bind(user_id)
    .bind(address)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Marks the address of `user_id` confirmed, if it is still `address`. Returns whether it was.
pub async fn confirm_address(
    db: impl Executor<'_>,
    user_id: i64,
    address: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE mail_addresses SET confirmed_at = $3 WHERE user_id = $1 AND address = $2",
    )
    .bind(user_id)
    .bind(address)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// Removes the address of `user_id`.
pub async fn remove_address(db: impl Executor<'_>, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM mail_addresses WHERE user_id = $1")
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}

/// An account a password reset may be for: its id, name, password hash and confirmed address.
#[derive(Debug, Clone, FromRow)]
pub struct ResetTarget {
    /// The account.
    pub user_id: i64,
    /// Its login name.
    pub username: String,
    /// Its password hash now (stamped into the token).
    pub password_hash: String,
    /// Its confirmed address.
    pub address: String,
}

/// The enabled accounts with a confirmed address whose login name or address is `typed`.
pub async fn reset_targets(
    db: impl Executor<'_>,
    typed: &str,
) -> Result<Vec<ResetTarget>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id AS user_id, u.username, u.password_hash, m.address
         FROM users u JOIN mail_addresses m ON m.user_id = u.id
         WHERE m.confirmed_at IS NOT NULL AND u.disabled = 0
           AND (lower(u.username) = lower($1) OR lower(m.address) = lower($1))
         ORDER BY u.id LIMIT 5",
    )
    .bind(typed)
    .fetch_all(db)
    .await
}

/// A token to store (its hash only).
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    /// SHA-256 of the token, hex.
    pub hash: &'a str,
    /// Whose.
    pub user_id: i64,
    /// `confirm` or `reset`.
    pub purpose: &'a str,
    /// The address it was sent to.
    pub address: &'a str,
    /// A digest of the password hash it was issued under.
    pub password_stamp: &'a str,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Stores a token, voiding the earlier unused tokens of the same purpose for that account
/// (only the newest request's link works).
pub async fn add_token(db: &mut super::Conn, token: &NewToken<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE mail_tokens SET used_at = $3
         WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
    )
    .bind(token.user_id)
    .bind(token.purpose)
    .bind(token.created_at)
    .execute(&mut *db)
    .await?;
    sqlx::query("DELETE FROM mail_tokens WHERE expires_at < $1")
        .bind(token.created_at - 86_400)
        .execute(&mut *db)
        .await?;
    sqlx::query(
        "INSERT INTO mail_tokens (token_hash, user_id, purpose, address, password_stamp,
                                  created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(token.hash)
    .bind(token.user_id)
    .bind(token.purpose)
    .bind(token.address)
    .bind(token.password_stamp)
    .bind(token.created_at)
    .bind(token.expires_at)
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// A stored token that is still usable.
#[derive(Debug, Clone, FromRow)]
pub struct TokenRow {
    /// Whose.
    pub user_id: i64,
    /// The address it was sent to.
    pub address: String,
    /// The password-hash digest it was issued under.
    pub password_stamp: String,
    /// The account's password hash now.
    pub password_hash: String,
}

/// The unused, unexpired token of `purpose` whose hash is `hash`, with its account's password
/// hash now.
pub async fn live_token(
    db: impl Executor<'_>,
    hash: &str,
    purpose: &str,
    now: i64,
) -> Result<Option<TokenRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.user_id, t.address, t.password_stamp, u.password_hash
         FROM mail_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL
           AND t.expires_at > $3 AND u.disabled = 0",
    )
    .bind(hash)
    .bind(purpose)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Uses a token up. False when it was used already (by a request at the same moment).
pub async fn use_token(db: impl Executor<'_>, hash: &str, now: i64) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query(
            "UPDATE mail_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
        )
        .bind(hash)
        .bind(now)
        .execute(db)
        .await?
        .rows_affected()
            == 1,
    )
}
