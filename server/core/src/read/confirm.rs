//! What a promotion into production asks its promoter to confirm (the confirmation page
//! and the board's dialog): the service, the environment, the SHA and its subject, how
//! many commits and which migrations go out, and the checklist and acknowledgements the
//! promote form then carries.

use super::{commit_card, gate_views};
use crate::promotion::facts::{self, Asker};
use crate::promotion::lookup::{require_on_branch, IfMissing};
use crate::promotion::StageRef;
use crate::repos::Relation;
use crate::store::{QueueState, User};
use crate::Services;
use slipway_model::error::AppError;
use slipway_model::gates::{self, GateStatus};
use slipway_model::views::{ConfirmView, PromoteMode};
use slipway_model::Sha;

/// How many commits the confirmation counts at most (it then says "at least").
const COUNT_LIMIT: usize = 500;
/// How many of the commits that go out it lists (the compare page lists them all).
const COMMITS_LISTED: usize = 10;

/// The confirmation of promoting `sha` into `at` as `user`, in `mode`. Read at the
/// moment it is asked: the gates are evaluated again when the promotion is posted.
pub async fn promotion(
    state: &Services,
    user: &User,
    at: &StageRef<'_>,
    sha: &Sha,
    mode: PromoteMode,
) -> Result<ConfirmView, AppError> {
    let p = at.pipeline;
    let id = p.id.as_str();
    require_on_branch(state, p, sha, IfMissing::AsOfLastFetch).await?;
    let commit = state
        .repos
        .commits(id, std::slice::from_ref(sha))
        .await
        .map_err(super::repo_failed)?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::NotFound(format!("unknown commit: {sha}")))?;

    let asker = Asker::plain(state, user);
    let now = asker.now.unix_timestamp();
    let (snapshot, facts) = facts::snapshot_and_facts_now(state, asker, at, sha).await?;
    let results = gates::evaluate(&facts);
    let queued = state.storage.queued_promotions(&p.id).await?;
    let waiting_here = queued
        .iter()
        .find(|q| q.state == QueueState::Waiting && q.stage == at.stage().id.as_str());
    let allowed = match mode {
        PromoteMode::Now => gates::first_hard_blocker(&results).is_none(),
        PromoteMode::WhenArtifactIsThere => {
            gates::queueable(&results) && waiting_here.is_none_or(|q| q.sha != *sha)
        }
        PromoteMode::EmergencyOverride => super::can_override(user, &facts),
    };

    let current = snapshot.current.map(|d| d.sha);
    let (commit_count, count_truncated, descends, commits) = match &current {
        None => (None, false, true, Vec::new()),
        Some(from) => {
            let between = state
                .repos
                .between(id, from, sha, COUNT_LIMIT + 1)
                .await
                .map_err(super::repo_failed)?;
            let descends = state
                .repos
                .relation(id, from, sha)
                .await
                .map_err(super::repo_failed)?
                .is_some_and(Relation::base_is_ancestor);
            let listed = between
                .iter()
                .take(COMMITS_LISTED)
                .map(|c| commit_card(c, now))
                .collect();
            (
                Some(between.len().min(COUNT_LIMIT)),
                between.len() > COUNT_LIMIT,
                descends,
                listed,
            )
        }
    };
    let stage = at.stage();
    Ok(ConfirmView {
        pipeline: p.id.to_string(),
        pipeline_name: p.name.clone(),
        stage: stage.id.to_string(),
        stage_label: stage.label.clone(),
        mode,
        commit: commit_card(&commit, now),
        current: current.map(|s| s.to_string()),
        commit_count,
        count_truncated,
        descends,
        commits,
        migrations: facts.migrations.to_acknowledge().to_vec(),
        drift: super::drift_to_acknowledge(stage, &facts),
        checklist: stage.checklist.clone(),
        open_gates: gate_views(&results)
            .into_iter()
            .filter(|g| g.status != GateStatus::Pass.as_str())
            .collect(),
        passing_gates: results
            .iter()
            .filter(|r| r.status == GateStatus::Pass)
            .count(),
        allowed,
        queue_replaces: waiting_here
            .filter(|q| q.sha != *sha && mode == PromoteMode::WhenArtifactIsThere)
            .map(|q| q.sha.short().to_owned()),
    })
}
