//! Admin downloads: the audit log as JSON lines.

use super::error::HttpError;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::Deserialize;
use slipway_app::ssr::context::{authorize, CurrentUser};
use slipway_core::read::audit;
use slipway_core::Services;
use slipway_model::Action;

/// The audit page's filters.
#[derive(Deserialize)]
pub struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    pipeline: Option<String>,
    outcome: Option<String>,
}

/// At most this many entries per export.
const EXPORT_LIMIT: i64 = 1_000_000;

/// `GET /admin/audit.jsonl`: every matching entry, newest first, one JSON object per line.
pub async fn audit_export(
    State(state): State<Services>,
    Extension(CurrentUser(user)): Extension<CurrentUser>,
    Query(q): Query<AuditQuery>,
) -> Result<Response, HttpError> {
    let user = user.ok_or(HttpError::Unauthenticated)?;
    authorize(&user, Action::ViewAudit)?;
    let filter = audit::filter(q.actor, q.action, q.pipeline, q.outcome, None, EXPORT_LIMIT);
    let rows = state
        .storage
        .audit_query(&filter)
        .await
        .map_err(|e| HttpError::Internal(e.into()))?;
    let mut body = String::new();
    for r in rows.iter().map(audit::row) {
        body.push_str(&serde_json::to_string(&r).map_err(|e| HttpError::Internal(e.into()))?);
        body.push('\n');
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"slipway-audit.jsonl\"",
            ),
        ],
        body,
    )
        .into_response())
}
