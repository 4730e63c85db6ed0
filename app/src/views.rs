//! The data pages render: plain serialisable structs, built on the server and shipped
//! to the browser inside the hydration payload. Everything time-dependent (ages) is
//! already text here, so server and browser render identical HTML.

use serde::{Deserialize, Serialize};

/// The logged-in user, as pages show them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// Login name.
    pub name: String,
    /// Role names.
    pub roles: Vec<String>,
}

/// The home page: every pipeline with each stage's current SHA.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomeView {
    /// Pipelines in config order.
    pub pipelines: Vec<PipelineSummary>,
}

/// A pipeline's name and stages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineSummary {
    /// Config id (URL segment).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Stages in promotion order.
    pub stages: Vec<StageSummary>,
}

/// A stage as a column header shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageSummary {
    /// Config id.
    pub id: String,
    /// Column title.
    pub label: String,
    /// Production columns are drawn unmistakably.
    pub production: bool,
    /// Whether only descendants of the current SHA may enter.
    pub fast_forward_only: bool,
    /// Roles that may promote here.
    pub promote_roles: Vec<String>,
    /// What runs there now; `None` until the first successful deploy.
    pub current: Option<CurrentSha>,
}

/// A stage's current SHA: the SHA of its latest successful deployment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentSha {
    /// Full SHA.
    pub sha: String,
    /// Since when (age text).
    pub since: String,
    /// Who deployed it.
    pub by: String,
}

/// A commit card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitCard {
    /// Full SHA.
    pub sha: String,
    /// First 7 characters.
    pub short: String,
    /// First line of the message.
    pub subject: String,
    /// Author name.
    pub author: String,
    /// "3 hours ago", computed on the server.
    pub age: String,
    /// Whether this is a merge commit.
    pub is_merge: bool,
}

/// The state of a pipeline's repository mirror.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorView {
    /// When it was last fetched successfully (age text), if ever.
    pub fetched: Option<String>,
    /// The last fetch error, if the last fetch failed.
    pub error: Option<String>,
}

/// One pipeline's board.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardView {
    /// Name and stages.
    pub pipeline: PipelineSummary,
    /// The branch the board follows.
    pub branch: String,
    /// The repository (credentials removed).
    pub repository: String,
    /// The branch's recent first-parent commits, newest first.
    pub commits: Vec<CommitCard>,
    /// Commits marked ready that reached no stage yet.
    pub ready: Vec<CommitCard>,
    /// Mirror state.
    pub mirror: MirrorView,
    /// Whether the viewer may press *refresh*.
    pub can_refresh: bool,
}

/// A user row on the admin page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    /// Login name.
    pub name: String,
    /// Role names.
    pub roles: Vec<String>,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Last login (age text), if any.
    pub last_login: Option<String>,
}
