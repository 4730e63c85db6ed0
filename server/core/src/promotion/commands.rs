//! The small commands around promotions: mark or unmark a SHA ready, lock or unlock a
//! stage, cancel a deployment, fetch a pipeline's repository now. Each checks the
//! policy (or is called by what did), validates its input and is audited with its
//! outcome where it changes something.

use super::audited::{self, audit_entry};
use super::lookup::{require_on_branch, IfMissing, StageRef};
use crate::authz::{authorize, internal};
use crate::config::PipelineConfig;
use crate::store::{StorageError, User};
use crate::Services;
use slipway_model::audit::{AuditAction, Outcome};
use slipway_model::error::{AppError, RefusalKind};
use slipway_model::live::BoardChange;
use slipway_model::{Action, DeploymentId, Sha};

/// Marks a SHA of the pipeline's branch ready.
#[tracing::instrument(skip(state, user, p), fields(user = %user.name, pipeline = %p.id), err(level = "info", Display))]
pub async fn mark_ready(
    state: &Services,
    user: &User,
    p: &PipelineConfig,
    sha: &Sha,
    note: Option<&str>,
) -> Result<bool, AppError> {
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 500) {
        return Err(AppError::BadRequest(
            "a note may have at most 500 characters".into(),
        ));
    }
    let mut entry = audit_entry(user, AuditAction::MarkReady, p.id.as_str());
    entry.sha = Some(sha.to_string());
    let result = async {
        authorize(user, Action::MarkReady)?;
        require_on_branch(state, p, sha, IfMissing::Fetch).await?;
        state
            .storage
            .mark_ready(&p.id, sha, user.id, note)
            .await
            .map_err(internal)
    }
    .await;
    audited::record(state, entry, &result, |_, _| {}).await;
    if result.is_ok() {
        state
            .events
            .board_changed(p.id.as_str(), BoardChange::Ready)
            .await;
    }
    result
}

/// Removes a ready mark.
#[tracing::instrument(skip(state, user, p), fields(user = %user.name, pipeline = %p.id), err(level = "info", Display))]
pub async fn unmark_ready(
    state: &Services,
    user: &User,
    p: &PipelineConfig,
    sha: &Sha,
) -> Result<bool, AppError> {
    authorize(user, Action::MarkReady)?;
    let removed = state.storage.unmark_ready(&p.id, sha).await?;
    let mut entry = audit_entry(user, AuditAction::UnmarkReady, p.id.as_str());
    entry.outcome = if removed {
        Outcome::Ok
    } else {
        Outcome::NotMarked
    };
    entry.sha = Some(sha.to_string());
    audited::write(state, entry).await;
    if removed {
        state
            .events
            .board_changed(p.id.as_str(), BoardChange::Ready)
            .await;
    }
    Ok(removed)
}

/// Locks a stage with a reason and an optional expiry.
#[tracing::instrument(skip(state, user, at), fields(user = %user.name, pipeline = %at.pipeline.id, stage = %at.stage().id), err(level = "info", Display))]
pub async fn lock(
    state: &Services,
    user: &User,
    at: &StageRef<'_>,
    reason: &str,
    minutes: Option<i64>,
) -> Result<(), AppError> {
    let reason = reason.trim();
    let mut entry = audit_entry(user, AuditAction::Lock, at.pipeline.id.as_str());
    entry.stage = Some(at.stage().id.to_string());
    entry.detail = Some(reason.to_owned());
    let result = async {
        authorize(
            user,
            Action::Lock {
                production: at.stage().production,
            },
        )?;
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(AppError::BadRequest(
                "a lock needs a reason (1 to 500 characters) that tells others why".into(),
            ));
        }
        let expires = match minutes {
            None => None,
            Some(m) if (1..=60 * 24 * 30).contains(&m) => {
                Some(state.now() + time::Duration::minutes(m))
            }
            Some(_) => {
                return Err(AppError::BadRequest(
                    "the expiry must be between 1 minute and 30 days".into(),
                ))
            }
        };
        match state
            .storage
            .lock_stage(&at.pipeline.id, &at.stage().id, user.id, reason, expires)
            .await
        {
            Ok(()) => Ok(()),
            Err(StorageError::Conflict(m)) => Err(AppError::Refused {
                kind: RefusalKind::Lock,
                message: m,
            }),
            Err(e) => Err(internal(e)),
        }
    }
    .await;
    audited::record(state, entry, &result, |_, _| {}).await;
    if result.is_ok() {
        state
            .events
            .board_changed(at.pipeline.id.as_str(), BoardChange::Lock)
            .await;
    }
    result
}

/// Removes a stage's lock.
#[tracing::instrument(skip(state, user, at), fields(user = %user.name, pipeline = %at.pipeline.id, stage = %at.stage().id), err(level = "info", Display))]
pub async fn unlock(state: &Services, user: &User, at: &StageRef<'_>) -> Result<(), AppError> {
    authorize(
        user,
        Action::Lock {
            production: at.stage().production,
        },
    )?;
    let removed = state
        .storage
        .unlock_stage(&at.pipeline.id, &at.stage().id)
        .await?;
    let mut entry = audit_entry(user, AuditAction::Unlock, at.pipeline.id.as_str());
    entry.outcome = if removed.is_some() {
        Outcome::Ok
    } else {
        Outcome::NotLocked
    };
    entry.stage = Some(at.stage().id.to_string());
    entry.detail = removed.map(|l| format!("lock by {} ({})", l.by, l.reason));
    audited::write(state, entry).await;
    state
        .events
        .board_changed(at.pipeline.id.as_str(), BoardChange::Lock)
        .await;
    Ok(())
}

/// Cancels a running deployment (its whole process group).
#[tracing::instrument(skip(state, user), fields(user = %user.name), err(level = "info", Display))]
pub async fn cancel(state: &Services, user: &User, id: DeploymentId) -> Result<(), AppError> {
    authorize(user, Action::Cancel)?;
    let d = state
        .storage
        .deployment(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("there is no deployment #{id}")))?;
    let mut entry = audit_entry(user, AuditAction::Cancel, &d.pipeline);
    entry.stage = Some(d.stage.clone());
    entry.sha = Some(d.sha.to_string());
    entry.target = Some(format!("deployment #{id}"));
    if !d.state.is_active() {
        entry.detail = Some(format!("already {}", d.state));
        audited::write(state, entry).await;
        return Err(AppError::Refused {
            kind: RefusalKind::State,
            message: format!("deployment #{id} already ended ({})", d.state),
        });
    }
    // The deployment's own task records the end, once its process group is gone. Its
    // runner may be another replica: it finds the request (within a second).
    state.storage.request_cancel(id).await?;
    state.deploys.cancel(id);
    entry.outcome = Outcome::Ok;
    audited::write(state, entry).await;
    Ok(())
}

/// Fetches `pipeline`'s repository now and tells its open boards to reload. A failed
/// fetch is recorded in the mirror's status, which the board shows; only an unknown
/// pipeline is an error. (The *refresh* button, after its permission check, and a
/// GitHub `push` come here.)
pub async fn fetch_now(state: &Services, pipeline: &str) -> Result<(), crate::repos::RepoError> {
    match state.repos.fetch(pipeline).await {
        Ok(()) | Err(crate::repos::RepoError::Git(_) | crate::repos::RepoError::GitHub(_)) => {
            state
                .events
                .board_changed(pipeline, BoardChange::Commits)
                .await;
            Ok(())
        }
        Err(e) => Err(e),
    }
}
