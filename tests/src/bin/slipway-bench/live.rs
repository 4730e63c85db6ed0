//! What a change costs until people see it: a promotion until its deployer process
//! starts, and a deployment's log line until each of 1,000 live viewers (event streams)
//! has it, with the server's memory while they watch.

use crate::install::{Install, Viewer};
use anyhow::{bail, ensure, Context as _, Result};
use serde_json::{json, Value};
use slipway_model::Sha;
use slipway_tests::api::{deployment_succeeded, promote_by_token};
use slipway_tests::process::Server;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Promotions measured one after the other (each a recent commit into the first stage).
const PROMOTIONS: usize = 50;
/// Live viewers, and the streams each account holds (the server allows 32 per user).
pub const SUBSCRIBERS: usize = 1_000;
pub const STREAMS_PER_ACCOUNT: usize = 30;
/// The lines the logging deployer prints (`t <ns since the epoch>`, 50 ms apart).
pub const LOG_LINES: usize = 20;
/// Streams being opened at once while the viewers gather.
const OPENING_AT_ONCE: usize = 50;
/// How long a viewer waits for every line once the deployment starts.
const VIEWER_DEADLINE: Duration = Duration::from_secs(60);

/// The figures, latencies in milliseconds, sorted.
pub struct Live {
    pub to_start: Vec<f64>,
    pub delivered: Vec<f64>,
    /// Viewers that received every line.
    pub complete: usize,
    /// Resident memory (MiB) with every viewer's stream open, and the peak by the end.
    pub rss_watching: f64,
    pub rss_peak: f64,
}

pub async fn measure(
    install: &Install,
    server: &Server,
    viewer: &Viewer,
    recent: &[Sha],
) -> Result<Live> {
    let (http, base, token) = (reqwest::Client::new(), &install.base, &viewer.token);
    let recent = recent.get(..PROMOTIONS).context("too few recent commits")?;
    for sha in recent {
        let res = http
            .post(format!("{base}/api/v1/pipelines/web/ready"))
            .bearer_auth(token)
            .json(&json!({ "sha": sha.as_str() }))
            .send()
            .await?;
        ensure!(
            res.status().is_success(),
            "marking {sha} ready answered {}",
            res.status()
        );
    }
    let mut to_start = Vec::with_capacity(PROMOTIONS);
    for sha in recent {
        let sent = now_ns();
        let id = promote_by_token(&http, base, token, "qa", sha.as_str()).await?;
        deployment_succeeded(&http, base, token, id).await?;
        to_start.push((install.deployer_started(id)? - sent) as f64 / 1e6);
    }

    // The viewers gather, then the staging deployer prints its lines.
    let url = format!("{base}/api/v1/events?pipeline=web");
    let gate = Arc::new(tokio::sync::Semaphore::new(OPENING_AT_ONCE));
    let (opened_tx, mut opened_rx) = tokio::sync::mpsc::channel::<Result<()>>(SUBSCRIBERS);
    let viewers: Vec<_> = (0..SUBSCRIBERS)
        .map(|i| {
            tokio::spawn(watch(
                http.clone(),
                url.clone(),
                install.stream_tokens[i / STREAMS_PER_ACCOUNT].clone(),
                gate.clone(),
                opened_tx.clone(),
            ))
        })
        .collect();
    drop(opened_tx);
    for _ in 0..SUBSCRIBERS {
        match tokio::time::timeout(Duration::from_secs(60), opened_rx.recv()).await {
            Ok(Some(Ok(()))) => {}
            Ok(Some(Err(e))) => bail!("a viewer's stream did not open: {e:#}"),
            Ok(None) | Err(_) => bail!("a viewer never reported its stream open"),
        }
    }
    let rss_watching = server.memory_mib()?.0;
    let last = recent.last().context("no promotion")?;
    let id = promote_by_token(&http, base, token, "staging", last.as_str()).await?;
    let mut delivered = Vec::with_capacity(SUBSCRIBERS * LOG_LINES);
    let mut complete = 0;
    for viewer in viewers {
        let lines = viewer.await.context("a viewer's task")??;
        complete += usize::from(lines.len() == LOG_LINES);
        delivered.extend(lines);
    }
    deployment_succeeded(&http, base, token, id).await?;
    Ok(Live {
        to_start: sorted(to_start),
        delivered: sorted(delivered),
        complete,
        rss_watching,
        rss_peak: server.memory_mib()?.1,
    })
}

/// Nearest-rank percentile of sorted values.
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

/// One viewer: opens the event stream (saying so on `opened`), then collects the latency
/// (ms) of every `t <ns>` log line until it has them all or its deadline passes.
async fn watch(
    http: reqwest::Client,
    url: String,
    token: String,
    gate: Arc<tokio::sync::Semaphore>,
    opened: tokio::sync::mpsc::Sender<Result<()>>,
) -> Result<Vec<f64>> {
    let open = async {
        let _permit = gate.acquire().await?;
        let res = http
            .get(&url)
            .header("accept", "text/event-stream")
            .bearer_auth(&token)
            .send()
            .await?;
        ensure!(res.status() == 200, "the stream answered {}", res.status());
        Ok(res)
    }
    .await;
    let mut res = match open {
        Ok(res) => {
            let _ = opened.send(Ok(())).await;
            res
        }
        Err(e) => {
            let said = format!("{e:#}");
            let _ = opened.send(Err(e)).await;
            bail!("{said}");
        }
    };
    drop(opened);
    let deadline = tokio::time::Instant::now() + VIEWER_DEADLINE;
    let mut buf: Vec<u8> = Vec::new();
    let mut lines = Vec::with_capacity(LOG_LINES);
    while lines.len() < LOG_LINES {
        let chunk = match tokio::time::timeout_at(deadline, res.chunk()).await {
            Err(_) => break,
            Ok(chunk) => chunk?.context("the event stream ended")?,
        };
        let received = now_ns();
        buf.extend_from_slice(&chunk);
        while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let block: Vec<u8> = buf.drain(..end + 2).collect();
            let block = String::from_utf8_lossy(&block);
            let (mut event, mut data) = ("message", String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            ensure!(
                event != "resync",
                "the viewer lagged and was told to resync"
            );
            if event != "log" {
                continue;
            }
            let v: Value = serde_json::from_str(&data)?;
            if let Some(at) = v["line"].as_str().and_then(|l| l.strip_prefix("t ")) {
                let sent: i128 = at.trim().parse()?;
                lines.push((received - sent) as f64 / 1e6);
            }
        }
    }
    Ok(lines)
}
