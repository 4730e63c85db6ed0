//! `/metrics` in Prometheus's text format (the `metrics` facade, rendered by
//! `metrics-exporter-prometheus`), and the HTTP latency every route records.
//!
//! Who may read it is `[metrics]`'s: a bearer token on the main address, and/or anyone
//! reaching the separate `metrics.listen` address. Without either, `/metrics` is 404.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use slipway_core::Services;
use std::sync::OnceLock;
use std::time::Instant;

/// Request latency by method, route pattern and status.
const HTTP_DURATION: &str = "slipway_http_request_duration_seconds";

/// Buckets for every `…_seconds` histogram: from a fast page to a long deploy.
const BUCKETS: [f64; 16] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];

/// The process's recorder, installed on first use (one per process, whatever the
/// number of servers a test runs in it).
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only gauges");
        }
        handle
    })
}

/// Installs the recorder before the first request, so counters from the start count.
pub fn install() {
    let _ = handle();
}

/// `GET /metrics` on the main address: the configured bearer token, or 404.
pub async fn scrape(State(state): State<Services>, headers: HeaderMap) -> Response {
    let Some(token) = &state.config.metrics.token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        Some(p) if slipway_core::measures::token_matches(token, p) => render(&state).await,
        _ => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"slipway metrics\"")],
            "metrics need the token [metrics] names: Authorization: Bearer <token>\n",
        )
            .into_response(),
    }
}

/// `GET /metrics` on the separate `metrics.listen` address: whoever reaches it.
pub async fn scrape_open(State(state): State<Services>) -> Response {
    render(&state).await
}

/// The recorded metrics plus the gauges read now.
async fn render(state: &Services) -> Response {
    match state.storage.counts().await {
        Ok(c) => {
            metrics::gauge!("slipway_active_deployments").set(c.active_deployments as f64);
            metrics::gauge!("slipway_queued_promotions").set(c.queued_promotions as f64);
            metrics::gauge!("slipway_locked_stages").set(c.locked_stages as f64);
            metrics::gauge!("slipway_pending_approvals").set(c.pending_approvals as f64);
            metrics::gauge!("slipway_replicas").set(c.replicas as f64);
        }
        Err(e) => tracing::warn!(error = %e, "failed to count for the metrics"),
    }
    let pool = state.storage.pool_status();
    metrics::gauge!("slipway_db_connections", "state" => "idle").set(f64::from(pool.idle));
    metrics::gauge!("slipway_db_connections", "state" => "in_use")
        .set(f64::from(pool.open.saturating_sub(pool.idle)));
    metrics::gauge!("slipway_db_connections_max").set(f64::from(pool.max));
    metrics::gauge!("slipway_sse_clients").set(state.events.stream_count() as f64);
    metrics::gauge!("slipway_deploys_running_here").set(state.deploys.running_count() as f64);
    metrics::gauge!("slipway_leader").set(if state.cluster.is_leader() { 1.0 } else { 0.0 });
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle().render(),
    )
        .into_response()
}

/// Records every request's latency by method, route pattern (never the raw path: its
/// values are unbounded) and status.
pub async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let res = next.run(req).await;
    metrics::histogram!(
        HTTP_DURATION,
        "method" => method,
        "route" => route,
        "status" => res.status().as_u16().to_string()
    )
    .record(started.elapsed().as_secs_f64());
    res
}
