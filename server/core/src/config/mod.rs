//! `slipway.toml`: parsing and validation.
//!
//! Parsing happens in two steps. serde reads the file into the [`raw`] structs that
//! keep every value's byte span and refuse unknown keys; [`validate`] then turns them
//! into [`Config`], collecting *every* problem with its file, line, key and what was
//! expected. An operator fixing a config sees all mistakes at once, never a panic or a
//! bare serde message. Every value a file may leave out is in [`defaults`].

mod database;
pub mod defaults;
mod error;
mod github;
mod globs;
mod raw;
#[cfg(test)]
pub(crate) mod test_support;
mod validate;

pub use error::{ConfigError, Problem};
pub use github::{ActionsDeployer, ExternalDeployer, GitHubAuth, GitHubConfig, GitHubRepository};
pub use globs::PathGlobs;
pub use validate::is_safe_branch;

pub use database::{DatabaseKind, DatabaseUrl};
use slipway_model::client::IpNet;
use slipway_model::{PipelineId, RoleSet, StageId};
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The validated configuration the server runs on.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from (relative paths inside it are resolved against its folder).
    pub source: PathBuf,
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// The URL users reach Slipway at: used for the Origin check and the `Secure` cookie flag.
    pub base_url: url::Url,
    /// Where Slipway keeps its database (by default), repository mirrors and run files.
    pub data_dir: PathBuf,
    /// Where the state lives: SQLite (the default, a file in `data_dir`) or PostgreSQL.
    pub database_url: DatabaseUrl,
    /// Where the built site (`pkg/`, CSS) is served from; `None` picks the default.
    pub site_dir: Option<PathBuf>,
    /// Sessions end after this long without a request.
    pub session_inactivity: Duration,
    /// Sessions end this long after login whatever the activity (a stolen cookie
    /// cannot be kept alive forever by using it).
    pub session_absolute: Duration,
    /// At shutdown, running deploys get this long to finish before they are cancelled.
    pub shutdown_grace: Duration,
    /// Reverse proxies whose `X-Forwarded-For` is believed when they connect (empty:
    /// none; the connection's peer is the client). See [`slipway_model::client`].
    pub trusted_proxies: Vec<IpNet>,
    /// Limits of the HTTP server itself (`[http]`).
    pub http: HttpConfig,
    /// A replica silent this long is dead: another interrupts its deployments and takes
    /// over its background work (`[cluster] replica_timeout_seconds`).
    pub replica_timeout: Duration,
    /// Who may read the Prometheus metrics (`[metrics]`).
    pub metrics: MetricsConfig,
    /// How log lines are written (`log_format`).
    pub log_format: LogFormat,
    /// GitHub as a whole (`[github]`; without it: github.com, no credentials, webhooks
    /// refused).
    pub github: GitHubConfig,
    /// The boards, in config order.
    pub pipelines: Vec<PipelineConfig>,
}

/// `[http]`: what keeps slow, idle or too many clients from exhausting the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpConfig {
    /// A client must send a request's headers within this long of starting it (or of
    /// the previous response, on a keep-alive connection), or the connection is closed.
    pub header_timeout: Duration,
    /// At most this many connections are open at once; more wait in the kernel's
    /// accept queue. `None`: derived from the file descriptor limit at start.
    pub max_connections: Option<usize>,
    /// At shutdown, requests in progress get this long before their connections close.
    pub drain: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            header_timeout: defaults::HTTP_HEADER_TIMEOUT,
            max_connections: None,
            drain: defaults::HTTP_DRAIN,
        }
    }
}

/// One service's board.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Config id, used in URLs and history.
    pub id: PipelineId,
    /// Display name.
    pub name: String,
    /// Where the git repository comes from.
    pub repository: RepoSource,
    /// The branch whose first-parent history feeds the board.
    pub branch: String,
    /// How often the mirror is fetched in the background.
    pub fetch_interval: Duration,
    /// Environments, in promotion order.
    pub stages: Vec<StageConfig>,
    /// Freezes declared in the config (ops add more at run time).
    pub freezes: Vec<FreezeConfig>,
    /// iCalendar feeds whose events are freezes.
    pub calendars: Vec<CalendarFeed>,
    /// Paths whose changes are database migrations: promoting (or rolling back) over
    /// them needs an acknowledgement.
    pub migrations: PathGlobs,
    /// Where Slipway tells other systems what happened (deployments, drift, locks,
    /// approvals).
    pub webhooks: Vec<WebhookConfig>,
    /// The GitHub repository (`owner/name`) this pipeline's commits come from: its
    /// `push` webhooks fetch at once; with no `repository` to clone, the API is the
    /// source; its `required_checks` make the CI gate.
    pub github: Option<GitHubRepository>,
    /// For a repository not on GitHub: where CI says whether a SHA is green (the CI
    /// gate). A GitHub pipeline's `required_checks` take precedence.
    pub ci: Option<CiCheckConfig>,
}

/// A pipeline's `ci`: a URL template (`{sha}`; a 2xx JSON answer `{"state":
/// "success" | "pending" | "failure" | "error", "url": …}`, 404 while CI has not reported)
/// or a command (`SLIPWAY_SHA`; exit 0 green, 75 still running, anything else failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiCheckConfig {
    pub target: ArtifactTarget,
    pub timeout: Duration,
}

/// Who may read `/metrics`: with a bearer token on the main address, and/or anyone
/// reaching a separate address (bind it to loopback or a scrape network). Neither set:
/// metrics are off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsConfig {
    pub token: Option<SecretSource>,
    pub listen: Option<SocketAddr>,
}

impl MetricsConfig {
    /// Whether metrics are served anywhere.
    pub fn enabled(&self) -> bool {
        self.token.is_some() || self.listen.is_some()
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// For people: one coloured line per event.
    #[default]
    Text,
    /// For log collectors: one JSON object per line, with the request id.
    Json,
}

/// Where a secret is read from: never the config file itself, never logged.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// The server's environment variable of this name.
    Env(String),
    /// This file (absolute after resolution), trimmed.
    File(PathBuf),
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Env(name) => write!(f, "Env({name})"),
            SecretSource::File(path) => write!(f, "File({})", path.display()),
        }
    }
}

impl SecretSource {
    /// The secret now (read at each use: a rotated file or variable takes effect at
    /// once), or what is wrong; the error names where, never the value.
    pub fn read(&self) -> Result<Vec<u8>, String> {
        let value = match self {
            SecretSource::Env(name) => std::env::var(name)
                .map_err(|_| format!("the environment variable {name} is not set"))?,
            SecretSource::File(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        };
        let value = value.trim();
        if value.is_empty() {
            return Err("the secret is empty".into());
        }
        Ok(value.as_bytes().to_vec())
    }
}

/// An outgoing webhook: Slipway POSTs each of `events` (all, when empty) to `url`, as
/// `format`, signed with HMAC-SHA256 when `secret_env` names the server's environment
/// variable holding the key; retried on 5xx and timeouts; never holding a deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Stable name (deliveries are kept by it).
    pub id: String,
    pub url: url::Url,
    pub format: crate::notify::Format,
    pub secret_env: Option<String>,
    /// The events it is sent; empty: every one.
    pub events: Vec<crate::notify::Event>,
}

impl WebhookConfig {
    /// Whether it is sent `event`.
    pub fn wants(&self, event: crate::notify::Event) -> bool {
        self.events.is_empty() || self.events.contains(&event)
    }
}

/// An iCalendar feed of freezes: re-read every `refresh`; each event a freeze named by
/// its summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarFeed {
    pub source: FeedSource,
    /// The stages its freezes close; empty: every stage.
    pub stages: Vec<StageId>,
    pub refresh: Duration,
}

/// Where a feed is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedSource {
    /// A file on this machine (absolute after resolution).
    File(PathBuf),
    /// An `http://` or `https://` URL.
    Url(url::Url),
}

impl FeedSource {
    /// How rows and messages name it: the path, or the URL without credentials.
    pub fn label(&self) -> String {
        match self {
            FeedSource::File(p) => p.display().to_string(),
            FeedSource::Url(u) => crate::repos::redact_userinfo(u.as_str()),
        }
    }
}

/// A freeze declared in the config: a time range that closes stages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreezeConfig {
    /// The stages it closes; empty: every stage of the pipeline.
    pub stages: Vec<StageId>,
    /// Start (inclusive).
    pub from: time::OffsetDateTime,
    /// End (exclusive).
    pub until: time::OffsetDateTime,
    /// Why, shown on the gate.
    pub reason: String,
}

/// Where a pipeline's repository lives. Both are mirrored with the `git` CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoSource {
    /// A repository on this machine (absolute after resolution).
    Local(PathBuf),
    /// A URL git understands (`https://…`, `ssh://…`, `git@host:path`).
    Remote(String),
    /// No clone: commits, ancestry and changes are asked of the GitHub API for the
    /// pipeline's `github.repository`.
    GitHub(String),
}

impl fmt::Display for RepoSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RepoSource::Local(p) => write!(f, "{}", p.display()),
            RepoSource::Remote(u) => f.write_str(u),
            RepoSource::GitHub(full_name) => write!(f, "GitHub {full_name}"),
        }
    }
}

/// One environment column.
#[derive(Debug, Clone)]
pub struct StageConfig {
    /// Config id; history is keyed by it.
    pub id: StageId,
    /// Column title.
    pub label: String,
    /// Production stages are drawn unmistakably and get stricter defaults.
    pub production: bool,
    /// Roles allowed to promote into this stage.
    pub promote_roles: RoleSet,
    /// Roles allowed to roll this stage back.
    pub rollback_roles: RoleSet,
    /// Whether a new SHA must descend from the stage's current SHA.
    pub fast_forward_only: bool,
    /// Whether a SHA that succeeded here must be signed off before it moves on.
    pub sign_off: Option<SignOffConfig>,
    /// What a promoter confirms, item by item, when promoting into this stage.
    pub checklist: Vec<String>,
    /// When promotions into this stage may start; empty: always.
    pub windows: Vec<crate::calendar::Window>,
    /// Whether promotions into this stage need an approval, and whose.
    pub approval: Option<ApprovalConfig>,
    /// How Slipway learns whether the environment is healthy (polled).
    pub health: Option<ProbeConfig>,
    /// How Slipway learns which SHA the environment really runs (polled: drift; after
    /// a deploy: verification).
    pub version: Option<VersionProbe>,
    /// Where there is no version probe: a command that verifies a deploy.
    pub smoke: Option<SmokeConfig>,
    /// Stages (of this pipeline, each with a health probe) that must be healthy before
    /// a promotion into this one.
    pub requires_healthy: Vec<StageId>,
    /// Whether the build of a SHA exists, asked before it is deployed here (the
    /// stage's own check, else the pipeline's).
    pub artifact: Option<ArtifactCheck>,
    /// How a deploy to this stage runs.
    pub deployer: DeployerConfig,
}

/// A probe of an environment, polled every `interval`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeConfig {
    pub target: ProbeTarget,
    pub interval: Duration,
    /// One probe may take this long; longer is a failure.
    pub timeout: Duration,
}

/// How Slipway learns whether the build of a SHA exists (a chart, an image, a
/// tarball): before it deploys one, and while a promotion waits for one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactCheck {
    pub target: ArtifactTarget,
    /// One check may take this long; longer counts as "not there yet".
    pub timeout: Duration,
    /// A promotion queued for the artifact waits this long, then expires.
    pub wait: Duration,
}

/// What an artifact check asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactTarget {
    /// A URL template with `{sha}` (the full SHA): a 2xx answer to a HEAD request
    /// (GET where HEAD is not allowed) means the artifact is there.
    Url(String),
    /// This argv (no shell; `SLIPWAY_SHA` in its environment): exit 0 means it is there.
    Command(Vec<String>),
}

impl ArtifactTarget {
    /// The placeholder a URL template must contain.
    pub const PLACEHOLDER: &'static str = "{sha}";

    /// The template with `sha` in place (a SHA is hex: nothing to escape).
    pub fn url_for(template: &str, sha: &slipway_model::Sha) -> Result<url::Url, url::ParseError> {
        url::Url::parse(&template.replace(Self::PLACEHOLDER, sha.as_str()))
    }
}

/// A probe whose answer names the SHA the environment runs: the whole answer, the
/// string at `json_pointer` of a JSON answer, or the match of `regex` (its first group,
/// if it has one).
#[derive(Debug, Clone)]
pub struct VersionProbe {
    pub probe: ProbeConfig,
    pub extract: VersionExtract,
    /// After a deploy command exits 0, the deployment is *verifying* until the probe
    /// reports the new SHA, at most this long; then it has failed.
    pub verify_timeout: Duration,
}

/// A command run after a deploy command exited 0 (the deployer's environment, its own
/// log lines): exit 0 verifies the deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmokeConfig {
    pub command: Vec<String>,
    pub timeout: Duration,
}

/// Where in a version probe's answer the SHA is.
#[derive(Debug, Clone)]
pub enum VersionExtract {
    /// The whole answer, trimmed.
    Whole,
    /// A JSON answer's string at this pointer (`/git/sha`).
    JsonPointer(String),
    /// The first group of this regex (or its whole match).
    Regex(regex::Regex),
}

/// What a probe asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeTarget {
    /// GET this URL: a 2xx answer is a success.
    Url(url::Url),
    /// Run this argv (no shell; `SLIPWAY_PIPELINE` and `SLIPWAY_STAGE` in its
    /// environment): exit 0 is a success.
    Command(Vec<String>),
}

/// A stage's sign-off rule: after a SHA succeeded there, one of `roles` signs it off
/// before the next stage accepts it.
#[derive(Debug, Clone)]
pub struct SignOffConfig {
    /// Who may sign off (and withdraw a sign-off).
    pub roles: RoleSet,
}

/// A stage's approval rule: a promotion needs an approval by one of `roles` for the
/// SHA, for a slot that covers the moment it starts.
#[derive(Debug, Clone)]
pub struct ApprovalConfig {
    /// Who may approve or reject.
    pub roles: RoleSet,
    /// The approver may not be the requester.
    pub four_eyes: bool,
    /// How long an approval "for now" lasts.
    pub valid: Duration,
}

/// How a stage deploys: a command (an argv run without a shell, inputs only through
/// environment variables), or an HTTP call to a CD system.
#[derive(Debug, Clone)]
pub struct DeployerConfig {
    /// What runs a deploy.
    pub kind: DeployerKind,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// Variables passed on from the server's own environment besides
    /// [`crate::deploys::BASE_ENV`] (an SSH agent socket, a cloud profile…). Nothing
    /// else of the server's environment reaches the deployer.
    pub pass_env: Vec<String>,
    /// Working directory (absolute after resolution); `None` = a fresh empty directory
    /// per deployment, removed when it ends (never the data directory).
    pub workdir: Option<PathBuf>,
    /// The deploy is ended (TERM, then KILL) after this long.
    pub timeout: Duration,
    /// Output stored per deployment, in bytes (see [`defaults::DEPLOY_MAX_LOG_BYTES`]).
    pub max_log_bytes: u64,
    /// Which failures are transient and retried; `None`: every failure is real.
    pub retry: Option<RetryConfig>,
}

/// What runs a deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployerKind {
    /// Program and arguments.
    Command(Vec<String>),
    /// A signed POST to a CD system (Jenkins, Rundeck, an in-house one).
    Http(HttpDeployer),
    /// A GitHub Actions workflow, dispatched and followed to its conclusion.
    GitHubActions(ActionsDeployer),
    /// A CD system outside Slipway that sets the GitHub Deployment's final status.
    GitHubExternal(ExternalDeployer),
}

/// A deploy driven over HTTP: Slipway POSTs the deployment as JSON to `url`, signed
/// with HMAC-SHA256 when `secret_env` names the server's environment variable holding
/// the key; a 2xx answer starts it. An answer with a `status_url` is then polled every
/// `poll_interval` until it reports a terminal `state`, its `log` lines streamed into
/// the deployment's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpDeployer {
    pub url: url::Url,
    pub secret_env: Option<String>,
    pub poll_interval: Duration,
}

/// When a failed deploy is tried again: its exit code is one of `exit_codes`, or a line
/// of its output matches one of `log_patterns`. Any other failure is real.
#[derive(Debug, Clone)]
pub struct RetryConfig {
    pub exit_codes: Vec<i32>,
    /// The patterns as written (the reason names the one that matched).
    pub log_patterns: Vec<String>,
    pub(crate) patterns: regex::RegexSet,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The wait before the second attempt; it doubles for each further one.
    pub backoff: Duration,
}

impl RetryConfig {
    /// The first pattern `line` matches, as written.
    pub fn matching_pattern(&self, line: &str) -> Option<&str> {
        self.patterns
            .matches(line)
            .iter()
            .next()
            .and_then(|i| self.log_patterns.get(i))
            .map(String::as_str)
    }

    /// The wait before attempt `next` (2, 3, …): the backoff, doubled per attempt
    /// after the second, at most [`defaults::RETRY_BACKOFF_MAX`].
    pub fn wait_before(&self, next: u32) -> Duration {
        let doublings = next.saturating_sub(2).min(16);
        self.backoff
            .saturating_mul(1 << doublings)
            .min(defaults::RETRY_BACKOFF_MAX)
    }
}

impl Config {
    /// Finds a pipeline by id.
    pub fn pipeline(&self, id: &str) -> Option<&PipelineConfig> {
        self.pipelines.iter().find(|p| p.id.as_str() == id)
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_owned(),
            problems: vec![Problem {
                line: 0,
                column: 0,
                key: String::new(),
                message: format!("cannot read the config file: {e}"),
                snippet: None,
            }],
        })?;
        Config::parse(&text, path)
    }

    /// Validates config text as if read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        validate::parse(text, path)
    }
}

#[cfg(test)]
mod tests;
