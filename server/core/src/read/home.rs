//! The home page: every pipeline with its stages' current SHAs.

use super::{stage_snapshots, stage_summary};
use crate::Services;
use slipway_model::error::AppError;
use slipway_model::views::{HomeView, PipelineSummary};

/// Every pipeline with its stages' current SHAs.
pub async fn home(state: &Services) -> Result<HomeView, AppError> {
    let now = state.now().unix_timestamp();
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
                .map(|(s, snap)| stage_summary(s, Some(snap), now))
                .collect(),
        });
    }
    Ok(HomeView { pipelines })
}
