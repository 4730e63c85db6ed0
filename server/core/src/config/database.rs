//! Which database Slipway keeps its state in, as the `database_url` scheme says.

use std::fmt;

/// The backends `database_url` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// Embedded SQLite: one file, one Slipway process.
    Sqlite,
    /// PostgreSQL: shared by several replicas.
    Postgres,
}

/// A validated `database_url`: its kind is known, and its password (if the URL carries
/// one) never reaches a log or an error through `Debug`/`Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    kind: DatabaseKind,
    url: String,
}

impl DatabaseUrl {
    /// What `database_url` must look like, for error messages.
    pub const EXPECTED: &'static str =
        "expected \"sqlite:///path/to/slipway.db\" (one process) or \
         \"postgres://user@host:5432/database\" (several replicas)";

    /// Reads the URL's scheme; `None` for a scheme Slipway cannot use.
    pub fn parse(url: &str) -> Option<Self> {
        let kind = if url.starts_with("sqlite:") {
            DatabaseKind::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            DatabaseKind::Postgres
        } else {
            return None;
        };
        Some(Self {
            kind,
            url: url.to_owned(),
        })
    }

    /// The SQLite database in the file at `path` (the default, in the data directory).
    pub fn sqlite_file(path: &std::path::Path) -> Self {
        Self {
            kind: DatabaseKind::Sqlite,
            url: format!("sqlite://{}", path.display()),
        }
    }

    /// Which backend the URL names.
    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    /// The URL as written, credentials included: for the driver only.
    pub fn expose(&self) -> &str {
        &self.url
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::repos::git::redact_userinfo(&self.url))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_picks_the_backend_and_others_are_refused() {
        let kind = |u: &str| DatabaseUrl::parse(u).map(|d| d.kind());
        assert_eq!(
            kind("sqlite:///var/lib/slipway.db"),
            Some(DatabaseKind::Sqlite)
        );
        assert_eq!(kind("sqlite::memory:"), Some(DatabaseKind::Sqlite));
        assert_eq!(
            kind("postgres://slipway@db/slipway"),
            Some(DatabaseKind::Postgres)
        );
        assert_eq!(
            kind("postgresql://db/slipway"),
            Some(DatabaseKind::Postgres)
        );
        assert_eq!(kind("mysql://db/slipway"), None);
        assert_eq!(kind("/var/lib/slipway.db"), None);
    }

    #[test]
    fn a_password_in_the_url_is_never_shown() {
        let url = DatabaseUrl::parse("postgres://slipway:hunter2@db:5432/slipway").expect("valid");
        assert!(!url.to_string().contains("hunter2"), "{url}");
        assert!(!format!("{url:?}").contains("hunter2"), "{url:?}");
        assert!(url.expose().contains("hunter2"));
    }
}
