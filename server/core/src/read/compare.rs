//! "What goes out": the commits between two SHAs of a pipeline, and the files that
//! differ between them.

use super::commit_card;
use crate::config::PipelineConfig;
use crate::repos::{OnBranch, Relation};
use crate::Services;
use slipway_model::error::AppError;
use slipway_model::views::CompareView;
use slipway_model::Sha;

/// How many commits a comparison lists at most.
const COMPARE_LIMIT: usize = 200;
/// How many changed files a comparison lists at most (it says how many there are).
const FILES_SHOWN: usize = 300;

/// "What goes out" when `to` replaces `from` on a pipeline.
pub async fn compare(
    state: &Services,
    p: &PipelineConfig,
    from: &Sha,
    to: &Sha,
) -> Result<CompareView, AppError> {
    let id = p.id.as_str();
    for sha in [&from, &to] {
        if state
            .repos
            .is_on_branch(id, sha)
            .await
            .map_err(super::repo_failed)?
            != OnBranch::Yes
        {
            return Err(AppError::NotFound(format!(
                "unknown commit: {sha} is not on branch {} of {}",
                p.branch, p.id
            )));
        }
    }
    let commits = state
        .repos
        .between(id, from, to, COMPARE_LIMIT + 1)
        .await
        .map_err(super::repo_failed)?;
    // Both were just found on the branch, so the repository knows them.
    let descends = state
        .repos
        .relation(id, from, to)
        .await
        .map_err(super::repo_failed)?
        .is_some_and(Relation::base_is_ancestor);
    let mut files = state
        .repos
        .changed_files(id, from, to)
        .await
        .map_err(super::repo_failed)?
        .unwrap_or_default();
    let files_changed = files.len();
    files.truncate(FILES_SHOWN);
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
        files,
        files_changed,
    })
}
