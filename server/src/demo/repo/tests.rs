//! The demo repository is built from real git commands, in a scratch directory.

use super::*;
use std::path::PathBuf;

/// A unique scratch directory removed on drop (std only, no `tempfile`).
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("slipway-demo-{tag}-{}-{nanos}", std::process::id()));
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const NOW: i64 = 1_750_000_000;

fn git(dir: &Path, args: &[&str]) -> String {
    match run_git(dir, args, None) {
        Ok(out) => out,
        Err(err) => panic!("{err:#}"),
    }
}

#[test]
fn creates_realistic_history_and_reuses_it() -> Result<()> {
    let scratch = Scratch::new("create");
    let repo = scratch.0.join("demo-web");
    create_demo_repo(&repo, NOW)?;

    let first_parent: usize =
        git(&repo, &["rev-list", "--count", "--first-parent", "main"]).parse()?;
    assert!(
        first_parent >= 30,
        "only {first_parent} first-parent commits"
    );

    let merges = git(&repo, &["rev-list", "--merges", "main"])
        .lines()
        .count();
    assert!(merges >= 4, "only {merges} merges");

    let status = git_command(&repo)
        .args(["merge-base", "--is-ancestor", "experiment/rewrite", "main"])
        .status()?;
    assert_eq!(
        status.code(),
        Some(1),
        "experiment/rewrite must not be merged into main"
    );
    let exp_only: usize =
        git(&repo, &["rev-list", "--count", "main..experiment/rewrite"]).parse()?;
    assert_eq!(exp_only, 3);

    assert_eq!(git(&repo, &["symbolic-ref", "HEAD"]), "refs/heads/main");
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
    assert!(git(&repo, &["log", "--format=%an", "main"])
        .lines()
        .any(|a| a == "Margaret Hamilton"));
    let migrations = git(&repo, &["log", "--format=%H", "main", "--", "migrations/"])
        .lines()
        .count();
    assert!(
        migrations >= 2,
        "only {migrations} commits touch migrations/"
    );

    // Dates: within the last ~20 days and strictly increasing in creation order.
    let mut dates: Vec<i64> = git(&repo, &["log", "--all", "--format=%ct"])
        .lines()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    dates.sort_unstable();
    assert!(
        dates.windows(2).all(|w| w[0] < w[1]),
        "dates are not distinct"
    );
    assert!(dates[0] >= NOW - 20 * 86_400 && *dates.last().unwrap_or(&0) < NOW);
    let first_parent_dates: Vec<i64> =
        git(&repo, &["log", "--first-parent", "--format=%ct", "main"])
            .lines()
            .map(str::parse)
            .collect::<Result<_, _>>()?;
    assert!(
        first_parent_dates.windows(2).all(|w| w[0] > w[1]),
        "main is not newest first"
    );

    let tip = git(&repo, &["rev-parse", "main"]);
    create_demo_repo(&repo, NOW + 86_400)?;
    assert_eq!(
        git(&repo, &["rev-parse", "main"]),
        tip,
        "second call must reuse the repository"
    );
    Ok(())
}

#[test]
fn is_deterministic() -> Result<()> {
    let a = Scratch::new("det-a");
    let b = Scratch::new("det-b");
    create_demo_repo(&a.0, NOW)?;
    create_demo_repo(&b.0, NOW)?;
    assert_eq!(
        git(&a.0, &["rev-parse", "main"]),
        git(&b.0, &["rev-parse", "main"])
    );
    assert_eq!(
        git(&a.0, &["rev-parse", "experiment/rewrite"]),
        git(&b.0, &["rev-parse", "experiment/rewrite"])
    );
    Ok(())
}

#[test]
fn refuses_non_empty_directory_without_git() -> Result<()> {
    let scratch = Scratch::new("nonempty");
    fs::create_dir_all(&scratch.0)?;
    fs::write(scratch.0.join("keep.txt"), "mine")?;
    assert!(create_demo_repo(&scratch.0, NOW).is_err());
    assert_eq!(fs::read_to_string(scratch.0.join("keep.txt"))?, "mine");
    Ok(())
}
