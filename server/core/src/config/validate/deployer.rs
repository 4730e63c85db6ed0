//! The deployer of a stage: its argv, environment, working directory and limits.

use super::super::raw::{RawActionsDeployer, RawDeployer, RawHttpDeployer, RawRetry};
use super::super::{
    defaults, ActionsDeployer, DeployerConfig, DeployerKind, ExternalDeployer, HttpDeployer,
    RetryConfig,
};

/// The workflow inputs Slipway sets itself.
pub const SLIPWAY_INPUTS: &[&str] = &["sha", "stage", "deployment"];
use super::Validator;
use std::path::Path;
use toml::Spanned;

impl Validator<'_> {
    pub(super) fn deployer(
        &mut self,
        spanned: &Spanned<RawDeployer>,
        key: &str,
        base: &Path,
    ) -> Option<DeployerConfig> {
        let d = spanned.get_ref();
        let given = [
            d.command.is_some(),
            d.http.is_some(),
            d.github_actions.is_some(),
            d.github_external.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            self.push(
                spanned,
                key,
                "a deployer is one of command, http, github_actions or github_external, not several",
            );
            return None;
        }
        let kind = if let Some(command) = &d.command {
            DeployerKind::Command(self.argv(
                command,
                &format!("{key}.command"),
                "[\"./deploy.sh\", \"--verbose\"]",
            )?)
        } else if let Some(http) = &d.http {
            DeployerKind::Http(self.http_deployer(http.get_ref(), &format!("{key}.http"))?)
        } else if let Some(actions) = &d.github_actions {
            DeployerKind::GitHubActions(
                self.actions_deployer(actions.get_ref(), &format!("{key}.github_actions"))?,
            )
        } else if let Some(external) = &d.github_external {
            let poll_interval = match &external.get_ref().poll_interval_seconds {
                None => defaults::GITHUB_EXTERNAL_POLL,
                Some(s) => self.positive_secs(
                    s,
                    &format!("{key}.github_external.poll_interval_seconds"),
                    1,
                )?,
            };
            DeployerKind::GitHubExternal(ExternalDeployer { poll_interval })
        } else {
            self.push(
                spanned,
                key,
                "a deployer needs a command (like [\"./deploy.sh\"]), http = { url = \"…\" }, github_actions = { workflow = \"deploy.yml\" } or github_external = {}",
            );
            return None;
        };
        let env_name = |name: &str| {
            !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !name.as_bytes()[0].is_ascii_digit()
                && !name.starts_with("SLIPWAY_")
        };
        for name in d.env.keys() {
            if !env_name(name) {
                let at = &d.env[name];
                self.push(at, &format!("{key}.env.{name}"), "environment variable names use letters, digits and '_', and SLIPWAY_* is reserved for the values Slipway sets");
            }
        }
        for name in &d.pass_env {
            if !env_name(name.get_ref()) {
                self.push(
                    name,
                    &format!("{key}.pass_env"),
                    format!("{:?} is not an environment variable name: use letters, digits and '_' (SLIPWAY_* is reserved)", name.get_ref()),
                );
            }
        }
        let timeout = match &d.timeout_seconds {
            None => defaults::DEPLOY_TIMEOUT,
            Some(t) => self.positive_secs(
                t,
                &format!("{key}.timeout_seconds"),
                defaults::DEPLOY_TIMEOUT_MIN_SECS,
            )?,
        };
        let max_log_bytes = match &d.max_log_bytes {
            None => defaults::DEPLOY_MAX_LOG_BYTES,
            Some(v) if *v.get_ref() >= defaults::DEPLOY_MAX_LOG_BYTES_MIN => {
                v.get_ref().unsigned_abs()
            }
            Some(v) => {
                self.push(
                    v,
                    &format!("{key}.max_log_bytes"),
                    format!(
                        "expected a number of bytes of at least {}, got {}",
                        defaults::DEPLOY_MAX_LOG_BYTES_MIN,
                        v.get_ref()
                    ),
                );
                return None;
            }
        };
        Some(DeployerConfig {
            kind,
            env: d
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.get_ref().clone()))
                .collect(),
            pass_env: d.pass_env.iter().map(|n| n.get_ref().clone()).collect(),
            workdir: d.workdir.as_ref().map(|w| Self::resolve(base, w.get_ref())),
            timeout,
            max_log_bytes,
            retry: match &d.retry {
                None => None,
                Some(r) => Some(self.retry(r, &format!("{key}.retry"))?),
            },
        })
    }

    /// `deployer.http`: an http(s) URL, the name of the environment variable holding the
    /// signing key, and how often to read the status URL.
    fn http_deployer(&mut self, h: &RawHttpDeployer, key: &str) -> Option<HttpDeployer> {
        let url = match url::Url::parse(h.url.get_ref().trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
            _ => {
                self.push(
                    &h.url,
                    &format!("{key}.url"),
                    "expected an http:// or https:// URL",
                );
                None
            }
        };
        let secret_env = self.secret_env(h.secret_env.as_ref(), key);
        let poll_interval = match &h.poll_interval_seconds {
            None => Some(defaults::HTTP_DEPLOYER_POLL),
            Some(s) => self.positive_secs(s, &format!("{key}.poll_interval_seconds"), 1),
        };
        Some(HttpDeployer {
            url: url?,
            secret_env: secret_env?,
            poll_interval: poll_interval?,
        })
    }

    /// `deployer.github_actions`: the workflow (a file name or id), the ref it runs
    /// from, extra inputs (never the ones Slipway sets) and the poll interval.
    fn actions_deployer(&mut self, a: &RawActionsDeployer, key: &str) -> Option<ActionsDeployer> {
        let workflow = a.workflow.get_ref().trim();
        let workflow_ok = !workflow.is_empty()
            && workflow
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && (workflow.ends_with(".yml")
                || workflow.ends_with(".yaml")
                || workflow.bytes().all(|b| b.is_ascii_digit()));
        if !workflow_ok {
            self.push(
                &a.workflow,
                &format!("{key}.workflow"),
                "expected the workflow's file name under .github/workflows (like \"deploy.yml\") or its numeric id",
            );
        }
        let git_ref = match &a.git_ref {
            Some(r) if !super::is_safe_branch(r.get_ref()) => {
                self.push(
                    r,
                    &format!("{key}.ref"),
                    "expected a branch or tag name whose workflow file runs, like \"main\"",
                );
                None
            }
            r => r.as_ref().map(|r| r.get_ref().clone()),
        };
        for (name, at) in &a.inputs {
            if SLIPWAY_INPUTS.contains(&name.as_str()) {
                self.push(
                    at,
                    &format!("{key}.inputs.{name}"),
                    format!("the input {name:?} is Slipway's own (sha, stage, deployment): pick another name"),
                );
            }
        }
        let poll_interval = match &a.poll_interval_seconds {
            None => Some(defaults::GITHUB_ACTIONS_POLL),
            Some(s) => self.positive_secs(s, &format!("{key}.poll_interval_seconds"), 1),
        };
        if !workflow_ok {
            return None;
        }
        Some(ActionsDeployer {
            workflow: workflow.to_owned(),
            git_ref,
            inputs: a
                .inputs
                .iter()
                .map(|(k, v)| (k.clone(), v.get_ref().clone()))
                .collect(),
            poll_interval: poll_interval?,
        })
    }

    /// `secret_env`: the name of an environment variable of the server holding a signing
    /// key (`Some(None)`: none given; `None`: invalid).
    pub(super) fn secret_env(
        &mut self,
        raw: Option<&Spanned<String>>,
        key: &str,
    ) -> Option<Option<String>> {
        match raw {
            None => Some(None),
            Some(name)
                if !name.get_ref().is_empty()
                    && name
                        .get_ref()
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
            {
                Some(Some(name.get_ref().clone()))
            }
            Some(name) => {
                self.push(
                    name,
                    &format!("{key}.secret_env"),
                    "expected the name of an environment variable (letters, digits, '_') that holds the signing key, never the key itself",
                );
                None
            }
        }
    }

    /// `deployer.retry`: what makes a failure transient, and how often and how soon to
    /// try again.
    fn retry(&mut self, spanned: &Spanned<RawRetry>, key: &str) -> Option<RetryConfig> {
        let r = spanned.get_ref();
        let before = self.problems.len();
        let mut exit_codes = Vec::new();
        for code in &r.exit_codes {
            match i32::try_from(*code.get_ref()) {
                Ok(c) if (1..=255).contains(&c) => exit_codes.push(c),
                _ => self.push(
                    code,
                    &format!("{key}.exit_codes"),
                    format!(
                        "expected an exit code from 1 to 255 (0 is success), got {}",
                        code.get_ref()
                    ),
                ),
            }
        }
        let mut log_patterns = Vec::new();
        for (i, p) in r.log_patterns.iter().enumerate() {
            let at = format!("{key}.log_patterns[{i}]");
            if p.get_ref().trim().is_empty() {
                self.push(p, &at, "expected a regular expression such as \"connection reset\", got an empty string");
            } else if let Err(e) = regex::Regex::new(p.get_ref()) {
                let why = e.to_string();
                let last = why.lines().last().unwrap_or("invalid").trim().to_owned();
                self.push(
                    p,
                    &at,
                    format!(
                        "{:?} is not a valid regular expression: {last}",
                        p.get_ref()
                    ),
                );
            } else {
                log_patterns.push(p.get_ref().clone());
            }
        }
        if r.exit_codes.is_empty() && r.log_patterns.is_empty() {
            self.push(
                spanned,
                key,
                "a retry rule needs exit_codes or log_patterns (or both): without them no failure is transient",
            );
        }
        let max_attempts = match &r.max_attempts {
            None => defaults::RETRY_MAX_ATTEMPTS,
            Some(n) if (2..=defaults::RETRY_MAX_ATTEMPTS_MAX).contains(n.get_ref()) => *n.get_ref(),
            Some(n) => {
                self.push(
                    n,
                    &format!("{key}.max_attempts"),
                    format!(
                        "expected 2 to {} attempts in all (the first included), got {}",
                        defaults::RETRY_MAX_ATTEMPTS_MAX,
                        n.get_ref()
                    ),
                );
                defaults::RETRY_MAX_ATTEMPTS
            }
        };
        let backoff = match &r.backoff_seconds {
            None => defaults::RETRY_BACKOFF,
            Some(s) => self
                .positive_secs(
                    s,
                    &format!("{key}.backoff_seconds"),
                    defaults::RETRY_BACKOFF_MIN_SECS,
                )
                .unwrap_or(defaults::RETRY_BACKOFF),
        };
        if self.problems.len() > before {
            return None;
        }
        let patterns = regex::RegexSet::new(&log_patterns).ok()?;
        Some(RetryConfig {
            exit_codes,
            log_patterns,
            patterns,
            max_attempts: u32::try_from(max_attempts).unwrap_or(3),
            backoff,
        })
    }
}
