//! `slipway demo` as a newcomer first sees it, in a real browser: weeks of history on
//! the board (every stage deployed, a rollback, a lock with its reason, QA's sign-off,
//! an approval waiting for ops), a board that fits 1,280 px, production unmistakable in
//! the dark theme too, and no serious accessibility violation (axe-core) on the board,
//! a deployment, the history, the calendar, the insights and the admin pages. It also
//! draws the README's screenshots, so they show the product as it is.

use super::*;
use slipway_tests::axe::{describe, serious_violations};
use slipway_tests::browser::screenshot;
use slipway_tests::process::{free_port, slipway, Server};
use std::collections::HashMap;
use std::io::BufRead;
use std::process::Stdio;

/// Starts `slipway demo` in `dir`; returns the server and the demo users' passwords.
async fn start_demo(dir: &std::path::Path) -> (Server, String, HashMap<String, String>) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    let mut child = slipway()
        .args(["demo", "--listen", &format!("127.0.0.1:{port}"), "--dir"])
        .arg(dir)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    // Drains the demo's stderr for as long as it runs; the banner's lines come first.
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let server = Server::from_child(child, &base);
    let mut passwords = HashMap::new();
    while passwords.len() < 4 {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("the demo prints its users");
        let mut words = line.split_whitespace();
        if let (Some(name @ ("dev" | "qa" | "ops" | "admin")), Some(pw), None) =
            (words.next(), words.next(), words.next())
        {
            passwords.insert(name.to_owned(), pw.to_owned());
        }
    }
    server.wait_up().await;
    println!(
        "slipway demo (first start, history seeded) answered after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    (server, base, passwords)
}

async fn log_in(
    browser: &Browser,
    base: &str,
    path: &str,
    name: &str,
    pw: &str,
) -> fantoccini::Client {
    let page = browser.new_session().await.unwrap();
    page.goto(&format!("{base}{path}")).await.unwrap();
    type_into(&page, "#username", name).await;
    type_into(&page, "#password", pw).await;
    submit(&page, "form[action='/login'] button[type='submit']").await;
    page
}

/// Fails with axe's findings when the page has a serious or critical violation.
async fn assert_accessible(page: &fantoccini::Client, what: &str) {
    let found = serious_violations(page).await.unwrap();
    assert!(found.is_empty(), "{what}: {}", describe(&found));
}

/// Tabs through the start of the page: the skip link comes first and shows itself,
/// then every control in document order, each with a visible focus outline.
async fn keyboard_walk(page: &fantoccini::Client) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    const TAB: char = '\u{E004}';
    page.refresh().await.unwrap();
    wait_live(page).await;
    page.execute("window.__focusPath = []; return true;", vec![])
        .await
        .unwrap();
    for _ in 0..15 {
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: TAB })
            .then(KeyAction::Up { value: TAB });
        page.perform_actions(keys).await.unwrap();
        page.execute(
            "const e = document.activeElement;
             const before = window.__focusPath.length
                 ? window.__focusPath[window.__focusPath.length - 1].el : null;
             window.__focusPath.push({ el: e,
                 follows: !before || !!(before.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING),
                 outline: getComputedStyle(e).outlineStyle,
                 left: e.getBoundingClientRect().left,
                 what: e.tagName + ' ' + (e.getAttribute('aria-label') || e.textContent.trim().slice(0, 30)) });
             return true;",
            vec![],
        )
        .await
        .unwrap();
    }
    let path = page
        .execute(
            "return window.__focusPath.map(f => [f.what, f.follows, f.outline, f.left]);",
            vec![],
        )
        .await
        .unwrap();
    let path = path.as_array().unwrap();
    assert!(
        path[0][0].as_str().unwrap().contains("Skip to content"),
        "{path:?}"
    );
    assert!(
        path[0][3].as_f64().unwrap() >= 0.0,
        "the skip link shows when focused: {path:?}"
    );
    for step in path {
        assert_eq!(step[1], serde_json::json!(true), "document order: {path:?}");
        assert_ne!(
            step[2],
            serde_json::json!("none"),
            "a visible focus: {path:?}"
        );
    }
}

/// Where the README's screenshots live.
fn screenshots() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots")
}

#[tokio::test]
async fn the_demo_starts_alive_and_its_pages_pass_axe_in_light_and_dark() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, base, pw) = start_demo(dir.path()).await;
    let browser = Browser::start().unwrap();
    let ops = log_in(&browser, &base, "/pipelines/demo-web", "ops", &pw["ops"]).await;
    wait_live(&ops).await;

    // The board shows the product at work.
    let production = "section[data-stage='production']";
    assert!(
        text_of(&ops, &format!("{production} [data-testid='current']"))
            .await
            .len()
            >= 7
    );
    let qa_lock = text_of(&ops, "section[data-stage='qa'] div.panel.lock").await;
    assert!(qa_lock.contains("Load test"), "{qa_lock}");
    wait_for_css(
        &ops,
        "section[data-stage='qa'] [data-testid='glance-lock']",
        WAIT,
    )
    .await
    .unwrap();
    wait_for_css(
        &ops,
        "section[data-stage='staging'] [data-testid='signed-off']",
        WAIT,
    )
    .await
    .unwrap();
    let staging = text_of(&ops, "section[data-stage='staging']").await;
    assert!(staging.contains("Awaiting approval by ops"), "{staging}");
    wait_for_css(&ops, "section.ready li.card", WAIT)
        .await
        .unwrap();
    let overflow = ops
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        overflow.as_f64(),
        Some(0.0),
        "the demo's board fits 1,280 px"
    );
    assert_accessible(&ops, "board").await;
    screenshot(&ops, &screenshots().join("board.png"))
        .await
        .unwrap();
    keyboard_walk(&ops).await;

    // Production stays unmistakable in the dark theme, and the board stays readable.
    browser
        .cdp(
            &ops,
            "Emulation.setEmulatedMedia",
            serde_json::json!({ "features": [{ "name": "prefers-color-scheme", "value": "dark" }] }),
        )
        .await
        .unwrap();
    let colours = ops
        .execute(
            "const p = getComputedStyle(document.querySelector(\"section[data-stage='production']\"));
             const q = getComputedStyle(document.querySelector(\"section[data-stage='qa']\"));
             return [getComputedStyle(document.body).backgroundColor, p.borderTopColor, p.borderTopWidth, q.borderTopWidth];",
            vec![],
        )
        .await
        .unwrap();
    let rgb = |v: &serde_json::Value| -> Vec<u32> {
        v.as_str()
            .unwrap()
            .trim_start_matches("rgba(")
            .trim_start_matches("rgb(")
            .trim_end_matches(')')
            .split(',')
            .take(3)
            .map(|n| n.trim().parse().unwrap())
            .collect()
    };
    let background = rgb(&colours[0]);
    assert!(
        background.iter().all(|c| *c < 60),
        "dark background: {colours}"
    );
    let border = rgb(&colours[1]);
    assert!(
        border[0] > 200 && border[1] < 160,
        "production's border is red: {colours}"
    );
    assert_ne!(
        colours[2], colours[3],
        "production's border is heavier: {colours}"
    );
    assert_accessible(&ops, "board (dark)").await;
    screenshot(&ops, &screenshots().join("board-dark.png"))
        .await
        .unwrap();
    browser
        .cdp(
            &ops,
            "Emulation.setEmulatedMedia",
            serde_json::json!({ "features": [] }),
        )
        .await
        .unwrap();

    // A deployment of production, through its history; the rollback is in it.
    ops.goto(&format!("{base}/pipelines/demo-web/stages/production"))
        .await
        .unwrap();
    let history = text_of(&ops, "main").await;
    assert!(
        history.contains("Checkout errors up 4x"),
        "the rollback: {history}"
    );
    assert_accessible(&ops, "stage history").await;
    // A link: the hydrated app routes to it without loading a page.
    click(&ops, "main a[href^='/deployments/']").await;
    wait_for_css(&ops, "[data-testid='log'] li", WAIT)
        .await
        .unwrap();
    assert_accessible(&ops, "deployment").await;
    screenshot(&ops, &screenshots().join("deployment.png"))
        .await
        .unwrap();

    // The insights read the seeded history.
    ops.goto(&format!("{base}/pipelines/demo-web/insights?days=30"))
        .await
        .unwrap();
    wait_for_css(&ops, "svg[data-testid='daily-chart'] rect.bar", WAIT)
        .await
        .unwrap();
    assert_accessible(&ops, "insights").await;
    screenshot(&ops, &screenshots().join("insights.png"))
        .await
        .unwrap();

    ops.goto(&format!("{base}/pipelines/demo-web/calendar"))
        .await
        .unwrap();
    wait_for_css(&ops, "table[data-testid='calendar']", WAIT)
        .await
        .unwrap();
    assert_accessible(&ops, "calendar").await;
    ops.close().await.unwrap();

    let admin = log_in(&browser, &base, "/admin/users", "admin", &pw["admin"]).await;
    wait_for_css(&admin, "table.admin-users", WAIT)
        .await
        .unwrap();
    assert_accessible(&admin, "admin users").await;
    admin.goto(&format!("{base}/admin/audit")).await.unwrap();
    wait_for_css(&admin, "table.audit", WAIT).await.unwrap();
    assert_accessible(&admin, "audit log").await;
    admin.close().await.unwrap();
}
