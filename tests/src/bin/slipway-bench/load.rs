//! The board page and JSON under `wrk`, each beside nginx serving the very bytes Slipway
//! answered, in the same run on the same cores.

use crate::install::{Install, Viewer};
use anyhow::{ensure, Context as _, Result};
use slipway_tests::process::free_port;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The figures of one run.
pub struct Loads {
    pub page: Load,
    pub page_nginx: Load,
    pub json: Load,
    pub json_nginx: Load,
    pub page_bytes: usize,
    pub json_bytes: usize,
}

/// Whether the board page, asked again with the `ETag` it was just served with,
/// answers `304 Not Modified`.
pub async fn revalidated(install: &Install, viewer: &Viewer) -> Result<bool> {
    let page_url = format!("{}/pipelines/web", install.base);
    let page = viewer.browser.get(&page_url).send().await?;
    let etag = page
        .headers()
        .get("etag")
        .cloned()
        .context("the page has no ETag")?;
    let again = viewer
        .browser
        .get(&page_url)
        .header("if-none-match", etag)
        .send()
        .await?;
    Ok(again.status() == 304)
}

pub async fn measure(install: &Install, viewer: &Viewer, seconds: u64) -> Result<Loads> {
    let base = &install.base;
    let http = reqwest::Client::new();
    let (browser, token, cookie) = (&viewer.browser, &viewer.token, &viewer.cookie);
    let page_url = format!("{base}/pipelines/web");
    let json_url = format!("{base}/api/v1/pipelines/web/board");
    let page_bytes = browser.get(&page_url).send().await?.bytes().await?;
    let json = http.get(&json_url).bearer_auth(token).send().await?;
    let json_bytes = json.bytes().await?;

    // ------------------------------------------------ nginx, the same bytes
    let www = install.file("www");
    std::fs::create_dir_all(&www)?;
    std::fs::write(www.join("board.html"), &page_bytes)?;
    std::fs::write(www.join("board.json"), &json_bytes)?;
    let nginx_port = free_port();
    let conf = install.file("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "worker_processes 2;\npid {dir}/nginx.pid;\nerror_log {dir}/nginx-error.log;\n\
             events {{ worker_connections 1024; }}\n\
             http {{ access_log off; sendfile on; tcp_nodelay on; keepalive_requests 1000000;\n\
             client_body_temp_path {dir}/tmp; proxy_temp_path {dir}/tmp; fastcgi_temp_path {dir}/tmp;\n\
             uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp;\n\
             types {{ text/html html; application/json json; }}\n\
             server {{ listen 127.0.0.1:{nginx_port}; root {www}; }} }}\n",
            dir = install.dir().display(),
            www = www.display(),
        ),
    )?;
    std::fs::create_dir_all(install.file("tmp"))?;
    let _nginx = Killed(
        Command::new(nginx_binary())
            .args(["-e", "stderr", "-c"])
            .arg(&conf)
            .args(["-g", "daemon off;"])
            .stderr(Stdio::null())
            .spawn()
            .context("start nginx (scripts/bench installs it)")?,
    );
    let nginx = format!("http://127.0.0.1:{nginx_port}");
    for _ in 0..500 {
        if http.get(format!("{nginx}/board.json")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // ------------------------------------------------------------------ load
    let cookie_header = format!("Cookie: {cookie}");
    let bearer_header = format!("Authorization: Bearer {token}");
    Ok(Loads {
        page: wrk(&page_url, Some(&cookie_header), seconds)?,
        page_nginx: wrk(&format!("{nginx}/board.html"), None, seconds)?,
        json: wrk(&json_url, Some(&bearer_header), seconds)?,
        json_nginx: wrk(&format!("{nginx}/board.json"), None, seconds)?,
        page_bytes: page_bytes.len(),
        json_bytes: json_bytes.len(),
    })
}

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One wrk run: requests per second and the latency percentiles it printed (ms).
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub rps: f64,
    pub p50: f64,
    pub p99: f64,
}

fn wrk(url: &str, header: Option<&str>, seconds: u64) -> Result<Load> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t2", "-c64", &format!("-d{seconds}s"), "--latency"]);
    if let Some(h) = header {
        cmd.args(["-H", h]);
    }
    let out = cmd
        .arg(url)
        .output()
        .context("run wrk (scripts/bench installs it)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(out.status.success(), "wrk failed: {text}");
    ensure!(
        !text.contains("Non-2xx"),
        "wrk saw failed responses from {url}: {text}"
    );
    let ms = |v: &str| -> Option<f64> {
        let (n, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic())?);
        let n: f64 = n.parse().ok()?;
        Some(match unit {
            "us" => n / 1000.0,
            "ms" => n,
            "s" => n * 1000.0,
            _ => return None,
        })
    };
    let pct = |p: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(p))
            .and_then(|v| ms(v.trim()))
    };
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no Requests/sec in {text}"))?;
    Ok(Load {
        rps,
        p50: pct("50%").context("no 50%")?,
        p99: pct("99%").context("no 99%")?,
    })
}

/// nginx from the PATH, or Debian's sbin.
fn nginx_binary() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("nginx"))
}
