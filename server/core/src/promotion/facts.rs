//! The one fact gatherer: what the gates of a stage need to know about a SHA, assembled
//! the same way for the card on the board, the API's gate check and the transaction
//! that creates the deployment.
//!
//! [`facts`] is pure (unit-tested below); [`gather`] adds the I/O (the stage's
//! snapshot, ancestry and migration files from git or its caches) for the board and the API. The
//! creating transaction cannot run git or an artifact check, so it asks them first
//! ([`GitFacts`], [`crate::probes::artifact::fact_now`]) and re-reads the snapshot inside
//! the transaction, then calls the same [`facts`].

use super::lookup::StageRef;
use crate::calendar;
use crate::config::PipelineConfig;
use crate::config::StageConfig;
use crate::store::{ApprovalRecord, Drift, Freeze, RequestState, StageHealth};
use crate::store::{StageSnapshot, User};
use crate::Services;
use slipway_model::error::AppError;
use slipway_model::gates::{
    self, Ancestry, Approval, ApprovalRequestState, Artifact, Ci, DriftInfo, FreezeInfo,
    GateResult, HealthFact, HealthState, LockInfo, Migrations, Previous, PromotionFacts, SignOff,
    SlotTime, TargetStage, WindowState,
};
use slipway_model::Sha;
use std::sync::Arc;
use time::OffsetDateTime;

/// Where `sha` stands with respect to the stage's `current` SHA: from the permanent
/// cache (both directions are stored, so a refusal can say *older* or *another branch*),
/// else asked once of the repository (git, or one GitHub compare) and remembered.
/// Unknown objects are never remembered: they may be fetched later.
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
    let id = &pipeline.id;
    let diverges = |older| Ancestry::Diverges {
        current: current.clone(),
        older,
    };
    let storage = &state.storage;
    match storage
        .cached_ancestry(id, current, sha)
        .await
        .ok()
        .flatten()
    {
        Some(true) => return Ancestry::Descends,
        Some(false) => {
            if let Ok(Some(older)) = storage.cached_ancestry(id, sha, current).await {
                return diverges(older);
            }
        }
        None => {}
    }
    let relation = match state.repos.relation(id.as_str(), current, sha).await {
        Ok(Some(r)) => r,
        Ok(None) => return Ancestry::Unknown,
        Err(e) => {
            tracing::warn!(error = %e, "ancestry check failed");
            return Ancestry::Unavailable {
                reason: e.to_string(),
            };
        }
    };
    // History never changes for two commits both present: remember both directions.
    let (forward, backward) = (relation.base_is_ancestor(), relation.head_is_ancestor());
    let _ = storage.cache_ancestry(id, current, sha, forward).await;
    let _ = storage.cache_ancestry(id, sha, current, backward).await;
    if forward {
        Ancestry::Descends
    } else {
        diverges(backward)
    }
}

/// Where a SHA stands on the stage before the target: how its deployments there went,
/// and its sign-off there.
#[derive(Clone, Debug)]
pub struct Standing {
    /// Its deployments on the previous stage (or its ready mark).
    pub previous: Previous,
    /// Its sign-off on the previous stage, where that stage asks for one.
    pub sign_off: SignOff,
    /// Its open approval request for the target stage, if any.
    pub approval_request: Option<ApprovalRecord>,
}

impl Standing {
    /// What a rollback is held to: neither the previous stage nor a sign-off applies.
    pub fn rollback() -> Self {
        Standing {
            previous: Previous::FirstStage { marked_ready: true },
            sign_off: SignOff::NotRequired,
            approval_request: None,
        }
    }
}

/// The sign-off fact for promoting into `at`, given who signed the SHA off on the
/// previous stage (if anyone did).
pub fn sign_off_fact(at: &StageRef<'_>, signed_by: Option<&str>) -> SignOff {
    match at.previous() {
        Some(prev) => match &prev.sign_off {
            Some(rule) => SignOff::Required {
                stage: prev.label.clone(),
                roles: rule.roles,
                by: signed_by.map(str::to_owned),
            },
            None => SignOff::NotRequired,
        },
        None => SignOff::NotRequired,
    }
}

/// Where `sha` stands on the stage before `at`, from a snapshot read for it.
pub fn standing_from_snapshot(at: &StageRef<'_>, snapshot: &StageSnapshot) -> Standing {
    let previous = match at.previous() {
        None => Previous::FirstStage {
            marked_ready: snapshot.marked_ready,
        },
        Some(prev) => Previous::Stage {
            label: prev.label.clone(),
            succeeded: snapshot.previous_succeeded,
            rolled_back: snapshot.previous_rolled_back,
            failed_since: snapshot.previous_failed_since,
        },
    };
    let signed_by = snapshot.previous_sign_off.as_ref().map(|s| s.by.as_str());
    Standing {
        previous,
        sign_off: sign_off_fact(at, signed_by),
        approval_request: snapshot.approval.clone(),
    }
}

/// Who asks for the promotion, when, whether as an emergency override, and what they
/// acknowledged.
#[derive(Clone, Copy)]
pub struct Asker<'a> {
    pub user: &'a User,
    /// The instant windows and freezes are evaluated at (the store's clock).
    pub now: OffsetDateTime,
    /// An emergency override (its permission and reason are checked by the command).
    pub emergency: bool,
    /// The promoter acknowledged the migration files the deployment crosses.
    pub acknowledged_migrations: bool,
    /// The promoter acknowledged that the deployment overwrites a drifted stage.
    pub acknowledged_drift: bool,
}

impl<'a> Asker<'a> {
    /// `user`, now, no override, nothing acknowledged: what the card shows.
    pub fn plain(state: &Services, user: &'a User) -> Self {
        Asker {
            user,
            now: state.now(),
            emergency: false,
            acknowledged_migrations: false,
            acknowledged_drift: false,
        }
    }
}

/// What git says about the candidate against the stage's current SHA. Git cannot run
/// inside the creating transaction, so this is computed first, for the current SHA seen
/// then; the transaction refuses as stale when the stage moved meanwhile.
#[derive(Clone, Debug)]
pub struct GitFacts {
    /// The candidate's relation to the current SHA.
    pub ancestry: Ancestry,
    /// The current SHA compared with, if any.
    pub current: Option<Sha>,
    /// The migration files between the two (`None`: unknown yet).
    pub migrations: Option<Arc<[String]>>,
    /// The deployment goes back (a rollback): it steps back over the migrations.
    pub stepping_back: bool,
    /// What the pipeline's required CI checks say about the candidate.
    pub ci: Ci,
}

impl GitFacts {
    /// The migrations fact, with or without the promoter's acknowledgement.
    fn migrations_fact(&self, acknowledged: bool) -> Migrations {
        let Some(current) = &self.current else {
            return Migrations::NoCurrent;
        };
        match &self.migrations {
            None => Migrations::Unknown,
            Some(files) if files.is_empty() => Migrations::None,
            Some(files) => Migrations::Touched {
                files: files.to_vec(),
                current: current.clone(),
                stepping_back: self.stepping_back,
                acknowledged,
            },
        }
    }
}

/// The stage's deploy windows at `now`, with times in the windows' own zone.
pub fn window_state(stage: &StageConfig, now: OffsetDateTime) -> WindowState {
    let Some(zone) = stage.windows.first().map(calendar::Window::zone) else {
        return WindowState::Always;
    };
    match calendar::opening(&stage.windows, now) {
        calendar::Opening::Open { until } => WindowState::Open {
            until: calendar::local_label(until, zone),
        },
        calendar::Opening::Closed { next } => WindowState::Closed {
            next: next.map(|t| calendar::local_label(t, zone)),
        },
    }
}

/// The freeze closing `at`'s stage at `now`, from the config or stored (`stored` are
/// the stored ones in force on the stage): the one that lasts longest.
pub fn freeze_fact(
    at: &StageRef<'_>,
    stored: &[Freeze],
    now: OffsetDateTime,
) -> Option<FreezeInfo> {
    let stage = at.stage();
    let configured = at.pipeline.freezes.iter().filter(|f| {
        f.from <= now && now < f.until && (f.stages.is_empty() || f.stages.contains(&stage.id))
    });
    let zone = stage_zone(stage);
    configured
        .map(|f| (f.until, f.reason.clone()))
        .chain(
            stored
                .iter()
                .filter(|f| f.closes(stage.id.as_str()) && f.from <= now && now < f.until)
                .map(|f| (f.until, f.reason.clone())),
        )
        .max_by_key(|(until, _)| *until)
        .map(|(until, reason)| FreezeInfo {
            reason,
            until: calendar::local_label(until, zone),
        })
}

/// What `stage`'s probe says at `now`, from the stored rows of its pipeline: unknown
/// without an answer, or when the last one is older than a few probe intervals (the
/// server was down, or the probe hangs).
pub fn health_state(
    stage: &StageConfig,
    stored: &[StageHealth],
    now: OffsetDateTime,
    zone: chrono_tz::Tz,
) -> HealthState {
    let Some(probe) = &stage.health else {
        return HealthState::Unknown;
    };
    let trusted_for =
        probe.interval * crate::config::defaults::PROBE_TRUSTED_INTERVALS + probe.timeout;
    match stored.iter().find(|h| h.stage == stage.id.as_str()) {
        Some(h) if now - h.checked_at <= trusted_for => {
            let since = calendar::local_label(h.since, zone);
            if h.healthy {
                HealthState::Healthy { since }
            } else {
                HealthState::Unhealthy {
                    since,
                    detail: h.detail.clone(),
                }
            }
        }
        _ => HealthState::Unknown,
    }
}

/// The health of each stage `at` requires healthy.
pub fn health_facts(
    at: &StageRef<'_>,
    stored: &[StageHealth],
    now: OffsetDateTime,
) -> Vec<HealthFact> {
    let zone = stage_zone(at.stage());
    at.stage()
        .requires_healthy
        .iter()
        .filter_map(|id| at.pipeline.stages.iter().find(|s| &s.id == id))
        .map(|s| HealthFact {
            stage: s.label.clone(),
            state: health_state(s, stored, now, zone),
        })
        .collect()
}

/// The stage's drift, while it concerns the SHA the stage records now (a deployment
/// since makes it moot until the probe looks again).
pub fn drift_fact(
    at: &StageRef<'_>,
    drift: Option<&Drift>,
    current: Option<&Sha>,
    acknowledged: bool,
) -> Option<DriftInfo> {
    let d = drift.filter(|d| Some(&d.recorded) == current)?;
    Some(DriftInfo {
        runs: d.runs.clone(),
        recorded: d.recorded.clone(),
        since: calendar::local_label(d.since, stage_zone(at.stage())),
        acknowledged,
    })
}

/// The zone a stage's times are written in: its windows', else UTC.
pub fn stage_zone(stage: &StageConfig) -> chrono_tz::Tz {
    stage
        .windows
        .first()
        .map_or(chrono_tz::UTC, calendar::Window::zone)
}

/// The approval fact for promoting into `at`, given the SHA's open request there and
/// the stage's current SHA.
pub fn approval_fact(
    at: &StageRef<'_>,
    request: Option<&ApprovalRecord>,
    current: Option<&Sha>,
    now: OffsetDateTime,
) -> Approval {
    let Some(rule) = &at.stage().approval else {
        return Approval::NotRequired;
    };
    let request = request.and_then(|r| match (r.state, r.slot) {
        (RequestState::Pending, _) => Some(ApprovalRequestState::Pending {
            by: r.requested_by.clone(),
        }),
        (RequestState::Approved, Some((from, until))) => Some(ApprovalRequestState::Approved {
            by: r.decided_by.clone().unwrap_or_default(),
            slot: calendar::range_label(from, until, stage_zone(at.stage())),
            when: if now < from {
                SlotTime::Before
            } else if now < until {
                SlotTime::Inside
            } else {
                SlotTime::After
            },
            stale: r.base_sha.as_ref() != current,
        }),
        _ => None,
    });
    Approval::Required {
        roles: rule.roles,
        request,
    }
}

/// Assembles the gate facts. `stage_facts` only needs the stage-level parts (current,
/// active deployment, lock); `standing` carries the SHA-specific part; `git` and
/// `artifact` were asked before.
pub fn facts(
    at: &StageRef<'_>,
    sha: &Sha,
    standing: Standing,
    stage_facts: &StageSnapshot,
    git: &GitFacts,
    artifact: Artifact,
    asker: Asker<'_>,
) -> PromotionFacts {
    let stage = at.stage();
    PromotionFacts {
        sha: sha.clone(),
        target: TargetStage {
            label: stage.label.clone(),
            fast_forward_only: stage.fast_forward_only,
            promote_roles: stage.promote_roles,
        },
        previous: standing.previous,
        sign_off: standing.sign_off,
        approval: approval_fact(
            at,
            standing.approval_request.as_ref(),
            stage_facts.current.as_ref().map(|d| &d.sha),
            asker.now,
        ),
        ancestry: git.ancestry.clone(),
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
        user_roles: asker.user.roles,
        window: window_state(stage, asker.now),
        freeze: freeze_fact(at, &stage_facts.freezes, asker.now),
        migrations: git.migrations_fact(asker.acknowledged_migrations),
        health: health_facts(at, &stage_facts.health, asker.now),
        drift: drift_fact(
            at,
            stage_facts.drift.as_ref(),
            stage_facts.current.as_ref().map(|d| &d.sha),
            asker.acknowledged_drift,
        ),
        artifact,
        ci: git.ci.clone(),
        emergency: asker.emergency,
    }
}

/// What the repository says about `sha` against the stage's `current` SHA: ancestry
/// (only fast-forward-only stages ask) and the migration files between them; and what
/// its CI says about `sha`.
pub async fn git_facts(
    state: &Services,
    at: &StageRef<'_>,
    current: Option<&Sha>,
    sha: &Sha,
) -> GitFacts {
    let ancestry = if at.stage().fast_forward_only {
        ancestry(state, at.pipeline, current, sha).await
    } else {
        Ancestry::Unknown
    };
    let migrations = match current {
        None => Some(Arc::from(Vec::new())),
        Some(current) => match state
            .repos
            .migrations_between(at.pipeline.id.as_str(), current, sha)
            .await
        {
            Ok(files) => files,
            Err(e) => {
                tracing::warn!(error = %e, "migration check failed");
                None
            }
        },
    };
    GitFacts {
        ancestry,
        current: current.cloned(),
        migrations,
        stepping_back: false,
        ci: crate::github::checks::ci_fact(state, at.pipeline, sha).await,
    }
}

/// The gates for promoting `sha` into a stage, as the card shows them.
pub async fn evaluate_gates(
    state: &Services,
    user: &User,
    at: &StageRef<'_>,
    sha: &Sha,
) -> Result<Vec<GateResult>, AppError> {
    // Only commits on the branch are evaluated (as of the last fetch: this is a read),
    // so no one can fill the ancestry cache with SHAs of their choosing.
    super::lookup::require_on_branch(
        state,
        at.pipeline,
        sha,
        super::lookup::IfMissing::AsOfLastFetch,
    )
    .await?;
    let facts = facts_now(state, Asker::plain(state, user), at, sha).await?;
    Ok(gates::evaluate(&facts))
}

/// The facts for promoting `sha` into `at` as `asker`, read now: the stage's snapshot,
/// where `sha` stands on the previous stage, its artifact (asked now unless found),
/// git's answers. The API's gate check and a queued promotion's request read them so.
pub async fn facts_now(
    state: &Services,
    asker: Asker<'_>,
    at: &StageRef<'_>,
    sha: &Sha,
) -> Result<PromotionFacts, AppError> {
    Ok(snapshot_and_facts_now(state, asker, at, sha).await?.1)
}

/// [`facts_now`], with the stage's snapshot they were read from (what runs there now).
pub async fn snapshot_and_facts_now(
    state: &Services,
    asker: Asker<'_>,
    at: &StageRef<'_>,
    sha: &Sha,
) -> Result<(StageSnapshot, PromotionFacts), AppError> {
    let snapshot = state
        .storage
        .stage_snapshot(
            &at.pipeline.id,
            &at.stage().id,
            at.previous().map(|p| &p.id),
            Some(sha),
        )
        .await?;
    let standing = standing_from_snapshot(at, &snapshot);
    let artifact = crate::probes::artifact::fact_now(state, at.pipeline, at.stage(), sha).await;
    let facts = gather(state, asker, at, sha, standing, &snapshot, artifact).await;
    Ok((snapshot, facts))
}

/// The facts for promoting `sha` into `at`, given the stage's snapshot, where `sha`
/// stands on the previous stage (`standing`) and its artifact: asks git (or its caches)
/// for ancestry and migrations. The card and the API's gate check both come through here.
pub async fn gather(
    state: &Services,
    asker: Asker<'_>,
    at: &StageRef<'_>,
    sha: &Sha,
    standing: Standing,
    snapshot: &StageSnapshot,
    artifact: Artifact,
) -> PromotionFacts {
    let current = snapshot.current.as_ref().map(|d| &d.sha);
    let git = git_facts(state, at, current, sha).await;
    facts(at, sha, standing, snapshot, &git, artifact, asker)
}

#[cfg(test)]
mod tests;
