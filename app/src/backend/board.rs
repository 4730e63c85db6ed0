//! Read models: the home page and a pipeline's board, assembled from the config, the
//! mirror and storage. Shared by server functions and (later) the JSON API.

use crate::backend::config::{PipelineConfig, StageConfig};
use crate::backend::context::{authorize, internal};
use crate::backend::git::redact_userinfo;
use crate::backend::repos::RepoError;
use crate::backend::storage::User;
use crate::backend::AppState;
use crate::domain::time_fmt::age;
use crate::domain::Action;
use crate::error::AppError;
use crate::views::{BoardView, CommitCard, HomeView, MirrorView, PipelineSummary, StageSummary};
use time::OffsetDateTime;

/// How many first-parent commits the *Commits* lane shows.
pub const COMMITS_SHOWN: usize = 50;

fn stage_summary(s: &StageConfig) -> StageSummary {
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
        // Deployments arrive with the promotion engine; until then nothing is deployed.
        current: None,
    }
}

fn summary(p: &PipelineConfig) -> PipelineSummary {
    PipelineSummary {
        id: p.id.to_string(),
        name: p.name.clone(),
        stages: p.stages.iter().map(stage_summary).collect(),
    }
}

/// Every pipeline with its stages' current SHAs.
pub fn home(state: &AppState) -> HomeView {
    HomeView {
        pipelines: state.config.pipelines.iter().map(summary).collect(),
    }
}

/// One pipeline's board, as `user` may see it.
pub async fn board(
    state: &AppState,
    user: &User,
    pipeline_id: &str,
) -> Result<BoardView, AppError> {
    let pipeline = state.config.pipeline(pipeline_id).ok_or_else(|| {
        AppError::NotFound(format!(
            "there is no pipeline {pipeline_id:?}; the home page lists the configured ones"
        ))
    })?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let (commits, log_error) = match state.repos.recent_commits(pipeline_id, COMMITS_SHOWN).await {
        Ok(c) => (c, None),
        Err(RepoError::Git(msg)) => (Vec::new(), Some(msg)),
        Err(e @ RepoError::UnknownPipeline(_)) => return Err(internal(e)),
    };
    let status = state.repos.status(pipeline_id);
    let mirror = MirrorView {
        fetched: status.fetched_at.map(|t| age(now - t.unix_timestamp())),
        error: status.error.or(log_error),
    };
    let commits = commits
        .into_iter()
        .map(|c| CommitCard {
            short: c.sha.short().to_owned(),
            sha: c.sha.to_string(),
            subject: c.subject,
            author: c.author,
            age: age(now - c.committed_at),
            is_merge: c.is_merge,
        })
        .collect();
    Ok(BoardView {
        pipeline: summary(pipeline),
        branch: pipeline.branch.clone(),
        repository: redact_userinfo(&pipeline.repository.to_string()),
        commits,
        ready: Vec::new(),
        mirror,
        can_refresh: authorize(user, Action::RefreshRepository).is_ok(),
    })
}
