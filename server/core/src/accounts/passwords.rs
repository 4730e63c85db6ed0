//! Password hashing: argon2id with OWASP's parameters, always off the async runtime
//! (a hash takes tens of milliseconds of pure CPU).

use anyhow::Context as _;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use std::fmt;
use std::sync::OnceLock;

/// Shortest password accepted.
pub const MIN_LEN: usize = 12;
/// Longest password accepted (argon2 is fine with more; this bounds the work per login).
pub const MAX_LEN: usize = 128;

/// A candidate password. `Debug` never prints it, so it cannot leak into logs.
#[derive(Clone)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Why a new password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than [`MIN_LEN`] characters.
    #[error("a password needs at least {MIN_LEN} characters (got {0}); a passphrase of a few words works well")]
    TooShort(usize),
    /// More than [`MAX_LEN`] characters.
    #[error("a password may have at most {MAX_LEN} characters (got {0})")]
    TooLong(usize),
    /// On the list of common (leaked) passwords.
    #[error("this password is on a list of commonly used, leaked passwords; choose another (a few unrelated words work well)")]
    Common,
}

/// Common passwords of 12+ characters (see `server/core/data/README.md`), lowercase, one per line.
static COMMON: &str = include_str!("../../data/common-passwords.txt");

/// Whether `candidate` (compared in lowercase) is a known common password.
pub fn is_common(candidate: &str) -> bool {
    static SET: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    let set = SET.get_or_init(|| {
        COMMON
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    });
    set.contains(candidate.to_lowercase().as_str())
}

impl Password {
    /// Accepts a new password if its length is within bounds.
    pub fn new(s: String) -> Result<Self, PasswordError> {
        let n = s.chars().count();
        if n < MIN_LEN {
            Err(PasswordError::TooShort(n))
        } else if n > MAX_LEN {
            Err(PasswordError::TooLong(n))
        } else if is_common(&s) {
            Err(PasswordError::Common)
        } else {
            Ok(Self(s))
        }
    }

    /// Wraps a password typed at login: not checked, only compared.
    pub fn candidate(s: String) -> Self {
        Self(s)
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn argon2() -> Argon2<'static> {
    // OWASP: argon2id, m = 19 MiB, t = 2, p = 1.
    let params = Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string (on a blocking thread).
pub async fn hash(password: Password) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("{e}"))
    })
    .await
    .context("failed to join the hashing task")?
    .context("failed to hash a password")
}

/// A hash of a random password, verified against when the user does not exist so that
/// unknown and known user names take the same time.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(b"slipway-no-such-user-placeholder", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Verifies `candidate` against `stored` (or against a dummy hash when there is no
/// user), on a blocking thread. Returns false on any mismatch or malformed hash.
pub async fn verify(stored: Option<String>, candidate: Password) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let exists = stored.is_some();
        let phc = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        let ok = argon2()
            .verify_password(candidate.expose().as_bytes(), &parsed)
            .is_ok();
        ok && exists
    })
    .await
    .context("failed to join the verification task")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_bounds_are_enforced_with_a_helpful_message() {
        assert_eq!(
            Password::new("short".into()).unwrap_err(),
            PasswordError::TooShort(5)
        );
        assert!(Password::new("zq8-kettle-4".into()).is_ok());
        assert!(Password::new(format!("zq8-{}", "k".repeat(124))).is_ok());
        assert_eq!(
            Password::new("x".repeat(129)).unwrap_err(),
            PasswordError::TooLong(129)
        );
        assert!(PasswordError::TooShort(3)
            .to_string()
            .contains("at least 12"));
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        for common in ["123456789012", "PasswordPassword", "qwertyuiopasdfghjkl"] {
            assert_eq!(
                Password::new(common.into()).unwrap_err(),
                PasswordError::Common,
                "{common}"
            );
        }
        assert!(Password::new("violet kettle harbour nine".into()).is_ok());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let p = Password::candidate("hunter2hunter2".into());
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = hash(Password::new("correct horse battery".into()).unwrap())
            .await
            .unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify(
            Some(h.clone()),
            Password::candidate("correct horse battery".into())
        )
        .await
        .unwrap());
        assert!(
            !verify(Some(h), Password::candidate("wrong horse battery".into()))
                .await
                .unwrap()
        );
        assert!(!verify(None, Password::candidate("anything at all".into()))
            .await
            .unwrap());
    }
}
