//! Resolving what a request names — a pipeline, a stage, a SHA on the branch — into the
//! configured things, with messages that say what exists.

use crate::authz::internal;
use crate::config::{PipelineConfig, StageConfig};
use crate::Services;
use slipway_model::error::{AppError, RefusalKind};
use slipway_model::Sha;

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

/// Refuses with "unknown commit" unless `sha` is on the pipeline's branch.
pub(super) async fn require_on_branch(
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
            kind: RefusalKind::UnknownCommit,
            message: format!(
                "unknown commit: {sha} is not on branch {} of {}",
                pipeline.branch, pipeline.id
            ),
        })
    }
}
