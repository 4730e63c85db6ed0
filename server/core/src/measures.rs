//! What Slipway counts for Prometheus, through the `metrics` facade: the names live
//! here, the events that move them are recorded where they happen (a deployment's end,
//! a refused promotion), and the server renders them at `/metrics`. Labels are config
//! ids and closed vocabularies only, so their number stays bounded.

use crate::store::Deployment;
use slipway_model::deployment::DeploymentState;
use slipway_model::error::RefusalKind;

/// Deployments that ended, by pipeline, stage and outcome (`succeeded`, `failed`, …).
pub const DEPLOYMENTS: &str = "slipway_deployments_total";
/// How long deployments took, from the request to the end (the queue wait is part of
/// what a promoter waits for), by pipeline, stage and outcome.
pub const DEPLOY_DURATION: &str = "slipway_deploy_duration_seconds";
/// Promotions, rollbacks and approvals refused, by the gate (or rule) that refused.
pub const REFUSALS: &str = "slipway_gate_refusals_total";

/// Deployment `d` ended in `end` at `at`.
pub fn deployment_ended(d: &Deployment, end: DeploymentState, at: time::OffsetDateTime) {
    let labels = [
        metrics::Label::new("pipeline", d.pipeline.clone()),
        metrics::Label::new("stage", d.stage.clone()),
        metrics::Label::new("outcome", end.as_str()),
    ];
    metrics::counter!(DEPLOYMENTS, labels.iter()).increment(1);
    let seconds = (at - d.created_at).as_seconds_f64().max(0.0);
    metrics::histogram!(DEPLOY_DURATION, labels.iter()).record(seconds);
}

/// A command was refused by `kind`.
pub fn refused(kind: RefusalKind) {
    metrics::counter!(REFUSALS, "gate" => kind.as_str()).increment(1);
}

/// Whether `presented` is the metrics token `source` holds now (read at each scrape,
/// so a rotated token takes effect at once). Digests are compared, so the time taken
/// says nothing about how much of the token matched.
pub fn token_matches(source: &crate::config::SecretSource, presented: &str) -> bool {
    use sha2::{Digest as _, Sha256};
    match source.read() {
        Ok(token) => Sha256::digest(&token) == Sha256::digest(presented.as_bytes()),
        Err(e) => {
            tracing::warn!(error = %e, "the metrics token cannot be read; refusing the scrape");
            false
        }
    }
}
