//! The deployer of a stage: its argv, environment, working directory and limits.

use super::super::raw::RawDeployer;
use super::super::{defaults, DeployerConfig};
use super::Validator;
use std::path::Path;

impl Validator<'_> {
    pub(super) fn deployer(
        &mut self,
        d: &RawDeployer,
        key: &str,
        base: &Path,
    ) -> Option<DeployerConfig> {
        let command: Vec<String> = d
            .command
            .get_ref()
            .iter()
            .map(|c| c.get_ref().clone())
            .collect();
        if command.is_empty() || command[0].trim().is_empty() {
            self.push(
                &d.command,
                &format!("{key}.command"),
                "expected a program and its arguments, like [\"./deploy.sh\", \"--verbose\"]",
            );
            return None;
        }
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
            command,
            env: d
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.get_ref().clone()))
                .collect(),
            pass_env: d.pass_env.iter().map(|n| n.get_ref().clone()).collect(),
            workdir: d.workdir.as_ref().map(|w| Self::resolve(base, w.get_ref())),
            timeout,
            max_log_bytes,
        })
    }
}
