//! The calendar page: this week and the next, per stage, with windows, freezes, approved
//! slots and deployments, today marked, and the freeze form for ops.

use slipway_model::Role;
use slipway_tests::app::{flash, location, pipeline_config, spawn_app};
use slipway_tests::git::TestRepo;
use time::OffsetDateTime;

#[tokio::test]
async fn the_calendar_shows_windows_freezes_slots_and_deployments_per_stage_and_ops_declare_freezes_there(
) {
    let mut repo = TestRepo::new().unwrap();
    let a = repo.commit("A").unwrap();
    let b = repo.commit("B").unwrap();
    let now = OffsetDateTime::now_utc();
    // A window today (UTC) but not now, so today's QA cell shows it and QA is closed;
    // approvals on production.
    let hour = if now.hour() >= 22 {
        now.hour() - 2
    } else {
        now.hour() + 1
    };
    let config = pipeline_config(repo.path())
        .replacen(
            "label = \"QA\"\n",
            &format!("label = \"QA\"\nwindows = [{{ days = \"daily\", from = \"{hour:02}:00\", to = \"{:02}:00\", time_zone = \"UTC\" }}]\n", hour + 1),
            1,
        )
        .replacen(
            "label = \"Production\"\n",
            "label = \"Production\"\npromote_roles = [\"qa\", \"ops\"]\napproval = { roles = [\"ops\"] }\n",
            1,
        );
    let app = spawn_app(&config).await.unwrap();
    let dev = app.logged_in("dana", &[Role::Dev]).await.unwrap();
    let qa = app.logged_in("quinn", &[Role::Qa]).await.unwrap();
    let ops = app.logged_in("olga", &[Role::Ops]).await.unwrap();
    for sha in [&a, &b] {
        let res = app
            .post_form(&dev, "/pipelines/web/ready", &[("sha", sha.as_str())])
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
    }
    // A deployment today, through an emergency override of QA's closed window.
    let res = app
        .post_form(
            &ops,
            "/pipelines/web/promote",
            &[
                ("sha", a.as_str()),
                ("stage", "qa"),
                ("emergency_reason", "calendar test"),
            ],
        )
        .await
        .unwrap();
    let id: slipway_model::DeploymentId = location(&res)
        .strip_prefix("/deployments/")
        .unwrap()
        .parse()
        .unwrap();
    app.wait_for_end(id).await.unwrap();

    // Ops declare a freeze on the calendar page and come back to it.
    let (_, page) = app.get_text(&ops, "/pipelines/web/calendar").await.unwrap();
    assert!(
        page.contains("name=\"from_page\" value=\"calendar\""),
        "{page}"
    );
    let res = app
        .post_form(
            &ops,
            "/pipelines/web/freezes",
            &[
                ("reason", "Labs"),
                ("hours", "2"),
                ("stages", "staging"),
                ("from_page", "calendar"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(location(&res), "/pipelines/web/calendar");
    let (_, page) = app.get_text(&ops, &location(&res)).await.unwrap();
    assert!(flash(&page).unwrap_or_default().contains("declared: Labs"));

    // An approved slot on production.
    let request: i64 = {
        let token = app.create_token(&qa, "calendar").await.unwrap();
        let res = reqwest::Client::new()
            .post(app.url("/api/v1/pipelines/web/stages/production/requests"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "sha": b }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        res.json::<serde_json::Value>().await.unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let res = app
        .post_form(&ops, &format!("/requests/{request}/approve"), &[])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);

    let (status, page) = app.get_text(&qa, "/pipelines/web/calendar").await.unwrap();
    assert_eq!(status, 200);
    for expected in [
        "Now: ",
        "(times in UTC)",
        "This week",
        "Next week",
        "class=\"today\"",
        &format!("open {hour:02}:00–{:02}:00", hour + 1),
        " Labs</p>",
        &format!(" {} approved by olga", &b[..7]),
        &format!("#{id} "),
        &format!(" {} succeeded", &a[..7]),
    ] {
        assert!(
            page.contains(expected),
            "{expected:?} is not on the calendar:\n{page}"
        );
    }
    assert!(
        !page.contains("name=\"from_page\""),
        "QA cannot declare freezes"
    );
    assert_eq!(
        app.get_text(&qa, "/pipelines/nope/calendar")
            .await
            .unwrap()
            .0,
        404
    );
}
