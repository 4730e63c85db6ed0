//! A stage's deployment history.

use super::{deployment_ref, sign_off_view, stage_summary};
use crate::promotion::StageRef;
use crate::Services;
use slipway_model::error::AppError;
use slipway_model::views::{HistoryRow, StageHistoryView};

/// A stage's deployment history, newest first.
pub async fn stage_history(
    state: &Services,
    at: &StageRef<'_>,
) -> Result<StageHistoryView, AppError> {
    let now = state.now().unix_timestamp();
    let snap = state
        .storage
        .stage_snapshot(&at.pipeline.id, &at.stage().id, None, None)
        .await?;
    let history = state
        .storage
        .stage_history(&at.pipeline.id, &at.stage().id, 200)
        .await?;
    let sign_offs = state
        .storage
        .sign_off_history(&at.pipeline.id, &at.stage().id, 200)
        .await?;
    Ok(StageHistoryView {
        pipeline: at.pipeline.id.to_string(),
        pipeline_name: at.pipeline.name.clone(),
        stage: stage_summary(at.stage(), Some(&snap), now),
        deployments: history
            .iter()
            .map(|d| HistoryRow {
                deployment: deployment_ref(d, now),
                kind: d.kind.as_str().to_owned(),
                reason: d.reason.clone(),
                checklist: d.checklist.clone(),
            })
            .collect(),
        asks_sign_off: at.stage().sign_off.is_some(),
        sign_offs: sign_offs.iter().map(|s| sign_off_view(s, now)).collect(),
    })
}
