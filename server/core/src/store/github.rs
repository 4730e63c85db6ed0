//! GitHub: its webhook deliveries (recorded once each, then processed by one process)
//! and what CI said about commits.

use super::*;

/// A recorded delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubDelivery {
    /// `X-GitHub-Delivery`.
    pub delivery: String,
    /// `X-GitHub-Event`.
    pub event: String,
    pub body: String,
    pub received_at: OffsetDateTime,
    pub outcome: Option<String>,
}

slipway_model::vocabulary! {
    /// A CI check's state as Slipway keeps it: GitHub's many (queued, in_progress,
    /// neutral, skipped, timed_out, error…) folded into what the gate needs.
    CheckState {
        Pending => "pending",
        Success => "success",
        Failure => "failure",
    }
}

/// What one CI check said about a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiCheck {
    /// The check run's name or the commit status's context.
    pub name: String,
    pub state: CheckState,
    /// Where the run says why (its page on GitHub or the CI system).
    pub url: Option<String>,
    /// GitHub's time of the result.
    pub reported_at: OffsetDateTime,
}

/// GitHub's webhook deliveries, and CI results.
#[async_trait]
pub trait GitHubStore: Send + Sync {
    /// Records a delivery; false when one with this id was recorded before (GitHub
    /// redelivers, and so do people).
    async fn record_github_delivery(
        &self,
        delivery: &str,
        event: &str,
        body: &str,
    ) -> StorageResult<bool>;

    /// Recorded deliveries not taken yet, oldest first.
    async fn pending_github_deliveries(&self, limit: i64) -> StorageResult<Vec<GitHubDelivery>>;

    /// Takes a delivery for processing (false: another process took it).
    async fn take_github_delivery(&self, delivery: &str) -> StorageResult<bool>;

    /// Records what came of a delivery.
    async fn github_delivery_outcome(&self, delivery: &str, outcome: &str) -> StorageResult<()>;

    /// One delivery.
    async fn github_delivery(&self, delivery: &str) -> StorageResult<Option<GitHubDelivery>>;

    /// Deletes the processed deliveries received before `before` (GitHub redelivers
    /// within days, so older ids need not be remembered); returns how many.
    async fn prune_github_deliveries(&self, before: OffsetDateTime) -> StorageResult<u64>;

    /// Records a check's result for a commit, unless a newer one is recorded (at the same
    /// time, a finished result wins over a pending one: a reconcile that read the run
    /// just before it finished must not undo the webhook that said it finished).
    async fn record_ci_check(
        &self,
        pipeline: &PipelineId,
        sha: &Sha,
        check: &CiCheck,
    ) -> StorageResult<()>;

    /// The checks recorded for a commit, by name.
    async fn ci_checks(&self, pipeline: &PipelineId, sha: &Sha) -> StorageResult<Vec<CiCheck>>;

    /// Records the GitHub Deployment a deployment created, and its first status.
    async fn record_github_deployment(
        &self,
        deployment: DeploymentId,
        pipeline: &PipelineId,
        stage: &StageId,
        github_id: i64,
        state: &str,
    ) -> StorageResult<()>;

    /// Records the last status posted to a deployment's GitHub Deployment.
    async fn set_github_deployment_state(
        &self,
        deployment: DeploymentId,
        state: &str,
    ) -> StorageResult<()>;

    /// The stage's latest GitHub Deployment before `deployment` whose last status is
    /// `success`: the one a successful deploy replaces.
    async fn github_deployment_replaced(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        deployment: DeploymentId,
    ) -> StorageResult<Option<(DeploymentId, i64)>>;

    /// The GitHub Deployment a deployment created, if it created one.
    async fn github_deployment_of(&self, deployment: DeploymentId) -> StorageResult<Option<i64>>;
}
