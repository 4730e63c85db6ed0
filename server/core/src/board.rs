//! Read models: the home page, a pipeline's board and a deployment page, assembled from
//! the config, the mirror and storage with a fixed number of queries per board (no query
//! per card), so a board costs the same however long the history is.

use crate::authz::{authorize, internal};
use crate::config::{PipelineConfig, StageConfig};
use crate::engine::{self, StageRef};
use crate::repos::{redact_userinfo, Commit, RepoError};
use crate::storage::{Deployment, StageSnapshot, User};
use crate::Services;
use slipway_model::error::AppError;
use slipway_model::gates::{self, GateStatus, Previous};
use slipway_model::time_fmt::age;
use slipway_model::views::{
    BoardView, Card, CommitCard, CompareView, CurrentSha, DeploymentRef, DeploymentView, GateView,
    HistoryRow, HomeView, LockView, LogLineView, MirrorView, NextStep, PipelineSummary, ReadyInfo,
    StageColumn, StageHistoryView, StageSummary,
};
use slipway_model::{Action, Sha};
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;

/// How many superseded cards a stage column shows (the newest).
pub const SUPERSEDED_SHOWN: usize = 5;

/// How many first-parent commits the board considers.
pub const COMMITS_SHOWN: usize = 50;

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn deployment_ref(d: &Deployment) -> DeploymentRef {
    DeploymentRef {
        id: d.id,
        sha: d.sha.to_string(),
        state: d.state.label().to_owned(),
        age: age(now() - d.created_at.unix_timestamp()),
        by: d.requested_by.clone(),
    }
}

fn stage_summary(s: &StageConfig, snapshot: Option<&StageSnapshot>) -> StageSummary {
    StageSummary {
        id: s.id.to_string(),
        label: s.label.clone(),
        production: s.production,
        fast_forward_only: s.fast_forward_only,
        promote_roles: s
            .promote_roles
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect(),
        current: snapshot
            .and_then(|s| s.current.as_ref())
            .map(|d| CurrentSha {
                sha: d.sha.to_string(),
                since: age(now() - d.finished_at.unwrap_or(d.created_at).unix_timestamp()),
                by: d.requested_by.clone().unwrap_or_else(|| "unknown".into()),
            }),
    }
}

async fn stage_snapshots(
    state: &Services,
    p: &PipelineConfig,
) -> Result<Vec<StageSnapshot>, AppError> {
    let mut out = Vec::with_capacity(p.stages.len());
    for s in &p.stages {
        out.push(
            state
                .storage
                .stage_snapshot(&p.id, &s.id, None, None)
                .await
                .map_err(internal)?,
        );
    }
    Ok(out)
}

/// Every pipeline with its stages' current SHAs.
pub async fn home(state: &Services) -> Result<HomeView, AppError> {
    let mut pipelines = Vec::new();
    for p in &state.config.pipelines {
        let snaps = stage_snapshots(state, p).await?;
        pipelines.push(PipelineSummary {
            id: p.id.to_string(),
            name: p.name.clone(),
            stages: p
                .stages
                .iter()
                .zip(&snaps)
                .map(|(s, snap)| stage_summary(s, Some(snap)))
                .collect(),
        });
    }
    Ok(HomeView { pipelines })
}

fn commit_card(c: &Commit, now: i64) -> CommitCard {
    CommitCard {
        short: c.sha.short().to_owned(),
        sha: c.sha.to_string(),
        subject: c.subject.clone(),
        author: c.author.clone(),
        age: age(now - c.committed_at),
        is_merge: c.is_merge,
    }
}

fn gate_views(results: &[gates::GateResult]) -> Vec<GateView> {
    results
        .iter()
        .map(|r| GateView {
            gate: r.gate.as_str().to_owned(),
            label: r.gate.label().to_owned(),
            status: match r.status {
                GateStatus::Pass => "pass",
                GateStatus::Fail => "fail",
                GateStatus::Pending => "pending",
            }
            .to_owned(),
            reason: r.reason.clone(),
        })
        .collect()
}

/// One pipeline's board, as `user` may see it.
pub async fn board(
    state: &Services,
    user: &User,
    pipeline_id: &str,
) -> Result<BoardView, AppError> {
    let p = engine::pipeline(state, pipeline_id)?;
    let now = now();
    // Read before anything else: events after it are replayed to the page.
    let as_of_event = state.storage.event_id_range().await.map_err(internal)?.1;
    let (recent, log_error) = match state.repos.recent_commits(pipeline_id, COMMITS_SHOWN).await {
        Ok(c) => (c, None),
        Err(RepoError::Git(msg)) => (Vec::new(), Some(msg)),
        Err(e @ RepoError::UnknownPipeline(_)) => return Err(internal(e)),
    };
    let status = state.repos.status(pipeline_id);
    let mirror = MirrorView {
        fetched: status.fetched_at.map(|t| age(now - t.unix_timestamp())),
        error: status.error.or(log_error),
    };

    // Stage-level facts: a fixed number of queries per stage.
    let snaps = stage_snapshots(state, p).await?;
    let ready_marks = state.storage.ready_marks(&p.id).await.map_err(internal)?;
    let ready: HashMap<Sha, _> = ready_marks
        .into_iter()
        .map(|m| (m.sha.clone(), m))
        .collect();

    // Every SHA that can be a card: recent commits, ready marks, current and active SHAs.
    let mut commits: Vec<Commit> = recent;
    let known: HashSet<Sha> = commits.iter().map(|c| c.sha.clone()).collect();
    let mut extra: Vec<Sha> = ready.keys().cloned().collect();
    for s in &snaps {
        extra.extend(
            s.current
                .iter()
                .chain(s.active.iter())
                .map(|d| d.sha.clone()),
        );
    }
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
    let successes = state
        .storage
        .successes(&p.id, &shas)
        .await
        .map_err(internal)?;
    let succeeded: HashSet<(Sha, usize)> = successes
        .iter()
        .filter_map(|(sha, stage)| stage_index.get(stage.as_str()).map(|i| (sha.clone(), *i)))
        .collect();
    let rolled: HashSet<(Sha, usize)> = state
        .storage
        .rolled_back(&p.id, &shas)
        .await
        .map_err(internal)?
        .iter()
        .filter_map(|(sha, stage)| stage_index.get(stage.as_str()).map(|i| (sha.clone(), *i)))
        .collect();
    let furthest = |sha: &Sha| {
        (0..p.stages.len())
            .rev()
            .find(|i| succeeded.contains(&(sha.clone(), *i)))
    };
    let deploying: HashMap<Sha, i64> = snaps
        .iter()
        .filter_map(|s| s.active.as_ref())
        .map(|d| (d.sha.clone(), d.id))
        .collect();

    let mut lane = Vec::new();
    let mut ready_col = Vec::new();
    let mut columns: Vec<Vec<Card>> = vec![Vec::new(); p.stages.len()];
    for c in &commits {
        let placed = furthest(&c.sha);
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
        };
        let next_index = match placed {
            Some(i) => Some(i + 1),
            None if card.ready.is_some() => Some(0),
            None => None,
        };
        if let Some(n) = next_index.filter(|n| *n < p.stages.len()) {
            // Superseded cards are collapsed: no gates, no git work for them.
            if !card.superseded || card.deploying.is_some() {
                let at = StageRef {
                    pipeline: p,
                    index: n,
                };
                let previous = match n {
                    0 => Previous::FirstStage {
                        marked_ready: card.ready.is_some(),
                    },
                    _ => Previous::Stage {
                        label: p.stages[n - 1].label.clone(),
                        succeeded: succeeded.contains(&(c.sha.clone(), n - 1)),
                        rolled_back: rolled.contains(&(c.sha.clone(), n - 1)),
                    },
                };
                let current = snaps[n].current.as_ref().map(|d| d.sha.clone());
                let ancestry = engine::ancestry_for(state, &at, current.as_ref(), &c.sha).await;
                let results = gates::evaluate(&engine::facts(
                    &at, &c.sha, previous, &snaps[n], ancestry, user,
                ));
                card.next = Some(NextStep {
                    from: current.as_ref().map(ToString::to_string),
                    stage: p.stages[n].id.to_string(),
                    label: p.stages[n].label.clone(),
                    production: p.stages[n].production,
                    allowed: gates::first_blocker(&results).is_none(),
                    gates: gate_views(&results),
                });
            }
        }
        match placed {
            Some(i) => columns[i].push(card),
            None if card.ready.is_some() => ready_col.push(card),
            None if known.contains(&c.sha) => lane.push(card),
            None => {}
        }
    }

    let can_rollback = authorize(user, Action::Rollback).is_ok();
    let mut rollback_to = Vec::with_capacity(p.stages.len());
    for i in 0..p.stages.len() {
        let target = if can_rollback {
            engine::rollback_target(
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
        rollback_to.push(target.map(|s| s.to_string()));
    }
    let stages = p
        .stages
        .iter()
        .zip(snaps.iter())
        .zip(columns)
        .zip(rollback_to)
        .map(|(((s, snap), mut cards), rollback_to)| {
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
            let current_id = snap.current.as_ref().map_or(0, |d| d.id);
            StageColumn {
                stage: stage_summary(s, Some(snap)),
                last_attempt_failed: snap
                    .last_finished
                    .as_ref()
                    .filter(|d| d.state.is_unsuccessful_end() && d.id > current_id)
                    .map(deployment_ref),
                active: snap.active.as_ref().map(deployment_ref),
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
                cards,
                hidden_superseded,
            }
        })
        .collect();

    Ok(BoardView {
        pipeline: PipelineSummary {
            id: p.id.to_string(),
            name: p.name.clone(),
            stages: p
                .stages
                .iter()
                .zip(&snaps)
                .map(|(s, snap)| stage_summary(s, Some(snap)))
                .collect(),
        },
        branch: p.branch.clone(),
        repository: redact_userinfo(&p.repository.to_string()),
        commits: lane,
        ready: ready_col,
        stages,
        mirror,
        can_refresh: authorize(user, Action::RefreshRepository).is_ok(),
        can_mark_ready: authorize(user, Action::MarkReady).is_ok(),
        as_of_event,
    })
}

/// A deployment with its stored log.
pub async fn deployment(
    state: &Services,
    user: &User,
    id: i64,
) -> Result<DeploymentView, AppError> {
    let as_of_event = state.storage.event_id_range().await.map_err(internal)?.1;
    let d = state
        .storage
        .deployment(id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound(format!("there is no deployment #{id}")))?;
    let p = state.config.pipeline(&d.pipeline);
    let stage = p.and_then(|p| p.stages.iter().find(|s| s.id.as_str() == d.stage));
    let subject = match state.repos.mirror(&d.pipeline) {
        Ok(m) => m
            .commits(std::slice::from_ref(&d.sha))
            .await
            .ok()
            .and_then(|c| c.into_iter().next())
            .map(|c| c.subject),
        Err(_) => None,
    };
    let fmt = time::macros::format_description!("[hour]:[minute]:[second]");
    let log = state
        .storage
        .log_lines(id, 0, 100_000)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|l| LogLineView {
            seq: l.seq,
            time: l.at.format(&fmt).unwrap_or_default(),
            stream: l.stream,
            line: l.line,
        })
        .collect();
    Ok(DeploymentView {
        deployment: deployment_ref(&d),
        pipeline: d.pipeline.clone(),
        pipeline_name: p.map_or_else(|| d.pipeline.clone(), |p| p.name.clone()),
        stage: d.stage.clone(),
        stage_label: stage.map_or_else(|| d.stage.clone(), |s| s.label.clone()),
        production: stage.is_some_and(|s| s.production),
        kind: d.kind.as_str().to_owned(),
        previous_sha: d.previous_sha.as_ref().map(Sha::to_string),
        subject,
        exit_code: d.exit_code,
        active: d.state.is_active(),
        can_cancel: d.state.is_active() && authorize(user, Action::Cancel).is_ok(),
        log,
        as_of_event,
    })
}

/// A stage's deployment history, newest first.
pub async fn stage_history(
    state: &Services,
    pipeline_id: &str,
    stage_id: &str,
) -> Result<StageHistoryView, AppError> {
    let at = engine::stage(state, pipeline_id, stage_id)?;
    let snap = state
        .storage
        .stage_snapshot(&at.pipeline.id, &at.stage().id, None, None)
        .await
        .map_err(internal)?;
    let history = state
        .storage
        .stage_history(&at.pipeline.id, &at.stage().id, 200)
        .await
        .map_err(internal)?;
    Ok(StageHistoryView {
        pipeline: at.pipeline.id.to_string(),
        pipeline_name: at.pipeline.name.clone(),
        stage: stage_summary(at.stage(), Some(&snap)),
        deployments: history
            .iter()
            .map(|d| HistoryRow {
                deployment: deployment_ref(d),
                kind: d.kind.as_str().to_owned(),
                reason: d.reason.clone(),
            })
            .collect(),
    })
}

/// How many commits a comparison lists at most.
const COMPARE_LIMIT: usize = 200;

/// "What goes out" when `to` replaces `from` on a pipeline.
pub async fn compare(
    state: &Services,
    pipeline_id: &str,
    from: &str,
    to: &str,
) -> Result<CompareView, AppError> {
    let p = engine::pipeline(state, pipeline_id)?;
    let from = engine::parse_sha(from)?;
    let to = engine::parse_sha(to)?;
    let mirror = state.repos.mirror(pipeline_id).map_err(internal)?;
    for sha in [&from, &to] {
        if !mirror.is_on_branch(sha).await.map_err(internal)? {
            return Err(AppError::NotFound(format!(
                "unknown commit: {sha} is not on branch {} of {}",
                p.branch, p.id
            )));
        }
    }
    let commits = mirror
        .between(&from, &to, COMPARE_LIMIT + 1)
        .await
        .map_err(internal)?;
    let descends = mirror.is_ancestor(&from, &to).await.map_err(internal)?;
    let now = now();
    let truncated = commits.len() > COMPARE_LIMIT;
    Ok(CompareView {
        pipeline: p.id.to_string(),
        pipeline_name: p.name.clone(),
        from: from.to_string(),
        to: to.to_string(),
        commits: commits
            .iter()
            .take(COMPARE_LIMIT)
            .map(|c| commit_card(c, now))
            .collect(),
        descends,
        truncated,
    })
}
