//! Running it: the metrics endpoint (`[metrics]`) and the log format (`log_format`).

use super::super::raw::RawMetrics;
use super::super::{LogFormat, MetricsConfig};
use super::Validator;
use std::path::Path;
use toml::Spanned;

impl Validator<'_> {
    /// `[metrics]`: a bearer token for `/metrics` on the main address, a separate
    /// address serving it without one, or both. Neither: no metrics anywhere.
    pub(super) fn metrics(&mut self, raw: &RawMetrics, base: &Path) -> MetricsConfig {
        let token = self.secret_source(
            raw.token_env.as_ref(),
            raw.token_file.as_ref(),
            "metrics.token",
            base,
        );
        let listen = raw.listen.as_ref().and_then(|s| {
            s.get_ref()
                .parse()
                .map_err(|_| {
                    self.push(
                        s,
                        "metrics.listen",
                        "expected an address and port like \"127.0.0.1:9464\"",
                    );
                })
                .ok()
        });
        MetricsConfig { token, listen }
    }

    /// `log_format`: `"text"` (the default) or `"json"`.
    pub(super) fn log_format(&mut self, raw: Option<&Spanned<String>>) -> LogFormat {
        match raw.map(|s| (s, s.get_ref().as_str())) {
            None | Some((_, "text")) => LogFormat::Text,
            Some((_, "json")) => LogFormat::Json,
            Some((s, other)) => {
                self.push(
                    s,
                    "log_format",
                    format!("expected \"text\" or \"json\", got {other:?}"),
                );
                LogFormat::Text
            }
        }
    }
}
