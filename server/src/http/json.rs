//! JSON shapes the API returns that more than one handler module uses.

use serde::Serialize;
use slipway_core::store::{Deployment, QueuedPromotion};
use slipway_model::deployment::{DeploymentKind, DeploymentState};
use slipway_model::views::AcknowledgedMigrations;
use slipway_model::{DeploymentId, QueuedId};
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
    /// The migration files it crossed, as the promoter acknowledged them.
    migrations: Option<AcknowledgedMigrations>,
    /// The drift it overwrote (what the stage ran instead of its recorded SHA), as the
    /// promoter acknowledged it.
    drift_overwritten: Option<String>,
    /// Its attempts (1 plus the retries after transient failures).
    attempts: u32,
    /// The attempts that failed transiently and were retried, oldest first.
    retries: Vec<RetryJson>,
}

/// An attempt that failed transiently and was tried again.
#[derive(Serialize, ToSchema)]
pub struct RetryJson {
    attempt: u32,
    exit_code: i32,
    /// What made it transient: `exit code 75`, or the log pattern that matched.
    matched: String,
    /// When it ended (RFC 3339).
    at: String,
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
            migrations: d
                .migrations
                .as_ref()
                .map(slipway_core::read::acknowledged_migrations),
            drift_overwritten: d.drift.as_ref().map(|a| a.runs.clone()),
            attempts: d.attempt(),
            retries: d
                .retries
                .iter()
                .map(|r| RetryJson {
                    attempt: r.attempt,
                    exit_code: r.exit_code,
                    matched: r.matched.clone(),
                    at: time::OffsetDateTime::from_unix_timestamp(r.at)
                        .map(rfc3339)
                        .unwrap_or_default(),
                })
                .collect(),
        }
    }
}

/// A promotion queued until its artifact appears, as the API returns it.
#[derive(Serialize, ToSchema)]
pub struct QueuedJson {
    id: QueuedId,
    pipeline: String,
    stage: String,
    sha: String,
    requested_by: String,
    requested_at: String,
    /// It expires if the artifact has not appeared by then (RFC 3339).
    deadline: String,
    /// `waiting`, `started`, `expired`, `refused`, `withdrawn` or `replaced`.
    state: String,
    /// What came of it, once it ended.
    outcome: Option<String>,
    /// The deployment it started.
    deployment: Option<DeploymentId>,
}

impl From<&QueuedPromotion> for QueuedJson {
    fn from(q: &QueuedPromotion) -> Self {
        Self {
            id: q.id,
            pipeline: q.pipeline.clone(),
            stage: q.stage.clone(),
            sha: q.sha.to_string(),
            requested_by: q.requested_by.clone(),
            requested_at: rfc3339(q.requested_at),
            deadline: rfc3339(q.deadline),
            state: q.state.as_str().to_owned(),
            outcome: q.outcome.clone(),
            deployment: q.deployment,
        }
    }
}
