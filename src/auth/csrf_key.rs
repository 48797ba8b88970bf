//! The signed pre-login CSRF token: before a session exists, a form's token is checked against
//! the `studyhall_csrf` cookie (double-submit, see `web::csrf`), and only a token this site
//! signed, and still good, counts. The HTTP side (cookie, form check) is `web::csrf`'s.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt;
use std::sync::Arc;

/// How long a pre-login token is good for, in seconds.
pub const ANON_TTL_SECONDS: i64 = 24 * 3600;
/// Where the database keeps the signing key (see [`AnonKey::load_or_create`]).
const KEY_NAME: &str = "csrf_anon_key";
/// What the signature covers besides the token's own parts, so that this key signs nothing
/// else by accident.
const MAC_CONTEXT: &[u8] = b"studyhall pre-login csrf v1\0";

/// The key that signs pre-login tokens: HMAC-SHA256 over a random nonce and an expiry. It
/// lives in the database (`app_meta`), so every app server of a site signs and checks with
/// the same key, and a token served by one is good on the others.
#[derive(Clone)]
pub struct AnonKey(Arc<[u8; KEY_BYTES]>);

/// The key's length: SHA-256's block, the most of a key HMAC uses as it is.
const KEY_BYTES: usize = 64;

impl fmt::Debug for AnonKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AnonKey(..)")
    }
}

impl AnonKey {
    /// The site's key, made (512 random bits) by the first server ever to start; the servers
    /// starting beside it read the same one back.
    pub async fn load_or_create(pool: &crate::db::Pool) -> anyhow::Result<Self> {
        let fresh = hex::encode(rand::random::<[u8; KEY_BYTES]>());
        crate::db::meta::insert_absent(pool, KEY_NAME, &fresh).await?;
        let stored = crate::db::meta::get(pool, KEY_NAME)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the CSRF signing key was not stored"))?;
        let mut key = [0u8; KEY_BYTES];
        hex::decode_to_slice(stored.trim(), &mut key).map_err(|e| {
            anyhow::anyhow!(
                "the CSRF signing key in app_meta is not {} hex digits: {e}",
                2 * KEY_BYTES
            )
        })?;
        Ok(Self(Arc::new(key)))
    }

    /// The signature of a nonce and an expiry.
    fn mac(&self, nonce: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&(*self.0).into());
        mac.update(MAC_CONTEXT);
        mac.update(nonce.as_bytes());
        mac.update(b".");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    /// A new token, good for a day from `now` (Unix seconds): `nonce.expiry.signature`.
    pub fn mint(&self, now: i64) -> String {
        let nonce = hex::encode(rand::random::<[u8; 16]>());
        let expires = now + ANON_TTL_SECONDS;
        let signature = hex::encode(self.mac(&nonce, expires).finalize().into_bytes());
        format!("{nonce}.{expires}.{signature}")
    }

    /// When `token` expires, if this key signed it and it is still good at `now`.
    pub fn expiry(&self, token: &str, now: i64) -> Option<i64> {
        let mut parts = token.split('.');
        let (nonce, expires, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some()
            || nonce.len() != 32
            || !nonce.bytes().all(|b| b.is_ascii_hexdigit())
            || expires.is_empty()
            || !expires.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let expires: i64 = expires.parse().ok()?;
        let signature = hex::decode(signature).ok()?;
        self.mac(nonce, expires).verify_slice(&signature).ok()?;
        (now < expires && expires <= now + ANON_TTL_SECONDS).then_some(expires)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tokens_this_key_signed_and_not_yet_expired_count() {
        let key = AnonKey(Arc::new([7; KEY_BYTES]));
        let other = AnonKey(Arc::new([8; KEY_BYTES]));
        let now = 1_800_000_000;
        let token = key.mint(now);
        let expires = now + ANON_TTL_SECONDS;
        assert_eq!(key.expiry(&token, now), Some(expires));
        assert_eq!(key.expiry(&token, expires - 1), Some(expires));
        assert_eq!(key.expiry(&token, expires), None, "expired");
        assert_eq!(other.expiry(&token, now), None, "another site's key");
        assert_ne!(key.mint(now), token, "every token has its own nonce");
        // The old rule's shape (64 hex digits) and tokens with a part changed.
        assert_eq!(key.expiry(&"ab".repeat(32), now), None);
        let (nonce, rest) = token.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let later = format!("{nonce}.{}.{signature}", expires + 3600);
        assert_eq!(
            key.expiry(&later, now),
            None,
            "a later expiry breaks the signature"
        );
        let last = if token.ends_with('0') { '1' } else { '0' };
        let flipped = format!("{}{last}", &token[..token.len() - 1]);
        assert_eq!(key.expiry(&flipped, now), None);
        for junk in [
            String::new(),
            "a".to_owned(),
            "..".to_owned(),
            format!("{token}.x"),
            format!("{nonce}.-1.{signature}"),
            format!("{nonce}..{signature}"),
        ] {
            assert_eq!(key.expiry(&junk, now), None, "{junk:?}");
        }
    }
}
