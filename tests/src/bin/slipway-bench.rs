//! `slipway-bench`: the release server measured side by side with nginx serving the
//! very same bytes, in one run. `scripts/bench` builds the release, installs wrk and
//! nginx, runs this and rewrites the figures in BENCHMARKS.md.
//!
//! Usage: `slipway-bench --server PATH --site DIR [--smoke] [--report FILE]`
//!
//! It seeds a realistic installation (a real git repository of 250 commits, a
//! four-stage pipeline, 20 users, 200 SHAs marked ready, 10,000 finished deployments
//! written through the real `Storage` API), starts the release server on it and
//! measures: cold start to `/readyz`, idle memory, the board page (session cookie)
//! and the board JSON (bearer token) under `wrk -t2 -c64`, each beside nginx serving
//! the bytes Slipway answered, whether an unchanged board answers `304`, and the size
//! of the wasm. `--smoke` runs each load for 2 s instead of 10 and fails on gross
//! regressions only (see `smoke_failures`).

use anyhow::{bail, ensure, Context as _, Result};
use slipway_model::{PipelineId, Role, RoleSet, Sha, StageId, UserName};
use slipway_tests::git::TestRepo;
use slipway_tests::process::{free_port, Server};
use slipway_tests::seed::{seed_history, History};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const COMMITS: usize = 250;
const READY: usize = 200;
const DEPLOYMENTS: usize = 10_000;
const USERS: usize = 20;
const STAGES: [&str; 4] = ["qa", "staging", "preprod", "production"];
const PASSWORD: &str = "bench password for olga";
/// The smoke check's bound on the initial wasm (brotli, as `cargo leptos build
/// --release --precompress` writes it): 469,734 bytes measured on 2026-12-05, plus 10 %.
/// Lower it as the wasm shrinks.
const WASM_BROTLI_LIMIT: u64 = 516_700;

struct Args {
    server: PathBuf,
    site: PathBuf,
    smoke: bool,
    report: Option<PathBuf>,
}

fn args() -> Result<Args> {
    let mut it = std::env::args().skip(1);
    let (mut server, mut site, mut smoke, mut report) = (None, None, false, None);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--server" => server = it.next().map(PathBuf::from),
            "--site" => site = it.next().map(PathBuf::from),
            "--report" => report = it.next().map(PathBuf::from),
            "--smoke" => smoke = true,
            other => {
                bail!("unknown argument {other:?} (expected --server, --site, --smoke, --report)")
            }
        }
    }
    Ok(Args {
        server: server.context("--server PATH (the release `slipway`) is required")?,
        site: site.context("--site DIR (the release site) is required")?,
        smoke,
        report,
    })
}

fn main() -> std::process::ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
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
struct Load {
    rps: f64,
    p50: f64,
    p99: f64,
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

fn pipeline_config(repo: &Path) -> String {
    let mut text = format!(
        "[[pipelines]]\nid = \"web\"\nname = \"Web shop\"\nrepository = \"{}\"\nbranch = \"main\"\nfetch_interval_seconds = 3600\n",
        repo.display()
    );
    for id in STAGES {
        text.push_str(&format!(
            "\n[[pipelines.stages]]\nid = \"{id}\"\nlabel = \"{id}\"\n[pipelines.stages.deployer]\ncommand = [\"true\"]\n"
        ));
    }
    text
}

async fn run() -> Result<()> {
    let args = args()?;
    let seconds = if args.smoke { 2 } else { 10 };
    let dir = tempfile::tempdir()?;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");

    // ------------------------------------------------------------------ seeding
    let t = Instant::now();
    let mut repo = TestRepo::new()?;
    let mut shas = Vec::with_capacity(COMMITS);
    for i in 0..COMMITS {
        shas.push(Sha::parse(&repo.commit(&format!(
            "Change number {i}: adjust the checkout flow"
        ))?)?);
    }
    let config_path = dir.path().join("slipway.toml");
    std::fs::write(
        &config_path,
        format!(
            "listen = \"127.0.0.1:{port}\"\nbase_url = \"{base}\"\ndata_dir = \"{}\"\nsite_dir = \"{}\"\n\n{}",
            dir.path().join("data").display(),
            args.site.display(),
            pipeline_config(repo.path())
        ),
    )?;
    let slipway = |extra: &[&str]| {
        let mut cmd = Command::new(&args.server);
        cmd.arg("--config").arg(&config_path).args(extra);
        cmd.env("RUST_LOG", "warn");
        cmd
    };
    // The one who logs in gets a real argon2 hash, through the CLI.
    let mut add = slipway(&[
        "user",
        "add",
        "olga",
        "--role",
        "ops",
        "--role",
        "qa",
        "--password-stdin",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .spawn()?;
    if let Some(mut stdin) = add.stdin.take() {
        use std::io::Write as _;
        writeln!(stdin, "{PASSWORD}")?;
    }
    ensure!(add.wait()?.success(), "slipway user add failed");
    let config = slipway_core::config::Config::load(&config_path)?;
    let storage =
        slipway_core::store::sqlite::SqliteStorage::connect(config.database_url.expose()).await?;
    let mut users = Vec::new();
    for i in 1..USERS {
        let roles: RoleSet = [[Role::Dev, Role::Qa, Role::Ops, Role::Viewer][i % 4]]
            .into_iter()
            .collect();
        let u = slipway_core::store::UserStore::create_user(
            &storage,
            &UserName::parse(&format!("user{i}"))?,
            "$argon2id$not-a-hash",
            roles,
            false,
        )
        .await?;
        users.push(u.id);
    }
    let stages: Vec<StageId> = STAGES
        .iter()
        .map(|s| StageId::parse(s))
        .collect::<Result<_, _>>()?;
    let pipeline = PipelineId::parse("web")?;
    let failed = seed_history(
        &storage,
        &History {
            pipeline: &pipeline,
            stages: &stages,
            ready: &shas[..READY],
            users: &users,
            deployments: DEPLOYMENTS,
            runner: None,
        },
    )
    .await?;
    storage.pool().close().await;
    println!(
        "seeded {COMMITS} commits, {USERS} users, {READY} ready, {DEPLOYMENTS} deployments ({failed} failed) in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // ------------------------------------------------------------ cold start
    let http = reqwest::Client::new();
    let started = Instant::now();
    let server = Server::from_child(
        slipway(&[])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
        &base,
    );
    loop {
        let ready = http.get(format!("{base}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status() == 200) {
            break;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(60),
            "the server did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let cold_start = started.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle_rss = server.memory_mib()?.0;

    // ------------------------------------------------------- who is looking
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let res = browser
        .post(format!("{base}/login"))
        .header("origin", &base)
        .form(&[("username", "olga"), ("password", PASSWORD), ("next", "")])
        .send()
        .await?;
    ensure!(res.status() == 303, "login answered {}", res.status());
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';')
                .next()
                .filter(|c| c.starts_with("slipway_session="))
        })
        .context("no session cookie")?
        .to_owned();
    let res = browser
        .post(format!("{base}/profile/tokens"))
        .header("origin", &base)
        .form(&[("name", "bench")])
        .send()
        .await?;
    let token = slipway_tests::app::shown_once(&res.text().await?, "new-token")
        .context("no token shown")?;
    // The login's one-time message is shown once; the board after it is the steady one.
    let page_url = format!("{base}/pipelines/web");
    let json_url = format!("{base}/api/v1/pipelines/web/board");
    let _ = browser.get(&page_url).send().await?;
    let page = browser.get(&page_url).send().await?;
    let page_etag = page
        .headers()
        .get("etag")
        .cloned()
        .context("the page has no ETag")?;
    let page_bytes = page.bytes().await?;
    let json = http.get(&json_url).bearer_auth(&token).send().await?;
    let json_bytes = json.bytes().await?;
    let not_modified = browser
        .get(&page_url)
        .header("if-none-match", page_etag)
        .send()
        .await?
        .status()
        == 304;

    // ------------------------------------------------ nginx, the same bytes
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www)?;
    std::fs::write(www.join("board.html"), &page_bytes)?;
    std::fs::write(www.join("board.json"), &json_bytes)?;
    let nginx_port = free_port();
    let conf = dir.path().join("nginx.conf");
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
            dir = dir.path().display(),
            www = www.display(),
        ),
    )?;
    std::fs::create_dir_all(dir.path().join("tmp"))?;
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
    let page_load = wrk(&page_url, Some(&cookie_header), seconds)?;
    let page_nginx = wrk(&format!("{nginx}/board.html"), None, seconds)?;
    let json_load = wrk(&json_url, Some(&bearer_header), seconds)?;
    let json_nginx = wrk(&format!("{nginx}/board.json"), None, seconds)?;
    let loaded_rss = server.memory_mib()?.0;
    drop(server);

    // ------------------------------------------------------------------ wasm
    let size = |name: &str| {
        std::fs::metadata(args.site.join("pkg").join(name))
            .map(|m| m.len())
            .ok()
    };
    let wasm_raw = size("slipway.wasm").context("no slipway.wasm in the site")?;
    let wasm_br = size("slipway.wasm.br");
    let wasm_gz = size("slipway.wasm.gz");

    let kb = |n: u64| format!("{:.0} KB", n as f64 / 1024.0);
    let share = |a: Load, b: Load| format!("{:.1} %", 100.0 * a.rps / b.rps);
    let rows = [
        (
            "board page (SSR, cookie), 64 connections".to_owned(),
            format!(
                "{:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
                page_load.rps, page_load.p50, page_load.p99
            ),
            format!(
                "{:.0} req/s, p99 {:.2} ms ({} of nginx)",
                page_nginx.rps,
                page_nginx.p99,
                share(page_load, page_nginx)
            ),
        ),
        (
            "board JSON (bearer), 64 connections".to_owned(),
            format!(
                "{:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
                json_load.rps, json_load.p50, json_load.p99
            ),
            format!(
                "{:.0} req/s, p99 {:.2} ms ({} of nginx)",
                json_nginx.rps,
                json_nginx.p99,
                share(json_load, json_nginx)
            ),
        ),
        (
            "response sizes (page / JSON)".to_owned(),
            format!(
                "{} / {}",
                kb(page_bytes.len() as u64),
                kb(json_bytes.len() as u64)
            ),
            "the same bytes".to_owned(),
        ),
        (
            "unchanged board revalidated".to_owned(),
            if not_modified {
                "304 Not Modified"
            } else {
                "NOT 304"
            }
            .to_owned(),
            String::new(),
        ),
        (
            "wasm (initial): raw / brotli / gzip".to_owned(),
            format!(
                "{} / {} / {}",
                kb(wasm_raw),
                wasm_br.map_or("not precompressed".into(), kb),
                wasm_gz.map_or("not precompressed".into(), kb)
            ),
            String::new(),
        ),
        (
            "cold start to /readyz (10,000 deployments)".to_owned(),
            format!("{:.0} ms", cold_start.as_secs_f64() * 1000.0),
            String::new(),
        ),
        (
            "RSS idle (5 s after start) / after the load".to_owned(),
            format!("{idle_rss:.1} MiB / {loaded_rss:.1} MiB"),
            String::new(),
        ),
    ];
    let mut table = String::from("| figure | Slipway | nginx, same bytes |\n|---|---|---|\n");
    for (what, ours, theirs) in &rows {
        table.push_str(&format!("| {what} | {ours} | {theirs} |\n"));
    }
    println!("\n{table}");
    if let Some(report) = &args.report {
        std::fs::write(report, &table)?;
    }
    let failures = smoke_failures(not_modified, wasm_br);
    ensure!(
        failures.is_empty(),
        "gross regressions: {}",
        failures.join("; ")
    );
    Ok(())
}

/// What the smoke check fails on: only what no machine's noise explains.
fn smoke_failures(not_modified: bool, wasm_br: Option<u64>) -> Vec<String> {
    let mut failures = Vec::new();
    if !not_modified {
        failures.push("an unchanged board was not answered 304".into());
    }
    if let Some(br) = wasm_br.filter(|b| *b > WASM_BROTLI_LIMIT) {
        failures.push(format!(
            "the wasm is {br} bytes brotli (limit {WASM_BROTLI_LIMIT})"
        ));
    }
    failures
}

/// nginx from the PATH, or Debian's sbin.
fn nginx_binary() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("nginx"))
}
