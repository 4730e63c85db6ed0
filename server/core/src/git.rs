//! Repository mirrors, driven through the `git` CLI.
//!
//! Each pipeline's repository is mirrored into `<data_dir>/mirrors/<pipeline>.git` (a
//! bare repository). Fetches copy `refs/heads/*` and `refs/tags/*` only, so refs that
//! Slipway writes itself elsewhere (to pin deployed SHAs) are never pruned. git never
//! prompts: no terminal, no askpass, SSH in batch mode, stdin closed, and a timeout.

use crate::config::{PipelineConfig, RepoSource};
use anyhow::{bail, Context as _};
use slipway_model::Sha;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// How long one git command may take before it is killed.
const GIT_TIMEOUT: Duration = Duration::from_secs(300);

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
        run_git(&staging, &["init", "--quiet", "--bare"]).await?;
        self.fetch_into(&staging).await?;
        tokio::fs::rename(&staging, &self.dir)
            .await
            .with_context(|| format!("failed to move the new mirror to {}", self.dir.display()))
    }

    async fn fetch_into(&self, dir: &Path) -> anyhow::Result<()> {
        let url = match &self.source {
            RepoSource::Local(p) => p.display().to_string(),
            RepoSource::Remote(u) => u.clone(),
        };
        // Keep the remote URL in sync with the config (it may have changed).
        run_git(dir, &["config", "remote.origin.url", &url]).await?;
        run_git(
            dir,
            &[
                "fetch",
                "--quiet",
                "--prune",
                "--no-write-fetch-head",
                "origin",
                "+refs/heads/*:refs/heads/*",
                "+refs/tags/*:refs/tags/*",
            ],
        )
        .await
        .map_err(|e| anyhow::anyhow!(redact_userinfo(&format!("{e:#}"))))
        .context("failed to fetch the repository")?;
        Ok(())
    }

    /// The SHA the pipeline's branch points at, if the mirror has it.
    pub async fn branch_head(&self) -> Option<String> {
        let rev = format!("refs/heads/{}^{{commit}}", self.branch);
        run_git(
            &self.dir,
            &["rev-parse", "--verify", "--quiet", "--end-of-options", &rev],
        )
        .await
        .ok()
        .map(|s| s.trim().to_owned())
    }

    /// The newest `limit` first-parent commits of the pipeline's branch, newest first.
    pub async fn first_parent_log(&self, limit: usize) -> anyhow::Result<Vec<Commit>> {
        let branch_ref = format!("refs/heads/{}", self.branch);
        let verify = run_git(
            &self.dir,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &format!("{branch_ref}^{{commit}}"),
            ],
        )
        .await;
        if verify.is_err() {
            bail!("branch {:?} does not exist in the repository", self.branch);
        }
        let out = run_git(
            &self.dir,
            &[
                "log",
                "--first-parent",
                &format!("--max-count={limit}"),
                "--format=%H%x1f%P%x1f%an%x1f%ct%x1f%s%x1e",
                "--end-of-options",
                &branch_ref,
            ],
        )
        .await?;
        parse_log(&out)
    }
}

impl Mirror {
    /// Whether `sha` is a commit of the pipeline's branch (first-parent history or
    /// reachable from it). Unknown objects are simply "not on the branch".
    pub async fn is_on_branch(&self, sha: &Sha) -> anyhow::Result<bool> {
        let branch_ref = format!("refs/heads/{}", self.branch);
        self.is_ancestor_ref(sha.as_str(), &branch_ref).await
    }

    /// Whether `ancestor` equals or is an ancestor of `descendant`.
    pub async fn is_ancestor(&self, ancestor: &Sha, descendant: &Sha) -> anyhow::Result<bool> {
        self.is_ancestor_ref(ancestor.as_str(), descendant.as_str())
            .await
    }

    async fn is_ancestor_ref(&self, ancestor: &str, descendant: &str) -> anyhow::Result<bool> {
        let code = git_exit_code(
            &self.dir,
            &[
                "merge-base",
                "--is-ancestor",
                "--end-of-options",
                ancestor,
                descendant,
            ],
        )
        .await?;
        match code {
            0 => Ok(true),
            // 1: not an ancestor; 128: an object is unknown to the mirror.
            1 | 128 => Ok(false),
            other => bail!("git merge-base --is-ancestor exited with {other}"),
        }
    }

    /// Keeps `sha` reachable forever (`refs/slipway/deployed/<sha>`), so a force-push and
    /// garbage collection can never make deployed history or rollback targets disappear.
    pub async fn pin(&self, sha: &Sha) -> anyhow::Result<()> {
        let name = format!("refs/slipway/deployed/{sha}");
        run_git(&self.dir, &["update-ref", &name, sha.as_str()])
            .await
            .map(|_| ())
    }

    /// Commit details for specific SHAs (cards whose commit is older than the recent list).
    pub async fn commits(&self, shas: &[Sha]) -> anyhow::Result<Vec<Commit>> {
        if shas.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec![
            "log",
            "--no-walk=unsorted",
            "--format=%H%x1f%P%x1f%an%x1f%ct%x1f%s%x1e",
            "--end-of-options",
        ];
        args.extend(shas.iter().map(Sha::as_str));
        let out = run_git(&self.dir, &args).await?;
        parse_log(&out)
    }

    /// Commits reachable from `to` but not from `from` (first-parent), newest first:
    /// "what goes out" when `to` replaces `from`.
    pub async fn between(&self, from: &Sha, to: &Sha, limit: usize) -> anyhow::Result<Vec<Commit>> {
        let range = format!("{from}..{to}");
        let out = run_git(
            &self.dir,
            &[
                "log",
                "--first-parent",
                &format!("--max-count={limit}"),
                "--format=%H%x1f%P%x1f%an%x1f%ct%x1f%s%x1e",
                "--end-of-options",
                &range,
            ],
        )
        .await?;
        parse_log(&out)
    }
}

/// Runs git and returns its exit code (for commands whose answer is the code).
async fn git_exit_code(dir: &Path, args: &[&str]) -> anyhow::Result<i32> {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status();
    let status = tokio::time::timeout(GIT_TIMEOUT, status)
        .await
        .context("git timed out")?
        .context("failed to run git (is it installed and on PATH?)")?;
    status.code().context("git was killed by a signal")
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

/// Removes `user:password@` from URLs in a message, so credentials embedded in a
/// repository URL never reach a log or a page.
pub fn redact_userinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '/' || c == '\'' || c == '"')
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                out.push_str("***@");
                rest = &tail[at + 1..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// Runs git in `dir` with prompts disabled; returns stdout, or an error with stderr.
pub async fn run_git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "")
        .env("SSH_ASKPASS", "")
        .env("GCM_INTERACTIVE", "never")
        .env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(GIT_TIMEOUT, cmd.output())
        .await
        .with_context(|| {
            format!(
                "git {} timed out after {}s",
                args.first().unwrap_or(&""),
                GIT_TIMEOUT.as_secs()
            )
        })?
        .context("failed to run git (is it installed and on PATH?)")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!(
            "git {} failed ({}): {}",
            args.first().unwrap_or(&""),
            output.status,
            stderr.trim()
        );
    }
    String::from_utf8(output.stdout).context("git printed non-UTF-8 output")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_new_mirror_appears_only_complete_and_a_crashed_attempt_is_redone() {
        let tmp = tempfile::tempdir().unwrap();
        let source = tmp.path().join("source");
        std::fs::create_dir(&source).unwrap();
        run_git(&source, &["init", "--quiet", "--initial-branch=main"])
            .await
            .unwrap();
        run_git(
            &source,
            &[
                "-c",
                "user.name=T",
                "-c",
                "user.email=t@example.com",
                "commit",
                "--quiet",
                "--allow-empty",
                "-m",
                "First",
            ],
        )
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
    }

    #[test]
    fn credentials_in_urls_are_redacted() {
        assert_eq!(
            redact_userinfo("fatal: could not read from https://user:tok3n@github.com/a/b.git"),
            "fatal: could not read from https://***@github.com/a/b.git"
        );
        assert_eq!(redact_userinfo("ssh://git@host/x y"), "ssh://***@host/x y");
        assert_eq!(
            redact_userinfo("https://github.com/a"),
            "https://github.com/a"
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
