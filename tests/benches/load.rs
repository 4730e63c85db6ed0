//! Load figures for Slipway: `cargo bench -p slipway-tests --bench load` (release
//! profile; results and their reading are in BENCHMARKS.md at the repository root).
//!
//! Seeds a realistic history — a real git repository of 250 commits, a four-stage
//! pipeline, 200 SHAs marked ready and 10,000 finished deployments written through the
//! real `Storage` API — into the real server (`spawn_app`, in-process, port 0, temporary
//! SQLite file), then measures:
//!
//! a. the board page (SSR HTML, session cookie) under 64 concurrent connections;
//! b. the board JSON (bearer token) under 64 concurrent connections;
//! c. promote (HTTP form) → deployer process start, 50 sequential promotions;
//! d. deployment log line → 1,000 SSE subscribers.
//!
//! The load generator runs in the same process and on the same cores as the server.
//! Every loop is bounded in count and time and only talks to 127.0.0.1. The process
//! exits non-zero if any request fails or any subscriber misses a line.

use anyhow::{ensure, Context as _, Result};
use slipway_core::tokens;
use slipway_model::deployment::DeploymentState;
use slipway_model::{PipelineId, Role, Sha, StageId, UserName};
use slipway_tests::app::{spawn_app, TestApp};
use slipway_tests::git::TestRepo;
use slipway_tests::seed::{seed_history, History};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Commits in the seeded repository (besides its initial commit).
const COMMITS: usize = 250;
/// The oldest of them are marked ready; the newest 50 are the board's recent lane.
const READY: usize = 200;
/// Past deployments written into the history.
const DEPLOYMENTS: usize = 10_000;
/// The pipeline's stages, in order; the last is production.
const STAGES: [(&str, &str); 4] = [
    ("qa", "QA"),
    ("staging", "Staging"),
    ("preprod", "Pre-production"),
    ("production", "Production"),
];

/// Concurrent connections for the board figures.
const CONNECTIONS: usize = 64;
const WARM_UP: Duration = Duration::from_secs(2);
const MEASURE: Duration = Duration::from_secs(10);
/// Upper bound on requests per connection and phase (the duration ends loops first).
const MAX_REQUESTS_PER_CONNECTION: usize = 100_000;
/// Sequential requests measured before the concurrent load (unloaded latency).
const SEQUENTIAL: usize = 20;
/// Generous per-request timeout: slow is measured, hung is an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Sequential promotions measured.
const PROMOTIONS: usize = 50;

/// Live-log subscribers and the lines the deployer prints for them.
const SUBSCRIBERS: usize = 1_000;
/// Streams per viewer account (the server allows 32 per user).
const STREAMS_PER_VIEWER: usize = 30;
const LOG_LINES: usize = 20;
/// Connections being opened at once while building up the subscribers.
const OPEN_CONCURRENCY: usize = 50;
/// How long a subscriber waits for all lines once connected.
const SUBSCRIBER_DEADLINE: Duration = Duration::from_secs(60);

/// The deployer of every stage: records its start time (nanoseconds since the epoch)
/// and, on staging only, prints timestamped lines for the SSE figure.
const SCRIPT: &str = r#"date +%s%N > "$OUT/start-$SLIPWAY_DEPLOYMENT_ID"
if [ "$SLIPWAY_STAGE" = staging ]; then
  for i in $(seq 20); do echo "t $(date +%s%N)"; sleep 0.05; done
fi"#;

fn pipeline_config(repo: &Path, out: &Path) -> String {
    let mut text = format!(
        "[[pipelines]]\nid = \"web\"\nname = \"Web shop\"\nrepository = \"{}\"\nbranch = \"main\"\nfetch_interval_seconds = 3600\n",
        repo.display()
    );
    for (id, label) in STAGES {
        text.push_str(&format!(
            "\n[[pipelines.stages]]\nid = \"{id}\"\nlabel = \"{label}\"\n\
             [pipelines.stages.deployer]\ncommand = [\"sh\", \"-c\", {SCRIPT:?}]\nenv = {{ OUT = \"{}\" }}\ntimeout_seconds = 60\n",
            out.display()
        ));
    }
    text
}

fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

fn command_line(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

/// Prints the load average: other processes on these cores skew every figure.
fn print_load() {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("(load average: {})", load.trim());
}

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[f64], p: f64) -> f64 {
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

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let code = match rt.block_on(run()) {
        Ok(failures) if failures.is_empty() => {
            println!("\nall checks passed");
            0
        }
        Ok(failures) => {
            eprintln!("\nFAILED:");
            for f in &failures {
                eprintln!("  - {f}");
            }
            1
        }
        Err(e) => {
            eprintln!("\nbenchmark error: {e:#}");
            1
        }
    };
    // Deployments, streams and temp dirs are dropped with the runtime.
    rt.shutdown_timeout(Duration::from_secs(5));
    std::process::exit(code);
}

async fn run() -> Result<Vec<String>> {
    // Server logs only on request (e.g. `RUST_LOG=sqlx::query=debug` to see each
    // statement with its time): logging costs CPU the figures should not include.
    if std::env::var_os("RUST_LOG").is_some() {
        slipway_server::telemetry::init(slipway_core::config::LogFormat::Text);
    }
    let mut failures = Vec::new();
    println!("== machine");
    println!(
        "nproc: {}   rustc: {}   ulimit -n: {}   date: {}   commit: {}",
        command_line("nproc", &[]),
        command_line("rustc", &["--version"]),
        command_line("sh", &["-c", "ulimit -n"]),
        command_line("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]),
        command_line(
            "git",
            &[
                "-C",
                env!("CARGO_MANIFEST_DIR"),
                "describe",
                "--always",
                "--dirty"
            ]
        ),
    );
    print_load();

    // ---------------------------------------------------------------- seeding
    println!("\n== seeding");
    let seed_start = Instant::now();
    let mut repo = TestRepo::new()?;
    let mut shas = Vec::with_capacity(COMMITS);
    for i in 0..COMMITS {
        shas.push(repo.commit(&format!("Change number {i}: adjust the checkout flow"))?);
    }
    let git_time = seed_start.elapsed();

    let out = tempfile::tempdir()?;
    let t = Instant::now();
    let mut app = spawn_app(&pipeline_config(repo.path(), out.path())).await?;
    app.state
        .repos
        .fetch("web")
        .await
        .map_err(|e| anyhow::anyhow!("initial fetch failed: {e}"))?;
    let start_time = t.elapsed();

    let t = Instant::now();
    let ops = app
        .logged_in("olga", &[Role::Ops, Role::Qa, Role::Dev])
        .await?;
    for (name, roles) in [
        ("dana", &[Role::Dev][..]),
        ("quinn", &[Role::Qa][..]),
        ("vera", &[Role::Viewer][..]),
        ("ada", &[Role::Admin][..]),
    ] {
        app.create_user(name, roles).await?;
    }
    let mut user_ids = Vec::new();
    for name in ["olga", "dana", "quinn", "ada"] {
        let u = app
            .state
            .storage
            .user_by_name(&UserName::parse(name)?)
            .await?
            .context("seeded user missing")?;
        user_ids.push(u.id);
    }
    let viewer_id = app
        .state
        .storage
        .user_by_name(&UserName::parse("vera")?)
        .await?
        .context("vera missing")?
        .id;
    let users_time = t.elapsed();

    let pipeline = PipelineId::parse("web")?;
    let stage_ids: Vec<StageId> = STAGES
        .iter()
        .map(|(id, _)| StageId::parse(id))
        .collect::<Result<_, _>>()?;
    let shas: Vec<Sha> = shas
        .iter()
        .map(|s| Sha::parse(s))
        .collect::<Result<_, _>>()?;
    let (ready_shas, recent_shas) = shas.split_at(READY);

    // Deployments move forward through history: deployment i goes to stage i % 4 and
    // deploys a SHA that advances with i, later stages lagging a little behind; one
    // in nine fails. Each is created through the real transaction and finished.
    let t = Instant::now();
    let failed = seed_history(
        app.state.storage.as_ref(),
        &History {
            pipeline: &pipeline,
            stages: &stage_ids,
            ready: ready_shas,
            users: &user_ids,
            deployments: DEPLOYMENTS,
            // This server's own, so its reaper leaves them to the seeding.
            runner: Some(app.state.cluster.id().clone()),
        },
    )
    .await?;
    let deployments_time = t.elapsed();

    // A bearer token (as /profile/tokens would create it) for the JSON API and SSE.
    let token = tokens::generate();
    app.state
        .storage
        .create_token(
            viewer_id,
            "load bench",
            &tokens::hash(&token),
            &tokens::display_prefix(&token),
        )
        .await?;
    let bearer = format!("Bearer {token}");
    // The server holds each user to 32 open streams: the subscribers are a team of
    // viewers with a token each, 30 streams apiece.
    let mut stream_bearers = Vec::new();
    for i in 0..SUBSCRIBERS.div_ceil(STREAMS_PER_VIEWER) {
        let viewer = app
            .state
            .storage
            .create_user(
                &UserName::parse(&format!("viewer-{i}"))?,
                "$argon2id$tokens-only",
                [Role::Viewer].into_iter().collect(),
                false,
            )
            .await?;
        let token = tokens::generate();
        app.state
            .storage
            .create_token(
                viewer.id,
                "load bench",
                &tokens::hash(&token),
                &tokens::display_prefix(&token),
            )
            .await?;
        stream_bearers.push(format!("Bearer {token}"));
    }

    println!(
        "git repo ({COMMITS} commits): {}   server start + fetch: {}   users (argon2): {}   \
         {READY} ready marks and {DEPLOYMENTS} deployments ({failed} failed): {}",
        secs(git_time),
        secs(start_time),
        secs(users_time),
        secs(deployments_time),
    );
    println!("seeding took {} in total", secs(seed_start.elapsed()));

    // Sanity: all 250 commits are on the board (older superseded cards are counted,
    // not drawn) before anything is measured.
    let plain = reqwest::Client::builder().build()?;
    let board: serde_json::Value = plain
        .get(app.url("/api/v1/pipelines/web/board"))
        .header("authorization", &bearer)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let count = |v: &serde_json::Value| v.as_array().map_or(0, Vec::len);
    let lane = count(&board["commits"]);
    let ready_col = count(&board["ready"]);
    let stages = board["stages"].as_array().cloned().unwrap_or_default();
    let drawn: Vec<usize> = stages.iter().map(|s| count(&s["cards"])).collect();
    let hidden: Vec<usize> = stages
        .iter()
        .map(|s| s["hidden_superseded"].as_u64().unwrap_or(0) as usize)
        .collect();
    let cards = lane + ready_col + drawn.iter().sum::<usize>();
    let total = cards + hidden.iter().sum::<usize>();
    println!(
        "board: {total} commits, {cards} cards drawn (lane {lane}, ready {ready_col}, per stage {drawn:?}; \
         superseded not drawn {hidden:?}); mirror error: {}",
        board["mirror"]["error"]
    );
    ensure!(
        total == COMMITS,
        "expected {COMMITS} commits on the board, got {total}"
    );

    // ---------------------------------------------------------------- a. board page
    print_load();
    println!("\n== a. board page: GET /pipelines/web (SSR HTML, session cookie)");
    let page = hammer(&app, ops.clone(), "/pipelines/web", None, |body| {
        body.contains(r#"data-testid="board""#)
    })
    .await;
    page.print();
    failures.extend(page.failure("board page"));

    // ---------------------------------------------------------------- b. board JSON
    print_load();
    println!("\n== b. board JSON: GET /api/v1/pipelines/web/board (bearer token)");
    let json = hammer(
        &app,
        plain.clone(),
        "/api/v1/pipelines/web/board",
        Some(bearer.clone()),
        |body| body.starts_with('{') && body.contains("\"stages\""),
    )
    .await;
    json.print();
    failures.extend(json.failure("board JSON"));

    // ---------------------------------------------------------------- c. promote → start
    print_load();
    println!("\n== c. promote (POST /pipelines/web/promote form) -> deployer process start, {PROMOTIONS} sequential into qa");
    for sha in recent_shas.iter().take(PROMOTIONS) {
        app.state
            .storage
            .mark_ready(&pipeline, sha, user_ids[0], None)
            .await?;
    }
    let mut to_start = Vec::new();
    let mut answered = Vec::new();
    let mut promote_failures = 0;
    for sha in recent_shas.iter().take(PROMOTIONS) {
        let sent = now_ns();
        let t = Instant::now();
        let id = match tokio::time::timeout(REQUEST_TIMEOUT, app.promote(&ops, sha.as_str(), "qa"))
            .await
        {
            Ok(Ok(Ok(id))) => id,
            other => {
                promote_failures += 1;
                failures.push(format!("promoting {sha} failed: {other:?}"));
                continue;
            }
        };
        answered.push(t.elapsed().as_secs_f64() * 1e3);
        let d = app.wait_for_end(id).await?;
        if d.state != DeploymentState::Succeeded {
            failures.push(format!("deployment #{id} ended {}", d.state));
            continue;
        }
        let path = out.path().join(format!("start-{id}"));
        let started: i128 = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .trim()
            .parse()
            .with_context(|| format!("parsing {}", path.display()))?;
        to_start.push((started - sent) as f64 / 1e6);
    }
    let to_start = sorted(to_start);
    let answered = sorted(answered);
    println!(
        "promote -> deployer start: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (n={}, {promote_failures} failed)",
        pct(&to_start, 50.0),
        pct(&to_start, 99.0),
        to_start.last().copied().unwrap_or(f64::NAN),
        to_start.len()
    );
    println!(
        "  (promote request + redirected page, for reference: p50 {:.1} ms, p99 {:.1} ms)",
        pct(&answered, 50.0),
        pct(&answered, 99.0)
    );

    // ---------------------------------------------------------------- d. SSE fan-out
    print_load();
    println!("\n== d. log line -> {SUBSCRIBERS} SSE subscribers (GET /api/v1/events?pipeline=web, bearer)");
    let subscribers = plain.clone();
    let url = app.url("/api/v1/events?pipeline=web");
    let gate = Arc::new(tokio::sync::Semaphore::new(OPEN_CONCURRENCY));
    let (opened_tx, mut opened_rx) = tokio::sync::mpsc::channel::<Result<()>>(SUBSCRIBERS);
    let t = Instant::now();
    let mut tasks = Vec::with_capacity(SUBSCRIBERS);
    for i in 0..SUBSCRIBERS {
        tasks.push(tokio::spawn(subscribe(
            subscribers.clone(),
            url.clone(),
            stream_bearers[i / STREAMS_PER_VIEWER].clone(),
            gate.clone(),
            opened_tx.clone(),
        )));
    }
    drop(opened_tx);
    let mut open_errors = 0;
    let mut first_open_error = None;
    for _ in 0..SUBSCRIBERS {
        match tokio::time::timeout(Duration::from_secs(60), opened_rx.recv()).await {
            Ok(Some(Ok(()))) => {}
            Ok(Some(Err(e))) => {
                open_errors += 1;
                first_open_error.get_or_insert(format!("{e:#}"));
            }
            Ok(None) | Err(_) => {
                open_errors += 1;
                first_open_error.get_or_insert("a subscriber never reported".into());
            }
        }
    }
    println!(
        "{} streams open in {} ({open_errors} failed{})",
        SUBSCRIBERS - open_errors,
        secs(t.elapsed()),
        first_open_error
            .as_ref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default()
    );
    if open_errors > 0 {
        failures.push(format!("{open_errors} event streams failed to open"));
    }

    // Staging accepts the newest SHA that just succeeded on qa.
    let last = recent_shas[PROMOTIONS - 1].as_str();
    let id = match app.promote(&ops, last, "staging").await? {
        Ok(id) => id,
        Err(flash) => anyhow::bail!("promotion to staging refused: {flash}"),
    };
    let d = app.wait_for_end(id).await?;
    ensure!(
        d.state == DeploymentState::Succeeded,
        "the logging deployment #{id} ended {}",
        d.state
    );
    let mut latencies = Vec::with_capacity(SUBSCRIBERS * LOG_LINES);
    let mut complete = 0;
    let mut incomplete_example = None;
    for task in tasks {
        match tokio::time::timeout(SUBSCRIBER_DEADLINE + Duration::from_secs(10), task).await {
            Ok(Ok(Ok(lat))) => {
                if lat.len() == LOG_LINES {
                    complete += 1;
                } else {
                    incomplete_example.get_or_insert(format!("{} of {LOG_LINES} lines", lat.len()));
                }
                latencies.extend(lat);
            }
            Ok(Ok(Err(e))) => {
                incomplete_example.get_or_insert(format!("{e:#}"));
            }
            Ok(Err(e)) => {
                incomplete_example.get_or_insert(format!("task failed: {e}"));
            }
            Err(_) => {
                incomplete_example.get_or_insert("subscriber task hung".into());
            }
        }
    }
    let latencies = sorted(latencies);
    println!(
        "log line -> subscriber: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} deliveries; \
         {complete}/{SUBSCRIBERS} subscribers received all {LOG_LINES} lines",
        pct(&latencies, 50.0),
        pct(&latencies, 99.0),
        latencies.last().copied().unwrap_or(f64::NAN),
        latencies.len(),
    );
    if complete < SUBSCRIBERS {
        failures.push(format!(
            "{} subscribers missed lines (e.g. {})",
            SUBSCRIBERS - complete,
            incomplete_example.unwrap_or_default()
        ));
    }

    print_load();
    app.stop().await?;
    Ok(failures)
}

/// What one board phase measured.
struct Phase {
    /// Latencies (ms) of requests started after the warm-up, sorted.
    latencies: Vec<f64>,
    /// Responses completed inside the measured window (warm-up end → `MEASURE` later).
    completed_in_window: usize,
    warm_up_requests: usize,
    errors: usize,
    first_error: Option<String>,
    bytes: usize,
    /// One connection, sequential requests, nothing else running: sorted latencies (ms).
    unloaded: Vec<f64>,
}

impl Phase {
    fn print(&self) {
        let n = self.latencies.len();
        println!(
            "unloaded (1 connection, {SEQUENTIAL} sequential requests): p50 {:.1} ms, p99 {:.1} ms",
            pct(&self.unloaded, 50.0),
            pct(&self.unloaded, 99.0),
        );
        println!(
            "{CONNECTIONS} connections, {} measured after {} warm-up ({} warm-up requests): \
             {:.1} req/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (n={n}, {} errors, {:.0} KB/response)",
            secs(MEASURE),
            secs(WARM_UP),
            self.warm_up_requests,
            self.completed_in_window as f64 / MEASURE.as_secs_f64(),
            pct(&self.latencies, 50.0),
            pct(&self.latencies, 99.0),
            self.latencies.last().copied().unwrap_or(f64::NAN),
            self.errors,
            self.bytes as f64 / n.max(1) as f64 / 1024.0,
        );
    }

    fn failure(&self, what: &str) -> Option<String> {
        (self.errors > 0 || self.latencies.is_empty()).then(|| {
            format!(
                "{what}: {} failed requests ({})",
                self.errors,
                self.first_error
                    .as_deref()
                    .unwrap_or("no request completed")
            )
        })
    }
}

/// GETs `url` once; the response must be 200 and pass `check`. Returns the body size.
async fn get_checked(
    client: &reqwest::Client,
    url: &str,
    auth: Option<&str>,
    check: fn(&str) -> bool,
) -> Result<usize> {
    let mut req = client.get(url).timeout(REQUEST_TIMEOUT);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let res = req.send().await?;
    let status = res.status();
    let body = res.text().await?;
    ensure!(status == 200, "status {status}");
    ensure!(check(&body), "unexpected body ({} bytes)", body.len());
    Ok(body.len())
}

/// First `SEQUENTIAL` requests one after the other (the unloaded latency), then
/// `CONNECTIONS` tasks GET `path` back to back for the warm-up plus the measured
/// duration; each response must be 200 and pass `check`.
async fn hammer(
    app: &TestApp,
    client: reqwest::Client,
    path: &str,
    auth: Option<String>,
    check: fn(&str) -> bool,
) -> Phase {
    let url = app.url(path);
    let mut phase = Phase {
        latencies: Vec::new(),
        completed_in_window: 0,
        warm_up_requests: 0,
        errors: 0,
        first_error: None,
        bytes: 0,
        unloaded: Vec::new(),
    };
    for _ in 0..SEQUENTIAL {
        let t = Instant::now();
        match get_checked(&client, &url, auth.as_deref(), check).await {
            Ok(_) => phase.unloaded.push(t.elapsed().as_secs_f64() * 1e3),
            Err(e) => {
                phase.errors += 1;
                phase.first_error.get_or_insert(format!("{e:#}"));
                return phase;
            }
        }
    }
    phase.unloaded = sorted(std::mem::take(&mut phase.unloaded));

    let begin = Instant::now();
    let measure_from = begin + WARM_UP;
    let stop_at = measure_from + MEASURE;
    let mut tasks = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let client = client.clone();
        let url = url.clone();
        let auth = auth.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut in_window = 0;
            let mut warm = 0;
            let mut errors = 0;
            let mut first_error = None;
            let mut bytes = 0;
            for _ in 0..MAX_REQUESTS_PER_CONNECTION {
                let t = Instant::now();
                if t >= stop_at {
                    break;
                }
                let result = get_checked(&client, &url, auth.as_deref(), check).await;
                let done = Instant::now();
                match result {
                    Ok(len) => {
                        if done >= measure_from && done <= stop_at {
                            in_window += 1;
                        }
                        if t >= measure_from {
                            lat.push((done - t).as_secs_f64() * 1e3);
                            bytes += len;
                        } else {
                            warm += 1;
                        }
                    }
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(format!("{e:#}"));
                        // A failing server is not hammered further by this connection.
                        break;
                    }
                }
            }
            (lat, in_window, warm, errors, first_error, bytes)
        }));
    }
    for task in tasks {
        match task.await {
            Ok((lat, in_window, warm, errors, first_error, bytes)) => {
                phase.latencies.extend(lat);
                phase.completed_in_window += in_window;
                phase.warm_up_requests += warm;
                phase.errors += errors;
                phase.bytes += bytes;
                if phase.first_error.is_none() {
                    phase.first_error = first_error;
                }
            }
            Err(e) => {
                phase.errors += 1;
                phase.first_error.get_or_insert(format!("task failed: {e}"));
            }
        }
    }
    phase.latencies = sorted(std::mem::take(&mut phase.latencies));
    phase
}

/// One SSE subscriber: opens the stream (reporting on `opened`), then collects the
/// latency (ms) of every `t <ns>` log line until it has all of them or its deadline.
async fn subscribe(
    client: reqwest::Client,
    url: String,
    auth: String,
    gate: Arc<tokio::sync::Semaphore>,
    opened: tokio::sync::mpsc::Sender<Result<()>>,
) -> Result<Vec<f64>> {
    let open = async {
        let _permit = gate.acquire().await?;
        let res = tokio::time::timeout(
            REQUEST_TIMEOUT,
            client
                .get(&url)
                .header("accept", "text/event-stream")
                .header("authorization", &auth)
                .send(),
        )
        .await
        .context("opening the stream timed out")??;
        ensure!(
            res.status() == 200,
            "event stream answered {}",
            res.status()
        );
        Ok(res)
    }
    .await;
    let mut res = match open {
        Ok(res) => {
            let _ = opened.send(Ok(())).await;
            res
        }
        Err(e) => {
            let msg = format!("{e:#}");
            let _ = opened.send(Err(e)).await;
            anyhow::bail!("{msg}");
        }
    };
    drop(opened);
    let deadline = tokio::time::Instant::now() + SUBSCRIBER_DEADLINE;
    let mut buf: Vec<u8> = Vec::new();
    let mut lat = Vec::with_capacity(LOG_LINES);
    while lat.len() < LOG_LINES {
        let chunk = match tokio::time::timeout_at(deadline, res.chunk()).await {
            Err(_) => break,
            Ok(Ok(Some(c))) => c,
            Ok(Ok(None)) => anyhow::bail!("the event stream ended"),
            Ok(Err(e)) => return Err(e.into()),
        };
        let received = now_ns();
        buf.extend_from_slice(&chunk);
        while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let block: Vec<u8> = buf.drain(..end + 2).collect();
            let block = String::from_utf8_lossy(&block);
            let mut event = "message";
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            ensure!(
                event != "resync",
                "the subscriber lagged and was told to resync"
            );
            if event != "log" {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(&data)?;
            if let Some(ts) = v["line"].as_str().and_then(|l| l.strip_prefix("t ")) {
                let sent: i128 = ts.trim().parse()?;
                lat.push((received - sent) as f64 / 1e6);
            }
        }
    }
    Ok(lat)
}
