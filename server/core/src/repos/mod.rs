//! Repositories: each pipeline's bare mirror ([`mirror`]), the one hardened way to run
//! git ([`git`]), and the caches that spare board views a git process ([`cache`]).
//!
//! [`Repos`] is the set of mirrors with their fetch status. Fetches of one mirror are
//! serialised (a refresh click during a background fetch waits for it instead of
//! racing it); different pipelines fetch independently.

mod cache;
pub mod git;
pub mod mirror;

pub use git::redact_userinfo;
pub use mirror::{Commit, Mirror};

use crate::config::Config;
use cache::{CommitCache, RecentCommits};
use slipway_model::{PipelineId, Sha};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// What the last fetch of a mirror did.
#[derive(Debug, Clone, Default)]
pub struct FetchStatus {
    /// When the last successful fetch finished.
    pub fetched_at: Option<OffsetDateTime>,
    /// The error of the last fetch, if it failed (credentials already removed).
    pub error: Option<String>,
}

struct Entry {
    mirror: Mirror,
    fetch_lock: tokio::sync::Mutex<()>,
    status: Mutex<FetchStatus>,
    recent: RecentCommits,
}

/// All mirrors, keyed by pipeline.
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
}

impl Repos {
    /// One mirror per configured pipeline.
    pub fn new(config: &Config) -> Self {
        let entries = config
            .pipelines
            .iter()
            .map(|p| {
                let entry = Entry {
                    mirror: Mirror::new(&config.data_dir, p),
                    fetch_lock: tokio::sync::Mutex::new(()),
                    status: Mutex::new(FetchStatus::default()),
                    recent: RecentCommits::default(),
                };
                (p.id.clone(), Arc::new(entry))
            })
            .collect();
        Self {
            entries,
            commit_cache: CommitCache::new(),
        }
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
            let found = entry
                .mirror
                .commits(&missing)
                .await
                .map_err(|e| RepoError::Git(format!("{e:#}")))?;
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
        let _guard = entry.fetch_lock.lock().await;
        let result = entry.mirror.fetch().await;
        let mut status = entry.status.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(()) => {
                status.fetched_at = Some(OffsetDateTime::now_utc());
                status.error = None;
                entry.recent.invalidate();
                Ok(())
            }
            Err(e) => {
                let msg = format!("{e:#}");
                tracing::warn!(pipeline = id, error = %msg, "repository fetch failed");
                status.error = Some(msg.clone());
                Err(RepoError::Git(msg))
            }
        }
    }

    /// The branch's recent first-parent commits, fetching first if the mirror does not
    /// exist yet (the board of a freshly started server is never empty for lack of a
    /// background fetch).
    pub async fn recent_commits(&self, id: &str, limit: usize) -> Result<Vec<Commit>, RepoError> {
        let entry = self.entry(id)?;
        if !entry.mirror.exists() {
            self.fetch(id).await?;
        }
        if let Some(commits) = entry.recent.get(limit) {
            return Ok(commits);
        }
        let generation = entry.recent.generation();
        let commits = entry
            .mirror
            .first_parent_log(limit)
            .await
            .map_err(|e| RepoError::Git(format!("{e:#}")))?;
        entry.recent.store(generation, limit, commits.clone());
        Ok(commits)
    }

    /// The mirror of a pipeline, for read-only git questions.
    pub fn mirror(&self, id: &str) -> Result<Mirror, RepoError> {
        Ok(self.entry(id)?.mirror.clone())
    }

    /// The last fetch's outcome.
    pub fn status(&self, id: &str) -> FetchStatus {
        self.entry(id)
            .map(|e| e.status.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .unwrap_or_default()
    }
}
