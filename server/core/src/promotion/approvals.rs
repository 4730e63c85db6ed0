//! Approvals: someone who may promote into a stage that asks for approval requests it
//! for a SHA; an approver (the stage's `approval.roles`, never the requester under four
//! eyes) approves it for a slot, or rejects it with a reason. The *approved* gate reads
//! it; the deployment it lets through consumes it; a change of the stage's current SHA
//! voids it. An approval may ask the server to start the deploy itself at the slot's
//! start ([`run_due_auto_starts`]), when every gate is evaluated again.

use super::audited::{self, audit_entry};
use super::lookup::{require_on_branch, IfMissing, StageRef};
use super::promote::{confirmed_checklist, promote, Acknowledgements, PromoteOptions};
use crate::authz::{authorize, internal};
use crate::calendar;
use crate::config::ApprovalConfig;
use crate::store::{ApprovalRecord, Decision, NewApprovalRequest, StorageError, User};
use crate::Services;
use slipway_model::audit::{AuditAction, Outcome};
use slipway_model::error::{AppError, RefusalKind};
use slipway_model::live::BoardChange;
use slipway_model::{Action, PipelineId, RequestId, Sha, StageId};
use time::{Duration, OffsetDateTime};

/// Longest note or reason, in characters.
const TEXT_MAX: usize = 500;

/// The longest slot an approver may give.
const LONGEST_SLOT: Duration = Duration::days(7);

fn rule<'a>(at: &StageRef<'a>) -> Result<&'a ApprovalConfig, AppError> {
    at.stage().approval.as_ref().ok_or_else(|| {
        AppError::BadRequest(format!(
            "{} asks for no approval (its configuration has no approval); promote directly",
            at.stage().label
        ))
    })
}

fn text(value: Option<&str>, what: &str, required: bool) -> Result<Option<String>, AppError> {
    let v = value.map(str::trim).filter(|v| !v.is_empty());
    match v {
        None if required => Err(AppError::BadRequest(format!(
            "{what} is required (1 to {TEXT_MAX} characters)"
        ))),
        Some(v) if v.chars().count() > TEXT_MAX => Err(AppError::BadRequest(format!(
            "{what} may have at most {TEXT_MAX} characters"
        ))),
        v => Ok(v.map(str::to_owned)),
    }
}

/// Requests approval to promote `sha` into `at`. The checklist, where the stage has one,
/// is confirmed now, and what the requester acknowledges (migrations, drift) is said
/// now: a deploy the server starts at the slot's start carries both.
#[tracing::instrument(skip(state, user, at, note, checklist, acks), fields(user = %user.name, pipeline = %at.pipeline.id, stage = %at.stage().id), err(level = "info", Display))]
pub async fn request(
    state: &Services,
    user: &User,
    at: &StageRef<'_>,
    sha: &Sha,
    note: Option<&str>,
    checklist: &[String],
    acks: &Acknowledgements,
) -> Result<ApprovalRecord, AppError> {
    let mut entry = audit_entry(
        user,
        AuditAction::ApprovalRequested,
        at.pipeline.id.as_str(),
    );
    entry.stage = Some(at.stage().id.to_string());
    entry.sha = Some(sha.to_string());
    let result = async {
        authorize(
            user,
            Action::PromoteInto {
                allowed: at.stage().promote_roles,
            },
        )?;
        rule(at)?;
        let note = text(note, "a note", false)?;
        let checklist = confirmed_checklist(at.stage(), checklist)?;
        require_on_branch(state, at.pipeline, sha, IfMissing::Fetch).await?;
        let new = NewApprovalRequest {
            pipeline: at.pipeline.id.clone(),
            stage: at.stage().id.clone(),
            sha: sha.clone(),
            by: user.id,
            note,
            checklist,
            acks: acks.clone(),
        };
        match state.storage.request_approval(&new).await {
            Ok(r) => Ok(r),
            Err(StorageError::Conflict(message)) => Err(AppError::Refused {
                kind: RefusalKind::State,
                message,
            }),
            Err(e) => Err(internal(e)),
        }
    }
    .await;
    audited::record(state, entry, &result, |r, entry| {
        entry.target = Some(format!("request #{}", r.id));
    })
    .await;
    changed(state, at.pipeline.id.as_str(), result.is_ok()).await;
    result
}

/// The slot an approver gives: "now" (for the stage's `valid_minutes`) or a range.
#[derive(Debug, Clone, Copy)]
pub enum Slot {
    /// From now, for the stage's `approval.valid_minutes`, and no later than the
    /// current deploy window's end when one is open.
    Now,
    /// `[from, until)`.
    Range {
        from: OffsetDateTime,
        until: OffsetDateTime,
    },
}

/// What an approver decides.
#[derive(Debug, Clone)]
pub struct Approve {
    pub slot: Slot,
    /// The server starts the deploy itself at the slot's start.
    pub auto_start: bool,
    /// Required when the slot is not inside the stage's deploy windows.
    pub outside_windows_reason: Option<String>,
}

/// A slot given on the page: a local date and two local times in the zone of the
/// request's stage (the first window's, else UTC); an end before the start runs past
/// midnight. All empty: "now".
pub async fn slot_from_page(
    state: &Services,
    id: RequestId,
    date: &str,
    from: &str,
    until: &str,
) -> Result<Slot, AppError> {
    if date.trim().is_empty() && from.trim().is_empty() && until.trim().is_empty() {
        return Ok(Slot::Now);
    }
    let (_, (p, s)) = load(state, id).await?;
    let at = super::stage(state, &p, &s)?;
    let zone = super::facts::stage_zone(at.stage());
    let local =
        |time: &str| calendar::local_instant(date, time, zone).map_err(AppError::BadRequest);
    let (start, mut end) = (local(from)?, local(until)?);
    if end <= start {
        end += Duration::days(1);
    }
    Ok(Slot::Range {
        from: start,
        until: end,
    })
}

/// Approves request `id`.
#[tracing::instrument(skip(state, user, decision), fields(user = %user.name), err(level = "info", Display))]
pub async fn approve(
    state: &Services,
    user: &User,
    id: RequestId,
    decision: Approve,
) -> Result<ApprovalRecord, AppError> {
    let (request, at_ids) = load(state, id).await?;
    let mut entry = audit_entry(user, AuditAction::ApprovalGranted, at_ids.0.as_str());
    entry.stage = Some(at_ids.1.to_string());
    entry.sha = Some(request.sha.to_string());
    entry.target = Some(format!("request #{id}"));
    let result = async {
        let at = super::stage(state, &at_ids.0, &at_ids.1)?;
        let rule = rule(&at)?;
        may_decide(user, rule, &request)?;
        let now = state.now();
        let (from, until) = match decision.slot {
            Slot::Now => {
                let valid = now + Duration::try_from(rule.valid).unwrap_or(Duration::hours(4));
                // "Now" inside an open window lasts until the window closes at the
                // latest: approving now needs no reason while the stage is open.
                match calendar::opening(&at.stage().windows, now) {
                    calendar::Opening::Open { until } => (now, valid.min(until)),
                    calendar::Opening::Closed { .. } => (now, valid),
                }
            }
            Slot::Range { from, until } => (from, until),
        };
        if until <= from {
            return Err(AppError::BadRequest("a slot must end after it starts".into()));
        }
        if until <= now {
            return Err(AppError::BadRequest(
                "that slot is already over; give one that ends in the future".into(),
            ));
        }
        if until - from > LONGEST_SLOT {
            return Err(AppError::BadRequest("a slot may last at most 7 days".into()));
        }
        let outside = text(
            decision.outside_windows_reason.as_deref(),
            "a reason for approving outside the deploy windows",
            false,
        )?;
        let zone = super::facts::stage_zone(at.stage());
        if !calendar::covers(&at.stage().windows, from, until) && outside.is_none() {
            return Err(AppError::BadRequest(format!(
                "{} is not inside {}'s deploy windows; tick \"outside the deploy windows\" and say why",
                calendar::range_label(from, until, zone),
                at.stage().label
            )));
        }
        let decision = Decision::Approve {
            from,
            until,
            auto_start: decision.auto_start,
            outside_windows_reason: outside,
        };
        state
            .storage
            .decide(id, user.id, &decision, &|_| Ok(()))
            .await
            .map_err(AppError::from)
    }
    .await;
    if let Ok(r) = &result {
        let slot = r
            .slot
            .map(|(a, b)| calendar::range_label(a, b, zone_of(state, r)))
            .unwrap_or_default();
        notify(
            state,
            r,
            format!(
                "Your request #{} to promote {} into {} was approved by {} for {slot}{}",
                r.id,
                r.sha.short(),
                r.stage,
                user.name,
                if r.auto_start {
                    "; it starts by itself then"
                } else {
                    ""
                }
            ),
        )
        .await;
    }
    audited::record(state, entry, &result, |r, entry| {
        if let Some((from, until)) = r.slot {
            entry.detail = Some(format!(
                "slot {}{}{}",
                calendar::range_label(from, until, chrono_tz::UTC),
                if r.auto_start {
                    ", starts by itself"
                } else {
                    ""
                },
                r.outside_windows_reason
                    .as_deref()
                    .map(|w| format!(", outside the deploy windows: {w}"))
                    .unwrap_or_default()
            ));
        }
    })
    .await;
    changed(state, at_ids.0.as_str(), result.is_ok()).await;
    result
}

/// Rejects request `id` with a reason.
#[tracing::instrument(skip(state, user, reason), fields(user = %user.name), err(level = "info", Display))]
pub async fn reject(
    state: &Services,
    user: &User,
    id: RequestId,
    reason: &str,
) -> Result<ApprovalRecord, AppError> {
    let (request, at_ids) = load(state, id).await?;
    let mut entry = audit_entry(user, AuditAction::ApprovalRejected, at_ids.0.as_str());
    entry.stage = Some(at_ids.1.to_string());
    entry.sha = Some(request.sha.to_string());
    entry.target = Some(format!("request #{id}"));
    entry.detail = Some(reason.trim().to_owned());
    let result = async {
        let at = super::stage(state, &at_ids.0, &at_ids.1)?;
        let rule = rule(&at)?;
        authorize(
            user,
            Action::Approve {
                allowed: rule.roles,
            },
        )?;
        let reason = text(Some(reason), "a reason for the rejection", true)?.unwrap_or_default();
        state
            .storage
            .decide(id, user.id, &Decision::Reject { reason }, &|_| Ok(()))
            .await
            .map_err(AppError::from)
    }
    .await;
    if let Ok(r) = &result {
        notify(
            state,
            r,
            format!(
                "Your request #{} to promote {} into {} was rejected by {}: {}",
                r.id,
                r.sha.short(),
                r.stage,
                user.name,
                r.decision_reason.clone().unwrap_or_default()
            ),
        )
        .await;
    }
    audited::record(state, entry, &result, |_, _| {}).await;
    changed(state, at_ids.0.as_str(), result.is_ok()).await;
    result
}

/// Tells the requester of `r` what happened to it.
async fn notify(state: &Services, r: &ApprovalRecord, text: String) {
    let link = format!("/pipelines/{}", r.pipeline);
    if let Err(e) = state
        .storage
        .notify(r.requested_by_id, &text, Some(&link))
        .await
    {
        tracing::warn!(error = %e, "failed to notify a requester");
    }
}

/// The zone a request's stage writes times in.
fn zone_of(state: &Services, r: &ApprovalRecord) -> chrono_tz::Tz {
    state
        .config
        .pipeline(&r.pipeline)
        .and_then(|p| p.stages.iter().find(|s| s.id.as_str() == r.stage))
        .map_or(chrono_tz::UTC, super::facts::stage_zone)
}

/// Whether `user` may approve `request` under `rule`: the roles, and four eyes.
pub fn may_decide(
    user: &User,
    rule: &ApprovalConfig,
    request: &ApprovalRecord,
) -> Result<(), AppError> {
    authorize(
        user,
        Action::Approve {
            allowed: rule.roles,
        },
    )?;
    if rule.four_eyes && request.requested_by_id == user.id {
        return Err(AppError::Forbidden(
            "four eyes: you requested this promotion, so someone else must approve it".into(),
        ));
    }
    Ok(())
}

/// The request and the (pipeline, stage) it is for.
async fn load(
    state: &Services,
    id: RequestId,
) -> Result<(ApprovalRecord, (PipelineId, StageId)), AppError> {
    let request = state
        .storage
        .approval_request(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("there is no approval request #{id}")))?;
    let ids = (
        PipelineId::parse(&request.pipeline).map_err(internal)?,
        StageId::parse(&request.stage).map_err(internal)?,
    );
    Ok((request, ids))
}

async fn changed(state: &Services, pipeline: &str, ok: bool) {
    if ok {
        state
            .events
            .board_changed(pipeline, BoardChange::Approval)
            .await;
    }
}

/// Starts the deploys of approved auto-start requests whose slot has begun, as their
/// requester, every gate evaluated again; records on each request, in the audit log and
/// on the board what came of it. Each is tried once, by one process.
pub async fn run_due_auto_starts(state: &Services) {
    let now = state.now();
    let due = match state.storage.due_auto_starts(now).await {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "failed to read due auto-starts");
            return;
        }
    };
    // Slots that ended while no server was running: nothing may start any more, but the
    // requester and the log learn that it did not.
    let missed = match state.storage.missed_auto_starts(now).await {
        Ok(missed) => missed,
        Err(e) => {
            tracing::warn!(error = %e, "failed to read missed auto-starts");
            Vec::new()
        }
    };
    for (request, in_slot) in due
        .into_iter()
        .map(|r| (r, true))
        .chain(missed.into_iter().map(|r| (r, false)))
    {
        match state.storage.claim_auto_start(request.id, now).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "failed to claim an auto-start");
                continue;
            }
        }
        let outcome = if in_slot {
            auto_start(state, &request).await
        } else {
            Err(AppError::Unavailable(
                "its slot ended while Slipway was not running".into(),
            ))
        };
        record_auto_start(state, &request, &outcome).await;
    }
}

/// Records what came of an auto-start: on the request, in the audit log, for the
/// requester, on the board.
async fn record_auto_start(
    state: &Services,
    request: &ApprovalRecord,
    outcome: &Result<slipway_model::DeploymentId, AppError>,
) {
    let text = match outcome {
        Ok(d) => format!("started deployment #{d}"),
        Err(e) => format!("not started: {e}"),
    };
    let mut entry = crate::store::NewAudit::new(
        AuditAction::AutoStart,
        if outcome.is_ok() {
            Outcome::Ok
        } else {
            Outcome::Refused
        },
    );
    entry.actor = Some(request.requested_by.clone());
    entry.pipeline = Some(request.pipeline.clone());
    entry.stage = Some(request.stage.clone());
    entry.sha = Some(request.sha.to_string());
    entry.target = Some(format!("request #{}", request.id));
    entry.detail = Some(text.clone());
    if let Err(e) = state
        .storage
        .auto_start_result(request.id, &text, entry)
        .await
    {
        tracing::error!(error = %e, "failed to record an auto-start and its audit entry");
    }
    notify(
        state,
        request,
        format!(
            "At the start of its slot, your approved request #{} to promote {} into {}: {text}",
            request.id,
            request.sha.short(),
            request.stage
        ),
    )
    .await;
    changed(state, &request.pipeline, true).await;
}

async fn auto_start(
    state: &Services,
    request: &ApprovalRecord,
) -> Result<slipway_model::DeploymentId, AppError> {
    let user = state
        .storage
        .user_by_id(request.requested_by_id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(|| AppError::Forbidden(format!("{} is disabled", request.requested_by)))?;
    let at = super::stage(
        state,
        &PipelineId::parse(&request.pipeline).map_err(internal)?,
        &StageId::parse(&request.stage).map_err(internal)?,
    )?;
    let options = PromoteOptions {
        checklist: request.checklist.clone().unwrap_or_default(),
        emergency_reason: None,
        acks: request.acks.clone(),
    };
    promote(state, &user, &at, &request.sha, &options)
        .await
        .map(|d| d.id)
}
