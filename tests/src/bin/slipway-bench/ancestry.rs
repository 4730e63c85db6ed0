//! Ancestry on a long history: `git merge-base --is-ancestor` on a generated repository
//! with and without a commit-graph, beside Slipway's `Repos::relation` asked for the first
//! time (two git processes, on a mirror whose fetches write a commit-graph) and again
//! (from memory).

use crate::growth::median;
use anyhow::{ensure, Result};
use slipway_core::config::Config;
use slipway_core::github::client::GitHubClients;
use slipway_core::repos::{Relation, Repos};
use slipway_model::Sha;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How far behind the branch's head the "production" commit of each question is.
const BEHIND: usize = 300;
/// Distinct pairs asked.
const PAIRS: usize = 10;

pub struct Ancestry {
    pub commits: usize,
    pub generated_in: Duration,
    /// `git merge-base --is-ancestor HEAD PROD` ("no": the expensive direction), median.
    pub git_plain: Duration,
    pub git_graph: Duration,
    /// The same question answered "yes" (`PROD HEAD`), with the commit-graph.
    pub git_graph_yes: Duration,
    /// Whether the mirror Slipway fetched has a commit-graph.
    pub mirror_graph: bool,
    pub first_ask: Duration,
    pub cached: Duration,
}

fn git(dir: &Path, args: &[&str]) -> Result<std::process::ExitStatus> {
    Ok(Command::new("git").arg("-C").arg(dir).args(args).status()?)
}

/// The median time of `git merge-base --is-ancestor a b` over five runs, and its answer.
fn is_ancestor(dir: &Path, a: &Sha, b: &Sha) -> Result<(Duration, bool)> {
    let mut times = Vec::new();
    let mut answer = false;
    for _ in 0..5 {
        let t = Instant::now();
        let status = git(
            dir,
            &["merge-base", "--is-ancestor", a.as_str(), b.as_str()],
        )?;
        times.push(t.elapsed());
        answer = status.success();
    }
    Ok((median(times), answer))
}

pub async fn measure(commits: usize) -> Result<Ancestry> {
    let tmp = tempfile::tempdir()?;
    let source = tmp.path().join("source");
    std::fs::create_dir(&source)?;
    let t = Instant::now();
    let shas = crate::install::generate(&source, commits)?;
    let generated_in = t.elapsed();
    let head = &shas[commits - 1];
    let prod = &shas[commits - 1 - BEHIND];

    let (git_plain, answer) = is_ancestor(&source, head, prod)?;
    ensure!(!answer, "the head is not an ancestor of an older commit");
    ensure!(
        git(&source, &["commit-graph", "write", "--reachable"])?.success(),
        "git commit-graph write failed"
    );
    let (git_graph, answer) = is_ancestor(&source, head, prod)?;
    ensure!(!answer, "the head is not an ancestor of an older commit");
    let (git_graph_yes, answer) = is_ancestor(&source, prod, head)?;
    ensure!(answer, "an older commit is an ancestor of the head");

    let config = Config::parse(
        &format!(
            "data_dir = \"{}\"\n\n[[pipelines]]\nid = \"big\"\nrepository = \"{}\"\nbranch = \"main\"\n\n[[pipelines.stages]]\nid = \"production\"\ndeployer = {{ command = [\"true\"] }}\n",
            tmp.path().join("data").display(),
            source.display()
        ),
        &tmp.path().join("slipway.toml"),
    )?;
    let repos = Repos::new(&config, &Arc::new(GitHubClients::new(&config.github)));
    repos.fetch("big").await?;
    let info = config.data_dir.join("mirrors/big.git/objects/info");
    let mirror_graph = info.join("commit-graph").is_file() || info.join("commit-graphs").is_dir();

    // Each pair is new to Slipway the first time round, then known.
    let pairs: Vec<(&Sha, &Sha)> = (0..PAIRS)
        .map(|i| (&shas[commits - 1 - BEHIND - i], &shas[commits - 1 - i]))
        .collect();
    let mut first = Vec::new();
    for (prod, candidate) in &pairs {
        let t = Instant::now();
        let r = repos.relation("big", prod, candidate).await?;
        first.push(t.elapsed());
        ensure!(
            r == Some(Relation::Ahead),
            "{candidate} descends from {prod}: {r:?}"
        );
    }
    let rounds = 1_000;
    let t = Instant::now();
    for _ in 0..rounds {
        for (prod, candidate) in &pairs {
            let r = repos.relation("big", prod, candidate).await?;
            ensure!(
                r == Some(Relation::Ahead),
                "a cached relation changed: {r:?}"
            );
        }
    }
    let cached = t.elapsed() / (rounds * PAIRS) as u32;
    Ok(Ancestry {
        commits,
        generated_in,
        git_plain,
        git_graph,
        git_graph_yes,
        mirror_graph,
        first_ask: median(first),
        cached,
    })
}
