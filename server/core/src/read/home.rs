//! The home page: every pipeline with its stages' current SHAs.

use super::{pipeline_summary, stage_snapshots};
use crate::Services;
use slipway_model::error::AppError;
use slipway_model::views::HomeView;

/// Every pipeline with its stages' current SHAs.
pub async fn home(state: &Services) -> Result<HomeView, AppError> {
    let now = state.now().unix_timestamp();
    let mut pipelines = Vec::new();
    for p in &state.config.pipelines {
        let snaps = stage_snapshots(state, p).await?;
        pipelines.push(pipeline_summary(p, &snaps, now));
    }
    Ok(HomeView { pipelines })
}
