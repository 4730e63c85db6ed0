//! The environment-truth keys: which paths are migrations, how a stage's health is
//! probed, which stages must be healthy before a promotion, how the build of a SHA is
//! found, and where what happened is told (webhooks).

use super::super::raw::{RawArtifact, RawProbe, RawSmoke, RawStage, RawVersionProbe, RawWebhook};
use super::super::{
    defaults, ArtifactCheck, ArtifactTarget, CiCheckConfig, PathGlobs, ProbeConfig, ProbeTarget,
    SmokeConfig, StageConfig, VersionExtract, VersionProbe, WebhookConfig,
};
use super::Validator;
use crate::notify::{Event, Format};
use slipway_model::StageId;
use toml::Spanned;

impl Validator<'_> {
    /// `migrations`: the defaults when absent; each glob checked where it is written.
    pub(super) fn migration_globs(
        &mut self,
        raw: Option<&Spanned<Vec<Spanned<String>>>>,
        key: &str,
    ) -> PathGlobs {
        let defaults =
            || PathGlobs::new(defaults::MIGRATIONS).unwrap_or_else(|_| PathGlobs::none());
        let Some(list) = raw else {
            return defaults();
        };
        let mut patterns = Vec::new();
        for (i, glob) in list.get_ref().iter().enumerate() {
            let text = glob.get_ref().trim();
            let at = format!("{key}.migrations[{i}]");
            if text.is_empty() {
                self.push(
                    glob,
                    &at,
                    "expected a path glob such as \"migrations/**\", got an empty string",
                );
            } else if text.starts_with('/') {
                self.push(
                    glob,
                    &at,
                    format!("{text:?} starts with '/': globs match paths relative to the repository's root, so write it without the leading '/'"),
                );
            } else if let Err(e) = PathGlobs::new(&[text]) {
                self.push(
                    glob,
                    &at,
                    format!("{e} (use * within a folder, ** across folders)"),
                );
            } else {
                patterns.push(text.to_owned());
            }
        }
        PathGlobs::new(&patterns).unwrap_or_else(|_| PathGlobs::none())
    }

    /// A probe: exactly one of `url` (http or https) and `command`, with its interval
    /// and timeout.
    pub(super) fn probe(&mut self, spanned: &Spanned<RawProbe>, key: &str) -> Option<ProbeConfig> {
        let raw = spanned.get_ref();
        let target = match (&raw.url, &raw.command) {
            (Some(url), None) => match url::Url::parse(url.get_ref().trim()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                    Some(ProbeTarget::Url(u))
                }
                Ok(_) => {
                    self.push(
                        url,
                        &format!("{key}.url"),
                        "expected an http:// or https:// URL",
                    );
                    None
                }
                Err(e) => {
                    self.push(
                        url,
                        &format!("{key}.url"),
                        format!("expected an http:// or https:// URL ({e})"),
                    );
                    None
                }
            },
            (None, Some(command)) => self
                .argv(
                    command,
                    &format!("{key}.command"),
                    "[\"./check-health.sh\"]",
                )
                .map(ProbeTarget::Command),
            _ => {
                self.push(spanned, key, "a probe needs exactly one of url and command");
                None
            }
        };
        let interval = raw
            .interval_seconds
            .as_ref()
            .map_or(Some(defaults::PROBE_INTERVAL), |s| {
                self.positive_secs(
                    s,
                    &format!("{key}.interval_seconds"),
                    defaults::PROBE_INTERVAL_MIN_SECS,
                )
            });
        let timeout = raw
            .timeout_seconds
            .as_ref()
            .map_or(Some(defaults::PROBE_TIMEOUT), |s| {
                self.positive_secs(
                    s,
                    &format!("{key}.timeout_seconds"),
                    defaults::PROBE_TIMEOUT_MIN_SECS,
                )
            });
        Some(ProbeConfig {
            target: target?,
            interval: interval?,
            timeout: timeout?,
        })
    }

    /// Each stage's `requires_healthy`: stages of the same pipeline that have a health
    /// probe (a stage without one would hold promotions forever), other than itself.
    pub(super) fn requires_healthy(
        &mut self,
        raw: &[Spanned<RawStage>],
        stages: &mut [StageConfig],
        key: &str,
    ) {
        let probed: Vec<(StageId, bool)> = stages
            .iter()
            .map(|s| (s.id.clone(), s.health.is_some()))
            .collect();
        for (j, raw_stage) in raw.iter().enumerate() {
            let Some(list) = &raw_stage.get_ref().requires_healthy else {
                continue;
            };
            let at = format!("{key}.stages[{j}].requires_healthy");
            let own = raw_stage.get_ref().id.get_ref();
            let mut ids = Vec::new();
            for name in list.get_ref() {
                let wanted = name.get_ref();
                match probed.iter().find(|(id, _)| id.as_str() == wanted) {
                    None => self.push(name, &at, format!("no stage {wanted:?} in this pipeline")),
                    Some(_) if wanted == own => {
                        self.push(name, &at, "a stage cannot require itself healthy: its own probe says how it runs, not whether it may be deployed")
                    }
                    Some((_, false)) => self.push(
                        name,
                        &at,
                        format!("stage {wanted:?} has no health probe: give it `health = {{ url = \"…\" }}` or remove it here"),
                    ),
                    Some((id, true)) => ids.push(id.clone()),
                }
            }
            if let Some(stage) = stages.iter_mut().find(|s| s.id.as_str() == own) {
                stage.requires_healthy = ids;
            }
        }
    }

    /// A version probe: a probe, and at most one of `json_pointer` and `regex`.
    pub(super) fn version_probe(
        &mut self,
        spanned: &Spanned<RawVersionProbe>,
        key: &str,
    ) -> Option<VersionProbe> {
        let raw = spanned.get_ref();
        let probe = self.probe(&Spanned::new(spanned.span(), raw.probe()), key);
        let extract = match (&raw.json_pointer, &raw.regex) {
            (None, None) => Some(VersionExtract::Whole),
            (Some(p), None) if p.get_ref().is_empty() || p.get_ref().starts_with('/') => {
                Some(VersionExtract::JsonPointer(p.get_ref().clone()))
            }
            (Some(p), None) => {
                self.push(
                    p,
                    &format!("{key}.json_pointer"),
                    format!("expected a JSON pointer such as \"/git/sha\" (RFC 6901: it starts with '/'), got {:?}", p.get_ref()),
                );
                None
            }
            (None, Some(r)) => match regex::Regex::new(r.get_ref()) {
                Ok(re) => Some(VersionExtract::Regex(re)),
                Err(e) => {
                    let why = e.to_string();
                    let last = why.lines().last().unwrap_or("invalid").trim().to_owned();
                    self.push(
                        r,
                        &format!("{key}.regex"),
                        format!(
                            "{:?} is not a valid regular expression: {last}",
                            r.get_ref()
                        ),
                    );
                    None
                }
            },
            (Some(_), Some(r)) => {
                self.push(
                    r,
                    &format!("{key}.regex"),
                    "give json_pointer or regex, not both",
                );
                None
            }
        };
        let verify_timeout =
            raw.verify_timeout_seconds
                .as_ref()
                .map_or(Some(defaults::VERIFY_TIMEOUT), |s| {
                    self.positive_secs(
                        s,
                        &format!("{key}.verify_timeout_seconds"),
                        defaults::VERIFY_TIMEOUT_MIN_SECS,
                    )
                });
        Some(VersionProbe {
            probe: probe?,
            extract: extract?,
            verify_timeout: verify_timeout?,
        })
    }

    /// An artifact check: exactly one of `url` (an http or https template with `{sha}`)
    /// and `command`, with its timeout and how long a queued promotion waits.
    pub(super) fn artifact(
        &mut self,
        spanned: &Spanned<RawArtifact>,
        key: &str,
    ) -> Option<ArtifactCheck> {
        let raw = spanned.get_ref();
        let target = self.sha_target(
            spanned,
            key,
            "an artifact check",
            "where the build of a SHA is, such as \"https://charts.example/app-{sha}.tgz\"",
            "[\"./has-artifact.sh\"] (the SHA is in SLIPWAY_SHA)",
        );
        let timeout = raw
            .timeout_seconds
            .as_ref()
            .map_or(Some(defaults::ARTIFACT_TIMEOUT), |s| {
                self.positive_secs(s, &format!("{key}.timeout_seconds"), 1)
            });
        let wait = raw
            .wait_minutes
            .as_ref()
            .map_or(Some(defaults::ARTIFACT_WAIT), |m| {
                self.duration(m, &format!("{key}.wait_minutes"), 1, super::Unit::Minutes)
            });
        Some(ArtifactCheck {
            target: target?,
            timeout: timeout?,
            wait: wait?,
        })
    }

    /// What a check asks about a SHA: a URL template with `{sha}`, or a command.
    fn sha_target(
        &mut self,
        spanned: &Spanned<RawArtifact>,
        key: &str,
        what: &str,
        url_example: &str,
        command_example: &str,
    ) -> Option<ArtifactTarget> {
        let raw = spanned.get_ref();
        match (&raw.url, &raw.command) {
            (Some(url), None) => {
                let template = url.get_ref().trim();
                let sample = slipway_model::Sha::parse(&"0".repeat(40)).ok()?;
                let at = format!("{key}.url");
                if !template.contains(ArtifactTarget::PLACEHOLDER) {
                    self.push(
                        url,
                        &at,
                        format!("{template:?} has no {{sha}}: write {url_example}"),
                    );
                    return None;
                }
                match ArtifactTarget::url_for(template, &sample) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                        Some(ArtifactTarget::Url(template.to_owned()))
                    }
                    Ok(_) => {
                        self.push(url, &at, "expected an http:// or https:// URL template");
                        None
                    }
                    Err(e) => {
                        self.push(
                            url,
                            &at,
                            format!("expected an http:// or https:// URL template ({e})"),
                        );
                        None
                    }
                }
            }
            (None, Some(command)) => self
                .argv(command, &format!("{key}.command"), command_example)
                .map(ArtifactTarget::Command),
            _ => {
                self.push(
                    spanned,
                    key,
                    format!("{what} needs exactly one of url and command"),
                );
                None
            }
        }
    }

    /// A pipeline's `ci`: where a repository that is not on GitHub says whether a SHA's
    /// CI is green (a URL template answering `{"state": …}`, or a command's exit code).
    pub(super) fn ci_check(
        &mut self,
        spanned: &Spanned<RawArtifact>,
        key: &str,
    ) -> Option<CiCheckConfig> {
        if let Some(w) = &spanned.get_ref().wait_minutes {
            self.push(
                w,
                &format!("{key}.wait_minutes"),
                "a CI check does not wait: remove wait_minutes",
            );
        }
        let target = self.sha_target(
            spanned,
            key,
            "a CI check",
            "where your CI answers for a SHA, such as \"https://ci.example/api/status/{sha}\"",
            "[\"./ci-status.sh\"] (the SHA is in SLIPWAY_SHA; exit 0 green, 75 still running, anything else failed)",
        );
        let timeout = match &spanned.get_ref().timeout_seconds {
            None => Some(defaults::ARTIFACT_TIMEOUT),
            Some(s) => self.positive_secs(s, &format!("{key}.timeout_seconds"), 1),
        };
        Some(CiCheckConfig {
            target: target?,
            timeout: timeout?,
        })
    }

    /// A pipeline's `webhooks`: each an id unique in the pipeline, an http(s) URL, a
    /// known format, a key's variable name, known events.
    pub(super) fn webhooks(
        &mut self,
        raw: &[Spanned<RawWebhook>],
        key: &str,
    ) -> Vec<WebhookConfig> {
        let mut hooks: Vec<WebhookConfig> = Vec::new();
        for (i, spanned) in raw.iter().enumerate() {
            let w = spanned.get_ref();
            let at = format!("{key}.webhooks[{i}]");
            let id = match StageId::parse(w.id.get_ref()) {
                Ok(_) if hooks.iter().any(|h| &h.id == w.id.get_ref()) => {
                    self.push(
                        &w.id,
                        &format!("{at}.id"),
                        format!("duplicate webhook id {:?} in this pipeline", w.id.get_ref()),
                    );
                    None
                }
                Ok(_) => Some(w.id.get_ref().clone()),
                Err(e) => {
                    self.push(&w.id, &format!("{at}.id"), e.to_string());
                    None
                }
            };
            let url = match url::Url::parse(w.url.get_ref().trim()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
                _ => {
                    self.push(
                        &w.url,
                        &format!("{at}.url"),
                        "expected an http:// or https:// URL",
                    );
                    None
                }
            };
            let format = match &w.format {
                None => Some(Format::Json),
                Some(f) => match Format::parse(f.get_ref()) {
                    Some(format) => Some(format),
                    None => {
                        self.push(
                            f,
                            &format!("{at}.format"),
                            format!("expected \"json\" or \"slack\", got {:?}", f.get_ref()),
                        );
                        None
                    }
                },
            };
            let secret_env = self.secret_env(w.secret_env.as_ref(), &at);
            let mut events = Vec::new();
            for name in w.events.iter().flat_map(|list| list.get_ref()) {
                match Event::parse(name.get_ref()) {
                    Some(e) => events.push(e),
                    None => self.push(
                        name,
                        &format!("{at}.events"),
                        format!(
                            "unknown event {:?}; the events are {}",
                            name.get_ref(),
                            Event::ALL
                                .iter()
                                .map(|e| e.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ),
                }
            }
            if let (Some(id), Some(url), Some(format), Some(secret_env)) =
                (id, url, format, secret_env)
            {
                hooks.push(WebhookConfig {
                    id,
                    url,
                    format,
                    secret_env,
                    events,
                });
            }
        }
        hooks
    }

    /// `smoke`: a command; only where no version probe verifies deploys already.
    pub(super) fn smoke(
        &mut self,
        spanned: &Spanned<RawSmoke>,
        has_version: bool,
        key: &str,
    ) -> Option<SmokeConfig> {
        let raw = spanned.get_ref();
        if has_version {
            self.push(
                spanned,
                key,
                "this stage's version probe verifies its deploys already; remove smoke, or version",
            );
            return None;
        }
        let command = self.argv(
            &raw.command,
            &format!("{key}.command"),
            "[\"./smoke-test.sh\"]",
        )?;
        let timeout = raw
            .timeout_seconds
            .as_ref()
            .map_or(Some(defaults::SMOKE_TIMEOUT), |s| {
                self.positive_secs(s, &format!("{key}.timeout_seconds"), 1)
            })?;
        Some(SmokeConfig { command, timeout })
    }
}
