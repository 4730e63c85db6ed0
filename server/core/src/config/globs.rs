//! Path globs from the config (`migrations = ["migrations/**"]`), compiled once.

use globset::{GlobSet, GlobSetBuilder};

/// A set of path globs, matched against repository-relative paths (`/`-separated).
/// `*` stays within one folder; `**` crosses folders.
#[derive(Debug, Clone)]
pub struct PathGlobs {
    patterns: Vec<String>,
    set: GlobSet,
}

impl PathGlobs {
    /// Compiles `patterns`; the error names the pattern and what is wrong with it.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, String> {
        let mut builder = GlobSetBuilder::new();
        for p in patterns {
            let p = p.as_ref();
            let glob = globset::GlobBuilder::new(p)
                .literal_separator(true)
                .build()
                .map_err(|e| format!("{p:?} is not a valid glob: {}", e.kind()))?;
            builder.add(glob);
        }
        let set = builder
            .build()
            .map_err(|e| format!("the globs could not be compiled: {e}"))?;
        Ok(PathGlobs {
            patterns: patterns.iter().map(|p| p.as_ref().to_owned()).collect(),
            set,
        })
    }

    /// No globs: nothing matches.
    pub fn none() -> Self {
        PathGlobs {
            patterns: Vec::new(),
            set: GlobSet::empty(),
        }
    }

    /// The patterns as written.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether no pattern is given (nothing ever matches).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `path` matches any pattern.
    pub fn matches(&self, path: &str) -> bool {
        self.set.is_match(path)
    }
}

impl PartialEq for PathGlobs {
    fn eq(&self, other: &Self) -> bool {
        self.patterns == other.patterns
    }
}

impl Eq for PathGlobs {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_migration_globs_match_migration_folders_at_any_depth() {
        let globs = PathGlobs::new(crate::config::defaults::MIGRATIONS).expect("valid");
        for path in [
            "migrations/001_init.sql",
            "migrations/sqlite/2024_users.sql",
            "db/migrate/20240101_add.rb",
            "services/billing/migrations/0002.sql",
        ] {
            assert!(globs.matches(path), "{path}");
        }
        for path in [
            "src/migrations.rs",
            "docs/db/migrate.md",
            "README.md",
            "migrations",
        ] {
            assert!(!globs.matches(path), "{path}");
        }
    }

    #[test]
    fn a_single_star_stays_within_one_folder() {
        let globs = PathGlobs::new(&["schema/*.sql"]).expect("valid");
        assert!(globs.matches("schema/a.sql"));
        assert!(!globs.matches("schema/old/a.sql"));
    }

    #[test]
    fn an_invalid_glob_is_named_in_the_error() {
        let err = PathGlobs::new(&["migrations/[a"]).unwrap_err();
        assert!(
            err.contains("\"migrations/[a\" is not a valid glob"),
            "{err}"
        );
    }
}
