//! Server-side sessions. The cookie holds 256 random bits; the database holds only their
//! SHA-256, so a copy of the database cannot be used to log in.

use sha2::{Digest, Sha256};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "studyhall_session";
/// How long a session lasts.
pub const SESSION_DAYS: i64 = 30;

/// 256 random bits, hex-encoded.
pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// What the database stores for a token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = random_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_token());
        assert_eq!(token_hash(&a).len(), 32);
        assert_ne!(token_hash(&a), a.as_bytes());
    }
}
