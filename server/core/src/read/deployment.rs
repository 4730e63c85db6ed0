//! One deployment with its stored log (live lines are appended by the page).

use super::deployment_ref;
use crate::authz::authorize;
use crate::store::User;
use crate::Services;
use slipway_model::error::AppError;
use slipway_model::views::{DeploymentView, LogLineView};
use slipway_model::{Action, DeploymentId, Sha};

/// A deployment with its stored log.
pub async fn deployment(
    state: &Services,
    user: &User,
    id: DeploymentId,
) -> Result<DeploymentView, AppError> {
    let now = state.now().unix_timestamp();
    let as_of_event = state.storage.event_id_range().await?.1;
    let d = state
        .storage
        .deployment(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("there is no deployment #{id}")))?;
    let p = state.config.pipeline(&d.pipeline);
    let stage = p.and_then(|p| p.stages.iter().find(|s| s.id.as_str() == d.stage));
    let subject = state
        .repos
        .commits(&d.pipeline, std::slice::from_ref(&d.sha))
        .await
        .ok()
        .and_then(|c| c.into_iter().next())
        .map(|c| c.subject);
    let fmt = time::macros::format_description!("[hour]:[minute]:[second]");
    // The page shows the log's end (where a deploy fails); the API pages through all of
    // it. A page never loads a whole log: one deploy may print megabytes.
    let (log_lines, _) = state.storage.log_size(id).await?;
    let log = state
        .storage
        .log_tail(id, PAGE_LOG_LINES)
        .await?
        .into_iter()
        .map(|l| LogLineView {
            seq: l.seq,
            attempt: u32::try_from(l.attempt).unwrap_or(1),
            time: l.at.format(&fmt).unwrap_or_default(),
            stream: l.stream,
            line: l.line,
        })
        .collect();
    Ok(DeploymentView {
        deployment: deployment_ref(&d, now),
        pipeline: d.pipeline.clone(),
        pipeline_name: p.map_or_else(|| d.pipeline.clone(), |p| p.name.clone()),
        stage: d.stage.clone(),
        stage_label: stage.map_or_else(|| d.stage.clone(), |s| s.label.clone()),
        production: stage.is_some_and(|s| s.production),
        kind: d.kind.as_str().to_owned(),
        previous_sha: d.previous_sha.as_ref().map(Sha::to_string),
        checklist: d.checklist.clone(),
        migrations: d.migrations.as_ref().map(super::acknowledged_migrations),
        drift_overwritten: d.drift.as_ref().map(|a| match &a.note {
            Some(note) => format!("{} — {note}", a.runs),
            None => a.runs.clone(),
        }),
        subject,
        exit_code: d.exit_code,
        active: d.state.is_active(),
        can_cancel: d.state.is_active() && authorize(user, Action::Cancel).is_ok(),
        log,
        log_lines,
        as_of_event,
    })
}

/// How many of a log's last lines the deployment page shows.
pub const PAGE_LOG_LINES: i64 = 2_000;
