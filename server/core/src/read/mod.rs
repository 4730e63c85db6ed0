//! Read models: what pages and the JSON API render, assembled from the config, the
//! mirrors and storage. Every read costs a fixed number of queries (no query per card),
//! so a board costs the same however long the history is. Time-dependent text ("3
//! minutes ago") is computed here, on the server, so hydration never diverges.

pub mod accounts;
pub mod audit;
pub mod board;
mod board_approvals;
pub mod board_cache;
pub mod calendar;
pub mod compare;
pub mod confirm;
pub mod deployment;
pub mod freezes;
pub mod history;
pub mod home;
pub mod insights;

pub use board_cache::{board, BoardCache, CachedBoard};
pub use calendar::calendar;
pub use compare::compare;
pub use deployment::deployment;
pub use freezes::freeze_views;
pub use history::stage_history;
pub use home::home;

use crate::config::{PipelineConfig, StageConfig};
use crate::repos::Commit;
use crate::store::{Deployment, SignOffEndKind, SignOffRecord, StageSnapshot};
use crate::Services;
use slipway_model::error::AppError;
use slipway_model::gates;
use slipway_model::time_fmt::age;
use slipway_model::views::{
    CommitCard, CurrentSha, DeploymentRef, GateView, PipelineSummary, SignOffView, StageSummary,
};

/// An instant as RFC 3339 (UTC), for machine-readable fields.
pub(super) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub(super) fn sign_off_view(s: &SignOffRecord, now: i64) -> SignOffView {
    SignOffView {
        sha: s.sha.to_string(),
        by: s.by.clone(),
        note: s.note.clone(),
        at: rfc3339(s.at),
        age: age(now - s.at.unix_timestamp()),
        state: match &s.ended {
            None => "in_force",
            Some(e) => match e.how {
                SignOffEndKind::Withdrawn => "withdrawn",
                SignOffEndKind::Voided => "voided",
            },
        }
        .to_owned(),
        ended_by: s.ended.as_ref().and_then(|e| e.by.clone()),
        end_reason: s.ended.as_ref().map(|e| e.reason.clone()),
    }
}

pub(super) fn deployment_ref(d: &Deployment, now: i64) -> DeploymentRef {
    DeploymentRef {
        id: d.id,
        sha: d.sha.to_string(),
        state: d.state.label().to_owned(),
        age: age(now - d.created_at.unix_timestamp()),
        by: d.requested_by.clone(),
        retries: retries_note(d),
    }
}

/// "succeeded after 2 retries (matched: connection reset)": what a deployment's
/// transient failures were, where it had any.
pub fn retries_note(d: &Deployment) -> Option<String> {
    let n = d.retries.len();
    if n == 0 {
        return None;
    }
    let mut matched: Vec<&str> = Vec::new();
    for r in &d.retries {
        if !matched.contains(&r.matched.as_str()) {
            matched.push(&r.matched);
        }
    }
    let retries = if n == 1 {
        "1 retry".to_owned()
    } else {
        format!("{n} retries")
    };
    let matched = matched.join("; ");
    Some(if d.state.is_active() {
        format!("attempt {} after {retries} (matched: {matched})", n + 1)
    } else {
        format!("{} after {retries} (matched: {matched})", d.state.label())
    })
}

pub(super) fn stage_summary(
    s: &StageConfig,
    snapshot: Option<&StageSnapshot>,
    now: i64,
) -> StageSummary {
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
                since: age(now - d.finished_at.unwrap_or(d.created_at).unix_timestamp()),
                by: d.requested_by.clone().unwrap_or_else(|| "unknown".into()),
                retries: retries_note(d),
            }),
    }
}

pub(super) async fn stage_snapshots(
    state: &Services,
    p: &PipelineConfig,
) -> Result<Vec<StageSnapshot>, AppError> {
    let mut out = Vec::with_capacity(p.stages.len());
    for s in &p.stages {
        out.push(
            state
                .storage
                .stage_snapshot(&p.id, &s.id, None, None)
                .await?,
        );
    }
    Ok(out)
}

pub(super) fn commit_card(c: &Commit, now: i64) -> CommitCard {
    CommitCard {
        short: c.sha.short().to_owned(),
        sha: c.sha.to_string(),
        subject: c.subject.clone(),
        author: c.author.clone(),
        age: age(now - c.committed_at),
        is_merge: c.is_merge,
    }
}

/// What a deployment records of the migrations it crossed, for pages and the API.
pub fn acknowledged_migrations(
    m: &crate::store::MigrationsAck,
) -> slipway_model::views::AcknowledgedMigrations {
    slipway_model::views::AcknowledgedMigrations {
        files: m.files.clone(),
        note: m.note.clone(),
    }
}

/// Whether `user` may promote with an emergency override given these facts: offered
/// only where a closed window or a freeze is all that holds the promotion.
pub(super) fn can_override(user: &crate::store::User, facts: &gates::PromotionFacts) -> bool {
    !gates::overridden(facts).is_empty()
        && crate::authz::authorize(user, slipway_model::Action::EmergencyOverride).is_ok()
        && gates::first_hard_blocker(&gates::evaluate(&gates::PromotionFacts {
            emergency: true,
            ..facts.clone()
        }))
        .is_none()
}

/// A repository failure as a read answers it: GitHub out of reach is "unavailable",
/// anything else an internal error.
pub(super) fn repo_failed(e: crate::repos::RepoError) -> AppError {
    match e {
        crate::repos::RepoError::GitHub(e) => AppError::Unavailable(e.to_string()),
        other => crate::authz::internal(other),
    }
}

/// The drift a promotion would overwrite, for its acknowledgement ("Production runs
/// abc1234, not def5678"); `None` without drift or once acknowledged.
pub(super) fn drift_to_acknowledge(
    stage: &StageConfig,
    facts: &gates::PromotionFacts,
) -> Option<String> {
    facts.drift.as_ref().filter(|d| !d.acknowledged).map(|d| {
        format!(
            "{} runs {}, not {}",
            stage.label,
            d.runs,
            d.recorded.short()
        )
    })
}

pub(super) fn gate_views(results: &[gates::GateResult]) -> Vec<GateView> {
    results
        .iter()
        .map(|r| GateView {
            gate: r.gate.as_str().to_owned(),
            label: r.gate.label().to_owned(),
            status: r.status.as_str().to_owned(),
            reason: r.reason.clone(),
        })
        .collect()
}

/// A pipeline with its stages' summaries, from one snapshot per stage.
pub(super) fn pipeline_summary(
    p: &PipelineConfig,
    snaps: &[StageSnapshot],
    now: i64,
) -> PipelineSummary {
    PipelineSummary {
        id: p.id.to_string(),
        name: p.name.clone(),
        stages: p
            .stages
            .iter()
            .zip(snaps)
            .map(|(s, snap)| stage_summary(s, Some(snap), now))
            .collect(),
    }
}
