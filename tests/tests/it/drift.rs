//! Drift: a stage's version probe says which SHA the environment really runs. When it
//! reports another SHA than the recorded one, the column shows the drift, the audit log
//! records it (seen, ended), and promoting over it needs an acknowledgement, kept with
//! the deployment. A real version endpoint on loopback.

use serde_json::{json, Value};
use slipway_model::Role;
use slipway_tests::api::ApiClient as Api;
use slipway_tests::app::{pipeline_config, poll_until, spawn_app, TestApp};
use slipway_tests::git::TestRepo;
use slipway_tests::stub::Stub;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
/// What someone deployed by hand: a commit Slipway never deployed.
const HAND_MADE: &str = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef";

struct Cast {
    app: TestApp,
    repo: TestRepo,
    ops: reqwest::Client,
    api: Api,
    stub: Stub,
}

async fn cast() -> Cast {
    let stub = Stub::start().await;
    let repo = TestRepo::new().unwrap();
    let config = pipeline_config(repo.path()).replacen(
        "label = \"QA\"\n",
        &format!(
            "label = \"QA\"\nversion = {{ url = \"{}\", json_pointer = \"/git/sha\", interval_seconds = 1 }}\n",
            stub.url("/version")
        ),
        1,
    );
    let app = spawn_app(&config).await.unwrap();
    let ops = app
        .logged_in("olga", &[Role::Dev, Role::Qa, Role::Ops])
        .await
        .unwrap();
    Cast {
        api: Api::of(&app, &ops).await,
        app,
        repo,
        ops,
        stub,
    }
}

impl Cast {
    fn runs(&self, sha: &str) {
        self.stub.reply(
            "/version",
            200,
            &json!({ "git": { "sha": sha } }).to_string(),
        );
    }

    async fn ready(&mut self, subject: &str) -> String {
        let sha = self.repo.commit(subject).unwrap();
        self.app
            .post_form(&self.ops, "/pipelines/web/ready", &[("sha", &sha)])
            .await
            .unwrap();
        sha
    }

    async fn promote(&self, sha: &str, extra: Value) -> (u16, Value) {
        let mut body = json!({ "sha": sha });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        self.api
            .post("/pipelines/web/stages/qa/promote", body)
            .await
    }

    /// Promotes `sha` into QA; the environment then runs it (its version endpoint says
    /// so, which verifies the deployment).
    async fn deployed(&self, sha: &str, extra: Value) -> Value {
        let (status, d) = self.promote(sha, extra).await;
        assert_eq!(status, 201, "{d}");
        self.runs(sha);
        let id = d["id"].as_i64().unwrap().to_string().parse().unwrap();
        assert_eq!(
            self.app.wait_for_end(id).await.unwrap().state.as_str(),
            "succeeded"
        );
        self.api.get(&format!("/deployments/{id}")).await
    }

    /// QA's drift as the board shows it, once `pred` holds.
    async fn drift_when(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        poll_until(what, WAIT, || async {
            let board = self.api.get("/pipelines/web/board").await;
            let drift = board["stages"][0]["drift"].clone();
            Ok(pred(&drift).then_some(drift))
        })
        .await
        .unwrap()
    }

    async fn audited(&self, action: &str) -> i64 {
        self.app
            .sql_count(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"
            ))
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_stage_that_runs_another_sha_than_recorded_shows_drift_and_needs_an_acknowledgement_to_be_overwritten(
) {
    let mut c = cast().await;
    let a = c.ready("A").await;
    c.deployed(&a, json!({})).await;
    // In sync for a few probes: no drift.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(c.drift_when("no drift", Value::is_null).await, Value::Null);
    assert_eq!(c.audited("drift_seen").await, 0);

    // Someone deploys by hand.
    c.runs(HAND_MADE);
    let drift = c.drift_when("drift to show", |d| !d.is_null()).await;
    let text = drift.as_str().unwrap();
    assert!(
        text.starts_with(&format!(
            "runs {HAND_MADE}, not its recorded SHA {}, since ",
            &a[..7]
        )),
        "{text}"
    );
    assert_eq!(c.audited("drift_seen").await, 1);
    let (_, board) = c.app.get_text(&c.ops, "/pipelines/web").await.unwrap();
    assert!(
        board.contains("data-testid=\"drift\""),
        "the column shows it"
    );

    let b = c.ready("B").await;
    let gate = c.api.gate("qa", &b, "drift").await;
    assert_eq!(gate["status"], "acknowledge", "{gate}");
    assert!(
        gate["reason"]
            .as_str()
            .unwrap()
            .contains("the deploy would overwrite whatever was changed by hand"),
        "{gate}"
    );
    let (_, board) = c.app.get_text(&c.ops, "/pipelines/web").await.unwrap();
    assert!(
        board.contains("name=\"acknowledge_drift\""),
        "the card asks for it"
    );
    let (status, body) = c.promote(&b, json!({})).await;
    assert_eq!(
        (status, body["gate"].as_str()),
        (409, Some("drift")),
        "{body}"
    );

    let d = c
        .deployed(
            &b,
            json!({ "acknowledge_drift": true, "drift_note": "hotfix by Sam, in B too" }),
        )
        .await;
    assert_eq!(d["drift_overwritten"], HAND_MADE);
    let (_, page) = c
        .app
        .get_text(&c.ops, &format!("/deployments/{}", d["id"]))
        .await
        .unwrap();
    assert!(
        page.contains("hotfix by Sam, in B too"),
        "the deployment page keeps the note"
    );

    // The environment runs B now: the drift ends, audited.
    poll_until("the drift to end in the audit log", WAIT, || async {
        Ok((c.audited("drift_ended").await >= 1).then_some(()))
    })
    .await
    .unwrap();
    assert_eq!(c.drift_when("no drift", Value::is_null).await, Value::Null);
    let c2 = c.ready("C").await;
    assert_eq!(c.api.gate("qa", &c2, "drift").await["status"], "pass");
}

#[tokio::test]
async fn an_answer_that_names_no_sha_is_not_drift() {
    let mut c = cast().await;
    let a = c.ready("A").await;
    c.deployed(&a, json!({})).await;
    c.stub.reply("/version", 200, "<html>maintenance</html>");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(c.drift_when("no drift", Value::is_null).await, Value::Null);
    let detail: i64 = c
        .app
        .sql_count("SELECT COUNT(*) FROM stage_versions WHERE reported IS NULL AND detail LIKE 'the answer is not JSON%'")
        .await
        .unwrap();
    assert_eq!(detail, 1, "what the probe said is kept");
}
