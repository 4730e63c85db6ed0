//! The HTTP deployer: Slipway POSTs the deployment, signed with HMAC-SHA256, to a CD
//! system (here a programmable HTTP server on loopback), and follows its status URL,
//! streaming the log lines it reports. The signature is checked the way a receiver
//! would: recomputed from the body with the shared key.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use slipway_model::Role;
use slipway_tests::app::{pipeline_config, poll_until, spawn_app};
use slipway_tests::git::TestRepo;
use slipway_tests::process::{logged_in, Installation};
use slipway_tests::stub::Stub;
use std::time::Duration;

const PASSWORD: &str = "a long enough passphrase";
const KEY: &str = "the-shared-signing-key";

fn http_qa(repo: &TestRepo, deployer: &str) -> String {
    pipeline_config(repo.path()).replacen(
        "id = \"qa\"\nlabel = \"QA\"\ndeployer = { command = [\"true\"] }",
        &format!("id = \"qa\"\nlabel = \"QA\"\ndeployer = {{ http = {deployer} }}"),
        1,
    )
}

#[tokio::test]
async fn a_deploy_is_a_signed_post_and_the_status_url_is_followed_to_its_end() {
    let stub = Stub::start().await;
    stub.reply("/deploy", 202, r#"{"status_url": "/jobs/17"}"#);
    stub.reply(
        "/jobs/17",
        200,
        r#"{"state": "running", "log": ["fetching artifact"]}"#,
    );
    let mut repo = TestRepo::new().unwrap();
    let sha = repo.commit("A").unwrap();
    let config = http_qa(
        &repo,
        &format!(
            "{{ url = \"{}\", secret_env = \"CD_SIGNING_KEY\", poll_interval_seconds = 1 }}",
            stub.url("/deploy")
        ),
    );
    assert!(config.contains("CD_SIGNING_KEY"));
    // The real binary, so the key is really in the server's environment.
    let install = Installation::new("", &config);
    install.add_user("olga", &["dev", "qa", "ops"], PASSWORD);
    let server = install.start_with(|cmd| {
        cmd.env("CD_SIGNING_KEY", KEY);
    });
    server.wait_up().await;
    let base = &install.base;
    let client = logged_in(base, "olga", PASSWORD).await;
    for (path, form) in [
        ("/pipelines/web/ready", vec![("sha", sha.as_str())]),
        (
            "/pipelines/web/promote",
            vec![("sha", sha.as_str()), ("stage", "qa")],
        ),
    ] {
        let res = client
            .post(format!("{base}{path}"))
            .header("origin", base)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{path}");
    }

    // The CD system got one signed POST describing the deployment.
    let post = poll_until("the POST", Duration::from_secs(20), || async {
        Ok(stub.requests().into_iter().find(|r| r.method == "POST"))
    })
    .await
    .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(post.body.as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(post.headers.get("x-slipway-signature-256"), Some(&expected));
    let body: Value = serde_json::from_str(&post.body).unwrap();
    assert_eq!(body["sha"], sha.as_str());
    assert_eq!(body["stage"], "qa");
    assert_eq!(body["pipeline"], "web");
    assert_eq!(body["deployment_id"], 1);
    assert_eq!(body["previous_sha"], Value::Null);
    assert!(!post.body.contains(KEY), "the key itself is never sent");

    // It runs until the status URL says it is done, its log lines in ours.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stub.reply(
        "/jobs/17",
        200,
        r#"{"state": "SUCCESS", "log": ["fetching artifact", "rolling out 3/3"]}"#,
    );
    let db = install.database().await;
    let d = poll_until("the deployment to end", Duration::from_secs(20), || async {
        let d = db
            .deployment(slipway_model::DeploymentId(1))
            .await?
            .expect("deployment #1");
        Ok((!d.state.is_active()).then_some(d))
    })
    .await
    .unwrap();
    assert_eq!(d.state.as_str(), "succeeded");
    let lines: Vec<String> = db
        .log_lines(d.id, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.line)
        .collect();
    for expected in [
        "HTTP 202: {\"status_url\": \"/jobs/17\"}",
        "fetching artifact",
        "rolling out 3/3",
        "state: SUCCESS",
    ] {
        assert!(
            lines.iter().any(|l| l == expected),
            "{expected:?} in {lines:?}"
        );
    }
    assert_eq!(
        lines.iter().filter(|l| *l == "fetching artifact").count(),
        1,
        "a line the status repeats is logged once"
    );
    drop(server);
}

#[tokio::test]
async fn a_refused_post_or_a_failed_status_fails_the_deployment_with_what_the_cd_system_said() {
    let stub = Stub::start().await;
    stub.reply("/refuses", 500, "Jenkins is restarting");
    stub.reply("/deploy", 200, r#"{"status_url": "/jobs/9"}"#);
    stub.reply(
        "/jobs/9",
        200,
        r#"{"state": "failed", "log": "step 1\nstep 2: image not found"}"#,
    );
    for (path, expected) in [
        ("/refuses", "HTTP 500: Jenkins is restarting"),
        ("/deploy", "step 2: image not found"),
    ] {
        let mut repo = TestRepo::new().unwrap();
        let sha = repo.commit("A").unwrap();
        let app = spawn_app(&http_qa(
            &repo,
            &format!(
                "{{ url = \"{}\", poll_interval_seconds = 1 }}",
                stub.url(path)
            ),
        ))
        .await
        .unwrap();
        let ops = app.logged_in("olga", &[Role::Dev, Role::Qa]).await.unwrap();
        app.post_form(&ops, "/pipelines/web/ready", &[("sha", &sha)])
            .await
            .unwrap();
        let id = app
            .promote(&ops, &sha, "qa")
            .await
            .unwrap()
            .expect("started");
        let d = app.wait_for_end(id).await.unwrap();
        assert_eq!(d.state.as_str(), "failed", "{path}");
        let api = slipway_tests::api::ApiClient::of(&app, &ops).await;
        let log = api.get(&format!("/deployments/{id}/log")).await;
        let lines: Vec<&str> = log["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["line"].as_str().unwrap())
            .collect();
        assert!(lines.contains(&expected), "{path}: {lines:?}");
    }
}
