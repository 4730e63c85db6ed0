//! In real headless Chromium: log in, open a board, see its columns, and prove the
//! page hydrated (an interactive element responds without a page load).

use fantoccini::Locator;
use slipway_model::Role;
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

    // Anonymous: the board sends us to the login form, then back to the board.
    let page = open_board(&browser, &app, "quinn", &password).await;
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

/// Logs a fresh browser session in through the form and opens the board.
async fn open_board(
    browser: &Browser,
    app: &slipway_tests::app::TestApp,
    name: &str,
    password: &str,
) -> fantoccini::Client {
    let page = browser.new_session().await.unwrap();
    page.goto(&app.url("/pipelines/web")).await.unwrap();
    wait_for_css(&page, "form[action='/login']", WAIT)
        .await
        .unwrap();
    page.find(Locator::Css("#username"))
        .await
        .unwrap()
        .send_keys(name)
        .await
        .unwrap();
    page.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    page.find(Locator::Css("button[type='submit']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_css(&page, "[data-testid='board']", WAIT)
        .await
        .unwrap();
    wait_live(&page).await;
    page
}

/// Waits until the page has hydrated and its live event stream is open.
async fn wait_live(page: &fantoccini::Client) {
    wait_until(
        page,
        "document.documentElement.getAttribute('data-live') === 'open'",
        WAIT,
    )
    .await
    .unwrap();
    assert_no_panic(page).await;
}

/// Fails if the wasm app panicked (e.g. a hydration mismatch), which leaves a page that
/// looks right but no longer reacts.
async fn assert_no_panic(page: &fantoccini::Client) {
    let panic = page
        .execute(
            "return document.documentElement.getAttribute('data-panic');",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        panic,
        serde_json::Value::Null,
        "the page's wasm app panicked"
    );
}

async fn mark(page: &fantoccini::Client) {
    page.execute(
        "window.__slipwayNoReload = 'still here'; return true;",
        vec![],
    )
    .await
    .unwrap();
}

async fn assert_not_reloaded(page: &fantoccini::Client) {
    let v = page
        .execute("return window.__slipwayNoReload || null;", vec![])
        .await
        .unwrap();
    assert_eq!(
        v,
        serde_json::json!("still here"),
        "the page updated without a reload"
    );
}

async fn click(page: &fantoccini::Client, css: &str) {
    wait_for_css(page, css, WAIT).await.unwrap();
    page.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test]
async fn three_users_take_a_sha_to_production_and_every_board_updates_live() {
    use slipway_tests::app::{deploying_pipeline, WRITE_SHA};
    let mut repo = TestRepo::new().unwrap();
    let sha = repo.commit("Add the search box").unwrap();
    let short = &sha[..7];
    let out = tempfile::tempdir().unwrap();
    let app = spawn_app(&deploying_pipeline(repo.path(), out.path(), WRITE_SHA, ""))
        .await
        .unwrap();
    let dev_pw = app.create_user("dana", &[Role::Dev]).await.unwrap();
    let qa_pw = app.create_user("quinn", &[Role::Qa]).await.unwrap();
    let ops_pw = app.create_user("olga", &[Role::Ops]).await.unwrap();

    let browser = Browser::start().unwrap();
    let dev = open_board(&browser, &app, "dana", &dev_pw).await;
    let qa = open_board(&browser, &app, "quinn", &qa_pw).await;
    let ops = open_board(&browser, &app, "olga", &ops_pw).await;
    let card_in =
        |column: &str| format!("!!document.querySelector(\"{column} li[data-sha='{sha}']\")");

    // Dev marks it ready in the page; QA's and ops' boards show it in Ready, live.
    mark(&qa).await;
    mark(&ops).await;
    // The Commits lane is one line per commit: "mark ready" opens from the card.
    click(
        &dev,
        &format!("li[data-sha='{sha}'] details.mark-ready summary"),
    )
    .await;
    click(
        &dev,
        &format!("li[data-sha='{sha}'] button[aria-label='Mark ready {short}']"),
    )
    .await;
    wait_until(&qa, &card_in("section.ready"), WAIT)
        .await
        .unwrap();
    wait_until(&ops, &card_in("section.ready"), WAIT)
        .await
        .unwrap();
    assert_not_reloaded(&qa).await;
    assert_not_reloaded(&ops).await;

    // QA promotes to QA, then Staging, with the buttons on the card.
    mark(&ops).await;
    mark(&dev).await;
    click(
        &qa,
        &format!("li[data-sha='{sha}'] div.next[data-next='qa'] button.promote"),
    )
    .await;
    wait_until(
        &qa,
        "document.querySelector(\"[data-testid='state']\")?.textContent === 'succeeded'",
        WAIT,
    )
    .await
    .unwrap();
    wait_until(&ops, &card_in("section[data-stage='qa']"), WAIT)
        .await
        .unwrap();
    wait_until(&dev, &card_in("section[data-stage='qa']"), WAIT)
        .await
        .unwrap();
    assert_not_reloaded(&ops).await;
    assert_not_reloaded(&dev).await;
    let log_has = format!("(document.querySelector(\"[data-testid='log']\")?.textContent || '').includes('deploying {sha} to qa')");
    wait_until(&qa, &log_has, WAIT).await.unwrap();

    qa.goto(&app.url("/pipelines/web")).await.unwrap();
    click(
        &qa,
        &format!("li[data-sha='{sha}'] div.next[data-next='staging'] button.promote"),
    )
    .await;
    wait_until(
        &qa,
        "document.querySelector(\"[data-testid='state']\")?.textContent === 'succeeded'",
        WAIT,
    )
    .await
    .unwrap();
    wait_until(&ops, &card_in("section[data-stage='staging']"), WAIT)
        .await
        .unwrap();

    // QA's own board refuses production: the button is disabled and says why.
    qa.goto(&app.url("/pipelines/web")).await.unwrap();
    wait_live(&qa).await;
    let prod_button =
        format!("li[data-sha='{sha}'] div.next[data-next='production'] button.promote");
    wait_for_css(&qa, &prod_button, WAIT).await.unwrap();
    wait_until(
        &qa,
        &format!("document.querySelector(\"{prod_button}\").disabled === true"),
        WAIT,
    )
    .await
    .unwrap();
    let says_why = format!("document.querySelector(\"li[data-sha='{sha}'] ul.gates\").textContent.includes('only ops may promote into Production')");
    wait_until(&qa, &says_why, WAIT).await.unwrap();

    // Ops promotes to production: the button opens a dialog that names the service,
    // the environment, the SHA and its subject, and what goes out; confirmed, the
    // deploy starts, and the others see production's current SHA change live.
    mark(&qa).await;
    mark(&dev).await;
    mark(&ops).await;
    click(&ops, &prod_button).await;
    let dialog = "dialog.confirm-dialog[open] section.confirm";
    wait_for_css(
        &ops,
        &format!("{dialog} [data-testid='confirm-deploy']"),
        WAIT,
    )
    .await
    .unwrap();
    assert_not_reloaded(&ops).await;
    let confirmation = text_of(&ops, dialog).await;
    for expected in [
        "Web shop",
        "Production",
        short,
        "Add the search box",
        "first deployment",
    ] {
        assert!(
            confirmation.contains(expected),
            "{expected:?} in {confirmation}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(out.path().join("production.sha")).unwrap_or_default(),
        "",
        "nothing deploys before the confirmation"
    );
    // The board refreshes live under the open dialog, and leaves it open.
    let other = repo.commit("Another change").unwrap();
    let dev_http = app.logged_in("dora", &[Role::Dev]).await.unwrap();
    app.post_form(
        &dev_http,
        "/pipelines/web/ready",
        &[("sha", other.as_str())],
    )
    .await
    .unwrap();
    wait_until(
        &ops,
        &format!("!!document.querySelector(\"section.ready li[data-sha='{other}']\")"),
        WAIT,
    )
    .await
    .unwrap();
    wait_for_css(
        &ops,
        &format!("{dialog} [data-testid='confirm-deploy']"),
        WAIT,
    )
    .await
    .unwrap();
    click(&ops, &format!("{dialog} [data-testid='confirm-deploy']")).await;
    wait_until(
        &ops,
        "document.querySelector(\"[data-testid='state']\")?.textContent === 'succeeded'",
        WAIT,
    )
    .await
    .unwrap();
    let current = format!("(document.querySelector(\"section[data-stage='production'] [data-testid='current']\")?.textContent || '').includes('{short}')");
    wait_until(&qa, &current, WAIT).await.unwrap();
    wait_until(&dev, &current, WAIT).await.unwrap();
    assert_not_reloaded(&qa).await;
    assert_not_reloaded(&dev).await;
    for page in [&dev, &qa, &ops] {
        assert_no_panic(page).await;
    }
    assert_eq!(
        std::fs::read_to_string(out.path().join("production.sha")).unwrap(),
        sha
    );

    for page in [dev, qa, ops] {
        page.close().await.unwrap();
    }
}

/// Clicks what submits a form (or follows a link) and waits until the next page has
/// loaded: reading it any sooner could read the page before, whose flash message or
/// status is still on screen.
async fn submit(page: &fantoccini::Client, css: &str) {
    page.execute("window.__slipwayBeforeSubmit = true; return true;", vec![])
        .await
        .unwrap();
    click(page, css).await;
    wait_until(
        page,
        "window.__slipwayBeforeSubmit === undefined && document.readyState === 'complete'",
        WAIT,
    )
    .await
    .unwrap_or_else(|e| panic!("clicking {css} loaded no new page: {e:#}"));
}

async fn type_into(page: &fantoccini::Client, css: &str, text: &str) {
    wait_for_css(page, css, WAIT).await.unwrap();
    let field = page.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn text_of(page: &fantoccini::Client, css: &str) -> String {
    wait_for_css(page, css, WAIT)
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Logs in through the form at `path` (which sends an anonymous visitor to /login).
async fn log_in_at(
    browser: &Browser,
    app: &slipway_tests::app::TestApp,
    path: &str,
    name: &str,
    password: &str,
) -> fantoccini::Client {
    let page = browser.new_session().await.unwrap();
    page.goto(&app.url(path)).await.unwrap();
    type_into(&page, "#username", name).await;
    type_into(&page, "#password", password).await;
    submit(&page, "form[action='/login'] button[type='submit']").await;
    page
}

#[tokio::test]
async fn an_admin_manages_users_on_the_admin_page_and_the_new_user_sets_a_password() {
    let repo = TestRepo::new().unwrap();
    let app = spawn_app(&pipeline_config(repo.path())).await.unwrap();
    let admin_pw = app.create_user("ada", &[Role::Admin]).await.unwrap();
    app.create_user("bob", &[Role::Dev]).await.unwrap();
    let browser = Browser::start().unwrap();

    let page = log_in_at(&browser, &app, "/admin/users", "ada", &admin_pw).await;
    wait_for_css(&page, "tr[data-user='bob']", WAIT)
        .await
        .unwrap();
    assert_no_panic(&page).await;

    // Create carol as QA only (viewer is ticked by default).
    type_into(&page, "#new-user-name", "carol").await;
    click(&page, "#new-viewer").await;
    click(&page, "#new-qa").await;
    submit(&page, "form[data-testid='new-user'] button[type='submit']").await;
    let temporary = text_of(&page, "[data-testid='temporary-password']").await;
    assert_eq!(temporary.len(), 23, "{temporary:?}");
    submit(&page, "a[href='/admin/users']").await;
    let carol = text_of(&page, "tr[data-user='carol'] [data-testid='status']").await;
    assert_eq!(carol, "must change password");

    // Give bob ops too, then disable him.
    click(&page, "#roles-bob-ops").await;
    submit(&page, "button[aria-label='Save roles of bob']").await;
    let message = text_of(&page, "[data-testid='flash']").await;
    assert!(message.contains("bob now has roles dev, ops"), "{message}");
    assert!(page
        .find(Locator::Css("#roles-bob-ops"))
        .await
        .unwrap()
        .is_selected()
        .await
        .unwrap());
    submit(&page, "button[aria-label='Disable bob']").await;
    let message = text_of(&page, "[data-testid='flash']").await;
    assert!(message.contains("Disabled bob"), "{message}");
    assert_eq!(
        text_of(&page, "tr[data-user='bob'] [data-testid='status']").await,
        "disabled"
    );
    // No disable or reset buttons on your own row.
    assert!(page
        .find(Locator::Css("button[aria-label='Disable ada']"))
        .await
        .is_err());
    assert_no_panic(&page).await;

    // Carol logs in with the temporary password and is made to choose her own.
    let carol = log_in_at(&browser, &app, "/", "carol", &temporary).await;
    wait_for_css(&carol, "[data-testid='must-change']", WAIT)
        .await
        .unwrap();
    type_into(&carol, "#pw-current", &temporary).await;
    type_into(&carol, "#pw-new", "carol picks a passphrase").await;
    type_into(&carol, "#pw-confirm", "carol picks a passphrase").await;
    submit(
        &carol,
        "form[data-testid='password-form'] button[type='submit']",
    )
    .await;
    let message = text_of(&carol, "[data-testid='flash']").await;
    assert!(message.contains("Password changed"), "{message}");
    assert!(carol
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/profile"));
    assert_eq!(text_of(&carol, "[data-testid='whoami']").await, "carol");
    assert_no_panic(&carol).await;
}

mod board;
mod demo;
mod environment;
mod governance;
