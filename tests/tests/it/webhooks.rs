//! Outgoing webhooks: what happens on a pipeline is POSTed to its webhooks, as JSON or
//! as a Slack message, signed with HMAC-SHA256 over the body, retried after a 5xx
//! answer — without ever holding a deploy — and every delivery with its attempts is on
//! the admins' audit page. The receivers are real HTTP servers on loopback that check
//! the signature the way a receiver would: recomputed from the body with the shared key.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use slipway_model::Role;
use slipway_tests::app::{pipeline_config, poll_until, spawn_app, TestApp};
use slipway_tests::git::TestRepo;
use slipway_tests::stub::{Recorded, Stub};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
/// The variable the signing key is read from (this test's own name, so no other test
/// sees it).
const KEY_VAR: &str = "SLIPWAY_TEST_WEBHOOK_KEY";
const KEY: &str = "the-webhook-signing-key";

fn config(repo: &TestRepo, stub: &Stub) -> String {
    let hooks = format!(
        "\n[[pipelines.webhooks]]\nid = \"ci\"\nurl = \"{}\"\nsecret_env = \"{KEY_VAR}\"\n\
         events = [\"deployment_started\", \"deployment_succeeded\"]\n\
         \n[[pipelines.webhooks]]\nid = \"chat\"\nurl = \"{}\"\nformat = \"slack\"\n\
         events = [\"stage_locked\"]\n",
        stub.url("/ci"),
        stub.url("/chat")
    );
    // Pipeline-level keys go before its stages.
    pipeline_config(repo.path()).replacen(
        "\n[[pipelines.stages]]",
        &format!("{hooks}\n[[pipelines.stages]]"),
        1,
    )
}

fn signed_by_key(r: &Recorded) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).expect("any key");
    mac.update(r.body.as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    r.headers.get("x-slipway-signature-256") == Some(&expected)
}

async fn state_of(app: &TestApp, event: &str) -> (String, i64, String) {
    let id = app
        .sql_count(&format!(
            "SELECT id FROM webhook_deliveries WHERE event = '{event}' ORDER BY id LIMIT 1"
        ))
        .await
        .unwrap();
    let attempts = app
        .sql_count(&format!(
            "SELECT attempts FROM webhook_deliveries WHERE id = {id}"
        ))
        .await
        .unwrap();
    let mut state = String::new();
    for s in ["pending", "delivered", "failed"] {
        if app
            .sql_count(&format!(
                "SELECT COUNT(*) FROM webhook_deliveries WHERE id = {id} AND state = '{s}'"
            ))
            .await
            .unwrap()
            == 1
        {
            state = s.to_owned();
        }
    }
    (state, attempts, id.to_string())
}

#[tokio::test]
async fn a_deployment_is_told_signed_and_told_again_after_the_receiver_answered_503() {
    std::env::set_var(KEY_VAR, KEY);
    let stub = Stub::start().await;
    stub.reply("/ci", 503, "receiver restarting");
    stub.reply("/chat", 200, "ok");
    let mut repo = TestRepo::new().unwrap();
    let app = spawn_app(&config(&repo, &stub)).await.unwrap();
    let olga = app
        .logged_in("olga", &[Role::Dev, Role::Qa, Role::Ops])
        .await
        .unwrap();
    let sha = repo.commit("A").unwrap();
    // The receiver being down holds nothing: the deployment ends as it would anyway.
    let id = app.deployed_first(&olga, &sha, "qa").await.unwrap().id;

    // Each event was sent once and refused with a 503; it waits for its next attempt.
    poll_until("both events to be tried", WAIT, || async {
        let tried = stub.requests().iter().filter(|r| r.path == "/ci").count();
        Ok((tried >= 2).then_some(()))
    })
    .await
    .unwrap();
    let (state, attempts, _) = state_of(&app, "deployment_succeeded").await;
    assert_eq!((state.as_str(), attempts), ("pending", 1));

    // The receiver is back; the next attempt (moved to now, not waited for) delivers.
    stub.reply("/ci", 200, "thanks");
    app.sql("UPDATE webhook_deliveries SET next_attempt_at = created_at WHERE state = 'pending'")
        .await
        .unwrap();
    poll_until("the retries to be delivered", WAIT, || async {
        let (state, _, _) = state_of(&app, "deployment_succeeded").await;
        Ok((state == "delivered").then_some(()))
    })
    .await
    .unwrap();
    let (_, attempts, _) = state_of(&app, "deployment_succeeded").await;
    assert_eq!(attempts, 2, "one failed attempt, one delivered");

    let sent: Vec<Recorded> = stub
        .requests()
        .into_iter()
        .filter(|r| r.path == "/ci")
        .collect();
    assert!(
        sent.iter().all(|r| r.method == "POST" && signed_by_key(r)),
        "every POST is signed with the key"
    );
    assert!(
        sent.iter().all(|r| !r.body.contains(KEY)),
        "the key itself is never sent"
    );
    let succeeded: Vec<&Recorded> = sent
        .iter()
        .filter(|r| {
            r.headers.get("x-slipway-event").map(String::as_str) == Some("deployment_succeeded")
        })
        .collect();
    assert_eq!(succeeded.len(), 2, "sent, refused, sent again");
    assert_eq!(
        succeeded[0].body, succeeded[1].body,
        "a retry sends the same body"
    );
    assert_eq!(
        succeeded[0].headers.get("x-slipway-delivery"),
        succeeded[1].headers.get("x-slipway-delivery"),
        "and the same delivery id, to deduplicate by"
    );
    let body: Value = serde_json::from_str(&succeeded[0].body).unwrap();
    assert_eq!(body["event"], "deployment_succeeded");
    assert_eq!(body["pipeline"], "web");
    assert_eq!(body["stage"], "qa");
    assert_eq!(body["sha"], sha.as_str());
    assert_eq!(body["deployment"], id.get());
    assert_eq!(body["url"], app.url(&format!("/deployments/{id}")));
    // Only the events the webhook asked for: no ready mark, no lock.
    assert!(sent.iter().all(|r| {
        matches!(
            r.headers.get("x-slipway-event").map(String::as_str),
            Some("deployment_started" | "deployment_succeeded")
        )
    }));

    // The Slack webhook gets a lock as one line.
    let res = app
        .post_form(
            &olga,
            "/pipelines/web/stages/qa/lock",
            &[("reason", "db <migration>")],
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let chat = poll_until("the Slack message", WAIT, || async {
        Ok(stub.requests().into_iter().find(|r| r.path == "/chat"))
    })
    .await
    .unwrap();
    assert!(
        !chat.headers.contains_key("x-slipway-signature-256"),
        "no key, no signature"
    );
    let text: Value = serde_json::from_str(&chat.body).unwrap();
    assert_eq!(
        text["text"],
        format!(
            ":lock: *web*: *qa* was locked (by olga): db &lt;migration&gt; <{}|Open in Slipway>",
            app.url("/pipelines/web")
        )
    );

    // Admins see every delivery and its attempts; nobody else does.
    let admin = app.logged_in("ada", &[Role::Admin]).await.unwrap();
    let (status, page) = app.get_text(&admin, "/admin/audit").await.unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("data-testid=\"deliveries\""), "{page}");
    assert!(page.contains("web · ci"), "{page}");
    assert!(page.contains("HTTP 200"), "{page}");
    let res = olga.get(app.url("/_fn/deliveries")).send().await.unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn a_receiver_that_refuses_a_delivery_is_not_asked_again() {
    std::env::set_var(KEY_VAR, KEY);
    let stub = Stub::start().await;
    stub.reply("/ci", 410, "gone");
    let mut repo = TestRepo::new().unwrap();
    let app = spawn_app(&config(&repo, &stub)).await.unwrap();
    let olga = app
        .logged_in("olga", &[Role::Dev, Role::Qa, Role::Ops])
        .await
        .unwrap();
    let sha = repo.commit("A").unwrap();
    app.post_form(&olga, "/pipelines/web/ready", &[("sha", &sha)])
        .await
        .unwrap();
    app.promote(&olga, &sha, "qa")
        .await
        .unwrap()
        .expect("into QA");
    poll_until("both refusals", WAIT, || async {
        let refused = app
            .sql_count(
                "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'failed' AND last_result = 'HTTP 410'",
            )
            .await?;
        Ok((refused == 2).then_some(()))
    })
    .await
    .unwrap();
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM webhook_deliveries WHERE attempts <> 1")
            .await
            .unwrap(),
        0,
        "a refusal is not asked again"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        stub.requests().iter().filter(|r| r.path == "/ci").count(),
        2
    );
}
