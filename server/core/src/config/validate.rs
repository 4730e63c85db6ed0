//! Validation: turns the raw file into a [`Config`], collecting every problem, each
//! located at file:line:column with its key path and what was expected, instead of
//! stopping at the first.

use super::defaults;
use super::raw::{RawConfig, RawHttp, RawPipeline};
use super::{
    Config, ConfigError, DatabaseUrl, DeployerKind, HttpConfig, PipelineConfig, Problem, RepoSource,
};
use slipway_model::client::IpNet;
use slipway_model::PipelineId;
use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

mod deployer;
mod environment;
mod github;
mod governance;
mod operations;
mod stage;

/// Validates config text as if read from `path`.
pub(super) fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let mut v = Validator {
        text,
        problems: Vec::new(),
    };
    let raw: RawConfig = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let key = key_at(text, span.start);
            v.push_span(span, &key, e.message().to_owned());
            return Err(v.into_error(path));
        }
    };
    let base_dir = path
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(Path::new("."));
    let base_dir = std::path::absolute(base_dir).unwrap_or_else(|_| base_dir.to_owned());
    let config = v.config(raw, &base_dir, path);
    if v.problems.is_empty() {
        Ok(config)
    } else {
        Err(v.into_error(path))
    }
}

/// Collects problems while building the [`Config`]: each check pushes a located
/// problem and carries on with a fallback, so one run reports them all.
struct Validator<'a> {
    text: &'a str,
    problems: Vec<Problem>,
}

impl Validator<'_> {
    fn push_span(&mut self, span: Range<usize>, key: &str, message: String) {
        let start = span.start.min(self.text.len());
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = self.text[line_start..start].chars().count() + 1;
        let snippet = self.text[line_start..]
            .lines()
            .next()
            .map(|l| l.trim_end().to_owned());
        self.problems.push(Problem {
            line,
            column,
            key: key.to_owned(),
            message,
            snippet,
        });
    }

    fn push<T>(&mut self, at: &Spanned<T>, key: &str, message: impl Into<String>) {
        self.push_span(at.span(), key, message.into());
    }

    fn into_error(mut self, path: &Path) -> ConfigError {
        self.problems.sort_by_key(|p| (p.line, p.column));
        ConfigError {
            file: path.to_owned(),
            problems: self.problems,
        }
    }

    fn resolve(base: &Path, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_owned()
        } else {
            base.join(p)
        }
    }

    /// A whole number of `unit`s between `min` and ten years, as a duration.
    fn positive_secs(&mut self, v: &Spanned<i64>, key: &str, min: i64) -> Option<Duration> {
        self.duration(v, key, min, Unit::Seconds)
    }

    fn duration(&mut self, v: &Spanned<i64>, key: &str, min: i64, unit: Unit) -> Option<Duration> {
        let n = *v.get_ref();
        // Beyond this, deadlines computed from the value would overflow the calendar.
        let max = defaults::MAX_DURATION_SECS / unit.seconds();
        if n < min || n > max {
            self.push(
                v,
                key,
                format!(
                    "expected a whole number of {} from {min} to {max} (ten years), got {n}",
                    unit.name()
                ),
            );
            None
        } else {
            Some(Duration::from_secs(
                n.unsigned_abs() * unit.seconds().unsigned_abs(),
            ))
        }
    }

    fn config(&mut self, raw: RawConfig, base: &Path, path: &Path) -> Config {
        let listen = match &raw.listen {
            None => defaults::LISTEN,
            Some(s) => s.get_ref().parse().unwrap_or_else(|_| {
                self.push(
                    s,
                    "listen",
                    "expected an IP address and port, like \"127.0.0.1:3000\" or \"0.0.0.0:8080\"",
                );
                defaults::LISTEN
            }),
        };
        let fallback_url =
            || url::Url::parse(&format!("http://{listen}/")).expect("an address makes a URL");
        let base_url = match &raw.base_url {
            None => fallback_url(),
            Some(s) => match url::Url::parse(s.get_ref()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => u,
                _ => {
                    self.push(s, "base_url", "expected the http(s) URL users open Slipway at, like \"https://slipway.example.com\"");
                    fallback_url()
                }
            },
        };
        let data_dir = raw.data_dir.as_ref().map_or_else(
            || base.join(defaults::DATA_DIR),
            |d| Self::resolve(base, d.get_ref()),
        );
        let default_database = || DatabaseUrl::sqlite_file(&data_dir.join(defaults::DATABASE_FILE));
        let database_url = match &raw.database_url {
            None => default_database(),
            Some(s) => DatabaseUrl::parse(s.get_ref()).unwrap_or_else(|| {
                self.push(s, "database_url", DatabaseUrl::EXPECTED);
                default_database()
            }),
        };
        let session_inactivity = match &raw.sessions.inactivity_minutes {
            None => defaults::SESSION_INACTIVITY,
            Some(m) => self
                .duration(
                    m,
                    "sessions.inactivity_minutes",
                    defaults::SESSION_INACTIVITY_MIN_MINUTES,
                    Unit::Minutes,
                )
                .unwrap_or(defaults::SESSION_INACTIVITY),
        };
        let session_absolute = match &raw.sessions.absolute_hours {
            None => defaults::SESSION_ABSOLUTE,
            Some(h) => self
                .duration(
                    h,
                    "sessions.absolute_hours",
                    defaults::SESSION_ABSOLUTE_MIN_HOURS,
                    Unit::Hours,
                )
                .unwrap_or(defaults::SESSION_ABSOLUTE),
        };
        if session_absolute < session_inactivity {
            if let Some(h) = &raw.sessions.absolute_hours {
                self.push(
                    h,
                    "sessions.absolute_hours",
                    format!(
                        "must be at least the inactivity period ({} minutes); raise it or lower sessions.inactivity_minutes",
                        session_inactivity.as_secs() / 60
                    ),
                );
            }
        }
        let site_dir = raw
            .site_dir
            .as_ref()
            .map(|d| Self::resolve(base, d.get_ref()));
        let shutdown_grace = match &raw.shutdown_grace_seconds {
            None => defaults::SHUTDOWN_GRACE,
            Some(s) => self
                .positive_secs(
                    s,
                    "shutdown_grace_seconds",
                    defaults::SHUTDOWN_GRACE_MIN_SECS,
                )
                .unwrap_or(defaults::SHUTDOWN_GRACE),
        };

        let http = self.http(&raw.http);
        let replica_timeout = match &raw.cluster.replica_timeout_seconds {
            None => defaults::REPLICA_TIMEOUT,
            Some(s) => self
                .positive_secs(
                    s,
                    "cluster.replica_timeout_seconds",
                    defaults::REPLICA_TIMEOUT_MIN_SECS,
                )
                .unwrap_or(defaults::REPLICA_TIMEOUT),
        };

        let trusted_proxies = raw
            .trusted_proxies
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.get_ref()
                    .parse::<IpNet>()
                    .map_err(|e| self.push(s, &format!("trusted_proxies[{i}]"), e.to_string()))
                    .ok()
            })
            .collect();

        let mut seen = HashSet::new();
        let mut pipelines = Vec::new();
        for (i, p) in raw.pipelines.iter().enumerate() {
            let key = format!("pipelines[{i}]");
            if let Some(p) = self.pipeline(p.get_ref(), &key, base) {
                if !seen.insert(p.id.clone()) {
                    let id = &raw.pipelines[i].get_ref().id;
                    self.push(
                        id,
                        &format!("{key}.id"),
                        format!(
                            "duplicate pipeline id {:?}: each pipeline needs its own id",
                            p.id.as_str()
                        ),
                    );
                }
                pipelines.push(p);
            }
        }
        Config {
            source: path.to_owned(),
            listen,
            base_url,
            data_dir,
            database_url,
            site_dir,
            session_inactivity,
            session_absolute,
            shutdown_grace,
            trusted_proxies,
            http,
            replica_timeout,
            metrics: self.metrics(&raw.metrics, base),
            log_format: self.log_format(raw.log_format.as_ref()),
            github: raw
                .github
                .as_ref()
                .map(|g| self.github(g, base))
                .unwrap_or_default(),
            pipelines,
        }
    }

    fn http(&mut self, raw: &RawHttp) -> HttpConfig {
        let header_timeout = raw
            .header_timeout_seconds
            .as_ref()
            .and_then(|s| {
                self.positive_secs(
                    s,
                    "http.header_timeout_seconds",
                    defaults::HTTP_HEADER_TIMEOUT_MIN_SECS,
                )
            })
            .unwrap_or(defaults::HTTP_HEADER_TIMEOUT);
        let drain = raw
            .drain_seconds
            .as_ref()
            .and_then(|s| {
                self.positive_secs(s, "http.drain_seconds", defaults::HTTP_DRAIN_MIN_SECS)
            })
            .unwrap_or(defaults::HTTP_DRAIN);
        let max_connections = raw.max_connections.as_ref().and_then(|v| {
            let n = *v.get_ref();
            if !(defaults::HTTP_MAX_CONNECTIONS_MIN..=defaults::HTTP_MAX_CONNECTIONS_MAX).contains(&n) {
                self.push(
                    v,
                    "http.max_connections",
                    format!(
                        "expected a whole number from {} to {}, got {n} (leave it out to derive it from the file descriptor limit)",
                        defaults::HTTP_MAX_CONNECTIONS_MIN,
                        defaults::HTTP_MAX_CONNECTIONS_MAX
                    ),
                );
                None
            } else {
                usize::try_from(n).ok()
            }
        });
        HttpConfig {
            header_timeout,
            max_connections,
            drain,
        }
    }

    fn pipeline(&mut self, p: &RawPipeline, key: &str, base: &Path) -> Option<PipelineConfig> {
        let id = PipelineId::parse(p.id.get_ref())
            .map_err(|e| self.push(&p.id, &format!("{key}.id"), e.to_string()))
            .ok();
        let github = p
            .github
            .as_ref()
            .and_then(|g| self.github_repository(g, key));
        let repository = match (&p.repository, &p.github) {
            (Some(raw), _) => self.repository(raw, key, base),
            // No clone: the API is the source.
            (None, Some(_)) => github.as_ref().map(|g| RepoSource::GitHub(g.full_name())),
            (None, None) => {
                self.push(&p.id, key, "a pipeline needs repository (a local path or a git URL to mirror) or github = { repository = \"owner/name\" } (the GitHub API, no clone)");
                None
            }
        };
        let github_branch = p.github.as_ref().and_then(|g| g.get_ref().branch.as_ref());
        let branch = match (&p.branch, github_branch) {
            (Some(_), Some(gb)) => {
                self.push(
                    gb,
                    &format!("{key}.github.branch"),
                    "the branch is given twice: keep branch or github.branch",
                );
                defaults::BRANCH.to_owned()
            }
            (None, None) => defaults::BRANCH.to_owned(),
            (Some(b), None) | (None, Some(b)) => {
                if !is_safe_branch(b.get_ref()) {
                    self.push(b, &format!("{key}.branch"), "expected a branch name such as \"main\" or \"release/2.x\" (no spaces, '..', leading '-' or special characters)");
                }
                b.get_ref().clone()
            }
        };
        let fetch_interval = match &p.fetch_interval_seconds {
            None => defaults::FETCH_INTERVAL,
            Some(s) => self
                .positive_secs(
                    s,
                    &format!("{key}.fetch_interval_seconds"),
                    defaults::FETCH_INTERVAL_MIN_SECS,
                )
                .unwrap_or(defaults::FETCH_INTERVAL),
        };
        let name = p
            .name
            .as_ref()
            .map_or_else(|| p.id.get_ref().clone(), |n| n.get_ref().clone());

        let raw_stages = p.stages.get_ref();
        if raw_stages.is_empty() {
            self.push(
                &p.stages,
                &format!("{key}.stages"),
                "a pipeline needs at least one stage",
            );
        }
        let explicit_production = raw_stages.iter().any(|s| s.get_ref().production.is_some());
        let mut stages = Vec::new();
        let mut seen = HashSet::new();
        for (j, s) in raw_stages.iter().enumerate() {
            let skey = format!("{key}.stages[{j}]");
            let is_last = j + 1 == raw_stages.len();
            if let Some(stage) = self.stage(
                s.get_ref(),
                &skey,
                base,
                defaults::production(is_last) && !explicit_production,
            ) {
                if !seen.insert(stage.id.clone()) {
                    self.push(
                        &s.get_ref().id,
                        &format!("{skey}.id"),
                        format!(
                            "duplicate stage id {:?} in this pipeline: each stage needs its own id",
                            stage.id.as_str()
                        ),
                    );
                }
                if is_last {
                    if let Some(so) = &s.get_ref().sign_off {
                        self.push(
                            so,
                            &format!("{skey}.sign_off"),
                            "the last stage has no next stage for a sign-off to hold back; \
                             move sign_off to the stage whose SHAs must be signed off before they go on",
                        );
                    }
                }
                stages.push(stage);
            }
        }
        self.requires_healthy(raw_stages, &mut stages, key);
        if github.is_none() && p.github.is_none() {
            for (j, s) in raw_stages.iter().enumerate() {
                let on_github = stages.iter().any(|st| {
                    st.id.as_str() == s.get_ref().id.get_ref()
                        && matches!(
                            st.deployer.kind,
                            DeployerKind::GitHubActions(_) | DeployerKind::GitHubExternal(_)
                        )
                });
                if on_github {
                    self.push(
                        &s.get_ref().deployer,
                        &format!("{key}.stages[{j}].deployer"),
                        "a GitHub deployer needs the pipeline's github = { repository = \"owner/name\" }",
                    );
                }
            }
        }
        // The pipeline's artifact check is every stage's that has none of its own.
        if let Some(check) = p
            .artifact
            .as_ref()
            .and_then(|a| self.artifact(a, &format!("{key}.artifact")))
        {
            for stage in stages.iter_mut().filter(|s| s.artifact.is_none()) {
                stage.artifact = Some(check.clone());
            }
        }
        Some(PipelineConfig {
            id: id?,
            name,
            repository: repository?,
            branch,
            fetch_interval,
            freezes: self.freezes(&p.freezes, key, &stages),
            calendars: self.calendars(&p.calendars, key, &stages, base),
            migrations: self.migration_globs(p.migrations.as_ref(), key),
            webhooks: self.webhooks(&p.webhooks, key),
            ci: p
                .ci
                .as_ref()
                .and_then(|c| self.ci_check(c, &format!("{key}.ci"))),
            github,
            stages,
        })
    }
}

impl Validator<'_> {
    /// A pipeline's `repository`: a git URL, or a path resolved against the config's
    /// folder that must exist.
    fn repository(&mut self, raw: &Spanned<String>, key: &str, base: &Path) -> Option<RepoSource> {
        let repo = raw.get_ref().trim();
        if repo.is_empty() {
            self.push(
                raw,
                &format!("{key}.repository"),
                "expected a local path or a git URL, got an empty string",
            );
            None
        } else if looks_remote(repo) {
            Some(RepoSource::Remote(repo.to_owned()))
        } else {
            let path = Self::resolve(base, repo);
            if path.exists() {
                Some(RepoSource::Local(path))
            } else {
                self.push(raw, &format!("{key}.repository"), format!("no repository at {} (relative paths are resolved against the config file's folder)", path.display()));
                None
            }
        }
    }
}

/// The key written on the line containing byte `at` (`key = value`), if any.
fn key_at(text: &str, at: usize) -> String {
    let at = at.min(text.len());
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next().unwrap_or("");
    match line.split_once('=') {
        Some((key, _)) if !key.trim_start().starts_with('[') => key.trim().to_owned(),
        _ => String::new(),
    }
}

/// Whether a repository string is a URL (or scp-like `user@host:path`) rather than a path.
fn looks_remote(s: &str) -> bool {
    if s.contains("://") {
        return true;
    }
    // scp-like syntax: something@host:path, with no slash before the colon.
    match s.find(':') {
        Some(colon) => !s[..colon].contains('/') && s[..colon].contains('@'),
        None => false,
    }
}

/// A conservative subset of git's ref-name rules: enough for real branch names, and
/// nothing that could be read as an option or a revision range.
pub fn is_safe_branch(b: &str) -> bool {
    !b.is_empty()
        && b.len() <= 200
        && !b.starts_with(['-', '/', '.'])
        && !b.ends_with(['/', '.'])
        && !b.ends_with(".lock")
        && !b.contains("..")
        && !b.contains("//")
        && !b.contains("@{")
        && b.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'/'))
}

/// The unit a duration key is written in.
#[derive(Clone, Copy)]
enum Unit {
    Seconds,
    Minutes,
    Hours,
}

impl Unit {
    fn seconds(self) -> i64 {
        match self {
            Unit::Seconds => 1,
            Unit::Minutes => 60,
            Unit::Hours => 3600,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Unit::Seconds => "seconds",
            Unit::Minutes => "minutes",
            Unit::Hours => "hours",
        }
    }
}
