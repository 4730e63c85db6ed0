//! Artifacts: a stage's artifact check (a command with the SHA in its environment, or a
//! URL template) holds promotions while the build is missing — *pending*, "waiting for
//! the artifact of a1b2c3d since …" — and refuses them when the check cannot tell. A
//! promotion held by nothing else may be queued: it starts by itself when the artifact
//! appears (every gate checked again), expires at its deadline with a message, and can
//! be withdrawn or, explicitly, replaced. Real artifact files that appear during the
//! test, a real HTTP server on loopback, real deploy commands.

use serde_json::{json, Value};
use slipway_model::Role;
use slipway_tests::api::ApiClient as Api;
use slipway_tests::app::{pipeline_config, poll_until, spawn_app, TestApp};
use slipway_tests::git::TestRepo;
use slipway_tests::stub::Stub;
use std::path::Path;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// The standard pipeline with `artifact` (an inline table) on QA.
fn config(repo: &TestRepo, artifact: &str) -> String {
    pipeline_config(repo.path()).replacen(
        "label = \"QA\"\n",
        &format!("label = \"QA\"\nartifact = {artifact}\n"),
        1,
    )
}

/// QA's artifact check: a file `<sha>.tgz` in `dir`.
fn file_check(dir: &Path) -> String {
    format!(
        "{{ command = [\"sh\", \"-c\", \"test -f {}/$SLIPWAY_SHA.tgz || {{ echo no chart for $SLIPWAY_SHA >&2; exit 1; }}\"] }}",
        dir.display()
    )
}

struct Cast {
    app: TestApp,
    api: Api,
    /// Two commits marked ready, oldest first.
    shas: [String; 2],
    _repo: TestRepo,
}

async fn cast(artifact: &str) -> (Cast, reqwest::Client) {
    let mut repo = TestRepo::new().unwrap();
    let app = spawn_app(&config(&repo, artifact)).await.unwrap();
    let quinn = app
        .logged_in("quinn", &[Role::Dev, Role::Qa])
        .await
        .unwrap();
    let a = repo.commit("A").unwrap();
    let b = repo.commit("B").unwrap();
    for sha in [&a, &b] {
        app.post_form(&quinn, "/pipelines/web/ready", &[("sha", sha)])
            .await
            .unwrap();
    }
    let api = Api::of(&app, &quinn).await;
    (
        Cast {
            app,
            api,
            shas: [a, b],
            _repo: repo,
        },
        quinn,
    )
}

impl Cast {
    async fn promote(&self, body: Value) -> (u16, Value) {
        self.api
            .post("/pipelines/web/stages/qa/promote", body)
            .await
    }

    async fn card_next(&self, sha: &str) -> Value {
        let board = self.api.get("/pipelines/web/board").await;
        board["ready"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["commit"]["sha"] == sha)
            .map(|c| c["next"].clone())
            .unwrap_or_else(|| panic!("no ready card of {sha} in {board}"))
    }
}

async fn state_of(app: &TestApp, id: i64) -> String {
    let states = [
        "waiting",
        "started",
        "expired",
        "refused",
        "withdrawn",
        "replaced",
    ];
    for s in states {
        let n = app
            .sql_count(&format!(
                "SELECT COUNT(*) FROM queued_promotions WHERE id = {id} AND state = '{s}'"
            ))
            .await
            .unwrap();
        if n == 1 {
            return s.to_owned();
        }
    }
    panic!("no queued promotion #{id}")
}

#[tokio::test]
async fn a_missing_artifact_holds_the_promotion_until_its_file_appears() {
    let dir = tempfile::tempdir().unwrap();
    let (c, _quinn) = cast(&file_check(dir.path())).await;
    let sha = &c.shas[0];

    let gate = c.api.gate("qa", sha, "artifact").await;
    assert_eq!(gate["status"], "pending", "{gate}");
    let reason = gate["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("waiting for the artifact of {} since ", &sha[..7]))
            && reason.ends_with(&format!("(exit code 1: no chart for {sha})")),
        "{reason}"
    );
    let (status, body) = c.promote(json!({ "sha": sha })).await;
    assert_eq!(
        (status, body["gate"].as_str()),
        (409, Some("artifact")),
        "{body}"
    );
    assert_eq!(
        c.app
            .sql_count("SELECT COUNT(*) FROM deployments")
            .await
            .unwrap(),
        0
    );

    std::fs::write(dir.path().join(format!("{sha}.tgz")), b"chart").unwrap();
    let gate = c.api.gate("qa", sha, "artifact").await;
    assert_eq!(gate["status"], "pass", "{gate}");
    assert_eq!(
        gate["reason"],
        format!("the artifact of {} is there", &sha[..7])
    );
    let (status, body) = c.promote(json!({ "sha": sha })).await;
    assert_eq!(status, 201, "{body}");
    // Found once, it is not asked for again: even gone, the gate remembers it.
    std::fs::remove_file(dir.path().join(format!("{sha}.tgz"))).unwrap();
    assert_eq!(c.api.gate("qa", sha, "artifact").await["status"], "pass");
}

#[tokio::test]
async fn a_url_check_waits_on_not_found_and_refuses_when_the_check_is_refused() {
    let stub = Stub::start().await;
    let (c, _quinn) = cast(&format!(
        "{{ url = \"{}\", timeout_seconds = 2 }}",
        stub.url("/charts/web-{sha}.tgz")
    ))
    .await;
    let sha = &c.shas[0];
    let path = format!("/charts/web-{sha}.tgz");

    let gate = c.api.gate("qa", sha, "artifact").await;
    assert_eq!(gate["status"], "pending", "{gate}");
    assert!(
        gate["reason"].as_str().unwrap().ends_with("(HTTP 404)"),
        "{gate}"
    );

    stub.reply(&path, 403, "forbidden");
    let gate = c.api.gate("qa", sha, "artifact").await;
    assert_eq!(gate["status"], "fail", "{gate}");
    assert_eq!(
        gate["reason"],
        format!(
            "the artifact check of QA cannot tell whether {} was built (HTTP 403): \
             fix the check's URL, credentials or command",
            &sha[..7]
        )
    );
    // A broken check is nothing to wait for: the promotion is refused, not queued.
    let (status, body) = c
        .promote(json!({ "sha": sha, "wait_for_artifact": true }))
        .await;
    assert_eq!(
        (status, body["gate"].as_str()),
        (409, Some("artifact")),
        "{body}"
    );

    stub.reply(&path, 200, "");
    assert_eq!(c.api.gate("qa", sha, "artifact").await["status"], "pass");
    let asked: Vec<_> = stub
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect();
    assert!(
        asked.iter().all(|(m, p)| m == "HEAD" && *p == path),
        "{asked:?}"
    );
}

#[tokio::test]
async fn a_queued_promotion_starts_by_itself_when_the_artifact_appears() {
    let dir = tempfile::tempdir().unwrap();
    let (c, quinn) = cast(&file_check(dir.path())).await;
    let [a, b] = &c.shas;

    let next = c.card_next(a).await;
    assert_eq!(next["can_queue"], true, "{next}");
    assert_eq!(next["allowed"], false, "{next}");
    let (status, queued) = c
        .promote(json!({ "sha": a, "wait_for_artifact": true }))
        .await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["state"], "waiting");
    assert_eq!(queued["requested_by"], "quinn");
    let id = queued["id"].as_i64().unwrap();

    // Visible on the card and the column, with a way to withdraw it.
    let next = c.card_next(a).await;
    let text = next["queued"]["text"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("{} queued by quinn", &a[..7]))
            && text.contains("waits for its artifact until"),
        "{text}"
    );
    assert_eq!(next["queued"]["can_withdraw"], true);
    let board = c.api.get("/pipelines/web/board").await;
    assert_eq!(board["stages"][0]["queued"]["sha"], a.as_str());
    let (_, html) = c.app.get_text(&quinn, "/pipelines/web").await.unwrap();
    assert!(
        html.contains("data-testid=\"queued\""),
        "the column shows it"
    );

    // One per stage: another SHA is refused unless it replaces it explicitly.
    let (status, body) = c
        .promote(json!({ "sha": b, "wait_for_artifact": true }))
        .await;
    assert_eq!(
        (status, body["gate"].as_str()),
        (409, Some("queued")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains(&format!(
            "QA already has a queued promotion of {} by quinn",
            &a[..7]
        )),
        "{body}"
    );
    assert_eq!(c.card_next(b).await["queue_replaces"], &a[..7]);

    std::fs::write(dir.path().join(format!("{a}.tgz")), b"chart").unwrap();
    poll_until("the queued promotion to start", WAIT, || async {
        Ok((state_of(&c.app, id).await == "started").then_some(()))
    })
    .await
    .unwrap();
    let deployment = c
        .app
        .sql_count(&format!(
            "SELECT deployment_id FROM queued_promotions WHERE id = {id}"
        ))
        .await
        .unwrap();
    let ended = c
        .app
        .wait_for_end(slipway_model::DeploymentId(deployment))
        .await
        .unwrap();
    assert_eq!(ended.state.as_str(), "succeeded");
    assert_eq!(ended.sha.as_str(), a.as_str());
    assert_eq!(ended.requested_by.as_deref(), Some("quinn"));
    assert_eq!(
        c.app
            .sql_count(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'queued_start' AND outcome = 'ok' \
                 AND actor = 'quinn'"
            )
            .await
            .unwrap(),
        1
    );
    let board = c.api.get("/pipelines/web/board").await;
    assert!(board["stages"][0]["queued"].is_null(), "{board}");
}

#[tokio::test]
async fn a_queued_promotion_expires_at_its_deadline_and_its_requester_is_told() {
    let dir = tempfile::tempdir().unwrap();
    let (c, quinn) = cast(&file_check(dir.path())).await;
    let a = &c.shas[0];
    let (status, queued) = c
        .promote(json!({ "sha": a, "wait_for_artifact": true }))
        .await;
    assert_eq!(status, 202, "{queued}");
    let id = queued["id"].as_i64().unwrap();
    // An hour later, without waiting for it.
    c.app
        .sql(&format!(
            "UPDATE queued_promotions SET deadline = requested_at, next_check_at = requested_at WHERE id = {id}"
        ))
        .await
        .unwrap();
    poll_until("the queued promotion to expire", WAIT, || async {
        Ok((state_of(&c.app, id).await == "expired").then_some(()))
    })
    .await
    .unwrap();
    let outcome = format!(
        "expired: the artifact of {} did not appear in time",
        &a[..7]
    );
    assert_eq!(c.card_next(a).await["queue_outcome"], outcome.as_str());
    let (_, profile) = c.app.get_text(&quinn, "/profile").await.unwrap();
    assert!(
        profile.contains(&format!(
            "Your queued promotion of {} into qa: {outcome}",
            &a[..7]
        )),
        "{profile}"
    );
    assert_eq!(
        c.app
            .sql_count(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'queued_start' AND outcome = 'refused'"
            )
            .await
            .unwrap(),
        1
    );
    // Nothing started, even once the artifact is there.
    std::fs::write(dir.path().join(format!("{a}.tgz")), b"chart").unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        c.app
            .sql_count("SELECT COUNT(*) FROM deployments")
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn a_queued_promotion_is_withdrawn_or_replaced_only_on_purpose() {
    let dir = tempfile::tempdir().unwrap();
    let (c, quinn) = cast(&file_check(dir.path())).await;
    let [a, b] = &c.shas;
    let (status, first) = c
        .promote(json!({ "sha": a, "wait_for_artifact": true }))
        .await;
    assert_eq!(status, 202, "{first}");
    let (status, second) = c
        .promote(json!({ "sha": b, "wait_for_artifact": true, "replace_queued": true }))
        .await;
    assert_eq!(status, 202, "{second}");
    assert_eq!(
        state_of(&c.app, first["id"].as_i64().unwrap()).await,
        "replaced"
    );
    // Someone who may not promote into QA may not withdraw it either.
    let dev = c.app.logged_in("dana", &[Role::Dev]).await.unwrap();
    let res = c
        .app
        .post_form(&dev, "/pipelines/web/stages/qa/queue/withdraw", &[])
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // The board's form withdraws it.
    let res = c
        .app
        .post_form(&quinn, "/pipelines/web/stages/qa/queue/withdraw", &[])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        state_of(&c.app, second["id"].as_i64().unwrap()).await,
        "withdrawn"
    );
    let (status, body) = c.api.delete("/pipelines/web/stages/qa/queue").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    assert_eq!(body["message"], "no promotion is queued for QA", "{body}");
    // Nothing waits: the artifact appearing starts nothing.
    std::fs::write(dir.path().join(format!("{b}.tgz")), b"chart").unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        c.app
            .sql_count("SELECT COUNT(*) FROM deployments")
            .await
            .unwrap(),
        0
    );
    // Queued again and withdrawn through the API.
    std::fs::remove_file(dir.path().join(format!("{b}.tgz"))).unwrap();
    let (status, third) = c
        .promote(json!({ "sha": a, "wait_for_artifact": true }))
        .await;
    assert_eq!(status, 202, "{third}");
    let (status, body) = c.api.delete("/pipelines/web/stages/qa/queue").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "withdrawn");
    assert_eq!(body["outcome"], "withdrawn by quinn");
    // Where nothing holds the promotion, waiting for the artifact starts it at once.
    std::fs::write(dir.path().join(format!("{a}.tgz")), b"chart").unwrap();
    let (status, body) = c
        .promote(json!({ "sha": a, "wait_for_artifact": true }))
        .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_queued_promotion_is_checked_against_every_gate_again_when_its_artifact_appears() {
    let dir = tempfile::tempdir().unwrap();
    let (c, quinn) = cast(&file_check(dir.path())).await;
    let a = &c.shas[0];
    let lock = |reason: &'static str| {
        let (app, quinn) = (&c.app, &quinn);
        async move {
            let res = app
                .post_form(
                    quinn,
                    "/pipelines/web/stages/qa/lock",
                    &[("reason", reason)],
                )
                .await
                .unwrap();
            assert_eq!(res.status(), 303);
        }
    };
    // Held by something besides the artifact: refused, naming that, not queued.
    lock("database migration").await;
    let (status, body) = c
        .promote(json!({ "sha": a, "wait_for_artifact": true }))
        .await;
    assert_eq!(
        (status, body["gate"].as_str()),
        (409, Some("lock")),
        "{body}"
    );
    let res = c
        .app
        .post_form(&quinn, "/pipelines/web/stages/qa/unlock", &[])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);

    // Queued; locked meanwhile; the artifact appears: the lock refuses it then.
    let (status, queued) = c
        .promote(json!({ "sha": a, "wait_for_artifact": true }))
        .await;
    assert_eq!(status, 202, "{queued}");
    let id = queued["id"].as_i64().unwrap();
    lock("incident 42").await;
    std::fs::write(dir.path().join(format!("{a}.tgz")), b"chart").unwrap();
    poll_until("the queued promotion to be refused", WAIT, || async {
        Ok((state_of(&c.app, id).await == "refused").then_some(()))
    })
    .await
    .unwrap();
    let outcome = c.card_next(a).await["queue_outcome"].clone();
    assert_eq!(
        outcome,
        "its artifact appeared, but it was not started: locked by quinn: incident 42"
    );
    assert_eq!(
        c.app
            .sql_count("SELECT COUNT(*) FROM deployments")
            .await
            .unwrap(),
        0
    );
}
