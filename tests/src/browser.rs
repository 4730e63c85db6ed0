//! Real-browser test harness: a private `chromedriver` per [`Browser`], and isolated headless
//! Chromium sessions driven through `fantoccini` over plain HTTP (no TLS stack involved).
//!
//! ```ignore
//! let browser = Browser::start()?;                  // spawns chromedriver on a free port
//! let alice = browser.new_session().await?;         // fresh profile => own cookie jar
//! alice.goto(&format!("{base}/login")).await?;
//! let button = wait_for_css(&alice, "button#go", Duration::from_secs(10)).await?;
//! button.click().await?;
//! wait_until(&alice, "document.querySelector('#out').textContent === 'done'", secs(10)).await?;
//! alice.close().await?;                             // optional: Drop of `browser` kills everything
//! ```
//!
//! Binaries: `SLIPWAY_CHROMEDRIVER` (default `/usr/bin/chromedriver`, else `chromedriver` on PATH)
//! and `SLIPWAY_CHROMIUM` (default `/usr/bin/chromium`, else `chromium` on PATH). A missing binary
//! is a hard error, never a skip.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// How long `Browser::start` waits for chromedriver to answer `/status`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);
/// Poll interval of the `wait_*` helpers.
const POLL: Duration = Duration::from_millis(50);

const INSTALL_HINT: &str = "install them with `apt-get install chromium chromium-driver` \
     (Debian package names), or point SLIPWAY_CHROMIUM / SLIPWAY_CHROMEDRIVER at the binaries";

/// What a session is started with.
#[derive(Clone, Copy, Debug)]
pub struct Session {
    /// The window's width and height in CSS pixels.
    pub width: u32,
    pub height: u32,
    /// Whether the page's scripts run.
    pub javascript: bool,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            width: 1280,
            height: 900,
            javascript: true,
        }
    }
}

/// A running `chromedriver` (in its own process group, together with every Chromium it
/// launches). Dropping it ends open sessions, kills the whole group and removes the profiles.
pub struct Browser {
    child: Child,
    port: u16,
    webdriver_url: String,
    chromium: PathBuf,
    /// Holds the chromedriver log and one `profile-N` user-data-dir per session.
    root: tempfile::TempDir,
    /// Number of sessions started, and the ids of those to end gracefully on Drop.
    sessions: Mutex<(usize, Vec<String>)>,
}

impl Browser {
    /// Spawn a private chromedriver on a free loopback port and wait (≤ 20 s) until it is ready.
    pub fn start() -> anyhow::Result<Browser> {
        let chromedriver = locate(
            "SLIPWAY_CHROMEDRIVER",
            "/usr/bin/chromedriver",
            "chromedriver",
        )?;
        let chromium = locate("SLIPWAY_CHROMIUM", "/usr/bin/chromium", "chromium")?;
        let root = tempfile::Builder::new()
            .prefix("slipway-browser-")
            .tempdir()
            .context("creating the browser temp dir")?;

        // The free port is found by binding and releasing it, so another process may grab it
        // before chromedriver does; retry a few times in that (rare) case.
        let mut last_err = None;
        for attempt in 0..3 {
            match Self::spawn_once(&chromedriver, &root, attempt) {
                Ok((child, port)) => {
                    return Ok(Browser {
                        child,
                        port,
                        webdriver_url: format!("http://127.0.0.1:{port}"),
                        chromium,
                        root,
                        sessions: Mutex::new((0, Vec::new())),
                    })
                }
                // Only an early exit (e.g. the port was taken meanwhile) is worth a retry.
                Err(e) if e.is::<EarlyExit>() => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap())
    }

    fn spawn_once(
        chromedriver: &Path,
        root: &tempfile::TempDir,
        attempt: u32,
    ) -> anyhow::Result<(Child, u16)> {
        let port = free_port()?;
        let log_path = root.path().join(format!("chromedriver-{attempt}.log"));
        let log = File::create(&log_path).context("creating the chromedriver log")?;
        let mut child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Chromium (SIGKILLed on Drop, so it can't clean up) and chromedriver create
            // scratch dirs under $TMPDIR: keep them inside `root`, which Drop removes.
            .env("TMPDIR", root.path())
            // Own process group: chromedriver and all Chromium processes it starts can be
            // killed together with `kill -KILL -<pgid>`.
            .process_group(0)
            .spawn()
            .with_context(|| format!("spawning {}; {INSTALL_HINT}", chromedriver.display()))?;

        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait()? {
                return Err(anyhow::Error::new(EarlyExit(format!(
                    "chromedriver ({}) exited during startup with {status}; its output:\n{}",
                    chromedriver.display(),
                    read_tail(&log_path, 4000)
                ))));
            }
            if status_ready(port) {
                return Ok((child, port));
            }
            if Instant::now() >= deadline {
                kill_group(&mut child);
                bail!(
                    "chromedriver ({}) did not answer on port {port} within {STARTUP_TIMEOUT:?}; \
                     its output:\n{}",
                    chromedriver.display(),
                    read_tail(&log_path, 4000)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:<port>` of this chromedriver.
    pub fn webdriver_url(&self) -> &str {
        &self.webdriver_url
    }

    /// The chromedriver port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Start a new headless Chromium session with its own fresh profile (so its own cookie
    /// jar, local storage, cache): sessions of one `Browser` are fully independent.
    /// The profile directory lives until the `Browser` is dropped.
    pub async fn new_session(&self) -> anyhow::Result<Client> {
        self.new_session_with(Session::default()).await
    }

    /// [`new_session`](Self::new_session) with its window size and, without JavaScript,
    /// as a browser that runs no script of the page (WebDriver still can).
    pub async fn new_session_with(&self, options: Session) -> anyhow::Result<Client> {
        let n = {
            let mut s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
            s.0 += 1;
            s.0
        };
        let profile = self.root.path().join(format!("profile-{n}"));
        std::fs::create_dir_all(&profile)
            .with_context(|| format!("creating {}", profile.display()))?;

        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.chromium.to_string_lossy(),
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--disable-quic",
                    format!("--window-size={},{}", options.width, options.height),
                    format!("--user-data-dir={}", profile.display()),
                ],
                "prefs": {
                    // 2: blocked. The page's scripts do not run; WebDriver's own do.
                    "profile.managed_default_content_settings.javascript":
                        if options.javascript { 1 } else { 2 },
                },
            },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };

        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.set_nodelay(true);
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.webdriver_url)
            .await
            .map_err(|e| {
                anyhow!(
                    "starting a Chromium session ({}) via chromedriver {}: {e}\n\
                     chromedriver output (tail):\n{}",
                    self.chromium.display(),
                    self.webdriver_url,
                    self.log_tail()
                )
            })?;
        if let Ok(Some(id)) = client.session_id().await {
            self.sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .1
                .push(id);
        }
        Ok(client)
    }

    /// Sends the Chrome DevTools Protocol command `cmd` to `client`'s page (through
    /// chromedriver's `goog/cdp/execute`): media and viewport emulation, which
    /// WebDriver has no command for.
    pub async fn cdp(&self, client: &Client, cmd: &str, params: Value) -> anyhow::Result<Value> {
        let id = client
            .session_id()
            .await?
            .context("the session has no id")?;
        let res = reqwest::Client::new()
            .post(format!(
                "{}/session/{id}/goog/cdp/execute",
                self.webdriver_url.trim_end_matches('/')
            ))
            .json(&json!({ "cmd": cmd, "params": params }))
            .send()
            .await
            .with_context(|| format!("sending {cmd} to chromedriver"))?;
        let status = res.status();
        let body: Value = res.json().await.context("chromedriver's answer")?;
        if !status.is_success() {
            bail!("{cmd} failed ({status}): {body}");
        }
        Ok(body)
    }

    /// The last few KB of chromedriver's output, for error messages.
    pub fn log_tail(&self) -> String {
        let mut logs: Vec<_> = std::fs::read_dir(self.root.path())
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        logs.retain(|p| p.extension().is_some_and(|e| e == "log"));
        logs.sort();
        logs.last().map(|p| read_tail(p, 4000)).unwrap_or_default()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // End still-open sessions through chromedriver first: Chromium then exits cleanly and
        // its processes are reaped by their parents instead of lingering as zombies. (Sessions
        // already closed by the test just answer "invalid session id".)
        let ids = std::mem::take(&mut self.sessions.lock().unwrap_or_else(|e| e.into_inner()).1);
        for id in ids {
            let _ = http(
                self.port,
                "DELETE",
                &format!("/session/{id}"),
                Duration::from_secs(10),
            );
        }
        // Then kill whatever is left of the group (chromedriver itself included).
        kill_group(&mut self.child);
        // `self.root` (profiles + log) is removed after this, once nothing writes to it.
    }
}

/// Wait until an element matching `selector` exists, and return it.
pub async fn wait_for_css(
    client: &Client,
    selector: &str,
    timeout: Duration,
) -> anyhow::Result<Element> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match client.find(Locator::Css(selector)).await {
            Ok(el) => return Ok(el),
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            bail!(
                "timed out after {timeout:?} waiting for CSS `{selector}` (last error: {last})\n{}",
                page_context(client).await
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Poll the JS expression `js_condition` (evaluated as `return (<cond>)`) until it is truthy.
/// Script errors (e.g. during a navigation) count as "not yet".
pub async fn wait_until(
    client: &Client,
    js_condition: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let script = format!("return ({js_condition});");
    let deadline = Instant::now() + timeout;
    loop {
        let last = match client.execute(&script, vec![]).await {
            Ok(v) if truthy(&v) => return Ok(()),
            Ok(v) => format!("last value: {v}"),
            Err(e) => format!("last error: {e}"),
        };
        if Instant::now() >= deadline {
            bail!(
                "timed out after {timeout:?} waiting until `{js_condition}` ({last})\n{}",
                page_context(client).await
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Save a PNG screenshot of the current viewport to `path` (parent dirs are created).
pub async fn screenshot(client: &Client, path: &Path) -> anyhow::Result<()> {
    let png = client.screenshot().await.context("taking a screenshot")?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
}

/// Current URL + first 2000 chars of the page source, for timeout messages.
async fn page_context(client: &Client) -> String {
    let url = match client.current_url().await {
        Ok(u) => u.to_string(),
        Err(e) => format!("<unavailable: {e}>"),
    };
    let source = match client.source().await {
        Ok(s) => s.chars().take(2000).collect::<String>(),
        Err(e) => format!("<unavailable: {e}>"),
    };
    format!("current URL: {url}\npage source (first 2000 chars):\n{source}")
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// `$env`, else `default` if it exists, else `name` on PATH; error with install hint if none.
fn locate(env: &str, default: &str, name: &str) -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        bail!("{env}={} does not exist; {INSTALL_HINT}", p.display());
    }
    let default = PathBuf::from(default);
    if default.is_file() {
        return Ok(default);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    bail!(
        "{name} not found (looked at ${env}, {}, and PATH): browser tests need Chromium and \
         chromedriver; {INSTALL_HINT}",
        default.display()
    )
}

fn free_port() -> anyhow::Result<u16> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

/// True once chromedriver's `GET /status` reports `"ready": true`.
fn status_ready(port: u16) -> bool {
    matches!(http(port, "GET", "/status", Duration::from_secs(2)),
             Some((200, body)) if body.contains("\"ready\":true"))
}

/// Minimal blocking HTTP/1.1 request to chromedriver on loopback (chromedriver rejects
/// HTTP/1.0 and ignores `Connection: close`, so the body is read by Content-Length).
/// Returns (status, body), or None on any failure.
fn http(port: u16, method: &str, path: &str, timeout: Duration) -> Option<(u16, String)> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.set_write_timeout(Some(timeout)).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = s.read(&mut chunk).ok()?;
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let status = head.split(' ').nth(1)?.parse().ok()?;
            let len = head.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            });
            if n == 0 || len.is_some_and(|len| body.len() >= len) {
                return Some((status, body.to_string()));
            }
        }
        if n == 0 {
            return None;
        }
    }
}

#[derive(Debug)]
struct EarlyExit(String);
impl std::fmt::Display for EarlyExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for EarlyExit {}

/// SIGKILL the whole process group led by `child` (chromedriver + Chromium), reap chromedriver,
/// and wait (bounded) until no live process of the group remains.
fn kill_group(child: &mut Child) {
    let pgid = child.id();
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = child.kill(); // in case `kill` is not on PATH
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(5);
    while group_alive(pgid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Is any non-zombie process in process group `pgid` still around? (reads /proc/*/stat)
fn group_alive(pgid: u32) -> bool {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return false;
    };
    rd.flatten().any(|e| {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            return false;
        };
        // Fields after the `(comm)` (which may contain spaces): state ppid pgrp ...
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            return false;
        };
        let mut f = rest.split_whitespace();
        let state = f.next();
        let pgrp = f.nth(1);
        state != Some("Z") && pgrp == Some(&pgid.to_string())
    })
}

fn read_tail(path: &Path, max: usize) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let start = s.len().saturating_sub(max);
    let start = (start..=s.len())
        .find(|i| s.is_char_boundary(*i))
        .unwrap_or(s.len());
    s[start..].to_string()
}
