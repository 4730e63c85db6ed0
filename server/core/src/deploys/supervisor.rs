//! The deploy supervisor: starts the stage's command for a created deployment, follows
//! it to its end, and owns what happens around it — start-up recovery of deployments a
//! previous process left behind, and the grace period at shutdown.

use super::log_sink::LogWriter;
use super::runner::{self, CancelHandle, Outcome, RunSpec};
use super::verify::{self, Verification, Verifier};
use super::KILL_GRACE;
use crate::config::{DeployerKind, PipelineConfig, StageConfig};
use crate::github::deployments::GitHubDeployment;
use crate::store::{Deployment, NewAudit};
use crate::Services;
use slipway_model::audit::{AuditAction, Outcome as AuditOutcome};
use slipway_model::deployment::DeploymentState;
use slipway_model::live::BoardChange;
use slipway_model::Sha;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tracing::Instrument as _;

/// Starts the stage's deployer for a freshly created deployment, in the background.
pub fn start(state: &Services, pipeline: &PipelineConfig, stage: &StageConfig, d: Deployment) {
    let deployer = stage.deployer.clone();
    let verifier = Verifier::of(stage);
    let (pipeline, stage) = (pipeline.clone(), stage.clone());
    // An explicit, minimal environment: the server's secrets (database URL, GitHub
    // keys, session secrets) are not the deployer's business.
    let passed = super::BASE_ENV
        .iter()
        .copied()
        .chain(deployer.pass_env.iter().map(String::as_str));
    let mut env: Vec<(String, String)> = passed
        .filter_map(|name| {
            std::env::var(name)
                .ok()
                .map(|value| (name.to_owned(), value))
        })
        .collect();
    env.extend([
        ("SLIPWAY_SHA".to_owned(), d.sha.to_string()),
        ("SLIPWAY_STAGE".to_owned(), stage.id.to_string()),
        ("SLIPWAY_PIPELINE".to_owned(), pipeline.id.to_string()),
        (
            "SLIPWAY_PREVIOUS_SHA".to_owned(),
            d.previous_sha
                .as_ref()
                .map(Sha::to_string)
                .unwrap_or_default(),
        ),
        ("SLIPWAY_DEPLOYMENT_ID".to_owned(), d.id.to_string()),
        (
            super::MARKER_VAR.to_owned(),
            super::marker(&state.config.data_dir, d.id),
        ),
    ]);
    env.extend(deployer.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut spec = RunSpec {
        argv: match &deployer.kind {
            DeployerKind::Command(argv) => argv.clone(),
            _ => Vec::new(),
        },
        env,
        workdir: deployer.workdir.clone().unwrap_or_default(),
        timeout: deployer.timeout,
        grace: KILL_GRACE,
    };
    // A cancel that came first left its handle here, already cancelled.
    let cancel = state.deploys.handle(d.id);
    let state2 = state.clone();
    // Everything the deploy logs carries its id, pipeline and stage.
    let span = tracing::info_span!(
        "deployment",
        id = %d.id,
        pipeline = %d.pipeline,
        stage = %d.stage
    );
    let task = tokio::spawn(
        async move {
        let id = d.id;
        state2
            .events
            .deployment_changed(&d.pipeline, id, DeploymentState::Queued)
            .await;
        state2
            .events
            .board_changed(&d.pipeline, BoardChange::Deploying)
            .await;
        let mut log = LogWriter {
            state: state2.clone(),
            pipeline: d.pipeline.clone(),
            id,
            seq: 0,
            cancel: cancel.clone(),
            cap: deployer.max_log_bytes,
            stored: 0,
            dropped: (0, 0),
            attempt: 1,
            retry: deployer.retry.clone(),
            matched: None,
            verifying: false,
        };
        // Without a configured workdir, a fresh empty directory, removed when the deploy
        // ends: never the data directory, where a careless `rm -rf *` would take the
        // database with it.
        let scratch = match deployer.workdir {
            Some(_) => None,
            None => tempfile::Builder::new()
                .prefix(&format!("slipway-deploy-{id}-"))
                .tempdir()
                .inspect_err(|e| tracing::error!(error = %e, "failed to create the deploy's working directory"))
                .ok(),
        };
        if let Some(dir) = &scratch {
            spec.workdir = dir.path().to_owned();
        }
        // A GitHub pipeline's deploy is a GitHub Deployment too.
        let gh = match GitHubDeployment::open(&state2, &pipeline, &stage, &d).await {
            Ok(gh) => gh,
            Err(e) => {
                let note = format!("the GitHub Deployment was not created: {e}");
                log.write("slipway", state2.now(), &note).await;
                None
            }
        };
        if let Some(gh) = &gh {
            let note = format!(
                "GitHub Deployment {} created for environment {}",
                gh.id, gh.environment
            );
            log.write("slipway", state2.now(), &note).await;
        }
        let outcome = run_attempts(
            &state2,
            &d,
            Attempt { spec: &spec, kind: &deployer.kind, pipeline: &pipeline, gh: gh.as_ref() },
            &mut log,
            &cancel,
        )
        .await;
        let verification = match (&outcome, &verifier) {
            (Outcome::Exited { code: 0 }, Some(v)) => Some(
                verify::verify(&state2, (&pipeline, &stage), v, &d, &spec, &mut log, &cancel).await,
            ),
            _ => None,
        };
        drop(scratch);
        let (end, code, note) = match &outcome {
            Outcome::Exited { code: 0 } => (DeploymentState::Succeeded, Some(0), None),
            Outcome::Exited { code } => (
                DeploymentState::Failed,
                Some(*code),
                Some(format!("the deployer exited with code {code}")),
            ),
            Outcome::Signalled { signal } => (
                DeploymentState::Failed,
                None,
                Some(format!("the deployer was killed by signal {signal}")),
            ),
            Outcome::TimedOut => (
                DeploymentState::TimedOut,
                None,
                Some("the deployer ran past its timeout and was stopped".to_owned()),
            ),
            Outcome::Cancelled if state2.deploys.is_stopping() => (
                DeploymentState::Cancelled,
                None,
                Some("cancelled: Slipway shut down before the deploy finished; its process group was stopped".to_owned()),
            ),
            Outcome::Cancelled => (
                DeploymentState::Cancelled,
                None,
                Some("cancelled; the deployer's process group was stopped".to_owned()),
            ),
            Outcome::SpawnFailed { message } => {
                (DeploymentState::Failed, None, Some(message.clone()))
            }
        };
        let (end, note) = match verification {
            None | Some(Verification::Verified) => (end, note),
            Some(Verification::Failed(why)) => (DeploymentState::Failed, Some(why)),
            Some(Verification::Cancelled) => (
                DeploymentState::Cancelled,
                Some("cancelled while verifying".to_owned()),
            ),
        };
        if log.dropped.0 > 0 {
            let (lines, bytes) = log.dropped;
            let note = format!(
                "{lines} more line(s) of output ({}) were not stored",
                super::log_sink::human_bytes(bytes)
            );
            log.write("slipway", state2.now(), &note).await;
        }
        if let Some(note) = note {
            log.write("slipway", state2.now(), &note).await;
        }
        // GitHub hears of the end before the deployment is over, so its log says
        // whether the status was posted.
        if let Some(gh) = &gh {
            // An external system reported the end itself, unless Slipway ended the wait.
            let reported = matches!(deployer.kind, DeployerKind::GitHubExternal(_))
                && matches!(outcome, Outcome::Exited { .. });
            if let Err(e) = gh.close(&state2, &d, end, reported).await {
                let note = format!("the GitHub Deployment's final status was not posted: {e}");
                log.write("slipway", state2.now(), &note).await;
            }
        }
        let at = state2.now();
        match state2.storage.finish_deployment(id, end, code, at).await {
            Ok(true) => crate::measures::deployment_ended(&d, end, at),
            Ok(false) => {}
            Err(e) => {
                tracing::error!(deployment = %id, error = %e, "failed to record the end of a deployment")
            }
        }
        state2.events.deployment_changed(&d.pipeline, id, end).await;
        state2
            .events
            .board_changed(&d.pipeline, BoardChange::Deployed)
            .await;
        let mut entry = deployment_entry(
            &d,
            AuditAction::DeployFinished,
            AuditOutcome::of_deployment(end),
        );
        entry.actor = d.requested_by.clone();
        entry.detail = code.map(|c| format!("exit code {c}"));
        crate::audit::record(state2.storage.as_ref(), entry).await;
        state2.deploys.lock_running().remove(&id);
        }
        .instrument(span),
    );
    let mut tasks = state
        .deploys
        .tasks
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    tasks.retain(|t| !t.is_finished());
    tasks.push(task);
}

/// What one attempt runs: the command's spec (also the timeout of every kind), the
/// deployer, and the GitHub Deployment where there is one.
#[derive(Clone, Copy)]
struct Attempt<'a> {
    spec: &'a RunSpec,
    kind: &'a DeployerKind,
    pipeline: &'a PipelineConfig,
    gh: Option<&'a GitHubDeployment>,
}

/// Runs the deployer, and runs it again while it fails transiently (the deployer's
/// `retry` rule: an exit code it names, or an output line matching one of its
/// patterns), waiting between attempts, up to the rule's bound. Each retry is recorded
/// on the deployment, logged, announced and audited; a cancel during the wait ends it.
async fn run_attempts(
    state: &Services,
    d: &Deployment,
    attempt: Attempt<'_>,
    log: &mut LogWriter,
    cancel: &CancelHandle,
) -> Outcome {
    let timeout = attempt.spec.timeout;
    loop {
        let outcome = match attempt.kind {
            DeployerKind::Command(_) => {
                runner::run(attempt.spec.clone(), log, cancel.clone()).await
            }
            DeployerKind::Http(h) => super::http::run(state, h, d, log, cancel, timeout).await,
            DeployerKind::GitHubActions(a) => {
                super::github::run_actions(state, (attempt.pipeline, a), d, log, cancel, timeout)
                    .await
            }
            DeployerKind::GitHubExternal(e) => {
                super::github::run_external(state, e, attempt.gh, log, cancel, timeout).await
            }
        };
        let Some(rule) = log.retry.clone() else {
            return outcome;
        };
        let Outcome::Exited { code } = outcome else {
            return outcome;
        };
        if code == 0 {
            return outcome;
        }
        let matched = if rule.exit_codes.contains(&code) {
            format!("exit code {code}")
        } else if let Some(pattern) = log.matched.take() {
            pattern
        } else {
            // A real failure: no retry.
            return outcome;
        };
        let attempt = log.attempt;
        if attempt >= rule.max_attempts {
            let note = format!(
                "attempt {attempt} of {} failed transiently (matched: {matched}); no attempts left",
                rule.max_attempts
            );
            log.write("slipway", state.now(), &note).await;
            return outcome;
        }
        let wait = rule.wait_before(attempt + 1);
        let retry = crate::store::Retry {
            attempt,
            exit_code: code,
            matched: matched.clone(),
            at: state.now().unix_timestamp(),
        };
        match state.storage.record_retry(d.id, &retry).await {
            Ok(true) => {}
            // No longer running: cancelled while the attempt ended.
            Ok(false) => return Outcome::Cancelled,
            Err(e) => {
                tracing::error!(error = %e, "failed to record a retry; not retrying");
                return outcome;
            }
        }
        let note = format!(
            "attempt {attempt} of {} failed with exit code {code}, a transient failure (matched: {matched}); \
             attempt {} starts in {}s",
            rule.max_attempts,
            attempt + 1,
            wait.as_secs()
        );
        log.write("slipway", state.now(), &note).await;
        tracing::info!(attempt, exit_code = code, matched = %matched, "transient failure; retrying");
        let mut entry = deployment_entry(d, AuditAction::DeployRetried, AuditOutcome::Failed);
        entry.actor = d.requested_by.clone();
        entry.detail = Some(note);
        crate::audit::record(state.storage.as_ref(), entry).await;
        state
            .events
            .board_changed(&d.pipeline, BoardChange::Retrying)
            .await;
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = cancel.cancelled() => return Outcome::Cancelled,
        }
        log.attempt += 1;
        log.matched = None;
        let note = format!("attempt {} of {}", log.attempt, rule.max_attempts);
        log.write("slipway", state.now(), &note).await;
    }
}

/// On shutdown: refuse new promotions, wait up to `grace` for running deploys, then
/// cancel the rest and wait for them to record their end.
pub async fn shutdown(state: &Services, grace: Duration) {
    state.deploys.stopping.store(true, Ordering::SeqCst);
    let deadline = tokio::time::Instant::now() + grace;
    while state.deploys.running_count() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let handles: Vec<CancelHandle> = state.deploys.lock_running().values().cloned().collect();
    if !handles.is_empty() {
        tracing::warn!(
            count = handles.len(),
            "cancelling deploys still running at shutdown"
        );
    }
    for h in handles {
        h.cancel();
    }
    let tasks: Vec<_> = std::mem::take(
        &mut *state
            .deploys
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner()),
    );
    for t in tasks {
        let _ = t.await;
    }
}

/// An audit entry about deployment `d` (no actor: the supervisor acts on its own).
pub(crate) fn deployment_entry(
    d: &Deployment,
    action: AuditAction,
    outcome: AuditOutcome,
) -> NewAudit {
    let mut entry = NewAudit::new(action, outcome);
    entry.pipeline = Some(d.pipeline.clone());
    entry.stage = Some(d.stage.clone());
    entry.sha = Some(d.sha.to_string());
    entry.target = Some(format!("deployment #{}", d.id));
    entry
}
