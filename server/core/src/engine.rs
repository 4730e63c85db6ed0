//! The promotion engine: mark ready, promote (gates checked for display and again
//! atomically at creation), run deploys, cancel, lock, and recover after a crash.
//!
//! Every action goes through the role policy, is validated before it reaches git or SQL,
//! and is written to the audit log with its outcome — refusals included.

use crate::authz::{authorize, internal};
use crate::config::{PipelineConfig, StageConfig};
use crate::runner::{self, CancelHandle, Outcome, RunObserver, RunSpec, Stream};
use crate::storage::{
    CreateDeploymentError, Deployment, NewAudit, NewDeployment, StageSnapshot, User,
};
use crate::Services;
use slipway_model::deployment::{DeploymentKind, DeploymentState};
use slipway_model::error::AppError;
use slipway_model::gates::{
    self, Ancestry, GateResult, LockInfo, Previous, PromotionFacts, TargetStage,
};
use slipway_model::{Action, Sha};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use time::OffsetDateTime;

/// How long a deploy's process group gets between TERM and KILL.
pub const KILL_GRACE: Duration = Duration::from_secs(5);

/// Deploys running in this process, so they can be cancelled.
#[derive(Default)]
pub struct Deploys {
    running: Mutex<HashMap<i64, CancelHandle>>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    stopping: AtomicBool,
}

impl Deploys {
    fn lock_running(&self) -> std::sync::MutexGuard<'_, HashMap<i64, CancelHandle>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether new promotions are refused because the server is shutting down.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Number of deploys running in this process.
    pub fn running_count(&self) -> usize {
        self.lock_running().len()
    }
}

/// A pipeline and the index of one of its stages, resolved from user input.
pub struct StageRef<'a> {
    /// The pipeline.
    pub pipeline: &'a PipelineConfig,
    /// The stage's position.
    pub index: usize,
}

impl<'a> StageRef<'a> {
    /// The stage.
    pub fn stage(&self) -> &'a StageConfig {
        &self.pipeline.stages[self.index]
    }

    /// The stage before it, if any.
    pub fn previous(&self) -> Option<&'a StageConfig> {
        self.index.checked_sub(1).map(|i| &self.pipeline.stages[i])
    }
}

/// Looks a pipeline up by user-supplied id.
pub fn pipeline<'a>(state: &'a Services, id: &str) -> Result<&'a PipelineConfig, AppError> {
    state.config.pipeline(id).ok_or_else(|| {
        AppError::NotFound(format!(
            "there is no pipeline {id:?}; the home page lists the configured ones"
        ))
    })
}

/// Looks a stage up by user-supplied ids.
pub fn stage<'a>(
    state: &'a Services,
    pipeline_id: &str,
    stage_id: &str,
) -> Result<StageRef<'a>, AppError> {
    let pipeline = pipeline(state, pipeline_id)?;
    let index = pipeline
        .stages
        .iter()
        .position(|s| s.id.as_str() == stage_id)
        .ok_or_else(|| {
            let known: Vec<&str> = pipeline.stages.iter().map(|s| s.id.as_str()).collect();
            AppError::NotFound(format!(
                "pipeline {} has no stage {stage_id:?} (stages: {})",
                pipeline.id,
                known.join(", ")
            ))
        })?;
    Ok(StageRef { pipeline, index })
}

/// Parses a SHA from user input, with a message saying what a SHA looks like.
pub fn parse_sha(s: &str) -> Result<Sha, AppError> {
    Sha::parse(s.trim()).map_err(|e| AppError::BadRequest(e.to_string()))
}

async fn audit(state: &Services, entry: NewAudit) {
    crate::audit::record(state.storage.as_ref(), entry).await;
}

fn audit_entry(user: &User, action: &str, pipeline: &str, outcome: &str) -> NewAudit {
    NewAudit {
        actor: Some(user.name.to_string()),
        action: action.into(),
        pipeline: Some(pipeline.into()),
        outcome: outcome.into(),
        ..NewAudit::default()
    }
}

/// Refuses with "unknown commit" unless `sha` is on the pipeline's branch.
async fn require_on_branch(
    state: &Services,
    pipeline: &PipelineConfig,
    sha: &Sha,
) -> Result<(), AppError> {
    let mirror = state.repos.mirror(pipeline.id.as_str()).map_err(internal)?;
    if !mirror.exists() {
        let _ = state.repos.fetch(pipeline.id.as_str()).await;
    }
    let mut on_branch = mirror.is_on_branch(sha).await.map_err(internal)?;
    if !on_branch {
        // Maybe it was pushed since the last fetch.
        if state.repos.fetch(pipeline.id.as_str()).await.is_ok() {
            on_branch = mirror.is_on_branch(sha).await.map_err(internal)?;
        }
    }
    if on_branch {
        Ok(())
    } else {
        Err(AppError::Refused {
            gate: "unknown_commit".into(),
            message: format!(
                "unknown commit: {sha} is not on branch {} of {}",
                pipeline.branch, pipeline.id
            ),
        })
    }
}

/// Whether `current` is an ancestor of `sha`, from the permanent cache or git.
async fn ancestry(
    state: &Services,
    pipeline: &PipelineConfig,
    current: Option<&Sha>,
    sha: &Sha,
) -> Ancestry {
    let Some(current) = current else {
        return Ancestry::NoCurrent;
    };
    if current == sha {
        return Ancestry::Same;
    }
    let answer = match state
        .storage
        .cached_ancestry(&pipeline.id, current, sha)
        .await
    {
        Ok(Some(v)) => Some(v),
        _ => match state.repos.mirror(pipeline.id.as_str()) {
            Ok(mirror) => match mirror.is_ancestor(current, sha).await {
                Ok(v) => {
                    let _ = state
                        .storage
                        .cache_ancestry(&pipeline.id, current, sha, v)
                        .await;
                    Some(v)
                }
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "ancestry check failed");
                    None
                }
            },
            Err(_) => None,
        },
    };
    match answer {
        Some(true) => Ancestry::Descends,
        Some(false) => Ancestry::Diverges {
            current: current.clone(),
        },
        None => Ancestry::Unknown,
    }
}

/// Where `sha` stands with respect to the stage before `at`, from a snapshot read for it.
pub fn previous_from_snapshot(at: &StageRef<'_>, snapshot: &StageSnapshot) -> Previous {
    match at.previous() {
        None => Previous::FirstStage {
            marked_ready: snapshot.marked_ready,
        },
        Some(prev) => Previous::Stage {
            label: prev.label.clone(),
            succeeded: snapshot.previous_succeeded,
            rolled_back: snapshot.previous_rolled_back,
        },
    }
}

/// Assembles the gate facts. `stage_facts` only needs the stage-level parts (current,
/// active deployment, lock); `previous` carries the SHA-specific part.
pub fn facts(
    at: &StageRef<'_>,
    sha: &Sha,
    previous: Previous,
    stage_facts: &StageSnapshot,
    ancestry: Ancestry,
    user: &User,
) -> PromotionFacts {
    let stage = at.stage();
    PromotionFacts {
        sha: sha.clone(),
        target: TargetStage {
            label: stage.label.clone(),
            fast_forward_only: stage.fast_forward_only,
            promote_roles: stage.promote_roles,
        },
        previous,
        ancestry,
        active: stage_facts
            .active
            .as_ref()
            .map(|d| gates::ActiveDeployment {
                id: d.id,
                sha: d.sha.clone(),
            }),
        lock: stage_facts.lock.as_ref().map(|l| LockInfo {
            by: l.by.clone(),
            reason: l.reason.clone(),
        }),
        user_roles: user.roles,
    }
}

/// Ancestry as the target stage needs it: only fast-forward-only stages ask git.
pub async fn ancestry_for(
    state: &Services,
    at: &StageRef<'_>,
    current: Option<&Sha>,
    sha: &Sha,
) -> Ancestry {
    if at.stage().fast_forward_only {
        ancestry(state, at.pipeline, current, sha).await
    } else {
        Ancestry::Unknown
    }
}

/// The gates for promoting `sha` into a stage, as the card shows them.
pub async fn evaluate_gates(
    state: &Services,
    user: &User,
    at: &StageRef<'_>,
    sha: &Sha,
) -> Result<Vec<GateResult>, AppError> {
    let snapshot = state
        .storage
        .stage_snapshot(
            &at.pipeline.id,
            &at.stage().id,
            at.previous().map(|p| &p.id),
            Some(sha),
        )
        .await
        .map_err(internal)?;
    let current = snapshot.current.as_ref().map(|d| d.sha.clone());
    let ancestry = ancestry_for(state, at, current.as_ref(), sha).await;
    let previous = previous_from_snapshot(at, &snapshot);
    Ok(gates::evaluate(&facts(
        at, sha, previous, &snapshot, ancestry, user,
    )))
}

fn refused(r: &GateResult) -> AppError {
    AppError::Refused {
        gate: r.gate.as_str().into(),
        message: r.reason.clone(),
    }
}

/// Promotes `sha` into a stage: validates, evaluates the gates again inside the
/// transaction that creates the deployment, starts the deployer, audits the outcome.
pub async fn promote(
    state: &Services,
    user: &User,
    pipeline_id: &str,
    stage_id: &str,
    sha: &str,
) -> Result<Deployment, AppError> {
    let at = stage(state, pipeline_id, stage_id)?;
    let sha = parse_sha(sha)?;
    let mut entry = audit_entry(user, "promote", pipeline_id, "refused");
    entry.stage = Some(stage_id.into());
    entry.sha = Some(sha.to_string());
    let result = promote_checked(state, user, &at, &sha).await;
    match &result {
        Ok(d) => {
            entry.outcome = "ok".into();
            entry.target = Some(format!("deployment #{}", d.id));
        }
        Err(e) => entry.detail = Some(e.to_string()),
    }
    audit(state, entry).await;
    let deployment = result?;
    start(state, at.pipeline, at.stage(), deployment.clone());
    Ok(deployment)
}

async fn promote_checked(
    state: &Services,
    user: &User,
    at: &StageRef<'_>,
    sha: &Sha,
) -> Result<Deployment, AppError> {
    if state.deploys.is_stopping() {
        return Err(AppError::Unavailable(
            "Slipway is shutting down and accepts no new promotions".into(),
        ));
    }
    require_on_branch(state, at.pipeline, sha).await?;
    let new = NewDeployment {
        pipeline: at.pipeline.id.clone(),
        stage: at.stage().id.clone(),
        previous_stage: at.previous().map(|p| p.id.clone()),
        sha: sha.clone(),
        kind: DeploymentKind::Promote,
        requested_by: user.id,
        reason: None,
    };
    // Ancestry needs git, which cannot run inside the write transaction: compute it for
    // the current SHA seen now, and retry if the transaction sees another one.
    for _ in 0..3 {
        let seen = state
            .storage
            .stage_snapshot(&new.pipeline, &new.stage, None, None)
            .await
            .map_err(internal)?
            .current
            .map(|d| d.sha);
        let ancestry = ancestry_for(state, at, seen.as_ref(), sha).await;
        let check = |snapshot: &StageSnapshot| {
            let now = snapshot.current.as_ref().map(|d| &d.sha);
            if now != seen.as_ref() {
                return Err(CreateDeploymentError::Stale);
            }
            let previous = previous_from_snapshot(at, snapshot);
            let results =
                gates::evaluate(&facts(at, sha, previous, snapshot, ancestry.clone(), user));
            match gates::first_blocker(&results) {
                Some(blocker) => Err(CreateDeploymentError::Refused(blocker.clone())),
                None => Ok(()),
            }
        };
        match state.storage.create_deployment(&new, &check).await {
            Ok(d) => {
                if let Ok(mirror) = state.repos.mirror(at.pipeline.id.as_str()) {
                    if let Err(e) = mirror.pin(sha).await {
                        tracing::warn!(error = %format!("{e:#}"), "failed to pin a deployed SHA");
                    }
                }
                return Ok(d);
            }
            Err(CreateDeploymentError::Stale) => continue,
            Err(CreateDeploymentError::Refused(r)) => return Err(refused(&r)),
            Err(CreateDeploymentError::Storage(e)) => return Err(internal(e)),
        }
    }
    Err(AppError::Refused {
        gate: "busy".into(),
        message: "the stage kept changing while the promotion was checked; try again".into(),
    })
}

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
            .await
            .map_err(internal)?;
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
            .await
            .map_err(internal)?
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
/// audited exception to the ancestry gate; busy, lock and permission still apply.
pub async fn rollback(
    state: &Services,
    user: &User,
    pipeline_id: &str,
    stage_id: &str,
    reason: &str,
) -> Result<Deployment, AppError> {
    let at = stage(state, pipeline_id, stage_id)?;
    let reason = reason.trim();
    let mut entry = audit_entry(user, "rollback", pipeline_id, "refused");
    entry.stage = Some(stage_id.into());
    let result = async {
        authorize(user, Action::Rollback)?;
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
        let target = rollback_target(state, &at)
            .await?
            .ok_or_else(|| AppError::Refused {
                gate: "rollback_target".into(),
                message: format!(
                    "{} has no earlier successful SHA to roll back to",
                    at.stage().label
                ),
            })?;
        let new = NewDeployment {
            pipeline: at.pipeline.id.clone(),
            stage: at.stage().id.clone(),
            previous_stage: None,
            sha: target.clone(),
            kind: DeploymentKind::Rollback,
            requested_by: user.id,
            reason: Some(reason.to_owned()),
        };
        let check = |snapshot: &StageSnapshot| {
            // Previous-stage and ancestry gates do not apply to a rollback.
            let results = gates::evaluate(&facts(
                &at,
                &target,
                Previous::FirstStage { marked_ready: true },
                snapshot,
                Ancestry::NoCurrent,
                user,
            ));
            let blocker = results.iter().find(|r| {
                r.status != gates::GateStatus::Pass
                    && matches!(r.gate, gates::GateKind::Busy | gates::GateKind::Lock)
            });
            match blocker {
                Some(b) => Err(CreateDeploymentError::Refused(b.clone())),
                None => Ok(()),
            }
        };
        match state.storage.create_deployment(&new, &check).await {
            Ok(d) => Ok(d),
            Err(CreateDeploymentError::Refused(r)) => Err(refused(&r)),
            Err(CreateDeploymentError::Stale) => Err(AppError::Refused {
                gate: "busy".into(),
                message: "the stage changed; try again".into(),
            }),
            Err(CreateDeploymentError::Storage(e)) => Err(internal(e)),
        }
    }
    .await;
    match &result {
        Ok(d) => {
            entry.outcome = "ok".into();
            entry.sha = Some(d.sha.to_string());
            entry.target = Some(format!("deployment #{}", d.id));
            entry.detail = Some(format!(
                "from {} to {} (ancestry gate bypassed): {reason}",
                d.previous_sha.as_ref().map_or("nothing", |s| s.short()),
                d.sha.short()
            ));
        }
        Err(e) => entry.detail = Some(format!("{reason} — {e}")),
    }
    audit(state, entry).await;
    let d = result?;
    start(state, at.pipeline, at.stage(), d.clone());
    Ok(d)
}

/// Marks a SHA of the pipeline's branch ready.
pub async fn mark_ready(
    state: &Services,
    user: &User,
    pipeline_id: &str,
    sha: &str,
    note: Option<&str>,
) -> Result<bool, AppError> {
    let p = pipeline(state, pipeline_id)?;
    let sha = parse_sha(sha)?;
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 500) {
        return Err(AppError::BadRequest(
            "a note may have at most 500 characters".into(),
        ));
    }
    let mut entry = audit_entry(user, "mark_ready", pipeline_id, "refused");
    entry.sha = Some(sha.to_string());
    let result = async {
        authorize(user, Action::MarkReady)?;
        require_on_branch(state, p, &sha).await?;
        state
            .storage
            .mark_ready(&p.id, &sha, user.id, note)
            .await
            .map_err(internal)
    }
    .await;
    match &result {
        Ok(_) => entry.outcome = "ok".into(),
        Err(e) => entry.detail = Some(e.to_string()),
    }
    audit(state, entry).await;
    if result.is_ok() {
        state.events.board_changed(pipeline_id, "ready").await;
    }
    result
}

/// Removes a ready mark.
pub async fn unmark_ready(
    state: &Services,
    user: &User,
    pipeline_id: &str,
    sha: &str,
) -> Result<bool, AppError> {
    let p = pipeline(state, pipeline_id)?;
    let sha = parse_sha(sha)?;
    authorize(user, Action::MarkReady)?;
    let removed = state
        .storage
        .unmark_ready(&p.id, &sha)
        .await
        .map_err(internal)?;
    let mut entry = audit_entry(
        user,
        "unmark_ready",
        pipeline_id,
        if removed { "ok" } else { "not_marked" },
    );
    entry.sha = Some(sha.to_string());
    audit(state, entry).await;
    if removed {
        state.events.board_changed(pipeline_id, "ready").await;
    }
    Ok(removed)
}

/// Locks a stage with a reason and an optional expiry.
pub async fn lock(
    state: &Services,
    user: &User,
    pipeline_id: &str,
    stage_id: &str,
    reason: &str,
    minutes: Option<i64>,
) -> Result<(), AppError> {
    let at = stage(state, pipeline_id, stage_id)?;
    let reason = reason.trim();
    let mut entry = audit_entry(user, "lock", pipeline_id, "refused");
    entry.stage = Some(stage_id.into());
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
                Some(OffsetDateTime::now_utc() + time::Duration::minutes(m))
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
            Err(crate::storage::StorageError::Conflict(m)) => Err(AppError::Refused {
                gate: "lock".into(),
                message: m,
            }),
            Err(e) => Err(internal(e)),
        }
    }
    .await;
    if result.is_ok() {
        entry.outcome = "ok".into();
    } else if let Err(e) = &result {
        entry.detail = Some(format!("{reason} — {e}"));
    }
    audit(state, entry).await;
    if result.is_ok() {
        state.events.board_changed(pipeline_id, "lock").await;
    }
    result
}

/// Removes a stage's lock.
pub async fn unlock(
    state: &Services,
    user: &User,
    pipeline_id: &str,
    stage_id: &str,
) -> Result<(), AppError> {
    let at = stage(state, pipeline_id, stage_id)?;
    authorize(
        user,
        Action::Lock {
            production: at.stage().production,
        },
    )?;
    let removed = state
        .storage
        .unlock_stage(&at.pipeline.id, &at.stage().id)
        .await
        .map_err(internal)?;
    let mut entry = audit_entry(
        user,
        "unlock",
        pipeline_id,
        if removed.is_some() {
            "ok"
        } else {
            "not_locked"
        },
    );
    entry.stage = Some(stage_id.into());
    entry.detail = removed.map(|l| format!("lock by {} ({})", l.by, l.reason));
    audit(state, entry).await;
    state.events.board_changed(pipeline_id, "lock").await;
    Ok(())
}

/// Cancels a running deployment (its whole process group).
pub async fn cancel(state: &Services, user: &User, id: i64) -> Result<(), AppError> {
    authorize(user, Action::Cancel)?;
    let d = state
        .storage
        .deployment(id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound(format!("there is no deployment #{id}")))?;
    let mut entry = audit_entry(user, "cancel", &d.pipeline, "refused");
    entry.stage = Some(d.stage.clone());
    entry.sha = Some(d.sha.to_string());
    entry.target = Some(format!("deployment #{id}"));
    if !d.state.is_active() {
        entry.detail = Some(format!("already {}", d.state));
        audit(state, entry).await;
        return Err(AppError::Refused {
            gate: "state".into(),
            message: format!("deployment #{id} already ended ({})", d.state),
        });
    }
    let handle = state.deploys.lock_running().get(&id).cloned();
    match handle {
        Some(h) => h.cancel(),
        // Not run by this process (should not happen after start-up recovery): end it here.
        None => {
            state
                .storage
                .finish_deployment(
                    id,
                    DeploymentState::Cancelled,
                    None,
                    OffsetDateTime::now_utc(),
                )
                .await
                .map_err(internal)?;
        }
    }
    entry.outcome = "ok".into();
    audit(state, entry).await;
    Ok(())
}

/// Writes log lines as the deployer prints them.
struct LogWriter {
    state: Services,
    pipeline: String,
    id: i64,
    seq: i64,
}

impl LogWriter {
    async fn write(&mut self, stream: &str, at: OffsetDateTime, text: &str) {
        self.seq += 1;
        if let Err(e) = self
            .state
            .storage
            .append_log(self.id, self.seq, at, stream, text)
            .await
        {
            tracing::error!(deployment = self.id, error = %e, "failed to store a log line");
        }
        let fmt = time::macros::format_description!("[hour]:[minute]:[second]");
        let at = at.format(&fmt).unwrap_or_default();
        self.state
            .events
            .log_line(&self.pipeline, self.id, self.seq, stream, &at, text)
            .await;
    }
}

#[async_trait::async_trait]
impl RunObserver for LogWriter {
    async fn started(&mut self, pgid: i32) {
        if let Err(e) = self
            .state
            .storage
            .mark_running(self.id, pgid, OffsetDateTime::now_utc())
            .await
        {
            tracing::error!(deployment = self.id, error = %e, "failed to record a running deployment");
        }
        self.state
            .events
            .deployment_changed(&self.pipeline, self.id, "running")
            .await;
    }

    async fn line(&mut self, stream: Stream, at: OffsetDateTime, text: String) {
        let name = match stream {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        };
        self.write(name, at, &text).await;
    }
}

/// Starts the stage's deployer for a freshly created deployment, in the background.
pub fn start(state: &Services, pipeline: &PipelineConfig, stage: &StageConfig, d: Deployment) {
    let deployer = stage.deployer.clone();
    let mut env = vec![
        ("SLIPWAY_SHA".to_owned(), d.sha.to_string()),
        ("SLIPWAY_STAGE".to_owned(), stage.id.to_string()),
        ("SLIPWAY_PIPELINE".to_owned(), pipeline.id.to_string()),
        (
            "SLIPWAY_PREVIOUS_SHA".to_owned(),
            d.previous_sha
                .as_ref()
                .map(Sha::to_string)
                .unwrap_or_default(),
        ),
        ("SLIPWAY_DEPLOYMENT_ID".to_owned(), d.id.to_string()),
    ];
    env.extend(deployer.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    let spec = RunSpec {
        argv: deployer.command.clone(),
        env,
        workdir: deployer
            .workdir
            .clone()
            .unwrap_or_else(|| state.config.data_dir.clone()),
        timeout: deployer.timeout,
        grace: KILL_GRACE,
    };
    let cancel = CancelHandle::new();
    state.deploys.lock_running().insert(d.id, cancel.clone());
    let state2 = state.clone();
    let task = tokio::spawn(async move {
        let id = d.id;
        state2
            .events
            .deployment_changed(&d.pipeline, id, "queued")
            .await;
        state2.events.board_changed(&d.pipeline, "deploying").await;
        let mut log = LogWriter {
            state: state2.clone(),
            pipeline: d.pipeline.clone(),
            id,
            seq: 0,
        };
        let outcome = runner::run(spec, &mut log, cancel).await;
        let (end, code, note) = match &outcome {
            Outcome::Exited { code: 0 } => (DeploymentState::Succeeded, Some(0), None),
            Outcome::Exited { code } => (
                DeploymentState::Failed,
                Some(*code),
                Some(format!("the deployer exited with code {code}")),
            ),
            Outcome::Signalled { signal } => (
                DeploymentState::Failed,
                None,
                Some(format!("the deployer was killed by signal {signal}")),
            ),
            Outcome::TimedOut => (
                DeploymentState::TimedOut,
                None,
                Some("the deployer ran past its timeout and was stopped".to_owned()),
            ),
            Outcome::Cancelled if state2.deploys.is_stopping() => (
                DeploymentState::Cancelled,
                None,
                Some("cancelled: Slipway shut down before the deploy finished; its process group was stopped".to_owned()),
            ),
            Outcome::Cancelled => (
                DeploymentState::Cancelled,
                None,
                Some("cancelled; the deployer's process group was stopped".to_owned()),
            ),
            Outcome::SpawnFailed { message } => {
                (DeploymentState::Failed, None, Some(message.clone()))
            }
        };
        if let Some(note) = note {
            log.write("slipway", OffsetDateTime::now_utc(), &note).await;
        }
        match state2
            .storage
            .finish_deployment(id, end, code, OffsetDateTime::now_utc())
            .await
        {
            Ok(_) => {}
            Err(e) => {
                tracing::error!(deployment = id, error = %e, "failed to record the end of a deployment")
            }
        }
        state2
            .events
            .deployment_changed(&d.pipeline, id, end.as_str())
            .await;
        state2.events.board_changed(&d.pipeline, "deployed").await;
        audit(
            &state2,
            NewAudit {
                actor: d.requested_by.clone(),
                action: "deploy_finished".into(),
                pipeline: Some(d.pipeline.clone()),
                stage: Some(d.stage.clone()),
                sha: Some(d.sha.to_string()),
                target: Some(format!("deployment #{id}")),
                outcome: end.as_str().into(),
                detail: code.map(|c| format!("exit code {c}")),
            },
        )
        .await;
        state2.deploys.lock_running().remove(&id);
    });
    let mut tasks = state
        .deploys
        .tasks
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    tasks.retain(|t| !t.is_finished());
    tasks.push(task);
}

/// At start-up: ends the process group of every deployment a previous process left
/// queued or running, and marks it interrupted (audited). Nothing is ever left
/// "running" that nothing runs.
pub async fn recover_interrupted(state: &Services) -> anyhow::Result<usize> {
    let left = state.storage.unfinished_deployments().await?;
    for d in &left {
        if let Some(pgid) = d.pgid {
            runner::terminate_group(pgid, KILL_GRACE).await;
        }
        let now = OffsetDateTime::now_utc();
        let seq = state
            .storage
            .log_lines(d.id, 0, i64::MAX)
            .await
            .map(|l| l.last().map_or(0, |l| l.seq))
            .unwrap_or(0);
        let note = match d.pgid {
            Some(pgid) => format!("interrupted: Slipway stopped while this deployment ran; its process group {pgid} was ended at restart"),
            None => "interrupted: Slipway stopped before this deployment started".to_owned(),
        };
        let _ = state
            .storage
            .append_log(d.id, seq + 1, now, "slipway", &note)
            .await;
        state
            .storage
            .finish_deployment(d.id, DeploymentState::Interrupted, None, now)
            .await?;
        state
            .events
            .deployment_changed(&d.pipeline, d.id, "interrupted")
            .await;
        state.events.board_changed(&d.pipeline, "deployed").await;
        audit(
            state,
            NewAudit {
                actor: None,
                action: "deploy_interrupted".into(),
                pipeline: Some(d.pipeline.clone()),
                stage: Some(d.stage.clone()),
                sha: Some(d.sha.to_string()),
                target: Some(format!("deployment #{}", d.id)),
                outcome: "interrupted".into(),
                detail: Some(note),
            },
        )
        .await;
        tracing::warn!(
            deployment = d.id,
            "marked an abandoned deployment interrupted"
        );
    }
    Ok(left.len())
}

/// On shutdown: refuse new promotions, wait up to `grace` for running deploys, then
/// cancel the rest and wait for them to record their end.
pub async fn shutdown(state: &Services, grace: Duration) {
    state.deploys.stopping.store(true, Ordering::SeqCst);
    let deadline = tokio::time::Instant::now() + grace;
    while state.deploys.running_count() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let handles: Vec<CancelHandle> = state.deploys.lock_running().values().cloned().collect();
    if !handles.is_empty() {
        tracing::warn!(
            count = handles.len(),
            "cancelling deploys still running at shutdown"
        );
    }
    for h in handles {
        h.cancel();
    }
    let tasks: Vec<_> = std::mem::take(
        &mut *state
            .deploys
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner()),
    );
    for t in tasks {
        let _ = t.await;
    }
}
