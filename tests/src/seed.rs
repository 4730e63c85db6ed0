//! A realistic history for the benches: ready marks and thousands of finished
//! deployments written through the real `Storage` API (each in its creating
//! transaction, with its audit entry), advancing through the branch as a team's would.

use anyhow::{ensure, Result};
use slipway_core::store::{
    CreateDeploymentError, Deployment, NewAudit, NewDeployment, ReplicaId, StageSnapshot, Storage,
};
use slipway_model::audit::{AuditAction, Outcome};
use slipway_model::deployment::{DeploymentKind, DeploymentState};
use slipway_model::{PipelineId, Sha, StageId, UserId};
use std::time::Duration;

/// What to seed.
pub struct History<'a> {
    pub pipeline: &'a PipelineId,
    /// The pipeline's stages, in order.
    pub stages: &'a [StageId],
    /// The SHAs marked ready, oldest first; deployments take them in that order.
    pub ready: &'a [Sha],
    /// Who marks and deploys, in turn.
    pub users: &'a [UserId],
    /// How many finished deployments.
    pub deployments: usize,
    /// The replica recorded as running them (`None`: none).
    pub runner: Option<ReplicaId>,
}

/// Marks `h.ready` ready, then writes `h.deployments` finished deployments: deployment
/// *i* goes to stage *i* mod the stage count and deploys a SHA that advances with *i*,
/// later stages lagging a little behind; one in nine fails. Returns how many failed.
pub async fn seed_history(storage: &dyn Storage, h: &History<'_>) -> Result<usize> {
    ensure!(
        !h.ready.is_empty() && !h.users.is_empty() && !h.stages.is_empty(),
        "nothing to seed from"
    );
    for (i, sha) in h.ready.iter().enumerate() {
        let newly = storage
            .mark_ready(
                h.pipeline,
                sha,
                h.users[i % h.users.len()],
                (i % 3 == 0).then_some("passed the nightly suite"),
            )
            .await?;
        ensure!(newly, "{sha} was already ready");
    }
    let pass = |_: &StageSnapshot| -> Result<(), CreateDeploymentError> { Ok(()) };
    let audited = |d: &Deployment| {
        let mut e = NewAudit::new(AuditAction::Promote, Outcome::Ok);
        e.target = Some(format!("deployment #{}", d.id));
        e
    };
    let per_sha = h.deployments.div_ceil(h.ready.len()).max(1);
    let mut failed = 0;
    for i in 0..h.deployments {
        let s = i % h.stages.len();
        let k = (i / per_sha).saturating_sub(2 * s).min(h.ready.len() - 1);
        let new = NewDeployment {
            pipeline: h.pipeline.clone(),
            stage: h.stages[s].clone(),
            previous_stage: s.checked_sub(1).map(|p| h.stages[p].clone()),
            sha: h.ready[k].clone(),
            kind: DeploymentKind::Promote,
            requested_by: h.users[i % h.users.len()],
            reason: None,
            checklist: None,
            emergency_reason: None,
            migrations: None,
            drift: None,
            runner: h.runner.clone(),
        };
        let d = storage
            .create_deployment(&new, &pass, &audited)
            .await
            .map_err(|e| anyhow::anyhow!("seeding deployment {i}: {e}"))?;
        let (state, code) = if i % 9 == 4 {
            failed += 1;
            (DeploymentState::Failed, Some(1))
        } else {
            (DeploymentState::Succeeded, Some(0))
        };
        let ended = storage
            .finish_deployment(d.id, state, code, d.created_at + Duration::from_secs(40))
            .await?;
        ensure!(ended, "deployment #{} did not finish", d.id);
    }
    Ok(failed)
}
