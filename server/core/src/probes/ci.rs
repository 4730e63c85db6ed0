//! A pipeline's own CI check (`ci`), for repositories that are not on GitHub: it plays
//! the role of GitHub's required checks in the CI gate, under the one name
//! [`CHECK_NAME`].
//!
//! - A URL template (`{sha}`): a 2xx JSON answer `{"state": "success" | "pending" |
//!   "failure" | "error", "url": "…"}`; a 404 means CI has not reported yet; anything
//!   else (5xx, no answer, another body) is said on the card until the URL answers.
//! - A command (`SLIPWAY_SHA` in its environment): exit 0 green, 75 (`EX_TEMPFAIL`)
//!   still running, any other code failed (its last line says why); a command killed
//!   or silent past its timeout is said on the card, like a URL that does not answer.

use super::run_command;
use crate::config::{ArtifactTarget, CiCheckConfig, PipelineConfig};
use crate::store::{CheckState, CiCheck};
use crate::Services;
use slipway_model::Sha;

/// The stored name of a pipeline's own CI check.
pub const CHECK_NAME: &str = "ci";

/// The exit code a CI command answers "still running" with (`EX_TEMPFAIL`).
pub const STILL_RUNNING: i32 = 75;

/// Asks the pipeline's CI check about `sha`: the result to store, or what went wrong
/// (said on the card while the check cannot answer).
pub async fn ask(
    state: &Services,
    p: &PipelineConfig,
    check: &CiCheckConfig,
    sha: &Sha,
) -> Result<CiCheck, String> {
    let now = state.now();
    let result = |state, url| CiCheck {
        name: CHECK_NAME.to_owned(),
        state,
        url,
        reported_at: now,
    };
    match &check.target {
        ArtifactTarget::Url(template) => {
            let url = ArtifactTarget::url_for(template, sha)
                .map_err(|e| format!("the CI URL template gives no URL: {e}"))?;
            let (answer, code) = state
                .artifacts
                .prober()
                .request(reqwest::Method::GET, url, check.timeout)
                .await;
            match code {
                Some(200..=299) => {
                    let body: serde_json::Value = serde_json::from_str(&answer.text)
                        .map_err(|_| "the CI URL's answer is not JSON with a state".to_owned())?;
                    let link = body["url"].as_str().map(str::to_owned);
                    match body["state"].as_str() {
                        Some("success") => Ok(result(CheckState::Success, link)),
                        Some("pending") => Ok(result(CheckState::Pending, link)),
                        Some("failure" | "error") => Ok(result(CheckState::Failure, link)),
                        Some(other) => Err(format!(
                            "the CI URL answered the state {other:?}; expected success, pending, failure or error"
                        )),
                        None => Err(
                            "the CI URL's answer has no \"state\" (success, pending, failure or error)"
                                .to_owned(),
                        ),
                    }
                }
                Some(404) => Ok(result(CheckState::Pending, None)),
                _ => Err(format!("the CI URL did not answer: {}", answer.detail)),
            }
        }
        ArtifactTarget::Command(argv) => {
            let env = [("SLIPWAY_SHA", sha.as_str())];
            let answer = run_command(p, None, argv, &env, check.timeout).await?;
            match answer.exit_code {
                Some(0) => Ok(result(CheckState::Success, None)),
                Some(STILL_RUNNING) => Ok(result(CheckState::Pending, None)),
                Some(_) => Ok(result(CheckState::Failure, Some(answer.detail))),
                // Killed, or no answer in time: CI said nothing about the SHA.
                None => Err(format!("the CI command did not answer: {}", answer.detail)),
            }
        }
    }
}
