//! The board's layout and production's confirmation in a real browser: Commits, Ready
//! and three stages fit 1,280 px (more stages scroll inside the board, never the page);
//! at 390 px the columns stack with the one the user can act on first; a promotion
//! into production is confirmed on a page without JavaScript and in a dialog with it.

use super::*;
use slipway_tests::browser::Session;

/// The page's horizontal overflow and the board's, in CSS pixels.
async fn overflow(page: &fantoccini::Client) -> (f64, f64) {
    let v = page
        .execute(
            "const b = document.querySelector(\"[data-testid='board']\");
             return [document.documentElement.scrollWidth - document.documentElement.clientWidth,
                     b.scrollWidth - b.clientWidth];",
            vec![],
        )
        .await
        .unwrap();
    let n = |i: usize| v[i].as_f64().unwrap();
    (n(0), n(1))
}

/// A repository and server whose board has a card in every column: `a` runs on
/// production, `b` on staging, `c` on QA, `d` is ready and `e` only committed.
async fn full_board(stages: &str) -> (TestRepo, slipway_tests::app::TestApp, [String; 5]) {
    let mut repo = TestRepo::new().unwrap();
    let config = format!(
        "[[pipelines]]\nid = \"web\"\nname = \"Web shop\"\nrepository = \"{}\"\nbranch = \"main\"\nfetch_interval_seconds = 3600\n{stages}",
        repo.path().display()
    );
    let app = spawn_app(&config).await.unwrap();
    let ops = app
        .logged_in("olga", &[Role::Dev, Role::Ops])
        .await
        .unwrap();
    let ids: Vec<String> = app.state.config.pipelines[0]
        .stages
        .iter()
        .map(|s| s.id.to_string())
        .collect();
    let mut shas = Vec::new();
    for (i, subject) in [
        "Add the checkout page with its address form and the payment step",
        "Show delivery dates on every product card in the catalogue",
        "Cache the catalogue for five minutes",
        "Retry payment webhooks",
        "Tidy the footer",
    ]
    .into_iter()
    .enumerate()
    {
        let sha = repo.commit(subject).unwrap();
        if i < 4 {
            app.post_form(&ops, "/pipelines/web/ready", &[("sha", sha.as_str())])
                .await
                .unwrap();
        }
        // `a` goes all the way, `b` one stage less, `c` to the first stage.
        let depth = ids.len().saturating_sub(i).min(ids.len());
        for stage in ids.iter().take(if i < 3 { depth } else { 0 }) {
            let id = app.promote(&ops, &sha, stage).await.unwrap().unwrap();
            app.wait_for_end(id).await.unwrap();
        }
        shas.push(sha);
    }
    let shas: [String; 5] = shas.try_into().unwrap();
    (repo, app, shas)
}

#[tokio::test]
async fn at_1280_px_five_columns_fit_and_more_stages_scroll_inside_the_board() {
    let browser = Browser::start().unwrap();
    // Three stages: nothing overflows, not even the board.
    let (_repo, app, [a, ..]) = full_board(slipway_tests::app::DEFAULT_STAGES).await;
    let pw = app.create_user("quinn", &[Role::Qa]).await.unwrap();
    let page = open_board(&browser, &app, "quinn", &pw).await;
    wait_for_css(
        &page,
        &format!("section[data-stage='production'] li[data-sha='{a}']"),
        WAIT,
    )
    .await
    .unwrap();
    let width = page
        .execute("return window.innerWidth;", vec![])
        .await
        .unwrap();
    assert_eq!(width.as_f64(), Some(1280.0), "the window is 1,280 px wide");
    assert_eq!(
        overflow(&page).await,
        (0.0, 0.0),
        "page and board fit 1,280 px"
    );
    // Every column is on screen, side by side.
    let right_edges = page
        .execute(
            "return [...document.querySelectorAll('section.column')].map(c => c.getBoundingClientRect().right);",
            vec![],
        )
        .await
        .unwrap();
    let edges: Vec<f64> = right_edges
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(edges.len(), 5);
    assert!(
        edges.windows(2).all(|w| w[0] < w[1]),
        "side by side: {edges:?}"
    );
    assert!(
        edges.iter().all(|r| *r <= 1280.0),
        "all on screen: {edges:?}"
    );

    // The Commits lane folds to its heading, and the stages take the room.
    let before = page
        .execute(
            "return document.querySelector(\"section[data-stage='qa']\").offsetWidth;",
            vec![],
        )
        .await
        .unwrap();
    click(&page, "section.commits details.lane > summary").await;
    let after = page
        .execute(
            "return document.querySelector(\"section[data-stage='qa']\").offsetWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(after.as_f64() > before.as_f64(), "{before} → {after}");
    page.close().await.unwrap();

    // Five stages: the board scrolls sideways, the page does not.
    let five = format!(
        "{}\n[[pipelines.stages]]\nid = \"canary\"\nlabel = \"Canary\"\ndeployer = {{ command = [\"true\"] }}\n\n[[pipelines.stages]]\nid = \"eu\"\nlabel = \"EU\"\nproduction = true\ndeployer = {{ command = [\"true\"] }}\n",
        slipway_tests::app::DEFAULT_STAGES.replace("label = \"Production\"\n", "label = \"Production\"\nproduction = true\n")
    );
    let (_repo, app, _) = full_board(&five).await;
    let pw = app.create_user("quinn", &[Role::Qa]).await.unwrap();
    let page = open_board(&browser, &app, "quinn", &pw).await;
    let (page_overflow, board_overflow) = overflow(&page).await;
    let wide = page
        .execute(
            "return [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth)
                .slice(0, 8).map(e => e.tagName + '.' + e.className);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        page_overflow, 0.0,
        "the page never scrolls sideways: {wide}"
    );
    assert!(board_overflow > 0.0, "the board scrolls inside itself");
    page.close().await.unwrap();
}

#[tokio::test]
async fn at_390_px_the_columns_stack_with_the_one_to_act_on_first() {
    let (_repo, app, [_, b, c, ..]) = full_board(slipway_tests::app::DEFAULT_STAGES).await;
    let pw = app.create_user("quinn", &[Role::Qa]).await.unwrap();
    let browser = Browser::start().unwrap();
    let page = browser
        .new_session_with(Session {
            width: 390,
            height: 844,
            javascript: true,
        })
        .await
        .unwrap();
    browser
        .cdp(
            &page,
            "Emulation.setDeviceMetricsOverride",
            serde_json::json!({ "width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true }),
        )
        .await
        .unwrap();
    page.goto(&app.url("/pipelines/web")).await.unwrap();
    type_into(&page, "#username", "quinn").await;
    type_into(&page, "#password", &pw).await;
    submit(&page, "form[action='/login'] button[type='submit']").await;
    wait_for_css(&page, "[data-testid='board']", WAIT)
        .await
        .unwrap();
    wait_live(&page).await;
    let width = page
        .execute("return window.innerWidth;", vec![])
        .await
        .unwrap();
    assert_eq!(width.as_f64(), Some(390.0));
    assert_eq!(
        overflow(&page).await.0,
        0.0,
        "nothing is wider than the phone"
    );

    // QA can act on `c` in QA (promote it to staging); `b` on staging waits for ops.
    wait_for_css(
        &page,
        &format!("section[data-stage='qa'] li[data-sha='{c}']"),
        WAIT,
    )
    .await
    .unwrap();
    wait_for_css(
        &page,
        &format!("section[data-stage='staging'] li[data-sha='{b}']"),
        WAIT,
    )
    .await
    .unwrap();
    let columns = page
        .execute(
            "return [...document.querySelectorAll('section.column')]
                .map(c => { const r = c.getBoundingClientRect();
                            return [c.getAttribute('aria-labelledby'), r.left, r.top, r.width]; })
                .sort((x, y) => x[2] - y[2]);",
            vec![],
        )
        .await
        .unwrap();
    let columns = columns.as_array().unwrap();
    let first = columns[0][0].as_str().unwrap();
    assert_eq!(
        first, "col-ready",
        "Ready holds what QA can promote first: {columns:?}"
    );
    for c in columns {
        assert_eq!(
            c[1].as_f64(),
            columns[0][1].as_f64(),
            "stacked: {columns:?}"
        );
        assert!(c[3].as_f64().unwrap() > 300.0, "full width: {columns:?}");
    }
    page.close().await.unwrap();
}

#[tokio::test]
async fn production_is_confirmed_on_a_page_when_the_browser_runs_no_script() {
    let mut repo = TestRepo::new().unwrap();
    let a = repo.commit("Open the shop").unwrap();
    let out = tempfile::tempdir().unwrap();
    let app = spawn_app(&slipway_tests::app::deploying_pipeline(
        repo.path(),
        out.path(),
        slipway_tests::app::WRITE_SHA,
        "",
    ))
    .await
    .unwrap();
    let ops = app
        .logged_in("olga", &[Role::Dev, Role::Ops])
        .await
        .unwrap();
    let take = |sha: String, stages: &'static [&'static str]| {
        let (app, ops) = (&app, &ops);
        async move {
            app.post_form(ops, "/pipelines/web/ready", &[("sha", sha.as_str())])
                .await
                .unwrap();
            for stage in stages {
                let id = app
                    .promote_with(ops, &sha, stage, &[("acknowledge_migrations", "true")])
                    .await
                    .unwrap()
                    .unwrap();
                app.wait_for_end(id).await.unwrap();
            }
        }
    };
    take(a.clone(), &["qa", "staging", "production"]).await;
    repo.commit("Show stock levels").unwrap();
    let b = repo
        .commit_file(
            "migrations/0002_stock.sql",
            "CREATE TABLE stock (id INT);\n",
            "Count stock per warehouse",
        )
        .unwrap();
    take(b.clone(), &["qa", "staging"]).await;
    let short = &b[..7];

    let pw = app.create_user("pat", &[Role::Ops]).await.unwrap();
    let browser = Browser::start().unwrap();
    let page = browser
        .new_session_with(Session {
            javascript: false,
            ..Session::default()
        })
        .await
        .unwrap();
    page.goto(&app.url("/pipelines/web")).await.unwrap();
    type_into(&page, "#username", "pat").await;
    type_into(&page, "#password", &pw).await;
    submit(&page, "form[action='/login'] button[type='submit']").await;
    let live = page
        .execute(
            "return document.documentElement.getAttribute('data-live');",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        live,
        serde_json::Value::Null,
        "no script runs in this browser"
    );

    // The card's button opens the confirmation page (a GET form).
    let card = format!("li[data-sha='{b}'] div.next[data-next='production']");
    submit(&page, &format!("{card} form[data-confirm='now'] button")).await;
    let url = page.current_url().await.unwrap();
    assert_eq!(url.path(), "/pipelines/web/stages/production/confirm");
    for (testid, expected) in [
        ("confirm-service", "Web shop".to_owned()),
        ("confirm-environment", "Production".to_owned()),
        ("confirm-count", "2 commits go out".to_owned()),
        ("confirm-migrations", "1 file(s)".to_owned()),
    ] {
        let text = text_of(&page, &format!("[data-testid='{testid}']")).await;
        assert!(text.contains(&expected), "{testid}: {text:?}");
    }
    let commit = text_of(&page, "[data-testid='confirm-commit']").await;
    assert!(
        commit.contains(short) && commit.contains("Count stock per warehouse"),
        "{commit}"
    );
    assert!(text_of(&page, "fieldset.migrations")
        .await
        .contains("migrations/0002_stock.sql"));
    assert_eq!(
        std::fs::read_to_string(out.path().join("production.sha")).unwrap(),
        a,
        "nothing ran yet"
    );

    // Confirmed (with the migration acknowledged), the deployment starts.
    click(
        &page,
        "section.confirm input[name='acknowledge_migrations']",
    )
    .await;
    submit(&page, "[data-testid='confirm-deploy']").await;
    let url = page.current_url().await.unwrap();
    let id = url
        .path()
        .strip_prefix("/deployments/")
        .expect("the deployment's page");
    app.wait_for_end(id.parse().unwrap()).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(out.path().join("production.sha")).unwrap(),
        b
    );
    page.close().await.unwrap();
}

#[tokio::test]
async fn a_live_update_waits_while_someone_fills_in_a_form_on_the_board() {
    let (mut repo, app, _) = full_board(slipway_tests::app::DEFAULT_STAGES).await;
    let pw = app.create_user("pat", &[Role::Ops]).await.unwrap();
    let browser = Browser::start().unwrap();
    let page = open_board(&browser, &app, "pat", &pw).await;
    mark(&page).await;
    click(&page, "section[data-stage='qa'] details.lock-form summary").await;
    type_into(&page, "#lock-reason-qa", "Load test until 16:00").await;

    // Something happens on the board meanwhile: the event arrives, the form stays.
    let events = "Number(document.documentElement.getAttribute('data-live-events') || 0)";
    let before = page
        .execute(&format!("return {events};"), vec![])
        .await
        .unwrap();
    let other = repo.commit("Another change").unwrap();
    let dev = app.logged_in("dora", &[Role::Dev]).await.unwrap();
    app.post_form(&dev, "/pipelines/web/ready", &[("sha", other.as_str())])
        .await
        .unwrap();
    wait_until(&page, &format!("{events} > {before}"), WAIT)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let typed = page
        .execute(
            "return document.querySelector('#lock-reason-qa').value;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        typed,
        serde_json::json!("Load test until 16:00"),
        "what was typed stays"
    );
    let new_card = format!("!!document.querySelector(\"section.ready li[data-sha='{other}']\")");
    let shown = page
        .execute(&format!("return {new_card};"), vec![])
        .await
        .unwrap();
    assert_eq!(shown, serde_json::json!(false), "the refresh waits");

    // Done with the form (emptied, focus elsewhere): the board catches up by itself.
    page.find(Locator::Css("#lock-reason-qa"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    click(&page, "section[data-stage='qa'] details.lock-form summary").await;
    page.execute("document.activeElement.blur(); return true;", vec![])
        .await
        .unwrap();
    wait_until(&page, &new_card, WAIT).await.unwrap();
    assert_not_reloaded(&page).await;
    page.close().await.unwrap();
}
