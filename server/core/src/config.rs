//! `slipway.toml`: parsing and validation.
//!
//! Parsing happens in two steps. serde reads the file into `Raw*` structs that keep
//! every value's byte span (`toml::Spanned`) and refuse unknown keys; validation then
//! turns them into [`Config`], collecting *every* problem with its file, line, key and
//! what was expected. An operator fixing a config sees all mistakes at once, never a
//! panic or a bare serde message.

use serde::Deserialize;
use slipway_model::client::IpNet;
use slipway_model::{PipelineId, Role, RoleSet, StageId};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// The validated configuration the server runs on.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from (relative paths inside it are resolved against its folder).
    pub source: PathBuf,
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// The URL users reach Slipway at: used for the Origin check and the `Secure` cookie flag.
    pub base_url: url::Url,
    /// Where Slipway keeps its database (by default), repository mirrors and run files.
    pub data_dir: PathBuf,
    /// sqlx database URL.
    pub database_url: String,
    /// Where the built site (`pkg/`, CSS) is served from; `None` picks the default.
    pub site_dir: Option<PathBuf>,
    /// Sessions end after this long without a request.
    pub session_inactivity: Duration,
    /// Sessions end this long after login whatever the activity (a stolen cookie
    /// cannot be kept alive forever by using it).
    pub session_absolute: Duration,
    /// At shutdown, running deploys get this long to finish before they are cancelled.
    pub shutdown_grace: Duration,
    /// Reverse proxies whose `X-Forwarded-For` is believed when they connect (empty:
    /// none; the connection's peer is the client). See [`slipway_model::client`].
    pub trusted_proxies: Vec<IpNet>,
    /// The boards, in config order.
    pub pipelines: Vec<PipelineConfig>,
}

/// One service's board.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Config id, used in URLs and history.
    pub id: PipelineId,
    /// Display name.
    pub name: String,
    /// Where the git repository comes from.
    pub repository: RepoSource,
    /// The branch whose first-parent history feeds the board.
    pub branch: String,
    /// How often the mirror is fetched in the background.
    pub fetch_interval: Duration,
    /// Environments, in promotion order.
    pub stages: Vec<StageConfig>,
}

/// Where a pipeline's repository lives. Both are mirrored with the `git` CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoSource {
    /// A repository on this machine (absolute after resolution).
    Local(PathBuf),
    /// A URL git understands (`https://…`, `ssh://…`, `git@host:path`).
    Remote(String),
}

impl fmt::Display for RepoSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RepoSource::Local(p) => write!(f, "{}", p.display()),
            RepoSource::Remote(u) => f.write_str(u),
        }
    }
}

/// One environment column.
#[derive(Debug, Clone)]
pub struct StageConfig {
    /// Config id; history is keyed by it.
    pub id: StageId,
    /// Column title.
    pub label: String,
    /// Production stages are drawn unmistakably and get stricter defaults.
    pub production: bool,
    /// Roles allowed to promote into this stage.
    pub promote_roles: RoleSet,
    /// Whether a new SHA must descend from the stage's current SHA.
    pub fast_forward_only: bool,
    /// How a deploy to this stage runs.
    pub deployer: DeployerConfig,
}

/// A command deployer: an argv run without a shell, inputs only through environment
/// variables.
#[derive(Debug, Clone)]
pub struct DeployerConfig {
    /// Program and arguments.
    pub command: Vec<String>,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// Working directory (absolute after resolution); `None` = the data directory.
    pub workdir: Option<PathBuf>,
    /// The deploy is ended (TERM, then KILL) after this long.
    pub timeout: Duration,
}

impl Config {
    /// Finds a pipeline by id.
    pub fn pipeline(&self, id: &str) -> Option<&PipelineConfig> {
        self.pipelines.iter().find(|p| p.id.as_str() == id)
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_owned(),
            problems: vec![Problem {
                line: 0,
                column: 0,
                key: String::new(),
                message: format!("cannot read the config file: {e}"),
                snippet: None,
            }],
        })?;
        Config::parse(&text, path)
    }

    /// Validates config text as if read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
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
}

/// Everything wrong with a config file.
#[derive(Debug, Clone)]
pub struct ConfigError {
    /// The file that was read.
    pub file: PathBuf,
    /// Each problem found, in file order.
    pub problems: Vec<Problem>,
}

/// One problem, located.
#[derive(Debug, Clone)]
pub struct Problem {
    /// 1-based line (0 when the file could not be read at all).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The key path, e.g. `pipelines[0].stages[2].promote_roles`.
    pub key: String,
    /// What is wrong and what is expected.
    pub message: String,
    /// The offending source line, for context.
    pub snippet: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(
            f,
            "invalid configuration in {} ({n} problem{}):",
            self.file.display(),
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            if p.line == 0 {
                writeln!(f, "  {}: {}", self.file.display(), p.message)?;
                continue;
            }
            let key = if p.key.is_empty() {
                String::new()
            } else {
                format!(" `{}`", p.key)
            };
            writeln!(
                f,
                "  {}:{}:{}:{key} {}",
                self.file.display(),
                p.line,
                p.column,
                p.message
            )?;
            if let Some(s) = &p.snippet {
                writeln!(f, "      | {s}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

// ---------------------------------------------------------------------------------
// Raw, span-carrying shapes of the file.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<Spanned<String>>,
    base_url: Option<Spanned<String>>,
    data_dir: Option<Spanned<String>>,
    database_url: Option<Spanned<String>>,
    site_dir: Option<Spanned<String>>,
    shutdown_grace_seconds: Option<Spanned<i64>>,
    #[serde(default)]
    trusted_proxies: Vec<Spanned<String>>,
    #[serde(default)]
    sessions: RawSessions,
    #[serde(default)]
    pipelines: Vec<Spanned<RawPipeline>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSessions {
    inactivity_minutes: Option<Spanned<i64>>,
    absolute_hours: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    id: Spanned<String>,
    name: Option<Spanned<String>>,
    repository: Spanned<String>,
    #[serde(default)]
    branch: Option<Spanned<String>>,
    fetch_interval_seconds: Option<Spanned<i64>>,
    stages: Spanned<Vec<Spanned<RawStage>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    id: Spanned<String>,
    label: Option<Spanned<String>>,
    production: Option<Spanned<bool>>,
    promote_roles: Option<Spanned<Vec<Spanned<String>>>>,
    fast_forward_only: Option<Spanned<bool>>,
    deployer: Spanned<RawDeployer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeployer {
    command: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    env: BTreeMap<String, Spanned<String>>,
    workdir: Option<Spanned<String>>,
    timeout_seconds: Option<Spanned<i64>>,
}

// ---------------------------------------------------------------------------------

struct Validator<'a> {
    text: &'a str,
    problems: Vec<Problem>,
}

/// Default time a deploy may run.
const DEFAULT_DEPLOY_TIMEOUT: Duration = Duration::from_secs(30 * 60);

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

    fn positive_secs(&mut self, v: &Spanned<i64>, key: &str, min: i64) -> Option<Duration> {
        let n = *v.get_ref();
        if n < min {
            self.push(
                v,
                key,
                format!("expected a whole number of at least {min}, got {n}"),
            );
            None
        } else {
            Some(Duration::from_secs(n.unsigned_abs()))
        }
    }

    fn config(&mut self, raw: RawConfig, base: &Path, path: &Path) -> Config {
        let listen = match &raw.listen {
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
            Some(s) => s.get_ref().parse().unwrap_or_else(|_| {
                self.push(
                    s,
                    "listen",
                    "expected an IP address and port, like \"127.0.0.1:3000\" or \"0.0.0.0:8080\"",
                );
                SocketAddr::from(([127, 0, 0, 1], 3000))
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
        let data_dir = raw
            .data_dir
            .as_ref()
            .map_or_else(|| base.join("data"), |d| Self::resolve(base, d.get_ref()));
        let database_url = match &raw.database_url {
            None => format!("sqlite://{}", data_dir.join("slipway.db").display()),
            Some(s) => {
                if !s.get_ref().starts_with("sqlite:") {
                    self.push(s, "database_url", "expected a SQLite URL like \"sqlite:///var/lib/slipway/slipway.db\" (PostgreSQL support is not built yet)");
                }
                s.get_ref().clone()
            }
        };
        let session_inactivity = match &raw.sessions.inactivity_minutes {
            None => Duration::from_secs(12 * 3600),
            Some(m) => self
                .positive_secs(m, "sessions.inactivity_minutes", 1)
                .map_or(Duration::from_secs(12 * 3600), |d| d * 60),
        };
        let session_absolute = match &raw.sessions.absolute_hours {
            None => Duration::from_secs(7 * 24 * 3600),
            Some(h) => self
                .positive_secs(h, "sessions.absolute_hours", 1)
                .map_or(Duration::from_secs(7 * 24 * 3600), |d| d * 3600),
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
            None => Duration::from_secs(30),
            Some(s) => self
                .positive_secs(s, "shutdown_grace_seconds", 0)
                .unwrap_or(Duration::from_secs(30)),
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
            pipelines,
        }
    }

    fn pipeline(&mut self, p: &RawPipeline, key: &str, base: &Path) -> Option<PipelineConfig> {
        let id = PipelineId::parse(p.id.get_ref())
            .map_err(|e| self.push(&p.id, &format!("{key}.id"), e.to_string()))
            .ok();
        let repo = p.repository.get_ref().trim();
        let repository = if repo.is_empty() {
            self.push(
                &p.repository,
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
                self.push(&p.repository, &format!("{key}.repository"), format!("no repository at {} (relative paths are resolved against the config file's folder)", path.display()));
                None
            }
        };
        let branch = match &p.branch {
            None => "main".to_owned(),
            Some(b) => {
                if !is_safe_branch(b.get_ref()) {
                    self.push(b, &format!("{key}.branch"), "expected a branch name such as \"main\" or \"release/2.x\" (no spaces, '..', leading '-' or special characters)");
                }
                b.get_ref().clone()
            }
        };
        let fetch_interval = match &p.fetch_interval_seconds {
            None => Duration::from_secs(60),
            Some(s) => self
                .positive_secs(s, &format!("{key}.fetch_interval_seconds"), 5)
                .unwrap_or(Duration::from_secs(60)),
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
            if let Some(stage) =
                self.stage(s.get_ref(), &skey, base, is_last && !explicit_production)
            {
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
                stages.push(stage);
            }
        }
        Some(PipelineConfig {
            id: id?,
            name,
            repository: repository?,
            branch,
            fetch_interval,
            stages,
        })
    }

    fn stage(
        &mut self,
        s: &RawStage,
        key: &str,
        base: &Path,
        default_production: bool,
    ) -> Option<StageConfig> {
        let id = StageId::parse(s.id.get_ref())
            .map_err(|e| self.push(&s.id, &format!("{key}.id"), e.to_string()))
            .ok();
        let production = s
            .production
            .as_ref()
            .map_or(default_production, |p| *p.get_ref());
        let promote_roles = match &s.promote_roles {
            None if production => [Role::Ops].into_iter().collect(),
            None => [Role::Qa, Role::Ops].into_iter().collect(),
            Some(list) => {
                let mut set = RoleSet::EMPTY;
                for r in list.get_ref() {
                    match Role::parse(r.get_ref()) {
                        Ok(role) => set.insert(role),
                        Err(e) => self.push(r, &format!("{key}.promote_roles"), e.to_string()),
                    }
                }
                if list.get_ref().is_empty() {
                    self.push(list, &format!("{key}.promote_roles"), "expected at least one role (viewer, dev, qa, ops, admin); nobody could promote into this stage");
                }
                set
            }
        };
        let fast_forward_only = s
            .fast_forward_only
            .as_ref()
            .map_or(production, |f| *f.get_ref());
        let label = s
            .label
            .as_ref()
            .map_or_else(|| s.id.get_ref().clone(), |l| l.get_ref().clone());
        let deployer = self.deployer(s.deployer.get_ref(), &format!("{key}.deployer"), base);
        Some(StageConfig {
            id: id?,
            label,
            production,
            promote_roles,
            fast_forward_only,
            deployer: deployer?,
        })
    }

    fn deployer(&mut self, d: &RawDeployer, key: &str, base: &Path) -> Option<DeployerConfig> {
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
        for name in d.env.keys() {
            let valid = !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !name.as_bytes()[0].is_ascii_digit();
            if !valid || name.starts_with("SLIPWAY_") {
                let at = &d.env[name];
                self.push(at, &format!("{key}.env.{name}"), "environment variable names use letters, digits and '_', and SLIPWAY_* is reserved for the values Slipway sets");
            }
        }
        let timeout = match &d.timeout_seconds {
            None => DEFAULT_DEPLOY_TIMEOUT,
            Some(t) => self.positive_secs(t, &format!("{key}.timeout_seconds"), 1)?,
        };
        Some(DeployerConfig {
            command,
            env: d
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.get_ref().clone()))
                .collect(),
            workdir: d.workdir.as_ref().map(|w| Self::resolve(base, w.get_ref())),
            timeout,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_dir() -> tempfile::TempDir {
        tempfile::tempdir().expect("temp dir")
    }

    fn parse(text: &str, dir: &Path) -> Result<Config, ConfigError> {
        Config::parse(text, &dir.join("slipway.toml"))
    }

    fn minimal(extra_stage: &str) -> String {
        format!(
            r#"
[[pipelines]]
id = "web"
repository = "."

[[pipelines.stages]]
id = "staging"
deployer = {{ command = ["true"] }}

[[pipelines.stages]]
id = "production"
deployer = {{ command = ["true"] }}
{extra_stage}
"#
        )
    }

    #[test]
    fn a_minimal_config_gets_the_documented_defaults() {
        let dir = repo_dir();
        let c = parse(&minimal(""), dir.path()).expect("valid");
        assert_eq!(c.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(c.base_url.as_str(), "http://127.0.0.1:3000/");
        assert_eq!(c.data_dir, dir.path().join("data"));
        assert!(
            c.trusted_proxies.is_empty(),
            "no proxy is trusted unless listed"
        );
        let p = &c.pipelines[0];
        assert_eq!(p.branch, "main");
        assert_eq!(p.repository, RepoSource::Local(dir.path().join(".")));
        let (staging, prod) = (&p.stages[0], &p.stages[1]);
        assert!(!staging.production && !staging.fast_forward_only);
        assert!(
            prod.production && prod.fast_forward_only,
            "the last stage is production by default"
        );
        assert_eq!(prod.promote_roles, [Role::Ops].into_iter().collect());
        assert_eq!(
            staging.promote_roles,
            [Role::Qa, Role::Ops].into_iter().collect()
        );
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges_and_bad_ones_are_named() {
        let dir = repo_dir();
        let good = format!(
            "trusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n{}",
            minimal("")
        );
        let c = parse(&good, dir.path()).expect("valid");
        assert_eq!(c.trusted_proxies.len(), 2);
        let bad = format!(
            "trusted_proxies = [\"127.0.0.1\", \"nginx\"]\n{}",
            minimal("")
        );
        let msg = parse(&bad, dir.path()).unwrap_err().to_string();
        assert!(msg.contains("slipway.toml:1:"), "{msg}");
        assert!(msg.contains("trusted_proxies[1]"), "{msg}");
        assert!(
            msg.contains("\"nginx\" is not an IP address or range"),
            "{msg}"
        );
    }

    #[test]
    fn unknown_keys_are_errors_with_file_and_line() {
        let dir = repo_dir();
        let text = minimal("colour = \"red\"\n");
        let err = parse(&text, dir.path()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("slipway.toml:13:1"), "{msg}");
        assert!(msg.contains("unknown field `colour`"), "{msg}");
    }

    #[test]
    fn an_unknown_role_names_the_key_and_the_valid_roles() {
        let dir = repo_dir();
        let text = minimal("").replace(
            "id = \"production\"",
            "id = \"production\"\npromote_roles = [\"ops\", \"superuser\"]",
        );
        let msg = parse(&text, dir.path()).unwrap_err().to_string();
        assert!(
            msg.contains("pipelines[0].stages[1].promote_roles"),
            "{msg}"
        );
        assert!(msg.contains("unknown role \"superuser\""), "{msg}");
        assert!(msg.contains("viewer, dev, qa, ops, admin"), "{msg}");
        assert!(msg.contains("slipway.toml:12:"), "{msg}");
    }

    #[test]
    fn duplicate_stage_ids_are_refused() {
        let dir = repo_dir();
        let text = minimal("").replace("id = \"production\"", "id = \"staging\"");
        let msg = parse(&text, dir.path()).unwrap_err().to_string();
        assert!(msg.contains("duplicate stage id \"staging\""), "{msg}");
        assert!(msg.contains("pipelines[0].stages[1].id"), "{msg}");
    }

    #[test]
    fn a_missing_repository_is_named() {
        let dir = repo_dir();
        let text = minimal("").replace("repository = \".\"\n", "");
        let msg = parse(&text, dir.path()).unwrap_err().to_string();
        assert!(msg.contains("missing field `repository`"), "{msg}");
    }

    #[test]
    fn a_repository_path_that_does_not_exist_is_refused() {
        let dir = repo_dir();
        let text = minimal("").replace("repository = \".\"", "repository = \"nope/repo\"");
        let msg = parse(&text, dir.path()).unwrap_err().to_string();
        assert!(msg.contains("no repository at"), "{msg}");
    }

    #[test]
    fn remote_urls_are_kept_as_they_are() {
        let dir = repo_dir();
        for url in [
            "https://example.com/a/b.git",
            "git@github.com:a/b.git",
            "ssh://git@host/x",
        ] {
            let text =
                minimal("").replace("repository = \".\"", &format!("repository = \"{url}\""));
            let c = parse(&text, dir.path()).expect("valid");
            assert_eq!(
                c.pipelines[0].repository,
                RepoSource::Remote(url.to_owned())
            );
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let dir = repo_dir();
        let text = minimal("")
            .replace("id = \"web\"", "id = \"Web Site\"")
            .replace(
                "id = \"staging\"",
                "id = \"staging\"\nfast_forward_only = \"yes\"",
            );
        // A type error stops serde early; use semantic errors for the "all at once" case.
        let _ = parse(&text, dir.path()).unwrap_err();
        let text = minimal("")
            .replace("id = \"web\"", "id = \"Web Site\"")
            .replace(
                "id = \"production\"",
                "id = \"production\"\npromote_roles = [\"root\"]",
            );
        let err = parse(&text, dir.path()).unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
    }

    #[test]
    fn wrong_types_say_what_was_expected() {
        let dir = repo_dir();
        let text = minimal("").replace("id = \"staging\"", "id = \"staging\"\nproduction = \"no\"");
        let msg = parse(&text, dir.path()).unwrap_err().to_string();
        assert!(
            msg.contains("invalid type") && msg.contains("expected a boolean"),
            "{msg}"
        );
        assert!(msg.contains("slipway.toml:8:14: `production`"), "{msg}");
    }

    #[test]
    fn reserved_and_invalid_env_names_are_refused() {
        let dir = repo_dir();
        let text = minimal("").replace(
            "id = \"production\"\ndeployer = { command = [\"true\"] }",
            "id = \"production\"\ndeployer = { command = [\"true\"], env = { SLIPWAY_SHA = \"x\" } }",
        );
        let msg = parse(&text, dir.path()).unwrap_err().to_string();
        assert!(msg.contains("SLIPWAY_* is reserved"), "{msg}");
    }

    #[test]
    fn an_unsafe_branch_is_refused() {
        let dir = repo_dir();
        for bad in ["-x", "a..b", "a b", "main;rm"] {
            let text = minimal("").replace(
                "repository = \".\"",
                &format!("repository = \".\"\nbranch = \"{bad}\""),
            );
            assert!(parse(&text, dir.path()).is_err(), "{bad}");
        }
    }
}
