//! Accessibility checks in the browser tests with axe-core, the npm package
//! `scripts/setup --browser` fetches (pinned, integrity-checked) into
//! `target/browser-tools/`.

use anyhow::{bail, Context as _};
use fantoccini::Client;
use serde::Deserialize;
use std::path::PathBuf;

/// The axe-core version `scripts/setup` installs.
pub const AXE_VERSION: &str = "4.14.1";

/// One rule a page breaks, as axe reports it.
#[derive(Debug, Deserialize)]
pub struct Violation {
    /// The rule (`color-contrast`, `label`…).
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: Option<String>,
    /// What the rule asks for.
    pub help: String,
    /// The elements that break it.
    pub nodes: Vec<Node>,
}

/// An element breaking a rule.
#[derive(Debug, Deserialize)]
pub struct Node {
    /// Its outer HTML (cut by axe).
    pub html: String,
    /// Why, in axe's words.
    #[serde(rename = "failureSummary")]
    pub failure_summary: Option<String>,
}

/// Where `axe.min.js` is: `SLIPWAY_AXE_JS`, else where `scripts/setup --browser` puts it.
fn axe_path() -> PathBuf {
    std::env::var_os("SLIPWAY_AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
                "../target/browser-tools/axe-core-{AXE_VERSION}/axe.min.js"
            ))
        })
}

/// Runs axe-core on the page `client` shows and returns its serious and critical
/// violations (the ones that keep someone from using the page).
pub async fn serious_violations(client: &Client) -> anyhow::Result<Vec<Violation>> {
    let path = axe_path();
    let source = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading axe-core from {} (run `scripts/setup --browser`, or set SLIPWAY_AXE_JS)",
            path.display()
        )
    })?;
    client
        .execute(&format!("{source}\n;return typeof axe;"), vec![])
        .await
        .context("loading axe-core into the page")?;
    let answer = client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               axe.run(document, { resultTypes: ['violations'] })
                  .then(r => done(JSON.stringify(r.violations)))
                  .catch(e => done(JSON.stringify({ error: String(e) })));"#,
            vec![],
        )
        .await
        .context("running axe-core")?;
    let text = answer.as_str().context("axe-core's answer is not text")?;
    if text.starts_with('{') {
        bail!("axe-core failed: {text}");
    }
    let all: Vec<Violation> = serde_json::from_str(text).context("axe-core's violations")?;
    Ok(all
        .into_iter()
        .filter(|v| matches!(v.impact.as_deref(), Some("serious" | "critical")))
        .collect())
}

/// The violations, one paragraph each, for an assertion's message.
pub fn describe(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| {
            let nodes: Vec<String> = v
                .nodes
                .iter()
                .take(5)
                .map(|n| {
                    format!(
                        "    {}\n      {}",
                        n.html,
                        n.failure_summary
                            .as_deref()
                            .unwrap_or("")
                            .replace('\n', "\n      ")
                    )
                })
                .collect();
            format!(
                "{} ({}): {} — {} element(s)\n{}",
                v.id,
                v.impact.as_deref().unwrap_or("?"),
                v.help,
                v.nodes.len(),
                nodes.join("\n")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
