//! A pipeline's delivery, measured from its own history: the four DORA keys of each
//! production stage ([`dora`]) over a window, with the daily counts their charts draw.

pub mod dora;

use crate::authz::authorize;
use crate::config::PipelineConfig;
use crate::store::User;
use crate::Services;
use dora::CommitTimes;
use slipway_model::error::AppError;
use slipway_model::views::{DayCount, InsightsView, StageInsights, INSIGHT_WINDOWS};
use slipway_model::{Action, Sha};
use time::OffsetDateTime;

/// The most production deployments read for one window: ten a day for 90 days and more.
/// A window holding more is computed on the oldest this many and says it was cut.
const MOST_DEPLOYMENTS: i64 = 2_000;

/// The insights of `p` over the `days` before now (one of [`INSIGHT_WINDOWS`]).
pub async fn insights(
    state: &Services,
    user: &User,
    p: &PipelineConfig,
    days: i64,
) -> Result<InsightsView, AppError> {
    authorize(user, Action::View)?;
    if !INSIGHT_WINDOWS.contains(&days) {
        return Err(AppError::BadRequest(format!(
            "days must be one of {INSIGHT_WINDOWS:?}, not {days}"
        )));
    }
    let now = state.now();
    let mut stages = Vec::new();
    for stage in p.stages.iter().filter(|s| s.production) {
        // Deployments before the window matter only as what a change in it replaced or
        // what restored it, both of which come after: the window is enough.
        let since = now - time::Duration::days(days);
        let history = state
            .storage
            .stage_deployments_since(&p.id, &stage.id, since, MOST_DEPLOYMENTS + 1)
            .await?;
        let truncated = history.len() as i64 > MOST_DEPLOYMENTS;
        let history = &history[..history.len().min(MOST_DEPLOYMENTS as usize)];
        let times = commit_times(state, p, history.iter().map(|d| d.sha.clone())).await?;
        let keys = dora::keys(history, &times, now, days);
        let seconds = |d: Option<time::Duration>| d.map(|d| d.whole_seconds());
        stages.push(StageInsights {
            stage: stage.id.as_str().to_owned(),
            label: stage.label.clone(),
            deployments: keys.deployments,
            deployments_per_day: keys.per_day(),
            lead_time_from_commit_seconds: seconds(keys.lead_time_from_commit),
            lead_time_from_ready_seconds: seconds(keys.lead_time_from_ready),
            changes: keys.changes,
            failed_changes: keys.failed_changes,
            change_failure_rate: keys.change_failure_rate(),
            time_to_restore_seconds: seconds(keys.time_to_restore),
            restored: keys.restored,
            daily: dora::daily(history, now, days)
                .into_iter()
                .map(|(date, deployments, failures)| DayCount {
                    date: date.to_string(),
                    deployments,
                    failures,
                })
                .collect(),
            truncated,
        });
    }
    Ok(InsightsView {
        pipeline: p.id.as_str().to_owned(),
        name: p.name.clone(),
        days,
        stages,
    })
}

/// When the deployed commits were made (from the mirror or GitHub) and marked ready.
async fn commit_times(
    state: &Services,
    p: &PipelineConfig,
    shas: impl Iterator<Item = Sha>,
) -> Result<CommitTimes, AppError> {
    let mut shas: Vec<Sha> = shas.collect();
    shas.sort();
    shas.dedup();
    let mut times = CommitTimes::default();
    match state.repos.commits(p.id.as_str(), &shas).await {
        Ok(commits) => {
            for c in commits {
                if let Ok(at) = OffsetDateTime::from_unix_timestamp(c.committed_at) {
                    times.committed.insert(c.sha, at);
                }
            }
        }
        // Without the repository the lead time from commit is unknown, not an error.
        Err(e) => tracing::warn!(error = %e, "failed to read the deployed commits' times"),
    }
    for mark in state.storage.ready_marks(&p.id, &shas, 0).await? {
        times.marked_ready.insert(mark.sha, mark.at);
    }
    Ok(times)
}
