//! The audit log as pages and the JSON-lines export read it: filters from (possibly
//! empty) form fields, rows with times as RFC 3339.

use crate::store::{AuditEntry, AuditFilter, DeliveryState};
use crate::Services;
use slipway_model::error::AppError;
use slipway_model::views::{AuditRow, DeliveryView};

/// The entries matching `filter`, newest first, as rows.
pub async fn entries(state: &Services, filter: &AuditFilter) -> Result<Vec<AuditRow>, AppError> {
    let entries = state.storage.audit_query(filter).await?;
    Ok(entries.iter().map(row).collect())
}

fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty() && s.len() <= 200)
}

/// A filter from (possibly empty) form fields.
pub fn filter(
    actor: Option<String>,
    action: Option<String>,
    pipeline: Option<String>,
    outcome: Option<String>,
    before: Option<i64>,
    limit: i64,
) -> AuditFilter {
    AuditFilter {
        actor: clean(actor),
        action: clean(action),
        pipeline: clean(pipeline),
        outcome: clean(outcome),
        before_id: before,
        limit,
    }
}

/// A row for pages and exports.
pub fn row(e: &AuditEntry) -> AuditRow {
    AuditRow {
        id: e.id,
        at: e
            .at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        actor: e.actor.clone(),
        action: e.action.clone(),
        pipeline: e.pipeline.clone(),
        stage: e.stage.clone(),
        sha: e.sha.clone(),
        target: e.target.clone(),
        outcome: e.outcome.clone(),
        detail: e.detail.clone(),
    }
}

/// The newest outgoing webhook deliveries, for admins.
pub async fn deliveries(state: &Services, limit: i64) -> Result<Vec<DeliveryView>, AppError> {
    let rfc3339 = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    Ok(state
        .storage
        .deliveries(limit)
        .await?
        .into_iter()
        .map(|d| DeliveryView {
            id: d.id,
            at: rfc3339(d.created_at),
            pipeline: d.pipeline,
            webhook: d.webhook,
            event: d.event,
            url: d.url,
            state: d.state.as_str().to_owned(),
            attempts: d.attempts,
            last_result: d.last_result,
            next_attempt: (d.state == DeliveryState::Pending).then(|| rfc3339(d.next_attempt_at)),
        })
        .collect())
}
