//! "What goes out": the commits between two SHAs of a pipeline.

use super::commit_card;
use crate::authz::internal;
use crate::config::PipelineConfig;
use crate::Services;
use slipway_model::error::AppError;
use slipway_model::views::CompareView;
use slipway_model::Sha;

/// How many commits a comparison lists at most.
const COMPARE_LIMIT: usize = 200;

/// "What goes out" when `to` replaces `from` on a pipeline.
pub async fn compare(
    state: &Services,
    p: &PipelineConfig,
    from: &Sha,
    to: &Sha,
) -> Result<CompareView, AppError> {
    let mirror = state.repos.mirror(p.id.as_str()).map_err(internal)?;
    for sha in [&from, &to] {
        if !mirror.is_on_branch(sha).await.map_err(internal)? {
            return Err(AppError::NotFound(format!(
                "unknown commit: {sha} is not on branch {} of {}",
                p.branch, p.id
            )));
        }
    }
    let commits = mirror
        .between(from, to, COMPARE_LIMIT + 1)
        .await
        .map_err(internal)?;
    // Both were just found on the branch, so git knows them.
    let descends = mirror
        .is_ancestor(from, to)
        .await
        .map_err(internal)?
        .unwrap_or(false);
    let now = state.now().unix_timestamp();
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
