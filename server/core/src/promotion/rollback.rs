//! Rollback: back to the stage's previous distinct good SHA, with a reason — the one
//! audited exception to the ancestry gate (busy, lock and permission still apply).

use super::audited::{self, audit_entry};
use super::facts::{facts, git_facts, Asker, GitFacts, Standing};
use super::lookup::StageRef;
use super::promote::{drift_record, migrations_record, refused, Acknowledgements};
use crate::authz::{authorize, internal};
use crate::deploys;
use crate::store::{CreateDeploymentError, Deployment, NewDeployment, StageSnapshot, User};
use crate::Services;
use slipway_model::audit::AuditAction;
use slipway_model::deployment::DeploymentKind;
use slipway_model::error::{AppError, RefusalKind};
use slipway_model::gates::{self, Ancestry, Artifact};
use slipway_model::{Action, Sha};

/// The SHA a rollback of this stage would deploy: the newest succeeded SHA that differs
/// from the current one and was not itself rolled back here. Repeating a rollback goes
/// further back, because the SHA rolled away from is flagged.
pub async fn rollback_target(state: &Services, at: &StageRef<'_>) -> Result<Option<Sha>, AppError> {
    // Page through the stage's successes newest first (bounded reads, whatever the
    // history's length) until a distinct SHA that was not rolled back turns up.
    const PAGE: i64 = 50;
    const MAX_PAGES: usize = 40;
    let (pipeline, stage) = (&at.pipeline.id, &at.stage().id);
    let mut current: Option<Sha> = None;
    let mut before = None;
    let mut checked: Vec<Sha> = Vec::new();
    for _ in 0..MAX_PAGES {
        let page = state
            .storage
            .stage_successes(pipeline, stage, before, PAGE)
            .await?;
        let Some((last_id, _)) = page.last() else {
            break;
        };
        before = Some(*last_id);
        let mut candidates: Vec<Sha> = Vec::new();
        for (_, sha) in &page {
            let current = current.get_or_insert_with(|| sha.clone());
            if sha != current && !checked.contains(sha) && !candidates.contains(sha) {
                candidates.push(sha.clone());
            }
        }
        let rolled: Vec<Sha> = state
            .storage
            .rolled_back(pipeline, &candidates)
            .await?
            .into_iter()
            .filter(|(_, s)| s == stage.as_str())
            .map(|(sha, _)| sha)
            .collect();
        if let Some(found) = candidates.iter().find(|c| !rolled.contains(c)) {
            return Ok(Some(found.clone()));
        }
        checked.extend(candidates);
        if page.len() < usize::try_from(PAGE).unwrap_or(usize::MAX) {
            break;
        }
    }
    Ok(None)
}

/// Rolls a stage back to its previous distinct good SHA (ops), with a reason. The one
/// audited exception to the ancestry gate; busy, lock and permission still apply, and
/// stepping back over migration files needs their acknowledgement (`migrations`).
#[tracing::instrument(skip(state, user, at), fields(user = %user.name, pipeline = %at.pipeline.id, stage = %at.stage().id), err(level = "info", Display))]
pub async fn rollback(
    state: &Services,
    user: &User,
    at: &StageRef<'_>,
    reason: &str,
    acks: &Acknowledgements,
) -> Result<Deployment, AppError> {
    let reason = reason.trim();
    let mut entry = audit_entry(user, AuditAction::Rollback, at.pipeline.id.as_str());
    entry.stage = Some(at.stage().id.to_string());
    entry.detail = Some(reason.to_owned());
    // The success entry is written with the deployment, in its transaction.
    let audit_of = |d: &Deployment| {
        audited::settled_ok(entry.clone(), d, |d, entry| {
            entry.sha = Some(d.sha.to_string());
            entry.target = Some(format!("deployment #{}", d.id));
            // Only a fast-forward-only stage has an ancestry gate to bypass.
            let bypassed = if at.stage().fast_forward_only {
                " (ancestry gate bypassed)"
            } else {
                ""
            };
            entry.detail = Some(format!(
                "from {} to {}{bypassed}: {reason}",
                d.previous_sha.as_ref().map_or("nothing", |s| s.short()),
                d.sha.short()
            ));
        })
    };
    let result = async {
        authorize(
            user,
            Action::Rollback {
                allowed: at.stage().rollback_roles,
            },
        )?;
        if state.deploys.is_stopping() {
            return Err(AppError::Unavailable(
                "Slipway is shutting down and accepts no new deployments".into(),
            ));
        }
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(AppError::BadRequest(
                "a rollback needs a reason (1 to 500 characters)".into(),
            ));
        }
        let target = rollback_target(state, at)
            .await?
            .ok_or_else(|| AppError::Refused {
                kind: RefusalKind::RollbackTarget,
                message: format!(
                    "{} has no earlier successful SHA to roll back to",
                    at.stage().label
                ),
            })?;
        // Migrations need git, which cannot run inside the write transaction: ask for
        // the current SHA seen now; the transaction refuses if the stage moved meanwhile.
        let before = state
            .storage
            .stage_snapshot(&at.pipeline.id, &at.stage().id, None, None)
            .await?;
        let seen = before.current.map(|d| d.sha);
        let before_drift = before.drift.is_some();
        let drift_seen = before.drift.filter(|d| Some(&d.recorded) == seen.as_ref());
        let git = GitFacts {
            stepping_back: true,
            ..git_facts(state, at, seen.as_ref(), &target).await
        };
        let new = NewDeployment {
            pipeline: at.pipeline.id.clone(),
            stage: at.stage().id.clone(),
            previous_stage: None,
            sha: target.clone(),
            kind: DeploymentKind::Rollback,
            requested_by: user.id,
            reason: Some(reason.to_owned()),
            checklist: None,
            emergency_reason: None,
            migrations: migrations_record(&git, acks.migrations.as_ref()),
            drift: drift_record(drift_seen.as_ref(), acks.drift.as_ref()),
            runner: Some(state.cluster.id().clone()),
        };
        let check = |snapshot: &StageSnapshot| {
            if snapshot.current.as_ref().map(|d| &d.sha) != seen.as_ref()
                || snapshot.drift.is_some() != before_drift
            {
                return Err(CreateDeploymentError::Stale);
            }
            // Previous-stage and ancestry gates do not apply to a rollback.
            let asker = Asker {
                acknowledged_migrations: acks.migrations.is_some(),
                acknowledged_drift: acks.drift.is_some(),
                ..Asker::plain(state, user)
            };
            let git = GitFacts {
                ancestry: Ancestry::NoCurrent,
                ..git.clone()
            };
            // Nor the artifact's: the SHA ran on the stage before.
            let results = gates::evaluate(&facts(
                at,
                &target,
                Standing::rollback(),
                snapshot,
                &git,
                Artifact::NotChecked,
                asker,
            ));
            let blocker = results.iter().find(|r| {
                r.status != gates::GateStatus::Pass
                    && matches!(
                        r.gate,
                        gates::GateKind::Busy
                            | gates::GateKind::Lock
                            | gates::GateKind::Migrations
                            | gates::GateKind::Drift
                    )
            });
            match blocker {
                Some(b) => Err(CreateDeploymentError::Refused(b.clone())),
                None => Ok(()),
            }
        };
        match state
            .storage
            .create_deployment(&new, &check, &audit_of)
            .await
        {
            Ok(d) => Ok(d),
            Err(CreateDeploymentError::Refused(r)) => Err(refused(&r)),
            Err(CreateDeploymentError::Stale) => Err(AppError::Refused {
                kind: RefusalKind::Busy,
                message: "the stage changed; try again".into(),
            }),
            Err(CreateDeploymentError::Storage(e)) => Err(internal(e)),
        }
    }
    .await;
    if let Err(e) = &result {
        audited::write_refused(state, entry, e).await;
    }
    let d = result?;
    deploys::start(state, at.pipeline, at.stage(), d.clone());
    Ok(d)
}
