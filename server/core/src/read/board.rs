//! A pipeline's board: the commits lane, Ready and one column per stage, each card with
//! the gates of its next column, as the viewing user may act on them.

use super::board_approvals::{self, FourEyes};
use super::{
    commit_card, deployment_ref, gate_views, pipeline_summary, sign_off_view, stage_snapshots,
    stage_summary,
};
use crate::authz::{authorize, internal};
use crate::config::PipelineConfig;
use crate::probes::artifact;
use crate::promotion::{self, facts, StageRef};
use crate::repos::{redact_userinfo, Commit, RepoError};
use crate::store::{ArtifactSeen, QueueState, QueuedPromotion, RequestState, User};
use crate::Services;
use slipway_model::error::AppError;
use slipway_model::gates::{self, Previous};
use slipway_model::gates::{HealthState, WindowState};
use slipway_model::placement::{self, CardFacts, Column};
use slipway_model::time_fmt::age;
use slipway_model::views::{
    BoardView, Card, EmergencyView, HealthView, LockView, MirrorView, NextStep, QueuedView,
    ReadyInfo, SignOffSlot, StageColumn,
};
use slipway_model::{Action, DeploymentId, Sha};
use std::collections::{HashMap, HashSet};

/// How many superseded cards a stage column shows (the newest).
pub const SUPERSEDED_SHOWN: usize = 5;

/// How many first-parent commits the board considers.
pub const COMMITS_SHOWN: usize = 50;

/// How many ready marks the board shows beyond those of the commits it shows anyway
/// (recent, current or deploying), newest first: CI marks every commit, so the marks
/// grow with the history while the board must not.
pub const OLDER_READY_SHOWN: i64 = 50;

/// How many of a failed deployment's last log lines its column shows.
pub const FAILURE_TAIL_LINES: i64 = 5;

/// One pipeline's board as anyone with `user`'s roles may see it, computed now; the
/// view is shared by everyone with those roles ([`super::board_cache`]), so nothing
/// in it may depend on who `user` is beyond their roles. What four eyes changes for
/// the requester of an approval is returned beside it, for
/// [`personalise`](super::board_cache::personalise).
pub(super) async fn compute(
    state: &Services,
    user: &User,
    p: &PipelineConfig,
) -> Result<(BoardView, FourEyes), AppError> {
    let pipeline_id = p.id.as_str();
    let asker = facts::Asker::plain(state, user);
    let now = asker.now.unix_timestamp();
    // Read before anything else: events after it are replayed to the page.
    let as_of_event = state.storage.event_id_range().await?.1;
    let (recent, log_error) = match state.repos.recent_commits(pipeline_id, COMMITS_SHOWN).await {
        Ok(c) => (c, None),
        Err(e @ (RepoError::Git(_) | RepoError::GitHub(_))) => (Vec::new(), Some(e.to_string())),
        Err(e @ RepoError::UnknownPipeline(_)) => return Err(internal(e)),
    };
    let status = state.repos.status(pipeline_id);
    let mirror = MirrorView {
        fetched: status.fetched_at.map(|t| age(now - t.unix_timestamp())),
        error: status.error.or(log_error),
    };

    // Stage-level facts: a fixed number of queries per stage.
    let snaps = stage_snapshots(state, p).await?;
    let mut commits: Vec<Commit> = recent;
    let known: HashSet<Sha> = commits.iter().map(|c| c.sha.clone()).collect();
    // Collected, not a lazy iterator: one held across an `.await` makes the future's
    // `Send` unprovable (a higher-ranked lifetime error in the server function).
    let on_stages: Vec<Sha> = snaps
        .iter()
        .flat_map(|s| s.current.iter().chain(s.active.iter()))
        .map(|d| d.sha.clone())
        .collect();
    let shown: Vec<Sha> = known
        .iter()
        .cloned()
        .chain(on_stages.iter().cloned())
        .collect();
    let ready: HashMap<Sha, _> = state
        .storage
        .ready_marks(&p.id, &shown, OLDER_READY_SHOWN)
        .await?
        .into_iter()
        .map(|m| (m.sha.clone(), m))
        .collect();

    // Every SHA that can be a card: recent commits, ready marks, current and active SHAs.
    let mut extra: Vec<Sha> = ready.keys().cloned().chain(on_stages).collect();
    extra.retain(|s| !known.contains(s));
    extra.sort();
    extra.dedup();
    if !extra.is_empty() {
        match state.repos.commits(pipeline_id, &extra).await {
            Ok(older) => commits.extend(older),
            Err(e) => tracing::warn!(error = %e, "failed to read older commits"),
        }
    }
    let shas: Vec<Sha> = commits.iter().map(|c| c.sha.clone()).collect();
    let stage_index: HashMap<&str, usize> = p
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let by_index = |pairs: Vec<(Sha, String)>| -> HashSet<(Sha, usize)> {
        pairs
            .into_iter()
            .filter_map(|(sha, stage)| stage_index.get(stage.as_str()).map(|i| (sha, *i)))
            .collect()
    };
    let succeeded = by_index(state.storage.successes(&p.id, &shas).await?);
    let rolled = by_index(state.storage.rolled_back(&p.id, &shas).await?);
    let failed = by_index(state.storage.failed_since(&p.id, &shas).await?);
    // Open approval requests, by (SHA, stage).
    let requests: HashMap<(Sha, usize), _> = state
        .storage
        .approval_requests(&p.id, None)
        .await?
        .into_iter()
        .filter(|r| matches!(r.state, RequestState::Pending | RequestState::Approved))
        .filter_map(|r| {
            stage_index
                .get(r.stage.as_str())
                .map(|i| ((r.sha.clone(), *i), r))
        })
        .collect();
    let signed: HashMap<(Sha, usize), _> = state
        .storage
        .sign_offs_in_force(&p.id, &shas)
        .await?
        .into_iter()
        .filter_map(|s| {
            stage_index
                .get(s.stage.as_str())
                .map(|i| ((s.sha.clone(), *i), s))
        })
        .collect();
    // What the artifact checks said, by (SHA, stage); queued promotions, by stage.
    let artifacts: HashMap<(Sha, usize), ArtifactSeen> = state
        .storage
        .artifacts_seen(&p.id, &shas)
        .await?
        .into_iter()
        .filter_map(|a| {
            stage_index
                .get(a.stage.as_str())
                .map(|i| ((a.sha.clone(), *i), a))
        })
        .collect();
    let queue = state.storage.queued_promotions(&p.id).await?;
    let waiting: HashMap<usize, &QueuedPromotion> = queue
        .iter()
        .filter(|q| q.state == QueueState::Waiting)
        .filter_map(|q| stage_index.get(q.stage.as_str()).map(|i| (*i, q)))
        .collect();
    let deploying: HashMap<Sha, DeploymentId> = snaps
        .iter()
        .filter_map(|s| s.active.as_ref())
        .map(|d| (d.sha.clone(), d.id))
        .collect();

    let mut lane = Vec::new();
    let mut ready_col = Vec::new();
    let mut columns: Vec<Vec<Card>> = vec![Vec::new(); p.stages.len()];
    for c in &commits {
        let succeeded_in: Vec<bool> = (0..p.stages.len())
            .map(|i| succeeded.contains(&(c.sha.clone(), i)))
            .collect();
        let Some(column) = placement::place(CardFacts {
            succeeded: &succeeded_in,
            marked_ready: ready.contains_key(&c.sha),
            recent: known.contains(&c.sha),
        }) else {
            continue;
        };
        let placed = match column {
            Column::Stage(i) => Some(i),
            Column::Ready | Column::Commits => None,
        };
        let ready_info = ready.get(&c.sha).map(|m| ReadyInfo {
            by: m.by.clone(),
            note: m.note.clone(),
            age: age(now - m.at.unix_timestamp()),
        });
        let current_here =
            placed.is_some_and(|i| snaps[i].current.as_ref().is_some_and(|d| d.sha == c.sha));
        let mut card = Card {
            commit: commit_card(c, now),
            current_here,
            superseded: placed.is_some() && !current_here,
            rolled_back: placed.is_some_and(|i| rolled.contains(&(c.sha.clone(), i))),
            deploying: deploying.get(&c.sha).copied(),
            ready: ready_info,
            next: None,
            sign_off: None,
        };
        if let Some(i) = placed {
            if let Some(rule) = &p.stages[i].sign_off {
                let given = signed.get(&(c.sha.clone(), i));
                let may = authorize(
                    user,
                    Action::SignOff {
                        allowed: rule.roles,
                    },
                )
                .is_ok();
                // Only what runs there now is offered for signing; a SHA on its way to
                // the next stage can no longer be withdrawn from.
                let moving_on = card.deploying.is_some();
                card.sign_off = Some(SignOffSlot {
                    stage: p.stages[i].id.to_string(),
                    label: p.stages[i].label.clone(),
                    roles: rule.roles.iter().map(|r| r.as_str().to_owned()).collect(),
                    given: given.map(|s| sign_off_view(s, now)),
                    can_sign: may && given.is_none() && card.current_here && !card.rolled_back,
                    can_withdraw: may && given.is_some() && !moving_on,
                });
            }
        }
        if let Some(n) = placement::next_stage(column, p.stages.len()) {
            // Superseded cards are collapsed: no gates, no git work for them.
            if !card.superseded || card.deploying.is_some() {
                let at = StageRef {
                    pipeline: p,
                    index: n,
                };
                let signed_by = n
                    .checked_sub(1)
                    .and_then(|prev| signed.get(&(c.sha.clone(), prev)))
                    .map(|s| s.by.as_str());
                let previous = match n {
                    0 => Previous::FirstStage {
                        marked_ready: card.ready.is_some(),
                    },
                    _ => {
                        let key = (c.sha.clone(), n - 1);
                        let failed_since = failed.contains(&key);
                        Previous::Stage {
                            label: p.stages[n - 1].label.clone(),
                            succeeded: succeeded.contains(&key) && !failed_since,
                            rolled_back: rolled.contains(&key),
                            failed_since,
                        }
                    }
                };
                let current = snaps[n].current.as_ref().map(|d| d.sha.clone());
                let standing = facts::Standing {
                    previous,
                    sign_off: facts::sign_off_fact(&at, signed_by),
                    approval_request: requests.get(&(c.sha.clone(), n)).cloned(),
                };
                let seen = artifacts.get(&(c.sha.clone(), n));
                artifact::refresh_in_background(state, p, &p.stages[n], &c.sha, seen);
                let artifact = artifact::fact_from(&p.stages[n], seen);
                let facts =
                    facts::gather(state, asker, &at, &c.sha, standing, &snaps[n], artifact).await;
                let results = gates::evaluate(&facts);
                let queued_here = waiting.get(&n).copied();
                let can_override = super::can_override(user, &facts);
                card.next = Some(NextStep {
                    from: current.as_ref().map(ToString::to_string),
                    stage: p.stages[n].id.to_string(),
                    label: p.stages[n].label.clone(),
                    production: p.stages[n].production,
                    allowed: gates::first_hard_blocker(&results).is_none(),
                    gates: gate_views(&results),
                    checklist: p.stages[n].checklist.clone(),
                    migrations: facts.migrations.to_acknowledge().to_vec(),
                    drift: super::drift_to_acknowledge(&p.stages[n], &facts),
                    can_override,
                    approval: board_approvals::approval_view(
                        &at,
                        user,
                        requests.get(&(c.sha.clone(), n)),
                        current.as_ref(),
                        asker.now,
                    ),
                    can_queue: gates::queueable(&results)
                        && queued_here.is_none_or(|q| q.sha != c.sha),
                    queue_replaces: queued_here
                        .filter(|q| q.sha != c.sha)
                        .map(|q| q.sha.short().to_owned()),
                    queued: queued_here
                        .filter(|q| q.sha == c.sha)
                        .map(|q| queued_view(&at, user, q, now)),
                    queue_outcome: queue
                        .iter()
                        .find(|q| {
                            q.sha == c.sha
                                && q.stage == at.stage().id.as_str()
                                && q.state != QueueState::Waiting
                        })
                        .and_then(|q| q.outcome.clone()),
                });
            }
        }
        match column {
            Column::Stage(i) => columns[i].push(card),
            Column::Ready => ready_col.push(card),
            Column::Commits => lane.push(card),
        }
    }

    let mut rollback_to = Vec::with_capacity(p.stages.len());
    for (i, stage) in p.stages.iter().enumerate() {
        let allowed = stage.rollback_roles;
        let target = if authorize(user, Action::Rollback { allowed }).is_ok() {
            promotion::rollback_target(
                state,
                &StageRef {
                    pipeline: p,
                    index: i,
                },
            )
            .await?
        } else {
            None
        };
        // What the rollback would step back over, for the acknowledgement on its form.
        let migrations = match &target {
            Some(target) => {
                let at = StageRef {
                    pipeline: p,
                    index: i,
                };
                let current = snaps[i].current.as_ref().map(|d| &d.sha);
                facts::git_facts(state, &at, current, target)
                    .await
                    .migrations
                    .map(|f| f.to_vec())
                    .unwrap_or_default()
            }
            None => Vec::new(),
        };
        rollback_to.push((target.map(|s| s.to_string()), migrations));
    }
    // A real failure shows the last lines that explain it, one read per failed stage.
    let mut failure_tails = Vec::with_capacity(p.stages.len());
    for snap in &snaps {
        let tail = match snap
            .last_finished
            .as_ref()
            .filter(|d| d.state.is_unsuccessful_end())
        {
            Some(d) => state
                .storage
                .log_tail(d.id, FAILURE_TAIL_LINES)
                .await?
                .into_iter()
                .map(|l| l.line)
                .collect(),
            None => Vec::new(),
        };
        failure_tails.push(tail);
    }
    let stages = p
        .stages
        .iter()
        .zip(snaps.iter())
        .zip(columns.into_iter().zip(failure_tails))
        .zip(rollback_to)
        .map(
            |(((s, snap), (mut cards, failure_tail)), (rollback_to, rollback_migrations))| {
                // Current first, then newest. Superseded cards beyond the newest few are left
                // out (the stage's history lists them all): a column of hundreds of old SHAs
                // helps nobody and costs every page view.
                cards.sort_by_key(|c| !c.current_here);
                let mut superseded_seen = 0;
                let before = cards.len();
                cards.retain(|c| {
                    if c.superseded && c.deploying.is_none() {
                        superseded_seen += 1;
                        superseded_seen <= SUPERSEDED_SHOWN
                    } else {
                        true
                    }
                });
                let hidden_superseded = before - cards.len();
                let current_id = snap.current.as_ref().map(|d| d.id);
                let (window, window_open) = match facts::window_state(s, asker.now) {
                    // Production always says whether it is open; other stages only when
                    // they have windows.
                    WindowState::Always if s.production => {
                        (Some("open (no deploy windows)".to_owned()), true)
                    }
                    WindowState::Always => (None, true),
                    WindowState::Open { until } => (Some(format!("open until {until}")), true),
                    WindowState::Closed { next: Some(next) } => {
                        (Some(format!("closed; opens {next}")), false)
                    }
                    WindowState::Closed { next: None } => {
                        (Some("closed; no window within a week".to_owned()), false)
                    }
                };
                let at = StageRef {
                    pipeline: p,
                    index: stage_position(p, s),
                };
                let freeze = facts::freeze_fact(&at, &snap.freezes, asker.now)
                    .map(|f| format!("frozen until {}: {}", f.until, f.reason));
                let drift = facts::drift_fact(
                    &at,
                    snap.drift.as_ref(),
                    snap.current.as_ref().map(|d| &d.sha),
                    false,
                )
                .map(|d| {
                    format!(
                        "runs {}, not its recorded SHA {}, since {}",
                        d.runs,
                        d.recorded.short(),
                        d.since
                    )
                });
                let health = s.health.as_ref().map(|_| {
                    let zone = facts::stage_zone(s);
                    match facts::health_state(s, &snap.health, asker.now, zone) {
                        HealthState::Healthy { since } => HealthView {
                            status: "healthy".into(),
                            text: format!("healthy since {since}"),
                        },
                        HealthState::Unhealthy { since, detail } => HealthView {
                            status: "unhealthy".into(),
                            text: format!("unhealthy since {since}: {detail}"),
                        },
                        HealthState::Unknown => HealthView {
                            status: "unknown".into(),
                            text: "health unknown: no recent answer from its probe".into(),
                        },
                    }
                });
                // The banner stays until the stage's next regular deployment.
                let emergency = snap
                    .active
                    .as_ref()
                    .or(snap.last_finished.as_ref())
                    .and_then(|d| {
                        d.emergency_reason.as_ref().map(|reason| EmergencyView {
                            deployment: d.id,
                            by: d.requested_by.clone(),
                            reason: reason.clone(),
                            age: age(now - d.created_at.unix_timestamp()),
                        })
                    });
                let last_attempt_failed = snap
                    .last_finished
                    .as_ref()
                    .filter(|d| d.state.is_unsuccessful_end() && Some(d.id) > current_id)
                    .map(|d| deployment_ref(d, now));
                StageColumn {
                    stage: stage_summary(s, Some(snap), now),
                    failure_tail: if last_attempt_failed.is_some() {
                        failure_tail
                    } else {
                        Vec::new()
                    },
                    last_attempt_failed,
                    active: snap.active.as_ref().map(|d| deployment_ref(d, now)),
                    lock: snap.lock.as_ref().map(|l| LockView {
                        by: l.by.clone(),
                        reason: l.reason.clone(),
                        since: age(now - l.at.unix_timestamp()),
                        expires: l.expires_at.and_then(|t| {
                            t.format(&time::format_description::well_known::Rfc3339)
                                .ok()
                        }),
                    }),
                    can_lock: authorize(
                        user,
                        Action::Lock {
                            production: s.production,
                        },
                    )
                    .is_ok(),
                    rollback_to,
                    rollback_migrations,
                    cards,
                    hidden_superseded,
                    window,
                    window_open,
                    health,
                    drift,
                    freeze,
                    emergency,
                    queued: waiting
                        .get(&at.index)
                        .map(|q| queued_view(&at, user, q, now)),
                }
            },
        )
        .collect();

    let four_eyes = board_approvals::four_eyes(p, requests.values());
    let view = BoardView {
        pipeline: pipeline_summary(p, &snaps, now),
        branch: p.branch.clone(),
        repository: redact_userinfo(&p.repository.to_string()),
        commits: lane,
        ready: ready_col,
        stages,
        mirror,
        can_refresh: authorize(user, Action::RefreshRepository).is_ok(),
        can_mark_ready: authorize(user, Action::MarkReady).is_ok(),
        freezes: super::freezes::freeze_views(state, p, asker.now).await?,
        can_manage_freezes: authorize(user, Action::ManageFreezes).is_ok(),
        as_of_event,
    };
    Ok((view, four_eyes))
}

/// A waiting queued promotion, as the card and the column show it to `user`.
fn queued_view(at: &StageRef<'_>, user: &User, q: &QueuedPromotion, now: i64) -> QueuedView {
    let deadline = crate::calendar::local_label(q.deadline, facts::stage_zone(at.stage()));
    QueuedView {
        id: q.id,
        sha: q.sha.to_string(),
        by: q.requested_by.clone(),
        text: format!(
            "{} queued by {} {}; waits for its artifact until {deadline}",
            q.sha.short(),
            q.requested_by,
            age(now - q.requested_at.unix_timestamp())
        ),
        can_withdraw: gates::may_promote_into(
            user.roles,
            at.stage().promote_roles,
            &at.stage().label,
        )
        .is_ok(),
    }
}

fn stage_position(p: &PipelineConfig, s: &crate::config::StageConfig) -> usize {
    p.stages
        .iter()
        .position(|x| x.id == s.id)
        .unwrap_or_default()
}
