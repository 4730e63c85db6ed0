//! In real headless Chromium: log in, open a board, see its columns, and prove the
//! page hydrated (an interactive element responds without a page load).

use fantoccini::Locator;
use slipway_app::domain::Role;
use slipway_tests::app::{pipeline_config, spawn_app};
use slipway_tests::browser::{wait_for_css, wait_until, Browser};
use slipway_tests::git::TestRepo;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_user_logs_in_sees_the_board_and_the_page_hydrates() {
    let mut repo = TestRepo::new().unwrap();
    let newest = repo.commit("Add search box").unwrap();
    let app = spawn_app(&pipeline_config(repo.path())).await.unwrap();
    let password = app.create_user("quinn", &[Role::Qa]).await.unwrap();

    let browser = Browser::start().unwrap();
    let page = browser.new_session().await.unwrap();

    // Anonymous: the board sends us to the login form.
    page.goto(&app.url("/pipelines/web")).await.unwrap();
    wait_for_css(&page, "form[action='/login']", WAIT)
        .await
        .unwrap();
    page.find(Locator::Css("#username"))
        .await
        .unwrap()
        .send_keys("quinn")
        .await
        .unwrap();
    page.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(&password)
        .await
        .unwrap();
    page.find(Locator::Css("button[type='submit']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // Back on the board we asked for, with its columns.
    wait_for_css(&page, "[data-testid='board']", WAIT)
        .await
        .unwrap();
    assert!(page
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/pipelines/web"));
    assert_eq!(page.title().await.unwrap(), "Web shop board · Slipway");
    for (id, label) in [
        ("col-commits", "Commits"),
        ("col-ready", "Ready"),
        ("col-stage-qa", "QA"),
        ("col-stage-staging", "Staging"),
        ("col-stage-production", "Production"),
    ] {
        let heading = page
            .find(Locator::Id(id))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(heading.starts_with(label), "{id}: {heading:?}");
    }

    // Hydration: mark this document, then use the copy button. Only the wasm app can
    // change its label, and the marker proves no page load happened in between.
    wait_until(&page, "document.querySelector('main') !== null", WAIT)
        .await
        .unwrap();
    page.execute("window.__slipwayMarker = 42; return true;", vec![])
        .await
        .unwrap();
    let card = format!("li[data-sha='{newest}']");
    page.find(Locator::Css(&format!("{card} details.sha summary")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let copy = format!("{card} button.copy");
    wait_for_css(&page, &copy, WAIT).await.unwrap();
    // The button exists in the server HTML too; clicking it before hydration does
    // nothing, so keep clicking until the app answers (or time out).
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        page.find(Locator::Css(&copy))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let label = page
            .find(Locator::Css(&copy))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if label == "Copied" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the page never hydrated (copy button still {label:?})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let marker = page
        .execute("return window.__slipwayMarker;", vec![])
        .await
        .unwrap();
    assert_eq!(
        marker,
        serde_json::json!(42),
        "the click must not reload the page"
    );
    page.close().await.unwrap();
}
