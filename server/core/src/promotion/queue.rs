//! Promotions that wait for their artifact. A promotion whose only unmet gate is a
//! missing artifact may be queued ([`promote_or_queue`]): the server asks for the
//! artifact with backoff ([`run_due_queued`]) and, when it appears, starts the deploy as
//! the requester with what they confirmed and acknowledged — every gate evaluated
//! again. At its deadline an entry expires. One waiting entry per stage: a newer request
//! replaces it only when it says so; anyone who may promote into the stage can withdraw
//! it (its requester too: they could promote there when they queued it).

use super::audited::{self, audit_entry};
use super::facts::{facts_now, Asker};
use super::lookup::{require_on_branch, IfMissing, StageRef};
use super::promote::{confirmed_checklist, promote, refused, require_permission, PromoteOptions};
use crate::authz::internal;
use crate::config::defaults;
use crate::probes::artifact;
use crate::store::{
    ArtifactStatus, Deployment, NewAudit, NewQueuedPromotion, QueueEnd, QueueError, QueueState,
    QueuedPromotion, User,
};
use crate::Services;
use slipway_model::audit::{AuditAction, Outcome};
use slipway_model::error::{AppError, RefusalKind};
use slipway_model::gates::{self, GateKind, GateResult, GateStatus};
use slipway_model::live::BoardChange;
use slipway_model::{PipelineId, Sha, StageId};
use std::time::Duration;

/// What became of a promotion that may wait.
#[derive(Debug, Clone)]
pub enum Promoted {
    /// Every gate passed: the deployment started.
    Started(Deployment),
    /// Only the artifact was missing: queued until it appears.
    Queued(QueuedPromotion),
}

/// Promotes `sha` into `at`, or — where the missing artifact is all that holds it —
/// queues it to start when the artifact appears. `replace` replaces the stage's waiting
/// entry; without it, one refuses the request.
#[tracing::instrument(skip(state, user, at, options), fields(user = %user.name, pipeline = %at.pipeline.id, stage = %at.stage().id), err(level = "info", Display))]
pub async fn promote_or_queue(
    state: &Services,
    user: &User,
    at: &StageRef<'_>,
    sha: &Sha,
    options: &PromoteOptions,
    replace: bool,
) -> Result<Promoted, AppError> {
    let mut entry = audit_entry(user, AuditAction::PromotionQueued, at.pipeline.id.as_str());
    entry.stage = Some(at.stage().id.to_string());
    entry.sha = Some(sha.to_string());
    let results = match gate_results(state, user, at, sha, options).await {
        Ok(results) => results,
        Err(e) => {
            audited::write_refused(state, entry, &e).await;
            return Err(e);
        }
    };
    if gates::first_blocker(&results).is_none() {
        // Nothing to wait for: it starts now (every gate evaluated again as it does).
        return promote(state, user, at, sha, options)
            .await
            .map(Promoted::Started);
    }
    if !gates::queueable(&results) {
        // Something besides the artifact holds it: that is the refusal.
        let held = results
            .iter()
            .find(|r| {
                r.status != GateStatus::Pass
                    && !(r.gate == GateKind::Artifact && r.status == GateStatus::Pending)
            })
            .or_else(|| gates::first_blocker(&results));
        if let Some(r) = held {
            let e = refused(r);
            audited::write_refused(state, entry, &e).await;
            return Err(e);
        }
    }
    let result = enqueue(state, user, at, sha, options, replace).await;
    audited::record(state, entry, &result, |q, entry| {
        entry.target = Some(format!("queued promotion #{}", q.id));
        entry.detail = Some(format!(
            "waits for the artifact until {}",
            crate::calendar::local_label(q.deadline, super::facts::stage_zone(at.stage()))
        ));
    })
    .await;
    let queued = result?;
    state
        .events
        .board_changed(at.pipeline.id.as_str(), BoardChange::Queue)
        .await;
    Ok(Promoted::Queued(queued))
}

/// Every gate's verdict for the promotion (with what the promoter confirmed and
/// acknowledged), after the checks a promotion makes first.
async fn gate_results(
    state: &Services,
    user: &User,
    at: &StageRef<'_>,
    sha: &Sha,
    options: &PromoteOptions,
) -> Result<Vec<GateResult>, AppError> {
    require_permission(user, at)?;
    if options.emergency_reason.is_some() {
        return Err(AppError::BadRequest(
            "an emergency override starts now or not at all: it cannot wait for an artifact".into(),
        ));
    }
    confirmed_checklist(at.stage(), &options.checklist)?;
    require_on_branch(state, at.pipeline, sha, IfMissing::Fetch).await?;
    let asker = Asker {
        acknowledged_migrations: options.acks.migrations.is_some(),
        acknowledged_drift: options.acks.drift.is_some(),
        ..Asker::plain(state, user)
    };
    let facts = facts_now(state, asker, at, sha).await?;
    Ok(gates::evaluate(&facts))
}

async fn enqueue(
    state: &Services,
    user: &User,
    at: &StageRef<'_>,
    sha: &Sha,
    options: &PromoteOptions,
    replace: bool,
) -> Result<QueuedPromotion, AppError> {
    let wait = at
        .stage()
        .artifact
        .as_ref()
        .map_or(defaults::ARTIFACT_WAIT, |c| c.wait);
    let new = NewQueuedPromotion {
        pipeline: at.pipeline.id.clone(),
        stage: at.stage().id.clone(),
        sha: sha.clone(),
        by: user.id,
        deadline: state.now() + wait,
        checklist: confirmed_checklist(at.stage(), &options.checklist)?,
        acks: options.acks.clone(),
        replace,
    };
    match state.storage.queue_promotion(&new).await {
        Ok(q) => Ok(q),
        Err(QueueError::Occupied(old)) => Err(AppError::Refused {
            kind: RefusalKind::Queued,
            message: format!(
                "{} already has a queued promotion of {} by {}; replace it explicitly \
                 (tick \"Replace the queued promotion\", or send \"replace_queued\": true) \
                 or withdraw it first",
                at.stage().label,
                old.sha.short(),
                old.requested_by
            ),
        }),
        Err(QueueError::Storage(e)) => Err(e.into()),
    }
}

/// Withdraws the stage's waiting entry: anyone who may promote into the stage.
#[tracing::instrument(skip(state, user, at), fields(user = %user.name, pipeline = %at.pipeline.id, stage = %at.stage().id), err(level = "info", Display))]
pub async fn withdraw(
    state: &Services,
    user: &User,
    at: &StageRef<'_>,
) -> Result<QueuedPromotion, AppError> {
    let mut entry = audit_entry(
        user,
        AuditAction::QueuedPromotionWithdrawn,
        at.pipeline.id.as_str(),
    );
    entry.stage = Some(at.stage().id.to_string());
    let result = async {
        gates::may_promote_into(user.roles, at.stage().promote_roles, &at.stage().label).map_err(
            |why| AppError::Forbidden(format!("{why} or withdraw what is queued there")),
        )?;
        let waiting = waiting_on(state, at).await?.ok_or_else(|| {
            AppError::NotFound(format!("no promotion is queued for {}", at.stage().label))
        })?;
        let end = QueueEnd {
            state: QueueState::Withdrawn,
            by: Some(user.id),
            outcome: format!("withdrawn by {}", user.name),
            deployment: None,
        };
        if !state.storage.end_queued(waiting.id, &end).await? {
            return Err(AppError::Refused {
                kind: RefusalKind::State,
                message: format!(
                    "the queued promotion of {} ended meanwhile; reload to see how",
                    waiting.sha.short()
                ),
            });
        }
        Ok(waiting)
    }
    .await;
    audited::record(state, entry, &result, |q, entry| {
        entry.sha = Some(q.sha.to_string());
        entry.target = Some(format!("queued promotion #{}", q.id));
    })
    .await;
    let withdrawn = result?;
    state
        .events
        .board_changed(at.pipeline.id.as_str(), BoardChange::Queue)
        .await;
    Ok(withdrawn)
}

/// The stage's waiting entry, if any.
pub async fn waiting_on(
    state: &Services,
    at: &StageRef<'_>,
) -> Result<Option<QueuedPromotion>, AppError> {
    Ok(state
        .storage
        .queued_promotions(&at.pipeline.id)
        .await?
        .into_iter()
        .find(|q| q.state == QueueState::Waiting && q.stage == at.stage().id.as_str()))
}

/// The wait after the `checks`-th check: [`defaults::ARTIFACT_POLL_FIRST`], doubling,
/// at most [`defaults::ARTIFACT_POLL_MAX`].
pub fn backoff(checks: i64) -> Duration {
    let doublings = u32::try_from(checks.clamp(0, 16)).unwrap_or(16);
    defaults::ARTIFACT_POLL_FIRST
        .saturating_mul(1 << doublings)
        .min(defaults::ARTIFACT_POLL_MAX)
}

/// Asks for the artifacts of the waiting entries that are due: starts those whose
/// artifact appeared, expires those past their deadline. Each check is claimed, so two
/// processes never start the same entry.
pub async fn run_due_queued(state: &Services) {
    let now = state.now();
    let due = match state.storage.due_queued(now).await {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "failed to read due queued promotions");
            return;
        }
    };
    for q in due {
        let next = now + backoff(q.checks);
        match state.storage.claim_queued(q.id, q.checks, next).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "failed to claim a queued promotion");
                continue;
            }
        }
        if now >= q.deadline {
            let end = QueueEnd {
                state: QueueState::Expired,
                by: None,
                outcome: format!(
                    "expired: the artifact of {} did not appear in time",
                    q.sha.short()
                ),
                deployment: None,
            };
            settle(state, &q, end).await;
            continue;
        }
        if let Some(end) = try_start(state, &q).await {
            settle(state, &q, end).await;
        }
    }
}

/// Asks for the entry's artifact and starts the deploy when it is there. `None`: it
/// keeps waiting (the artifact is still missing, or another deployment occupies the
/// stage); otherwise how it ends.
async fn try_start(state: &Services, q: &QueuedPromotion) -> Option<QueueEnd> {
    let refused = |outcome: String| {
        Some(QueueEnd {
            state: QueueState::Refused,
            by: None,
            outcome,
            deployment: None,
        })
    };
    let (Ok(pipeline), Ok(stage)) = (PipelineId::parse(&q.pipeline), StageId::parse(&q.stage))
    else {
        return refused("not started: its stage is no longer configured".into());
    };
    let at = match super::stage(state, &pipeline, &stage) {
        Ok(at) => at,
        Err(e) => return refused(format!("not started: {e}")),
    };
    let seen = artifact::check_now(state, at.pipeline, at.stage(), &q.sha).await;
    if at.stage().artifact.is_some() && seen.map(|s| s.status) != Some(ArtifactStatus::Present) {
        return None;
    }
    // Another deployment is running there: wait for it (until the deadline) rather than
    // be refused as busy at every check.
    match state
        .storage
        .stage_snapshot(&pipeline, &stage, None, None)
        .await
    {
        Ok(snapshot) if snapshot.active.is_some() => return None,
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "failed to read a stage for a queued promotion");
            return None;
        }
    }
    let user = match state.storage.user_by_id(q.requested_by_id).await {
        Ok(Some(u)) if !u.disabled => u,
        Ok(_) => return refused(format!("not started: {} is disabled", q.requested_by)),
        Err(e) => return refused(format!("not started: {}", internal(e))),
    };
    let options = PromoteOptions {
        checklist: q.checklist.clone().unwrap_or_default(),
        emergency_reason: None,
        acks: q.acks.clone(),
    };
    match promote(state, &user, &at, &q.sha, &options).await {
        Ok(d) => Some(QueueEnd {
            state: QueueState::Started,
            by: None,
            outcome: format!("its artifact appeared: started deployment #{}", d.id),
            deployment: Some(d.id),
        }),
        // A deployment started there meanwhile: wait for it.
        Err(AppError::Refused {
            kind: RefusalKind::Busy,
            ..
        }) => None,
        Err(e) => refused(format!(
            "its artifact appeared, but it was not started: {e}"
        )),
    }
}

/// Ends the entry as `end` says; records it for the requester, in the audit log and on
/// the board.
async fn settle(state: &Services, q: &QueuedPromotion, end: QueueEnd) {
    match state.storage.end_queued(q.id, &end).await {
        Ok(true) => {}
        // Withdrawn or replaced meanwhile: that is what happened to it.
        Ok(false) => return,
        Err(e) => {
            tracing::warn!(error = %e, "failed to end a queued promotion");
            return;
        }
    }
    let text = format!(
        "Your queued promotion of {} into {}: {}",
        q.sha.short(),
        q.stage,
        end.outcome
    );
    let link = format!("/pipelines/{}", q.pipeline);
    if let Err(e) = state
        .storage
        .notify(q.requested_by_id, &text, Some(&link))
        .await
    {
        tracing::warn!(error = %e, "failed to notify a requester");
    }
    let mut entry = NewAudit::new(
        AuditAction::QueuedStart,
        if end.state == QueueState::Started {
            Outcome::Ok
        } else {
            Outcome::Refused
        },
    );
    entry.actor = Some(q.requested_by.clone());
    entry.pipeline = Some(q.pipeline.clone());
    entry.stage = Some(q.stage.clone());
    entry.sha = Some(q.sha.to_string());
    entry.target = Some(format!("queued promotion #{}", q.id));
    entry.detail = Some(end.outcome.clone());
    audited::write(state, entry).await;
    state
        .events
        .board_changed(&q.pipeline, BoardChange::Queue)
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queued_promotion_asks_for_its_artifact_ever_less_often_up_to_a_minute() {
        let waits: Vec<u64> = (0..6).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, vec![5, 10, 20, 40, 60, 60]);
        assert_eq!(backoff(i64::MAX).as_secs(), 60);
        assert_eq!(backoff(-1).as_secs(), 5);
    }
}
