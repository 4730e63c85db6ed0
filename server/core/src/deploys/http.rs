//! The HTTP deployer: how Jenkins, Rundeck or an in-house CD system is driven. Slipway
//! POSTs the deployment as JSON, signed like GitHub signs its webhooks
//! (`X-Slipway-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, keyed with the
//! value of the server's environment variable `secret_env` names). A 2xx answer starts
//! the deploy; an answer naming a `status_url` is polled until it reports a terminal
//! `state`, its `log` lines streamed into the deployment's log. The outcome reads like a
//! command's (exit 0, exit 1, timed out, cancelled), so retry rules and verification
//! apply unchanged.

use super::log_sink::LogWriter;
use super::runner::{CancelHandle, Outcome};
use crate::config::HttpDeployer;
use crate::store::Deployment;
use crate::Services;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use std::time::Duration;
use tokio::time::Instant;

/// The header carrying the body's signature.
pub const SIGNATURE_HEADER: &str = "x-slipway-signature-256";

/// What the CD system is sent.
#[derive(Serialize)]
struct Request<'a> {
    pipeline: &'a str,
    stage: &'a str,
    sha: &'a str,
    previous_sha: Option<&'a str>,
    deployment_id: i64,
    kind: &'a str,
    requested_by: Option<&'a str>,
    attempt: u32,
}

/// `sha256=<hex>` of `body` keyed with `key`.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        // HMAC accepts keys of any length; this cannot happen.
        return String::new();
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// States a status URL may report that end the deploy.
fn terminal(state: &str) -> Option<bool> {
    match state.to_ascii_lowercase().as_str() {
        "succeeded" | "success" | "successful" | "ok" | "done" | "completed" => Some(true),
        "failed" | "failure" | "error" | "errored" | "aborted" | "cancelled" | "canceled" => {
            Some(false)
        }
        _ => None,
    }
}

/// Runs one attempt of `d` through `http`, for at most `timeout`.
pub(super) async fn run(
    state: &Services,
    http: &HttpDeployer,
    d: &Deployment,
    log: &mut LogWriter,
    cancel: &CancelHandle,
    timeout: Duration,
) -> Outcome {
    let deadline = Instant::now() + timeout;
    tokio::select! {
        outcome = drive(state, http, d, log, deadline) => outcome,
        () = cancel.cancelled() => Outcome::Cancelled,
        () = tokio::time::sleep_until(deadline) => Outcome::TimedOut,
    }
}

async fn drive(
    state: &Services,
    http: &HttpDeployer,
    d: &Deployment,
    log: &mut LogWriter,
    deadline: Instant,
) -> Outcome {
    let key = match &http.secret_env {
        None => None,
        Some(name) => match std::env::var(name) {
            Ok(v) if !v.is_empty() => Some(v),
            _ => {
                return Outcome::SpawnFailed {
                    message: format!(
                        "the HTTP deployer's signing key is missing: set the environment variable {name} for the Slipway server"
                    ),
                }
            }
        },
    };
    let body = Request {
        pipeline: &d.pipeline,
        stage: &d.stage,
        sha: d.sha.as_str(),
        previous_sha: d.previous_sha.as_ref().map(|s| s.as_str()),
        deployment_id: d.id.get(),
        kind: d.kind.as_str(),
        requested_by: d.requested_by.as_deref(),
        attempt: log.attempt,
    };
    let body = match serde_json::to_vec(&body) {
        Ok(b) => b,
        Err(e) => {
            return Outcome::SpawnFailed {
                message: format!("failed to encode the request: {e}"),
            }
        }
    };
    let client = match reqwest::Client::builder()
        .user_agent(concat!("slipway/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return Outcome::SpawnFailed {
                message: format!("failed to build an HTTP client: {e}"),
            }
        }
    };
    let shown = crate::repos::redact_userinfo(http.url.as_str());
    let mut request = client
        .post(http.url.clone())
        .header("content-type", "application/json")
        .header("x-slipway-delivery", format!("{}-{}", d.id, log.attempt));
    if let Some(key) = &key {
        request = request.header(SIGNATURE_HEADER, signature(key.as_bytes(), &body));
    }
    log.started_remote().await;
    log.write("slipway", state.now(), &format!("POST {shown}"))
        .await;
    let res = match request.body(body).send().await {
        Ok(r) => r,
        Err(e) => {
            let why = if e.is_connect() {
                "connection refused or unreachable".to_owned()
            } else if e.is_timeout() {
                "no answer in time".to_owned()
            } else {
                crate::repos::redact_userinfo(&e.without_url().to_string())
            };
            log.write("slipway", state.now(), &format!("{shown}: {why}"))
                .await;
            return Outcome::Exited { code: 1 };
        }
    };
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    let first = text
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect::<String>();
    log.write(
        "slipway",
        state.now(),
        &format!(
            "HTTP {}{}",
            status.as_u16(),
            if first.is_empty() {
                String::new()
            } else {
                format!(": {first}")
            }
        ),
    )
    .await;
    if !status.is_success() {
        return Outcome::Exited { code: 1 };
    }
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let Some(status_url) = answer.get("status_url").and_then(|u| u.as_str()) else {
        return Outcome::Exited { code: 0 };
    };
    let status_url = match http.url.join(status_url) {
        Ok(u) => u,
        Err(e) => {
            log.write(
                "slipway",
                state.now(),
                &format!("the answer's status_url {status_url:?} is not a URL ({e})"),
            )
            .await;
            return Outcome::Exited { code: 1 };
        }
    };
    poll(state, http, &client, status_url, log, deadline).await
}

/// Reads the status URL until a terminal state, appending the log lines it reports.
async fn poll(
    state: &Services,
    http: &HttpDeployer,
    client: &reqwest::Client,
    url: url::Url,
    log: &mut LogWriter,
    deadline: Instant,
) -> Outcome {
    let shown = crate::repos::redact_userinfo(url.as_str());
    log.write("slipway", state.now(), &format!("following {shown}"))
        .await;
    let mut lines_seen = 0usize;
    let mut last_state = String::new();
    let mut last_error = String::new();
    loop {
        let reading = client
            .get(url.clone())
            .timeout(deadline.saturating_duration_since(Instant::now()))
            .send()
            .await;
        match reading {
            Ok(res) if res.status().is_success() => {
                let doc: serde_json::Value = res.json().await.unwrap_or_default();
                let lines: Vec<String> = match doc.get("log") {
                    Some(serde_json::Value::Array(a)) => a
                        .iter()
                        .map(|l| l.as_str().map_or_else(|| l.to_string(), str::to_owned))
                        .collect(),
                    Some(serde_json::Value::String(s)) => s.lines().map(str::to_owned).collect(),
                    _ => Vec::new(),
                };
                for line in lines.iter().skip(lines_seen) {
                    log.write("stdout", state.now(), line).await;
                }
                lines_seen = lines_seen.max(lines.len());
                let st = doc
                    .get("state")
                    .and_then(|s| s.as_str())
                    .unwrap_or_default()
                    .to_owned();
                if st != last_state {
                    log.write("slipway", state.now(), &format!("state: {st}"))
                        .await;
                    last_state = st.clone();
                }
                match terminal(&st) {
                    Some(true) => return Outcome::Exited { code: 0 },
                    Some(false) => return Outcome::Exited { code: 1 },
                    None => {}
                }
            }
            // The CD system says the deploy is unknown or forbidden: nothing to wait for.
            Ok(res) if res.status().is_client_error() => {
                log.write(
                    "slipway",
                    state.now(),
                    &format!("{shown} answered HTTP {}", res.status().as_u16()),
                )
                .await;
                return Outcome::Exited { code: 1 };
            }
            // A 5xx or a network error: the CD system may come back; say so once.
            Ok(res) => {
                let why = format!(
                    "{shown} answered HTTP {}; still following",
                    res.status().as_u16()
                );
                if why != last_error {
                    log.write("slipway", state.now(), &why).await;
                    last_error = why;
                }
            }
            Err(e) => {
                let why = format!(
                    "{shown}: {}; still following",
                    crate::repos::redact_userinfo(&e.without_url().to_string())
                );
                if why != last_error {
                    log.write("slipway", state.now(), &why).await;
                    last_error = why;
                }
            }
        }
        tokio::time::sleep(http.poll_interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_github_style_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn terminal_states_are_read_in_the_words_cd_systems_use() {
        assert_eq!(terminal("SUCCESS"), Some(true));
        assert_eq!(terminal("failed"), Some(false));
        assert_eq!(terminal("aborted"), Some(false));
        assert_eq!(terminal("running"), None);
        assert_eq!(terminal(""), None);
    }
}
