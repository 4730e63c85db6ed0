//! Builds the git repository that backs Slipway's demo mode.
//!
//! Demo mode needs a board with something on it, so this module creates a
//! small but realistic repository for a pretend web service called
//! "demo-web": a few dozen commits on `main` by several authors, merged
//! feature branches, migrations added along the way and one side branch
//! (`experiment/rewrite`) that never made it back into `main`.
//!
//! Everything is deterministic: the same `now_unix` always produces the same
//! commits (content, authors, dates and therefore SHAs). The real `git` CLI is
//! driven through [`std::process::Command`] with an isolated configuration, so
//! the result does not depend on the user's git settings.

use std::ffi::OsString;
use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};

/// Creates the "demo-web" repository in `dir`, or reuses the one already there.
///
/// Exists so `slipway demo` can start with a populated board without any
/// setup. If `dir/.git` already exists the directory is left untouched, so
/// restarting the demo keeps the same commits (and any state keyed by SHA).
///
/// Commit dates are spread over the 20 days before `now_unix` (oldest first,
/// strictly increasing), so ages shown on the board look realistic.
///
/// The repository is built in a sibling staging directory and moved into place
/// only once complete, so a failure never leaves a half-built repository that
/// a later call would reuse. `dir` may be absent or an empty directory; a
/// non-empty directory without `.git` is refused rather than overwritten.
pub fn create_demo_repo(dir: &Path, now_unix: i64) -> Result<()> {
    if dir.join(".git").exists() {
        return Ok(());
    }
    ensure_absent_or_empty(dir)?;

    let name = dir
        .file_name()
        .with_context(|| format!("failed to derive a directory name from {}", dir.display()))?;
    let parent = dir.parent().unwrap_or_else(|| Path::new(""));
    fs::create_dir_all(parent)
        .with_context(|| format!("failed to create parent directory {}", parent.display()))?;

    let mut staging_name = OsString::from(".");
    staging_name.push(name);
    staging_name.push(format!(".partial-{}", std::process::id()));
    let staging = parent.join(staging_name);
    if staging.exists() {
        fs::remove_dir_all(&staging).with_context(|| {
            format!(
                "failed to remove stale staging directory {}",
                staging.display()
            )
        })?;
    }

    if let Err(err) = build_in(&staging, now_unix).and_then(|()| move_into_place(&staging, dir)) {
        // Best effort: the error being returned matters more than cleanup.
        let _ = fs::remove_dir_all(&staging);
        return Err(err);
    }
    Ok(())
}

/// Fails when `dir` is an existing file or a non-empty directory.
fn ensure_absent_or_empty(dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        bail!(
            "failed to create demo repository: {} exists and is not a directory",
            dir.display()
        );
    }
    let mut entries =
        fs::read_dir(dir).with_context(|| format!("failed to read directory {}", dir.display()))?;
    if entries.next().is_some() {
        bail!(
            "failed to create demo repository: {} is not empty and is not a git repository",
            dir.display()
        );
    }
    Ok(())
}

/// Renames the finished staging repository to `dir`.
fn move_into_place(staging: &Path, dir: &Path) -> Result<()> {
    ensure_absent_or_empty(dir)?;
    if dir.exists() {
        fs::remove_dir(dir)
            .with_context(|| format!("failed to remove empty directory {}", dir.display()))?;
    }
    fs::rename(staging, dir).with_context(|| {
        format!(
            "failed to move demo repository from {} to {}",
            staging.display(),
            dir.display()
        )
    })
}

/// Initialises a repository in `dir` and replays the whole [`plan`] into it.
fn build_in(dir: &Path, now_unix: i64) -> Result<()> {
    fs::create_dir_all(dir)
        .with_context(|| format!("failed to create directory {}", dir.display()))?;
    run_git(dir, &["init", "-q", "-b", "main"], None)
        .context("failed to initialise demo repository")?;

    let steps = plan();
    let commits = steps.iter().filter(|s| s.makes_commit()).count();
    let clock = Clock::new(now_unix, commits);
    let mut index = 0;

    for step in &steps {
        match step {
            Step::Commit {
                author,
                message,
                edits,
            } => {
                for edit in edits {
                    edit.apply(dir)?;
                }
                run_git(dir, &["add", "-A"], None).context("failed to stage demo changes")?;
                run_git(
                    dir,
                    &["commit", "-q", "-m", message],
                    Some((*author, clock.at(index))),
                )
                .with_context(|| format!("failed to commit {:?}", first_line(message)))?;
                index += 1;
            }
            Step::Branch { name, start } => {
                run_git(dir, &["branch", name, start], None)
                    .with_context(|| format!("failed to create branch {name}"))?;
            }
            Step::Checkout(name) => {
                run_git(dir, &["checkout", "-q", name], None)
                    .with_context(|| format!("failed to check out {name}"))?;
            }
            Step::Merge { author, branch } => {
                let message = format!("Merge branch '{branch}'");
                run_git(
                    dir,
                    &[
                        "merge",
                        "-q",
                        "--no-ff",
                        "--no-edit",
                        "-m",
                        &message,
                        branch,
                    ],
                    Some((*author, clock.at(index))),
                )
                .with_context(|| format!("failed to merge {branch}"))?;
                index += 1;
            }
            Step::DeleteBranch(name) => {
                run_git(dir, &["branch", "-q", "-d", name], None)
                    .with_context(|| format!("failed to delete branch {name}"))?;
            }
        }
    }

    run_git(dir, &["checkout", "-q", "main"], None).context("failed to check out main")?;
    Ok(())
}

/// Returns the first line of a commit message, for error messages.
fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or("")
}

/// Hands out deterministic, strictly increasing commit timestamps.
struct Clock {
    start: i64,
    step: i64,
}

impl Clock {
    /// Spreads `commits` timestamps between 20 days and one hour before `now_unix`.
    fn new(now_unix: i64, commits: usize) -> Self {
        let start = now_unix - 20 * 86_400;
        let end = now_unix - 3_600;
        // One slot per commit; each timestamp lies inside its slot.
        let slots = i64::try_from(commits.max(1)).unwrap_or(i64::MAX);
        Clock {
            start,
            step: ((end - start) / slots).max(2),
        }
    }

    /// Timestamp of commit number `index` (0-based), with a little jitter so
    /// times do not look machine-generated; jitter stays below half a step,
    /// so timestamps remain strictly increasing.
    fn at(&self, index: usize) -> i64 {
        let i = i64::try_from(index).unwrap_or(i64::MAX / 2);
        let jitter = (i * 2_671 + 977) % (self.step / 2).max(1);
        self.start + i * self.step + jitter
    }
}

/// A commit author (who is also the committer).
#[derive(Clone, Copy)]
struct Person {
    name: &'static str,
    email: &'static str,
}

const ADA: Person = Person {
    name: "Ada Lovelace",
    email: "ada@example.com",
};
const GRACE: Person = Person {
    name: "Grace Hopper",
    email: "grace@example.com",
};
const LINUS: Person = Person {
    name: "Linus Torvalds",
    email: "linus@example.com",
};
const MARGARET: Person = Person {
    name: "Margaret Hamilton",
    email: "margaret@example.com",
};

/// A change to one file of the working tree.
enum Edit {
    /// Create or overwrite the file with this content.
    Write(&'static str, &'static str),
    /// Append text to the end of an existing file.
    Append(&'static str, &'static str),
    /// Replace the first occurrence of a snippet (which must exist).
    Replace(&'static str, &'static str, &'static str),
    /// Delete the file.
    Remove(&'static str),
}

impl Edit {
    /// Applies the change to the working tree rooted at `root`.
    fn apply(&self, root: &Path) -> Result<()> {
        match self {
            Edit::Write(path, content) => write_file(&root.join(path), content),
            Edit::Append(path, text) => {
                let full = root.join(path);
                let mut content = read_file(&full)?;
                content.push_str(text);
                write_file(&full, &content)
            }
            Edit::Replace(path, from, to) => {
                let full = root.join(path);
                let content = read_file(&full)?;
                if !content.contains(from) {
                    bail!("failed to edit {path}: snippet {from:?} not found");
                }
                write_file(&full, &content.replacen(from, to, 1))
            }
            Edit::Remove(path) => {
                let full = root.join(path);
                fs::remove_file(&full)
                    .with_context(|| format!("failed to remove {}", full.display()))
            }
        }
    }
}

/// Reads a UTF-8 file with a helpful error.
fn read_file(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("failed to read {}", path.display()))
}

/// Writes a file, creating its parent directories.
fn write_file(path: &Path, content: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("failed to create directory {}", parent.display()))?;
    }
    fs::write(path, content).with_context(|| format!("failed to write {}", path.display()))
}

/// One step of the scripted history.
enum Step {
    /// Apply edits and commit them on the current branch.
    Commit {
        author: Person,
        message: &'static str,
        edits: Vec<Edit>,
    },
    /// Create a branch at `start` without switching to it.
    Branch {
        name: &'static str,
        start: &'static str,
    },
    /// Switch to a branch.
    Checkout(&'static str),
    /// Merge `branch` into the current branch with `--no-ff`.
    Merge {
        author: Person,
        branch: &'static str,
    },
    /// Delete an already merged branch.
    DeleteBranch(&'static str),
}

impl Step {
    /// Whether this step creates a commit (and therefore consumes a timestamp).
    fn makes_commit(&self) -> bool {
        matches!(self, Step::Commit { .. } | Step::Merge { .. })
    }
}

/// Shorthand for a [`Step::Commit`].
fn commit(author: Person, message: &'static str, edits: Vec<Edit>) -> Step {
    Step::Commit {
        author,
        message,
        edits,
    }
}

/// Shorthand for creating a branch at the current `HEAD` and switching to it.
fn start_branch(name: &'static str) -> [Step; 2] {
    [
        Step::Branch {
            name,
            start: "HEAD",
        },
        Step::Checkout(name),
    ]
}

/// Shorthand for switching back to `main`, merging `branch` and deleting it.
fn merge_branch(author: Person, branch: &'static str) -> [Step; 3] {
    [
        Step::Checkout("main"),
        Step::Merge { author, branch },
        Step::DeleteBranch(branch),
    ]
}

/// Builds a `git` command that ignores the user's and system's configuration.
fn git_command(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args(["-c", "init.defaultBranch=main"])
        .args(["-c", "commit.gpgsign=false"])
        .args(["-c", "tag.gpgsign=false"])
        .args(["-c", "core.autocrlf=false"])
        .args(["-c", "advice.detachedHead=false"])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0");
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
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `git` in `dir` and returns its trimmed stdout; on failure the error
/// includes git's stderr. `ident` sets author/committer and their date.
fn run_git(dir: &Path, args: &[&str], ident: Option<(Person, i64)>) -> Result<String> {
    let mut cmd = git_command(dir);
    let person = ident.map_or(ADA, |(p, _)| p);
    cmd.arg("-c")
        .arg(format!("user.name={}", person.name))
        .arg("-c")
        .arg(format!("user.email={}", person.email))
        .args(args);
    if let Some((p, ts)) = ident {
        let date = format!("@{ts} +0000");
        cmd.env("GIT_AUTHOR_NAME", p.name)
            .env("GIT_AUTHOR_EMAIL", p.email)
            .env("GIT_COMMITTER_NAME", p.name)
            .env("GIT_COMMITTER_EMAIL", p.email)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date);
    }
    let output = cmd
        .output()
        .with_context(|| format!("failed to run `git {}` (is git installed?)", args.join(" ")))?;
    if !output.status.success() {
        return Err(anyhow!(
            "`git {}` failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

mod story;

use story::plan;

#[cfg(test)]
mod tests;
