//! GitHub's JSON for commits, comparisons and branches, computed from a real git
//! repository (the shapes of GitHub's published responses in
//! `/work/shared/fixtures/github/rest/`: `list_commits.json`, `get_commit.json`,
//! `compare_commits.ahead.json`, `get_branch.json`).

use crate::git::git;
use serde_json::{json, Value};
use std::path::Path;

/// `git log` fields: SHA, parents, author name, email, date, committer name, email,
/// date, message; fields end with U+001F, records with U+001E.
const FORMAT: &str = "--format=%H%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%cn%x1f%ce%x1f%cI%x1f%B%x1e";

/// Whether a ref from a request may be handed to git: a SHA or a plain branch name.
pub fn safe_ref(r: &str) -> bool {
    !r.is_empty()
        && !r.starts_with('-')
        && !r.contains("..")
        && r.len() <= 200
        && r.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
}

/// The commit a ref names, if any.
pub fn resolve(dir: &Path, r: &str) -> Option<String> {
    if !safe_ref(r) {
        return None;
    }
    git(
        dir,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &format!("{r}^{{commit}}"),
        ],
    )
    .ok()
    .map(|s| s.trim().to_owned())
    .filter(|s| s.len() == 40)
}

/// One commit as GitHub lists it, from a `FORMAT` record.
fn commit_json(base: &str, full_name: &str, record: &str) -> Option<Value> {
    let f: Vec<&str> = record.trim_start_matches('\n').split('\u{1f}').collect();
    if f.len() < 9 {
        return None;
    }
    let sha = f[0];
    let api = format!("{base}/repos/{full_name}");
    let html = format!("https://github.com/{full_name}");
    let parents: Vec<Value> = f[1]
        .split_whitespace()
        .map(|p| json!({ "sha": p, "url": format!("{api}/commits/{p}"), "html_url": format!("{html}/commit/{p}") }))
        .collect();
    Some(json!({
        "sha": sha,
        "node_id": format!("C_{sha}"),
        "commit": {
            "author": { "name": f[2], "email": f[3], "date": f[4] },
            "committer": { "name": f[5], "email": f[6], "date": f[7] },
            "message": f[8].trim_end(),
            "tree": { "sha": sha, "url": format!("{api}/git/trees/{sha}") },
            "url": format!("{api}/git/commits/{sha}"),
            "comment_count": 0,
            "verification": { "verified": false, "reason": "unsigned", "signature": null, "payload": null }
        },
        "url": format!("{api}/commits/{sha}"),
        "html_url": format!("{html}/commit/{sha}"),
        "comments_url": format!("{api}/commits/{sha}/comments"),
        "author": null,
        "committer": null,
        "parents": parents,
    }))
}

/// Commits `git log <args>` lists, as GitHub's JSON.
pub fn log(dir: &Path, base: &str, full_name: &str, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["log", FORMAT];
    all.extend_from_slice(args);
    git(dir, &all)
        .unwrap_or_default()
        .split('\u{1e}')
        .filter(|r| !r.trim().is_empty())
        .filter_map(|r| commit_json(base, full_name, r))
        .collect()
}

/// Files that differ from `from` to `to`, as GitHub's `files`.
pub fn files(dir: &Path, full_name: &str, from: Option<&str>, to: &str) -> Vec<Value> {
    let out = match from {
        Some(from) => git(dir, &["diff", "--name-status", "--no-renames", from, to]),
        None => git(
            dir,
            &["show", "--format=", "--name-status", "--no-renames", to],
        ),
    }
    .unwrap_or_default();
    out.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(status, name)| {
            let status = match status {
                "A" => "added",
                "D" => "removed",
                _ => "modified",
            };
            let raw = format!("https://github.com/{full_name}/raw/{to}/{name}");
            json!({
                "sha": to, "filename": name, "status": status, "additions": 1, "deletions": 0, "changes": 1,
                "blob_url": format!("https://github.com/{full_name}/blob/{to}/{name}"),
                "raw_url": raw,
                "contents_url": format!("https://api.github.com/repos/{full_name}/contents/{name}?ref={to}"),
                "patch": "@@ -0,0 +1 @@",
            })
        })
        .collect()
}

/// `GET /repos/{o}/{r}/commits/{sha}`: the commit with its stats and files.
pub fn commit(dir: &Path, base: &str, full_name: &str, sha: &str) -> Option<Value> {
    let mut c = log(dir, base, full_name, &["-1", sha]).into_iter().next()?;
    let parent = c["parents"][0]["sha"].as_str().map(str::to_owned);
    let files = files(dir, full_name, parent.as_deref(), sha);
    c["stats"] = json!({ "total": files.len(), "additions": files.len(), "deletions": 0 });
    c["files"] = Value::Array(files);
    Some(c)
}

fn count(dir: &Path, range: &str) -> i64 {
    git(dir, &["rev-list", "--count", range])
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// `GET /repos/{o}/{r}/compare/{base}...{head}`, computed by git.
pub fn compare(dir: &Path, api: &str, full_name: &str, base: &str, head: &str) -> Option<Value> {
    let merge_base = git(dir, &["merge-base", base, head])
        .ok()?
        .trim()
        .to_owned();
    let ahead = count(dir, &format!("{base}..{head}"));
    let behind = count(dir, &format!("{head}..{base}"));
    let status = match (ahead, behind) {
        (0, 0) => "identical",
        (_, 0) => "ahead",
        (0, _) => "behind",
        _ => "diverged",
    };
    let commits = log(
        dir,
        api,
        full_name,
        &["--reverse", "--max-count=250", &format!("{base}..{head}")],
    );
    let one = |sha: &str| log(dir, api, full_name, &["-1", sha]).into_iter().next();
    let html = format!("https://github.com/{full_name}/compare/{base}...{head}");
    Some(json!({
        "url": format!("{api}/repos/{full_name}/compare/{base}...{head}"),
        "html_url": html,
        "permalink_url": html,
        "diff_url": format!("{html}.diff"),
        "patch_url": format!("{html}.patch"),
        "base_commit": one(base),
        "merge_base_commit": one(&merge_base),
        "status": status,
        "ahead_by": ahead,
        "behind_by": behind,
        "total_commits": commits.len(),
        "commits": commits,
        "files": files(dir, full_name, Some(&merge_base), head),
    }))
}
