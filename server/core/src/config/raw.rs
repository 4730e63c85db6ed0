//! The raw, span-carrying shapes of `slipway.toml`, as serde reads them.
//!
//! Every value keeps its byte span (`toml::Spanned`) so validation can point at it,
//! and unknown keys are refused here (a typo is an error, never silently ignored).

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) listen: Option<Spanned<String>>,
    pub(super) base_url: Option<Spanned<String>>,
    pub(super) data_dir: Option<Spanned<String>>,
    pub(super) database_url: Option<Spanned<String>>,
    pub(super) site_dir: Option<Spanned<String>>,
    pub(super) shutdown_grace_seconds: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) trusted_proxies: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) sessions: RawSessions,
    #[serde(default)]
    pub(super) http: RawHttp,
    #[serde(default)]
    pub(super) cluster: RawCluster,
    #[serde(default)]
    pub(super) metrics: RawMetrics,
    pub(super) log_format: Option<Spanned<String>>,
    pub(super) github: Option<Spanned<RawGitHub>>,
    #[serde(default)]
    pub(super) pipelines: Vec<Spanned<RawPipeline>>,
}

/// `[github]`: what Slipway needs from GitHub as a whole: the webhook secret, the API's
/// address and the credentials (a token, or a GitHub App's installation).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGitHub {
    pub(super) webhook_secret_env: Option<Spanned<String>>,
    pub(super) webhook_secret_file: Option<Spanned<String>>,
    pub(super) api_url: Option<Spanned<String>>,
    pub(super) token_env: Option<Spanned<String>>,
    pub(super) token_file: Option<Spanned<String>>,
    pub(super) app_id: Option<Spanned<i64>>,
    pub(super) app_key_file: Option<Spanned<String>>,
    pub(super) installation_id: Option<Spanned<i64>>,
}

/// A pipeline's `github`: the repository on GitHub its commits come from, and the checks
/// a SHA needs green there.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPipelineGitHub {
    pub(super) repository: Spanned<String>,
    pub(super) branch: Option<Spanned<String>>,
    pub(super) api_url: Option<Spanned<String>>,
    pub(super) required_checks: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSessions {
    pub(super) inactivity_minutes: Option<Spanned<i64>>,
    pub(super) absolute_hours: Option<Spanned<i64>>,
}

/// `[metrics]`: who may read `/metrics`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    pub(super) token_env: Option<Spanned<String>>,
    pub(super) token_file: Option<Spanned<String>>,
    pub(super) listen: Option<Spanned<String>>,
}

/// `[cluster]`: replicas sharing a PostgreSQL database.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCluster {
    pub(super) replica_timeout_seconds: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    pub(super) header_timeout_seconds: Option<Spanned<i64>>,
    pub(super) max_connections: Option<Spanned<i64>>,
    pub(super) drain_seconds: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPipeline {
    pub(super) id: Spanned<String>,
    pub(super) name: Option<Spanned<String>>,
    pub(super) repository: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) branch: Option<Spanned<String>>,
    pub(super) fetch_interval_seconds: Option<Spanned<i64>>,
    pub(super) stages: Spanned<Vec<Spanned<RawStage>>>,
    #[serde(default)]
    pub(super) freezes: Vec<Spanned<RawFreeze>>,
    #[serde(default)]
    pub(super) calendars: Vec<Spanned<RawCalendar>>,
    pub(super) migrations: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) artifact: Option<Spanned<RawArtifact>>,
    pub(super) ci: Option<Spanned<RawArtifact>>,
    #[serde(default)]
    pub(super) webhooks: Vec<Spanned<RawWebhook>>,
    pub(super) github: Option<Spanned<RawPipelineGitHub>>,
}

/// An outgoing webhook: where, in which format, signed with which key, for which events.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhook {
    pub(super) id: Spanned<String>,
    pub(super) url: Spanned<String>,
    pub(super) format: Option<Spanned<String>>,
    pub(super) secret_env: Option<Spanned<String>>,
    pub(super) events: Option<Spanned<Vec<Spanned<String>>>>,
}

/// An artifact check: a URL template (`{sha}` replaced) or a command (`SLIPWAY_SHA`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawArtifact {
    pub(super) url: Option<Spanned<String>>,
    pub(super) command: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) timeout_seconds: Option<Spanned<i64>>,
    pub(super) wait_minutes: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCalendar {
    pub(super) source: Spanned<String>,
    pub(super) stages: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) refresh_minutes: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFreeze {
    pub(super) from: Spanned<String>,
    pub(super) until: Spanned<String>,
    pub(super) reason: Spanned<String>,
    pub(super) stages: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWindow {
    pub(super) days: Spanned<String>,
    pub(super) from: Spanned<String>,
    pub(super) to: Spanned<String>,
    pub(super) time_zone: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStage {
    pub(super) id: Spanned<String>,
    pub(super) label: Option<Spanned<String>>,
    pub(super) production: Option<Spanned<bool>>,
    pub(super) promote_roles: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) rollback_roles: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) fast_forward_only: Option<Spanned<bool>>,
    pub(super) sign_off: Option<Spanned<RawSignOff>>,
    pub(super) checklist: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) windows: Option<Spanned<Vec<Spanned<RawWindow>>>>,
    pub(super) approval: Option<Spanned<RawApproval>>,
    pub(super) health: Option<Spanned<RawProbe>>,
    pub(super) version: Option<Spanned<RawVersionProbe>>,
    pub(super) smoke: Option<Spanned<RawSmoke>>,
    pub(super) requires_healthy: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) artifact: Option<Spanned<RawArtifact>>,
    pub(super) deployer: Spanned<RawDeployer>,
}

/// A version probe: a probe whose answer names the SHA the environment runs.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVersionProbe {
    pub(super) url: Option<Spanned<String>>,
    pub(super) command: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) json_pointer: Option<Spanned<String>>,
    pub(super) regex: Option<Spanned<String>>,
    pub(super) interval_seconds: Option<Spanned<i64>>,
    pub(super) timeout_seconds: Option<Spanned<i64>>,
    pub(super) verify_timeout_seconds: Option<Spanned<i64>>,
}

/// A command run after a deploy command succeeded, on stages without a version probe.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmoke {
    pub(super) command: Spanned<Vec<Spanned<String>>>,
    pub(super) timeout_seconds: Option<Spanned<i64>>,
}

impl RawVersionProbe {
    /// The probe part alone.
    pub(super) fn probe(&self) -> RawProbe {
        RawProbe {
            url: self.url.clone(),
            command: self.command.clone(),
            interval_seconds: self.interval_seconds.clone(),
            timeout_seconds: self.timeout_seconds.clone(),
        }
    }
}

/// A probe: a URL (2xx answers) or a command (exit 0), polled.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProbe {
    pub(super) url: Option<Spanned<String>>,
    pub(super) command: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) interval_seconds: Option<Spanned<i64>>,
    pub(super) timeout_seconds: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApproval {
    pub(super) roles: Spanned<Vec<Spanned<String>>>,
    pub(super) four_eyes: Option<Spanned<bool>>,
    pub(super) valid_minutes: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSignOff {
    pub(super) roles: Spanned<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeployer {
    pub(super) command: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) http: Option<Spanned<RawHttpDeployer>>,
    pub(super) github_actions: Option<Spanned<RawActionsDeployer>>,
    pub(super) github_external: Option<Spanned<RawExternalDeployer>>,
    #[serde(default)]
    pub(super) env: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub(super) pass_env: Vec<Spanned<String>>,
    pub(super) workdir: Option<Spanned<String>>,
    pub(super) timeout_seconds: Option<Spanned<i64>>,
    pub(super) max_log_bytes: Option<Spanned<i64>>,
    pub(super) retry: Option<Spanned<RawRetry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttpDeployer {
    pub(super) url: Spanned<String>,
    pub(super) secret_env: Option<Spanned<String>>,
    pub(super) poll_interval_seconds: Option<Spanned<i64>>,
}

/// A deploy run by a GitHub Actions workflow (`workflow_dispatch`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawActionsDeployer {
    pub(super) workflow: Spanned<String>,
    #[serde(rename = "ref")]
    pub(super) git_ref: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) inputs: BTreeMap<String, Spanned<String>>,
    pub(super) poll_interval_seconds: Option<Spanned<i64>>,
}

/// A deploy run by a CD system outside Slipway that reports on the GitHub Deployment.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExternalDeployer {
    pub(super) poll_interval_seconds: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetry {
    #[serde(default)]
    pub(super) exit_codes: Vec<Spanned<i64>>,
    #[serde(default)]
    pub(super) log_patterns: Vec<Spanned<String>>,
    pub(super) max_attempts: Option<Spanned<i64>>,
    pub(super) backoff_seconds: Option<Spanned<i64>>,
}
