//! The GitHub deployers.
//!
//! - **Actions** (`github_actions`): dispatches the configured workflow with the inputs
//!   `sha`, `stage`, `deployment` (`slipway-<id>-<attempt>`, the correlation: the
//!   workflow's `run-name` shows it, which is how the run it started is told apart from
//!   others) and the configured ones; then follows that run until it completes, its
//!   state and link streamed into the log. Its conclusion decides.
//! - **External** (`github_external`): another CD system watches GitHub Deployments;
//!   Slipway created one (the supervisor did, for every GitHub pipeline) and waits for
//!   that system to post a final status: woken by the `deployment_status` webhook,
//!   reconciled by reading the statuses every `poll_interval`.
//!
//! Both read like a command to the supervisor (exit 0, exit 1, timed out, cancelled),
//! so retries, verification and the end's bookkeeping apply unchanged.

use super::log_sink::LogWriter;
use super::runner::{CancelHandle, Outcome};
use crate::config::{ActionsDeployer, ExternalDeployer, PipelineConfig};
use crate::github::client::GitHubError;
use crate::github::deployments::GitHubDeployment;
use crate::store::Deployment;
use crate::Services;
use serde::Deserialize;
use std::time::Duration;
use tokio::time::Instant;

/// How long a dispatched workflow's run may take to appear before the deploy fails.
const RUN_APPEARS_WITHIN: Duration = Duration::from_secs(120);

#[derive(Deserialize)]
struct Runs {
    workflow_runs: Vec<Run>,
}

#[derive(Deserialize, Clone)]
struct Run {
    id: i64,
    name: Option<String>,
    display_title: Option<String>,
    status: Option<String>,
    conclusion: Option<String>,
    html_url: Option<String>,
}

impl Run {
    fn names(&self, correlation: &str) -> bool {
        [&self.display_title, &self.name]
            .into_iter()
            .flatten()
            .any(|t| t.contains(correlation))
    }
}

fn failed(message: String) -> Outcome {
    Outcome::SpawnFailed { message }
}

/// Runs one attempt through a GitHub Actions workflow, for at most `timeout`.
pub(super) async fn run_actions(
    state: &Services,
    (pipeline, actions): (&PipelineConfig, &ActionsDeployer),
    d: &Deployment,
    log: &mut LogWriter,
    cancel: &CancelHandle,
    timeout: Duration,
) -> Outcome {
    let Some(repo) = &pipeline.github else {
        return failed("the GitHub Actions deployer needs the pipeline's github repository".into());
    };
    let client = match state.github.client(repo.api_url.as_deref()) {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot call GitHub: {e}")),
    };
    let route = format!("/repos/{}/actions", repo.full_name());
    let correlation = format!("slipway-{}-{}", d.id, log.attempt);
    let mut inputs = serde_json::Map::new();
    for (k, v) in &actions.inputs {
        inputs.insert(k.clone(), v.clone().into());
    }
    inputs.insert("sha".into(), d.sha.to_string().into());
    inputs.insert("stage".into(), d.stage.clone().into());
    inputs.insert("deployment".into(), correlation.clone().into());
    let git_ref = actions.git_ref.as_deref().unwrap_or(&pipeline.branch);
    let dispatch = format!("{route}/workflows/{}/dispatches", actions.workflow);
    let body = serde_json::json!({ "ref": git_ref, "inputs": inputs });
    if let Err(e) = client.post_empty(&dispatch, &body).await {
        return failed(format!(
            "GitHub did not start workflow {} on {git_ref}: {e} (does the workflow declare \
             workflow_dispatch with the inputs sha, stage and deployment?)",
            actions.workflow
        ));
    }
    log.started_remote().await;
    log.write(
        "slipway",
        state.now(),
        &format!(
            "dispatched workflow {} on {git_ref} for {} ({correlation})",
            actions.workflow, d.sha
        ),
    )
    .await;
    let deadline = Instant::now() + timeout;
    // The run, once found: a cancel is passed on to it.
    let found = std::sync::atomic::AtomicI64::new(0);
    let follow = async {
        // Find the run the dispatch started.
        let list = format!(
            "{route}/workflows/{}/runs?event=workflow_dispatch&per_page=30",
            actions.workflow
        );
        let appear_by = Instant::now() + RUN_APPEARS_WITHIN;
        let run = loop {
            tokio::time::sleep(actions.poll_interval.min(Duration::from_secs(2))).await;
            match client.get::<Runs>(&list).await {
                Ok(runs) => {
                    if let Some(run) = runs
                        .workflow_runs
                        .into_iter()
                        .find(|r| r.names(&correlation))
                    {
                        break run;
                    }
                }
                Err(e) => note_wait(state, log, &e).await,
            }
            if Instant::now() > appear_by {
                return failed(format!(
                    "no run of workflow {} named {correlation} appeared within {}s: give the workflow \
                     run-name: \"Deploy ${{{{ inputs.deployment }}}}\" so Slipway can find its run",
                    actions.workflow,
                    RUN_APPEARS_WITHIN.as_secs()
                ));
            }
        };
        found.store(run.id, std::sync::atomic::Ordering::Relaxed);
        let url = run.html_url.clone().unwrap_or_default();
        log.write(
            "slipway",
            state.now(),
            &format!("workflow run {} started: {url}", run.id),
        )
        .await;
        let mut last = run.status.clone();
        let mut run = run;
        loop {
            if run.status.as_deref() == Some("completed") {
                let conclusion = run.conclusion.clone().unwrap_or_else(|| "unknown".into());
                log.write(
                    "slipway",
                    state.now(),
                    &format!("workflow run {} concluded {conclusion}: {url}", run.id),
                )
                .await;
                let code = if conclusion == "success" { 0 } else { 1 };
                return Outcome::Exited { code };
            }
            tokio::time::sleep(actions.poll_interval).await;
            match client.get::<Run>(&format!("{route}/runs/{}", run.id)).await {
                Ok(now) => {
                    if now.status != last {
                        let said = now.status.clone().unwrap_or_default();
                        log.write(
                            "slipway",
                            state.now(),
                            &format!("workflow run {}: {said}", now.id),
                        )
                        .await;
                        last = now.status.clone();
                    }
                    run = now;
                }
                Err(e) => note_wait(state, log, &e).await,
            }
        }
    };
    let outcome = tokio::select! {
        outcome = follow => outcome,
        () = cancel.cancelled() => Outcome::Cancelled,
        () = tokio::time::sleep_until(deadline) => Outcome::TimedOut,
    };
    let id = found.load(std::sync::atomic::Ordering::Relaxed);
    if matches!(outcome, Outcome::Cancelled | Outcome::TimedOut) && id != 0 {
        let said = match client
            .post_empty(&format!("{route}/runs/{id}/cancel"), &serde_json::json!({}))
            .await
        {
            Ok(()) => format!("asked GitHub to cancel workflow run {id}"),
            Err(e) => format!("GitHub did not cancel workflow run {id}: {e}"),
        };
        log.write("slipway", state.now(), &said).await;
    }
    outcome
}

/// A failed poll: logged (a rate limit says until when), then the poll goes on.
async fn note_wait(state: &Services, log: &mut LogWriter, e: &GitHubError) {
    log.write(
        "slipway",
        state.now(),
        &format!("reading GitHub: {e}; trying again"),
    )
    .await;
    if let GitHubError::RateLimited { until } = e {
        let wait = (*until - state.now()).max(time::Duration::ZERO);
        tokio::time::sleep(Duration::try_from(wait).unwrap_or_default()).await;
    }
}

/// Waits for the external CD system's final status on the GitHub Deployment.
pub(super) async fn run_external(
    state: &Services,
    external: &ExternalDeployer,
    gh: Option<&GitHubDeployment>,
    log: &mut LogWriter,
    cancel: &CancelHandle,
    timeout: Duration,
) -> Outcome {
    let Some(gh) = gh else {
        return failed(
            "the external deployer needs the GitHub Deployment, which could not be created (see above)".into(),
        );
    };
    log.started_remote().await;
    log.write(
        "slipway",
        state.now(),
        &format!(
            "waiting for the CD system to deploy GitHub Deployment {} (environment {})",
            gh.id, gh.environment
        ),
    )
    .await;
    let waker = state.github.deployment_waker(gh.id);
    let deadline = Instant::now() + timeout;
    let mut seen = std::collections::HashSet::new();
    let watch = async {
        loop {
            match gh.statuses().await {
                Ok(statuses) => {
                    // Oldest first, each said once.
                    for s in statuses.iter().rev() {
                        if !seen.insert(s.id) {
                            continue;
                        }
                        let mut line = format!("GitHub deployment status: {}", s.state);
                        if let Some(d) = s.description.as_deref().filter(|d| !d.is_empty()) {
                            line.push_str(&format!(" — {d}"));
                        }
                        if let Some(url) = s.log_url.as_ref().or(s.target_url.as_ref()) {
                            line.push_str(&format!(" ({url})"));
                        }
                        log.write("slipway", state.now(), &line).await;
                    }
                    match statuses.first().map(|s| s.state.as_str()) {
                        Some("success") => return Outcome::Exited { code: 0 },
                        Some("failure" | "error") => return Outcome::Exited { code: 1 },
                        _ => {}
                    }
                }
                Err(e) => note_wait(state, log, &e).await,
            }
            tokio::select! {
                () = waker.notified() => {}
                () = tokio::time::sleep(external.poll_interval) => {}
            }
        }
    };
    let outcome = tokio::select! {
        outcome = watch => outcome,
        () = cancel.cancelled() => Outcome::Cancelled,
        () = tokio::time::sleep_until(deadline) => Outcome::TimedOut,
    };
    state.github.forget_waker(gh.id);
    outcome
}
