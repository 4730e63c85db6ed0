//! The governance path in real browsers: QA promotes to staging and signs off, QA
//! requests production, ops approves a slot that has begun with a server start, the
//! deploy starts by itself, and every open board follows along without reloading.

use super::*;

#[tokio::test]
async fn qa_signs_off_and_requests_production_ops_approve_a_slot_and_the_deploy_starts_by_itself() {
    let mut repo = TestRepo::new().unwrap();
    let sha = repo.commit("Add the wish list").unwrap();
    let short = &sha[..7];
    let config = pipeline_config(repo.path())
        .replacen(
            "label = \"Staging\"\n",
            "label = \"Staging\"\nsign_off = { roles = [\"qa\"] }\n",
            1,
        )
        .replacen(
            "label = \"Production\"\n",
            "label = \"Production\"\npromote_roles = [\"qa\", \"ops\"]\napproval = { roles = [\"ops\"] }\nchecklist = [\"Release notes posted\"]\n",
            1,
        );
    assert!(config.contains("approval") && config.contains("sign_off"));
    let app = spawn_app(&config).await.unwrap();
    let dev_pw = app.create_user("dana", &[Role::Dev]).await.unwrap();
    let qa_pw = app.create_user("quinn", &[Role::Qa]).await.unwrap();
    let ops_pw = app.create_user("olga", &[Role::Ops]).await.unwrap();
    // Ready and in QA already (the earlier browser test clicks those).
    let dev_http = app.logged_in("dave", &[Role::Dev]).await.unwrap();
    let res = app
        .post_form(&dev_http, "/pipelines/web/ready", &[("sha", sha.as_str())])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let qa_http = app.logged_in("quincy", &[Role::Qa]).await.unwrap();
    let id = app.promote(&qa_http, &sha, "qa").await.unwrap().unwrap();
    app.wait_for_end(id).await.unwrap();

    let browser = Browser::start().unwrap();
    let dev = open_board(&browser, &app, "dana", &dev_pw).await;
    let qa = open_board(&browser, &app, "quinn", &qa_pw).await;
    let ops = open_board(&browser, &app, "olga", &ops_pw).await;
    let card = format!("li[data-sha='{sha}']");
    let text_includes = |css: &str, text: &str| {
        format!("(document.querySelector(\"{css}\")?.textContent || '').includes({text:?})")
    };

    // QA promotes to staging from the card.
    click(
        &qa,
        &format!("{card} div.next[data-next='staging'] button.promote"),
    )
    .await;
    wait_until(
        &qa,
        "document.querySelector(\"[data-testid='state']\")?.textContent === 'succeeded'",
        WAIT,
    )
    .await
    .unwrap();
    qa.goto(&app.url("/pipelines/web")).await.unwrap();
    wait_live(&qa).await;

    // The production gate waits for QA's sign-off; QA signs off on the card.
    let staging_card = format!("section[data-stage='staging'] {card}");
    wait_until(
        &qa,
        &text_includes(
            &format!("{staging_card} ul.gates"),
            "is not signed off on Staging",
        ),
        WAIT,
    )
    .await
    .unwrap();
    mark(&ops).await;
    mark(&dev).await;
    type_into(
        &qa,
        &format!("{staging_card} input[name='note']"),
        "wish list tested",
    )
    .await;
    submit(
        &qa,
        &format!("{staging_card} button[aria-label='Sign off {short} on Staging']"),
    )
    .await;
    wait_until(
        &ops,
        &text_includes(&staging_card, "Signed off on Staging by quinn"),
        WAIT,
    )
    .await
    .unwrap();
    wait_until(
        &dev,
        &text_includes(&staging_card, "Signed off on Staging by quinn"),
        WAIT,
    )
    .await
    .unwrap();
    assert_not_reloaded(&ops).await;
    assert_not_reloaded(&dev).await;

    // QA requests production, confirming the checklist; ops see it live.
    wait_live(&qa).await;
    click(
        &qa,
        &format!("{staging_card} div.approval input[name='checklist']"),
    )
    .await;
    submit(
        &qa,
        &format!("{staging_card} button[aria-label='Request approval of {short} for Production']"),
    )
    .await;
    wait_until(
        &ops,
        &text_includes(
            &staging_card,
            "Awaiting approval by ops (requested by quinn)",
        ),
        WAIT,
    )
    .await
    .unwrap();
    wait_until(
        &dev,
        &text_includes(
            &staging_card,
            "Awaiting approval by ops (requested by quinn)",
        ),
        WAIT,
    )
    .await
    .unwrap();
    assert_not_reloaded(&ops).await;

    // Ops approve a slot that has begun (this minute until in an hour, UTC) and let
    // the server start it: the deploy starts by itself and every board shows it.
    let now = time::OffsetDateTime::now_utc();
    let later = now + time::Duration::hours(1);
    mark(&qa).await;
    mark(&dev).await;
    let decide = format!("{staging_card} details.decide");
    type_into(
        &ops,
        &format!("{decide} input[name='slot_from']"),
        &format!("{:02}:{:02}", now.hour(), now.minute()),
    )
    .await;
    type_into(
        &ops,
        &format!("{decide} input[name='slot_until']"),
        &format!("{:02}:{:02}", later.hour(), later.minute()),
    )
    .await;
    click(&ops, &format!("{decide} input[name='auto_start']")).await;
    submit(
        &ops,
        &format!("{decide} button[aria-label='Approve {short} for Production']"),
    )
    .await;
    let current = text_includes(
        "section[data-stage='production'] [data-testid='current']",
        short,
    );
    for page in [&qa, &dev, &ops] {
        wait_until(page, &current, WAIT).await.unwrap();
    }
    assert_not_reloaded(&qa).await;
    assert_not_reloaded(&dev).await;
    for page in [&dev, &qa, &ops] {
        assert_no_panic(page).await;
    }
    let d = app
        .state
        .storage
        .approval_requests(&slipway_model::PipelineId::parse("web").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(
        d[0].auto_start_result
            .as_deref()
            .map(|r| r.starts_with("started deployment #")),
        Some(true)
    );
    // The calendar shows the deployment and hydrates cleanly.
    ops.goto(&app.url("/pipelines/web/calendar")).await.unwrap();
    wait_for_css(
        &ops,
        "table[data-testid='calendar'] td.today p.deployed",
        WAIT,
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_no_panic(&ops).await;
    // So do the insights, whose charts are SVG drawn on the server.
    ops.goto(&app.url("/pipelines/web/insights?days=7"))
        .await
        .unwrap();
    wait_for_css(
        &ops,
        "section[data-testid='insights-production'] svg[data-testid='daily-chart'] rect.bar",
        WAIT,
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_no_panic(&ops).await;
    for page in [dev, qa, ops] {
        page.close().await.unwrap();
    }
}
