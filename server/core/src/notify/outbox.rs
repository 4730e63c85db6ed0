//! The audit log to deliveries: each new entry that is an [`Event`] becomes one stored
//! delivery per webhook of its pipeline that wants it, written in the transaction that
//! moves the cursor past it.

use super::{payload, Event};
use crate::store::NewDelivery;
use crate::Services;

/// How many audit entries one pass reads.
const BATCH: i64 = 200;

/// Reads the audit entries after the cursor and stores their deliveries; returns how
/// many entries it read (0: caught up). Cheap when no pipeline has webhooks: the cursor
/// still moves, so entries written before one is configured are never sent.
pub async fn run_once(state: &Services) -> usize {
    let seen = match state.storage.webhook_cursor().await {
        Ok(at) => at,
        Err(e) => {
            tracing::warn!(error = %e, "failed to read the webhook cursor");
            return 0;
        }
    };
    let entries = match state.storage.audit_after(seen, BATCH).await {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!(error = %e, "failed to read the audit log for webhooks");
            return 0;
        }
    };
    let Some(through) = entries.last().map(|e| e.id) else {
        return 0;
    };
    let mut deliveries = Vec::new();
    for entry in &entries {
        let Some(event) = Event::of(entry) else {
            continue;
        };
        let Some(pipeline) = entry
            .pipeline
            .as_deref()
            .and_then(|p| state.config.pipeline(p))
        else {
            continue;
        };
        for hook in pipeline.webhooks.iter().filter(|h| h.wants(event)) {
            deliveries.push(NewDelivery {
                pipeline: pipeline.id.to_string(),
                webhook: hook.id.clone(),
                event: event.as_str().to_owned(),
                audit_id: entry.id,
                url: crate::repos::redact_userinfo(hook.url.as_str()),
                body: payload::body(hook.format, event, entry, &state.config.base_url),
            });
        }
    }
    match state
        .storage
        .enqueue_deliveries(seen, through, &deliveries)
        .await
    {
        Ok(true) => entries.len(),
        // Another process took these entries.
        Ok(false) => 0,
        Err(e) => {
            tracing::warn!(error = %e, "failed to store webhook deliveries");
            0
        }
    }
}
