//! `POST /hooks/github`: GitHub's webhooks. No session, no token: a request is
//! believed when `X-Hub-Signature-256` matches the body under the shared secret
//! (`[github]` in the config). It is recorded once per `X-GitHub-Delivery` and answered
//! at once; a task of its own acts on it (`slipway_core::github::webhook`).

use super::bearer::ApiError;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use slipway_core::github::webhook::{self, HANDLED};
use slipway_core::Services;

/// GitHub's payloads are at most 25 MB.
pub const BODY_LIMIT: usize = 25 * 1024 * 1024;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn unauthorized(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// Verifies, records and answers a delivery: `200` for a `ping` or a delivery already
/// recorded, `202` for one recorded now, `204` for an event Slipway does not use.
pub async fn receive(
    State(state): State<Services>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(source) = &state.config.github.webhook_secret else {
        return Err(unauthorized(
            "GitHub webhooks are not accepted here: the config has no [github] webhook secret",
        ));
    };
    let secret = source.read().map_err(|why| {
        // The operator's problem, not the caller's: said in the log, not to GitHub.
        tracing::error!(%why, "the GitHub webhook secret cannot be read");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the GitHub webhook secret cannot be read on the server; its log says why",
        )
    })?;
    webhook::verify(&secret, &body, header(&headers, "x-hub-signature-256"))
        .map_err(|e| unauthorized(e.to_string()))?;
    let event = header(&headers, "x-github-event").unwrap_or("");
    let delivery = header(&headers, "x-github-delivery").unwrap_or("");
    let valid_id = !delivery.is_empty()
        && delivery.len() <= 100
        && delivery
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !valid_id {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "X-GitHub-Delivery is missing or not a delivery id",
        ));
    }
    if event == "ping" {
        return Ok((StatusCode::OK, Json(serde_json::json!({ "pong": true }))).into_response());
    }
    if !HANDLED.contains(&event) {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the payload is not UTF-8 JSON; set the webhook's content type to application/json",
        ));
    };
    let new = state
        .storage
        .record_github_delivery(delivery, event, text)
        .await
        .map_err(slipway_model::AppError::from)?;
    Ok(if new {
        (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({ "recorded": delivery })),
        )
            .into_response()
    } else {
        (
            StatusCode::OK,
            Json(serde_json::json!({ "already_recorded": delivery })),
        )
            .into_response()
    })
}
