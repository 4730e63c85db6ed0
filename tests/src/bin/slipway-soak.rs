//! Soak test: the real `slipway` binary with hundreds of live viewers and a steady
//! stream of promotions for minutes on end. Every SHA goes ready → QA → Staging →
//! Production through the JSON API while every viewer follows the board's live
//! events; each minute prints the server's resident memory, so a leak shows as a
//! line that keeps climbing.
//!
//! Passes when every promotion was accepted and its deployment succeeded, and every
//! viewer's stream stayed open and kept delivering to the end.
//!
//! `cargo run -p slipway-tests --bin slipway-soak -- [--minutes M] [--viewers V]
//! [--promotions-per-minute P]` (defaults 10, 500, 100; build the server first:
//! `cargo build -p slipway-server`). RELIABILITY.md has a run's figures.

use anyhow::{bail, ensure, Context as _};
use slipway_tests::api::{deployment_succeeded, promote_by_token};
use slipway_tests::app::shown_once;
use slipway_tests::git::TestRepo;
use slipway_tests::process::{logged_in, Installation, Server};
use slipway_tests::sse::SseReader;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PASSWORD: &str = "a long enough passphrase";
/// Streams per viewer account: under the server's per-user limit (32), as a team of
/// people with a few tabs each would hold them.
const STREAMS_PER_USER: usize = 25;

struct Args {
    minutes: u64,
    viewers: usize,
    per_minute: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        minutes: 10,
        viewers: 500,
        per_minute: 100,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let value = it.next().with_context(|| format!("{a} needs a value"))?;
        let n: u64 = value
            .parse()
            .with_context(|| format!("{a} takes a number, got {value:?}"))?;
        match a.as_str() {
            "--minutes" => args.minutes = n.max(1),
            "--viewers" => args.viewers = usize::try_from(n)?,
            "--promotions-per-minute" => args.per_minute = n.max(1),
            _ => bail!(
                "unknown argument {a} (expected --minutes M, --viewers V, --promotions-per-minute P)"
            ),
        }
    }
    Ok(args)
}

/// Three quick stages; production only takes descendants of what it runs.
fn pipeline(repo: &std::path::Path) -> String {
    let mut text = format!(
        "[[pipelines]]\nid = \"web\"\nrepository = \"{}\"\nbranch = \"main\"\nfetch_interval_seconds = 3600\n",
        repo.display()
    );
    for id in ["qa", "staging", "production"] {
        text.push_str(&format!(
            "\n[[pipelines.stages]]\nid = \"{id}\"\n\
             [pipelines.stages.deployer]\ncommand = [\"sh\", \"-c\", \
             \"echo deploying $SLIPWAY_SHA to $SLIPWAY_STAGE; echo step 1; echo step 2; echo done\"]\n\
             timeout_seconds = 60\n"
        ));
    }
    text
}

/// Raises this process's open-file limit to its hard limit: each viewer is a socket.
fn raise_fd_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

#[derive(Default)]
struct Tally {
    events: AtomicU64,
    /// Viewers whose stream failed or ended before the run did.
    dropped: AtomicU64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    raise_fd_limit();
    let promotions = args.minutes * args.per_minute;
    // Each SHA makes three promotions; a few spare.
    let sha_count = promotions.div_ceil(3) + 2;
    println!(
        "soak: {} min, {} viewers, {} promotions/min ({} SHAs through 3 stages)",
        args.minutes, args.viewers, args.per_minute, sha_count
    );
    let mut repo = TestRepo::new()?;
    let mut shas = Vec::new();
    for i in 0..sha_count {
        shas.push(repo.commit(&format!("change {i}"))?);
    }
    let install = Installation::new("", &pipeline(repo.path()));
    install.add_user("releaser", &["dev", "qa", "ops", "admin"], PASSWORD);
    let viewer_accounts = args.viewers.div_ceil(STREAMS_PER_USER);
    for i in 0..viewer_accounts {
        install.add_user(&format!("viewer{i}"), &["viewer"], PASSWORD);
    }
    let server = install.start();
    server.wait_up().await;
    let base = install.base.clone();
    let releaser = token(&base, "releaser").await?;
    let mut viewer_tokens = Vec::new();
    for i in 0..viewer_accounts {
        viewer_tokens.push(token(&base, &format!("viewer{i}")).await?);
    }
    let rss_start = server.memory_mib()?.0;
    println!("server up (pid {}), RSS {rss_start:.1} MiB", server.pid());

    let run_for = Duration::from_secs(args.minutes * 60);
    let started = Instant::now();
    let end = started + run_for;
    let tally = Arc::new(Tally::default());
    let stream_client = reqwest::Client::builder().build()?;
    let mut viewers = tokio::task::JoinSet::new();
    for v in 0..args.viewers {
        let auth = format!("Bearer {}", viewer_tokens[v / STREAMS_PER_USER]);
        let url = format!("{base}/api/v1/events?pipeline=web");
        let (client, tally) = (stream_client.clone(), tally.clone());
        viewers.spawn(async move {
            let outcome = follow(&client, &url, &auth, end, &tally).await;
            if outcome.is_err() {
                tally.dropped.fetch_add(1, Ordering::Relaxed);
            }
            outcome
        });
    }
    println!(
        "{} viewers following; RSS {:.1} MiB",
        args.viewers,
        server.memory_mib()?.0
    );

    let promoter = Promoter {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            // Below the server's 10 s keep-alive idle timeout: a connection the server
            // is closing is never picked for the next request.
            .pool_idle_timeout(Duration::from_secs(5))
            .build()?,
        base: base.clone(),
        token: releaser.clone(),
    };
    let interval = Duration::from_secs_f64(60.0 / args.per_minute as f64);
    let mut rss_by_minute = vec![rss_start];
    let mut done = 0u64;
    let mut next_report = started + Duration::from_secs(60);
    'run: for sha in &shas {
        promoter.mark_ready(sha).await?;
        for stage in ["qa", "staging", "production"] {
            if Instant::now() >= end {
                break 'run;
            }
            let slot = started + interval.mul_f64(done as f64);
            tokio::time::sleep_until(slot.into()).await;
            promoter.promote_and_wait(sha, stage).await?;
            done += 1;
            if Instant::now() >= next_report {
                let rss = report(&server, &tally, started, done, args.viewers)?;
                rss_by_minute.push(rss);
                next_report += Duration::from_secs(60);
            }
        }
    }
    tokio::time::sleep_until(end.into()).await;
    let mut failures = Vec::new();
    while let Some(joined) = viewers.join_next().await {
        if let Err(e) = joined.context("a viewer task panicked")? {
            failures.push(format!("{e:#}"));
        }
    }
    if rss_by_minute.len() <= args.minutes as usize {
        rss_by_minute.push(report(&server, &tally, started, done, args.viewers)?);
    }
    drop(server);
    let dropped = tally.dropped.load(Ordering::Relaxed);
    let events = tally.events.load(Ordering::Relaxed);
    println!(
        "RSS by minute (MiB): {}",
        rss_by_minute
            .iter()
            .map(|r| format!("{r:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    ensure!(
        dropped == 0,
        "{dropped} of {} viewers lost their stream, e.g. {}",
        args.viewers,
        failures.first().map_or("?", String::as_str)
    );
    ensure!(
        done + 2 >= promotions.min(sha_count * 3),
        "only {done} of {promotions} promotions ran in {} min",
        args.minutes
    );
    println!(
        "passed: {done} promotions, all deployed; {} viewers kept their streams ({events} events delivered); no errors",
        args.viewers
    );
    Ok(())
}

fn report(
    server: &Server,
    tally: &Tally,
    started: Instant,
    done: u64,
    viewers: usize,
) -> anyhow::Result<f64> {
    let rss = server.memory_mib()?.0;
    println!(
        "minute {:>2}: RSS {rss:>6.1} MiB; {done} promotions; {} events delivered; {} of {viewers} viewers dropped",
        (started.elapsed().as_secs() + 30) / 60,
        tally.events.load(Ordering::Relaxed),
        tally.dropped.load(Ordering::Relaxed),
    );
    Ok(rss)
}

/// A viewer: follows the stream until `end`; an error if it ends or stalls first.
async fn follow(
    client: &reqwest::Client,
    url: &str,
    auth: &str,
    end: Instant,
    tally: &Tally,
) -> anyhow::Result<()> {
    let mut reader = SseReader::open(client, url, Some(auth), None).await?;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        // Promotions come every second or so; a minute of silence is a stalled stream.
        match tokio::time::timeout(left, reader.next(Duration::from_secs(60))).await {
            Err(_) => return Ok(()),
            Ok(Ok(_)) => {
                tally.events.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Err(e)) => return Err(e),
        }
    }
}

/// An API token for `user`, created on their profile page.
async fn token(base: &str, user: &str) -> anyhow::Result<String> {
    let cookie = logged_in(base, user, PASSWORD).await;
    let page = cookie
        .post(format!("{base}/profile/tokens"))
        .header("origin", base)
        .form(&[("name", "soak")])
        .send()
        .await?
        .text()
        .await?;
    shown_once(&page, "new-token").with_context(|| format!("no token shown for {user}"))
}

struct Promoter {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Promoter {
    async fn mark_ready(&self, sha: &str) -> anyhow::Result<()> {
        let res = self
            .http
            .post(format!("{}/api/v1/pipelines/web/ready", self.base))
            .bearer_auth(&self.token)
            .json(&serde_json::json!({ "sha": sha }))
            .send()
            .await?;
        ensure!(
            res.status() == 200,
            "mark ready {sha}: {} {}",
            res.status(),
            res.text().await?
        );
        Ok(())
    }

    /// Promotes `sha` into `stage` and waits for the deployment to succeed.
    async fn promote_and_wait(&self, sha: &str, stage: &str) -> anyhow::Result<()> {
        let id = promote_by_token(&self.http, &self.base, &self.token, stage, sha).await?;
        deployment_succeeded(&self.http, &self.base, &self.token, id)
            .await
            .with_context(|| format!("{sha} to {stage}"))
    }
}
