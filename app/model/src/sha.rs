//! [`Sha`]: the identity of a card. Every SHA that reaches git, SQL or HTML goes through
//! [`Sha::parse`], so nothing else ever needs to re-check it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A full 40-character git commit id, stored lowercase.
///
/// Cards are keyed by full SHAs because abbreviated ones become ambiguous as a
/// repository grows, and because "is this the same SHA?" was the question behind
/// incident 4. Constructing one is the only validation a SHA ever needs.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha(String);

/// Why a string is not a [`Sha`]; the message tells the user how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShaError {
    /// Length other than 40.
    #[error("a commit SHA has exactly 40 hexadecimal characters, got {0}; use the full SHA (git rev-parse <commit>)")]
    WrongLength(usize),
    /// A character outside `0-9a-fA-F`.
    #[error("a commit SHA contains only 0-9 and a-f, found {0:?}")]
    NotHex(char),
}

impl Sha {
    /// Parses a full SHA, accepting upper or lower case and normalising to lower case.
    pub fn parse(s: &str) -> Result<Self, ShaError> {
        if let Some(c) = s.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(ShaError::NotHex(c));
        }
        if s.len() != 40 {
            return Err(ShaError::WrongLength(s.chars().count()));
        }
        Ok(Self(s.to_ascii_lowercase()))
    }

    /// The full lowercase SHA.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 7-character abbreviation shown on cards (the full SHA is always one click away).
    pub fn short(&self) -> &str {
        &self.0[..7]
    }
}

impl fmt::Display for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha({})", self.0)
    }
}

/// How SHAs arrive in forms and JSON bodies: surrounding whitespace, as left by a
/// copy and paste, is not the user's mistake.
impl TryFrom<String> for Sha {
    type Error = ShaError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Sha::parse(value.trim())
    }
}

impl From<Sha> for String {
    fn from(value: Sha) -> Self {
        value.0
    }
}

impl std::str::FromStr for Sha {
    type Err = ShaError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sha::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn accepts_exactly_forty_hex_characters() {
        let sha = Sha::parse(FULL).expect("valid sha");
        assert_eq!(sha.as_str(), FULL);
        assert_eq!(sha.short(), "0123456");
    }

    #[test]
    fn normalises_upper_case_to_lower_case() {
        let sha = Sha::parse(&FULL.to_uppercase()).expect("valid sha");
        assert_eq!(sha.as_str(), FULL);
    }

    #[test]
    fn refuses_abbreviated_and_overlong_shas() {
        assert_eq!(Sha::parse(&FULL[..39]), Err(ShaError::WrongLength(39)));
        assert_eq!(Sha::parse(&FULL[..7]), Err(ShaError::WrongLength(7)));
        assert_eq!(
            Sha::parse(&format!("{FULL}0")),
            Err(ShaError::WrongLength(41))
        );
        assert_eq!(Sha::parse(""), Err(ShaError::WrongLength(0)));
    }

    #[test]
    fn refuses_anything_that_is_not_hex() {
        let bad = format!("{}g", &FULL[..39]);
        assert_eq!(Sha::parse(&bad), Err(ShaError::NotHex('g')));
        assert!(Sha::parse(&format!("{};rm -rf /", &FULL[..31])).is_err());
        assert!(Sha::parse(&format!("-{}", &FULL[..39])).is_err());
        assert!(Sha::parse(&format!("{} ", &FULL[..39])).is_err());
        // Non-ASCII digits are not hex, whatever their length in bytes.
        assert!(Sha::parse(&format!("{}é", &FULL[..39])).is_err());
    }

    #[test]
    fn deserialising_goes_through_parse() {
        let ok: Result<Sha, _> = serde_json::from_str(&format!("\"{FULL}\""));
        assert!(ok.is_ok());
        let bad: Result<Sha, _> = serde_json::from_str("\"abc\"");
        assert!(bad.is_err());
    }
}
