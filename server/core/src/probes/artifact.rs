//! Each stage's artifact check: whether the build of a SHA (a chart, an image, a
//! tarball) exists before Slipway deploys it.
//!
//! A check answers *present*, *missing* (not yet: a 404, a non-zero exit, no answer in
//! time) or *broken* (the check cannot tell until someone fixes it: a 403, a command
//! that does not start). Answers are stored: a found artifact is never asked for again,
//! a missing one is asked again by the board (in the background, at most every
//! [`defaults::ARTIFACT_RECHECK`]) and by a promotion (at once, before its transaction).

use super::{run_command, Prober};
use crate::config::{defaults, ArtifactCheck, ArtifactTarget, PipelineConfig, StageConfig};
use crate::store::{ArtifactSeen, ArtifactStatus};
use crate::Services;
use slipway_model::gates::Artifact;
use slipway_model::live::BoardChange;
use slipway_model::Sha;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// How many background checks (for the board) run at once, over all pipelines.
const BACKGROUND_CHECKS: usize = 4;

/// The artifact checks of this process: the probe client, and the background checks
/// under way (each (pipeline, stage, SHA) asked once at a time).
pub struct Artifacts {
    prober: Prober,
    in_flight: Mutex<HashSet<(String, String, Sha)>>,
    permits: Arc<Semaphore>,
}

impl Default for Artifacts {
    fn default() -> Self {
        Artifacts {
            prober: Prober::new(),
            in_flight: Mutex::new(HashSet::new()),
            permits: Arc::new(Semaphore::new(BACKGROUND_CHECKS)),
        }
    }
}

/// What a check said, and in a word for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckAnswer {
    pub status: ArtifactStatus,
    pub detail: String,
}

impl Artifacts {
    /// The probes' HTTP client (a pipeline's CI check uses it too).
    pub fn prober(&self) -> &Prober {
        &self.prober
    }

    /// Asks `check` about `sha` for `stage`, now.
    pub async fn ask(
        &self,
        pipeline: &PipelineConfig,
        stage: &StageConfig,
        check: &ArtifactCheck,
        sha: &Sha,
    ) -> CheckAnswer {
        match &check.target {
            ArtifactTarget::Url(template) => {
                let url = match ArtifactTarget::url_for(template, sha) {
                    Ok(u) => u,
                    Err(e) => {
                        return CheckAnswer {
                            status: ArtifactStatus::Broken,
                            detail: format!("the URL template gives no URL: {e}"),
                        }
                    }
                };
                self.ask_url(url, check.timeout).await
            }
            ArtifactTarget::Command(argv) => {
                let env = [("SLIPWAY_SHA", sha.as_str())];
                match run_command(pipeline, Some(stage), argv, &env, check.timeout).await {
                    Ok(answer) => CheckAnswer {
                        status: if answer.ok {
                            ArtifactStatus::Present
                        } else {
                            ArtifactStatus::Missing
                        },
                        detail: answer.detail,
                    },
                    Err(detail) => CheckAnswer {
                        status: ArtifactStatus::Broken,
                        detail,
                    },
                }
            }
        }
    }

    /// HEAD (GET where a server does not allow HEAD): 2xx present; 404 and 410 missing,
    /// as are 5xx and no answer (a registry restarting); anything else broken.
    async fn ask_url(&self, url: url::Url, timeout: std::time::Duration) -> CheckAnswer {
        let (mut answer, mut code) = self
            .prober
            .request(reqwest::Method::HEAD, url.clone(), timeout)
            .await;
        if matches!(code, Some(405 | 501)) {
            (answer, code) = self
                .prober
                .request(reqwest::Method::GET, url, timeout)
                .await;
        }
        let status = match code {
            Some(200..=299) => ArtifactStatus::Present,
            Some(404 | 410 | 500..=599) | None => ArtifactStatus::Missing,
            Some(_) => ArtifactStatus::Broken,
        };
        CheckAnswer {
            status,
            detail: answer.detail,
        }
    }
}

/// Asks `stage`'s check about `sha` now and records the answer; `None` when the stage
/// checks no artifact or the answer could not be stored.
pub async fn check_now(
    state: &Services,
    pipeline: &PipelineConfig,
    stage: &StageConfig,
    sha: &Sha,
) -> Option<ArtifactSeen> {
    let check = stage.artifact.as_ref()?;
    let answer = state.artifacts.ask(pipeline, stage, check, sha).await;
    match state
        .storage
        .record_artifact(&pipeline.id, &stage.id, sha, answer.status, &answer.detail)
        .await
    {
        Ok(seen) => Some(seen),
        Err(e) => {
            tracing::warn!(error = %e, "failed to record an artifact check");
            None
        }
    }
}

/// The gate's fact for promoting `sha` into `stage`, asked now unless already found.
/// What a promotion and a queued promotion's start go by.
pub async fn fact_now(
    state: &Services,
    pipeline: &PipelineConfig,
    stage: &StageConfig,
    sha: &Sha,
) -> Artifact {
    if stage.artifact.is_none() {
        return Artifact::NotChecked;
    }
    let stored = state
        .storage
        .artifacts_seen(&pipeline.id, std::slice::from_ref(sha))
        .await
        .ok()
        .and_then(|all| all.into_iter().find(|s| s.stage == stage.id.as_str()));
    let seen = match stored {
        Some(s) if s.status == ArtifactStatus::Present => Some(s),
        _ => check_now(state, pipeline, stage, sha).await,
    };
    fact_from(stage, seen.as_ref())
}

/// The gate's fact from a stored answer (the board reads them in one query).
pub fn fact_from(stage: &StageConfig, seen: Option<&ArtifactSeen>) -> Artifact {
    if stage.artifact.is_none() {
        return Artifact::NotChecked;
    }
    let Some(seen) = seen else {
        return Artifact::Unknown;
    };
    match seen.status {
        ArtifactStatus::Present => Artifact::Present,
        ArtifactStatus::Missing => Artifact::Missing {
            since: crate::calendar::local_label(
                seen.missing_since.unwrap_or(seen.checked_at),
                crate::promotion::facts::stage_zone(stage),
            ),
            detail: seen.detail.clone(),
        },
        ArtifactStatus::Broken => Artifact::Broken {
            detail: seen.detail.clone(),
        },
    }
}

/// For the board: asks in the background about `sha` for `stage` when nothing is
/// stored yet, or what is stored did not find it and is older than
/// [`defaults::ARTIFACT_RECHECK`]. The board is told to reload when the answer changes
/// what it shows.
pub fn refresh_in_background(
    state: &Services,
    pipeline: &PipelineConfig,
    stage: &StageConfig,
    sha: &Sha,
    seen: Option<&ArtifactSeen>,
) {
    if stage.artifact.is_none() {
        return;
    }
    let before = seen.map(|s| s.status);
    let fresh = seen.is_some_and(|s| {
        s.status == ArtifactStatus::Present
            || state.now() - s.checked_at < defaults::ARTIFACT_RECHECK
    });
    if fresh {
        return;
    }
    let key = (pipeline.id.to_string(), stage.id.to_string(), sha.clone());
    {
        let mut in_flight = state
            .artifacts
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if !in_flight.insert(key.clone()) {
            return;
        }
    }
    let state = state.clone();
    let sha = sha.clone();
    tokio::spawn(async move {
        let permit = state.artifacts.permits.clone().acquire_owned().await;
        let found = state.config.pipeline(&key.0).and_then(|p| {
            p.stages
                .iter()
                .find(|s| s.id.as_str() == key.1)
                .map(|s| (p, s))
        });
        if let (Ok(_permit), Some((pipeline, stage))) = (permit, found) {
            let after = check_now(&state, pipeline, stage, &sha)
                .await
                .map(|s| s.status);
            if after.is_some() && after != before {
                state
                    .events
                    .board_changed(pipeline.id.as_str(), BoardChange::Artifact)
                    .await;
            }
        }
        state
            .artifacts
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
    });
}
