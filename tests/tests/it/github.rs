//! GitHub's webhooks at `POST /hooks/github`: believed only when `X-Hub-Signature-256`
//! matches the body under the configured secret; recorded once per `X-GitHub-Delivery`
//! and answered at once; a `push` to a pipeline's branch on its GitHub repository
//! fetches the mirror, so the commit is on the board without waiting for the periodic
//! fetch (an hour here). The payloads are GitHub's published examples
//! (`tests/fixtures/github/`), fitted to the repository the test creates.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use slipway_model::Role;
use slipway_tests::api::ApiClient as Api;
use slipway_tests::app::{pipeline_config, poll_until, spawn_app, TestApp};
use slipway_tests::git::TestRepo;
use std::time::Duration;

/// The variable the secret is read from (this test's own name).
pub(crate) const SECRET_VAR: &str = "SLIPWAY_TEST_GITHUB_WEBHOOK_SECRET";
pub(crate) const SECRET: &str = "It's a Secret to Everybody";

pub(crate) fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/github/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("a fixture")).expect("JSON")
}

pub(crate) fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// GitHub's `push` example, as a push of `after` to `main` of `octo-org/web-shop`.
pub(crate) fn push(after: &str) -> String {
    let mut p = fixture("push.default.json");
    p["ref"] = "refs/heads/main".into();
    p["after"] = after.into();
    p["deleted"] = false.into();
    p["repository"]["full_name"] = "octo-org/web-shop".into();
    p.to_string()
}

pub(crate) async fn deliver(
    app: &TestApp,
    event: &str,
    delivery: &str,
    body: &str,
    signature: Option<String>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(app.url("/hooks/github"))
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery)
        .body(body.to_owned());
    if let Some(s) = signature {
        req = req.header("x-hub-signature-256", s);
    }
    let res = req.send().await.expect("an answer");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn server(repo: &TestRepo) -> TestApp {
    std::env::set_var(SECRET_VAR, SECRET);
    let config = format!(
        "[github]\nwebhook_secret_env = \"{SECRET_VAR}\"\n\n{}",
        pipeline_config(repo.path()).replacen(
            "fetch_interval_seconds = 3600\n",
            "fetch_interval_seconds = 3600\ngithub = { repository = \"octo-org/web-shop\" }\n",
            1
        )
    );
    spawn_app(&config).await.unwrap()
}

/// What came of delivery `id`, once the server processed it.
pub(crate) async fn outcome_of(app: &TestApp, id: &str) -> String {
    poll_until(
        &format!("delivery {id} to be processed"),
        Duration::from_secs(20),
        || async {
            Ok(app
                .state
                .storage
                .github_delivery(id)
                .await?
                .and_then(|d| d.outcome))
        },
    )
    .await
    .unwrap()
}

async fn on_board(api: &Api, sha: &str) -> bool {
    let board = api.get("/pipelines/web/board").await;
    board["commits"]
        .as_array()
        .is_some_and(|cards| cards.iter().any(|c| c["commit"]["sha"] == sha))
}

#[tokio::test]
async fn a_signed_push_puts_the_commit_on_the_board_at_once_and_is_recorded_once() {
    let mut repo = TestRepo::new().unwrap();
    repo.commit("A").unwrap();
    let app = server(&repo).await;
    let olga = app.logged_in("olga", &[Role::Dev]).await.unwrap();
    let api = Api::of(&app, &olga).await;
    let b = repo.commit("B").unwrap();
    assert!(
        !on_board(&api, &b).await,
        "not fetched yet: the next fetch is in an hour"
    );

    let body = push(&b);
    let (status, answer) = deliver(
        &app,
        "push",
        "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        &body,
        Some(sign(body.as_bytes())),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    poll_until(
        "the pushed commit on the board",
        Duration::from_secs(20),
        || async { Ok(on_board(&api, &b).await.then_some(())) },
    )
    .await
    .unwrap();
    let outcome = outcome_of(&app, "72d3162e-cc78-11e3-81ab-4c9367dc0958").await;
    assert_eq!(
        outcome,
        "push to octo-org/web-shop refs/heads/main: fetched web"
    );

    // GitHub redelivers: the same id is answered and dropped.
    let (status, _) = deliver(
        &app,
        "push",
        "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        &body,
        Some(sign(body.as_bytes())),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM github_deliveries")
            .await
            .unwrap(),
        1
    );

    // A push to another repository or branch fetches nothing, and says so.
    let mut other = serde_json::from_str::<Value>(&push(&b)).unwrap();
    other["ref"] = "refs/heads/feature/x".into();
    let other = other.to_string();
    let (status, _) = deliver(&app, "push", "b1", &other, Some(sign(other.as_bytes()))).await;
    assert_eq!(status, 202);
    let outcome = outcome_of(&app, "b1").await;
    assert_eq!(
        outcome,
        "push: no pipeline follows octo-org/web-shop refs/heads/feature/x"
    );
}

#[tokio::test]
async fn only_a_body_signed_with_the_secret_is_believed_and_unused_events_are_dropped() {
    let mut repo = TestRepo::new().unwrap();
    repo.commit("A").unwrap();
    let app = server(&repo).await;
    let body = push(&"c".repeat(40));

    let (status, answer) = deliver(&app, "push", "d1", &body, None).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (401, Some("unauthorized")),
        "{answer}"
    );
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("no X-Hub-Signature-256"),
        "{answer}"
    );
    let forged = {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"a guessed secret").unwrap();
        mac.update(body.as_bytes());
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    };
    let (status, answer) = deliver(&app, "push", "d2", &body, Some(forged)).await;
    assert_eq!(status, 401, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("does not match"),
        "{answer}"
    );
    // A signature of another body does not carry over.
    let (status, _) = deliver(&app, "push", "d3", &body, Some(sign(b"{}"))).await;
    assert_eq!(status, 401);
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM github_deliveries")
            .await
            .unwrap(),
        0,
        "nothing unsigned is recorded"
    );

    let ping = fixture("ping.default.json").to_string();
    let (status, answer) = deliver(&app, "ping", "p1", &ping, Some(sign(ping.as_bytes()))).await;
    assert_eq!((status, answer["pong"].as_bool()), (200, Some(true)));
    let pr = fixture("pull_request.closed.json").to_string();
    let (status, _) = deliver(&app, "pull_request", "p2", &pr, Some(sign(pr.as_bytes()))).await;
    assert_eq!(status, 204, "an event Slipway does not use is dropped");
    let (status, answer) = deliver(&app, "push", "", &body, Some(sign(body.as_bytes()))).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM github_deliveries")
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn without_a_configured_secret_no_webhook_is_believed() {
    let mut repo = TestRepo::new().unwrap();
    repo.commit("A").unwrap();
    let app = spawn_app(&pipeline_config(repo.path())).await.unwrap();
    let body = push(&"c".repeat(40));
    let (status, answer) = deliver(&app, "push", "x1", &body, Some(sign(body.as_bytes()))).await;
    assert_eq!(status, 401, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("no [github] webhook secret"),
        "{answer}"
    );
}
