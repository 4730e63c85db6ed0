//! A fake GitHub REST API on loopback, for the GitHub integration's tests.
//!
//! GitHub cannot be reached from here, so this stands in for it, speaking its JSON (the
//! shapes of the published responses in `/work/shared/fixtures/github/`). Commits,
//! comparisons and branches come from a real git repository (a [`TestRepo`]'s
//! path), so a test commits and the fake sees it. Check runs, statuses, Deployments,
//! workflow runs and App installation tokens are kept in memory and set or driven by
//! the test. Every call is recorded. Every GET answers with an `ETag` and `304` to a
//! matching `If-None-Match`; every answer carries GitHub's rate-limit headers, and
//! [`FakeGitHub::rate_limit_until`] makes it refuse like GitHub does.
//!
//! [`TestRepo`]: crate::git::TestRepo

mod git_json;
mod routes;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A call the fake received.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    /// Without the Enterprise prefix.
    pub path: String,
    pub query: String,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    pub body: String,
    /// What the fake answered.
    pub status: u16,
}

/// A GitHub Deployment someone created.
#[derive(Clone, Debug)]
pub struct FakeDeployment {
    pub id: i64,
    pub sha: String,
    pub environment: String,
    pub payload: Value,
    /// States in the order they were posted.
    pub statuses: Vec<String>,
    /// The status bodies as posted (newest last), for the statuses list.
    pub(crate) posted: Vec<Value>,
}

/// A workflow run a dispatch started.
#[derive(Clone, Debug)]
pub struct FakeRun {
    pub id: i64,
    pub workflow: String,
    pub head_sha: String,
    pub inputs: Value,
    pub status: String,
    pub conclusion: Option<String>,
    pub(crate) created_at: String,
    /// `(conclusion, after this many reads)` when it completes by itself.
    pub(crate) plan: Option<(String, u32)>,
    pub(crate) reads: u32,
}

#[derive(Clone)]
pub(crate) struct CheckRun {
    pub(crate) id: i64,
    pub(crate) sha: String,
    pub(crate) name: String,
    pub(crate) status: String,
    pub(crate) conclusion: Option<String>,
    pub(crate) at: String,
}

#[derive(Clone)]
pub(crate) struct Status {
    pub(crate) id: i64,
    pub(crate) sha: String,
    pub(crate) context: String,
    pub(crate) state: String,
    pub(crate) at: String,
}

pub(crate) struct State {
    pub(crate) full_name: String,
    pub(crate) prefix: String,
    pub(crate) repo: PathBuf,
    /// `http://127.0.0.1:<port>` plus the prefix.
    pub(crate) base: String,
    pub(crate) calls: Vec<Call>,
    pub(crate) token: Option<String>,
    /// Installation tokens minted, with their expiry (unix seconds).
    pub(crate) installation_tokens: Vec<(String, i64)>,
    pub(crate) token_lifetime: Duration,
    pub(crate) limited_until: Option<i64>,
    pub(crate) remaining: i64,
    pub(crate) check_runs: Vec<CheckRun>,
    pub(crate) statuses: Vec<Status>,
    pub(crate) deployments: Vec<FakeDeployment>,
    pub(crate) runs: Vec<FakeRun>,
    pub(crate) auto: Option<(String, u32)>,
    pub(crate) next_id: i64,
}

impl State {
    pub(crate) fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }
}

/// A running fake; stops when dropped.
pub struct FakeGitHub {
    /// The API base URL to configure: `http://127.0.0.1:<port>`, or with `/api/v3`.
    pub base: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

/// Now, as GitHub writes times.
pub(crate) fn now_text() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

impl FakeGitHub {
    /// Serves repository `full_name` (`owner/name`) from the git repository at `repo`.
    pub async fn start(full_name: &str, repo: &Path) -> FakeGitHub {
        Self::serve(full_name, repo, "").await
    }

    /// The same under `/api/v3`, as GitHub Enterprise Server answers.
    pub async fn start_enterprise(full_name: &str, repo: &Path) -> FakeGitHub {
        Self::serve(full_name, repo, "/api/v3").await
    }

    async fn serve(full_name: &str, repo: &Path, prefix: &str) -> FakeGitHub {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("an address");
        let base = format!("http://{addr}{prefix}");
        let state = Arc::new(Mutex::new(State {
            full_name: full_name.to_owned(),
            prefix: prefix.to_owned(),
            repo: repo.to_owned(),
            base: base.clone(),
            calls: Vec::new(),
            token: None,
            installation_tokens: Vec::new(),
            token_lifetime: Duration::from_secs(3600),
            limited_until: None,
            remaining: 5000,
            check_runs: Vec::new(),
            statuses: Vec::new(),
            deployments: Vec::new(),
            runs: Vec::new(),
            auto: None,
            next_id: 30_433_642,
        }));
        let shared = state.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let shared = shared.clone();
                async move { routes::answer(&shared, method, uri, headers, body) }
            },
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeGitHub { base, state, task }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Calls with `method` whose path starts with `prefix` (304s included).
    pub fn count(&self, method: &str, prefix: &str) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.method == method && c.path.starts_with(prefix))
            .count()
    }

    /// Calls answered with `status`.
    pub fn count_status(&self, status: u16) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.status == status)
            .count()
    }

    /// From now on `/repos/…` answers 401 without `Authorization: Bearer <token>` or a
    /// valid installation token this fake minted.
    pub fn require_token(&self, token: &str) {
        self.lock().token = Some(token.to_owned());
    }

    /// How long minted installation tokens live.
    pub fn token_lifetime(&self, lifetime: Duration) {
        self.lock().token_lifetime = lifetime;
    }

    /// Installation tokens minted so far.
    pub fn tokens_issued(&self) -> usize {
        self.lock().installation_tokens.len()
    }

    /// Every call answers 403 with `x-ratelimit-remaining: 0` until cleared.
    pub fn rate_limit_until(&self, reset_unix: i64) {
        self.lock().limited_until = Some(reset_unix);
    }

    pub fn clear_rate_limit(&self) {
        self.lock().limited_until = None;
    }

    /// Sets check run `name` of `sha` (replacing one of that name), as of now.
    pub fn set_check_run(&self, sha: &str, name: &str, status: &str, conclusion: Option<&str>) {
        let mut s = self.lock();
        let id = s.id();
        s.check_runs.retain(|r| !(r.sha == sha && r.name == name));
        s.check_runs.push(CheckRun {
            id,
            sha: sha.to_owned(),
            name: name.to_owned(),
            status: status.to_owned(),
            conclusion: conclusion.map(str::to_owned),
            at: now_text(),
        });
    }

    /// Sets commit status `context` of `sha`, as of now.
    pub fn set_status(&self, sha: &str, context: &str, state: &str) {
        let mut s = self.lock();
        let id = s.id();
        s.statuses
            .retain(|r| !(r.sha == sha && r.context == context));
        s.statuses.push(Status {
            id,
            sha: sha.to_owned(),
            context: context.to_owned(),
            state: state.to_owned(),
            at: now_text(),
        });
    }

    /// The Deployments created so far, oldest first.
    pub fn deployments(&self) -> Vec<FakeDeployment> {
        self.lock().deployments.clone()
    }

    /// Posts a status on Deployment `id`, as an external CD system would.
    pub fn set_deployment_status(&self, id: i64, state: &str) {
        let mut s = self.lock();
        let status_id = s.id();
        if let Some(d) = s.deployments.iter_mut().find(|d| d.id == id) {
            d.statuses.push(state.to_owned());
            d.posted.push(serde_json::json!({
                "id": status_id, "state": state, "description": "deployed by the CD system",
                "log_url": "https://cd.example.com/runs/1", "target_url": "https://cd.example.com/runs/1",
            }));
        }
    }

    /// The workflow runs dispatches started, oldest first.
    pub fn runs(&self) -> Vec<FakeRun> {
        self.lock().runs.clone()
    }

    /// Sets run `id`'s status and conclusion.
    pub fn set_run(&self, id: i64, status: &str, conclusion: Option<&str>) {
        let mut s = self.lock();
        if let Some(r) = s.runs.iter_mut().find(|r| r.id == id) {
            r.status = status.to_owned();
            r.conclusion = conclusion.map(str::to_owned);
            r.plan = None;
        }
    }

    /// Runs dispatched from now on are `in_progress` when read, and completed with
    /// `conclusion` from their `after_reads`-th read on.
    pub fn auto_complete_runs(&self, conclusion: &str, after_reads: u32) {
        self.lock().auto = Some((conclusion.to_owned(), after_reads));
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        self.task.abort();
    }
}
