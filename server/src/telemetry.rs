//! Logging set-up: lines on stderr, filtered by `RUST_LOG` (default `info`), for people
//! (`log_format = "text"`, the default) or for log collectors (`"json"`: one object per
//! line, with the request's id and span fields). Secrets never reach a log line:
//! passwords are wrapped in a type whose `Debug` is redacted, repository and database
//! URLs are stripped of credentials, and request spans carry the path without its query.

use slipway_core::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (once; later calls are ignored).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}
