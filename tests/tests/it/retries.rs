//! Transient failures or real ones: a deployer's `retry` rule (exit codes, log
//! patterns) retries a transient failure within the same deployment, each attempt with
//! its own log; any other failure is real, not retried, and its last lines are shown.
//! Real deploy scripts, which fail the way a flaky network makes them fail.

use serde_json::{json, Value};
use slipway_model::{DeploymentId, Role};
use slipway_tests::api::ApiClient as Api;
use slipway_tests::app::{deploying_pipeline, spawn_app, TestApp};
use slipway_tests::git::TestRepo;

/// Fails the first time with `first` on stderr and `code`, then succeeds. `$OUT/tries`
/// counts the attempts.
fn flaky(first: &str, code: i32) -> String {
    format!(
        r#"echo try >> "$OUT/tries"; if [ "$(wc -l < "$OUT/tries")" -eq 1 ]; then echo "pushing image"; echo "{first}" >&2; exit {code}; fi; echo "deployed $SLIPWAY_SHA""#
    )
}

struct Cast {
    app: TestApp,
    sha: String,
    ops: reqwest::Client,
    api: Api,
    out: tempfile::TempDir,
    _repo: TestRepo,
}

async fn cast(script: &str, retry: &str) -> Cast {
    let mut repo = TestRepo::new().unwrap();
    let out = tempfile::tempdir().unwrap();
    let config = deploying_pipeline(repo.path(), out.path(), script, "").replace(
        "timeout_seconds = 60\n",
        &format!("timeout_seconds = 60\nretry = {retry}\n"),
    );
    let app = spawn_app(&config).await.unwrap();
    let ops = app
        .logged_in("olga", &[Role::Dev, Role::Ops])
        .await
        .unwrap();
    let sha = repo.commit("A").unwrap();
    let res = app
        .post_form(&ops, "/pipelines/web/ready", &[("sha", &sha)])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    Cast {
        api: Api::of(&app, &ops).await,
        app,
        sha,
        ops,
        out,
        _repo: repo,
    }
}

impl Cast {
    async fn deploy(&self) -> (DeploymentId, Value) {
        let (status, d) = self
            .api
            .post(
                "/pipelines/web/stages/qa/promote",
                json!({ "sha": self.sha }),
            )
            .await;
        assert_eq!(status, 201, "{d}");
        let id: DeploymentId = d["id"].as_i64().unwrap().to_string().parse().unwrap();
        self.app.wait_for_end(id).await.unwrap();
        (id, self.api.get(&format!("/deployments/{id}")).await)
    }

    async fn log(&self, id: DeploymentId) -> Vec<Value> {
        self.api.get(&format!("/deployments/{id}/log")).await["lines"]
            .as_array()
            .unwrap()
            .clone()
    }

    fn tries(&self) -> usize {
        std::fs::read_to_string(self.out.path().join("tries"))
            .unwrap_or_default()
            .lines()
            .count()
    }
}

#[tokio::test]
async fn a_transient_failure_is_retried_in_the_same_deployment_with_a_log_per_attempt() {
    let c = cast(
        &flaky("error: read tcp 10.0.0.5:443: connection reset by peer", 1),
        r#"{ log_patterns = ["connection reset", "TLS handshake timeout"], max_attempts = 3, backoff_seconds = 1 }"#,
    )
    .await;
    let (id, d) = c.deploy().await;
    assert_eq!(d["state"], "succeeded", "{d}");
    assert_eq!(c.tries(), 2, "one deployment, two attempts");
    assert_eq!(d["attempts"], 2);
    assert_eq!(d["retries"][0]["attempt"], 1);
    assert_eq!(d["retries"][0]["exit_code"], 1);
    assert_eq!(d["retries"][0]["matched"], "connection reset");

    let lines = c.log(id).await;
    let of = |attempt: i64| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l["attempt"] == attempt)
            .map(|l| l["line"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = of(1);
    assert!(
        first.iter().any(|l| l.contains("connection reset by peer"))
            && first.iter().any(|l| l.contains(
                "attempt 1 of 3 failed with exit code 1, a transient failure (matched: connection reset); attempt 2 starts in 1s"
            )),
        "{first:?}"
    );
    let second = of(2);
    assert!(
        second.iter().any(|l| l == &format!("deployed {}", c.sha))
            && !second
                .iter()
                .any(|l| l.contains("connection reset by peer")),
        "each attempt keeps its own log: {second:?}"
    );

    let (_, board) = c.app.get_text(&c.ops, "/pipelines/web").await.unwrap();
    assert!(
        board.contains("succeeded after 1 retry (matched: connection reset)"),
        "the card says it was retried and why"
    );
    let (_, page) = c
        .app
        .get_text(&c.ops, &format!("/deployments/{id}"))
        .await
        .unwrap();
    assert!(
        page.contains(">Attempt 2</li>") && !page.contains(">Attempt 1</li>"),
        "the second attempt's log has a heading: {page}"
    );
    assert_eq!(
        c.app
            .sql_count("SELECT COUNT(*) FROM audit_log WHERE action = 'deploy_retried'")
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn an_exit_code_the_rule_names_is_transient_too() {
    let c = cast(
        &flaky("registry busy", 75),
        r#"{ exit_codes = [75], backoff_seconds = 1 }"#,
    )
    .await;
    let (_, d) = c.deploy().await;
    assert_eq!(d["state"], "succeeded", "{d}");
    assert_eq!(d["retries"][0]["matched"], "exit code 75");
}

#[tokio::test]
async fn a_real_failure_is_not_retried_and_the_board_shows_the_lines_that_explain_it() {
    let c = cast(
        &flaky("error: relation users_v2 does not exist", 1),
        r#"{ log_patterns = ["connection reset"], exit_codes = [75], backoff_seconds = 1 }"#,
    )
    .await;
    let (_, d) = c.deploy().await;
    assert_eq!(d["state"], "failed", "{d}");
    assert_eq!(c.tries(), 1, "no retry");
    assert_eq!(
        (
            d["attempts"].as_i64(),
            d["retries"].as_array().map(Vec::len)
        ),
        (Some(1), Some(0))
    );

    let (_, board) = c.app.get_text(&c.ops, "/pipelines/web").await.unwrap();
    let tail = board
        .split("data-testid=\"failure-tail\"")
        .nth(1)
        .expect("the failed column shows its last lines");
    let tail = &tail[..tail.find("</pre>").unwrap()];
    assert!(
        tail.contains("pushing image")
            && tail.contains("error: relation users_v2 does not exist")
            && tail.contains("the deployer exited with code 1"),
        "{tail}"
    );
}

#[tokio::test]
async fn transient_failures_stop_being_retried_at_the_bound() {
    let c = cast(
        r#"echo try >> "$OUT/tries"; echo "HTTP 429 Too Many Requests" >&2; exit 1"#,
        r#"{ log_patterns = ["\\b429\\b"], max_attempts = 2, backoff_seconds = 1 }"#,
    )
    .await;
    let (id, d) = c.deploy().await;
    assert_eq!(d["state"], "failed", "{d}");
    assert_eq!(c.tries(), 2);
    assert_eq!(d["attempts"], 2);
    let lines = c.log(id).await;
    assert!(
        lines.iter().any(|l| l["attempt"] == 2
            && l["line"].as_str().unwrap().contains(
                "attempt 2 of 2 failed transiently (matched: \\b429\\b); no attempts left"
            )),
        "{lines:?}"
    );
    let (_, board) = c.app.get_text(&c.ops, "/pipelines/web").await.unwrap();
    assert!(board.contains("failed after 1 retry (matched: \\b429\\b)"));
}

#[tokio::test]
async fn a_cancel_during_the_wait_between_attempts_ends_the_deployment() {
    let c = cast(
        r#"echo try >> "$OUT/tries"; echo "connection reset" >&2; exit 1"#,
        r#"{ log_patterns = ["connection reset"], backoff_seconds = 600 }"#,
    )
    .await;
    let (status, d) = c
        .api
        .post("/pipelines/web/stages/qa/promote", json!({ "sha": c.sha }))
        .await;
    assert_eq!(status, 201, "{d}");
    let id = d["id"].as_i64().unwrap();
    slipway_tests::app::poll_until(
        "the first attempt to fail",
        std::time::Duration::from_secs(30),
        || async {
            let d = c.api.get(&format!("/deployments/{id}")).await;
            Ok((d["attempts"] == 2).then_some(()))
        },
    )
    .await
    .unwrap();
    let (_, board) = c.app.get_text(&c.ops, "/pipelines/web").await.unwrap();
    assert!(
        board.contains("attempt 2 after 1 retry (matched: connection reset)"),
        "the running deployment says it is being retried"
    );
    let (status, _) = c
        .api
        .post(&format!("/deployments/{id}/cancel"), Value::Null)
        .await;
    assert_eq!(status, 202);
    let d = c
        .app
        .wait_for_end(id.to_string().parse().unwrap())
        .await
        .unwrap();
    assert_eq!(d.state.as_str(), "cancelled");
    assert_eq!(c.tries(), 1, "the second attempt never started");
}
