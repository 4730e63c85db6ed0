//! What the board reads over and over, kept between fetches so a board view needs no
//! git process: commit details by SHA and facts about pairs of commits (a commit never
//! changes) and each branch's recent history (the mirror changes only when Slipway
//! fetches).

use super::mirror::Commit;
use lru::LruCache;
use slipway_model::{PipelineId, Sha};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

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

/// How many commit pairs a pair cache holds per pipeline.
const PAIR_CACHE_CAPACITY: NonZeroUsize = match NonZeroUsize::new(10_000) {
    Some(n) => n,
    None => NonZeroUsize::MIN,
};

/// A fact about two commits that never changes once known (commits are immutable), by
/// the unordered pair: the migration files between their trees, where one stands
/// relative to the other. Computed once per process (the migration globs may change
/// with the config); least recently used pairs go first.
pub(super) struct PairCache<V>(Mutex<LruCache<Pair, V>>);

/// Two commits, the smaller SHA first.
type Pair = (Sha, Sha);

/// Whether `a` and `b` are kept in that order (else the fact was stored for `(b, a)`).
pub(super) fn in_order(a: &Sha, b: &Sha) -> bool {
    a <= b
}

impl<V: Clone> PairCache<V> {
    pub(super) fn new() -> Self {
        Self(Mutex::new(LruCache::new(PAIR_CACHE_CAPACITY)))
    }

    fn key(a: &Sha, b: &Sha) -> Pair {
        if in_order(a, b) {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        }
    }

    pub(super) fn get(&self, a: &Sha, b: &Sha) -> Option<V> {
        let mut cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(&Self::key(a, b)).cloned()
    }

    pub(super) fn put(&self, a: &Sha, b: &Sha, value: V) {
        let mut cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        cache.put(Self::key(a, b), value);
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
    use std::sync::Arc;

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
        let cache = PairCache::<Arc<[String]>>::new();
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
