//! A pipeline's bare mirror of its repository.
//!
//! Each pipeline's repository is mirrored into `<data_dir>/mirrors/<pipeline>.git`.
//! Fetches copy `refs/heads/*` and `refs/tags/*` only, so refs that Slipway writes
//! itself elsewhere (to pin deployed SHAs) are never pruned. Every git question the
//! board and the engine ask (log, ancestry, pin) goes through [`Git`], hardened.

use super::git::{redact_userinfo, Git};
use crate::config::{PipelineConfig, RepoSource};
use anyhow::{bail, Context as _};
use slipway_model::Sha;
use std::path::{Path, PathBuf};

/// `git log` format: SHA, parents, author, commit time, subject; fields end with
/// U+001F and records with U+001E, which git never prints inside these fields.
const LOG_FORMAT: &str = "--format=%H%x1f%P%x1f%an%x1f%ct%x1f%s%x1e";

/// A commit as the board shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Full SHA.
    pub sha: Sha,
    /// First line of the message.
    pub subject: String,
    /// Author name.
    pub author: String,
    /// Commit time, unix seconds.
    pub committed_at: i64,
    /// Whether it is a merge commit.
    pub is_merge: bool,
}

/// A pipeline's bare mirror.
#[derive(Debug, Clone)]
pub struct Mirror {
    dir: PathBuf,
    source: RepoSource,
    branch: String,
}

impl Mirror {
    /// The mirror for `pipeline` under `data_dir`.
    pub fn new(data_dir: &Path, pipeline: &PipelineConfig) -> Self {
        Self {
            dir: data_dir
                .join("mirrors")
                .join(format!("{}.git", pipeline.id)),
            source: pipeline.repository.clone(),
            branch: pipeline.branch.clone(),
        }
    }

    /// The bare repository's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the mirror has been created.
    pub fn exists(&self) -> bool {
        self.dir.join("HEAD").exists()
    }

    /// Creates the mirror if needed and fetches the source's branches and tags.
    ///
    /// A new mirror is built beside its final place and renamed into it once its first
    /// fetch is complete, so [`exists`](Self::exists) never sees a half-made mirror (a
    /// board read meanwhile would find no commits), nor one a crash left behind.
    pub async fn fetch(&self) -> anyhow::Result<()> {
        if self.exists() {
            return self.fetch_into(&self.dir).await;
        }
        let staging = self.dir.with_extension("partial");
        if tokio::fs::try_exists(&staging).await.unwrap_or(false) {
            tokio::fs::remove_dir_all(&staging)
                .await
                .with_context(|| format!("failed to remove {}", staging.display()))?;
        }
        tokio::fs::create_dir_all(&staging)
            .await
            .with_context(|| format!("failed to create {}", staging.display()))?;
        Git::new(&staging)
            .args(["init", "--quiet", "--bare"])
            .output()
            .await?;
        self.fetch_into(&staging).await?;
        tokio::fs::rename(&staging, &self.dir)
            .await
            .with_context(|| format!("failed to move the new mirror to {}", self.dir.display()))
    }

    async fn fetch_into(&self, dir: &Path) -> anyhow::Result<()> {
        let (url, credentials) = match &self.source {
            RepoSource::Local(p) => (p.display().to_string(), None),
            RepoSource::Remote(u) => split_credentials(u),
            // Such pipelines read the API (`Repos` never makes a mirror of them).
            RepoSource::GitHub(name) => bail!("{name} is read through the GitHub API, not cloned"),
        };
        // Keep the remote URL in sync with the config (it may have changed). Never with
        // credentials: the mirror's config is a file anyone who can read the data
        // directory reads, and git's command line is visible to every user in `ps`.
        Git::new(dir)
            .args(["config", "remote.origin.url", &url])
            .output()
            .await?;
        // A commit-graph (generation numbers) lets an ancestry question stop early where
        // commit dates cannot tell git when to (merges, skewed clocks); on a linear
        // history git stops early either way (BENCHMARKS.md, "Ancestry").
        let mut fetch = Git::new(dir).config("fetch.writeCommitGraph", "true");
        if let Some((user, password)) = &credentials {
            // Handed to git by a credential helper that reads them from the fetch's
            // own environment (readable only by this user), and only for this fetch.
            fetch = fetch
                .config("credential.helper", "")
                .config("credential.helper", CREDENTIAL_HELPER)
                .env("SLIPWAY_GIT_USERNAME", user)
                .env("SLIPWAY_GIT_PASSWORD", password);
        }
        fetch
            .args([
                "fetch",
                "--quiet",
                "--prune",
                "--no-write-fetch-head",
                "origin",
                "+refs/heads/*:refs/heads/*",
                "+refs/tags/*:refs/tags/*",
            ])
            .output()
            .await
            .map_err(|e| anyhow::anyhow!(redact_userinfo(&format!("{e:#}"))))
            .context("failed to fetch the repository")?;
        Ok(())
    }

    /// The SHA the pipeline's branch points at, if the mirror has it.
    pub async fn branch_head(&self) -> Option<String> {
        let rev = format!("refs/heads/{}^{{commit}}", self.branch);
        Git::new(&self.dir)
            .args(["rev-parse", "--verify", "--quiet"])
            .revisions([rev])
            .output()
            .await
            .ok()
            .map(|s| s.trim().to_owned())
    }

    /// The newest `limit` first-parent commits of the pipeline's branch, newest first.
    pub async fn first_parent_log(&self, limit: usize) -> anyhow::Result<Vec<Commit>> {
        let branch_ref = format!("refs/heads/{}", self.branch);
        let verify = Git::new(&self.dir)
            .args(["rev-parse", "--verify", "--quiet"])
            .revisions([format!("{branch_ref}^{{commit}}")])
            .output()
            .await;
        if verify.is_err() {
            bail!("branch {:?} does not exist in the repository", self.branch);
        }
        let out = Git::new(&self.dir)
            .args([
                "log",
                "--first-parent",
                &format!("--max-count={limit}"),
                LOG_FORMAT,
            ])
            .revisions([&branch_ref])
            .output()
            .await?;
        parse_log(&out)
    }
}

impl Mirror {
    /// Whether `sha` is a commit of the pipeline's branch (first-parent history or
    /// reachable from it). Objects the mirror lacks are "not on the branch" (yet), and so
    /// is anything that is not a commit: git would peel an annotated tag's id to the
    /// commit it points at, and the deployer would be handed the tag's id as a SHA.
    pub async fn is_on_branch(&self, sha: &Sha) -> anyhow::Result<bool> {
        if self.object_type(sha).await?.as_deref() != Some("commit") {
            return Ok(false);
        }
        let branch_ref = format!("refs/heads/{}", self.branch);
        Ok(self
            .is_ancestor_ref(sha.as_str(), &branch_ref)
            .await?
            .unwrap_or(false))
    }

    /// The type of the object `sha` names (`commit`, `tag`, `tree`, `blob`), or `None`
    /// if the mirror does not have it.
    pub async fn object_type(&self, sha: &Sha) -> anyhow::Result<Option<String>> {
        let code = Git::new(&self.dir)
            .args(["cat-file", "-e"])
            .revisions([sha.as_str()])
            .exit_code()
            .await?;
        if code != 0 {
            return Ok(None);
        }
        let kind = Git::new(&self.dir)
            .args(["cat-file", "-t"])
            .revisions([sha.as_str()])
            .output()
            .await?;
        Ok(Some(kind.trim().to_owned()))
    }

    /// Whether `ancestor` equals or is an ancestor of `descendant`; `None` when the mirror
    /// lacks one of them, which says nothing about their history (it may be fetched
    /// later), so callers must not remember it as "no".
    pub async fn is_ancestor(
        &self,
        ancestor: &Sha,
        descendant: &Sha,
    ) -> anyhow::Result<Option<bool>> {
        self.is_ancestor_ref(ancestor.as_str(), descendant.as_str())
            .await
    }

    async fn is_ancestor_ref(
        &self,
        ancestor: &str,
        descendant: &str,
    ) -> anyhow::Result<Option<bool>> {
        let code = Git::new(&self.dir)
            .args(["merge-base", "--is-ancestor"])
            .revisions([ancestor, descendant])
            .exit_code()
            .await?;
        match code {
            0 => Ok(Some(true)),
            1 => Ok(Some(false)),
            // An object is unknown to the mirror.
            128 => Ok(None),
            other => bail!("git merge-base --is-ancestor exited with {other}"),
        }
    }

    /// Keeps `sha` reachable forever (`refs/slipway/deployed/<sha>`), so a force-push and
    /// garbage collection can never make deployed history or rollback targets disappear.
    pub async fn pin(&self, sha: &Sha) -> anyhow::Result<()> {
        let name = format!("refs/slipway/deployed/{sha}");
        Git::new(&self.dir)
            .arg("update-ref")
            .revisions([name.as_str(), sha.as_str()])
            .output()
            .await
            .map(|_| ())
    }

    /// Commit details for specific SHAs (cards whose commit is older than the recent list).
    pub async fn commits(&self, shas: &[Sha]) -> anyhow::Result<Vec<Commit>> {
        if shas.is_empty() {
            return Ok(Vec::new());
        }
        let out = Git::new(&self.dir)
            .args(["log", "--no-walk=unsorted", LOG_FORMAT])
            .revisions(shas.iter().map(Sha::as_str))
            .output()
            .await?;
        parse_log(&out)
    }

    /// The paths whose content differs between the trees of `a` and `b` (symmetric; a
    /// rename counts as a deletion and an addition, so both names are listed); `None`
    /// when the mirror lacks one of them.
    pub async fn changed_paths(&self, a: &Sha, b: &Sha) -> anyhow::Result<Option<Vec<String>>> {
        let result = Git::new(&self.dir)
            // -z: paths verbatim, NUL-separated (no quoting of unusual names).
            .args(["diff", "--name-only", "--no-renames", "--no-ext-diff", "-z"])
            .revisions([a.as_str(), b.as_str()])
            .output()
            .await;
        match result {
            Ok(out) => Ok(Some(
                out.split('\0')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect(),
            )),
            Err(e) => {
                if self.object_type(a).await?.is_none() || self.object_type(b).await?.is_none() {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Commits reachable from `to` but not from `from` (first-parent), newest first:
    /// "what goes out" when `to` replaces `from`.
    pub async fn between(&self, from: &Sha, to: &Sha, limit: usize) -> anyhow::Result<Vec<Commit>> {
        let range = format!("{from}..{to}");
        let out = Git::new(&self.dir)
            .args([
                "log",
                "--first-parent",
                &format!("--max-count={limit}"),
                LOG_FORMAT,
            ])
            .revisions([&range])
            .output()
            .await?;
        parse_log(&out)
    }
}

fn parse_log(out: &str) -> anyhow::Result<Vec<Commit>> {
    out.split('\x1e')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|record| {
            let f: Vec<&str> = record.split('\x1f').collect();
            let [sha, parents, author, time, subject] = f[..] else {
                bail!("unexpected git log record {record:?}");
            };
            Ok(Commit {
                sha: Sha::parse(sha).context("git printed an invalid SHA")?,
                is_merge: parents.split_whitespace().count() > 1,
                author: author.to_owned(),
                committed_at: time.parse().context("git printed an invalid time")?,
                subject: subject.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_new_mirror_appears_only_complete_and_a_crashed_attempt_is_redone() {
        let tmp = tempfile::tempdir().unwrap();
        let source = tmp.path().join("source");
        std::fs::create_dir(&source).unwrap();
        Git::new(&source)
            .args(["init", "--quiet", "--initial-branch=main"])
            .output()
            .await
            .unwrap();
        Git::new(&source)
            .args([
                "-c",
                "user.name=T",
                "-c",
                "user.email=t@example.com",
                "commit",
                "--quiet",
                "--allow-empty",
                "-m",
                "First",
            ])
            .output()
            .await
            .unwrap();
        let mirror = Mirror {
            dir: tmp.path().join("mirrors").join("web.git"),
            source: RepoSource::Local(source),
            branch: "main".into(),
        };
        // A previous process died half-way through creating the mirror.
        let partial = tmp.path().join("mirrors").join("web.partial");
        std::fs::create_dir_all(&partial).unwrap();
        std::fs::write(partial.join("HEAD"), "garbage").unwrap();
        assert!(!mirror.exists());

        mirror.fetch().await.unwrap();
        assert!(mirror.exists());
        assert!(!partial.exists(), "the staging copy became the mirror");
        let log = mirror.first_parent_log(10).await.unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].subject, "First");
        // Later fetches update it in place.
        mirror.fetch().await.unwrap();
        assert_eq!(mirror.first_parent_log(10).await.unwrap().len(), 1);
        // Pinning and ancestry questions pass their revisions after --end-of-options.
        let head = log[0].sha.clone();
        mirror.pin(&head).await.unwrap();
        assert!(mirror.is_on_branch(&head).await.unwrap());
        assert_eq!(mirror.is_ancestor(&head, &head).await.unwrap(), Some(true));
        assert_eq!(mirror.branch_head().await.as_deref(), Some(head.as_str()));
    }

    #[tokio::test]
    async fn only_commits_are_on_the_branch_and_unknown_objects_have_unknown_ancestry() {
        let tmp = tempfile::tempdir().unwrap();
        let source = tmp.path().join("source");
        std::fs::create_dir(&source).unwrap();
        let git = |args: &[&str]| {
            let mut all = vec!["-c", "user.name=T", "-c", "user.email=t@example.com"];
            all.extend_from_slice(args);
            Git::new(&source).args(all).output()
        };
        git(&["init", "--quiet", "--initial-branch=main"])
            .await
            .unwrap();
        git(&["commit", "--quiet", "--allow-empty", "-m", "First"])
            .await
            .unwrap();
        git(&["tag", "-a", "v1", "-m", "Release 1"]).await.unwrap();
        let mirror = Mirror {
            dir: tmp.path().join("mirrors").join("web.git"),
            source: RepoSource::Local(source.clone()),
            branch: "main".into(),
        };
        mirror.fetch().await.unwrap();
        let tag = Sha::parse(git(&["rev-parse", "v1"]).await.unwrap().trim()).unwrap();
        let commit = Sha::parse(git(&["rev-parse", "v1^{commit}"]).await.unwrap().trim()).unwrap();
        assert_ne!(tag, commit);
        assert_eq!(
            mirror.object_type(&tag).await.unwrap().as_deref(),
            Some("tag")
        );
        assert!(mirror.is_on_branch(&commit).await.unwrap());
        assert!(
            !mirror.is_on_branch(&tag).await.unwrap(),
            "an annotated tag's id is not a commit on the branch, though git peels it to one"
        );

        let stranger = Sha::parse(&"0123456789abcdef".repeat(3)[..40]).unwrap();
        assert_eq!(mirror.object_type(&stranger).await.unwrap(), None);
        assert!(!mirror.is_on_branch(&stranger).await.unwrap());
        assert_eq!(
            mirror.is_ancestor(&commit, &stranger).await.unwrap(),
            None,
            "not in the mirror: unknown, not \"not an ancestor\""
        );
    }

    #[test]
    fn log_records_parse_and_merges_are_detected() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let c = "c".repeat(40);
        let out = format!("{a}\x1f{b} {c}\x1fAda\x1f1700000000\x1fMerge x\x1e\n{b}\x1f{c}\x1fGrace\x1f1690000000\x1fFix: a\x1fb\x1e\n");
        // A unit separator inside a subject cannot happen (git strips control chars from %s),
        // so a record with six fields is reported rather than guessed at.
        assert!(parse_log(&out).is_err());
        let out = format!("{a}\x1f{b} {c}\x1fAda\x1f1700000000\x1fMerge x\x1e\n{b}\x1f{c}\x1fGrace\x1f1690000000\x1fFix it\x1e\n");
        let log = parse_log(&out).unwrap();
        assert_eq!(log.len(), 2);
        assert!(log[0].is_merge && !log[1].is_merge);
        assert_eq!(log[1].subject, "Fix it");
    }
}

/// A credential helper (git runs it with `get`, `store` or `erase`) that answers `get`
/// with the user name and password in its environment.
const CREDENTIAL_HELPER: &str = r#"!f() { test "$1" = get && printf 'username=%s\npassword=%s\n' "$SLIPWAY_GIT_USERNAME" "$SLIPWAY_GIT_PASSWORD"; }; f"#;

/// An http(s) URL without its `user:password@`, and the (percent-decoded) user name
/// and password it carried; other URLs as they are.
fn split_credentials(url: &str) -> (String, Option<(String, String)>) {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return (url.to_owned(), None);
    };
    if !matches!(parsed.scheme(), "http" | "https")
        || (parsed.username().is_empty() && parsed.password().is_none())
    {
        return (url.to_owned(), None);
    }
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("v={}", s.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let user = decode(parsed.username());
    let password = decode(parsed.password().unwrap_or_default());
    // Cannot fail for http(s) URLs, which always have a host.
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    (parsed.to_string(), Some((user, password)))
}

#[cfg(test)]
mod credential_tests {
    use super::split_credentials;

    #[test]
    fn credentials_leave_the_url_and_come_back_decoded() {
        assert_eq!(
            split_credentials("https://ci-bot:p%40ss+w%3Ard@git.example.com/shop.git"),
            (
                "https://git.example.com/shop.git".to_owned(),
                Some(("ci-bot".to_owned(), "p@ss+w:rd".to_owned()))
            )
        );
        assert_eq!(
            split_credentials("https://token@git.example.com/shop.git"),
            (
                "https://git.example.com/shop.git".to_owned(),
                Some(("token".to_owned(), String::new()))
            )
        );
        for plain in [
            "https://git.example.com/shop.git",
            "ssh://git@git.example.com/shop.git",
            "git@git.example.com:shop.git",
        ] {
            assert_eq!(split_credentials(plain), (plain.to_owned(), None));
        }
    }
}
