//! Schema check of the JSON API: starts a real server (real SQLite file, real git
//! repository, real deployers) with a pipeline that has history, then runs
//! Schemathesis against its own `/api/v1/openapi.json` with an admin's token. Path
//! parameters are drawn mostly from what exists (the pipeline, its stages, its SHAs,
//! its deployments) so requests reach the handlers rather than stopping at 404; the
//! rest are Schemathesis' own, valid and invalid.
//!
//! Passes when Schemathesis finds no 5xx and no response that breaks the document
//! (status, content type, headers, body schema).
//!
//! `scripts/api-schema-check [--max-examples N] [--seed S]` installs Schemathesis and
//! runs this; directly: `cargo run -p slipway-tests --bin slipway-schemathesis --
//! --st PATH/TO/st [--max-examples N] [--seed S]`.

use anyhow::{bail, Context as _};
use slipway_model::Role;
use slipway_tests::app::{deploying_pipeline, spawn_app, TestApp, WRITE_SHA};
use slipway_tests::git::TestRepo;
use std::time::Duration;

/// What Schemathesis checks: the server's side of the contract. (Whether the server
/// accepts every value the schema allows is left out: a lock reason of one space is a
/// valid string and is still refused, with a 400 that says why.)
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance";

struct Args {
    st: String,
    max_examples: u32,
    seed: Option<u64>,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        st: "st".into(),
        max_examples: 50,
        seed: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let value = it.next().with_context(|| format!("{a} needs a value"))?;
        match a.as_str() {
            "--st" => args.st = value,
            "--max-examples" => {
                args.max_examples = value.parse().context("--max-examples takes a number")?
            }
            "--seed" => args.seed = Some(value.parse().context("--seed takes a number")?),
            _ => bail!("unknown argument {a} (expected --st PATH, --max-examples N, --seed S)"),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let mut repo = TestRepo::new()?;
    let mut shas = Vec::new();
    for i in 0..5 {
        shas.push(repo.commit(&format!("change {i}"))?);
    }
    let out = tempfile::tempdir()?;
    let mut app = spawn_app(&deploying_pipeline(repo.path(), out.path(), WRITE_SHA, "")).await?;
    let admin = app
        .logged_in("fuzzer", &[Role::Dev, Role::Qa, Role::Ops, Role::Admin])
        .await?;
    let token = app.create_token(&admin, "schemathesis").await?;
    let ids = history(&app, &token, &shas).await?;

    let dir = tempfile::tempdir()?;
    let config = dir.path().join("schemathesis.toml");
    std::fs::write(&config, schemathesis_config(&shas, &ids))?;
    println!(
        "schema check: {} (examples per operation: {}, seed: {})",
        app.url("/api/v1/openapi.json"),
        args.max_examples,
        args.seed.map_or("random".into(), |s| s.to_string())
    );
    let mut st = tokio::process::Command::new(&args.st);
    // Its cache of crashes goes to the working directory: the temp dir, not the checkout.
    st.current_dir(dir.path())
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(app.url("/api/v1/openapi.json"))
        .args(["--checks", CHECKS])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--max-examples", &args.max_examples.to_string()])
        // One worker: Schemathesis' generator threads trip a CPython 3.11 bug ("AST
        // constructor recursion depth mismatch") that it reports as a runtime error.
        .args(["--workers", "1", "--request-timeout", "10", "--no-color"])
        .args(["--report", "junit"])
        .arg("--report-dir")
        .arg(dir.path().join("report"));
    if let Some(seed) = args.seed {
        st.args(["--seed", &seed.to_string()]);
    }
    let status = st.status().await.with_context(|| {
        format!(
            "could not run Schemathesis ({}); scripts/api-schema-check installs it",
            args.st
        )
    })?;
    app.stop().await?;
    if !status.success() {
        eprintln!("FAILED: Schemathesis found responses that break the API's contract (above)");
        std::process::exit(1);
    }
    println!("passed: no 5xx, every response as the OpenAPI document says");
    Ok(())
}

/// Gives the pipeline a history: the SHAs marked ready, the oldest promoted through
/// every stage, so deployments, logs and gates have something to show.
async fn history(app: &TestApp, token: &str, shas: &[String]) -> anyhow::Result<Vec<i64>> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let api = |path: &str| app.url(&format!("/api/v1/pipelines/web{path}"));
    for sha in shas {
        let res = http
            .post(api("/ready"))
            .bearer_auth(token)
            .json(&serde_json::json!({ "sha": sha }))
            .send()
            .await?;
        anyhow::ensure!(res.status() == 200, "mark ready answered {}", res.status());
    }
    let mut ids = Vec::new();
    for stage in ["qa", "staging", "production"] {
        let res = http
            .post(api(&format!("/stages/{stage}/promote")))
            .bearer_auth(token)
            .json(&serde_json::json!({ "sha": shas[0] }))
            .send()
            .await?;
        anyhow::ensure!(res.status() == 201, "promote answered {}", res.status());
        let id = res.json::<serde_json::Value>().await?["id"]
            .as_i64()
            .context("no deployment id")?;
        app.wait_for_end(slipway_model::DeploymentId(id)).await?;
        ids.push(id);
    }
    Ok(ids)
}

/// Binds the path parameters to what exists, most of the time.
fn schemathesis_config(shas: &[String], ids: &[i64]) -> String {
    let list = |items: &[String]| {
        items
            .iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    format!(
        "[dictionaries.pipelines]\nvalues = [\"web\"]\n\
         [dictionaries.stages]\nvalues = [\"qa\", \"staging\", \"production\"]\n\
         [dictionaries.shas]\nvalues = [{}]\n\
         [dictionaries.ids]\nvalues = [{}]\n\n\
         [parameters]\n\
         \"path.pipeline\" = {{ dictionary = \"pipelines\", probability = 0.9 }}\n\
         \"path.stage\" = {{ dictionary = \"stages\", probability = 0.9 }}\n\
         \"path.sha\" = {{ dictionary = \"shas\", probability = 0.7 }}\n\
         \"query.sha\" = {{ dictionary = \"shas\", probability = 0.7 }}\n\
         \"path.id\" = {{ dictionary = \"ids\", probability = 0.7 }}\n\
         \"body.sha\" = {{ dictionary = \"shas\", probability = 0.7 }}\n",
        list(shas),
        ids.join(", ")
    )
}
