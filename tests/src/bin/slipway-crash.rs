//! Crash test: kills the real `slipway` binary with SIGKILL at random moments while
//! deploys, promotions, cancels and rollbacks run, restarts it, and checks after each
//! restart that every deployment is terminal, no deployer is left running, no stage
//! has two active deployments, a process that was never a deployer was not touched,
//! and the audit log only grew.
//!
//! `cargo run -p slipway-tests --bin slipway-crash -- [--rounds N] [--seed S]`
//! (build the server first: `cargo build -p slipway-server`). Exits non-zero on the
//! first broken invariant, printing the seed that reproduces the run.

use anyhow::{bail, ensure, Context as _};
use slipway_core::deploys::{marker, runner, MARKER_VAR};
use slipway_model::DeploymentId;
use slipway_tests::app::shown_once;
use slipway_tests::git::TestRepo;
use slipway_tests::process::{logged_in, Installation};
use std::time::{Duration, Instant};

const PASSWORD: &str = "a long enough passphrase";

/// A small, seedable generator (xorshift64*): runs are reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The stages' deployers: chatty (dies of SIGPIPE with the server), quiet (outlives it
/// until the restart ends it by its marker), and mixed.
fn pipeline(repo: &std::path::Path) -> String {
    let stage = |id: &str, script: &str| {
        format!(
            "\n[[pipelines.stages]]\nid = \"{id}\"\nfast_forward_only = false\n\
             [pipelines.stages.deployer]\ncommand = [\"sh\", \"-c\", {script:?}]\ntimeout_seconds = 60\n"
        )
    };
    format!(
        "[[pipelines]]\nid = \"web\"\nrepository = \"{}\"\nbranch = \"main\"\nfetch_interval_seconds = 3600\n{}{}{}",
        repo.display(),
        stage("qa", "i=0; while [ $i -lt 15 ]; do echo line $i; i=$((i+1)); sleep 0.1; done"),
        stage("staging", "echo started; sleep 2; echo done"),
        stage("production", "echo started; sleep 0.5; echo step; sleep 1; echo done"),
    )
}

struct Args {
    rounds: u32,
    seed: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut rounds = 50;
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let value = it.next().with_context(|| format!("{a} needs a value"))?;
        match a.as_str() {
            "--rounds" => rounds = value.parse().context("--rounds takes a number")?,
            "--seed" => seed = value.parse().context("--seed takes a number")?,
            _ => bail!("unknown argument {a} (expected --rounds N, --seed S)"),
        }
    }
    Ok(Args { rounds, seed })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    println!("crash test: {} rounds, seed {}", args.rounds, args.seed);
    let result = run(&args).await;
    if let Err(e) = &result {
        eprintln!("FAILED (reproduce with --seed {}): {e:#}", args.seed);
    }
    result
}

/// The SHA stage number `index` runs now, from the board.
async fn current_sha(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    index: usize,
) -> Option<String> {
    let board: serde_json::Value = http
        .get(format!("{base}/api/v1/pipelines/web/board"))
        .bearer_auth(token)
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    board["stages"][index]["stage"]["current"]["sha"]
        .as_str()
        .map(str::to_owned)
}

/// The audit log as (id, action, target) rows, to check it only grows.
async fn audit_rows(db: &sqlx::SqlitePool) -> anyhow::Result<Vec<(i64, String, Option<String>)>> {
    Ok(
        sqlx::query_as("SELECT id, action, target FROM audit_log ORDER BY id")
            .fetch_all(db)
            .await?,
    )
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let mut rng = Rng(args.seed);
    let mut repo = TestRepo::new()?;
    let install = Installation::new("shutdown_grace_seconds = 0", &pipeline(repo.path()));
    install.add_user("crash", &["dev", "qa", "ops", "admin"], PASSWORD);
    let data_dir = install.dir().join("data");
    let base = install.base.clone();

    // A process that was never a deployer: nothing may ever signal it.
    let mut bystander = std::process::Command::new("sleep")
        .arg("100000")
        .spawn()
        .context("start the bystander process")?;

    let mut server = install.start();
    server.wait_up().await;
    let cookie = logged_in(&base, "crash", PASSWORD).await;
    let page = cookie
        .post(format!("{base}/profile/tokens"))
        .header("origin", &base)
        .form(&[("name", "crash")])
        .send()
        .await?
        .text()
        .await?;
    let token = shown_once(&page, "new-token").context("no token shown")?;
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        data_dir.join("slipway.db").display()
    ))
    .await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;

    let mut audit_before = audit_rows(&db).await?;
    let (mut actions, mut refused, mut interrupted) = (0u64, 0u64, 0i64);
    let mut refusals = std::collections::BTreeMap::<String, u64>::new();
    let started = Instant::now();
    for round in 1..=args.rounds {
        // Work for a random while, then SIGKILL mid-whatever.
        let kill_after = Duration::from_millis(200 + rng.below(2800));
        let until = Instant::now() + kill_after;
        let mut ids: Vec<i64> = Vec::new();
        while Instant::now() < until {
            let sha = match rng.below(6) {
                0 => Some(repo.commit(&format!("round {round} change {actions}"))?),
                _ => None,
            };
            let head = repo.head("main")?;
            let api = |path: String| format!("{base}/api/v1/pipelines/web{path}");
            let req = match rng.below(6) {
                0 => http
                    .post(api("/ready".into()))
                    .json(&serde_json::json!({ "sha": sha.unwrap_or(head) })),
                1 | 2 => {
                    // Follow SHAs through the stages: into QA the head (ready or not),
                    // further on what the stage before runs now. The gates decide.
                    let to = rng.below(3) as usize;
                    let stage = ["qa", "staging", "production"][to];
                    let sha = match to {
                        0 => Some(head),
                        _ => current_sha(&http, &base, &token, to - 1).await,
                    };
                    let Some(sha) = sha else { continue };
                    http.post(api(format!("/stages/{stage}/promote")))
                        .json(&serde_json::json!({ "sha": sha }))
                }
                3 => match ids.last() {
                    Some(id) => http.post(format!("{base}/api/v1/deployments/{id}/cancel")),
                    None => continue,
                },
                4 => {
                    let stage = ["qa", "staging", "production"][rng.below(3) as usize];
                    http.post(api(format!("/stages/{stage}/rollback")))
                        .json(&serde_json::json!({ "reason": "crash test" }))
                }
                _ => {
                    tokio::time::sleep(Duration::from_millis(rng.below(150))).await;
                    continue;
                }
            };
            actions += 1;
            match req.bearer_auth(&token).send().await {
                Ok(res) if res.status().is_server_error() => {
                    bail!("round {round}: {} answered {}", res.url(), res.status());
                }
                Ok(res) if res.status() == 201 => {
                    let body: serde_json::Value = res.json().await.unwrap_or_default();
                    if let Some(id) = body["id"].as_i64() {
                        ids.push(id);
                    }
                }
                Ok(res) if res.status().is_success() => {}
                Ok(res) => {
                    refused += 1;
                    let body: serde_json::Value = res.json().await.unwrap_or_default();
                    let why = body["gate"]
                        .as_str()
                        .or(body["code"].as_str())
                        .unwrap_or("?")
                        .to_owned();
                    *refusals.entry(why).or_insert(0u64) += 1;
                }
                Err(e) => bail!("round {round}: request failed while the server ran: {e}"),
            }
        }
        server.kill();
        server = install.start();
        server.wait_up().await;

        // Recovery ran before the server answered: nothing may be left active.
        let active: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT id, stage_id, state FROM deployments WHERE state IN ('queued', 'running')",
        )
        .fetch_all(&db)
        .await?;
        ensure!(
            active.is_empty(),
            "round {round}: still active after restart: {active:?}"
        );
        let all: Vec<(i64,)> = sqlx::query_as("SELECT id FROM deployments")
            .fetch_all(&db)
            .await?;
        for (id,) in &all {
            let id: DeploymentId = id.to_string().parse()?;
            let left = runner::groups_with_env(MARKER_VAR, &marker(&data_dir, id));
            ensure!(
                left.is_empty(),
                "round {round}: deployment #{id} still has processes: {left:?}"
            );
        }
        ensure!(
            bystander.try_wait()?.is_none(),
            "round {round}: a process that was never a deployer was killed"
        );
        let audit_now = audit_rows(&db).await?;
        ensure!(
            audit_now.len() >= audit_before.len()
                && audit_now[..audit_before.len()] == audit_before[..],
            "round {round}: the audit log lost or changed rows"
        );
        // Every deployment is in the audit log: created by a promote or rollback entry.
        for (id,) in &all {
            let target = format!("deployment #{id}");
            ensure!(
                audit_now.iter().any(|(_, action, t)| (action == "promote"
                    || action == "rollback")
                    && t.as_deref() == Some(&target)),
                "round {round}: {target} has no promote or rollback entry in the audit log"
            );
        }
        audit_before = audit_now;
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM deployments WHERE state = 'interrupted'")
                .fetch_one(&db)
                .await?;
        println!(
            "round {round:>3}: killed after {:>4} ms; {} deployments, {} interrupted so far",
            kill_after.as_millis(),
            all.len(),
            n
        );
        interrupted = n;
    }
    let (total,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM deployments")
        .fetch_one(&db)
        .await?;
    let _ = bystander.kill();
    println!("refusals by gate or code: {refusals:?}");
    println!(
        "passed: {} rounds in {:.0} s; {actions} actions ({refused} refused, no 5xx); \
         {total} deployments, {interrupted} interrupted by a kill and recovered; no orphaned or wrongly killed process, \
         no stage with two active deployments, audit log append-only",
        args.rounds,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
