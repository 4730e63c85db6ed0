//! A pipeline's repository read through GitHub's API, without a clone.
//!
//! The branch's commits come from one conditional request (`GET /commits?sha=<branch>`
//! with the last answer's ETag): an unchanged branch answers `304`, which costs nothing
//! against the rate limit, so the reconcile can run often. Ancestry, "what goes out" and
//! the changed files of two commits come from one compare (`base...head`), kept per pair:
//! history never changes for two given SHAs, so each pair is asked once.

use super::client::{Fetched, GitHubClient, GitHubClients, GitHubError};
use crate::repos::{Commit, Relation};
use lru::LruCache;
use serde::Deserialize;
use slipway_model::Sha;
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// How many of the branch's commits one listing asks for (GitHub's page maximum).
const LISTED: usize = 100;
/// Comparisons kept per repository.
const COMPARISONS_KEPT: usize = 1024;

/// A commit as GitHub's commit endpoints answer it (only what Slipway reads).
#[derive(Deserialize)]
struct ApiCommit {
    sha: String,
    commit: ApiCommitDetail,
    #[serde(default)]
    parents: Vec<ApiParent>,
}

#[derive(Deserialize)]
struct ApiCommitDetail {
    message: String,
    author: Option<ApiPerson>,
    committer: Option<ApiPerson>,
}

#[derive(Deserialize)]
struct ApiPerson {
    name: Option<String>,
    date: Option<String>,
}

#[derive(Deserialize)]
struct ApiParent {
    sha: String,
}

#[derive(Deserialize)]
struct ApiFile {
    filename: String,
    previous_filename: Option<String>,
}

/// `GET /compare/{base}...{head}`.
#[derive(Deserialize)]
struct ApiComparison {
    status: String,
    #[serde(default)]
    commits: Vec<ApiCommit>,
    #[serde(default)]
    files: Option<Vec<ApiFile>>,
}

/// A commit with its parents, as parsed from GitHub's answer.
#[derive(Clone)]
struct Listed {
    commit: Commit,
    parents: Vec<Sha>,
}

impl ApiCommit {
    /// The commit, if GitHub's SHA is one (parsed here, at the edge).
    fn parse(self) -> Option<Listed> {
        let sha = Sha::parse(&self.sha).ok()?;
        let date = self
            .commit
            .committer
            .as_ref()
            .or(self.commit.author.as_ref())
            .and_then(|p| p.date.as_deref())
            .and_then(|d| OffsetDateTime::parse(d, &Rfc3339).ok())
            .map_or(0, OffsetDateTime::unix_timestamp);
        let author = self.commit.author.and_then(|a| a.name).unwrap_or_default();
        let parents: Vec<Sha> = self
            .parents
            .iter()
            .filter_map(|p| Sha::parse(&p.sha).ok())
            .collect();
        Some(Listed {
            commit: Commit {
                sha,
                subject: self.commit.message.lines().next().unwrap_or("").to_owned(),
                author,
                committed_at: date,
                is_merge: parents.len() > 1,
            },
            parents,
        })
    }
}

/// Every path a list of changed files names (a rename names both sides, as git's
/// `--no-renames` does), sorted.
fn paths(files: Option<Vec<ApiFile>>) -> Vec<String> {
    let mut out: Vec<String> = files
        .unwrap_or_default()
        .into_iter()
        .flat_map(|f| std::iter::once(f.filename).chain(f.previous_filename))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The first-parent chain from `head` through `commits`, newest first, as far as
/// `commits` reach.
fn first_parent_chain(head: &Sha, commits: &HashMap<Sha, Listed>, limit: usize) -> Vec<Commit> {
    let mut chain = Vec::new();
    let mut at = Some(head.clone());
    while let Some(sha) = at {
        if chain.len() >= limit {
            break;
        }
        let Some(listed) = commits.get(&sha) else {
            break;
        };
        chain.push(listed.commit.clone());
        at = listed.parents.first().cloned();
    }
    chain
}

/// What a compare of two commits said.
pub struct Comparison {
    /// Where `head` stands relative to `base`.
    pub relation: Relation,
    /// `base..head` on head's first-parent line, newest first (GitHub lists 250 at most).
    pub first_parent: Vec<Commit>,
    /// The files that differ between the merge base and `head`.
    pub files: Vec<String>,
}

/// The branch as last listed.
#[derive(Default)]
struct Listing {
    etag: Option<String>,
    head: Option<Sha>,
    commits: HashMap<Sha, Listed>,
}

/// One pipeline's repository on GitHub.
pub struct GitHubRepo {
    clients: Arc<GitHubClients>,
    api_url: Option<String>,
    route: String,
    branch: String,
    listing: Mutex<Listing>,
    comparisons: Mutex<LruCache<(Sha, Sha), Arc<Comparison>>>,
    /// SHAs GitHub did not know, by the head they were asked against: whoever may ask
    /// can name random SHAs, and until the branch moves the answer stays "no".
    unknown: Mutex<LruCache<(Sha, Sha), ()>>,
}

impl GitHubRepo {
    /// `owner/name`'s `branch`, asked through the client of `api_url` (a client that
    /// cannot be built, say for a token not set yet, is an error on the board until it
    /// can).
    pub fn new(
        clients: Arc<GitHubClients>,
        api_url: Option<String>,
        full_name: &str,
        branch: &str,
    ) -> Self {
        Self {
            clients,
            api_url,
            route: format!("/repos/{full_name}"),
            branch: branch.to_owned(),
            listing: Mutex::new(Listing::default()),
            comparisons: Mutex::new(LruCache::new(
                NonZeroUsize::new(COMPARISONS_KEPT).unwrap_or(NonZeroUsize::MIN),
            )),
            unknown: Mutex::new(LruCache::new(
                NonZeroUsize::new(COMPARISONS_KEPT).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }

    fn client(&self) -> Result<GitHubClient, GitHubError> {
        self.clients.client(self.api_url.as_deref())
    }

    fn listing(&self) -> std::sync::MutexGuard<'_, Listing> {
        self.listing.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the branch has been listed at least once.
    pub fn exists(&self) -> bool {
        self.listing().head.is_some()
    }

    /// The branch's head as last listed.
    pub fn branch_head(&self) -> Option<Sha> {
        self.listing().head.clone()
    }

    /// Lists the branch's newest commits, conditionally on the last answer's ETag.
    /// Returns whether the branch changed.
    pub async fn fetch(&self) -> Result<bool, GitHubError> {
        let etag = self.listing().etag.clone();
        let branch: String = url::form_urlencoded::byte_serialize(self.branch.as_bytes()).collect();
        let route = format!("{}/commits?sha={branch}&per_page={LISTED}", self.route);
        let answer = self
            .client()?
            .get_if_changed::<Vec<ApiCommit>>(&route, etag.as_deref())
            .await;
        let (value, etag) = match answer {
            Ok(Fetched::Unchanged) => return Ok(false),
            Ok(Fetched::Changed { value, etag }) => (value, etag),
            Err(GitHubError::NotFound) => {
                return Err(GitHubError::Failed(format!(
                    "GitHub has no branch {:?} in {} (or the credentials may not read it)",
                    self.branch,
                    self.route.trim_start_matches("/repos/")
                )))
            }
            Err(e) => return Err(e),
        };
        let listed: Vec<Listed> = value.into_iter().filter_map(ApiCommit::parse).collect();
        let head = listed.first().map(|l| l.commit.sha.clone());
        let mut listing = self.listing();
        let changed = listing.head != head;
        *listing = Listing {
            etag,
            head,
            commits: listed
                .into_iter()
                .map(|l| (l.commit.sha.clone(), l))
                .collect(),
        };
        Ok(changed)
    }

    /// The newest `limit` commits of the branch's first-parent line.
    pub fn first_parent_log(&self, limit: usize) -> Vec<Commit> {
        let listing = self.listing();
        match &listing.head {
            Some(head) => first_parent_chain(head, &listing.commits, limit),
            None => Vec::new(),
        }
    }

    /// Details of commits: from the listing, else one `GET /commits/{sha}` each
    /// (callers cache them). Unknown SHAs are left out.
    pub async fn commits(&self, shas: &[Sha]) -> Result<Vec<Commit>, GitHubError> {
        let mut out = Vec::with_capacity(shas.len());
        for sha in shas {
            let known = self.listing().commits.get(sha).map(|l| l.commit.clone());
            match known {
                Some(c) => out.push(c),
                None => match self.commit(sha).await {
                    Ok(Some(listed)) => out.push(listed.commit),
                    Ok(None) => {}
                    Err(e) => return Err(e),
                },
            }
        }
        Ok(out)
    }

    async fn commit(&self, sha: &Sha) -> Result<Option<Listed>, GitHubError> {
        let route = format!("{}/commits/{sha}", self.route);
        match self.client()?.get::<ApiCommit>(&route).await {
            Ok(c) => Ok(c.parse().filter(|l| &l.commit.sha == sha)),
            Err(GitHubError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `base...head`, asked once per pair; `None` when GitHub knows neither.
    pub async fn compare(
        &self,
        base: &Sha,
        head: &Sha,
    ) -> Result<Option<Arc<Comparison>>, GitHubError> {
        let key = (base.clone(), head.clone());
        if let Some(c) = self.cached(&key) {
            return Ok(Some(c));
        }
        let route = format!("{}/compare/{base}...{head}?per_page=250", self.route);
        let answer = match self.client()?.get::<ApiComparison>(&route).await {
            Ok(a) => a,
            Err(GitHubError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        let relation = match answer.status.as_str() {
            "identical" => Relation::Identical,
            "ahead" => Relation::Ahead,
            "behind" => Relation::Behind,
            "diverged" => Relation::Diverged,
            other => {
                return Err(GitHubError::Failed(format!(
                    "GitHub compared {base}...{head} as {other:?}, which Slipway does not know"
                )))
            }
        };
        let commits: HashMap<Sha, Listed> = answer
            .commits
            .into_iter()
            .filter_map(ApiCommit::parse)
            .map(|l| (l.commit.sha.clone(), l))
            .collect();
        let comparison = Arc::new(Comparison {
            relation,
            first_parent: first_parent_chain(head, &commits, usize::MAX),
            files: paths(answer.files),
        });
        self.comparisons
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .put(key, comparison.clone());
        Ok(Some(comparison))
    }

    fn cached(&self, key: &(Sha, Sha)) -> Option<Arc<Comparison>> {
        self.comparisons
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    /// Whether `sha` is a commit of the branch: listed, or behind (or at) its head.
    pub async fn is_on_branch(&self, sha: &Sha) -> Result<bool, GitHubError> {
        let head = {
            let listing = self.listing();
            if listing.commits.contains_key(sha) {
                return Ok(true);
            }
            listing.head.clone()
        };
        let Some(head) = head else {
            return Ok(false);
        };
        let key = (sha.clone(), head.clone());
        let unknown = || self.unknown.lock().unwrap_or_else(|p| p.into_inner());
        if unknown().get(&key).is_some() {
            return Ok(false);
        }
        match self.compare(sha, &head).await? {
            // On the branch: the branch's head descends from it.
            Some(c) => Ok(c.relation.base_is_ancestor()),
            None => {
                unknown().put(key, ());
                Ok(false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(n: u8) -> Sha {
        Sha::parse(&format!("{n:02x}").repeat(20)).expect("a SHA")
    }

    fn listed(n: u8, parents: &[u8]) -> (Sha, Listed) {
        (
            sha(n),
            Listed {
                commit: Commit {
                    sha: sha(n),
                    subject: format!("commit {n}"),
                    author: "a".into(),
                    committed_at: i64::from(n),
                    is_merge: parents.len() > 1,
                },
                parents: parents.iter().map(|p| sha(*p)).collect(),
            },
        )
    }

    #[test]
    fn the_board_follows_first_parents_and_skips_the_merged_branchs_commits() {
        // 4 merges 3 (a side commit off 1) into 2; 2 follows 1.
        let commits: HashMap<Sha, Listed> = [
            listed(4, &[2, 3]),
            listed(3, &[1]),
            listed(2, &[1]),
            listed(1, &[]),
        ]
        .into_iter()
        .collect();
        let chain: Vec<Sha> = first_parent_chain(&sha(4), &commits, 10)
            .into_iter()
            .map(|c| c.sha)
            .collect();
        assert_eq!(chain, vec![sha(4), sha(2), sha(1)]);
        assert_eq!(first_parent_chain(&sha(4), &commits, 2).len(), 2);
    }

    #[test]
    fn githubs_commit_json_becomes_a_card_with_its_subject_author_and_date() {
        let json = r#"{"sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e",
            "commit":{"message":"Fix all the bugs\n\nLong body","author":{"name":"Monalisa Octocat","date":"2011-04-14T16:00:49Z"},
            "committer":{"name":"Monalisa Octocat","date":"2011-04-14T16:00:49Z"}},
            "parents":[{"sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e"}]}"#;
        let c: ApiCommit = serde_json::from_str(json).expect("parses");
        let l = c.parse().expect("a SHA");
        assert_eq!(l.commit.subject, "Fix all the bugs");
        assert_eq!(l.commit.author, "Monalisa Octocat");
        assert_eq!(l.commit.committed_at, 1_302_796_849);
        assert!(!l.commit.is_merge);
        let bad: ApiCommit = serde_json::from_str(
            r#"{"sha":"main; rm -rf /","commit":{"message":"x","author":null,"committer":null}}"#,
        )
        .expect("parses");
        assert!(bad.parse().is_none(), "a SHA is parsed at the edge");
    }

    #[test]
    fn a_rename_names_both_paths() {
        let files = vec![
            ApiFile {
                filename: "db/2.sql".into(),
                previous_filename: Some("db/1.sql".into()),
            },
            ApiFile {
                filename: "README.md".into(),
                previous_filename: None,
            },
        ];
        assert_eq!(
            paths(Some(files)),
            vec!["README.md", "db/1.sql", "db/2.sql"]
        );
    }
}
