//! Approvals over HTTP: requests, four eyes, slots, consumption, voiding, windows, and
//! the deploy the server starts at a slot's start.

use serde_json::{json, Value};
use slipway_model::Role;
use slipway_tests::api::ApiClient as Api;
use slipway_tests::app::{pipeline_config, poll_until, spawn_app, TestApp};
use slipway_tests::git::TestRepo;
use std::time::Duration;
use time::OffsetDateTime;

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// The standard pipeline with `keys` on QA.
fn config(repo: &TestRepo, keys: &str) -> String {
    let text = pipeline_config(repo.path()).replacen(
        "label = \"QA\"\n",
        &format!("label = \"QA\"\n{keys}\n"),
        1,
    );
    assert!(text.contains(keys));
    text
}

/// The QA stage's calls these tests make, on the shared API client.
trait OnQa {
    async fn verdict(&self, sha: &str, gate: &str) -> (String, String);
    async fn request(&self, sha: &str) -> (u16, Value);
    async fn promote(&self, sha: &str) -> (u16, Value);
}

impl OnQa for Api {
    async fn verdict(&self, sha: &str, gate: &str) -> (String, String) {
        let g = self.gate("qa", sha, gate).await;
        (
            g["status"].as_str().unwrap().to_owned(),
            g["reason"].as_str().unwrap().to_owned(),
        )
    }

    async fn request(&self, sha: &str) -> (u16, Value) {
        self.post(
            "/pipelines/web/stages/qa/requests",
            json!({ "sha": sha, "note": "release 42" }),
        )
        .await
    }

    async fn promote(&self, sha: &str) -> (u16, Value) {
        self.post("/pipelines/web/stages/qa/promote", json!({ "sha": sha }))
            .await
    }
}

struct Cast {
    app: TestApp,
    repo: TestRepo,
    dev: reqwest::Client,
    quinn: Api,
    olga: Api,
    otto: Api,
    quinn_web: reqwest::Client,
    olga_web: reqwest::Client,
}

async fn cast(keys: &str) -> Cast {
    let repo = TestRepo::new().unwrap();
    let app = spawn_app(&config(&repo, keys)).await.unwrap();
    let dev = app.logged_in("dana", &[Role::Dev]).await.unwrap();
    let quinn_web = app.logged_in("quinn", &[Role::Qa]).await.unwrap();
    let olga_web = app.logged_in("olga", &[Role::Ops]).await.unwrap();
    let otto_web = app.logged_in("otto", &[Role::Ops]).await.unwrap();
    Cast {
        quinn: Api::of(&app, &quinn_web).await,
        olga: Api::of(&app, &olga_web).await,
        otto: Api::of(&app, &otto_web).await,
        app,
        repo,
        dev,
        quinn_web,
        olga_web,
    }
}

impl Cast {
    async fn ready(&mut self, subject: &str) -> String {
        let sha = self.repo.commit(subject).unwrap();
        let res = self
            .app
            .post_form(&self.dev, "/pipelines/web/ready", &[("sha", sha.as_str())])
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        sha
    }
}

fn id_of(body: &Value) -> i64 {
    body["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id in {body}"))
}

#[tokio::test]
async fn a_stage_that_asks_for_approval_waits_for_an_approver_who_is_not_the_requester() {
    let mut c = cast("approval = { roles = [\"ops\"] }").await;
    let a = c.ready("A").await;
    let b = c.ready("B").await;

    let (status, body) = c.quinn.promote(&a).await;
    assert_eq!(
        (status, body["gate"].as_str()),
        (409, Some("approved")),
        "{body}"
    );
    assert!(body["message"]
        .as_str()
        .unwrap()
        .ends_with("QA needs approval by ops; request it first"));

    // Requested once; the card tells everyone, and offers the decision to ops only.
    let (status, body) = c.quinn.request(&a).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["state"], "pending");
    let request = id_of(&body);
    assert_eq!(c.quinn.request(&a).await.0, 409, "one open request per SHA");
    let (_, board) = c.app.get_text(&c.dev, "/pipelines/web").await.unwrap();
    assert!(
        board.contains("Awaiting approval by ops (requested by quinn: release 42)"),
        "{board}"
    );
    assert!(!board.contains("Decide on request"));
    let (_, ops_board) = c.app.get_text(&c.olga_web, "/pipelines/web").await.unwrap();
    assert!(ops_board.contains(&format!("Decide on request #{request}")));
    assert_eq!(
        c.quinn.verdict(&a, "approved").await,
        (
            "fail".into(),
            "awaiting approval by ops (requested by quinn)".into()
        )
    );

    // QA may not approve; ops may not approve their own request (four eyes).
    let approve = |id: i64| format!("/requests/{id}/approve");
    assert_eq!(c.quinn.post(&approve(request), json!({})).await.0, 403);
    let (status, body) = c.olga.request(&b).await;
    assert_eq!(status, 201, "ops may request too");
    let own = id_of(&body);
    let (status, body) = c.olga.post(&approve(own), json!({})).await;
    assert_eq!(status, 403);
    assert!(
        body["message"].as_str().unwrap().contains("four eyes"),
        "{body}"
    );
    // Rejected by someone else, with a reason.
    assert_eq!(
        c.otto
            .post(&format!("/requests/{own}/reject"), json!({ "reason": " " }))
            .await
            .0,
        400
    );
    let (status, body) = c
        .otto
        .post(
            &format!("/requests/{own}/reject"),
            json!({ "reason": "not in this release" }),
        )
        .await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("rejected")),
        "{body}"
    );
    let (_, profile) = c.app.get_text(&c.olga_web, "/profile").await.unwrap();
    assert!(
        profile.contains(&format!(
            "Your request #{own} to promote {} into qa was rejected by otto: not in this release",
            &b[..7]
        )),
        "{profile}"
    );

    // Approved "now" by olga: the gate passes, the promotion consumes it.
    let (status, body) = c.olga.post(&approve(request), json!({})).await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("approved")),
        "{body}"
    );
    assert_eq!(
        c.olga.post(&approve(request), json!({})).await.0,
        409,
        "decided once"
    );
    let (status, reason) = c.quinn.verdict(&a, "approved").await;
    assert_eq!(status, "pass");
    assert!(reason.starts_with("approved by olga for "), "{reason}");
    let (status, body) = c.quinn.promote(&a).await;
    assert_eq!(status, 201, "{body}");
    let deployment = id_of(&body);
    let listed = c.quinn.get("/pipelines/web/stages/qa/requests").await;
    let consumed = listed["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == request)
        .cloned()
        .unwrap();
    assert_eq!(consumed["state"], "consumed");
    assert_eq!(consumed["deployment"], deployment);
    c.app
        .wait_for_end(serde_json::from_value(json!(deployment)).unwrap())
        .await
        .unwrap();
    // Used up: a redeploy needs a new approval.
    assert_eq!(c.quinn.promote(&a).await.0, 409);

    for (action, n) in [
        ("approval_requested", 2),
        ("approval_granted", 1),
        ("approval_rejected", 1),
    ] {
        let count = c
            .app
            .sql_count(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE action = '{action}' AND outcome = 'ok'"
            ))
            .await
            .unwrap();
        assert_eq!(count, n, "{action}");
    }
}

#[tokio::test]
async fn an_approval_counts_only_inside_its_slot_for_its_sha_while_the_stage_runs_what_it_ran() {
    let mut c = cast("approval = { roles = [\"ops\"], valid_minutes = 60 }").await;
    let a = c.ready("A").await;
    let b = c.ready("B").await;
    let now = OffsetDateTime::now_utc();

    // A slot to come: not yet.
    let (_, body) = c.quinn.request(&a).await;
    let later = json!({ "slot": {
        "from": rfc3339(now + time::Duration::hours(1)),
        "until": rfc3339(now + time::Duration::hours(2)),
    }});
    let (status, body) = c
        .olga
        .post(&format!("/requests/{}/approve", id_of(&body)), later)
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, reason) = c.quinn.verdict(&a, "approved").await;
    assert_eq!(status, "fail");
    assert!(reason.ends_with("; not yet"), "{reason}");

    // A slot that ends unused: expired.
    let (_, body) = c.quinn.request(&b).await;
    let short = json!({ "slot": {
        "from": rfc3339(now - time::Duration::minutes(1)),
        "until": rfc3339(OffsetDateTime::now_utc() + time::Duration::seconds(2)),
    }});
    let (status, body) = c
        .olga
        .post(&format!("/requests/{}/approve", id_of(&body)), short)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(c.quinn.verdict(&b, "approved").await.0, "pass");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, reason) = c.quinn.verdict(&b, "approved").await;
    assert_eq!(status, "fail");
    assert!(
        reason.ends_with("expired unused; request again"),
        "{reason}"
    );
    // Requested again: the lapsed approval is marked expired and gives way.
    let (status, body) = c.quinn.request(&b).await;
    assert_eq!(
        (status, body["state"].as_str()),
        (201, Some("pending")),
        "{body}"
    );
    let listed = c.quinn.get("/pipelines/web/stages/qa/requests").await;
    let states: Vec<&str> = listed["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["sha"] == b.as_str())
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["pending", "expired"]);

    // Two approvals "now"; the first deploy changes QA's current SHA, voiding the other.
    let d1 = c.ready("D1").await;
    let d2 = c.ready("D2").await;
    for sha in [&d1, &d2] {
        let (_, body) = c.quinn.request(sha).await;
        let (status, _) = c
            .olga
            .post(&format!("/requests/{}/approve", id_of(&body)), json!({}))
            .await;
        assert_eq!(status, 200);
    }
    let (status, body) = c.quinn.promote(&d1).await;
    assert_eq!(status, 201, "{body}");
    c.app
        .wait_for_end(serde_json::from_value(body["id"].clone()).unwrap())
        .await
        .unwrap();
    let (status, reason) = c.quinn.verdict(&d2, "approved").await;
    assert_eq!(status, "fail");
    assert_eq!(
        reason,
        "the approval by olga no longer counts: QA's current SHA changed since; request again"
    );
    let (_, board) = c
        .app
        .get_text(&c.quinn_web, "/pipelines/web")
        .await
        .unwrap();
    assert!(
        board.contains(&format!(
            "aria-label=\"Request approval of {} for QA\"",
            &d2[..7]
        )),
        "a lapsed approval offers a new request: {board}"
    );
    assert_eq!(c.quinn.request(&d2).await.0, 201);
}

#[tokio::test]
async fn a_slot_outside_the_deploy_windows_needs_a_reason_and_then_opens_the_window() {
    // A window hours away: closed now.
    let hour = (OffsetDateTime::now_utc().hour() + 3) % 24;
    let keys = format!(
        "approval = {{ roles = [\"ops\"] }}\nwindows = [{{ days = \"daily\", from = \"{hour:02}:00\", to = \"{:02}:00\", time_zone = \"UTC\" }}]",
        (hour + 1) % 24
    );
    let mut c = cast(&keys).await;
    let a = c.ready("A").await;
    let (_, body) = c.quinn.request(&a).await;
    let approve = format!("/requests/{}/approve", id_of(&body));
    let (status, body) = c.olga.post(&approve, json!({})).await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("is not inside QA's deploy windows"),
        "{body}"
    );
    let (status, body) = c
        .olga
        .post(
            &approve,
            json!({ "outside_windows_reason": "customer demo at 9" }),
        )
        .await;
    assert_eq!(
        (status, body["outside_windows_reason"].as_str()),
        (200, Some("customer demo at 9"))
    );
    assert_eq!(
        c.quinn.verdict(&a, "window").await,
        (
            "pass".into(),
            "QA's deploy window is closed, but an approved slot covers now".into()
        )
    );
    let (status, body) = c.quinn.promote(&a).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn an_approved_slot_starts_the_deploy_by_itself_or_says_which_gate_failed_by_then() {
    let mut c = cast("approval = { roles = [\"ops\"] }").await;
    let a = c.ready("A").await;
    let b = c.ready("B").await;
    let soon = |secs: i64| {
        let now = OffsetDateTime::now_utc();
        json!({
            "slot": {
                "from": rfc3339(now + time::Duration::seconds(secs)),
                "until": rfc3339(now + time::Duration::hours(1)),
            },
            "auto_start": true,
        })
    };
    let (_, body) = c.quinn.request(&a).await;
    let first = id_of(&body);
    let (status, body) = c
        .olga
        .post(&format!("/requests/{first}/approve"), soon(2))
        .await;
    assert_eq!(
        (status, body["auto_start"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    assert!(
        body["deployment"].is_null(),
        "nothing before the slot starts"
    );

    let listed = poll_until(
        "the server to start the deploy",
        Duration::from_secs(20),
        || async {
            let listed = c.quinn.get("/pipelines/web/stages/qa/requests").await;
            let r = listed["requests"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == first)
                .cloned()
                .unwrap();
            // Consumed in the deploy's creating transaction; its result is recorded
            // right after.
            Ok((r["state"] == "consumed" && !r["auto_start_result"].is_null()).then_some(r))
        },
    )
    .await
    .unwrap();
    let deployment = listed["deployment"].as_i64().unwrap();
    assert_eq!(
        listed["auto_start_result"],
        format!("started deployment #{deployment}")
    );
    let d = c
        .app
        .wait_for_end(serde_json::from_value(json!(deployment)).unwrap())
        .await
        .unwrap();
    assert_eq!(d.sha.as_str(), a);
    assert_eq!(
        d.requested_by.as_deref(),
        Some("quinn"),
        "started as the requester"
    );

    // The second slot starts while QA is locked: nothing starts, and everyone sees why.
    let (_, body) = c.quinn.request(&b).await;
    let second = id_of(&body);
    let (status, _) = c
        .olga
        .post(&format!("/requests/{second}/approve"), soon(3))
        .await;
    assert_eq!(status, 200);
    let (status, _) = c
        .olga
        .post(
            "/pipelines/web/stages/qa/lock",
            json!({ "reason": "database migration" }),
        )
        .await;
    assert_eq!(status, 204);
    let result = poll_until(
        "the server to try the start",
        Duration::from_secs(20),
        || async {
            let listed = c.quinn.get("/pipelines/web/stages/qa/requests").await;
            let r = listed["requests"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == second)
                .cloned()
                .unwrap();
            Ok(r["auto_start_result"].as_str().map(str::to_owned))
        },
    )
    .await
    .unwrap();
    assert_eq!(result, "not started: locked by olga: database migration");
    let (_, board) = c
        .app
        .get_text(&c.quinn_web, "/pipelines/web")
        .await
        .unwrap();
    assert!(
        board.contains("not started: locked by olga: database migration"),
        "{board}"
    );
    // The requester is told, on their profile and in the header, until they mark it read.
    let (_, profile) = c.app.get_text(&c.quinn_web, "/profile").await.unwrap();
    assert!(
        profile.contains(&format!("your approved request #{second} to promote {} into qa: not started: locked by olga: database migration", &b[..7])),
        "{profile}"
    );
    assert!(profile.contains("data-testid=\"unread\""));
    let res = c
        .app
        .post_form(&c.quinn_web, "/profile/notifications/read", &[])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (_, profile) = c.app.get_text(&c.quinn_web, "/profile").await.unwrap();
    assert!(!profile.contains("data-testid=\"unread\""), "{profile}");
    assert_eq!(
        c.app
            .sql_count(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'auto_start' AND outcome = 'refused' \
                 AND detail = 'not started: locked by olga: database migration'"
            )
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        c.app
            .sql_count(&format!(
                "SELECT COUNT(*) FROM deployments WHERE sha = '{b}'"
            ))
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn approving_now_inside_an_open_window_needs_no_reason_and_lasts_until_the_window_closes() {
    // A window from an hour ago to two hours from now (UTC, whole hours).
    let now = OffsetDateTime::now_utc();
    let (from, to) = ((now.hour() + 23) % 24, (now.hour() + 2) % 24);
    let keys = format!(
        "approval = {{ roles = [\"ops\"], valid_minutes = 600 }}\nwindows = [{{ days = \"daily\", from = \"{from:02}:00\", to = \"{to:02}:00\", time_zone = \"UTC\" }}]"
    );
    let mut c = cast(&keys).await;
    let a = c.ready("A").await;
    let (_, body) = c.quinn.request(&a).await;
    let (status, body) = c
        .olga
        .post(&format!("/requests/{}/approve", id_of(&body)), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["outside_windows_reason"].is_null());
    let until = OffsetDateTime::parse(
        body["slot_until"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!((until.hour(), until.minute()), (to, 0), "{body}");
    assert!(
        until - now < time::Duration::hours(3),
        "clipped to the window, not 10 hours: {body}"
    );
    assert_eq!(c.quinn.promote(&a).await.0, 201);
}

#[tokio::test]
async fn an_auto_start_whose_slot_passed_while_the_server_was_down_is_reported_not_started() {
    let mut c = cast("approval = { roles = [\"ops\"] }").await;
    let a = c.ready("A").await;
    let (_, body) = c.quinn.request(&a).await;
    let request = id_of(&body);
    let now = OffsetDateTime::now_utc();
    let slot = json!({
        "slot": {
            "from": rfc3339(now + time::Duration::seconds(3)),
            "until": rfc3339(now + time::Duration::seconds(4)),
        },
        "auto_start": true,
    });
    let (status, body) = c
        .olga
        .post(&format!("/requests/{request}/approve"), slot)
        .await;
    assert_eq!(status, 200, "{body}");
    let Cast { app, quinn, .. } = c;
    // Down through the whole slot.
    let app = app.restart_after(Duration::from_secs(6)).await.unwrap();
    let result = poll_until(
        "the missed start to be recorded",
        Duration::from_secs(20),
        || async {
            let listed = quinn.get("/pipelines/web/stages/qa/requests").await;
            let r = listed["requests"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == request)
                .cloned()
                .unwrap();
            Ok(r["auto_start_result"].as_str().map(str::to_owned))
        },
    )
    .await
    .unwrap();
    assert_eq!(
        result,
        "not started: its slot ended while Slipway was not running"
    );
    assert_eq!(
        app.sql_count(&format!(
            "SELECT COUNT(*) FROM deployments WHERE sha = '{a}'"
        ))
        .await
        .unwrap(),
        0
    );
    assert_eq!(
        app.sql_count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'auto_start' AND outcome = 'refused'"
        )
        .await
        .unwrap(),
        1
    );
}

#[tokio::test]
async fn a_request_carries_the_migrations_acknowledgement_to_the_deploy_the_server_starts() {
    let mut c = cast("approval = { roles = [\"ops\"] }").await;
    let a = c.ready("A").await;
    let (_, body) = c.quinn.request(&a).await;
    let (status, _) = c
        .olga
        .post(&format!("/requests/{}/approve", id_of(&body)), json!({}))
        .await;
    assert_eq!(status, 200);
    let (status, d) = c.quinn.promote(&a).await;
    assert_eq!(status, 201, "{d}");
    let id = d["id"].as_i64().unwrap().to_string().parse().unwrap();
    c.app.wait_for_end(id).await.unwrap();

    let b = c
        .repo
        .commit_file(
            "migrations/0003_wishlist.sql",
            "CREATE TABLE wishlist (id INT);\n",
            "B",
        )
        .unwrap();
    c.app
        .post_form(&c.dev, "/pipelines/web/ready", &[("sha", b.as_str())])
        .await
        .unwrap();
    let (status, body) = c
        .quinn
        .post(
            "/pipelines/web/stages/qa/requests",
            json!({ "sha": b, "acknowledge_migrations": true, "migrations_note": "tested on the staging copy" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let request = id_of(&body);
    let now = OffsetDateTime::now_utc();
    let (status, body) = c
        .olga
        .post(
            &format!("/requests/{request}/approve"),
            json!({
                "slot": {
                    "from": rfc3339(now + time::Duration::seconds(1)),
                    "until": rfc3339(now + time::Duration::hours(1)),
                },
                "auto_start": true,
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let deployment = poll_until(
        "the server to start the deploy",
        Duration::from_secs(20),
        || async {
            let listed = c.quinn.get("/pipelines/web/stages/qa/requests").await;
            let r = listed["requests"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == request)
                .cloned()
                .unwrap();
            Ok(r["deployment"]
                .as_i64()
                .filter(|_| r["state"] == "consumed"))
        },
    )
    .await
    .unwrap();
    let d = c.quinn.get(&format!("/deployments/{deployment}")).await;
    assert_eq!(
        d["migrations"],
        json!({ "files": ["migrations/0003_wishlist.sql"], "note": "tested on the staging copy" }),
        "{d}"
    );
}
