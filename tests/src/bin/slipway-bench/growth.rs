//! What a board costs as its history grows: the read right after a change (the board
//! is computed again) and the read after it (served from memory), timed and with the
//! SQL statements the server's log attributes to each.

use crate::install::Install;
use anyhow::{ensure, Result};
use slipway_tests::api::settled_etag;
use slipway_tests::process::{logged_statements, statements_by_request, LoggedStatement};
use std::time::{Duration, Instant};

/// Changes (a ready mark given, then taken back) measured per installation.
const ROUNDS: usize = 12;

/// One installation's figures.
pub struct Growth {
    pub deployments: usize,
    pub cold_start: Duration,
    /// The board read just after a change: median time and statements.
    pub changed_ms: f64,
    pub changed_statements: usize,
    /// The board read again, nothing changed: median time and statements.
    pub unchanged_ms: f64,
    pub unchanged_statements: usize,
}

pub async fn measure(install: &Install) -> Result<Growth> {
    let log = install.file(&format!("growth-{}.log", install.deployments));
    let (server, cold_start) = install.start(Some(&log)).await?;
    let viewer = install.viewer().await?;
    let base = &install.base;
    let api = reqwest::Client::new();
    let board = format!("{base}/api/v1/pipelines/web/board");
    let read = |id: String| {
        let req = api
            .get(&board)
            .bearer_auth(&viewer.token)
            .header("x-request-id", id);
        async move {
            let t = Instant::now();
            let res = req.send().await?;
            ensure!(res.status() == 200, "the board answered {}", res.status());
            res.bytes().await?;
            Ok::<_, anyhow::Error>(t.elapsed())
        }
    };
    settled_etag(|| api.get(&board).bearer_auth(&viewer.token)).await?;
    // A commit the seeding left unmarked: marking it and taking the mark back each
    // change what the board shows, and nothing else.
    let sha = install.unmarked.as_str();
    let (mut changed, mut unchanged) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let change = if round % 2 == 0 {
            api.post(format!("{base}/api/v1/pipelines/web/ready"))
                .json(&serde_json::json!({ "sha": sha }))
        } else {
            api.delete(format!("{base}/api/v1/pipelines/web/ready/{sha}"))
        };
        let res = change
            .bearer_auth(&viewer.token)
            .header("x-request-id", format!("change-{round}"))
            .send()
            .await?;
        ensure!(
            res.status().is_success(),
            "the change answered {}: {}",
            res.status(),
            res.text().await?
        );
        changed.push(read(format!("changed-{round}")).await?);
        unchanged.push(read(format!("unchanged-{round}")).await?);
    }
    drop(server);

    let statements = logged_statements(&std::fs::read_to_string(&log)?);
    let counts = statements_by_request(&statements);
    print_slowest(install.deployments, &statements);
    let statements = |prefix: &str| {
        median(
            (0..ROUNDS)
                .map(|r| {
                    counts
                        .get(format!("{prefix}-{r}").as_str())
                        .copied()
                        .unwrap_or(0)
                })
                .collect(),
        )
    };
    let ms = |d: Vec<Duration>| median(d).as_secs_f64() * 1000.0;
    Ok(Growth {
        deployments: install.deployments,
        cold_start,
        changed_statements: statements("changed"),
        unchanged_statements: statements("unchanged"),
        changed_ms: ms(changed),
        unchanged_ms: ms(unchanged),
    })
}

/// Prints the statements that took longest in all the reads after a change, summed by
/// statement: where a board's time goes as its history grows.
fn print_slowest(deployments: usize, statements: &[LoggedStatement]) {
    let mut by_statement: std::collections::HashMap<&str, (f64, usize)> = Default::default();
    for s in statements {
        if s.request_id
            .as_deref()
            .is_some_and(|id| id.starts_with("changed-"))
        {
            let e = by_statement.entry(&s.text).or_default();
            e.0 += s.elapsed_secs;
            e.1 += 1;
        }
    }
    let mut slowest: Vec<_> = by_statement.into_iter().collect();
    slowest.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    println!("slowest statements of {ROUNDS} reads after a change, {deployments} deployments:");
    for (statement, (secs, n)) in slowest.iter().take(4) {
        let short: String = statement.chars().take(160).collect();
        println!("  {:8.1} ms in {n:4} runs: {short}", secs * 1000.0);
    }
}

/// The middle value (the upper one of an even count).
pub fn median<T: Ord + Copy + Default>(mut v: Vec<T>) -> T {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}
