//! GitHub's webhooks: `X-Hub-Signature-256` (HMAC-SHA256 of the body with the shared
//! secret, compared in constant time), deduplicated on `X-GitHub-Delivery`, processed
//! after the answer.

use super::checks::{self, CheckRun, CommitStatus};
use crate::config::GitHubRepository;
use crate::Services;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use slipway_model::Sha;

/// The events Slipway records; every other one is answered 204 and dropped.
pub const HANDLED: &[&str] = &[
    "push",
    "status",
    "check_run",
    "check_suite",
    "workflow_run",
    "deployment_status",
];

/// How many recorded deliveries one pass processes.
const BATCH: i64 = 20;

/// Why a request is not believed to come from GitHub.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request has no X-Hub-Signature-256 header; set the webhook's secret on GitHub")]
    Missing,
    #[error("X-Hub-Signature-256 is not \"sha256=\" and 64 hex digits")]
    Malformed,
    #[error("X-Hub-Signature-256 does not match the body: the webhook's secret on GitHub differs from Slipway's")]
    Mismatch,
}

/// Checks `header` (`sha256=<hex>`) against the HMAC-SHA256 of `body` keyed with
/// `secret`, in constant time.
pub fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_digest = header
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    let expected = hex::decode(hex_digest).map_err(|_| SignatureError::Malformed)?;
    if expected.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        // HMAC takes keys of any length.
        return Err(SignatureError::Mismatch);
    };
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// What came of a delivery's processing, for the record.
async fn process(state: &Services, event: &str, body: &str) -> String {
    match event {
        "push" => push(state, body).await,
        "check_run" | "status" => ci_result(state, event, body).await,
        "deployment_status" => deployment_status(state, body),
        _ => format!("{event}: recorded (not acted on yet)"),
    }
}

/// The pipelines following GitHub repository `full_name`.
fn following<'a>(
    state: &'a Services,
    full_name: &'a str,
) -> impl Iterator<Item = &'a crate::config::PipelineConfig> + 'a {
    state.config.pipelines.iter().filter(move |p| {
        p.github
            .as_ref()
            .is_some_and(|g: &GitHubRepository| g.is(full_name))
    })
}

/// A `check_run` or `status` delivery: the result is recorded for every pipeline that
/// follows the repository (the CI gate reads it).
async fn ci_result(state: &Services, event: &str, body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Repository {
        full_name: String,
    }
    #[derive(serde::Deserialize)]
    struct CheckRunEvent {
        check_run: CheckRun,
        repository: Repository,
    }
    #[derive(serde::Deserialize)]
    struct StatusEvent {
        sha: String,
        #[serde(flatten)]
        status: CommitStatus,
        repository: Repository,
    }
    let now = state.now();
    let parsed = if event == "check_run" {
        serde_json::from_str::<CheckRunEvent>(body).map(|e| {
            (
                e.repository.full_name,
                e.check_run.head_sha.clone(),
                e.check_run.result(now),
            )
        })
    } else {
        serde_json::from_str::<StatusEvent>(body)
            .map(|e| (e.repository.full_name, e.sha, e.status.result(now)))
    };
    let (full_name, sha, check) = match parsed {
        Ok(p) => p,
        Err(e) => return format!("{event}: not the payload GitHub sends ({e})"),
    };
    let Ok(sha) = Sha::parse(&sha) else {
        return format!("{event}: {sha:?} is not a commit SHA");
    };
    let mut recorded = Vec::new();
    for p in following(state, &full_name) {
        checks::record(state, &p.id, &sha, &check).await;
        recorded.push(p.id.to_string());
    }
    if recorded.is_empty() {
        return format!("{event}: no pipeline follows {full_name}");
    }
    format!(
        "{event}: {} {} for {} recorded on {}",
        check.name,
        check.state.as_str(),
        sha.short(),
        recorded.join(", ")
    )
}

/// A `deployment_status` delivery: an external deploy waiting on that Deployment reads
/// its statuses now (they are read from the API, which every replica can ask).
fn deployment_status(state: &Services, body: &str) -> String {
    let payload: serde_json::Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => return format!("deployment_status: not JSON ({e})"),
    };
    let Some(id) = payload["deployment"]["id"].as_i64() else {
        return "deployment_status: no deployment id".into();
    };
    let said = payload["deployment_status"]["state"]
        .as_str()
        .unwrap_or("?");
    state.github.wake_deployment(id);
    format!("deployment_status: {said} on GitHub Deployment {id}")
}

/// A `push` delivery: the pipelines following the branch fetch now.
async fn push(state: &Services, body: &str) -> String {
    let payload: serde_json::Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => return format!("push: not JSON ({e})"),
    };
    let full_name = payload["repository"]["full_name"].as_str().unwrap_or("");
    let git_ref = payload["ref"].as_str().unwrap_or("");
    if payload["deleted"].as_bool() == Some(true) {
        return format!("push: {full_name} {git_ref} deleted; nothing to fetch");
    }
    let following: Vec<_> = following(state, full_name)
        .filter(|p| git_ref == format!("refs/heads/{}", p.branch))
        .collect();
    if following.is_empty() {
        return format!("push: no pipeline follows {full_name} {git_ref}");
    }
    let mut fetched = Vec::new();
    for p in following {
        let said = match crate::promotion::fetch_now(state, p.id.as_str()).await {
            Ok(()) => match state.repos.status(p.id.as_str()).error {
                // The fetch failed: the mirror's status (on the board) says why.
                Some(why) => format!("fetching {} failed: {why}", p.id),
                None => format!("fetched {}", p.id),
            },
            Err(e) => format!("fetching {} failed: {e}", p.id),
        };
        fetched.push(said);
    }
    format!("push to {full_name} {git_ref}: {}", fetched.join(", "))
}

/// How long processed deliveries are remembered (their ids deduplicate redeliveries).
pub const KEEP: time::Duration = time::Duration::days(30);

/// Forgets processed deliveries older than [`KEEP`].
pub async fn prune(state: &Services) {
    match state
        .storage
        .prune_github_deliveries(state.now() - KEEP)
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::debug!(deleted = n, "pruned old GitHub deliveries"),
        Err(e) => tracing::warn!(error = %e, "failed to prune GitHub deliveries"),
    }
}

/// Processes the recorded deliveries not processed yet (each taken by one process).
pub async fn run_once(state: &Services) -> usize {
    let pending = match state.storage.pending_github_deliveries(BATCH).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "failed to read GitHub deliveries");
            return 0;
        }
    };
    let mut done = 0;
    for d in pending {
        match state.storage.take_github_delivery(&d.delivery).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "failed to take a GitHub delivery");
                continue;
            }
        }
        let outcome = process(state, &d.event, &d.body).await;
        tracing::info!(delivery = %d.delivery, event = %d.event, %outcome, "GitHub webhook processed");
        if let Err(e) = state
            .storage
            .github_delivery_outcome(&d.delivery, &outcome)
            .await
        {
            tracing::warn!(error = %e, "failed to record a GitHub delivery's outcome");
        }
        done += 1;
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_s_published_test_vector_verifies_and_anything_else_does_not() {
        // docs.github.com, "Validating webhook deliveries": secret, payload, signature.
        let secret = b"It's a Secret to Everybody";
        let body = b"Hello, World!";
        let signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(verify(secret, body, Some(signature)), Ok(()));
        assert_eq!(
            verify(secret, b"Hello, World?", Some(signature)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"another secret", body, Some(signature)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify(secret, body, None), Err(SignatureError::Missing));
        assert_eq!(
            verify(secret, body, Some("sha1=757107ea")),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(secret, body, Some("sha256=zz")),
            Err(SignatureError::Malformed)
        );
    }
}
