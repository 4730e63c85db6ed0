//! Post-deploy verification: a deploy command that exited 0 has not necessarily put the
//! new SHA in place (a rollout still running, a stuck pod, a load balancer pointing
//! elsewhere). Where the stage has a version probe, the deployment stays *verifying*
//! until the probe reports the new SHA, at most `verify_timeout`; where it has a smoke
//! command instead, that command's exit code decides.

use super::log_sink::LogWriter;
use super::runner::{self, CancelHandle, Outcome, RunSpec};
use crate::config::{PipelineConfig, SmokeConfig, StageConfig, VersionProbe};
use crate::probes::version::{is, reported_sha};
use crate::probes::Prober;
use crate::store::Deployment;
use crate::Services;
use slipway_model::deployment::DeploymentState;
use std::time::Duration;
use tokio::time::Instant;

/// How verification ended.
pub(super) enum Verification {
    /// The new SHA is in place.
    Verified,
    /// It is not; why.
    Failed(String),
    /// Someone cancelled the deployment meanwhile.
    Cancelled,
}

/// What verifies a deploy to a stage, if anything.
pub(super) enum Verifier {
    Version(VersionProbe),
    Smoke(SmokeConfig),
}

impl Verifier {
    pub(super) fn of(stage: &StageConfig) -> Option<Self> {
        match (&stage.version, &stage.smoke) {
            (Some(v), _) => Some(Verifier::Version(v.clone())),
            (None, Some(s)) => Some(Verifier::Smoke(s.clone())),
            (None, None) => None,
        }
    }
}

/// Moves the deployment to verifying and verifies it. `deploy` is the deployer's run
/// spec: a smoke command runs with its environment and working directory.
pub(super) async fn verify(
    state: &Services,
    at: (&PipelineConfig, &StageConfig),
    verifier: &Verifier,
    d: &Deployment,
    deploy: &RunSpec,
    log: &mut LogWriter,
    cancel: &CancelHandle,
) -> Verification {
    match state.storage.mark_verifying(d.id).await {
        Ok(true) => {}
        Ok(false) => return Verification::Cancelled,
        Err(e) => {
            tracing::error!(error = %e, "failed to mark a deployment verifying");
            return Verification::Failed("the deployment could not be marked verifying".into());
        }
    }
    state
        .events
        .deployment_changed(&d.pipeline, d.id, DeploymentState::Verifying)
        .await;
    log.verifying = true;
    match verifier {
        Verifier::Version(v) => version(state, at, v, d, log, cancel).await,
        Verifier::Smoke(s) => smoke(state, s, deploy, log, cancel).await,
    }
}

async fn version(
    state: &Services,
    (pipeline, stage): (&PipelineConfig, &StageConfig),
    v: &VersionProbe,
    d: &Deployment,
    log: &mut LogWriter,
    cancel: &CancelHandle,
) -> Verification {
    let short = d.sha.short();
    let deadline = Instant::now() + v.verify_timeout;
    let poll = v
        .probe
        .interval
        .clamp(Duration::from_secs(1), Duration::from_secs(5));
    log.write(
        "slipway",
        state.now(),
        &format!(
            "verifying: waiting for the version probe to report {short} (at most {}s)",
            v.verify_timeout.as_secs()
        ),
    )
    .await;
    let prober = Prober::new();
    let mut last: Option<String> = None;
    loop {
        let answer = prober
            .run(pipeline, stage, &v.probe.target, v.probe.timeout)
            .await;
        let said = if answer.ok {
            reported_sha(&answer.text, &v.extract)
        } else {
            Err(answer.detail)
        };
        let text = match &said {
            Ok(r) if is(r, &d.sha) => {
                let note = format!("the version probe reports {r}: verified");
                log.write("slipway", state.now(), &note).await;
                return Verification::Verified;
            }
            Ok(r) => format!("the version probe reports {r}, not {short} yet"),
            Err(why) => format!("the version probe names no SHA yet: {why}"),
        };
        if last.as_ref() != Some(&text) {
            log.write("slipway", state.now(), &text).await;
            last = Some(text.clone());
        }
        if Instant::now() + poll > deadline {
            return Verification::Failed(format!(
                "verification timed out after {}s; {text}",
                v.verify_timeout.as_secs()
            ));
        }
        tokio::select! {
            () = tokio::time::sleep(poll) => {}
            () = cancel.cancelled() => return Verification::Cancelled,
        }
    }
}

async fn smoke(
    state: &Services,
    smoke: &SmokeConfig,
    deploy: &RunSpec,
    log: &mut LogWriter,
    cancel: &CancelHandle,
) -> Verification {
    log.write(
        "slipway",
        state.now(),
        "verifying: running the smoke command",
    )
    .await;
    let spec = RunSpec {
        argv: smoke.command.clone(),
        timeout: smoke.timeout,
        ..deploy.clone()
    };
    match runner::run(spec, log, cancel.clone()).await {
        Outcome::Exited { code: 0 } => {
            log.write("slipway", state.now(), "the smoke command passed: verified")
                .await;
            Verification::Verified
        }
        Outcome::Exited { code } => {
            Verification::Failed(format!("the smoke command failed with exit code {code}"))
        }
        Outcome::Signalled { signal } => {
            Verification::Failed(format!("the smoke command was killed by signal {signal}"))
        }
        Outcome::TimedOut => Verification::Failed(format!(
            "the smoke command ran past its {}s timeout and was stopped",
            smoke.timeout.as_secs()
        )),
        Outcome::Cancelled => Verification::Cancelled,
        Outcome::SpawnFailed { message } => Verification::Failed(message),
    }
}
