//! What the config says about GitHub: the server's credentials and webhook secret
//! (`[github]`), and each pipeline's repository there.

use super::SecretSource;
use std::collections::BTreeMap;
use std::time::Duration;

/// The API of github.com; Enterprise servers answer at `https://HOST/api/v3`.
pub const PUBLIC_API: &str = "https://api.github.com";

/// `[github]`: how Slipway reaches GitHub and how GitHub reaches Slipway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubConfig {
    /// Where the secret GitHub signs its webhooks with is kept; `None`: webhooks are
    /// refused (the reconcile still catches up).
    pub webhook_secret: Option<SecretSource>,
    /// The REST API's base URL, without a trailing slash.
    pub api_url: String,
    /// Who Slipway is to the API.
    pub auth: GitHubAuth,
}

impl Default for GitHubConfig {
    fn default() -> Self {
        Self {
            webhook_secret: None,
            api_url: PUBLIC_API.to_owned(),
            auth: GitHubAuth::Anonymous,
        }
    }
}

/// The credentials Slipway calls the API with. Secrets are read at each use (a rotated
/// file takes effect), never logged, never shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitHubAuth {
    /// No credentials: public repositories only, 60 requests an hour.
    Anonymous,
    /// A fine-grained (or classic) personal access token.
    Token(SecretSource),
    /// A GitHub App's installation: the app's private key signs a JWT that mints
    /// installation tokens, refreshed before they expire.
    App {
        app_id: u64,
        private_key: SecretSource,
        installation_id: u64,
    },
}

/// A pipeline's repository on GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubRepository {
    pub owner: String,
    pub name: String,
    /// This pipeline's API base URL where it differs from `[github] api_url`.
    pub api_url: Option<String>,
    /// Names of check runs and commit statuses that must be green for a SHA to be
    /// promoted (the CI gate); empty: no CI gate.
    pub required_checks: Vec<String>,
}

impl GitHubRepository {
    /// `owner/name`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// Whether GitHub's `full_name` names this repository (GitHub compares names
    /// without regard to case).
    pub fn is(&self, full_name: &str) -> bool {
        full_name.eq_ignore_ascii_case(&self.full_name())
    }
}

/// `deployer.github_actions`: the deploy is a GitHub Actions workflow run. Slipway
/// dispatches `workflow` on `git_ref` with the inputs `sha`, `stage`, `deployment`
/// (`slipway-<id>`, which the workflow's `run-name` shows so Slipway finds its run)
/// and `inputs`, then follows the run every `poll_interval` until it concludes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionsDeployer {
    /// The workflow's file name (`deploy.yml`) or id.
    pub workflow: String,
    /// The branch or tag whose workflow file runs; the pipeline's branch by default.
    pub git_ref: Option<String>,
    /// Further inputs, as the workflow declares them.
    pub inputs: BTreeMap<String, String>,
    pub poll_interval: Duration,
}

/// `deployer.github_external`: the deploy is done by a CD system outside Slipway
/// (Argo CD, Spinnaker, a Jenkins job) that watches GitHub Deployments: Slipway creates
/// the Deployment and waits for that system to set its final status (the
/// `deployment_status` webhook, or a poll every `poll_interval`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalDeployer {
    pub poll_interval: Duration,
}
