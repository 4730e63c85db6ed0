//! Probes of the environments: a URL (GET, 2xx answers) or a command (exit 0), run
//! with a timeout. [`health`] polls each stage's health probe and records what it says;
//! [`version`] polls each stage's version probe and watches for drift; [`artifact`]
//! asks whether the build of a SHA exists.

pub mod artifact;
pub mod ci;
pub mod health;
pub mod version;

use crate::config::{PipelineConfig, ProbeTarget, StageConfig};
use std::process::Stdio;
use std::time::Duration;

/// The most of a probe's answer (body or output) that is kept: enough for a version
/// document or an error line.
const ANSWER_MAX: usize = 64 * 1024;

/// What a probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// It succeeded (2xx, exit 0).
    pub ok: bool,
    /// One line for people: "HTTP 200", "HTTP 503", "connection refused", "exit code 1: …".
    pub detail: String,
    /// A command's exit code (none for a URL, a signal or a timeout).
    pub exit_code: Option<i32>,
    /// The body or standard output, cut at 64 KiB.
    pub text: String,
}

/// One HTTP client for every probe of the process (connection reuse, one TLS setup).
#[derive(Clone)]
pub struct Prober {
    http: reqwest::Client,
}

impl Prober {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .user_agent(concat!("slipway/", env!("CARGO_PKG_VERSION"), " (probe)"))
            // A probe asks one URL: a redirect is the answer, not somewhere to go.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Prober { http }
    }

    /// Runs `target` for `stage` of `pipeline`, for at most `timeout`.
    pub async fn run(
        &self,
        pipeline: &PipelineConfig,
        stage: &StageConfig,
        target: &ProbeTarget,
        timeout: Duration,
    ) -> Answer {
        match target {
            ProbeTarget::Url(url) => self.get(url.clone(), timeout).await,
            ProbeTarget::Command(argv) => command(pipeline, Some(stage), argv, &[], timeout).await,
        }
    }

    async fn get(&self, url: url::Url, timeout: Duration) -> Answer {
        self.request(reqwest::Method::GET, url, timeout).await.0
    }

    /// Sends `method` to `url`; the answer, and its status code where one came.
    pub(crate) async fn request(
        &self,
        method: reqwest::Method,
        url: url::Url,
        timeout: Duration,
    ) -> (Answer, Option<u16>) {
        let failed = |detail: String| {
            (
                Answer {
                    ok: false,
                    detail,
                    text: String::new(),
                    exit_code: None,
                },
                None,
            )
        };
        let res = match self.http.request(method, url).timeout(timeout).send().await {
            Ok(res) => res,
            Err(e) if e.is_timeout() => {
                return failed(format!("no answer within {}s", timeout.as_secs()))
            }
            Err(e) if e.is_connect() => return failed("connection refused or unreachable".into()),
            Err(e) => return failed(first_line(&crate::repos::redact_userinfo(&e.to_string()))),
        };
        let status = res.status();
        let text = match tokio::time::timeout(timeout, res.bytes()).await {
            Ok(Ok(body)) => cut(&body),
            _ => String::new(),
        };
        (
            Answer {
                ok: status.is_success(),
                detail: format!("HTTP {}", status.as_u16()),
                text,
                exit_code: None,
            },
            Some(status.as_u16()),
        )
    }
}

impl Default for Prober {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs a probe command: no shell, the deployers' base environment plus
/// `SLIPWAY_PIPELINE`, `SLIPWAY_STAGE` and `extra_env`, killed (its whole process
/// group) at the timeout.
async fn command(
    pipeline: &PipelineConfig,
    stage: Option<&StageConfig>,
    argv: &[String],
    extra_env: &[(&str, &str)],
    timeout: Duration,
) -> Answer {
    run_command(pipeline, stage, argv, extra_env, timeout)
        .await
        .unwrap_or_else(|detail| Answer {
            ok: false,
            detail,
            text: String::new(),
            exit_code: None,
        })
}

/// [`command`], with `Err` (what went wrong) when the command could not be run at all:
/// no answer from it, a fault of the configuration or the machine.
pub(crate) async fn run_command(
    pipeline: &PipelineConfig,
    stage: Option<&StageConfig>,
    argv: &[String],
    extra_env: &[(&str, &str)],
    timeout: Duration,
) -> Result<Answer, String> {
    let Some((program, args)) = argv.split_first() else {
        return Err("no command".into());
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .env_clear()
        .envs(
            crate::deploys::BASE_ENV
                .iter()
                .filter_map(|name| std::env::var(name).ok().map(|v| (*name, v))),
        )
        .env("SLIPWAY_PIPELINE", pipeline.id.as_str())
        .envs(stage.map(|s| ("SLIPWAY_STAGE", s.id.as_str())))
        .envs(extra_env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Err(format!("could not start {program:?}: {e}")),
    };
    let pid = child.id();
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => {
            let text = cut(&out.stdout);
            let ok = out.status.success();
            let detail = match out.status.code() {
                Some(0) => "exit code 0".to_owned(),
                Some(code) => {
                    let said = last_line(&cut(&out.stderr)).or_else(|| last_line(&text));
                    match said {
                        Some(line) => format!("exit code {code}: {line}"),
                        None => format!("exit code {code}"),
                    }
                }
                None => "killed by a signal".to_owned(),
            };
            Ok(Answer {
                ok,
                detail,
                text,
                exit_code: out.status.code(),
            })
        }
        Ok(Err(e)) => Err(format!("could not run {program:?}: {e}")),
        Err(_) => {
            // The child was dropped (killed); its own children go with the group.
            if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            Ok(Answer {
                ok: false,
                detail: format!("no answer within {}s", timeout.as_secs()),
                text: String::new(),
                exit_code: None,
            })
        }
    }
}

fn cut(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(ANSWER_MAX)]).into_owned()
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

fn last_line(s: &str) -> Option<String> {
    s.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .map(|l| l.chars().take(200).collect())
}
