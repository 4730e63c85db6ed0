//! The GitHub keys: the server's credentials, API address and webhook secret
//! (`[github]`), and which repository on GitHub a pipeline follows.

use super::super::github::PUBLIC_API;
use super::super::raw::{RawGitHub, RawPipelineGitHub};
use super::super::{GitHubAuth, GitHubConfig, GitHubRepository, SecretSource};
use super::Validator;
use std::path::Path;
use toml::Spanned;

impl Validator<'_> {
    /// `[github]`: an optional webhook secret, the API's URL, and at most one kind of
    /// credentials (a token, or a GitHub App installation).
    pub(super) fn github(&mut self, spanned: &Spanned<RawGitHub>, base: &Path) -> GitHubConfig {
        let raw = spanned.get_ref();
        let webhook_secret = self.secret_source(
            raw.webhook_secret_env.as_ref(),
            raw.webhook_secret_file.as_ref(),
            "github.webhook_secret",
            base,
        );
        let api_url = raw
            .api_url
            .as_ref()
            .and_then(|u| self.api_url(u, "github.api_url"))
            .unwrap_or_else(|| PUBLIC_API.to_owned());
        let token = self.secret_source(
            raw.token_env.as_ref(),
            raw.token_file.as_ref(),
            "github.token",
            base,
        );
        let app = [
            raw.app_id.is_some(),
            raw.app_key_file.is_some(),
            raw.installation_id.is_some(),
        ];
        let auth = match (token, app) {
            (Some(token), [false, false, false]) => GitHubAuth::Token(token),
            (None, [false, false, false]) => GitHubAuth::Anonymous,
            (None, [true, true, true]) => {
                let id = |v: &Option<Spanned<i64>>| {
                    v.as_ref()
                        .and_then(|s| u64::try_from(*s.get_ref()).ok().filter(|n| *n > 0))
                };
                match (id(&raw.app_id), id(&raw.installation_id), &raw.app_key_file) {
                    (Some(app_id), Some(installation_id), Some(key)) => GitHubAuth::App {
                        app_id,
                        installation_id,
                        private_key: SecretSource::File(Self::resolve(base, key.get_ref().trim())),
                    },
                    _ => {
                        self.push(spanned, "github", "app_id and installation_id are the positive numbers GitHub shows on the App's settings and installation pages");
                        GitHubAuth::Anonymous
                    }
                }
            }
            (Some(_), _) => {
                self.push(spanned, "github", "give a token (token_env or token_file) or a GitHub App (app_id, app_key_file, installation_id), not both");
                GitHubAuth::Anonymous
            }
            (None, _) => {
                self.push(spanned, "github", "a GitHub App needs all of app_id, app_key_file (its private key, .pem) and installation_id");
                GitHubAuth::Anonymous
            }
        };
        GitHubConfig {
            webhook_secret,
            api_url,
            auth,
        }
    }

    /// A secret named by `<key>_env` or `<key>_file` (at most one of them).
    pub(super) fn secret_source(
        &mut self,
        env: Option<&Spanned<String>>,
        file: Option<&Spanned<String>>,
        key: &str,
        base: &Path,
    ) -> Option<SecretSource> {
        match (env, file) {
            (Some(name), None) => self
                .secret_env(Some(name), key)
                .flatten()
                .map(SecretSource::Env),
            (None, Some(file)) if !file.get_ref().trim().is_empty() => Some(SecretSource::File(
                Self::resolve(base, file.get_ref().trim()),
            )),
            (None, Some(file)) => {
                self.push(
                    file,
                    &format!("{key}_file"),
                    "expected the path of a file holding the secret",
                );
                None
            }
            (Some(_), Some(file)) => {
                self.push(
                    file,
                    &format!("{key}_file"),
                    format!("give {key}_env or {key}_file, not both"),
                );
                None
            }
            (None, None) => None,
        }
    }

    /// An API base URL: http(s), no query; kept without its trailing `/`.
    fn api_url(&mut self, raw: &Spanned<String>, key: &str) -> Option<String> {
        let text = raw.get_ref().trim();
        match url::Url::parse(text) {
            Ok(u)
                if matches!(u.scheme(), "https" | "http")
                    && u.query().is_none()
                    && u.username().is_empty()
                    && u.password().is_none() =>
            {
                Some(text.trim_end_matches('/').to_owned())
            }
            _ => {
                self.push(
                    raw,
                    key,
                    format!("expected the API's base URL, like \"https://api.github.com\" or \"https://github.example.com/api/v3\" for GitHub Enterprise, got {text:?}"),
                );
                None
            }
        }
    }

    /// A pipeline's `github` table: `repository` as `owner/name`, an optional `api_url`
    /// and the `required_checks` of its CI gate.
    pub(super) fn github_repository(
        &mut self,
        spanned: &Spanned<RawPipelineGitHub>,
        key: &str,
    ) -> Option<GitHubRepository> {
        let g = spanned.get_ref();
        let raw = &g.repository;
        let text = raw.get_ref().trim();
        let valid = |part: &str| {
            !part.is_empty()
                && part.len() <= 100
                && part != "."
                && part != ".."
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        let api_url = g
            .api_url
            .as_ref()
            .and_then(|u| self.api_url(u, &format!("{key}.github.api_url")));
        let mut required_checks = Vec::new();
        for (i, c) in g
            .required_checks
            .iter()
            .flat_map(|l| l.get_ref())
            .enumerate()
        {
            let name = c.get_ref().trim();
            if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
                self.push(
                    c,
                    &format!("{key}.github.required_checks[{i}]"),
                    "expected the name of a check run or commit status context, as GitHub shows it under the commit (like \"build\" or \"ci/test\")",
                );
            } else if !required_checks.iter().any(|n: &String| n == name) {
                required_checks.push(name.to_owned());
            }
        }
        match text.split_once('/') {
            Some((owner, name)) if valid(owner) && valid(name) => Some(GitHubRepository {
                owner: owner.to_owned(),
                name: name.to_owned(),
                api_url,
                required_checks,
            }),
            _ => {
                self.push(
                    raw,
                    &format!("{key}.github.repository"),
                    format!("expected a GitHub repository as owner/name, like \"octo-org/web-shop\", got {text:?}"),
                );
                None
            }
        }
    }
}
