//! Insights: the four DORA keys of a pipeline's production stage, computed from what
//! the real server deployed, through the API.

use serde_json::Value;
use slipway_model::Role;
use slipway_tests::api::ApiClient as Api;
use slipway_tests::app::{deploying_pipeline, poll_until, spawn_app, TestApp};
use slipway_tests::git::TestRepo;
use std::time::Duration;

/// Deploys like every stage, but fails in production while `$OUT/fail-<SHA>` exists.
const FAIL_ON_MARK: &str = r#"if [ "$SLIPWAY_STAGE" = production ] && [ -f "$OUT/fail-$SLIPWAY_SHA" ]; then echo "broken"; exit 1; fi; echo "deployed $SLIPWAY_SHA""#;

async fn listed(app: &TestApp, api: &Api, olga: &reqwest::Client, sha: &str) {
    app.post_form(olga, "/pipelines/web/refresh", &[])
        .await
        .unwrap();
    poll_until(
        "the board to list the commit",
        Duration::from_secs(15),
        || async {
            Ok(api
                .get("/pipelines/web/board")
                .await
                .to_string()
                .contains(sha)
                .then_some(()))
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn insights_count_production_deploys_failures_and_restores_and_refuse_other_windows() {
    let mut repo = TestRepo::new().unwrap();
    let out = tempfile::tempdir().unwrap();
    let a = repo.commit("A").unwrap();
    let app = spawn_app(&deploying_pipeline(
        repo.path(),
        out.path(),
        FAIL_ON_MARK,
        "",
    ))
    .await
    .unwrap();
    let olga = app
        .logged_in("olga", &[Role::Dev, Role::Qa, Role::Ops])
        .await
        .unwrap();
    let api = Api::of(&app, &olga).await;
    listed(&app, &api, &olga, &a).await;
    app.deployed_first(&olga, &a, "qa").await.unwrap();
    app.deployed(&olga, &a, "staging").await.unwrap();
    app.deployed(&olga, &a, "production").await.unwrap();

    let b = repo.commit("B").unwrap();
    listed(&app, &api, &olga, &b).await;
    app.deployed_first(&olga, &b, "qa").await.unwrap();
    app.deployed(&olga, &b, "staging").await.unwrap();
    std::fs::write(out.path().join(format!("fail-{b}")), "").unwrap();
    let failed = app.promote(&olga, &b, "production").await.unwrap().unwrap();
    assert_eq!(
        app.wait_for_end(failed).await.unwrap().state.as_str(),
        "failed"
    );
    std::fs::remove_file(out.path().join(format!("fail-{b}"))).unwrap();
    app.deployed(&olga, &b, "production").await.unwrap();

    // A viewer reads them too.
    let vera = app.logged_in("vera", &[Role::Viewer]).await.unwrap();
    let viewer = Api::of(&app, &vera).await;
    let week = viewer.get("/pipelines/web/insights?days=7").await;
    assert_eq!(week["days"], 7);
    let stages = week["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 1, "production only: {week}");
    let prod = &stages[0];
    assert_eq!(prod["stage"], "production");
    assert_eq!(prod["deployments"], 2, "{prod}");
    assert_eq!(
        (&prod["changes"], &prod["failed_changes"]),
        (&Value::from(3), &Value::from(1))
    );
    let rate = prod["change_failure_rate"].as_f64().unwrap();
    assert!((rate - 1.0 / 3.0).abs() < 1e-9, "{rate}");
    assert_eq!(prod["restored"], 1);
    for key in [
        "time_to_restore_seconds",
        "lead_time_from_commit_seconds",
        "lead_time_from_ready_seconds",
    ] {
        assert!(prod[key].as_i64().is_some_and(|s| s >= 0), "{key}: {prod}");
    }
    let daily = prod["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 7);
    let sum = |key: &str| daily.iter().map(|d| d[key].as_u64().unwrap()).sum::<u64>();
    assert_eq!((sum("deployments"), sum("failures")), (2, 1), "{daily:?}");
    assert_eq!(
        api.get("/pipelines/web/insights").await["days"],
        30,
        "30 days by default"
    );

    // The page draws the same keys, without script: text and an SVG chart per stage.
    let (status, page) = app
        .get_text(&vera, "/pipelines/web/insights?days=7")
        .await
        .unwrap();
    assert_eq!(status, 200);
    let section = &page[page
        .find(r#"data-testid="insights-production""#)
        .expect(&page)..];
    for text in [
        "2 deployments in 7 days",
        "33 % (1 of 3 changes failed or were rolled back)",
        "(median of 1 restored)",
        r#"data-testid="daily-chart""#,
        "Production: 2 deployments and 1 failure over 7 days",
    ] {
        assert!(section.contains(text), "{text:?} in {section}");
    }
    assert!(page.contains(r#"aria-current="page">7 days"#), "{page}");
    let (_, refused) = app
        .get_text(&vera, "/pipelines/web/insights?days=5")
        .await
        .unwrap();
    assert!(
        refused.contains("days must be one of [7, 30, 90], not 5"),
        "{refused}"
    );

    let res = viewer
        .get_request("/pipelines/web/insights?days=5")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let err: Value = res.json().await.unwrap();
    assert!(
        err["message"].as_str().unwrap().contains("7, 30, 90"),
        "{err}"
    );
    let res = viewer
        .get_request("/pipelines/nope/insights")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}
