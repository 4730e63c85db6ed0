//! The set of pipeline mirrors with their fetch status. Fetches of one mirror are
//! serialised (a refresh click during a background fetch waits for it instead of
//! racing it); different pipelines fetch independently.

use crate::config::Config;
use crate::git::{Commit, Mirror};
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
    /// The branch's recent commits as of the last fetch: the mirror changes only when
    /// Slipway fetches, so board views need no git process in between.
    recent: Mutex<Option<(usize, Vec<Commit>)>>,
    /// Bumped by every successful fetch, so a log read that raced a fetch is not cached.
    generation: std::sync::atomic::AtomicU64,
}

/// All mirrors, keyed by pipeline.
pub struct Repos {
    entries: HashMap<PipelineId, Arc<Entry>>,
    /// Commit details by SHA: a commit never changes, so a board view asks git only
    /// for SHAs it has not seen yet.
    commit_cache: Mutex<HashMap<(PipelineId, Sha), Commit>>,
}

/// How many commits the cache keeps before it starts over.
const COMMIT_CACHE_MAX: usize = 50_000;

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
                    recent: Mutex::new(None),
                    generation: std::sync::atomic::AtomicU64::new(0),
                };
                (p.id.clone(), Arc::new(entry))
            })
            .collect();
        Self {
            entries,
            commit_cache: Mutex::new(HashMap::new()),
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
        let missing: Vec<Sha> = {
            let cache = self.commit_cache.lock().unwrap_or_else(|p| p.into_inner());
            shas.iter()
                .filter(|s| !cache.contains_key(&(pipeline.clone(), (*s).clone())))
                .cloned()
                .collect()
        };
        if !missing.is_empty() {
            let found = entry
                .mirror
                .commits(&missing)
                .await
                .map_err(|e| RepoError::Git(format!("{e:#}")))?;
            let mut cache = self.commit_cache.lock().unwrap_or_else(|p| p.into_inner());
            if cache.len() + found.len() > COMMIT_CACHE_MAX {
                cache.clear();
            }
            for c in found {
                cache.insert((pipeline.clone(), c.sha.clone()), c);
            }
        }
        let cache = self.commit_cache.lock().unwrap_or_else(|p| p.into_inner());
        Ok(shas
            .iter()
            .filter_map(|s| cache.get(&(pipeline.clone(), s.clone())).cloned())
            .collect())
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
                entry
                    .generation
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                *entry.recent.lock().unwrap_or_else(|p| p.into_inner()) = None;
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
        if let Some((cached_limit, commits)) =
            &*entry.recent.lock().unwrap_or_else(|p| p.into_inner())
        {
            if *cached_limit == limit {
                return Ok(commits.clone());
            }
        }
        let generation = entry.generation.load(std::sync::atomic::Ordering::SeqCst);
        let commits = entry
            .mirror
            .first_parent_log(limit)
            .await
            .map_err(|e| RepoError::Git(format!("{e:#}")))?;
        let mut recent = entry.recent.lock().unwrap_or_else(|p| p.into_inner());
        if entry.generation.load(std::sync::atomic::Ordering::SeqCst) == generation {
            *recent = Some((limit, commits.clone()));
        }
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
