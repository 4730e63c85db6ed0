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
