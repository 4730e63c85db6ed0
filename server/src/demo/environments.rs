//! The demo's environments, as a real deployment target would expose them: a small
//! HTTP server beside the demo (on the port 100 above Slipway's) that answers each
//! stage's health and version probes from the files the demo deployer writes, "builds"
//! artifacts, and receives the demo's webhook.
//!
//! - `GET /{stage}/healthz`: 200, or 503 while `environments/{stage}.down` exists (its
//!   text is the answer): `touch demo-data/environments/staging.down` to see a stage
//!   go unhealthy.
//! - `GET /{stage}/version`: `{"sha": …}` from `environments/{stage}.sha` (404 before
//!   the first deploy): edit the file by hand to see drift.
//! - `HEAD|GET /builds/{sha}.tgz`: a build is "made" [`BUILD_TIME`] after it is first
//!   asked for (404 until then), so the board shows an artifact being waited for.
//! - `POST /hooks/{name}`: accepts a webhook delivery and prints its event.

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the demo's "CI" takes to build a commit, from the first time its artifact
/// is asked for.
pub const BUILD_TIME: Duration = Duration::from_secs(45);

/// Where the environments answer for a Slipway listening on `listen`.
pub fn address(listen: SocketAddr) -> SocketAddr {
    SocketAddr::new(listen.ip(), listen.port().saturating_add(100))
}

#[derive(Clone)]
struct Demo {
    dir: PathBuf,
    /// When each build was first asked for.
    builds: Arc<Mutex<HashMap<String, Instant>>>,
}

/// Serves the environments of the demo in `dir` on `addr` until the process ends.
pub async fn serve(dir: PathBuf, addr: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!(
            "the demo's environments cannot listen on {addr} ({e}); their health, version and artifact probes will fail"
        )
    })?;
    let app = Router::new()
        .route("/{stage}/healthz", get(health))
        .route("/{stage}/version", get(version))
        .route("/builds/{file}", get(build))
        .route("/hooks/{name}", post(hook))
        .with_state(Demo {
            dir,
            builds: Arc::default(),
        });
    axum::serve(listener, app).await?;
    Ok(())
}

/// A stage name as a file name: the demo's stage ids only.
fn stage_file(stage: &str, ext: &str) -> Option<String> {
    stage
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b == b'-')
        .then(|| format!("{stage}.{ext}"))
}

async fn health(State(d): State<Demo>, UrlPath(stage): UrlPath<String>) -> (StatusCode, String) {
    let Some(file) = stage_file(&stage, "down") else {
        return (StatusCode::NOT_FOUND, "no such stage".into());
    };
    match std::fs::read_to_string(d.dir.join("environments").join(file)) {
        Ok(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("down: {}", why.trim()),
        ),
        Err(_) => (StatusCode::OK, "ok".into()),
    }
}

async fn version(State(d): State<Demo>, UrlPath(stage): UrlPath<String>) -> (StatusCode, String) {
    let Some(file) = stage_file(&stage, "sha") else {
        return (StatusCode::NOT_FOUND, "no such stage".into());
    };
    match std::fs::read_to_string(d.dir.join("environments").join(file)) {
        Ok(sha) => (
            StatusCode::OK,
            serde_json::json!({ "sha": sha.trim() }).to_string(),
        ),
        Err(_) => (StatusCode::NOT_FOUND, "nothing deployed yet".into()),
    }
}

async fn build(State(d): State<Demo>, UrlPath(file): UrlPath<String>) -> StatusCode {
    let Some(sha) = file
        .strip_suffix(".tgz")
        .filter(|s| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()))
    else {
        return StatusCode::NOT_FOUND;
    };
    let mut builds = d.builds.lock().unwrap_or_else(|p| p.into_inner());
    let asked = *builds.entry(sha.to_owned()).or_insert_with(Instant::now);
    if asked.elapsed() >= BUILD_TIME {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn hook(UrlPath(name): UrlPath<String>, headers: HeaderMap) -> StatusCode {
    let event = headers
        .get("x-slipway-event")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("?");
    eprintln!("  [demo webhook {name}] {event}");
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_environments_answer_from_the_files_the_deployer_writes() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir_all(dir.path().join("environments")).expect("the folder");
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let addr = probe.local_addr().expect("an address");
        drop(probe);
        tokio::spawn(serve(dir.path().to_owned(), addr));
        let base = format!("http://{addr}");
        let http = reqwest::Client::new();
        let get = |path: &str| {
            let url = format!("{base}{path}");
            let http = http.clone();
            async move {
                for _ in 0..50 {
                    if let Ok(res) = http.get(&url).send().await {
                        let status = res.status().as_u16();
                        return (status, res.text().await.unwrap_or_default());
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                panic!("the demo environments do not answer");
            }
        };
        assert_eq!(get("/qa/healthz").await.0, 200);
        assert_eq!(get("/qa/version").await.0, 404);
        let env = dir.path().join("environments");
        std::fs::write(env.join("qa.sha"), "a".repeat(40) + "\n").expect("written");
        std::fs::write(env.join("qa.down"), "disk full").expect("written");
        assert_eq!(
            get("/qa/version").await,
            (200, format!("{{\"sha\":\"{}\"}}", "a".repeat(40)))
        );
        assert_eq!(get("/qa/healthz").await, (503, "down: disk full".into()));
        assert_eq!(get("/../healthz").await.0, 404);
        assert_eq!(get(&format!("/builds/{}.tgz", "b".repeat(40))).await.0, 404);
    }
}
