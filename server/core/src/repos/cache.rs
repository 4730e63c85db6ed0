//! What the board reads over and over, kept between fetches so a board view needs no
//! git process: commit details by SHA (a commit never changes) and each branch's
//! recent history (the mirror changes only when Slipway fetches).

use super::mirror::Commit;
use lru::LruCache;
use slipway_model::{PipelineId, Sha};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// How many commits the details cache holds; the least recently read go first.
/// A commit is a few hundred bytes, so this is some 10 MB at most.
const COMMIT_CACHE_CAPACITY: NonZeroUsize = match NonZeroUsize::new(50_000) {
    Some(n) => n,
    None => NonZeroUsize::MIN,
};

/// Commit details by pipeline and SHA, least recently used evicted first.
pub(super) struct CommitCache(Mutex<LruCache<(PipelineId, Sha), Commit>>);

impl CommitCache {
    pub(super) fn new() -> Self {
        Self(Mutex::new(LruCache::new(COMMIT_CACHE_CAPACITY)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<(PipelineId, Sha), Commit>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Each of `shas` in order: its details if the cache knows them.
    pub(super) fn lookup(&self, pipeline: &PipelineId, shas: &[Sha]) -> Vec<Option<Commit>> {
        let mut cache = self.lock();
        shas.iter()
            .map(|s| cache.get(&(pipeline.clone(), s.clone())).cloned())
            .collect()
    }

    pub(super) fn insert(&self, pipeline: &PipelineId, commits: &[Commit]) {
        let mut cache = self.lock();
        for c in commits {
            cache.put((pipeline.clone(), c.sha.clone()), c.clone());
        }
    }
}

/// How many commit pairs the migrations cache holds per pipeline.
const PAIR_CACHE_CAPACITY: NonZeroUsize = match NonZeroUsize::new(10_000) {
    Some(n) => n,
    None => NonZeroUsize::MIN,
};

/// The migration files between two commits, by the (unordered) pair: the trees of two
/// commits never change, so a pair is computed once (per process: the globs may change
/// with the config).
pub(super) struct PairCache(Mutex<LruCache<Pair, Arc<[String]>>>);

/// Two commits, the smaller SHA first.
type Pair = (Sha, Sha);

impl PairCache {
    pub(super) fn new() -> Self {
        Self(Mutex::new(LruCache::new(PAIR_CACHE_CAPACITY)))
    }

    fn key(a: &Sha, b: &Sha) -> Pair {
        if a <= b {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        }
    }

    pub(super) fn get(&self, a: &Sha, b: &Sha) -> Option<Arc<[String]>> {
        let mut cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(&Self::key(a, b)).cloned()
    }

    pub(super) fn put(&self, a: &Sha, b: &Sha, files: Arc<[String]>) {
        let mut cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        cache.put(Self::key(a, b), files);
    }
}

/// One branch's recent first-parent commits as of the last fetch.
#[derive(Default)]
pub(super) struct RecentCommits {
    /// The list and the limit it was read with.
    cached: Mutex<Option<(usize, Vec<Commit>)>>,
    /// Bumped by every successful fetch, so a log read that raced a fetch is not cached.
    generation: AtomicU64,
}

impl RecentCommits {
    /// The cached list, if it was read with the same `limit`.
    pub(super) fn get(&self, limit: usize) -> Option<Vec<Commit>> {
        match &*self.cached.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((cached_limit, commits)) if *cached_limit == limit => Some(commits.clone()),
            _ => None,
        }
    }

    /// The generation to hand back to [`store`](Self::store) after reading the log.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Keeps `commits`, unless a fetch finished since `generation` was read.
    pub(super) fn store(&self, generation: u64, limit: usize, commits: Vec<Commit>) {
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::SeqCst) == generation {
            *cached = Some((limit, commits));
        }
    }

    /// Forgets the list: the mirror was just fetched.
    pub(super) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(c: char) -> Commit {
        Commit {
            sha: Sha::parse(&c.to_string().repeat(40)).unwrap(),
            subject: format!("commit {c}"),
            author: "Ada".into(),
            committed_at: 0,
            is_merge: false,
        }
    }

    #[test]
    fn known_commits_are_served_in_the_order_asked() {
        let cache = CommitCache::new();
        let web = PipelineId::parse("web").unwrap();
        let (a, b) = (commit('a'), commit('b'));
        cache.insert(&web, std::slice::from_ref(&a));
        let asked = [b.sha.clone(), a.sha.clone()];
        assert_eq!(cache.lookup(&web, &asked), vec![None, Some(a.clone())]);
        cache.insert(&web, std::slice::from_ref(&b));
        assert_eq!(cache.lookup(&web, &asked), vec![Some(b), Some(a)]);
        let api = PipelineId::parse("api").unwrap();
        assert_eq!(cache.lookup(&api, &asked), vec![None, None], "per pipeline");
    }

    #[test]
    fn a_pair_is_the_same_pair_in_either_order() {
        let cache = PairCache::new();
        let (a, b) = (commit('a').sha, commit('b').sha);
        cache.put(&b, &a, Arc::from(vec!["migrations/1.sql".to_owned()]));
        assert_eq!(cache.get(&a, &b).map(|f| f.len()), Some(1));
        assert!(cache.get(&a, &a).is_none());
    }

    #[test]
    fn a_recent_list_read_during_a_fetch_is_not_kept() {
        let recent = RecentCommits::default();
        let before = recent.generation();
        recent.invalidate();
        recent.store(before, 10, vec![commit('a')]);
        assert!(recent.get(10).is_none());
        recent.store(recent.generation(), 10, vec![commit('a')]);
        assert_eq!(recent.get(10).map(|c| c.len()), Some(1));
        assert!(recent.get(20).is_none(), "another limit is another list");
    }
}
