//! The GitHub keys: where the webhook secret is kept, and which repository on GitHub a
//! pipeline follows.

use super::super::raw::RawGitHub;
use super::super::{GitHubConfig, GitHubRepository, SecretSource};
use super::Validator;
use std::path::Path;
use toml::Spanned;

impl Validator<'_> {
    /// `[github]`: exactly one of `webhook_secret_env` and `webhook_secret_file`.
    pub(super) fn github(
        &mut self,
        spanned: &Spanned<RawGitHub>,
        base: &Path,
    ) -> Option<GitHubConfig> {
        let raw = spanned.get_ref();
        let source = match (&raw.webhook_secret_env, &raw.webhook_secret_file) {
            (Some(name), None) => self
                .secret_env(Some(name), "github.webhook_secret")
                .flatten()
                .map(SecretSource::Env),
            (None, Some(file)) if !file.get_ref().trim().is_empty() => Some(SecretSource::File(
                Self::resolve(base, file.get_ref().trim()),
            )),
            (None, Some(file)) => {
                self.push(
                    file,
                    "github.webhook_secret_file",
                    "expected the path of a file holding the webhook secret",
                );
                None
            }
            (Some(_), Some(file)) => {
                self.push(
                    file,
                    "github.webhook_secret_file",
                    "give webhook_secret_env or webhook_secret_file, not both",
                );
                None
            }
            (None, None) => {
                self.push(
                    spanned,
                    "github",
                    "[github] needs webhook_secret_env (the name of the server's environment variable holding the secret GitHub signs webhooks with) or webhook_secret_file",
                );
                None
            }
        };
        Some(GitHubConfig {
            webhook_secret: source?,
        })
    }

    /// A pipeline's `github.repository`: `owner/name` as GitHub spells them.
    pub(super) fn github_repository(
        &mut self,
        raw: &Spanned<String>,
        key: &str,
    ) -> Option<GitHubRepository> {
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
        match text.split_once('/') {
            Some((owner, name)) if valid(owner) && valid(name) => Some(GitHubRepository {
                owner: owner.to_owned(),
                name: name.to_owned(),
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
