//! Deploys of a GitHub pipeline, against the local fake GitHub: each is a GitHub
//! Deployment with its statuses (a success, a failure, the replaced one made inactive),
//! the Actions deployer follows the workflow run it dispatched to its conclusion, the
//! external deployer waits for another CD system's status, and the whole story from a
//! push webhook to a production deploy through Actions.

use super::github::{deliver, fixture, outcome_of, push, sign};
use super::github_api::{check_run_delivered, on_board, server, server_with_checks, REPO};
use serde_json::json;
use slipway_model::{DeploymentId, Role};
use slipway_tests::api::ApiClient as Api;
use slipway_tests::app::{poll_until, TestApp};
use slipway_tests::git::TestRepo;
use slipway_tests::github::FakeGitHub;
use std::time::Duration;

/// One stage, staging, deployed by `deployer` (a TOML inline table).
fn staging(deployer: &str) -> String {
    format!(
        "\n[[pipelines.stages]]\nid = \"staging\"\nlabel = \"Staging\"\ndeployer = {deployer}\n"
    )
}

async fn log_of(
    app: &TestApp,
    client: &reqwest::Client,
    id: impl std::fmt::Display,
) -> Vec<String> {
    let api = Api::of(app, client).await;
    let log = api.get(&format!("/deployments/{id}/log")).await;
    log["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line"].as_str().unwrap().to_owned())
        .collect()
}

/// Marks `sha` ready and promotes it into staging; the deployment's id.
async fn started(app: &TestApp, client: &reqwest::Client, sha: &str) -> DeploymentId {
    app.post_form(client, "/pipelines/web/ready", &[("sha", sha)])
        .await
        .unwrap();
    app.promote(client, sha, "staging")
        .await
        .unwrap()
        .expect("promoted")
}

/// [`started`], then its end: the deployment's id and end state.
async fn deploy(app: &TestApp, client: &reqwest::Client, sha: &str) -> (String, String) {
    let id = started(app, client, sha).await;
    let d = app.wait_for_end(id).await.unwrap();
    (id.to_string(), d.state.as_str().to_owned())
}

#[tokio::test]
async fn every_deploy_is_a_github_deployment_whose_statuses_follow_it() {
    let mut repo = TestRepo::new().unwrap();
    let b = repo.commit("B").unwrap();
    let c = repo.commit("C").unwrap();
    let d = repo.commit("D").unwrap();
    let fake = FakeGitHub::start(REPO, repo.path()).await;
    let script = format!("test \"$SLIPWAY_SHA\" != {c}");
    let app = server(
        &fake,
        "migrations = []",
        &staging(&format!("{{ command = [\"sh\", \"-c\", {script:?}] }}")),
    )
    .await;
    let olga = app
        .logged_in("olga", &[Role::Dev, Role::Qa, Role::Ops])
        .await
        .unwrap();

    let (first, state) = deploy(&app, &olga, &b).await;
    assert_eq!(state, "succeeded");
    let (_, state) = deploy(&app, &olga, &c).await;
    assert_eq!(state, "failed");
    let deployments = fake.deployments();
    assert_eq!(deployments.len(), 2);
    assert_eq!(
        (
            deployments[0].sha.as_str(),
            deployments[0].environment.as_str()
        ),
        (b.as_str(), "staging")
    );
    assert_eq!(
        deployments[0].payload["slipway"]["deployment"],
        json!(first.parse::<i64>().unwrap())
    );
    assert_eq!(deployments[0].statuses, ["in_progress", "success"]);
    assert_eq!(
        deployments[1].statuses,
        ["in_progress", "failure"],
        "a failure replaces nothing"
    );

    let (third, state) = deploy(&app, &olga, &d).await;
    assert_eq!(state, "succeeded");
    let deployments = fake.deployments();
    assert_eq!(
        deployments[0].statuses,
        ["in_progress", "success", "inactive"]
    );
    assert_eq!(deployments[2].statuses, ["in_progress", "success"]);
    // Each status links back to the deployment's page.
    let posted: Vec<serde_json::Value> = fake
        .calls()
        .iter()
        .filter(|c| {
            c.method == "POST"
                && c.path == format!("/repos/{REPO}/deployments/{}/statuses", deployments[2].id)
        })
        .map(|c| serde_json::from_str(&c.body).unwrap())
        .collect();
    assert_eq!(posted.len(), 2);
    for status in posted {
        assert_eq!(
            status["log_url"],
            format!("{}/deployments/{third}", app.base)
        );
    }
    let log = log_of(&app, &olga, &third).await;
    assert!(
        log.iter().any(|l| l
            == &format!(
                "GitHub Deployment {} created for environment staging",
                deployments[2].id
            )),
        "{log:?}"
    );
}

#[tokio::test]
async fn the_actions_deployer_follows_the_run_it_dispatched_to_success_and_to_failure() {
    let mut repo = TestRepo::new().unwrap();
    let b = repo.commit("B").unwrap();
    let c = repo.commit("C").unwrap();
    let fake = FakeGitHub::start(REPO, repo.path()).await;
    let app = server(
        &fake,
        "migrations = []",
        &staging(
            r#"{ github_actions = { workflow = "deploy.yml", inputs = { region = "eu" }, poll_interval_seconds = 1 } }"#,
        ),
    )
    .await;
    let olga = app
        .logged_in("olga", &[Role::Dev, Role::Qa, Role::Ops])
        .await
        .unwrap();

    fake.auto_complete_runs("success", 2);
    let (id, state) = deploy(&app, &olga, &b).await;
    assert_eq!(state, "succeeded");
    let runs = fake.runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].workflow, "deploy.yml");
    assert_eq!(
        runs[0].inputs,
        json!({ "sha": b, "stage": "staging", "deployment": format!("slipway-{id}-1"), "region": "eu" })
    );
    let log = log_of(&app, &olga, &id).await;
    let run = runs[0].id;
    assert!(
        log.iter()
            .any(|l| l.starts_with(&format!("workflow run {run} started: http"))),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|l| l.starts_with(&format!("workflow run {run} concluded success"))),
        "{log:?}"
    );
    assert_eq!(fake.deployments()[0].statuses, ["in_progress", "success"]);

    fake.auto_complete_runs("failure", 1);
    let (id, state) = deploy(&app, &olga, &c).await;
    assert_eq!(state, "failed");
    let log = log_of(&app, &olga, &id).await;
    assert!(
        log.iter().any(|l| l.contains("concluded failure")),
        "{log:?}"
    );
    assert_eq!(fake.deployments()[1].statuses, ["in_progress", "failure"]);
}

#[tokio::test]
async fn the_external_deployer_waits_for_the_cd_systems_status_on_the_github_deployment() {
    let mut repo = TestRepo::new().unwrap();
    let b = repo.commit("B").unwrap();
    let fake = FakeGitHub::start(REPO, repo.path()).await;
    // A poll far away: the webhook is what ends the wait.
    let app = server(
        &fake,
        "migrations = []",
        &staging("{ github_external = { poll_interval_seconds = 3600 } }"),
    )
    .await;
    let olga = app
        .logged_in("olga", &[Role::Dev, Role::Qa, Role::Ops])
        .await
        .unwrap();
    let id = started(&app, &olga, &b).await;
    let gh = poll_until("the GitHub Deployment", Duration::from_secs(20), || async {
        Ok(fake.deployments().first().map(|d| d.id))
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        app.deployment(id).await.unwrap().state.is_active(),
        "it waits"
    );

    fake.set_deployment_status(gh, "success");
    let mut payload = fixture("deployment_status.created.json");
    payload["deployment"]["id"] = gh.into();
    payload["repository"]["full_name"] = REPO.into();
    let body = payload.to_string();
    let (status, _) = deliver(
        &app,
        "deployment_status",
        "ds-1",
        &body,
        Some(sign(body.as_bytes())),
    )
    .await;
    assert_eq!(status, 202);
    let d = app.wait_for_end(id).await.unwrap();
    assert_eq!(d.state.as_str(), "succeeded");
    assert_eq!(
        outcome_of(&app, "ds-1").await,
        format!("deployment_status: success on GitHub Deployment {gh}")
    );
    assert_eq!(
        fake.deployments()[0].statuses,
        ["in_progress", "success"],
        "Slipway does not post the end the CD system posted"
    );
}

#[tokio::test]
async fn a_push_reaches_production_through_green_ci_and_github_actions() {
    let mut repo = TestRepo::new().unwrap();
    repo.commit("A").unwrap();
    let fake = FakeGitHub::start(REPO, repo.path()).await;
    fake.auto_complete_runs("success", 1);
    let stages = r#"
[[pipelines.stages]]
id = "staging"
label = "Staging"
deployer = { github_actions = { workflow = "deploy.yml", poll_interval_seconds = 1 } }

[[pipelines.stages]]
id = "production"
label = "Production"
deployer = { github_actions = { workflow = "deploy.yml", poll_interval_seconds = 1 } }
"#;
    let app = server_with_checks(&fake, &["build"], stages).await;
    let olga = app
        .logged_in("olga", &[Role::Dev, Role::Qa, Role::Ops])
        .await
        .unwrap();
    let api = Api::of(&app, &olga).await;

    // A push: the commit is on the board at once.
    let b = repo.commit("Ship it").unwrap();
    let body = push(&b);
    let (status, _) = deliver(&app, "push", "p-1", &body, Some(sign(body.as_bytes()))).await;
    assert_eq!(status, 202);
    poll_until(
        "the pushed commit on the board",
        Duration::from_secs(20),
        || async { Ok(on_board(&api, &b).await.then_some(())) },
    )
    .await
    .unwrap();

    // CI runs, then goes green by its webhook.
    fake.set_check_run(&b, "build", "in_progress", None);
    app.post_form(&olga, "/pipelines/web/ready", &[("sha", &b)])
        .await
        .unwrap();
    let refused = app
        .promote(&olga, &b, "staging")
        .await
        .unwrap()
        .unwrap_err();
    assert!(refused.contains("CI"), "{refused}");
    check_run_delivered(&app, "cr-1", &b, "build", "success").await;

    for stage in ["staging", "production"] {
        app.deployed(&olga, &b, stage).await.unwrap();
    }
    let deployments = fake.deployments();
    let envs: Vec<(&str, &[String])> = deployments
        .iter()
        .map(|d| (d.environment.as_str(), d.statuses.as_slice()))
        .collect();
    assert_eq!(envs.len(), 2);
    assert_eq!(envs[0].0, "staging");
    assert_eq!(envs[1].0, "production");
    for (_, statuses) in envs {
        assert_eq!(statuses, ["in_progress", "success"]);
    }
    assert_eq!(fake.runs().len(), 2);
    assert!(fake.runs().iter().all(|r| r.inputs["sha"] == b));
}

#[tokio::test]
async fn cancelling_an_actions_deploy_cancels_its_workflow_run_and_ends_the_github_deployment() {
    let mut repo = TestRepo::new().unwrap();
    let b = repo.commit("B").unwrap();
    let fake = FakeGitHub::start(REPO, repo.path()).await;
    let app = server(
        &fake,
        "migrations = []",
        &staging(r#"{ github_actions = { workflow = "deploy.yml", poll_interval_seconds = 1 } }"#),
    )
    .await;
    let olga = app
        .logged_in("olga", &[Role::Dev, Role::Qa, Role::Ops])
        .await
        .unwrap();
    let id = started(&app, &olga, &b).await;
    // The run never finishes by itself; Slipway found it once its log says so.
    poll_until(
        "the run to be followed",
        Duration::from_secs(20),
        || async {
            let log = log_of(&app, &olga, id).await;
            Ok(log
                .iter()
                .any(|l| l.contains("started: http"))
                .then_some(()))
        },
    )
    .await
    .unwrap();
    let res = app
        .post_form(&olga, &format!("/deployments/{id}/cancel"), &[])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let d = app.wait_for_end(id).await.unwrap();
    assert_eq!(d.state.as_str(), "cancelled");
    let run = &fake.runs()[0];
    assert_eq!(
        (run.status.as_str(), run.conclusion.as_deref()),
        ("completed", Some("cancelled"))
    );
    assert_eq!(fake.deployments()[0].statuses, ["in_progress", "error"]);
    let log = log_of(&app, &olga, id).await;
    assert!(
        log.iter()
            .any(|l| l == &format!("asked GitHub to cancel workflow run {}", run.id)),
        "{log:?}"
    );
}
