//! A pipeline's own CI check (`ci`), for a repository that is not on GitHub: a command
//! (exit 0 green, 75 still running, anything else failed) or a URL answering
//! `{"state": …, "url": …}` plays the role of GitHub's required checks in the CI gate.

use slipway_model::Role;
use slipway_tests::api::ApiClient as Api;
use slipway_tests::app::{pipeline_config, poll_until, spawn_app};
use slipway_tests::git::TestRepo;
use slipway_tests::stub::Stub;
use std::time::Duration;

/// The CI gate for promoting `sha` into qa, once the check has answered.
async fn answered(api: &Api, sha: &str) -> serde_json::Value {
    // The server fetches its mirror in the background after it starts: until then the
    // SHA is not on the branch, and asking its gates is refused.
    poll_until(
        "the first fetch to bring the commit",
        Duration::from_secs(20),
        || async {
            let board = api.get("/pipelines/web/board").await;
            Ok(board.to_string().contains(sha).then_some(()))
        },
    )
    .await
    .unwrap();
    poll_until(
        "the CI check to answer",
        Duration::from_secs(20),
        || async {
            let gate = api.gate("qa", sha, "ci").await;
            let checking = gate["reason"]
                .as_str()
                .unwrap_or("")
                .starts_with("checking CI");
            Ok((!checking).then_some(gate))
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_ci_command_says_green_still_running_or_failed_by_its_exit_code() {
    let mut repo = TestRepo::new().unwrap();
    let shas: Vec<String> = ["green", "running", "red"]
        .iter()
        .map(|s| repo.commit(s).unwrap())
        .collect();
    let verdicts = tempfile::tempdir().unwrap();
    for (sha, verdict) in shas.iter().zip(["0", "75", "1"]) {
        std::fs::write(verdicts.path().join(sha), verdict).unwrap();
    }
    let script = format!(
        "code=$(cat {}/$SLIPWAY_SHA); echo \"build $code\"; exit $code",
        verdicts.path().display()
    );
    let config = pipeline_config(repo.path()).replacen(
        "fetch_interval_seconds = 3600\n",
        &format!(
            "fetch_interval_seconds = 3600\nci = {{ command = [\"sh\", \"-c\", {script:?}] }}\n"
        ),
        1,
    );
    let app = spawn_app(&config).await.unwrap();
    let quinn = app
        .logged_in("quinn", &[Role::Dev, Role::Qa])
        .await
        .unwrap();
    let api = Api::of(&app, &quinn).await;

    let gate = answered(&api, &shas[0]).await;
    assert_eq!(gate["status"], "pass", "{gate}");
    assert_eq!(
        gate["reason"],
        format!("CI green for {}: ci", &shas[0][..7])
    );
    let gate = answered(&api, &shas[1]).await;
    assert_eq!(gate["status"], "pending", "{gate}");
    assert_eq!(
        gate["reason"],
        format!("CI still running for {}: ci", &shas[1][..7])
    );
    let gate = answered(&api, &shas[2]).await;
    assert_eq!(gate["status"], "fail", "{gate}");
    assert_eq!(
        gate["reason"],
        format!(
            "CI check ci failed for {}: exit code 1: build 1",
            &shas[2][..7]
        )
    );
    app.post_form(&quinn, "/pipelines/web/ready", &[("sha", &shas[2])])
        .await
        .unwrap();
    let refused = app
        .promote(&quinn, &shas[2], "qa")
        .await
        .unwrap()
        .unwrap_err();
    assert!(refused.contains("CI check ci failed"), "{refused}");
}

#[tokio::test]
async fn a_ci_url_answers_the_state_and_a_link_to_the_run() {
    let mut repo = TestRepo::new().unwrap();
    let red = repo.commit("red").unwrap();
    let silent = repo.commit("not reported").unwrap();
    let odd = repo.commit("odd answer").unwrap();
    let ci = Stub::start().await;
    ci.reply(
        &format!("/status/{red}"),
        200,
        r#"{"state": "failure", "url": "https://ci.example.com/runs/7"}"#,
    );
    ci.reply(&format!("/status/{odd}"), 200, r#"{"state": "green"}"#);
    let config = pipeline_config(repo.path()).replacen(
        "fetch_interval_seconds = 3600\n",
        &format!(
            "fetch_interval_seconds = 3600\nci = {{ url = \"{}/status/{{sha}}\" }}\n",
            ci.base
        ),
        1,
    );
    let app = spawn_app(&config).await.unwrap();
    let quinn = app
        .logged_in("quinn", &[Role::Dev, Role::Qa])
        .await
        .unwrap();
    let api = Api::of(&app, &quinn).await;

    let gate = answered(&api, &red).await;
    assert_eq!(
        gate["reason"],
        format!(
            "CI check ci failed for {}: https://ci.example.com/runs/7",
            &red[..7]
        )
    );
    let gate = answered(&api, &silent).await;
    assert_eq!(gate["status"], "pending", "a 404: not reported yet: {gate}");
    let gate = answered(&api, &odd).await;
    assert_eq!(gate["status"], "pending", "{gate}");
    assert_eq!(
        gate["reason"],
        "CI: the CI URL answered the state \"green\"; expected success, pending, failure or error"
    );
}
