//! The JSON API with bearer tokens, and the `slipway ready` CLI that uses it.

use serde_json::{json, Value};
use slipway_model::{DeploymentId, Role};
use slipway_tests::app::{deploying_pipeline, spawn_app, TestApp, WRITE_SHA};
use slipway_tests::git::TestRepo;

/// Creates a token through the profile page, as a user would; returns it.
async fn token_for(app: &TestApp, client: &reqwest::Client, name: &str) -> String {
    let token = app.create_token(client, name).await.unwrap();
    assert_eq!(token.len(), 44, "{token}");
    token
}

fn api(app: &TestApp, token: &str) -> (reqwest::Client, String, String) {
    (
        reqwest::Client::new(),
        format!("{}/api/v1", app.base),
        format!("Bearer {token}"),
    )
}

async fn setup() -> (TestApp, TestRepo, tempfile::TempDir) {
    let repo = TestRepo::new().unwrap();
    let out = tempfile::tempdir().unwrap();
    let app = spawn_app(&deploying_pipeline(repo.path(), out.path(), WRITE_SHA, ""))
        .await
        .unwrap();
    (app, repo, out)
}

#[tokio::test]
async fn a_token_is_shown_once_stored_hashed_and_acts_with_its_owners_roles() {
    let (app, mut repo, _out) = setup().await;
    let browser = app.logged_in("dana", &[Role::Dev]).await.unwrap();
    let token = token_for(&app, &browser, "CI on main").await;
    assert!(token.starts_with("slw_"));

    let (_, profile) = app.get_text(&browser, "/profile").await.unwrap();
    assert!(profile.contains("CI on main") && profile.contains(&token[..10]));
    assert!(
        !profile.contains(&token),
        "the full token is never shown again"
    );

    let (http, base, auth) = api(&app, &token);
    let sha = repo.commit("From CI").unwrap();
    let res = http
        .post(format!("{base}/pipelines/web/ready"))
        .header("authorization", &auth)
        .json(&json!({"sha": sha, "note": "build 42"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "no Origin header needed with a bearer token"
    );
    assert_eq!(res.json::<Value>().await.unwrap()["newly_marked"], true);

    let board: Value = http
        .get(format!("{base}/pipelines/web/board"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(board["ready"][0]["commit"]["sha"], sha.as_str());
    assert_eq!(board["ready"][0]["ready"]["note"], "build 42");

    // The token carries the owner's roles: a dev may not promote.
    let res = http
        .post(format!("{base}/pipelines/web/stages/qa/promote"))
        .header("authorization", &auth)
        .json(&json!({"sha": sha}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["code"], "forbidden");
    assert_eq!(err["gate"], "permission");
    assert_eq!(
        err["message"],
        format!("web/qa, {}: only qa, ops may promote into QA", &sha[..7])
    );

    // Revoked tokens stop working at once.
    let id = app
        .state
        .storage
        .tokens_of(slipway_model::UserId(1))
        .await
        .unwrap()[0]
        .id;
    let res = app
        .post_form(&browser, &format!("/profile/tokens/{id}/revoke"), &[])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let res = http
        .get(format!("{base}/pipelines/web/board"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let audit = app.state.storage.audit_entries(50).await.unwrap();
    assert!(
        audit.iter().any(|e| e.action == "token_created")
            && audit.iter().any(|e| e.action == "token_revoked")
    );
}

#[tokio::test]
async fn the_api_accepts_bearer_tokens_only_and_answers_errors_in_json() {
    let (app, _repo, _out) = setup().await;
    let http = reqwest::Client::new();
    let res = http
        .get(app.url("/api/v1/pipelines/web/board"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["code"], "unauthenticated");
    assert!(err["message"].as_str().unwrap().contains("Bearer"));

    // A browser session is not enough for the API.
    let browser = app.logged_in("vera", &[Role::Viewer]).await.unwrap();
    let res = browser
        .get(app.url("/api/v1/pipelines/web/board"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let res = http
        .get(app.url("/api/v1/pipelines/web/board"))
        .header("authorization", "Bearer slw_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = http
        .get(app.url("/api/v1/nothing/here"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "not_found");
}

#[tokio::test]
async fn bad_input_gets_a_4xx_that_says_what_is_wrong() {
    let (app, _repo, _out) = setup().await;
    let browser = app
        .logged_in("quinn", &[Role::Qa, Role::Dev])
        .await
        .unwrap();
    let token = token_for(&app, &browser, "t").await;
    let (http, base, auth) = api(&app, &token);
    let post = |path: &str, body: &str| {
        http.post(format!("{base}{path}"))
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
    };
    let cases: Vec<(&str, &str, u16, &str)> = vec![
        ("/pipelines/web/ready", "{not json", 400, "bad_request"),
        (
            "/pipelines/web/ready",
            r#"{"note": "no sha"}"#,
            422,
            "bad_request",
        ),
        (
            "/pipelines/web/ready",
            r#"{"sha": "abc"}"#,
            400,
            "bad_request",
        ),
        (
            "/pipelines/nope/ready",
            r#"{"sha": "0123456789abcdef0123456789abcdef01234567"}"#,
            404,
            "not_found",
        ),
        (
            "/pipelines/web/ready",
            r#"{"sha": "0123456789abcdef0123456789abcdef01234567"}"#,
            409,
            "refused",
        ),
        (
            "/pipelines/web/stages/nope/promote",
            r#"{"sha": "0123456789abcdef0123456789abcdef01234567"}"#,
            404,
            "not_found",
        ),
        (
            "/pipelines/web/stages/qa/lock",
            r#"{"reason": ""}"#,
            400,
            "bad_request",
        ),
    ];
    for (path, body, status, code) in cases {
        let res = post(path, body).await.unwrap();
        let got = res.status().as_u16();
        let json: Value = res.json().await.unwrap_or(Value::Null);
        // axum answers a body that is JSON but lacks a field with 422; both are the caller's mistake.
        assert!(
            got == status || (status == 422 && got == 400),
            "{path} {body}: {got} {json}"
        );
        assert_eq!(json["code"], code, "{path} {body}: {json}");
        assert!(
            !json["message"].as_str().unwrap_or("").is_empty(),
            "{path}: a message says why"
        );
    }
    let res = post(
        "/pipelines/web/ready",
        r#"{"sha": "0123456789abcdef0123456789abcdef01234567"}"#,
    )
    .await
    .unwrap();
    let json: Value = res.json().await.unwrap();
    assert_eq!(json["gate"], "unknown_commit");
    // A refusal says what was refused, where: in its fields and in its message.
    assert_eq!(json["pipeline"], "web");
    assert_eq!(json["sha"], "0123456789abcdef0123456789abcdef01234567");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .starts_with("web, 0123456: unknown commit"),
        "{json}"
    );
}

#[tokio::test]
async fn malformed_ids_in_urls_and_queries_get_json_errors_that_say_what_a_valid_one_looks_like() {
    let (app, _repo, _out) = setup().await;
    let browser = app.logged_in("vera", &[Role::Viewer]).await.unwrap();
    let token = token_for(&app, &browser, "t").await;
    let (http, base, auth) = api(&app, &token);
    let cases: Vec<(&str, u16, &str, &str)> = vec![
        // An id that could not exist names nothing: 404, and the rule for a valid one.
        ("/pipelines/Web/board", 404, "not_found", "lowercase"),
        (
            "/pipelines/web/stages/QA/gates?sha=0123456789abcdef0123456789abcdef01234567",
            404,
            "not_found",
            "stage id \"QA\"",
        ),
        ("/deployments/abc", 404, "not_found", "numbers"),
        ("/deployments/abc/log", 404, "not_found", "numbers"),
        // A query that does not parse is the caller's mistake, in JSON like every other.
        ("/pipelines/web/stages/qa/gates", 400, "bad_request", "sha"),
        (
            "/pipelines/web/stages/qa/gates?sha=abc",
            400,
            "bad_request",
            "40 hexadecimal",
        ),
        ("/deployments/1/log?after=x", 400, "bad_request", "after"),
    ];
    for (path, status, code, says) in cases {
        let res = http
            .get(format!("{base}{path}"))
            .header("authorization", &auth)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), status, "{path}");
        let json: Value = res.json().await.expect("a JSON body");
        assert_eq!(json["code"], code, "{path}: {json}");
        let message = json["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(says),
            "{path}: {message:?} should mention {says:?}"
        );
    }
}

#[tokio::test]
async fn the_api_promotes_reports_gates_and_names_the_failing_gate() {
    let (app, mut repo, _out) = setup().await;
    let browser = app
        .logged_in("olga", &[Role::Ops, Role::Qa, Role::Dev])
        .await
        .unwrap();
    let token = token_for(&app, &browser, "ops").await;
    let (http, base, auth) = api(&app, &token);
    let older = repo.commit("older").unwrap();
    let newer = repo.commit("newer").unwrap();
    let go = |sha: String, stage: &'static str| {
        let (http, base, auth) = (http.clone(), base.clone(), auth.clone());
        async move {
            http.post(format!("{base}/pipelines/web/stages/{stage}/promote"))
                .header("authorization", auth)
                .json(&json!({"sha": sha}))
                .send()
                .await
                .unwrap()
        }
    };
    for sha in [&newer, &older] {
        http.post(format!("{base}/pipelines/web/ready"))
            .header("authorization", &auth)
            .json(&json!({"sha": sha}))
            .send()
            .await
            .unwrap();
        for stage in ["qa", "staging"] {
            let res = go(sha.clone(), stage).await;
            assert_eq!(res.status(), 201);
            let d: Value = res.json().await.unwrap();
            assert_eq!(d["sha"], sha.as_str());
            app.wait_for_end(DeploymentId(d["id"].as_i64().unwrap()))
                .await
                .unwrap();
        }
    }
    let res = go(newer.clone(), "production").await;
    let d: Value = res.json().await.unwrap();
    let id = DeploymentId(d["id"].as_i64().unwrap());
    app.wait_for_end(id).await.unwrap();
    let status: Value = http
        .get(format!("{base}/deployments/{id}"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["state"], "succeeded");
    let log: Value = http
        .get(format!("{base}/deployments/{id}/log"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(log["lines"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["line"].as_str().unwrap().starts_with("deploying")));

    let gates: Value = http
        .get(format!(
            "{base}/pipelines/web/stages/production/gates?sha={older}"
        ))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(gates["allowed"], false);
    let ancestry = gates["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["gate"] == "ancestry")
        .unwrap();
    assert_eq!(ancestry["status"], "fail");

    let res = go(older.clone(), "production").await;
    assert_eq!(res.status(), 409);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["gate"], "ancestry");
    assert_eq!(
        (&err["pipeline"], &err["stage"], &err["sha"]),
        (&json!("web"), &json!("production"), &json!(older))
    );
    // Both SHAs, and which case it is: older than production, not another branch.
    let message = err["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "web/production, {}: {} does not descend from Production's current SHA {}: it is older",
            &older[..7],
            &older[..7],
            &newer[..7]
        )),
        "{message}"
    );

    // A reader asking about a commit pushed after the last fetch: "unknown commit", and
    // no ancestry is remembered for it (git's "unknown object" used to be cached forever
    // as "does not descend", blocking the commit from production for good).
    let viewer = app.logged_in("vera", &[Role::Viewer]).await.unwrap();
    let (_, _, viewer_auth) = api(&app, &token_for(&app, &viewer, "v").await);
    let pushed = repo.commit("pushed after the last fetch").unwrap();
    let gates_of = |sha: String| {
        let (http, base, auth) = (http.clone(), base.clone(), viewer_auth.clone());
        async move {
            http.get(format!(
                "{base}/pipelines/web/stages/production/gates?sha={sha}"
            ))
            .header("authorization", auth)
            .send()
            .await
            .unwrap()
        }
    };
    let res = gates_of(pushed.clone()).await;
    assert_eq!(res.status(), 409);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["gate"], "unknown_commit", "{err}");
    let cached = format!("SELECT count(*) FROM ancestry_cache WHERE descendant = '{pushed}'");
    assert_eq!(app.sql_count(&cached).await.unwrap(), 0);
    app.state.repos.fetch("web").await.unwrap();
    let gates: Value = gates_of(pushed.clone()).await.json().await.unwrap();
    let ancestry = gates["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["gate"] == "ancestry")
        .unwrap();
    assert_eq!(ancestry["status"], "pass", "{gates}");
}

#[tokio::test]
async fn the_cli_marks_a_sha_ready_with_a_token_from_the_environment() {
    let (app, mut repo, _out) = setup().await;
    let browser = app.logged_in("ci", &[Role::Dev]).await.unwrap();
    let token = token_for(&app, &browser, "cli").await;
    let sha = repo.commit("Built by CI").unwrap();
    let bin = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("slipway");
    let run = |token: &str, sha: &str| {
        tokio::process::Command::new(&bin)
            .args([
                "ready",
                "--pipeline",
                "web",
                "--sha",
                sha,
                "--note",
                "pipeline #7",
                "--url",
                &app.base,
            ])
            .env("SLIPWAY_TOKEN", token)
            .output()
    };
    let out = run(&token, &sha).await.unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.trim(), format!("marked ready: {sha} on web"));
    let marks = app
        .state
        .storage
        .ready_marks(&slipway_model::PipelineId::parse("web").unwrap(), &[], 10)
        .await
        .unwrap();
    assert_eq!(marks[0].sha.as_str(), sha);
    assert_eq!(marks[0].note.as_deref(), Some("pipeline #7"));

    let out = run(
        "slw_wrongwrongwrongwrongwrongwrongwrongwrong",
        "0123456789abcdef0123456789abcdef01234567",
    )
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("401") && stderr.contains("invalid or revoked API token"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_api_and_health_checks_run_without_sessions_and_a_session_cookie_does_not_authenticate_the_api(
) {
    let (app, _repo, _out) = setup().await;
    let browser = app.logged_in("dana", &[Role::Dev]).await.unwrap();
    let token = token_for(&app, &browser, "CI").await;
    let (http, base, auth) = api(&app, &token);

    // A bearer call and the health checks are answered without any session cookie.
    let res = http
        .get(format!("{base}/pipelines/web/board"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("set-cookie").is_none(), "{res:?}");
    for path in ["/healthz", "/readyz"] {
        let res = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert!(res.headers().get("set-cookie").is_none(), "{path}: {res:?}");
    }

    // The browser's session is no credential for the API: only a token is.
    let res = browser
        .get(format!("{base}/pipelines/web/board"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "unauthenticated");
}

#[tokio::test]
async fn a_chatty_deploy_stores_its_output_up_to_the_cap_and_the_log_is_read_in_pages() {
    let mut repo = TestRepo::new().unwrap();
    let out = tempfile::tempdir().unwrap();
    // 2,100 short lines, then 300 of 300 bytes: past the 64 KiB cap.
    let script = r#"i=0; while [ $i -lt 2100 ]; do echo "short $i"; i=$((i+1)); done; long=$(printf '%0290d' 0); i=0; while [ $i -lt 300 ]; do echo "long $i $long"; i=$((i+1)); done"#;
    let config = deploying_pipeline(repo.path(), out.path(), script, "").replace(
        "timeout_seconds = 60\n",
        "timeout_seconds = 60\nmax_log_bytes = 65536\n",
    );
    let app = spawn_app(&config).await.unwrap();
    let browser = app
        .logged_in("olga", &[Role::Ops, Role::Qa, Role::Dev])
        .await
        .unwrap();
    let token = token_for(&app, &browser, "t").await;
    let (http, base, auth) = api(&app, &token);
    let sha = repo.commit("Chatty").unwrap();
    app.post_form(&browser, "/pipelines/web/ready", &[("sha", &sha)])
        .await
        .unwrap();
    let id = app.promote(&browser, &sha, "qa").await.unwrap().unwrap();
    assert_eq!(
        app.wait_for_end(id).await.unwrap().state,
        slipway_model::deployment::DeploymentState::Succeeded,
        "the deployer ran on past the cap"
    );
    let page = |query: &str| {
        let (http, auth) = (http.clone(), auth.clone());
        let url = format!("{base}/deployments/{id}/log?{query}");
        async move {
            http.get(url)
                .header("authorization", auth)
                .send()
                .await
                .unwrap()
        }
    };

    // Stored: every short line, the long ones up to 64 KiB, a marker and a count.
    let first: Value = page("after=0&limit=10").await.json().await.unwrap();
    let total = first["total_lines"].as_i64().unwrap();
    assert!((2100..2400).contains(&total), "{total} lines stored");
    assert_eq!(first["lines"].as_array().unwrap().len(), 10);
    assert_eq!(first["next_after"], 10);
    let second: Value = page("after=10&limit=10").await.json().await.unwrap();
    assert_eq!(second["lines"][0]["seq"], 11);
    assert_eq!(second["lines"][0]["line"], "short 10");
    let last: Value = page(&format!("after={}&limit=10", total - 3))
        .await
        .json()
        .await
        .unwrap();
    assert!(last["next_after"].is_null(), "the last page says so");
    let tail: Vec<&str> = last["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line"].as_str().unwrap())
        .collect();
    assert!(
        tail.iter()
            .any(|l| l.contains("line(s) of output") && l.contains("were not stored")),
        "{tail:?}"
    );
    let all: Value = page(&format!("after=0&limit={total}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(all["lines"].as_array().unwrap().iter().any(|l| l["line"]
        .as_str()
        .unwrap()
        .starts_with("output beyond 64 KiB is not stored")));
    assert_eq!(page("limit=0").await.status(), 400);

    // The page shows the end of the log and says where the rest is.
    let (_, html) = app
        .get_text(&browser, &format!("/deployments/{id}"))
        .await
        .unwrap();
    assert!(
        html.contains(&format!("Showing the last 2000 of {total} lines")),
        "the page says it is partial"
    );
    assert!(
        !html.contains(">short 0<"),
        "the first lines are not on the page"
    );
}
