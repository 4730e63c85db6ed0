//! JSON shapes the API returns that more than one handler module uses.

use serde::Serialize;
use slipway_core::store::Deployment;
use slipway_model::deployment::{DeploymentKind, DeploymentState};
use slipway_model::DeploymentId;
use utoipa::ToSchema;

/// A deployment as the API returns it.
#[derive(Serialize, ToSchema)]
pub struct DeploymentJson {
    id: DeploymentId,
    pipeline: String,
    stage: String,
    sha: String,
    previous_sha: Option<String>,
    kind: DeploymentKind,
    state: DeploymentState,
    requested_by: Option<String>,
    reason: Option<String>,
    created_at: String,
    started_at: Option<String>,
    finished_at: Option<String>,
    exit_code: Option<i32>,
    /// The checklist items the promoter confirmed, where the stage has a checklist.
    checklist: Option<Vec<String>>,
    /// Set when it went through as an emergency override: why.
    override_reason: Option<String>,
}

/// An instant as RFC 3339.
pub(super) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl From<&Deployment> for DeploymentJson {
    fn from(d: &Deployment) -> Self {
        Self {
            id: d.id,
            pipeline: d.pipeline.clone(),
            stage: d.stage.clone(),
            sha: d.sha.to_string(),
            previous_sha: d.previous_sha.as_ref().map(ToString::to_string),
            kind: d.kind,
            state: d.state,
            requested_by: d.requested_by.clone(),
            reason: d.reason.clone(),
            created_at: rfc3339(d.created_at),
            started_at: d.started_at.map(rfc3339),
            finished_at: d.finished_at.map(rfc3339),
            exit_code: d.exit_code,
            checklist: d.checklist.clone(),
            override_reason: d.emergency_reason.clone(),
        }
    }
}
