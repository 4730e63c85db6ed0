//! Environment truth in a real browser: a SHA that brings a migration shows the file on
//! its card; the promote button does not submit until the acknowledgement is ticked;
//! ticked (with a note), the deploy starts and its page keeps what was acknowledged.

use super::*;

#[tokio::test]
async fn a_migration_is_acknowledged_on_the_card_before_the_promotion_goes_through() {
    let mut repo = TestRepo::new().unwrap();
    let a = repo.commit("A").unwrap();
    let app = spawn_app(&pipeline_config(repo.path())).await.unwrap();
    let http = app.logged_in("dave", &[Role::Dev, Role::Qa]).await.unwrap();
    app.post_form(&http, "/pipelines/web/ready", &[("sha", a.as_str())])
        .await
        .unwrap();
    let id = app.promote(&http, &a, "qa").await.unwrap().unwrap();
    app.wait_for_end(id).await.unwrap();
    let b = repo
        .commit_file(
            "migrations/0002_orders.sql",
            "CREATE TABLE orders (id INT);\n",
            "B",
        )
        .unwrap();
    app.post_form(&http, "/pipelines/web/ready", &[("sha", b.as_str())])
        .await
        .unwrap();

    let qa_pw = app.create_user("quinn", &[Role::Qa]).await.unwrap();
    let browser = Browser::start().unwrap();
    let qa = open_board(&browser, &app, "quinn", &qa_pw).await;
    let next = format!("li[data-sha='{b}'] div.next[data-next='qa']");
    assert_eq!(
        text_of(&qa, &format!("{next} fieldset.migrations code")).await,
        "migrations/0002_orders.sql"
    );
    assert_eq!(
        // Shown in capitals by the stylesheet.
        text_of(
            &qa,
            &format!("{next} li[data-gate='migrations'] .gate-status")
        )
        .await
        .to_lowercase(),
        "acknowledge"
    );

    // Not ticked: the browser keeps the form (the checkbox is required).
    mark(&qa).await;
    click(&qa, &format!("{next} button.promote")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_not_reloaded(&qa).await;

    click(&qa, &format!("{next} input[name='acknowledge_migrations']")).await;
    type_into(
        &qa,
        &format!("{next} input[name='migrations_note']"),
        "ran on Tuesday's copy",
    )
    .await;
    submit(&qa, &format!("{next} button.promote")).await;
    wait_until(
        &qa,
        "document.querySelector(\"[data-testid='state']\")?.textContent === 'succeeded'",
        WAIT,
    )
    .await
    .unwrap();
    let kept = text_of(&qa, "[data-testid='migrations-acknowledged']").await;
    assert!(
        kept.contains("migrations/0002_orders.sql") && kept.contains("ran on Tuesday's copy"),
        "{kept}"
    );
    assert_no_panic(&qa).await;
    qa.close().await.unwrap();
}

/// A card whose artifact is missing offers to wait for it; queued, the card and the
/// column say so live, with a button that withdraws it; queued again, the promotion
/// starts by itself when the artifact appears, and the card moves on.
#[tokio::test]
async fn a_promotion_waits_on_the_card_for_its_artifact_and_can_be_withdrawn() {
    let builds = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new().unwrap();
    let a = repo.commit("A").unwrap();
    let config = pipeline_config(repo.path()).replacen(
        "label = \"QA\"\n",
        &format!(
            "label = \"QA\"\nartifact = {{ command = [\"sh\", \"-c\", \"test -f {}/$SLIPWAY_SHA.tgz\"] }}\n",
            builds.path().display()
        ),
        1,
    );
    let app = spawn_app(&config).await.unwrap();
    let http = app.logged_in("dave", &[Role::Dev]).await.unwrap();
    app.post_form(&http, "/pipelines/web/ready", &[("sha", a.as_str())])
        .await
        .unwrap();
    let qa_pw = app.create_user("quinn", &[Role::Qa]).await.unwrap();
    let browser = Browser::start().unwrap();
    let qa = open_board(&browser, &app, "quinn", &qa_pw).await;
    let next = format!("li[data-sha='{a}'] div.next[data-next='qa']");

    // The first check runs in the background ("checking for the artifact of …"); its
    // answer reaches the open board live.
    let gate = format!("{next} li[data-gate='artifact']");
    let said = wait_until(
        &qa,
        &format!(
            "document.querySelector(\"{gate}\")?.textContent.includes('waiting for the artifact of {}')",
            &a[..7]
        ),
        WAIT,
    )
    .await;
    assert!(said.is_ok(), "{}", text_of(&qa, &gate).await);
    submit(&qa, &format!("{next} form.queue button")).await;
    let queued = text_of(&qa, &format!("{next} [data-testid='queued-card']")).await;
    assert!(queued.contains("queued by quinn"), "{queued}");
    assert!(
        text_of(&qa, "[data-stage='qa'] [data-testid='queued']")
            .await
            .contains(&a[..7]),
        "the column shows it too"
    );

    submit(&qa, &format!("{next} [data-testid='queued-card'] button")).await;
    wait_for_css(&qa, &format!("{next} form.queue"), WAIT)
        .await
        .unwrap();
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM queued_promotions WHERE state = 'withdrawn'")
            .await
            .unwrap(),
        1
    );

    // Queued again; the build appears; the board follows live.
    submit(&qa, &format!("{next} form.queue button")).await;
    wait_live(&qa).await;
    std::fs::write(builds.path().join(format!("{a}.tgz")), b"chart").unwrap();
    wait_until(
        &qa,
        &format!("document.querySelector(\"[data-stage='qa'] li[data-sha='{a}']\") !== null"),
        Duration::from_secs(40),
    )
    .await
    .unwrap();
    assert_no_panic(&qa).await;
    qa.close().await.unwrap();
}
