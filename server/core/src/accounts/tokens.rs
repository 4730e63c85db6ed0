//! API tokens: generation and hashing. The plaintext exists only in the response that
//! creates it; storage keeps a SHA-256 hash and a short display prefix.

use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};

/// Every token starts with this, so leaked tokens are easy to recognise and scan for.
pub const PREFIX: &str = "slw_";

/// A new random token (`slw_` + 40 alphanumerics, ~238 bits).
pub fn generate() -> String {
    let body: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    format!("{PREFIX}{body}")
}

/// A new one-time setup token (64 hex characters, 256 bits), for the first-admin link.
pub fn generate_setup() -> String {
    let bytes: [u8; 32] = rand::thread_rng().gen();
    hex::encode(bytes)
}

/// Letters and digits that cannot be confused with each other when read aloud or
/// copied by hand (no 0/O, 1/l/I).
const UNAMBIGUOUS: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A temporary password an admin hands over (`xxxxx-xxxxx-xxxxx-xxxxx`, ~113 bits).
/// The user must replace it at their first login.
pub fn temporary_password() -> String {
    let mut rng = rand::thread_rng();
    (0..4)
        .map(|_| {
            (0..5)
                .map(|_| char::from(UNAMBIGUOUS[rng.gen_range(0..UNAMBIGUOUS.len())]))
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The stored form of a token.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The part shown in token lists.
pub fn display_prefix(token: &str) -> String {
    token.chars().take(PREFIX.len() + 6).collect()
}

/// Whether a string could be a token at all (cheap check before a lookup).
pub fn looks_valid(token: &str) -> bool {
    token.len() == PREFIX.len() + 40
        && token.starts_with(PREFIX)
        && token[PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_tokens_and_temporary_passwords_are_random_and_well_formed() {
        let (a, b) = (generate_setup(), generate_setup());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        let p = temporary_password();
        assert_eq!(p.len(), 23, "{p}");
        assert_eq!(p.matches('-').count(), 3, "{p}");
        assert!(
            super::super::passwords::Password::new(p.clone()).is_ok(),
            "a temporary password must pass the password rules: {p}"
        );
        assert_ne!(p, temporary_password());
    }

    #[test]
    fn tokens_are_random_prefixed_and_hash_stably() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert!(looks_valid(&a), "{a}");
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), hash(&b));
        assert_eq!(hash(&a).len(), 64);
        assert_eq!(display_prefix(&a).len(), 10);
        assert!(!looks_valid("slw_short"));
        assert!(!looks_valid(&format!("xyz_{}", &a[4..])));
    }
}
