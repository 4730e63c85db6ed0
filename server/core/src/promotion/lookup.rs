//! Resolving what a request names — a pipeline, a stage, a SHA on the branch — into the
//! configured things, with messages that say what exists. The ids arrive parsed: the
//! HTTP extractors and server functions are where strings stop.

use crate::authz::internal;
use crate::config::{PipelineConfig, StageConfig};
use crate::repos::{OnBranch, RepoError};
use crate::Services;
use slipway_model::error::{AppError, RefusalKind};
use slipway_model::{PipelineId, Sha, StageId};

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

/// Looks a pipeline up by id.
pub fn pipeline<'a>(state: &'a Services, id: &PipelineId) -> Result<&'a PipelineConfig, AppError> {
    state.config.pipeline(id.as_str()).ok_or_else(|| {
        AppError::NotFound(format!(
            "there is no pipeline {:?}; the home page lists the configured ones",
            id.as_str()
        ))
    })
}

/// Looks a stage up by ids.
pub fn stage<'a>(
    state: &'a Services,
    pipeline_id: &PipelineId,
    stage_id: &StageId,
) -> Result<StageRef<'a>, AppError> {
    let pipeline = pipeline(state, pipeline_id)?;
    let index = pipeline
        .stages
        .iter()
        .position(|s| &s.id == stage_id)
        .ok_or_else(|| {
            let known: Vec<&str> = pipeline.stages.iter().map(|s| s.id.as_str()).collect();
            AppError::NotFound(format!(
                "pipeline {} has no stage {:?} (stages: {})",
                pipeline.id,
                stage_id.as_str(),
                known.join(", ")
            ))
        })?;
    Ok(StageRef { pipeline, index })
}

/// Whether a SHA the mirror lacks may be fetched for: commands (after the user's
/// permission is checked) may, rate-limited; reads answer as of the last fetch.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum IfMissing {
    /// Fetch ([`Repos::fetch_on_demand`](crate::repos::Repos::fetch_on_demand)) and look again.
    Fetch,
    /// Answer from the mirror as it is.
    AsOfLastFetch,
}

/// Refuses with "unknown commit" unless `sha` is a commit on the pipeline's branch.
pub async fn require_on_branch(
    state: &Services,
    pipeline: &PipelineConfig,
    sha: &Sha,
    if_missing: IfMissing,
) -> Result<(), AppError> {
    let id = pipeline.id.as_str();
    let unavailable = |e: RepoError| match e {
        // GitHub cannot say now (rate-limited until a time, say): that is the answer,
        // a refusal to try again later, never a 5xx.
        RepoError::GitHub(e) => AppError::Refused {
            kind: RefusalKind::UnknownCommit,
            message: format!(
                "cannot tell now whether {sha} is on branch {} of {}: {e}",
                pipeline.branch, pipeline.id
            ),
        },
        other => internal(other),
    };
    let mut on_branch = state
        .repos
        .is_on_branch(id, sha)
        .await
        .map_err(unavailable)?;
    if on_branch == OnBranch::No
        && if_missing == IfMissing::Fetch
        && matches!(state.repos.fetch_on_demand(id).await, Ok(true))
    {
        on_branch = state
            .repos
            .is_on_branch(id, sha)
            .await
            .map_err(unavailable)?;
    }
    let message = match on_branch {
        OnBranch::Yes => return Ok(()),
        OnBranch::NotACommit(kind) => format!(
            "{sha} is the id of a {kind}, not of a commit; use the commit's own SHA \
             (git rev-parse {sha}^{{commit}})"
        ),
        OnBranch::No => format!(
            "unknown commit: {sha} is not on branch {} of {}",
            pipeline.branch, pipeline.id
        ),
    };
    Err(AppError::Refused {
        kind: RefusalKind::UnknownCommit,
        message,
    })
}
