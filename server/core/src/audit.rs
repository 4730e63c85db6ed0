//! The audit log: writing an entry, and reading it (filters from user input, rows for
//! pages and JSON lines).

use crate::storage::{AuditEntry, AuditFilter, NewAudit, Storage};
use slipway_model::views::AuditRow;

/// Appends `entry`. The action it records has already happened and is not undone
/// when the log cannot be written: that is logged as an error for the operator.
pub async fn record(storage: &dyn Storage, entry: NewAudit) {
    if let Err(e) = storage.audit(entry).await {
        tracing::error!(error = %e, "failed to write the audit log");
    }
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
