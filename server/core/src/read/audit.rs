//! The audit log as pages and the JSON-lines export read it: filters from (possibly
//! empty) form fields, rows with times as RFC 3339.

use crate::store::{AuditEntry, AuditFilter};
use crate::Services;
use slipway_model::error::AppError;
use slipway_model::views::AuditRow;

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
