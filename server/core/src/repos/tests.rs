//! Ancestry, its cache, and the on-demand fetch budget.

use super::*;

#[test]
fn a_relation_says_which_commit_is_the_others_ancestor_both_ways() {
    for (base, head) in [(true, true), (true, false), (false, true), (false, false)] {
        let r = Relation::of(base, head);
        assert_eq!(
            (r.base_is_ancestor(), r.head_is_ancestor()),
            (base, head),
            "{r:?}"
        );
    }
    assert_eq!(Relation::of(true, false), Relation::Ahead);
    assert_eq!(Relation::of(false, true), Relation::Behind);
}

#[test]
fn a_reversed_relation_swaps_base_and_head() {
    for r in [
        Relation::Identical,
        Relation::Ahead,
        Relation::Behind,
        Relation::Diverged,
    ] {
        let back = r.reversed();
        assert_eq!(
            (back.base_is_ancestor(), back.head_is_ancestor()),
            (r.head_is_ancestor(), r.base_is_ancestor()),
            "{r:?}"
        );
        assert_eq!(back.reversed(), r);
    }
}

#[tokio::test]
async fn a_relation_once_known_is_answered_without_git_in_either_order_and_an_unknown_one_is_asked_again(
) {
    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("source");
    std::fs::create_dir(&source).unwrap();
    let run = |args: &[&str]| {
        let all: Vec<String> = ["-c", "user.name=T", "-c", "user.email=t@example.com"]
            .iter()
            .chain(args)
            .map(|a| a.to_string())
            .collect();
        let source = source.clone();
        async move { git::Git::new(&source).args(all).output().await.unwrap() }
    };
    run(&["init", "--quiet", "--initial-branch=main"]).await;
    let mut shas = Vec::new();
    for subject in ["First", "Second"] {
        run(&["commit", "--quiet", "--allow-empty", "-m", subject]).await;
        shas.push(Sha::parse(run(&["rev-parse", "HEAD"]).await.trim()).unwrap());
    }
    let config = Config::parse(
        r#"
[[pipelines]]
id = "web"
repository = "source"
branch = "main"

[[pipelines.stages]]
id = "production"
deployer = { command = ["true"] }
"#,
        &tmp.path().join("slipway.toml"),
    )
    .unwrap();
    let repos = Repos::new(&config, &Arc::new(GitHubClients::new(&config.github)));
    repos.fetch("web").await.unwrap();
    // Fetches write a commit-graph: ancestry questions stop early instead of walking.
    let info = config.data_dir.join("mirrors/web.git/objects/info");
    assert!(
        info.join("commit-graph").is_file() || info.join("commit-graphs").is_dir(),
        "no commit-graph in {}",
        info.display()
    );
    let (first, second) = (&shas[0], &shas[1]);
    assert_eq!(
        repos.relation("web", first, second).await.unwrap(),
        Some(Relation::Ahead)
    );

    // A commit the mirror lacks yet: unknown, and asked again once it is fetched.
    run(&["commit", "--quiet", "--allow-empty", "-m", "Third"]).await;
    let third = Sha::parse(run(&["rev-parse", "HEAD"]).await.trim()).unwrap();
    assert_eq!(repos.relation("web", second, &third).await.unwrap(), None);
    repos.fetch("web").await.unwrap();
    assert_eq!(
        repos.relation("web", second, &third).await.unwrap(),
        Some(Relation::Ahead)
    );

    // Without the mirror git can answer nothing: known pairs come from memory.
    std::fs::remove_dir_all(config.data_dir.join("mirrors")).unwrap();
    assert_eq!(
        repos.relation("web", second, first).await.unwrap(),
        Some(Relation::Behind)
    );
    assert_eq!(
        repos.relation("web", first, second).await.unwrap(),
        Some(Relation::Ahead)
    );
    assert_eq!(
        repos.relation("web", &third, second).await.unwrap(),
        Some(Relation::Behind)
    );
    assert!(
        !matches!(repos.relation("web", first, &third).await, Ok(Some(_))),
        "a pair never asked goes to git"
    );
}

#[test]
fn demand_fetches_come_in_a_burst_then_one_per_refill_period() {
    let mut clock = FetchClock::new();
    let start = clock.budget_at;
    let burst = (0..100).filter(|_| clock.take(start)).count();
    assert_eq!(burst as f64, DEMAND_FETCH_BURST);
    assert!(!clock.take(start + DEMAND_FETCH_REFILL / 2));
    assert!(clock.take(start + DEMAND_FETCH_REFILL));
    assert!(!clock.take(start + DEMAND_FETCH_REFILL));
    // A long quiet spell refills the burst, never more.
    let later = start + DEMAND_FETCH_REFILL * 1000;
    let refilled = (0..100).filter(|_| clock.take(later)).count();
    assert_eq!(refilled as f64, DEMAND_FETCH_BURST);
}
