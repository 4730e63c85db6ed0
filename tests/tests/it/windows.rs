//! Deploy windows, freezes and emergency overrides over HTTP. Windows are set relative
//! to the real clock (the server under test reads the system's), hours away from now so
//! that the test cannot straddle an edge.

use serde_json::{json, Value};
use slipway_model::{DeploymentId, Role};
use slipway_tests::api::ApiClient as Api;
use slipway_tests::app::{flash, location, pipeline_config, spawn_app, TestApp};
use slipway_tests::git::TestRepo;
use time::OffsetDateTime;

/// `pipeline_config` with `keys` added to the stage labelled `label`, then `extra`.
fn config(repo: &TestRepo, label: &str, keys: &str, extra: &str) -> String {
    let anchor = format!("label = \"{label}\"\n");
    let text = pipeline_config(repo.path()).replacen(&anchor, &format!("{anchor}{keys}\n"), 1);
    assert!(text.contains(keys));
    format!("{text}\n{extra}")
}

/// A daily UTC window that opens `from` hours from now and lasts an hour.
fn window_in(hours: i64) -> String {
    let hour = (OffsetDateTime::now_utc().hour() as i64 + hours).rem_euclid(24);
    format!(
        "windows = [{{ days = \"daily\", from = \"{hour:02}:00\", to = \"{:02}:00\", time_zone = \"UTC\" }}]",
        (hour + 1) % 24
    )
}

async fn mark_ready(app: &TestApp, dev: &reqwest::Client, sha: &str) {
    let res = app
        .post_form(dev, "/pipelines/web/ready", &[("sha", sha)])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn a_closed_window_holds_a_stage_until_ops_override_it_with_a_reason_and_the_board_says_so() {
    let mut repo = TestRepo::new().unwrap();
    let sha = repo.commit("Hotfix the payment page").unwrap();
    let app = spawn_app(&config(&repo, "QA", &window_in(3), ""))
        .await
        .unwrap();
    let dev = app.logged_in("dana", &[Role::Dev]).await.unwrap();
    let qa = app.logged_in("quinn", &[Role::Qa]).await.unwrap();
    let ops = app.logged_in("olga", &[Role::Ops]).await.unwrap();
    let (qa_api, ops_api) = (Api::of(&app, &qa).await, Api::of(&app, &ops).await);
    mark_ready(&app, &dev, &sha).await;

    // Refused on the board with when it opens; the column says it is closed.
    let refused = app.promote(&qa, &sha, "qa").await.unwrap().unwrap_err();
    assert!(
        refused.starts_with("QA's deploy window is closed; it opens "),
        "{refused}"
    );
    assert!(refused.ends_with(":00 UTC"), "{refused}");
    let gate = qa_api.gate("qa", &sha, "window").await;
    assert_eq!(gate["status"], "fail", "{gate}");
    let (_, board) = app.get_text(&ops, "/pipelines/web").await.unwrap();
    assert!(board.contains("Deploy window closed; opens "), "{board}");
    assert!(
        board.contains("Deploy window open (no deploy windows)"),
        "production always says whether it is open: {board}"
    );
    assert!(
        board.contains("Emergency override…"),
        "ops are offered the override"
    );
    let (_, qa_board) = app.get_text(&qa, "/pipelines/web").await.unwrap();
    assert!(
        !qa_board.contains("Emergency override…"),
        "QA may not override"
    );

    // QA may not override; ops must say why.
    let promote = |reason: &'static str| json!({ "sha": sha, "override_reason": reason });
    let (status, body) = qa_api
        .post("/pipelines/web/stages/qa/promote", promote("release"))
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = ops_api
        .post("/pipelines/web/stages/qa/promote", promote("  "))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("needs a reason"));
    // Nothing to override on a stage without windows or freezes.
    let (status, body) = ops_api
        .post("/pipelines/web/stages/staging/promote", promote("why not"))
        .await;
    assert_eq!(status, 409, "{body}");

    let (status, body) = ops_api
        .post(
            "/pipelines/web/stages/qa/promote",
            promote("payments down for every customer"),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["override_reason"], "payments down for every customer");
    let id: DeploymentId = serde_json::from_value(body["id"].clone()).unwrap();
    app.wait_for_end(id).await.unwrap();
    let (_, board) = app.get_text(&qa, "/pipelines/web").await.unwrap();
    assert!(
        board.contains(&format!(
            " on QA: deployment #{id} by olga just now: payments down for every customer."
        )),
        "{board}"
    );
    assert_eq!(
        app.sql_count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'emergency_promote' AND outcome = 'ok' \
             AND detail = 'payments down for every customer'"
        )
        .await
        .unwrap(),
        1
    );
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM audit_log WHERE action = 'emergency_promote' AND outcome = 'refused'")
            .await
            .unwrap(),
        3
    );
}

#[tokio::test]
async fn a_freeze_closes_its_stages_until_ops_end_it_and_a_regular_deploy_clears_the_override_banner(
) {
    let mut repo = TestRepo::new().unwrap();
    let a = repo.commit("A").unwrap();
    let b = repo.commit("B").unwrap();
    // The config freezes production for the next day.
    let now = OffsetDateTime::now_utc();
    let fmt = |t: OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let declared = format!(
        "[[pipelines.freezes]]\nfrom = \"{}\"\nuntil = \"{}\"\nreason = \"Year-end change freeze\"\nstages = [\"production\"]\n",
        fmt(now - time::Duration::hours(1)),
        fmt(now + time::Duration::days(1)),
    );
    let app = spawn_app(&config(&repo, "QA", "", &declared))
        .await
        .unwrap();
    let dev = app.logged_in("dana", &[Role::Dev]).await.unwrap();
    let qa = app.logged_in("quinn", &[Role::Qa]).await.unwrap();
    let ops = app.logged_in("olga", &[Role::Ops]).await.unwrap();
    let (dev_api, ops_api) = (Api::of(&app, &dev).await, Api::of(&app, &ops).await);
    mark_ready(&app, &dev, &a).await;
    mark_ready(&app, &dev, &b).await;

    // The config's freeze holds production.
    let gate = ops_api.gate("production", &a, "no_freeze").await;
    assert_eq!(gate["status"], "fail");
    assert!(
        gate["reason"]
            .as_str()
            .unwrap()
            .ends_with(": Year-end change freeze"),
        "{gate}"
    );

    // Only ops declare; times and stages are checked.
    let until = fmt(now + time::Duration::hours(2));
    let freeze = |until: &str, stages: Value| json!({ "until": until, "reason": "labs until 19:00", "stages": stages });
    let (status, _) = dev_api
        .post("/pipelines/web/freezes", freeze(&until, json!(["qa"])))
        .await;
    assert_eq!(status, 403);
    let (status, body) = ops_api
        .post(
            "/pipelines/web/freezes",
            freeze(&fmt(now - time::Duration::hours(1)), json!(["qa"])),
        )
        .await;
    assert_eq!(
        (
            status,
            body["message"]
                .as_str()
                .unwrap()
                .contains("already be over")
        ),
        (400, true),
        "{body}"
    );
    let (status, body) = ops_api
        .post(
            "/pipelines/web/freezes",
            freeze(&until, json!(["qa", "moon"])),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("no stage \"moon\""),
        "{body}"
    );
    let (status, body) = ops_api
        .post("/pipelines/web/freezes", freeze("tomorrow", json!([])))
        .await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("RFC 3339"),
        "{body}"
    );
    let (status, body) = ops_api
        .post("/pipelines/web/freezes", freeze(&until, json!(["qa"])))
        .await;
    assert_eq!(status, 201, "{body}");
    let freeze_id = body["id"].as_i64().unwrap();

    let listed = ops_api.get("/pipelines/web/freezes").await;
    let reasons: Vec<&str> = listed["freezes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["Year-end change freeze", "labs until 19:00"]);
    assert!(
        listed["freezes"][0]["id"].is_null(),
        "the config's has no id"
    );

    // QA is frozen now: the refusal names the freeze.
    let refused = app.promote(&qa, &a, "qa").await.unwrap().unwrap_err();
    assert!(refused.starts_with("frozen until "), "{refused}");
    assert!(refused.ends_with(": labs until 19:00"), "{refused}");
    let (_, board) = app.get_text(&qa, "/pipelines/web").await.unwrap();
    assert!(board.contains("Frozen: frozen until "), "{board}");

    // Ops override through the card's form, then end the freeze on the board.
    let res = app
        .post_form(
            &ops,
            "/pipelines/web/promote",
            &[
                ("sha", a.as_str()),
                ("stage", "qa"),
                ("emergency_reason", "security fix"),
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
    app.wait_for_end(id).await.unwrap();
    let (_, board) = app.get_text(&qa, "/pipelines/web").await.unwrap();
    assert!(board.contains("Emergency override"), "{board}");
    let res = app
        .post_form(&ops, &format!("/freezes/{freeze_id}/end"), &[])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (_, board) = app.get_text(&ops, &location(&res)).await.unwrap();
    assert_eq!(
        flash(&board).as_deref(),
        Some(&*format!("Freeze #{freeze_id} ended"))
    );
    let res = app
        .post_form(&ops, &format!("/freezes/{freeze_id}/end"), &[])
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "ended once");

    // A regular deploy takes the banner down.
    let id = app
        .promote(&qa, &b, "qa")
        .await
        .unwrap()
        .expect("QA is open again");
    app.wait_for_end(id).await.unwrap();
    let (_, board) = app.get_text(&qa, "/pipelines/web").await.unwrap();
    assert!(!board.contains("data-testid=\"emergency\""), "{board}");
    for action in ["freeze_created", "freeze_ended"] {
        let n = app
            .sql_count(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE action = '{action}' AND outcome = 'ok'"
            ))
            .await
            .unwrap();
        assert_eq!(n, 1, "{action}");
    }
}

/// Serves `body` as `text/calendar` to every request on a loopback port; returns the URL.
async fn serve_calendar(body: String) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/team.ics", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/calendar\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(body.as_bytes()).await;
            });
        }
    });
    url
}

#[tokio::test]
async fn a_recurring_event_of_an_ics_feed_served_on_loopback_freezes_its_stage() {
    let mut repo = TestRepo::new().unwrap();
    let sha = repo.commit("A").unwrap();
    // Yesterday an hour either side of now, every day: today's occurrence covers now.
    let yesterday = OffsetDateTime::now_utc() - time::Duration::days(1);
    let stamp = |t: OffsetDateTime| {
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    };
    let feed = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//slipway tests//EN\r\nBEGIN:VEVENT\r\nUID:standdown@test\r\nDTSTAMP:{}\r\nSUMMARY:Daily stand-down\r\nDTSTART:{}\r\nDTEND:{}\r\nRRULE:FREQ=DAILY;COUNT=3\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        stamp(yesterday),
        stamp(yesterday - time::Duration::hours(1)),
        stamp(yesterday + time::Duration::hours(1)),
    );
    let url = serve_calendar(feed).await;
    let calendars = format!(
        "[[pipelines.calendars]]\nsource = \"{url}\"\nstages = [\"qa\"]\nrefresh_minutes = 1\n"
    );
    let app = spawn_app(&config(&repo, "QA", "", &calendars))
        .await
        .unwrap();
    let dev = app.logged_in("dana", &[Role::Dev]).await.unwrap();
    let ops = app.logged_in("olga", &[Role::Ops]).await.unwrap();
    let api = Api::of(&app, &ops).await;
    mark_ready(&app, &dev, &sha).await;

    let gate = slipway_tests::app::poll_until(
        "the feed's freeze to reach the gate",
        std::time::Duration::from_secs(20),
        || async {
            let g = api.gate("qa", &sha, "no_freeze").await;
            Ok((g["status"] == "fail").then_some(g))
        },
    )
    .await
    .unwrap();
    assert!(
        gate["reason"]
            .as_str()
            .unwrap()
            .ends_with(": Daily stand-down"),
        "{gate}"
    );
    let listed = api.get("/pipelines/web/freezes").await;
    let feed_freezes: Vec<&Value> = listed["freezes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["source"] == url.as_str())
        .collect();
    assert_eq!(feed_freezes.len(), 2, "today's and tomorrow's: {listed}");
    assert_eq!(feed_freezes[0]["in_force"], true);
    // A feed's freeze is changed in the feed, not ended here.
    let id = feed_freezes[0]["id"].as_i64().unwrap();
    let (status, _) = api.post(&format!("/freezes/{id}/end"), json!({})).await;
    assert_eq!(status, 404);
    let refused = app.promote(&ops, &sha, "qa").await.unwrap().unwrap_err();
    assert!(refused.ends_with(": Daily stand-down"), "{refused}");
}
