//! `slipway-bench`: the release server measured side by side with nginx serving the
//! very same bytes, in one run. `scripts/bench` builds the release, installs wrk and
//! nginx, runs this and rewrites the figures in BENCHMARKS.md.
//!
//! Usage: `slipway-bench --server PATH --site DIR [--smoke] [--report FILE]`
//!
//! It seeds realistic installations (a real git repository of 250 commits, a
//! four-stage pipeline, 20 users, 200 SHAs marked ready, and 1,000, 10,000 and 100,000
//! finished deployments written through the real `Storage` API) and measures, with the
//! release server on each: the board read just after a change and again unchanged
//! (time and SQL statements, from the server's log), cold start to `/readyz`; on the
//! 10,000 one also idle memory, the board page (session cookie) and the board JSON
//! (bearer token) under `wrk -t2 -c64`, each beside nginx serving the bytes Slipway
//! answered, and whether an unchanged board answers `304`. Then ancestry on a generated
//! 100,000-commit repository, and the size of the wasm.
//!
//! `--smoke` (run by `scripts/test` on the debug build, and by `scripts/bench --smoke`
//! on the release) needs neither wrk nor nginx: no loads, no 100,000-deployment
//! installation, ancestry on 10,000 commits; it fails on gross regressions only (see
//! `smoke_failures`), the wasm's size only when the site is a precompressed release.

mod ancestry;
mod growth;
mod install;
mod load;

use anyhow::{bail, ensure, Context as _, Result};
use growth::Growth;
use install::{Install, Repo};
use std::path::PathBuf;
use std::time::Duration;

/// The installation the loads run on.
const DEPLOYMENTS: usize = 10_000;
/// The smoke check's bound on the statements of a board read just after a change (the
/// board computed again): 50 measured on 2026-12-05 at 1,000 and 10,000 deployments,
/// plus half. A statement per card or per deployment would cross it at once.
const CHANGED_STATEMENTS_LIMIT: usize = 75;
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

async fn run() -> Result<()> {
    let args = args()?;
    let repo = Repo::new()?;

    // ------------------------------------------------- the board as history grows
    let sizes: &[usize] = if args.smoke {
        &[1_000, DEPLOYMENTS]
    } else {
        &[1_000, DEPLOYMENTS, 100_000]
    };
    let mut growth = Vec::new();
    let mut main = None;
    for &n in sizes {
        let install = Install::seeded(&args.server, &args.site, &repo, n).await?;
        growth.push(growth::measure(&install, &repo).await?);
        if n == DEPLOYMENTS {
            main = Some(install);
        }
    }
    let install = main.context("no installation of the loads' size")?;

    // ------------------------------------------------- start, memory and the loads
    let (server, cold_start) = install.start(None).await?;
    let viewer = install.viewer().await?;
    let not_modified = load::revalidated(&install, &viewer).await?;
    let full = if args.smoke {
        None
    } else {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let idle_rss = server.memory_mib()?.0;
        let loads = load::measure(&install, &viewer, 10).await?;
        Some((idle_rss, loads, server.memory_mib()?.0))
    };
    drop(server);

    // ------------------------------------------------------------------ ancestry
    let ancestry = ancestry::measure(if args.smoke { 10_000 } else { 100_000 }).await?;

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
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let share = |a: load::Load, b: load::Load| format!("{:.1} %", 100.0 * a.rps / b.rps);
    let load_row = |what: &str, ours: load::Load, theirs: load::Load| {
        (
            what.to_owned(),
            format!(
                "{:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
                ours.rps, ours.p50, ours.p99
            ),
            format!(
                "{:.0} req/s, p99 {:.2} ms ({} of nginx)",
                theirs.rps,
                theirs.p99,
                share(ours, theirs)
            ),
        )
    };
    let mut rows = vec![(
        "unchanged board revalidated".to_owned(),
        if not_modified {
            "304 Not Modified"
        } else {
            "NOT 304"
        }
        .to_owned(),
        String::new(),
    )];
    if let Some((_, loads, _)) = &full {
        rows.extend([
            load_row(
                "board page (SSR, cookie), 64 connections",
                loads.page,
                loads.page_nginx,
            ),
            load_row(
                "board JSON (bearer), 64 connections",
                loads.json,
                loads.json_nginx,
            ),
            (
                "response sizes (page / JSON)".to_owned(),
                format!(
                    "{} / {}",
                    kb(loads.page_bytes as u64),
                    kb(loads.json_bytes as u64)
                ),
                "the same bytes".to_owned(),
            ),
        ]);
    }
    for g in &growth {
        rows.push((
            format!(
                "board JSON with {} deployments: read after a change / unchanged (median of 12); cold start",
                thousands(g.deployments)
            ),
            format!(
                "{:.1} ms, {} statements / {:.2} ms, {} statement{}; start {}",
                g.changed_ms,
                g.changed_statements,
                g.unchanged_ms,
                g.unchanged_statements,
                if g.unchanged_statements == 1 { "" } else { "s" },
                ms(g.cold_start)
            ),
            String::new(),
        ));
    }
    let a = &ancestry;
    rows.extend([
        (
            format!(
                "ancestry, {} commits (generated in {:.1} s), 300 behind: `git merge-base --is-ancestor`, answer no / yes",
                thousands(a.commits),
                a.generated_in.as_secs_f64()
            ),
            format!(
                "no commit-graph: {} / –; commit-graph: {} / {}",
                ms(a.git_plain),
                ms(a.git_graph),
                ms(a.git_graph_yes)
            ),
            String::new(),
        ),
        (
            "ancestry in Slipway (`Repos::relation`, both directions): first ask / known pair".to_owned(),
            format!(
                "{} / {:.1} µs (mirror commit-graph: {})",
                ms(a.first_ask),
                a.cached.as_secs_f64() * 1e6,
                if a.mirror_graph { "written" } else { "NONE" }
            ),
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
            ms(cold_start),
            String::new(),
        ),
    ]);
    if let Some((idle_rss, _, loaded_rss)) = full {
        rows.push((
            "RSS idle (5 s after start) / after the load".to_owned(),
            format!("{idle_rss:.1} MiB / {loaded_rss:.1} MiB"),
            String::new(),
        ));
    }
    let mut table = String::from("| figure | Slipway | nginx, same bytes |\n|---|---|---|\n");
    for (what, ours, theirs) in &rows {
        table.push_str(&format!("| {what} | {ours} | {theirs} |\n"));
    }
    println!("\n{table}");
    if let Some(report) = &args.report {
        std::fs::write(report, &table)?;
    }
    if wasm_br.is_none() {
        println!("the wasm's size is not checked: the site is not a precompressed release build");
    }
    let failures = smoke_failures(not_modified, wasm_br, &growth, a.mirror_graph);
    ensure!(
        failures.is_empty(),
        "gross regressions: {}",
        failures.join("; ")
    );
    Ok(())
}

/// `12,345`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let first = match digits.len() % 3 {
        0 => 3,
        r => r,
    };
    let (head, rest) = digits.split_at(first.min(digits.len()));
    let mut out = head.to_owned();
    for group in rest.as_bytes().chunks(3) {
        out.push(',');
        out.push_str(std::str::from_utf8(group).unwrap_or_default());
    }
    out
}

/// What the smoke check fails on: only what no machine's noise explains.
fn smoke_failures(
    not_modified: bool,
    wasm_br: Option<u64>,
    growth: &[Growth],
    mirror_graph: bool,
) -> Vec<String> {
    let mut failures = Vec::new();
    if !not_modified {
        failures.push("an unchanged board was not answered 304".into());
    }
    if let Some(br) = wasm_br.filter(|b| *b > WASM_BROTLI_LIMIT) {
        failures.push(format!(
            "the wasm is {br} bytes brotli (limit {WASM_BROTLI_LIMIT})"
        ));
    }
    for g in growth {
        if g.unchanged_statements > 1 {
            failures.push(format!(
                "an unchanged board cost {} statements at {} deployments (one: the credential)",
                g.unchanged_statements, g.deployments
            ));
        }
        if g.changed_statements > CHANGED_STATEMENTS_LIMIT {
            failures.push(format!(
                "a changed board cost {} statements at {} deployments (limit {CHANGED_STATEMENTS_LIMIT})",
                g.changed_statements, g.deployments
            ));
        }
    }
    if !mirror_graph {
        failures.push("the mirror's fetch wrote no commit-graph".into());
    }
    failures
}
