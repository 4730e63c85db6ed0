//! Identifiers that come from configuration or users and end up in URLs, SQL and
//! file names. Parsing them once means no other layer has to escape or re-check them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an identifier was refused, with what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {value:?} is invalid: {rule}")]
pub struct IdError {
    kind: &'static str,
    value: String,
    rule: &'static str,
}

const SLUG_RULE: &str =
    "use 1 to 63 characters: lowercase letters, digits and '-', starting with a letter or digit";

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

macro_rules! slug_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses the identifier; see the type's documentation for the rule.
            pub fn parse(s: &str) -> Result<Self, IdError> {
                if is_slug(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(IdError { kind: $kind, value: s.to_owned(), rule: SLUG_RULE })
                }
            }

            /// The identifier as written in the configuration.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

slug_id!(
    /// The config id of a pipeline (one service's board). It appears in URLs
    /// (`/pipelines/<id>`), in the mirror's directory name and in history rows, so it is a
    /// URL- and file-safe slug.
    PipelineId,
    "pipeline id"
);

slug_id!(
    /// The config id of a stage (an environment column). History rows are keyed by it,
    /// so a stage removed from the config keeps its history.
    StageId,
    "stage id"
);

/// A login name: 1–64 characters of letters, digits, `.`, `_`, `-`, compared
/// case-insensitively by the store. Restricting the alphabet keeps names readable in the
/// audit log and impossible to confuse with markup.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserName(String);

impl UserName {
    /// Parses a user name.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            && !s.starts_with('-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdError {
                kind: "user name",
                value: s.to_owned(),
                rule: "use 1 to 64 characters: letters, digits, '.', '_' and '-', not starting with '-'",
            })
        }
    }

    /// The name as entered.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for UserName {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<UserName> for String {
    fn from(value: UserName) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_accept_lowercase_digits_and_dashes() {
        assert!(PipelineId::parse("demo-web").is_ok());
        assert!(StageId::parse("qa").is_ok());
        assert!(StageId::parse("eu-west-1").is_ok());
        assert!(PipelineId::parse("9lives").is_ok());
    }

    #[test]
    fn slugs_refuse_what_could_escape_a_url_a_path_or_an_option() {
        for bad in [
            "",
            "-x",
            "Demo",
            "a b",
            "a/b",
            "..",
            "a_b",
            "é",
            &"x".repeat(64),
        ] {
            assert!(PipelineId::parse(bad).is_err(), "{bad:?} should be refused");
            assert!(StageId::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn user_names_allow_common_login_forms_only() {
        assert!(UserName::parse("alice").is_ok());
        assert!(UserName::parse("j.doe_2").is_ok());
        for bad in ["", "-x", "a b", "<script>", "a@b", &"x".repeat(65)] {
            assert!(UserName::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn the_error_says_what_is_allowed() {
        let err = StageId::parse("Prod").unwrap_err().to_string();
        assert!(err.contains("stage id \"Prod\""), "{err}");
        assert!(err.contains("lowercase"), "{err}");
    }
}

macro_rules! row_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name(pub i64);

        impl $name {
            /// The number as stored.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    };
}

// Database ids, each its own type so that one is never passed where another is
// expected (a token id where a deployment's is wanted compiles today as two i64s).
row_id!(
    /// A user's database id.
    UserId
);
row_id!(
    /// A deployment's id, shown to users as `#id`.
    DeploymentId
);
row_id!(
    /// An API token's id (what its owner revokes it by).
    TokenId
);
row_id!(
    /// A login session's id (one browser's sign-in, listed on the profile page).
    LoginId
);
row_id!(
    /// A freeze's id (what ops end it by).
    FreezeId
);
row_id!(
    /// An approval request's id.
    RequestId
);
row_id!(
    /// A queued promotion's id (one waiting for its artifact).
    QueuedId
);
