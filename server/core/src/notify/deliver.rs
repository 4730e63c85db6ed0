//! Sending deliveries: a POST of the stored body to the webhook's URL, signed like
//! GitHub's webhooks (`X-Slipway-Signature-256: sha256=<HMAC-SHA256 of the body>`) when
//! the webhook names its key's environment variable. A 2xx answer delivers it; a 5xx, a
//! 429, a timeout or no connection is tried again with backoff, up to
//! [`defaults::WEBHOOK_MAX_ATTEMPTS`]; any other answer fails it at once (the receiver
//! refused it: trying again would not change that).

use crate::config::{defaults, WebhookConfig};
use crate::store::{AttemptResult, Delivery, DeliveryState};
use crate::Services;
use std::time::Duration;

/// How many due deliveries one pass sends.
const BATCH: i64 = 20;

/// One HTTP client for the deliveries of the process.
#[derive(Clone)]
pub struct Sender {
    http: reqwest::Client,
}

impl Default for Sender {
    fn default() -> Self {
        let http = reqwest::Client::builder()
            .user_agent(concat!("slipway/", env!("CARGO_PKG_VERSION"), " (webhook)"))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(defaults::WEBHOOK_TIMEOUT)
            .build()
            .unwrap_or_default();
        Sender { http }
    }
}

/// The wait before attempt `next` (2, 3, …).
pub fn backoff(next: i64) -> Duration {
    let doublings = u32::try_from((next - 2).clamp(0, 16)).unwrap_or(16);
    defaults::WEBHOOK_BACKOFF.saturating_mul(1 << doublings)
}

/// Sends the deliveries that are due; returns how many it tried.
pub async fn run_once(state: &Services, sender: &Sender) -> usize {
    let now = state.now();
    let due = match state.storage.due_deliveries(now, BATCH).await {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "failed to read due webhook deliveries");
            return 0;
        }
    };
    let mut tried = 0;
    for d in due {
        // Leased past the timeout: no other process takes it while it is sent.
        let lease = now + defaults::WEBHOOK_TIMEOUT * 3;
        match state.storage.claim_delivery(d.id, d.attempts, lease).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "failed to claim a webhook delivery");
                continue;
            }
        }
        tried += 1;
        let hook = state
            .config
            .pipeline(&d.pipeline)
            .and_then(|p| p.webhooks.iter().find(|h| h.id == d.webhook));
        let result = match hook {
            Some(hook) => attempt(sender, hook, &d).await,
            None => Err((false, "the webhook is no longer configured".to_owned())),
        };
        let attempts = d.attempts + 1;
        let outcome = match result {
            Ok(said) => AttemptResult {
                state: DeliveryState::Delivered,
                result: said,
                next_attempt_at: state.now(),
            },
            Err((true, said)) if attempts < defaults::WEBHOOK_MAX_ATTEMPTS => AttemptResult {
                state: DeliveryState::Pending,
                result: said,
                next_attempt_at: state.now() + backoff(attempts + 1),
            },
            Err((_, said)) => AttemptResult {
                state: DeliveryState::Failed,
                result: said,
                next_attempt_at: state.now(),
            },
        };
        if outcome.state != DeliveryState::Delivered {
            tracing::warn!(pipeline = %d.pipeline, webhook = %d.webhook, event = %d.event, attempt = attempts, result = %outcome.result, "webhook not delivered");
        }
        if let Err(e) = state.storage.delivery_result(d.id, &outcome).await {
            tracing::warn!(error = %e, "failed to record a webhook delivery");
        }
    }
    tried
}

/// Deletes delivered and failed deliveries older than [`defaults::WEBHOOK_KEEP`].
pub async fn prune(state: &Services) {
    let before = state.now() - defaults::WEBHOOK_KEEP;
    match state.storage.prune_deliveries(before).await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(deleted = n, "pruned old webhook deliveries"),
        Err(e) => tracing::warn!(error = %e, "failed to prune webhook deliveries"),
    }
}

/// Sends `d` once: `Ok` with what the receiver answered, or `Err((worth retrying,
/// what happened))`.
async fn attempt(
    sender: &Sender,
    hook: &WebhookConfig,
    d: &Delivery,
) -> Result<String, (bool, String)> {
    let mut req = sender
        .http
        .post(hook.url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Slipway-Event", &d.event)
        .header("X-Slipway-Delivery", d.id.to_string())
        .body(d.body.clone());
    if let Some(var) = &hook.secret_env {
        match std::env::var(var) {
            Ok(key) => {
                req = req.header(
                    "X-Slipway-Signature-256",
                    crate::deploys::http::signature(key.as_bytes(), d.body.as_bytes()),
                );
            }
            // Unsigned, it would be refused or, worse, believed: do not send it.
            Err(_) => {
                return Err((
                    true,
                    format!("not sent: the signing key's variable {var} is not set on the server"),
                ))
            }
        }
    }
    match req.send().await {
        Ok(res) => {
            let code = res.status().as_u16();
            let said = format!("HTTP {code}");
            match code {
                200..=299 => Ok(said),
                429 | 500..=599 => Err((true, said)),
                _ => Err((false, said)),
            }
        }
        Err(e) if e.is_timeout() => Err((
            true,
            format!("no answer within {}s", defaults::WEBHOOK_TIMEOUT.as_secs()),
        )),
        Err(e) if e.is_connect() => Err((true, "connection refused or unreachable".into())),
        Err(e) => Err((
            true,
            crate::repos::redact_userinfo(&e.to_string())
                .chars()
                .take(200)
                .collect(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_is_tried_again_ever_later() {
        let waits: Vec<u64> = (2..=6).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, vec![10, 20, 40, 80, 160]);
    }
}
