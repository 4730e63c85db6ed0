//! Logging set-up: human-readable lines on stderr, filtered by `RUST_LOG`
//! (default `info`). Secrets never reach a log line: passwords are wrapped in a type
//! whose `Debug` is redacted, and repository URLs are stripped of credentials.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (once; later calls are ignored).
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
