//! Sign-on: identities at OpenID providers (keyed by issuer and subject), logins under way,
//! and the ID token each signed-on session logs out with.

use crate::db::Executor;
use sqlx::FromRow;

/// A login under way (see the migration `0028_identities.sql`).
#[derive(Debug, Clone, FromRow)]
pub struct FlowRow {
    /// SHA-256 of the `state` sent to the provider.
    pub state_hash: Vec<u8>,
    /// SHA-256 of the browser's flow cookie.
    pub browser_hash: Vec<u8>,
    /// The provider's key.
    pub provider: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier.
    pub pkce_verifier: String,
    /// The signed-in user linking this provider, if it is a link.
    pub link_user_id: Option<i64>,
    /// Where to go afterwards (a join link), or empty.
    pub next: String,
    /// The address that started it (`auth::throttle::client_key`).
    pub client: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// The browser's time zone (a checked IANA name), or empty.
    pub time_zone: String,
}

/// Stores a login under way, dropping the expired ones.
pub async fn insert_flow(
    db: &mut crate::db::Conn,
    flow: &FlowRow,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sign_on_flows WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *db)
        .await?;
    sqlx::query(
        "INSERT INTO sign_on_flows
             (state_hash, browser_hash, provider, nonce, pkce_verifier, link_user_id, next,
              client, expires_at, time_zone)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&flow.state_hash)
    .bind(&flow.browser_hash)
    .bind(&flow.provider)
    .bind(&flow.nonce)
    .bind(&flow.pkce_verifier)
    .bind(flow.link_user_id)
    .bind(&flow.next)
    .bind(&flow.client)
    .bind(flow.expires_at)
    .bind(&flow.time_zone)
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// Drops the `n` logins under way that expire first (the site holds too many).
pub async fn drop_oldest_flows(db: &mut crate::db::Conn, n: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM sign_on_flows WHERE state_hash IN (
             SELECT state_hash FROM sign_on_flows ORDER BY expires_at, state_hash LIMIT $1)",
    )
    .bind(n)
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// Logins under way (unexpired at `now`): from `client`, and in all.
pub async fn flows_under_way(
    db: &mut crate::db::Conn,
    client: &str,
    now: i64,
) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN client = $1 THEN 1 ELSE 0 END), 0), COUNT(*)
         FROM sign_on_flows WHERE expires_at > $2",
    )
    .bind(client)
    .bind(now)
    .fetch_one(&mut *db)
    .await
}

/// Takes (deletes and returns) the login under way with this state: a state is good once.
pub async fn take_flow(
    db: impl Executor<'_>,
    state_hash: &[u8],
) -> Result<Option<FlowRow>, sqlx::Error> {
    sqlx::query_as(
        "DELETE FROM sign_on_flows WHERE state_hash = $1
         RETURNING state_hash, browser_hash, provider, nonce, pkce_verifier, link_user_id, next,
                   client, expires_at, time_zone",
    )
    .bind(state_hash)
    .fetch_optional(db)
    .await
}

/// An identity linked to an account.
#[derive(Debug, Clone, FromRow)]
pub struct IdentityRow {
    /// Id.
    pub id: i64,
    /// The account.
    pub user_id: i64,
    /// The provider's key when it was linked.
    pub provider: String,
    /// The issuer.
    pub issuer: String,
    /// The subject at the issuer.
    pub subject: String,
    /// The verified e-mail last seen (empty: none yet).
    pub email: String,
    /// The name last seen.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub last_login_at: i64,
    /// 1 once the identity gave the account an address (it never gives one again after the
    /// user removed it).
    pub gave_address: i64,
}

const IDENTITY_COLUMNS: &str =
    "id, user_id, provider, issuer, subject, email, name, created_at, last_login_at, gave_address";

/// The identity with this issuer and subject.
pub async fn find(
    db: impl Executor<'_>,
    issuer: &str,
    subject: &str,
) -> Result<Option<IdentityRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {IDENTITY_COLUMNS} FROM identities WHERE issuer = $1 AND subject = $2"
    )))
    .bind(issuer)
    .bind(subject)
    .fetch_optional(db)
    .await
}

/// A new identity of a user.
#[derive(Debug)]
pub struct NewIdentity<'a> {
    /// The account.
    pub user_id: i64,
    /// The provider's key.
    pub provider: &'a str,
    /// The issuer.
    pub issuer: &'a str,
    /// The subject.
    pub subject: &'a str,
    /// The e-mail claim, or empty.
    pub email: &'a str,
    /// The name claim, or empty.
    pub name: &'a str,
}

/// Links an identity to an account.
pub async fn insert(
    db: impl Executor<'_>,
    identity: &NewIdentity<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO identities
             (user_id, provider, issuer, subject, email, name, created_at, last_login_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(identity.user_id)
    .bind(identity.provider)
    .bind(identity.issuer)
    .bind(identity.subject)
    .bind(identity.email)
    .bind(identity.name)
    .bind(now)
    .fetch_one(db)
    .await
}

/// Records a login through an identity, with the name the provider sent now and its verified
/// e-mail (empty: none verified this time, and the last verified one stays, so the account's
/// address can still follow the next one).
pub async fn seen(
    db: impl Executor<'_>,
    id: i64,
    email: &str,
    name: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE identities SET email = CASE WHEN $2 = '' THEN email ELSE $2 END, name = $3,
                               last_login_at = $4
         WHERE id = $1",
    )
    .bind(id)
    .bind(email)
    .bind(name)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Whether `user_id` has an identity at `issuer` (under any subject).
pub async fn has_issuer(
    db: impl Executor<'_>,
    user_id: i64,
    issuer: &str,
) -> Result<bool, sqlx::Error> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM identities WHERE user_id = $1 AND issuer = $2 LIMIT 1")
            .bind(user_id)
            .bind(issuer)
            .fetch_optional(db)
            .await?;
    Ok(found.is_some())
}

/// A user's identities, oldest first.
pub async fn of_user(db: impl Executor<'_>, user_id: i64) -> Result<Vec<IdentityRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {IDENTITY_COLUMNS} FROM identities WHERE user_id = $1 ORDER BY id"
    )))
    .bind(user_id)
    .fetch_all(db)
    .await
}

/// Records that identity `id` gave its account an address.
pub async fn mark_gave_address(db: impl Executor<'_>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE identities SET gave_address = 1 WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Unlinks one of a user's identities, remembering its (issuer, subject) as unlinked from
/// that account; false if it is not theirs.
pub async fn delete(
    db: &mut crate::db::Conn,
    user_id: i64,
    id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let gone: Option<(String, String)> = sqlx::query_as(
        "DELETE FROM identities WHERE id = $1 AND user_id = $2 RETURNING issuer, subject",
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(&mut *db)
    .await?;
    let Some((issuer, subject)) = gone else {
        return Ok(false);
    };
    sqlx::query(
        "INSERT INTO unlinked_identities (issuer, subject, user_id, unlinked_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (issuer, subject, user_id) DO UPDATE SET unlinked_at = $4",
    )
    .bind(&issuer)
    .bind(&subject)
    .bind(user_id)
    .bind(now)
    .execute(&mut *db)
    .await?;
    Ok(true)
}

/// Whether an admin once unlinked (`issuer`, `subject`) from `user_id`'s account.
pub async fn was_unlinked(
    db: impl Executor<'_>,
    issuer: &str,
    subject: &str,
    user_id: i64,
) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT user_id FROM unlinked_identities
         WHERE issuer = $1 AND subject = $2 AND user_id = $3",
    )
    .bind(issuer)
    .bind(subject)
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}

/// Remembers the ID token a new session signed on with (for logging out at the provider).
pub async fn remember_session(
    db: impl Executor<'_>,
    token_hash: &[u8],
    provider: &str,
    id_token: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sign_on_sessions (session_id, provider, id_token)
         SELECT id, $2, $3 FROM sessions WHERE token_hash = $1",
    )
    .bind(token_hash)
    .bind(provider)
    .bind(id_token)
    .execute(db)
    .await?;
    Ok(())
}

/// The provider and ID token a session signed on with, if it did.
pub async fn session_sign_on(
    db: impl Executor<'_>,
    session_id: i64,
) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT provider, id_token FROM sign_on_sessions WHERE session_id = $1")
        .bind(session_id)
        .fetch_optional(db)
        .await
}
