//! Sign-off: after a SHA succeeded on a stage that asks for it, someone allowed says
//! "tested here"; the next stage's *signed off* gate waits for that. A sign-off can be
//! withdrawn, with a reason, until the SHA has moved on; a rollback voids it (in the
//! store, with the rollback).

use super::audited::{self, audit_entry};
use super::lookup::{require_on_branch, IfMissing, StageRef};
use crate::authz::authorize;
use crate::config::{SignOffConfig, StageConfig};
use crate::store::{SignOffFacts, SignOffKey, SignOffRecord, User};
use crate::Services;
use slipway_model::audit::AuditAction;
use slipway_model::error::{AppError, RefusalKind};
use slipway_model::live::BoardChange;
use slipway_model::{Action, Sha};

/// Longest note or reason, in characters.
const TEXT_MAX: usize = 500;

/// The stage's sign-off rule and the stage after it, or why there is nothing to sign.
fn rule<'a>(at: &StageRef<'a>) -> Result<(&'a SignOffConfig, &'a StageConfig), AppError> {
    let stage = at.stage();
    let next = at.pipeline.stages.get(at.index + 1);
    match (&stage.sign_off, next) {
        (Some(rule), Some(next)) => Ok((rule, next)),
        // Nobody may sign off where nothing is asked for: a 403, like any role refusal.
        _ => Err(AppError::Forbidden(format!(
            "{} asks for no sign-off (its configuration has no sign_off), so nobody signs off there",
            stage.label
        ))),
    }
}

fn refused(message: String) -> AppError {
    AppError::Refused {
        kind: RefusalKind::State,
        message,
    }
}

/// Signs `sha` off on the stage `at`, with an optional note.
#[tracing::instrument(skip(state, user, at, note), fields(user = %user.name, pipeline = %at.pipeline.id, stage = %at.stage().id), err(level = "info", Display))]
pub async fn sign_off(
    state: &Services,
    user: &User,
    at: &StageRef<'_>,
    sha: &Sha,
    note: Option<&str>,
) -> Result<SignOffRecord, AppError> {
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    let mut entry = audit_entry(user, AuditAction::SignOff, at.pipeline.id.as_str());
    entry.stage = Some(at.stage().id.to_string());
    entry.sha = Some(sha.to_string());
    entry.detail = note.map(str::to_owned);
    let result = async {
        let (rule, next) = rule(at)?;
        authorize(
            user,
            Action::SignOff {
                allowed: rule.roles,
            },
        )?;
        if note.is_some_and(|n| n.chars().count() > TEXT_MAX) {
            return Err(AppError::BadRequest(format!(
                "a sign-off note may have at most {TEXT_MAX} characters"
            )));
        }
        require_on_branch(state, at.pipeline, sha, IfMissing::AsOfLastFetch).await?;
        let label = &at.stage().label;
        let check = |f: &SignOffFacts| {
            if let Some(s) = &f.in_force {
                return Err(refused(format!(
                    "{} is already signed off on {label} by {}",
                    sha.short(),
                    s.by
                )));
            }
            if !f.succeeded_here || f.rolled_back_here {
                return Err(refused(format!(
                    "{} has not succeeded on {label} (or was rolled back there); \
                     only a SHA whose latest deployment there succeeded can be signed off",
                    sha.short()
                )));
            }
            if f.moved_on {
                return Err(refused(format!(
                    "{} has already moved on to {}",
                    sha.short(),
                    next.label
                )));
            }
            Ok(())
        };
        state
            .storage
            .sign_off(key(at, next, sha), user.id, note, &check)
            .await
            .map_err(AppError::from)
    }
    .await;
    audited::record(state, entry, &result, |_, _| {}).await;
    if result.is_ok() {
        state
            .events
            .board_changed(at.pipeline.id.as_str(), BoardChange::SignOff)
            .await;
    }
    result
}

/// Withdraws the sign-off of `sha` on the stage `at`, with a reason, while the SHA has
/// not moved on.
#[tracing::instrument(skip(state, user, at, reason), fields(user = %user.name, pipeline = %at.pipeline.id, stage = %at.stage().id), err(level = "info", Display))]
pub async fn withdraw(
    state: &Services,
    user: &User,
    at: &StageRef<'_>,
    sha: &Sha,
    reason: &str,
) -> Result<SignOffRecord, AppError> {
    let reason = reason.trim();
    let mut entry = audit_entry(user, AuditAction::WithdrawSignOff, at.pipeline.id.as_str());
    entry.stage = Some(at.stage().id.to_string());
    entry.sha = Some(sha.to_string());
    entry.detail = Some(reason.to_owned());
    let result = async {
        let (rule, next) = rule(at)?;
        authorize(user, Action::SignOff { allowed: rule.roles })?;
        if reason.is_empty() || reason.chars().count() > TEXT_MAX {
            return Err(AppError::BadRequest(format!(
                "withdrawing a sign-off needs a reason (1 to {TEXT_MAX} characters) that tells others why"
            )));
        }
        let label = &at.stage().label;
        let check = |f: &SignOffFacts| {
            if f.in_force.is_none() {
                return Err(AppError::NotFound(format!(
                    "{} has no sign-off in force on {label}",
                    sha.short()
                )));
            }
            if f.moved_on {
                return Err(refused(format!(
                    "{} has already moved on to {}; its sign-off can no longer be withdrawn \
                     (roll {} back instead)",
                    sha.short(),
                    next.label,
                    next.label
                )));
            }
            Ok(())
        };
        state
            .storage
            .withdraw_sign_off(key(at, next, sha), user.id, reason, &check)
            .await
            .map_err(AppError::from)
    }
    .await;
    audited::record(state, entry, &result, |_, _| {}).await;
    if result.is_ok() {
        state
            .events
            .board_changed(at.pipeline.id.as_str(), BoardChange::SignOff)
            .await;
    }
    result
}

fn key<'a>(at: &StageRef<'a>, next: &'a StageConfig, sha: &'a Sha) -> SignOffKey<'a> {
    SignOffKey {
        pipeline: &at.pipeline.id,
        stage: &at.stage().id,
        next_stage: &next.id,
        sha,
    }
}
