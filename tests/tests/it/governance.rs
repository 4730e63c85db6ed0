//! Production governance over HTTP: sign-offs (forms, API, card, history, audit) and
//! checklists, on a real server with real deploys.

use serde_json::{json, Value};
use slipway_model::{DeploymentId, Role};
use slipway_tests::app::{flash, location, pipeline_config, spawn_app, TestApp};
use slipway_tests::git::TestRepo;

/// `pipeline_config`, with `keys` added to the stage labelled `label`.
fn with_stage_keys(repo: &TestRepo, label: &str, keys: &str) -> String {
    let anchor = format!("label = \"{label}\"\n");
    let config = pipeline_config(repo.path()).replacen(&anchor, &format!("{anchor}{keys}\n"), 1);
    assert!(config.contains(keys), "the stage {label} exists");
    config
}

/// A bearer client for `client`'s user: the API base and the header value.
async fn bearer(app: &TestApp, client: &reqwest::Client) -> (reqwest::Client, String, String) {
    let token = app.create_token(client, "governance test").await.unwrap();
    (
        reqwest::Client::new(),
        format!("{}/api/v1", app.base),
        format!("Bearer {token}"),
    )
}

async fn ready_and_deploy(
    app: &TestApp,
    dev: &reqwest::Client,
    qa: &reqwest::Client,
    sha: &str,
) -> DeploymentId {
    let res = app
        .post_form(dev, "/pipelines/web/ready", &[("sha", sha)])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let id = app.promote(qa, sha, "qa").await.unwrap().expect("into QA");
    let d = app.wait_for_end(id).await.unwrap();
    assert_eq!(d.state.as_str(), "succeeded");
    id
}

async fn staging_gate(api: &(reqwest::Client, String, String), sha: &str) -> Value {
    let (http, base, auth) = api;
    let res = http
        .get(format!(
            "{base}/pipelines/web/stages/staging/gates?sha={sha}"
        ))
        .header("authorization", auth)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["gate"] == "signed_off")
        .cloned()
        .expect("the signed_off gate is listed")
}

#[tokio::test]
async fn a_stage_that_asks_for_a_sign_off_holds_the_next_one_until_qa_signs_and_again_after_a_withdrawal(
) {
    let mut repo = TestRepo::new().unwrap();
    let sha = repo.commit("Checkout v2").unwrap();
    let app = spawn_app(&with_stage_keys(
        &repo,
        "QA",
        "sign_off = { roles = [\"qa\"] }",
    ))
    .await
    .unwrap();
    let dev = app.logged_in("dana", &[Role::Dev]).await.unwrap();
    let qa = app.logged_in("quinn", &[Role::Qa]).await.unwrap();
    let api = bearer(&app, &qa).await;
    ready_and_deploy(&app, &dev, &qa, &sha).await;

    // Refused, naming the stage and who may sign; the card says so and offers the form.
    let refused = app
        .promote(&qa, &sha, "staging")
        .await
        .unwrap()
        .unwrap_err();
    let short = &sha[..7];
    assert_eq!(
        refused,
        format!("{short} is not signed off on QA; qa may sign it off there")
    );
    let gate = staging_gate(&api, &sha).await;
    assert_eq!(gate["status"], "fail", "{gate}");
    let (_, board) = app.get_text(&qa, "/pipelines/web").await.unwrap();
    assert!(board.contains("Awaiting sign-off on QA by qa"), "{board}");
    assert!(board.contains(&format!("aria-label=\"Sign off {short} on QA\"")));
    let (_, dev_board) = app.get_text(&dev, "/pipelines/web").await.unwrap();
    assert!(!dev_board.contains("Sign off "), "no form for a developer");

    // A developer may not sign off, whatever the page shows; the refusal is audited.
    let res = app
        .post_form(
            &dev,
            "/pipelines/web/stages/qa/signoff",
            &[("sha", sha.as_str())],
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // Nobody signs off on a stage that asks for none.
    let (http, base, auth) = &api;
    let res = http
        .post(format!("{base}/pipelines/web/stages/staging/signoff"))
        .header("authorization", auth)
        .json(&json!({ "sha": sha }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // QA signs off through the card's form, with a note.
    let res = app
        .post_form(
            &qa,
            "/pipelines/web/stages/qa/signoff",
            &[("sha", sha.as_str()), ("note", "checkout tested on iOS")],
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (_, board) = app.get_text(&qa, &location(&res)).await.unwrap();
    assert_eq!(
        flash(&board).as_deref(),
        Some(&*format!("Signed off {short} on qa"))
    );
    assert!(
        board.contains("Signed off on QA by quinn just now: checkout tested on iOS"),
        "{board}"
    );
    let gate = staging_gate(&api, &sha).await;
    assert_eq!(gate["status"], "pass");
    assert_eq!(gate["reason"], "signed off on QA by quinn");
    // Twice is refused with the reason.
    let res = http
        .post(format!("{base}/pipelines/web/stages/qa/signoff"))
        .header("authorization", auth)
        .json(&json!({ "sha": sha }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("already signed off on QA by quinn"),
        "{body}"
    );

    // Withdrawn through the API (a reason is required): the gate fails again.
    let withdraw = |reason: &'static str| {
        http.delete(format!("{base}/pipelines/web/stages/qa/signoff/{sha}"))
            .header("authorization", auth)
            .json(&json!({ "reason": reason }))
            .send()
    };
    assert_eq!(withdraw(" ").await.unwrap().status(), 400);
    let res = withdraw("payment page broken on Android").await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["state"], "withdrawn");
    assert_eq!(body["ended_by"], "quinn");
    assert_eq!(staging_gate(&api, &sha).await["status"], "fail");
    assert!(app.promote(&qa, &sha, "staging").await.unwrap().is_err());

    // Signed off again through the API; now it moves on, and can no longer be withdrawn.
    let res = http
        .post(format!("{base}/pipelines/web/stages/qa/signoff"))
        .header("authorization", auth)
        .json(&json!({ "sha": sha, "note": "fixed by config" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (body["state"].as_str(), body["by"].as_str()),
        (Some("in_force"), Some("quinn"))
    );
    let id = app
        .promote(&qa, &sha, "staging")
        .await
        .unwrap()
        .expect("into staging");
    app.wait_for_end(id).await.unwrap();
    let res = withdraw("too late").await.unwrap();
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("has already moved on to Staging"),
        "{body}"
    );

    // The stage's history lists both sign-offs; the audit log holds every attempt.
    let (_, history) = app.get_text(&qa, "/pipelines/web/stages/qa").await.unwrap();
    assert!(
        history.contains("withdrawn by quinn: payment page broken on Android"),
        "{history}"
    );
    assert!(history.contains("signed off by quinn just now: fixed by config"));
    let count = |q: &'static str| app.sql_count(q);
    assert_eq!(
        count("SELECT COUNT(*) FROM audit_log WHERE action = 'sign_off' AND outcome = 'ok'")
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM audit_log WHERE action = 'sign_off' AND outcome = 'refused'")
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'withdraw_sign_off' AND outcome = 'ok'"
        )
        .await
        .unwrap(),
        1
    );
    assert_eq!(count("SELECT COUNT(*) FROM audit_log WHERE action = 'withdraw_sign_off' AND outcome = 'refused'").await.unwrap(), 2);
}

#[tokio::test]
async fn a_rollback_voids_the_sign_off_of_the_sha_it_takes_off_the_stage() {
    let mut repo = TestRepo::new().unwrap();
    let a = repo.commit("A").unwrap();
    let b = repo.commit("B").unwrap();
    let app = spawn_app(&with_stage_keys(
        &repo,
        "QA",
        "sign_off = { roles = [\"qa\"] }",
    ))
    .await
    .unwrap();
    let dev = app.logged_in("dana", &[Role::Dev]).await.unwrap();
    let qa = app.logged_in("quinn", &[Role::Qa]).await.unwrap();
    let ops = app.logged_in("olga", &[Role::Ops]).await.unwrap();
    let api = bearer(&app, &qa).await;
    ready_and_deploy(&app, &dev, &qa, &a).await;
    ready_and_deploy(&app, &dev, &qa, &b).await;
    let res = app
        .post_form(
            &qa,
            "/pipelines/web/stages/qa/signoff",
            &[("sha", b.as_str())],
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(staging_gate(&api, &b).await["status"], "pass");

    let res = app
        .post_form(
            &ops,
            "/pipelines/web/stages/qa/rollback",
            &[("reason", "B breaks search")],
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let id: DeploymentId = location(&res)
        .strip_prefix("/deployments/")
        .expect("to the rollback's page")
        .parse()
        .unwrap();
    app.wait_for_end(id).await.unwrap();
    let gate = staging_gate(&api, &b).await;
    assert_eq!(gate["status"], "fail", "{gate}");
    let (_, history) = app.get_text(&qa, "/pipelines/web/stages/qa").await.unwrap();
    assert!(
        history.contains(&format!("voided: rolled back by deployment #{id}")),
        "{history}"
    );
}

#[tokio::test]
async fn a_checklist_must_be_confirmed_item_by_item_and_is_kept_with_the_deployment() {
    let mut repo = TestRepo::new().unwrap();
    let sha = repo.commit("Migrate orders").unwrap();
    let app = spawn_app(&with_stage_keys(
        &repo,
        "QA",
        "checklist = [\"Backup taken\", \"Release notes posted\"]",
    ))
    .await
    .unwrap();
    let dev = app.logged_in("dana", &[Role::Dev]).await.unwrap();
    let qa = app.logged_in("quinn", &[Role::Qa]).await.unwrap();
    let res = app
        .post_form(&dev, "/pipelines/web/ready", &[("sha", sha.as_str())])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (_, board) = app.get_text(&qa, "/pipelines/web").await.unwrap();
    assert!(
        board.contains("name=\"checklist\" value=\"Backup taken\""),
        "{board}"
    );

    // The API without the checklist: refused, naming what is missing.
    let (http, base, auth) = bearer(&app, &qa).await;
    let promote = |body: Value| {
        http.post(format!("{base}/pipelines/web/stages/qa/promote"))
            .header("authorization", &auth)
            .json(&body)
            .send()
    };
    let res = promote(json!({ "sha": sha })).await.unwrap();
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["gate"], "checklist");
    assert!(
        body["message"].as_str().unwrap().ends_with(
            "confirm every item of QA's checklist before promoting; not confirmed: \"Backup taken\", \"Release notes posted\""
        ),
        "{body}"
    );
    let res = promote(json!({ "sha": sha, "checklist": ["Backup taken", "Coffee made"] }))
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("has no item \"Coffee made\""),
        "{body}"
    );

    // The form with one box ticked: refused on the board.
    let res = app
        .post_form(
            &qa,
            "/pipelines/web/promote",
            &[
                ("sha", sha.as_str()),
                ("stage", "qa"),
                ("checklist", "Backup taken"),
            ],
        )
        .await
        .unwrap();
    let (_, board) = app.get_text(&qa, &location(&res)).await.unwrap();
    assert_eq!(
        flash(&board).as_deref(),
        Some("confirm every item of QA's checklist before promoting; not confirmed: \"Release notes posted\"")
    );
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM deployments")
            .await
            .unwrap(),
        0
    );

    // Both ticked (repeated fields, as a browser sends checkboxes): it deploys, and the
    // deployment keeps what was confirmed.
    let res = app
        .post_form(
            &qa,
            "/pipelines/web/promote",
            &[
                ("sha", sha.as_str()),
                ("stage", "qa"),
                ("checklist", "Release notes posted"),
                ("checklist", "Backup taken"),
            ],
        )
        .await
        .unwrap();
    let page = location(&res);
    let id: DeploymentId = page
        .strip_prefix("/deployments/")
        .expect("started")
        .parse()
        .unwrap();
    let d = app.wait_for_end(id).await.unwrap();
    assert_eq!(
        d.checklist,
        Some(vec![
            "Backup taken".to_owned(),
            "Release notes posted".to_owned()
        ])
    );
    let (_, html) = app.get_text(&qa, &page).await.unwrap();
    assert!(
        html.contains("Backup taken; Release notes posted"),
        "{html}"
    );
    let (_, history) = app.get_text(&qa, "/pipelines/web/stages/qa").await.unwrap();
    assert!(history.contains("confirmed: Backup taken; Release notes posted"));
    let res = http
        .get(format!("{base}/deployments/{id}"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["checklist"],
        json!(["Backup taken", "Release notes posted"])
    );
}
