//! Promotion: the same SHA moves one stage on, after every gate passed — on the facts
//! read now, and again atomically inside the transaction that creates the deployment.

use super::audited::{self, audit_entry};
use super::facts::{facts, git_facts, standing_from_snapshot, Asker, GitFacts};
use super::lookup::{require_on_branch, IfMissing, StageRef};
use crate::authz::{authorize, internal};
use crate::config::StageConfig;
use crate::deploys;
use crate::store::{
    AuditOf, CreateDeploymentError, Deployment, DriftAck, MigrationsAck, NewDeployment,
    StageSnapshot, User,
};
use crate::Services;
use slipway_model::audit::AuditAction;
use slipway_model::deployment::DeploymentKind;
use slipway_model::error::{AppError, RefusalKind};
use slipway_model::gates::{self, GateKind, GateResult};
use slipway_model::{Action, Sha};

pub use slipway_model::acks::{Acknowledgement, Acknowledgements};

/// What a promotion carries besides the SHA.
#[derive(Debug, Clone, Default)]
pub struct PromoteOptions {
    /// The stage's checklist items the promoter ticked.
    pub checklist: Vec<String>,
    /// Set for an emergency override: why the promotion goes through a closed window or
    /// a freeze (ops and admin only).
    pub emergency_reason: Option<String>,
    /// What the promoter acknowledges (migrations, drift).
    pub acks: Acknowledgements,
}

/// What a deployment records of the drift it overwrites: what the stage ran, when the
/// promoter acknowledged it.
pub(super) fn drift_record(
    drift: Option<&crate::store::Drift>,
    ack: Option<&Acknowledgement>,
) -> Option<DriftAck> {
    let d = drift?;
    ack.map(|a| DriftAck {
        runs: d.runs.clone(),
        note: a.note.clone(),
    })
}

/// What a deployment records of the migrations it crosses: the files, when the
/// promoter acknowledged them.
pub(super) fn migrations_record(
    git: &GitFacts,
    ack: Option<&Acknowledgement>,
) -> Option<MigrationsAck> {
    let files = git.migrations.as_ref().filter(|f| !f.is_empty())?;
    ack.map(|a| MigrationsAck {
        files: files.to_vec(),
        note: a.note.clone(),
    })
}

/// The permission gate on its own, as a refusal: checked before any other work.
pub(super) fn require_permission(user: &User, at: &StageRef<'_>) -> Result<(), AppError> {
    gates::may_promote_into(user.roles, at.stage().promote_roles, &at.stage().label).map_err(
        |message| AppError::Refused {
            kind: GateKind::Permission.into(),
            message,
        },
    )
}

/// The refusal a failing gate becomes.
pub(super) fn refused(r: &GateResult) -> AppError {
    AppError::Refused {
        kind: r.gate.into(),
        message: r.reason.clone(),
    }
}

/// Promotes `sha` into a stage: validates, evaluates the gates again inside the
/// transaction that creates the deployment, starts the deployer, audits the outcome.
#[tracing::instrument(skip(state, user, at), fields(user = %user.name, pipeline = %at.pipeline.id, stage = %at.stage().id), err(level = "info", Display))]
pub async fn promote(
    state: &Services,
    user: &User,
    at: &StageRef<'_>,
    sha: &Sha,
    options: &PromoteOptions,
) -> Result<Deployment, AppError> {
    // Present but blank is refused below: an override always says why.
    let emergency = options.emergency_reason.as_deref().map(str::trim);
    let action = if emergency.is_some() {
        AuditAction::EmergencyPromote
    } else {
        AuditAction::Promote
    };
    let mut entry = audit_entry(user, action, at.pipeline.id.as_str());
    entry.stage = Some(at.stage().id.to_string());
    entry.sha = Some(sha.to_string());
    entry.detail = emergency.map(str::to_owned);
    // The success entry is written with the deployment, in its transaction.
    let audit_of = |d: &Deployment| {
        audited::settled_ok(entry.clone(), d, |d, entry| {
            entry.target = Some(format!("deployment #{}", d.id));
        })
    };
    let result = promote_checked(state, user, at, sha, options, emergency, &audit_of).await;
    if let Err(e) = &result {
        audited::write_refused(state, entry, e).await;
    }
    let deployment = result?;
    deploys::start(state, at.pipeline, at.stage(), deployment.clone());
    Ok(deployment)
}

async fn promote_checked(
    state: &Services,
    user: &User,
    at: &StageRef<'_>,
    sha: &Sha,
    options: &PromoteOptions,
    emergency: Option<&str>,
    audit_of: AuditOf<'_>,
) -> Result<Deployment, AppError> {
    if state.deploys.is_stopping() {
        return Err(AppError::Unavailable(
            "Slipway is shutting down and accepts no new promotions".into(),
        ));
    }
    // Permission first: nothing — not even a fetch for an unknown SHA — happens for
    // someone who may not promote here.
    require_permission(user, at)?;
    if let Some(reason) = emergency {
        authorize(user, Action::EmergencyOverride)?;
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(AppError::BadRequest(
                "an emergency override needs a reason (1 to 500 characters) that says why it cannot wait".into(),
            ));
        }
    }
    let checklist = confirmed_checklist(at.stage(), &options.checklist)?;
    require_on_branch(state, at.pipeline, sha, IfMissing::Fetch).await?;
    let mut new = NewDeployment {
        pipeline: at.pipeline.id.clone(),
        stage: at.stage().id.clone(),
        previous_stage: at.previous().map(|p| p.id.clone()),
        sha: sha.clone(),
        kind: DeploymentKind::Promote,
        requested_by: user.id,
        reason: None,
        checklist,
        emergency_reason: emergency.map(str::to_owned),
        migrations: None,
        drift: None,
        runner: Some(state.cluster.id().clone()),
    };
    // The artifact check and git cannot run inside the write transaction: ask them
    // first (git for the current SHA seen now, retried if the transaction sees another).
    let artifact = crate::probes::artifact::fact_now(state, at.pipeline, at.stage(), sha).await;
    for _ in 0..3 {
        let before = state
            .storage
            .stage_snapshot(&new.pipeline, &new.stage, None, None)
            .await?;
        let seen = before.current.map(|d| d.sha);
        let git = git_facts(state, at, seen.as_ref(), sha).await;
        new.migrations = migrations_record(&git, options.acks.migrations.as_ref());
        // The drift it would overwrite, as seen now; the transaction re-reads it.
        let drift_seen = before.drift.filter(|d| Some(&d.recorded) == seen.as_ref());
        new.drift = drift_record(drift_seen.as_ref(), options.acks.drift.as_ref());
        let asked_at = state.now();
        let check = |snapshot: &StageSnapshot| {
            let now = snapshot.current.as_ref().map(|d| &d.sha);
            if now != seen.as_ref() {
                return Err(CreateDeploymentError::Stale);
            }
            let standing = standing_from_snapshot(at, snapshot);
            let asker = Asker {
                user,
                now: asked_at,
                emergency: emergency.is_some(),
                acknowledged_migrations: options.acks.migrations.is_some(),
                acknowledged_drift: options.acks.drift.is_some(),
            };
            let facts = facts(at, sha, standing, snapshot, &git, artifact.clone(), asker);
            if asker.emergency && gates::overridden(&facts).is_empty() {
                return Err(CreateDeploymentError::Refused(GateResult {
                    gate: GateKind::Window,
                    status: gates::GateStatus::Fail,
                    reason: format!(
                        "{} is open and not frozen: there is nothing to override; promote without an emergency reason",
                        at.stage().label
                    ),
                }));
            }
            let results = gates::evaluate(&facts);
            // What the transaction stores of an overwritten drift is checked here too.
            if facts.drift.is_some() != drift_seen.is_some() {
                return Err(CreateDeploymentError::Stale);
            }
            match gates::first_blocker(&results) {
                Some(blocker) => Err(CreateDeploymentError::Refused(blocker.clone())),
                None => Ok(()),
            }
        };
        match state
            .storage
            .create_deployment(&new, &check, audit_of)
            .await
        {
            Ok(d) => {
                if let Err(e) = state.repos.pin(at.pipeline.id.as_str(), sha).await {
                    tracing::warn!(error = %e, "failed to pin a deployed SHA");
                }
                return Ok(d);
            }
            Err(CreateDeploymentError::Stale) => continue,
            Err(CreateDeploymentError::Refused(r)) => return Err(refused(&r)),
            Err(CreateDeploymentError::Storage(e)) => return Err(internal(e)),
        }
    }
    Err(AppError::Refused {
        kind: RefusalKind::Busy,
        message: "the stage kept changing while the promotion was checked; try again".into(),
    })
}

/// The stage's checklist as the promoter confirmed it: every item ticked, nothing else;
/// `None` where the stage has no checklist.
pub(super) fn confirmed_checklist(
    stage: &StageConfig,
    ticked: &[String],
) -> Result<Option<Vec<String>>, AppError> {
    let ticked: Vec<&str> = ticked.iter().map(|t| t.trim()).collect();
    let quoted = |items: Vec<&str>| {
        items
            .iter()
            .map(|i| format!("{i:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let refused = |message: String| AppError::Refused {
        kind: RefusalKind::Checklist,
        message,
    };
    let unknown: Vec<&str> = ticked
        .iter()
        .copied()
        .filter(|t| !stage.checklist.iter().any(|i| i == t))
        .collect();
    if !unknown.is_empty() {
        return Err(refused(if stage.checklist.is_empty() {
            format!(
                "{} has no checklist, but the promotion confirmed {}; send no checklist",
                stage.label,
                quoted(unknown)
            )
        } else {
            format!(
                "{}'s checklist has no item {}; its items are {}",
                stage.label,
                quoted(unknown),
                quoted(stage.checklist.iter().map(String::as_str).collect())
            )
        }));
    }
    let missing: Vec<&str> = stage
        .checklist
        .iter()
        .map(String::as_str)
        .filter(|i| !ticked.contains(i))
        .collect();
    if !missing.is_empty() {
        return Err(refused(format!(
            "confirm every item of {}'s checklist before promoting; not confirmed: {}",
            stage.label,
            quoted(missing)
        )));
    }
    Ok((!stage.checklist.is_empty()).then(|| stage.checklist.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage_with(items: &[&str]) -> StageConfig {
        let mut stage = crate::config::test_support::stage("production", "Production");
        stage.checklist = items.iter().map(|i| (*i).to_owned()).collect();
        stage
    }

    fn ticks(items: &[&str]) -> Vec<String> {
        items.iter().map(|i| (*i).to_owned()).collect()
    }

    #[test]
    fn a_checklist_is_confirmed_only_with_every_item_and_nothing_else() {
        let stage = stage_with(&["Backup taken", "Release notes posted"]);
        assert_eq!(
            confirmed_checklist(&stage, &ticks(&["Release notes posted", " Backup taken "])),
            Ok(Some(ticks(&["Backup taken", "Release notes posted"])))
        );
        let missing = confirmed_checklist(&stage, &ticks(&["Backup taken"])).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "confirm every item of Production's checklist before promoting; not confirmed: \"Release notes posted\""
        );
        let unknown = confirmed_checklist(
            &stage,
            &ticks(&["Backup taken", "Release notes posted", "Coffee"]),
        )
        .unwrap_err();
        assert!(
            unknown.to_string().contains("has no item \"Coffee\""),
            "{unknown}"
        );

        let plain = stage_with(&[]);
        assert_eq!(confirmed_checklist(&plain, &[]), Ok(None));
        assert!(confirmed_checklist(&plain, &ticks(&["x"])).is_err());
    }
}
