//! The one way Slipway runs `git`: a command builder that always applies the
//! hardening, so no call site can forget it.
//!
//! git never prompts (no terminal, no askpass, no credential-manager dialog, SSH in
//! batch mode unless the operator chose their own SSH command, stdin closed), ignores the machine's system-wide config, is killed when
//! dropped or after a timeout, and its error messages lose any `user:password@` before
//! they reach a log or a page. Revisions go after `--end-of-options`
//! ([`Git::revisions`]), so a value from config or storage is never read as an option.

use anyhow::{bail, Context as _};
use std::ffi::OsStr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// How long one git command may take before it is killed (a fetch of a big repository
/// over a slow link, not a hung one).
pub const GIT_TIMEOUT: Duration = Duration::from_secs(300);

/// Whether the operator chose how git runs SSH — `GIT_SSH_COMMAND` or `GIT_SSH` in the
/// server's environment, or `core.sshCommand` in their global git config (a deploy
/// key, a jump host): then that is used as it is, not replaced by Slipway's batch-mode
/// default. Read once, at the first git command.
fn operator_chose_ssh() -> bool {
    static CHOSE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *CHOSE.get_or_init(|| {
        std::env::var_os("GIT_SSH_COMMAND").is_some()
            || std::env::var_os("GIT_SSH").is_some()
            || std::process::Command::new("git")
                .args(["config", "--global", "--get", "core.sshCommand"])
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .stdin(Stdio::null())
                .output()
                .is_ok_and(|o| o.status.success() && !o.stdout.trim_ascii().is_empty())
    })
}

/// A `git` command in one repository folder, hardened (see the module docs).
pub struct Git {
    cmd: Command,
    /// The subcommand, for error messages.
    name: String,
    timeout: Duration,
}

impl Git {
    /// `git -C dir` with the hardening applied.
    pub fn new(dir: &Path) -> Self {
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(dir)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ASKPASS", "")
            .env("SSH_ASKPASS", "")
            .env("GCM_INTERACTIVE", "never")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if !operator_chose_ssh() {
            cmd.env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
        }
        Self {
            cmd,
            name: String::new(),
            timeout: GIT_TIMEOUT,
        }
    }

    /// Sets a config value for this command only (`git -c key=value`).
    pub fn config(mut self, key: &str, value: &str) -> Self {
        self.cmd.arg("-c").arg(format!("{key}={value}"));
        self
    }

    /// Sets an environment variable of this command (and the helpers git starts).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// Appends one argument (the first names the command in error messages).
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        if self.name.is_empty() {
            self.name = arg.as_ref().to_string_lossy().into_owned();
        }
        self.cmd.arg(arg);
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        args.into_iter().fold(self, Git::arg)
    }

    /// Appends `--end-of-options` and then `revs`: whatever a revision looks like, git
    /// reads it as a revision, never as an option.
    pub fn revisions<I, S>(self, revs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.arg("--end-of-options").args(revs)
    }

    /// Replaces the default [`GIT_TIMEOUT`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs the command; its stdout, or an error carrying its (redacted) stderr.
    pub async fn output(mut self) -> anyhow::Result<String> {
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let output = tokio::time::timeout(self.timeout, self.cmd.output())
            .await
            .with_context(|| {
                format!(
                    "git {} timed out after {}s",
                    self.name,
                    self.timeout.as_secs()
                )
            })?
            .context("failed to run git (is it installed and on PATH?)")?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            bail!(
                "git {} failed ({}): {}",
                self.name,
                output.status,
                redact_userinfo(stderr.trim())
            );
        }
        String::from_utf8(output.stdout).context("git printed non-UTF-8 output")
    }

    /// Runs the command for its exit code alone (questions git answers with it, such
    /// as `merge-base --is-ancestor`); output is discarded.
    pub async fn exit_code(mut self) -> anyhow::Result<i32> {
        self.cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let status = tokio::time::timeout(self.timeout, self.cmd.status())
            .await
            .with_context(|| {
                format!(
                    "git {} timed out after {}s",
                    self.name,
                    self.timeout.as_secs()
                )
            })?
            .context("failed to run git (is it installed and on PATH?)")?;
        status.code().context("git was killed by a signal")
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[tokio::test]
    async fn failures_name_the_command_and_carry_stderr_and_exit_codes_are_answers() {
        let tmp = tempfile::tempdir().unwrap();
        let e = Git::new(tmp.path())
            .args(["rev-parse", "--verify"])
            .revisions(["-nope"])
            .output()
            .await
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("git rev-parse failed"), "{e}");
        let code = Git::new(tmp.path())
            .args(["rev-parse", "--git-dir"])
            .exit_code()
            .await
            .unwrap();
        assert_ne!(code, 0, "a folder that is no repository");
    }
}
