//! The CI gate's facts: what a pipeline's `required_checks` (GitHub check runs and
//! commit statuses, by name) say about a SHA.
//!
//! Results are stored (`ci_checks`), so every replica and every card reads the same
//! answer with one query. They arrive by GitHub's `check_run` and `status` webhooks, and
//! by a reconcile that asks the API (check runs and the combined status of the SHA) for a
//! card whose checks are not all green: in the background, at most every
//! [`ASK_EVERY`] per SHA, so a missed delivery is caught without a board view waiting.

use super::client::GitHubError;
use crate::config::{GitHubRepository, PipelineConfig};
use crate::store::{CheckState, CiCheck};
use crate::Services;
use serde::Deserialize;
use slipway_model::gates::Ci;
use slipway_model::{PipelineId, Sha};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// How often one SHA's checks are asked of the API while not all green.
pub const ASK_EVERY: Duration = Duration::from_secs(15);

/// When each SHA's checks were last asked, in this process, and why a pipeline's own
/// check could not answer.
#[derive(Default)]
pub struct CiAsks {
    asked: Mutex<HashMap<(PipelineId, Sha), Instant>>,
    unanswered: Mutex<HashMap<(PipelineId, Sha), String>>,
}

impl CiAsks {
    /// Whether to ask now (and, if so, notes that it is being asked).
    fn claim(&self, pipeline: &PipelineId, sha: &Sha) -> bool {
        let mut asked = self.asked.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if asked.len() > 10_000 {
            asked.retain(|_, at| now.duration_since(*at) < ASK_EVERY);
        }
        let key = (pipeline.clone(), sha.clone());
        match asked.get(&key) {
            Some(at) if now.duration_since(*at) < ASK_EVERY => false,
            _ => {
                asked.insert(key, now);
                true
            }
        }
    }

    fn unanswered(&self, pipeline: &PipelineId, sha: &Sha, why: Option<String>) {
        let mut map = self.unanswered.lock().unwrap_or_else(|p| p.into_inner());
        let key = (pipeline.clone(), sha.clone());
        match why {
            Some(why) => {
                if map.len() > 10_000 {
                    map.clear();
                }
                map.insert(key, why);
            }
            None => {
                map.remove(&key);
            }
        }
    }

    fn why_unanswered(&self, pipeline: &PipelineId, sha: &Sha) -> Option<String> {
        let map = self.unanswered.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&(pipeline.clone(), sha.clone())).cloned()
    }

    fn asked_before(&self, pipeline: &PipelineId, sha: &Sha) -> bool {
        let asked = self.asked.lock().unwrap_or_else(|p| p.into_inner());
        asked.contains_key(&(pipeline.clone(), sha.clone()))
    }
}

/// A check run, as GitHub's API and `check_run` webhooks carry it.
#[derive(Deserialize)]
pub struct CheckRun {
    pub name: String,
    pub head_sha: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub html_url: Option<String>,
    pub details_url: Option<String>,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
}

/// A commit status, as the combined status lists it and `status` webhooks carry it.
#[derive(Deserialize)]
pub struct CommitStatus {
    pub context: String,
    pub state: String,
    pub target_url: Option<String>,
    pub updated_at: Option<String>,
    pub created_at: Option<String>,
}

#[derive(Deserialize)]
struct CheckRuns {
    check_runs: Vec<CheckRun>,
}

#[derive(Deserialize)]
struct CombinedStatus {
    statuses: Vec<CommitStatus>,
}

fn time_of(text: Option<&str>) -> Option<OffsetDateTime> {
    text.and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
}

impl CheckRun {
    /// The result as stored: unfinished is pending; success, neutral and skipped are
    /// green; anything else (failure, cancelled, timed out…) failed.
    pub fn result(&self, now: OffsetDateTime) -> CiCheck {
        let state = match (self.status.as_str(), self.conclusion.as_deref()) {
            ("completed", Some("success" | "neutral" | "skipped")) => CheckState::Success,
            ("completed", _) => CheckState::Failure,
            _ => CheckState::Pending,
        };
        CiCheck {
            name: self.name.clone(),
            state,
            url: self.html_url.clone().or_else(|| self.details_url.clone()),
            reported_at: time_of(self.completed_at.as_deref())
                .or_else(|| time_of(self.started_at.as_deref()))
                .unwrap_or(now),
        }
    }
}

impl CommitStatus {
    /// The result as stored: `error` counts as failed.
    pub fn result(&self, now: OffsetDateTime) -> CiCheck {
        let state = match self.state.as_str() {
            "success" => CheckState::Success,
            "pending" => CheckState::Pending,
            _ => CheckState::Failure,
        };
        CiCheck {
            name: self.context.clone(),
            state,
            url: self.target_url.clone(),
            reported_at: time_of(self.updated_at.as_deref())
                .or_else(|| time_of(self.created_at.as_deref()))
                .unwrap_or(now),
        }
    }
}

/// The CI fact of `sha` on pipeline `p` from the stored results; asks GitHub (or the
/// pipeline's own `ci` check) in the background when they are not all green.
pub async fn ci_fact(state: &Services, p: &PipelineConfig, sha: &Sha) -> Ci {
    let required: Vec<String> = match (&p.github, &p.ci) {
        (Some(g), _) if !g.required_checks.is_empty() => g.required_checks.clone(),
        (_, Some(_)) => vec![crate::probes::ci::CHECK_NAME.to_owned()],
        _ => return Ci::NotRequired,
    };
    let stored = match state.storage.ci_checks(&p.id, sha).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "failed to read CI checks");
            return Ci::Unknown;
        }
    };
    let fact = fold(&required, &stored);
    if matches!(fact, Ci::Green { .. }) {
        return fact;
    }
    let asked_before = state.github.ci_asks.asked_before(&p.id, sha);
    refresh_in_background(state, p, sha);
    if let Some(reason) = state.github.ci_asks.why_unanswered(&p.id, sha) {
        return Ci::Unavailable { reason };
    }
    if stored.is_empty() && !asked_before {
        return Ci::Unknown;
    }
    let rate_limited = p
        .github
        .as_ref()
        .filter(|g| !g.required_checks.is_empty())
        .and_then(|g| state.github.client(g.api_url.as_deref()).ok())
        .and_then(|c| c.rate_limited_until(OffsetDateTime::now_utc()));
    if let (Some(until), Ci::Waiting { .. }) = (rate_limited, &fact) {
        return Ci::Unavailable {
            reason: GitHubError::RateLimited { until }.to_string(),
        };
    }
    fact
}

/// The required checks' verdict from the stored results: the first failed one, else
/// those not green yet, else green.
fn fold(required: &[String], stored: &[CiCheck]) -> Ci {
    let mut waiting = Vec::new();
    for name in required {
        match stored.iter().find(|c| &c.name == name) {
            Some(c) if c.state == CheckState::Failure => {
                return Ci::Failed {
                    check: name.clone(),
                    url: c.url.clone(),
                }
            }
            Some(c) if c.state == CheckState::Success => {}
            _ => waiting.push(name.clone()),
        }
    }
    if waiting.is_empty() {
        Ci::Green {
            checks: required.to_vec(),
        }
    } else {
        Ci::Waiting { checks: waiting }
    }
}

fn refresh_in_background(state: &Services, p: &PipelineConfig, sha: &Sha) {
    if !state.github.ci_asks.claim(&p.id, sha) {
        return;
    }
    let (state, p, sha) = (state.clone(), p.clone(), sha.clone());
    tokio::spawn(async move {
        match (&p.github, &p.ci) {
            (Some(repo), _) if !repo.required_checks.is_empty() => {
                if let Err(e) = reconcile(&state, &p.id, repo, &sha).await {
                    tracing::info!(pipeline = %p.id, %sha, error = %e, "CI checks could not be asked");
                }
            }
            (_, Some(check)) => match crate::probes::ci::ask(&state, &p, check, &sha).await {
                Ok(result) => {
                    state.github.ci_asks.unanswered(&p.id, &sha, None);
                    record(&state, &p.id, &sha, &result).await;
                }
                Err(why) => {
                    state.github.ci_asks.unanswered(&p.id, &sha, Some(why));
                }
            },
            _ => {}
        }
        // Whatever the ask found (or that it failed) is shown on the board, even when
        // it recorded nothing new.
        state.events.touch_board(p.id.as_str());
    });
}

/// Asks the API for `sha`'s check runs and combined status and records every result.
pub async fn reconcile(
    state: &Services,
    pipeline: &PipelineId,
    repo: &GitHubRepository,
    sha: &Sha,
) -> Result<(), GitHubError> {
    let client = state.github.client(repo.api_url.as_deref())?;
    let base = format!("/repos/{}/commits/{sha}", repo.full_name());
    let runs: CheckRuns = client
        .get(&format!("{base}/check-runs?per_page=100"))
        .await?;
    let statuses: CombinedStatus = client.get(&format!("{base}/status?per_page=100")).await?;
    let now = state.now();
    let results = runs
        .check_runs
        .iter()
        .filter(|r| r.head_sha == sha.as_str())
        .map(|r| r.result(now))
        .chain(statuses.statuses.iter().map(|s| s.result(now)));
    for check in results {
        record(state, pipeline, sha, &check).await;
    }
    Ok(())
}

/// Stores a result and, when it changes a required check, tells open boards.
pub async fn record(state: &Services, pipeline: &PipelineId, sha: &Sha, check: &CiCheck) {
    let before = state.storage.ci_checks(pipeline, sha).await.ok();
    if let Err(e) = state.storage.record_ci_check(pipeline, sha, check).await {
        tracing::warn!(error = %e, "failed to record a CI check");
        return;
    }
    let changed = before.is_none_or(|b| {
        !b.iter()
            .any(|c| c.name == check.name && c.state == check.state)
    });
    if changed {
        state
            .events
            .board_changed(pipeline.as_str(), slipway_model::live::BoardChange::Commits)
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, state: CheckState) -> CiCheck {
        CiCheck {
            name: name.into(),
            state,
            url: Some(format!("https://ci.example/{name}")),
            reported_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn the_gate_waits_for_every_required_check_and_fails_on_the_first_red_one() {
        let required = vec!["build".to_owned(), "test".to_owned()];
        assert_eq!(
            fold(&required, &[check("build", CheckState::Success)]),
            Ci::Waiting {
                checks: vec!["test".into()]
            }
        );
        assert_eq!(
            fold(
                &required,
                &[
                    check("build", CheckState::Pending),
                    check("test", CheckState::Failure),
                    check("lint", CheckState::Failure),
                ]
            ),
            Ci::Failed {
                check: "test".into(),
                url: Some("https://ci.example/test".into())
            }
        );
        assert_eq!(
            fold(
                &required,
                &[
                    check("test", CheckState::Success),
                    check("build", CheckState::Success),
                    check("lint", CheckState::Failure),
                ]
            ),
            Ci::Green {
                checks: required.clone()
            },
            "checks nobody requires do not count"
        );
    }

    #[test]
    fn githubs_states_fold_into_pending_success_and_failure() {
        let run = |status: &str, conclusion: Option<&str>| CheckRun {
            name: "build".into(),
            head_sha: "a".repeat(40),
            status: status.into(),
            conclusion: conclusion.map(str::to_owned),
            html_url: Some("https://github.com/o/r/runs/1".into()),
            details_url: None,
            started_at: Some("2026-12-05T10:00:00Z".into()),
            completed_at: None,
        };
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(
            run("in_progress", None).result(now).state,
            CheckState::Pending
        );
        assert_eq!(run("queued", None).result(now).state, CheckState::Pending);
        for green in ["success", "neutral", "skipped"] {
            assert_eq!(
                run("completed", Some(green)).result(now).state,
                CheckState::Success
            );
        }
        for red in ["failure", "cancelled", "timed_out", "action_required"] {
            assert_eq!(
                run("completed", Some(red)).result(now).state,
                CheckState::Failure
            );
        }
        assert_eq!(
            run("queued", None).result(now).reported_at.unix_timestamp(),
            1_796_464_800
        );
        let status = |state: &str| CommitStatus {
            context: "ci/jenkins".into(),
            state: state.into(),
            target_url: None,
            updated_at: None,
            created_at: None,
        };
        assert_eq!(status("error").result(now).state, CheckState::Failure);
        assert_eq!(status("pending").result(now).state, CheckState::Pending);
        assert_eq!(status("success").result(now).reported_at, now);
    }
}
