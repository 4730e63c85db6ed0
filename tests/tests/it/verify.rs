//! Post-deploy verification: after the deploy command exits 0, a stage with a version
//! probe keeps the deployment *verifying* until the probe reports the new SHA (then it
//! has succeeded), or fails it at the timeout; a stage with a smoke command instead lets
//! that command decide. A real version endpoint and real commands.

use serde_json::{json, Value};
use slipway_model::{DeploymentId, Role};
use slipway_tests::api::ApiClient as Api;
use slipway_tests::app::{pipeline_config, poll_until, spawn_app, TestApp};
use slipway_tests::git::TestRepo;
use slipway_tests::stub::Stub;
use std::time::Duration;

struct Cast {
    app: TestApp,
    api: Api,
    ops: reqwest::Client,
    sha: String,
    _repo: TestRepo,
}

async fn cast(qa_keys: &str) -> Cast {
    let mut repo = TestRepo::new().unwrap();
    let config = pipeline_config(repo.path()).replacen(
        "label = \"QA\"\n",
        &format!("label = \"QA\"\n{qa_keys}\n"),
        1,
    );
    let app = spawn_app(&config).await.unwrap();
    let ops = app
        .logged_in("olga", &[Role::Dev, Role::Qa, Role::Ops])
        .await
        .unwrap();
    let sha = repo.commit("A").unwrap();
    app.post_form(&ops, "/pipelines/web/ready", &[("sha", &sha)])
        .await
        .unwrap();
    Cast {
        api: Api::of(&app, &ops).await,
        app,
        ops,
        sha,
        _repo: repo,
    }
}

impl Cast {
    async fn promote(&self) -> DeploymentId {
        let (status, d) = self
            .api
            .post(
                "/pipelines/web/stages/qa/promote",
                json!({ "sha": self.sha }),
            )
            .await;
        assert_eq!(status, 201, "{d}");
        d["id"].as_i64().unwrap().to_string().parse().unwrap()
    }

    async fn log(&self, id: DeploymentId) -> Vec<String> {
        self.api.get(&format!("/deployments/{id}/log")).await["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["line"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn qa_current(&self) -> Value {
        self.api.get("/pipelines/web/board").await["stages"][0]["stage"]["current"].clone()
    }
}

fn version_probe(stub: &Stub, verify_timeout: u64) -> String {
    format!(
        "version = {{ url = \"{}\", json_pointer = \"/sha\", interval_seconds = 1, verify_timeout_seconds = {verify_timeout} }}",
        stub.url("/version")
    )
}

#[tokio::test]
async fn a_deploy_is_verifying_until_the_version_probe_reports_the_new_sha() {
    let stub = Stub::start().await;
    stub.reply(
        "/version",
        200,
        r#"{"sha": "0000000000000000000000000000000000000000"}"#,
    );
    let c = cast(&version_probe(&stub, 60)).await;
    let id = c.promote().await;
    poll_until(
        "the deployment to verify",
        Duration::from_secs(20),
        || async {
            let d = c.api.get(&format!("/deployments/{id}")).await;
            Ok((d["state"] == "verifying").then_some(()))
        },
    )
    .await
    .unwrap();
    assert_eq!(
        c.qa_current().await,
        Value::Null,
        "not succeeded while verifying"
    );
    let (_, board) = c.app.get_text(&c.ops, "/pipelines/web").await.unwrap();
    assert!(board.contains("(verifying)"), "the column says so");

    // The rollout finishes: the environment reports the new SHA.
    stub.reply("/version", 200, &json!({ "sha": c.sha }).to_string());
    let d = c.app.wait_for_end(id).await.unwrap();
    assert_eq!(d.state.as_str(), "succeeded");
    let log = c.log(id).await;
    assert!(
        log.iter()
            .any(|l| l.starts_with("verifying: waiting for the version probe to report"))
            && log.iter().any(|l| l.contains("not ") && l.contains(" yet"))
            && log
                .iter()
                .any(|l| l == &format!("the version probe reports {}: verified", c.sha)),
        "{log:?}"
    );
    assert_eq!(c.qa_current().await["sha"], c.sha.as_str());
}

#[tokio::test]
async fn a_deploy_the_version_probe_never_confirms_fails_at_the_timeout_and_changes_nothing() {
    let stub = Stub::start().await;
    stub.reply(
        "/version",
        200,
        r#"{"sha": "0000000000000000000000000000000000000000"}"#,
    );
    let c = cast(&version_probe(&stub, 2)).await;
    let id = c.promote().await;
    let d = c.app.wait_for_end(id).await.unwrap();
    assert_eq!(d.state.as_str(), "failed");
    let log = c.log(id).await;
    assert!(
        log.iter().any(|l| l
            == &format!(
                "verification timed out after 2s; the version probe reports 0000000000000000000000000000000000000000, not {} yet",
                &c.sha[..7]
            )),
        "{log:?}"
    );
    assert_eq!(
        c.qa_current().await,
        Value::Null,
        "the stage's SHA is unchanged"
    );
}

#[tokio::test]
async fn a_smoke_command_decides_where_there_is_no_version_probe() {
    let failing =
        cast(r#"smoke = { command = ["sh", "-c", "echo smoke test of $SLIPWAY_SHA; exit 3"] }"#)
            .await;
    let id = failing.promote().await;
    assert_eq!(
        failing.app.wait_for_end(id).await.unwrap().state.as_str(),
        "failed"
    );
    let log = failing.log(id).await;
    assert!(
        log.contains(&format!("smoke test of {}", failing.sha))
            && log.contains(&"the smoke command failed with exit code 3".to_owned()),
        "{log:?}"
    );

    let passing = cast(r#"smoke = { command = ["sh", "-c", "echo all good"] }"#).await;
    let id = passing.promote().await;
    assert_eq!(
        passing.app.wait_for_end(id).await.unwrap().state.as_str(),
        "succeeded"
    );
    assert!(passing
        .log(id)
        .await
        .contains(&"the smoke command passed: verified".to_owned()));
}
