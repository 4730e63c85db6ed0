//! Health probes: each stage's probe (a URL expecting 2xx, or a command) is polled;
//! the column header says healthy / unhealthy / unknown and since when, live; a stage
//! with `requires_healthy` refuses promotions while one of those is not healthy. Real
//! HTTP endpoints on loopback and real probe commands.

use serde_json::{json, Value};
use slipway_model::Role;
use slipway_tests::api::ApiClient as Api;
use slipway_tests::app::{pipeline_config, poll_until, spawn_app, TestApp};
use slipway_tests::git::TestRepo;
use slipway_tests::sse::SseReader;
use slipway_tests::stub::Stub;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// The standard pipeline, QA probed by `probe`, Staging requiring QA healthy.
fn config(repo: &TestRepo, probe: &str) -> String {
    pipeline_config(repo.path())
        .replacen(
            "label = \"QA\"\n",
            &format!("label = \"QA\"\nhealth = {probe}\n"),
            1,
        )
        .replacen(
            "label = \"Staging\"\n",
            "label = \"Staging\"\nrequires_healthy = [\"qa\"]\n",
            1,
        )
}

struct Cast {
    app: TestApp,
    ops: reqwest::Client,
    api: Api,
    sha: String,
    _repo: TestRepo,
}

/// A server with `probe` on QA, and a SHA deployed to QA.
async fn cast(probe: &str) -> Cast {
    let mut repo = TestRepo::new().unwrap();
    let app = spawn_app(&config(&repo, probe)).await.unwrap();
    let ops = app
        .logged_in("olga", &[Role::Dev, Role::Qa, Role::Ops])
        .await
        .unwrap();
    let sha = repo.commit("A").unwrap();
    app.deployed_first(&ops, &sha, "qa").await.unwrap();
    Cast {
        api: Api::of(&app, &ops).await,
        app,
        ops,
        sha,
        _repo: repo,
    }
}

impl Cast {
    /// Waits until QA's column header says `status`; returns its text.
    async fn qa_health(&self, status: &str) -> String {
        poll_until(&format!("QA to be {status}"), WAIT, || async {
            let board = self.api.get("/pipelines/web/board").await;
            let health = &board["stages"][0]["health"];
            Ok((health["status"] == status).then(|| health["text"].as_str().unwrap().to_owned()))
        })
        .await
        .unwrap()
    }

    async fn staging_gate(&self) -> Value {
        self.api.gate("staging", &self.sha, "health").await
    }

    async fn promote_to_staging(&self) -> (u16, Value) {
        self.api
            .post(
                "/pipelines/web/stages/staging/promote",
                json!({ "sha": self.sha }),
            )
            .await
    }
}

#[tokio::test]
async fn an_unhealthy_stage_holds_promotions_that_require_it_until_it_recovers() {
    let stub = Stub::start().await;
    stub.reply("/healthz", 503, "database unreachable");
    let c = cast(&format!(
        "{{ url = \"{}\", interval_seconds = 1, timeout_seconds = 1 }}",
        stub.url("/healthz")
    ))
    .await;
    let mut events = SseReader::open(
        &c.ops,
        &c.app.url("/api/v1/events?pipeline=web"),
        None,
        None,
    )
    .await
    .unwrap();

    let text = c.qa_health("unhealthy").await;
    assert!(
        text.starts_with("unhealthy since ") && text.ends_with(": HTTP 503"),
        "{text}"
    );
    let gate = c.staging_gate().await;
    assert_eq!(gate["status"], "fail", "{gate}");
    let reason = gate["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("QA is unhealthy since ")
            && reason.ends_with("(HTTP 503); Staging requires it healthy first"),
        "{reason}"
    );
    let (status, body) = c.promote_to_staging().await;
    assert_eq!(
        (status, body["gate"].as_str()),
        (409, Some("health")),
        "{body}"
    );
    let (_, board) = c.app.get_text(&c.ops, "/pipelines/web").await.unwrap();
    assert!(
        board.contains("data-health=\"unhealthy\""),
        "the column header says so"
    );

    // It recovers: announced live, and the promotion goes through.
    stub.reply("/healthz", 200, "ok");
    let (event, _) = events
        .until(WAIT, |e| {
            e.event == "board" && e.data.contains("\"health\"")
        })
        .await
        .unwrap();
    assert!(
        event.data.contains("\"pipeline\":\"web\""),
        "{}",
        event.data
    );
    let text = c.qa_health("healthy").await;
    assert!(text.starts_with("healthy since "), "{text}");
    assert_eq!(c.staging_gate().await["status"], "pass");
    let (status, body) = c.promote_to_staging().await;
    assert_eq!(status, 201, "{body}");

    let changes = c
        .app
        .sql_count("SELECT COUNT(*) FROM audit_log WHERE action = 'health_changed'")
        .await
        .unwrap();
    assert_eq!(changes, 2, "became unhealthy (first answer), then healthy");
    assert!(
        stub.requests()
            .iter()
            .all(|r| r.method == "GET" && r.path == "/healthz"),
        "the probe only GETs its URL"
    );
}

#[tokio::test]
async fn a_command_probe_says_healthy_by_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("healthy");
    let c = cast(&format!(
        "{{ command = [\"test\", \"-f\", \"{}\"], interval_seconds = 1 }}",
        flag.display()
    ))
    .await;
    let text = c.qa_health("unhealthy").await;
    assert!(text.ends_with(": exit code 1"), "{text}");
    std::fs::write(&flag, "").unwrap();
    c.qa_health("healthy").await;
    assert_eq!(c.staging_gate().await["status"], "pass");
}

#[tokio::test]
async fn a_health_answer_too_old_to_trust_is_unknown_and_holds_the_promotion() {
    let stub = Stub::start().await;
    stub.reply("/healthz", 200, "ok");
    // Probed once at start, then not for an hour.
    let c = cast(&format!(
        "{{ url = \"{}\", interval_seconds = 3600 }}",
        stub.url("/healthz")
    ))
    .await;
    c.qa_health("healthy").await;
    // As if the server had been down for a day since that answer.
    c.app
        .sql("UPDATE stage_health SET checked_at = '2020-01-01T00:00:00Z'")
        .await
        .unwrap();
    let text = c.qa_health("unknown").await;
    assert_eq!(text, "health unknown: no recent answer from its probe");
    let gate = c.staging_gate().await;
    assert_eq!(gate["status"], "pending", "{gate}");
    assert!(gate["reason"]
        .as_str()
        .unwrap()
        .starts_with("the health of QA is not known yet"));
    let (status, body) = c.promote_to_staging().await;
    assert_eq!(
        (status, body["gate"].as_str()),
        (409, Some("health")),
        "{body}"
    );
}
