//! Real git repositories for integration tests.
//!
//! Slipway's cards are git commits, so integration tests need repositories
//! whose history they control exactly. [`TestRepo`] creates one in a
//! temporary directory and drives the real `git` CLI with an isolated
//! configuration (no user or system config, fixed identity, no signing) and
//! strictly increasing fixed commit dates, so history order and even SHAs are
//! the same on every machine and every run.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{anyhow, Context, Result};

/// Name used for every commit made by the helpers.
const NAME: &str = "Slipway Test";
/// Email used for every commit made by the helpers.
const EMAIL: &str = "test@example.com";
/// Date of the first commit (2023-11-14T22:13:20Z); later commits add [`TICK`].
const EPOCH: i64 = 1_700_000_000;
/// Seconds between consecutive commits.
const TICK: i64 = 60;

/// A throw-away, non-bare git repository on `main`, deleted when dropped.
///
/// Exists so integration tests can build exactly the history they need
/// (commits, branches, `--no-ff` merges) and point the server at it.
/// Every commit gets a strictly increasing deterministic date, so ordering
/// by date is stable and SHAs are reproducible.
pub struct TestRepo {
    /// The temporary directory holding the working tree and `.git`.
    dir: tempfile::TempDir,
    /// Unix time used for the next commit; advanced by every commit.
    clock: i64,
}

impl TestRepo {
    /// Creates a repository on `main` with one initial commit ("Initial commit"
    /// adding `README.md`), so branches and `HEAD` resolve immediately.
    pub fn new() -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("slipway-test-repo-")
            .tempdir()
            .context("failed to create temporary directory for test repository")?;
        git(dir.path(), &["init", "-q", "-b", "main"])
            .context("failed to initialise test repository")?;
        let mut repo = TestRepo { dir, clock: EPOCH };
        repo.commit_file("README.md", "# test repository\n", "Initial commit")?;
        Ok(repo)
    }

    /// The working tree directory, to hand to the code under test.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Commits a change to `activity.log` (one line per commit) on the current
    /// branch and returns the new commit's full SHA.
    ///
    /// For tests that need "some commit" and only care about its subject.
    pub fn commit(&mut self, subject: &str) -> Result<String> {
        let file = self.path().join("activity.log");
        let mut log = match fs::read_to_string(&file) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(err) => {
                return Err(err).with_context(|| format!("failed to read {}", file.display()))
            }
        };
        log.push_str(&format!(
            "{} {}\n",
            self.clock,
            subject.lines().next().unwrap_or("")
        ));
        fs::write(&file, log).with_context(|| format!("failed to write {}", file.display()))?;
        self.commit_staged(&["activity.log"], subject)
    }

    /// Writes `content` to `path` (relative to the repository root, parent
    /// directories created), commits it with `subject` and returns the SHA.
    ///
    /// For tests that care which files a commit touches (e.g. migrations).
    /// Unchanged content still produces a (empty) commit.
    pub fn commit_file(&mut self, path: &str, content: &str, subject: &str) -> Result<String> {
        let file = self.path().join(path);
        if let Some(parent) = file.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("failed to create directory {}", parent.display()))?;
        }
        fs::write(&file, content).with_context(|| format!("failed to write {}", file.display()))?;
        self.commit_staged(&[path], subject)
    }

    /// Creates branch `name` at revision `from` without switching to it.
    pub fn branch(&self, name: &str, from: &str) -> Result<()> {
        git(self.path(), &["branch", name, from])
            .with_context(|| format!("failed to create branch {name} at {from}"))?;
        Ok(())
    }

    /// Switches the working tree to branch (or revision) `name`.
    pub fn checkout(&self, name: &str) -> Result<()> {
        git(self.path(), &["checkout", "-q", name])
            .with_context(|| format!("failed to check out {name}"))?;
        Ok(())
    }

    /// Merges `branch` into the current branch with `--no-ff` (always a real
    /// merge commit, message `subject`) and returns the merge commit's SHA.
    pub fn merge_no_ff(&mut self, branch: &str, subject: &str) -> Result<String> {
        let date = self.tick();
        run(
            self.path(),
            &["merge", "-q", "--no-ff", "--no-edit", "-m", subject, branch],
            Some(date),
        )
        .with_context(|| format!("failed to merge {branch}"))?;
        self.head("HEAD")
    }

    /// Resolves `rev` (branch, tag, `HEAD~2`, short SHA, …) to a full commit SHA.
    pub fn head(&self, rev: &str) -> Result<String> {
        let spec = format!("{rev}^{{commit}}");
        git(self.path(), &["rev-parse", "--verify", "--quiet", &spec])
            .with_context(|| format!("failed to resolve {rev}"))
    }

    /// SHAs reachable from `branch` by first parents only, newest first —
    /// the order in which a branch's own history is shown.
    pub fn first_parent_log(&self, branch: &str) -> Result<Vec<String>> {
        let out = git(self.path(), &["rev-list", "--first-parent", branch, "--"])
            .with_context(|| format!("failed to list first-parent history of {branch}"))?;
        Ok(out.lines().map(str::to_owned).collect())
    }

    /// Stages `paths`, commits with the next clock date and returns the SHA.
    fn commit_staged(&mut self, paths: &[&str], subject: &str) -> Result<String> {
        let mut add = vec!["add", "--"];
        add.extend_from_slice(paths);
        git(self.path(), &add).context("failed to stage test changes")?;
        let date = self.tick();
        run(
            self.path(),
            &["commit", "-q", "--allow-empty", "-m", subject],
            Some(date),
        )
        .with_context(|| format!("failed to commit {subject:?}"))?;
        self.head("HEAD")
    }

    /// Returns the date for the next commit and advances the clock.
    fn tick(&mut self) -> i64 {
        let now = self.clock;
        self.clock += TICK;
        now
    }
}

/// Runs `git args…` in `dir` with an isolated configuration and a fixed
/// identity, returning trimmed stdout; the error includes git's stderr.
///
/// Exists for assertions and setups the [`TestRepo`] methods don't cover
/// (e.g. `git(repo.path(), &["tag", "v1"])`). Commits made through it get the
/// current time as their date.
pub fn git(dir: &Path, args: &[&str]) -> Result<String> {
    run(dir, args, None)
}

/// Shared runner: like [`git`], optionally pinning author/committer date.
fn run(dir: &Path, args: &[&str], date: Option<i64>) -> Result<String> {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args(["-c", "init.defaultBranch=main"])
        .args(["-c", "commit.gpgsign=false"])
        .args(["-c", "tag.gpgsign=false"])
        .args(["-c", "core.autocrlf=false"])
        .args(["-c", "advice.detachedHead=false"])
        .args(["-c", &format!("user.name={NAME}")])
        .args(["-c", &format!("user.email={EMAIL}")])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", NAME)
        .env("GIT_AUTHOR_EMAIL", EMAIL)
        .env("GIT_COMMITTER_NAME", NAME)
        .env("GIT_COMMITTER_EMAIL", EMAIL);
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_NAMESPACE",
        "GIT_CONFIG",
        "GIT_CONFIG_PARAMETERS",
        "GIT_CONFIG_COUNT",
        "GIT_AUTHOR_DATE",
        "GIT_COMMITTER_DATE",
    ] {
        cmd.env_remove(var);
    }
    if let Some(ts) = date {
        let date = format!("@{ts} +0000");
        cmd.env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date);
    }
    let output = cmd
        .output()
        .with_context(|| format!("failed to run `git {}` (is git installed?)", args.join(" ")))?;
    if !output.status.success() {
        return Err(anyhow!(
            "`git {}` in {} failed ({}): {}",
            args.join(" "),
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
