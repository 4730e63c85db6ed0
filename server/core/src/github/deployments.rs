//! GitHub Deployments: every Slipway deployment of a GitHub pipeline is one on GitHub
//! too, for the stage's environment, so GitHub's environment page and the pull request
//! timeline show what runs where. Slipway posts its statuses — `in_progress` when it
//! starts, `success`, `failure` or `error` at its end (an external deployer's CD system
//! posts the end itself), and `inactive` on the one a success replaced — each with a
//! link back to the deployment's page.
//!
//! A deploy never fails because GitHub is unreachable, except a deployer that needs the
//! Deployment (`github_external`), which says so in the log.

use super::client::{GitHubClient, GitHubError};
use crate::config::{PipelineConfig, StageConfig};
use crate::store::Deployment;
use crate::Services;
use serde::Deserialize;
use serde_json::json;
use slipway_model::deployment::DeploymentState;
use slipway_model::{PipelineId, StageId};

/// A GitHub Deployment Slipway created.
#[derive(Clone)]
pub struct GitHubDeployment {
    client: GitHubClient,
    /// `/repos/{owner}/{name}/deployments`.
    route: String,
    /// GitHub's id.
    pub id: i64,
    /// The environment, as GitHub shows it.
    pub environment: String,
    pipeline: PipelineId,
    stage: StageId,
}

#[derive(Deserialize)]
struct Created {
    id: i64,
}

/// One status of a GitHub Deployment.
#[derive(Deserialize, Debug, Clone)]
pub struct Status {
    pub id: i64,
    pub state: String,
    pub description: Option<String>,
    pub log_url: Option<String>,
    pub target_url: Option<String>,
}

/// The link back to a deployment's page.
fn page(state: &Services, d: &Deployment) -> String {
    let base = state.config.base_url.as_str().trim_end_matches('/');
    format!("{base}/deployments/{}", d.id)
}

/// GitHub's status for how a deployment ended.
pub fn state_of(end: DeploymentState) -> &'static str {
    match end {
        DeploymentState::Succeeded => "success",
        DeploymentState::Failed | DeploymentState::TimedOut => "failure",
        _ => "error",
    }
}

impl GitHubDeployment {
    /// Creates the GitHub Deployment of `d` (with an `in_progress` status) when its
    /// pipeline is on GitHub; `Ok(None)` when it is not.
    pub async fn open(
        state: &Services,
        pipeline: &PipelineConfig,
        stage: &StageConfig,
        d: &Deployment,
    ) -> Result<Option<Self>, GitHubError> {
        if pipeline.github.is_none() {
            return Ok(None);
        }
        let mut gh = Self::handle(state, pipeline, stage, 0)?;
        let body = json!({
            "ref": d.sha.as_str(),
            "task": "deploy",
            "environment": gh.environment,
            "description": format!("Slipway deployment #{} of {}", d.id, d.sha.short()),
            // The gates were Slipway's: GitHub must neither merge nor re-check.
            "auto_merge": false,
            "required_contexts": [],
            "production_environment": stage.production,
            "transient_environment": false,
            "payload": {
                "slipway": {
                    "deployment": d.id.get(),
                    "pipeline": d.pipeline,
                    "stage": d.stage,
                    "requested_by": d.requested_by,
                }
            },
        });
        let created: Created = gh.client.post(&gh.route, &body).await?;
        gh.id = created.id;
        if let Err(e) = state
            .storage
            .record_github_deployment(d.id, &pipeline.id, &stage.id, gh.id, "in_progress")
            .await
        {
            tracing::warn!(error = %e, "failed to record a GitHub deployment");
        }
        gh.post_status(state, d, "in_progress", "deploying").await?;
        Ok(Some(gh))
    }

    /// The GitHub Deployment `d` created before (a restarted server ends it), if any.
    pub async fn reopen(
        state: &Services,
        pipeline: &PipelineConfig,
        stage: &StageConfig,
        d: &Deployment,
    ) -> Result<Option<Self>, GitHubError> {
        if pipeline.github.is_none() {
            return Ok(None);
        }
        let Ok(Some(id)) = state.storage.github_deployment_of(d.id).await else {
            return Ok(None);
        };
        Self::handle(state, pipeline, stage, id).map(Some)
    }

    /// GitHub Deployment `id` of `stage`'s environment (`pipeline` is on GitHub).
    fn handle(
        state: &Services,
        pipeline: &PipelineConfig,
        stage: &StageConfig,
        id: i64,
    ) -> Result<Self, GitHubError> {
        let repo = pipeline.github.as_ref().ok_or(GitHubError::NotFound)?;
        Ok(GitHubDeployment {
            client: state.github.client(repo.api_url.as_deref())?,
            route: format!("/repos/{}/deployments", repo.full_name()),
            id,
            environment: stage.id.to_string(),
            pipeline: pipeline.id.clone(),
            stage: stage.id.clone(),
        })
    }

    /// Posts a status with the link back to Slipway.
    pub async fn post_status(
        &self,
        state: &Services,
        d: &Deployment,
        status: &str,
        description: &str,
    ) -> Result<(), GitHubError> {
        let url = page(state, d);
        let body = json!({
            "state": status,
            "log_url": url,
            "target_url": url,
            "description": description,
            "environment": self.environment,
            // Slipway marks the replaced Deployment inactive itself, explicitly.
            "auto_inactive": false,
        });
        let _: serde_json::Value = self
            .client
            .post(&format!("{}/{}/statuses", self.route, self.id), &body)
            .await?;
        if let Err(e) = state
            .storage
            .set_github_deployment_state(d.id, status)
            .await
        {
            tracing::warn!(error = %e, "failed to record a GitHub deployment's state");
        }
        Ok(())
    }

    /// The statuses posted so far, newest first.
    pub async fn statuses(&self) -> Result<Vec<Status>, GitHubError> {
        self.client
            .get(&format!("{}/{}/statuses?per_page=30", self.route, self.id))
            .await
    }

    /// Posts the end of `d` (unless `reported`: the external system posted it) and, on
    /// success, `inactive` on the Deployment it replaced.
    pub async fn close(
        &self,
        state: &Services,
        d: &Deployment,
        end: DeploymentState,
        reported: bool,
    ) -> Result<(), GitHubError> {
        let status = state_of(end);
        if reported {
            let _ = state
                .storage
                .set_github_deployment_state(d.id, status)
                .await;
        } else {
            let said = match end {
                DeploymentState::Succeeded => "deployed",
                DeploymentState::Cancelled => "cancelled",
                DeploymentState::TimedOut => "timed out",
                _ => "failed",
            };
            self.post_status(state, d, status, said).await?;
        }
        if end != DeploymentState::Succeeded {
            return Ok(());
        }
        let replaced = state
            .storage
            .github_deployment_replaced(&self.pipeline, &self.stage, d.id)
            .await
            .ok()
            .flatten();
        if let Some((old, github_id)) = replaced {
            let body = json!({
                "state": "inactive",
                "description": format!("replaced by Slipway deployment #{}", d.id),
                "environment": self.environment,
            });
            let _: serde_json::Value = self
                .client
                .post(&format!("{}/{github_id}/statuses", self.route), &body)
                .await?;
            if let Err(e) = state
                .storage
                .set_github_deployment_state(old, "inactive")
                .await
            {
                tracing::warn!(error = %e, "failed to record a GitHub deployment's state");
            }
        }
        Ok(())
    }
}
