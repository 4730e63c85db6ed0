//! Everything wrong with a config file, each problem located at file:line:column with
//! its key path, so an operator sees every mistake at once.

use std::fmt;
use std::path::PathBuf;

/// Everything wrong with a config file.
#[derive(Debug, Clone)]
pub struct ConfigError {
    /// The file that was read.
    pub file: PathBuf,
    /// Each problem found, in file order.
    pub problems: Vec<Problem>,
}

/// One problem, located.
#[derive(Debug, Clone)]
pub struct Problem {
    /// 1-based line (0 when the file could not be read at all).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The key path, e.g. `pipelines[0].stages[2].promote_roles`.
    pub key: String,
    /// What is wrong and what is expected.
    pub message: String,
    /// The offending source line, for context.
    pub snippet: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(
            f,
            "invalid configuration in {} ({n} problem{}):",
            self.file.display(),
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            if p.line == 0 {
                writeln!(f, "  {}: {}", self.file.display(), p.message)?;
                continue;
            }
            let key = if p.key.is_empty() {
                String::new()
            } else {
                format!(" `{}`", p.key)
            };
            writeln!(
                f,
                "  {}:{}:{}:{key} {}",
                self.file.display(),
                p.line,
                p.column,
                p.message
            )?;
            if let Some(s) = &p.snippet {
                writeln!(f, "      | {s}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}
