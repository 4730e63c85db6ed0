//! Repositories: each pipeline's bare mirror ([`mirror`]), the one hardened way to run
//! git ([`git`]), and the caches that spare board views a git process ([`cache`]).
//!
//! [`Repos`] is the set of pipeline repositories with their fetch status: a mirror, or
//! for a pipeline with no clone the GitHub API ([`GitHubRepo`]); callers ask the same
//! questions of both. Fetches of one repository are serialised (a refresh click during a
//! background fetch waits for it instead of racing it); different pipelines fetch
//! independently.

mod cache;
pub mod git;
pub mod mirror;

pub use git::redact_userinfo;
pub use mirror::{Commit, Mirror};

use crate::config::{Config, PathGlobs, PipelineConfig, RepoSource};
use crate::github::client::{GitHubClients, GitHubError};
use crate::github::repo::GitHubRepo;
use cache::{CommitCache, PairCache, RecentCommits};
use slipway_model::{PipelineId, Sha};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// What the last fetch of a mirror did.
#[derive(Debug, Clone, Default)]
pub struct FetchStatus {
    /// When the last successful fetch finished.
    pub fetched_at: Option<OffsetDateTime>,
    /// The error of the last fetch, if it failed (credentials already removed).
    pub error: Option<String>,
}

/// Fetches caused by requests for SHAs the mirror lacks ([`Repos::fetch_on_demand`]):
/// a burst of this many, then one per [`DEMAND_FETCH_REFILL`] per pipeline. Generous for
/// CI pushing and marking commits ready in quick succession; a bound on anyone naming
/// random SHAs. The background fetch and the *Refresh* button are not limited by it.
pub const DEMAND_FETCH_BURST: f64 = 10.0;
/// See [`DEMAND_FETCH_BURST`].
pub const DEMAND_FETCH_REFILL: Duration = Duration::from_secs(3);

/// When a pipeline last fetched, and what is left of its demand-fetch budget.
struct FetchClock {
    last_started: Option<Instant>,
    budget: f64,
    budget_at: Instant,
}

impl FetchClock {
    fn new() -> Self {
        Self {
            last_started: None,
            budget: DEMAND_FETCH_BURST,
            budget_at: Instant::now(),
        }
    }

    /// Takes one demand fetch from the budget, refilled for the time since last asked.
    fn take(&mut self, now: Instant) -> bool {
        let refill =
            now.duration_since(self.budget_at).as_secs_f64() / DEMAND_FETCH_REFILL.as_secs_f64();
        self.budget = (self.budget + refill).min(DEMAND_FETCH_BURST);
        self.budget_at = now;
        if self.budget >= 1.0 {
            self.budget -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Where a pipeline's commits are read.
enum Source {
    Mirror(Mirror),
    GitHub(Box<GitHubRepo>),
}

/// Where commit `head` stands relative to commit `base` (GitHub's compare vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// The same commit.
    Identical,
    /// `head` descends from `base`.
    Ahead,
    /// `head` is an ancestor of `base` (older).
    Behind,
    /// Neither descends from the other (another branch).
    Diverged,
}

impl Relation {
    fn of(base_is_ancestor: bool, head_is_ancestor: bool) -> Self {
        match (base_is_ancestor, head_is_ancestor) {
            (true, true) => Relation::Identical,
            (true, false) => Relation::Ahead,
            (false, true) => Relation::Behind,
            (false, false) => Relation::Diverged,
        }
    }

    /// Whether `base` equals or is an ancestor of `head` (`head` descends from it).
    pub fn base_is_ancestor(self) -> bool {
        matches!(self, Relation::Identical | Relation::Ahead)
    }

    /// Whether `head` equals or is an ancestor of `base` (`head` is older).
    pub fn head_is_ancestor(self) -> bool {
        matches!(self, Relation::Identical | Relation::Behind)
    }

    /// The relation with `base` and `head` swapped.
    pub fn reversed(self) -> Self {
        Self::of(self.head_is_ancestor(), self.base_is_ancestor())
    }
}

/// Whether a SHA is a commit of a pipeline's branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnBranch {
    Yes,
    /// Unknown, or not reachable from the branch (yet).
    No,
    /// The id of another kind of object (`tag`, `tree`, `blob`).
    NotACommit(String),
}

struct Entry {
    source: Source,
    /// Held while fetching.
    fetch_lock: tokio::sync::Mutex<FetchClock>,
    status: Mutex<FetchStatus>,
    recent: RecentCommits,
    /// The pipeline's migration paths, and the files matching them per commit pair.
    migration_globs: PathGlobs,
    migrations: PairCache<Arc<[String]>>,
    /// Where one commit stands relative to another, once known: ancestry between two
    /// commits never changes, whatever the branch does later.
    relations: PairCache<Relation>,
}

impl Entry {
    /// Where `head` stands relative to `base`, asked of git or GitHub.
    async fn relation(&self, base: &Sha, head: &Sha) -> Result<Option<Relation>, RepoError> {
        match &self.source {
            Source::Mirror(m) => {
                let forward = m.is_ancestor(base, head).await.map_err(git_error)?;
                let Some(forward) = forward else {
                    return Ok(None);
                };
                let backward = if forward && base == head {
                    true
                } else {
                    m.is_ancestor(head, base)
                        .await
                        .map_err(git_error)?
                        .unwrap_or(false)
                };
                Ok(Some(Relation::of(forward, backward)))
            }
            Source::GitHub(g) => Ok(g.compare(base, head).await?.map(|c| c.relation)),
        }
    }

    fn exists(&self) -> bool {
        match &self.source {
            Source::Mirror(m) => m.exists(),
            Source::GitHub(g) => g.exists(),
        }
    }
}

/// A pipeline's source: its mirror, or GitHub's API when it has nothing to clone.
fn source(config: &Config, p: &PipelineConfig, github: &Arc<GitHubClients>) -> Source {
    match (&p.repository, &p.github) {
        (RepoSource::GitHub(full_name), Some(repo)) => Source::GitHub(Box::new(GitHubRepo::new(
            github.clone(),
            repo.api_url.clone(),
            full_name,
            &p.branch,
        ))),
        _ => Source::Mirror(Mirror::new(&config.data_dir, p)),
    }
}

/// The paths that differ between `a` and `b` in either direction, from GitHub's
/// compares (which list the changes from the merge base to the head): one compare when
/// one descends from the other, both directions when they diverged.
async fn github_changed_paths(
    g: &GitHubRepo,
    a: &Sha,
    b: &Sha,
) -> Result<Option<Vec<String>>, RepoError> {
    let Some(forward) = g.compare(a, b).await? else {
        return Ok(None);
    };
    let mut files = match forward.relation {
        Relation::Identical => Vec::new(),
        Relation::Ahead => forward.files.clone(),
        Relation::Behind | Relation::Diverged => g
            .compare(b, a)
            .await?
            .map(|c| c.files.clone())
            .unwrap_or_default(),
    };
    if forward.relation == Relation::Diverged {
        files.extend(forward.files.iter().cloned());
        files.sort();
        files.dedup();
    }
    Ok(Some(files))
}

/// All repositories, keyed by pipeline.
pub struct Repos {
    entries: HashMap<PipelineId, Arc<Entry>>,
    /// A board view asks git only for SHAs it has not seen yet.
    commit_cache: CommitCache,
}

/// A refused or failed repository operation.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The pipeline is not in the config.
    #[error("no pipeline {0:?} in the configuration")]
    UnknownPipeline(String),
    /// git failed; the message is safe to show (no credentials).
    #[error("{0}")]
    Git(String),
    /// GitHub refused or failed (rate-limited until a time, say); safe to show.
    #[error("{0}")]
    GitHub(#[from] GitHubError),
}

fn git_error(e: anyhow::Error) -> RepoError {
    RepoError::Git(format!("{e:#}"))
}

impl Repos {
    /// One repository per configured pipeline: a mirror, or the GitHub API through
    /// `github` where the pipeline has no clone.
    pub fn new(config: &Config, github: &Arc<GitHubClients>) -> Self {
        let entries = config
            .pipelines
            .iter()
            .map(|p| {
                let entry = Entry {
                    source: source(config, p, github),
                    fetch_lock: tokio::sync::Mutex::new(FetchClock::new()),
                    status: Mutex::new(FetchStatus::default()),
                    recent: RecentCommits::default(),
                    migration_globs: p.migrations.clone(),
                    migrations: PairCache::new(),
                    relations: PairCache::new(),
                };
                (p.id.clone(), Arc::new(entry))
            })
            .collect();
        Self {
            entries,
            commit_cache: CommitCache::new(),
        }
    }

    /// The migration files (paths matching the pipeline's `migrations` globs, sorted)
    /// that differ between commits `a` and `b`, in either direction; computed once per
    /// pair. `None` while the mirror lacks one of them.
    pub async fn migrations_between(
        &self,
        id: &str,
        a: &Sha,
        b: &Sha,
    ) -> Result<Option<Arc<[String]>>, RepoError> {
        let entry = self.entry(id)?;
        if entry.migration_globs.is_empty() || a == b {
            return Ok(Some(Arc::from(Vec::new())));
        }
        if let Some(files) = entry.migrations.get(a, b) {
            return Ok(Some(files));
        }
        let Some(changed) = self.changed_files(id, a, b).await? else {
            return Ok(None);
        };
        let files: Vec<String> = changed
            .into_iter()
            .filter(|p| entry.migration_globs.matches(p))
            .collect();
        let files: Arc<[String]> = Arc::from(files);
        entry.migrations.put(a, b, files.clone());
        Ok(Some(files))
    }

    /// The files whose content differs between commits `a` and `b`, in either
    /// direction, sorted; `None` while the repository lacks one of them.
    pub async fn changed_files(
        &self,
        id: &str,
        a: &Sha,
        b: &Sha,
    ) -> Result<Option<Vec<String>>, RepoError> {
        let entry = self.entry(id)?;
        let changed = match &entry.source {
            Source::Mirror(m) => m.changed_paths(a, b).await.map_err(git_error)?,
            Source::GitHub(g) => github_changed_paths(g, a, b).await?,
        };
        Ok(changed.map(|mut files| {
            files.sort();
            files.dedup();
            files
        }))
    }

    /// Details of specific commits (cached; git is asked only for unknown SHAs).
    pub async fn commits(&self, id: &str, shas: &[Sha]) -> Result<Vec<Commit>, RepoError> {
        let entry = self.entry(id)?;
        let pipeline = self
            .entries
            .keys()
            .find(|k| k.as_str() == id)
            .cloned()
            .ok_or_else(|| RepoError::UnknownPipeline(id.to_owned()))?;
        let mut known = self.commit_cache.lookup(&pipeline, shas);
        let missing: Vec<Sha> = shas
            .iter()
            .zip(&known)
            .filter(|(_, k)| k.is_none())
            .map(|(s, _)| s.clone())
            .collect();
        if !missing.is_empty() {
            let found = match &entry.source {
                Source::Mirror(m) => m.commits(&missing).await.map_err(git_error)?,
                Source::GitHub(g) => g.commits(&missing).await?,
            };
            self.commit_cache.insert(&pipeline, &found);
            // Filled from what git answered, not re-read from the cache, which other
            // requests may have evicted it from meanwhile.
            for (sha, slot) in shas.iter().zip(known.iter_mut()) {
                if slot.is_none() {
                    *slot = found.iter().find(|c| &c.sha == sha).cloned();
                }
            }
        }
        Ok(known.into_iter().flatten().collect())
    }

    fn entry(&self, id: &str) -> Result<Arc<Entry>, RepoError> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_str() == id)
            .map(|(_, e)| e.clone())
            .ok_or_else(|| RepoError::UnknownPipeline(id.to_owned()))
    }

    /// Fetches a pipeline's repository now and records the outcome.
    pub async fn fetch(&self, id: &str) -> Result<(), RepoError> {
        let entry = self.entry(id)?;
        let mut clock = entry.fetch_lock.lock().await;
        clock.last_started = Some(Instant::now());
        self.fetch_locked(id, &entry).await
    }

    /// Fetches because a request named a SHA the mirror does not have (it may have been
    /// pushed since the last fetch). Rate-limited per pipeline, since whoever may ask can
    /// name random SHAs: callers that waited for a fetch begun after they arrived use
    /// that one, and beyond the budget ([`DEMAND_FETCH_BURST`]) nothing is fetched.
    /// Returns whether the mirror may have changed since the caller looked.
    pub async fn fetch_on_demand(&self, id: &str) -> Result<bool, RepoError> {
        let entry = self.entry(id)?;
        let arrived = Instant::now();
        let mut clock = entry.fetch_lock.lock().await;
        if clock.last_started.is_some_and(|t| t >= arrived) {
            return Ok(true);
        }
        let now = Instant::now();
        if !clock.take(now) {
            tracing::info!(pipeline = id, "demand fetch skipped: over the rate limit");
            return Ok(false);
        }
        clock.last_started = Some(now);
        self.fetch_locked(id, &entry).await.map(|()| true)
    }

    async fn fetch_locked(&self, id: &str, entry: &Entry) -> Result<(), RepoError> {
        let result = match &entry.source {
            Source::Mirror(m) => m.fetch().await.map_err(git_error),
            Source::GitHub(g) => g.fetch().await.map(|_| ()).map_err(RepoError::from),
        };
        let mut status = entry.status.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(()) => {
                status.fetched_at = Some(OffsetDateTime::now_utc());
                status.error = None;
                entry.recent.invalidate();
                Ok(())
            }
            Err(e) => {
                let msg = e.to_string();
                tracing::warn!(pipeline = id, error = %msg, "repository fetch failed");
                status.error = Some(msg);
                Err(e)
            }
        }
    }

    /// The branch's recent first-parent commits, fetching first if the mirror does not
    /// exist yet (the board of a freshly started server is never empty for lack of a
    /// background fetch).
    pub async fn recent_commits(&self, id: &str, limit: usize) -> Result<Vec<Commit>, RepoError> {
        let entry = self.entry(id)?;
        if !entry.exists() {
            self.fetch(id).await?;
        }
        if let Some(commits) = entry.recent.get(limit) {
            return Ok(commits);
        }
        let generation = entry.recent.generation();
        let commits = match &entry.source {
            Source::Mirror(m) => m.first_parent_log(limit).await.map_err(git_error)?,
            Source::GitHub(g) => g.first_parent_log(limit),
        };
        entry.recent.store(generation, limit, commits.clone());
        Ok(commits)
    }

    /// Whether the pipeline's repository has been read at least once.
    pub fn exists(&self, id: &str) -> bool {
        self.entry(id).is_ok_and(|e| e.exists())
    }

    /// The SHA the pipeline's branch points at, as last fetched.
    pub async fn branch_head(&self, id: &str) -> Option<String> {
        match &self.entry(id).ok()?.source {
            Source::Mirror(m) => m.branch_head().await,
            Source::GitHub(g) => g.branch_head().map(|s| s.to_string()),
        }
    }

    /// Whether `sha` is a commit of the pipeline's branch, as of the last fetch.
    pub async fn is_on_branch(&self, id: &str, sha: &Sha) -> Result<OnBranch, RepoError> {
        let entry = self.entry(id)?;
        match &entry.source {
            Source::Mirror(m) => {
                if !m.exists() {
                    return Ok(OnBranch::No);
                }
                if m.is_on_branch(sha).await.map_err(git_error)? {
                    return Ok(OnBranch::Yes);
                }
                Ok(match m.object_type(sha).await.ok().flatten() {
                    Some(kind) if kind != "commit" => OnBranch::NotACommit(kind),
                    _ => OnBranch::No,
                })
            }
            Source::GitHub(g) => Ok(if g.is_on_branch(sha).await? {
                OnBranch::Yes
            } else {
                OnBranch::No
            }),
        }
    }

    /// Where `head` stands relative to `base`; `None` when one of them is unknown (which
    /// says nothing about their history: it may be fetched later). Asked once per pair
    /// of commits: the answer is kept (an unknown commit's `None` is not).
    pub async fn relation(
        &self,
        id: &str,
        base: &Sha,
        head: &Sha,
    ) -> Result<Option<Relation>, RepoError> {
        let entry = self.entry(id)?;
        // The cache holds the relation of the pair in its stored order.
        let ordered = cache::in_order(base, head);
        let as_asked = |r: Relation| if ordered { r } else { r.reversed() };
        if let Some(known) = entry.relations.get(base, head) {
            return Ok(Some(as_asked(known)));
        }
        let found = entry.relation(base, head).await?;
        if let Some(r) = found {
            entry.relations.put(base, head, as_asked(r));
        }
        Ok(found)
    }

    /// Commits of `to`'s first-parent line that `from` lacks, newest first, at most
    /// `limit`: "what goes out" when `to` replaces `from`.
    pub async fn between(
        &self,
        id: &str,
        from: &Sha,
        to: &Sha,
        limit: usize,
    ) -> Result<Vec<Commit>, RepoError> {
        match &self.entry(id)?.source {
            Source::Mirror(m) => m.between(from, to, limit).await.map_err(git_error),
            Source::GitHub(g) => Ok(g
                .compare(from, to)
                .await?
                .map(|c| c.first_parent.iter().take(limit).cloned().collect())
                .unwrap_or_default()),
        }
    }

    /// Keeps a deployed SHA reachable in the mirror (GitHub keeps its own history).
    pub async fn pin(&self, id: &str, sha: &Sha) -> Result<(), RepoError> {
        match &self.entry(id)?.source {
            Source::Mirror(m) => m.pin(sha).await.map_err(git_error),
            Source::GitHub(_) => Ok(()),
        }
    }

    /// The last fetch's outcome.
    pub fn status(&self, id: &str) -> FetchStatus {
        self.entry(id)
            .map(|e| e.status.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
