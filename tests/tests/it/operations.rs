//! Running it in production: Prometheus metrics and who may read them, JSON log lines
//! with request ids, and migrations on their own.

use slipway_model::Role;
use slipway_tests::app::{pipeline_config, spawn_app, spawn_app_with};
use slipway_tests::git::TestRepo;
use slipway_tests::process::{free_port, slipway, Installation};
use std::process::Stdio;

/// `[metrics]` with a token read from a file in `dir`; returns the settings and token.
fn token_settings(dir: &std::path::Path) -> (String, String) {
    let token = "scrape-me-0123456789";
    let file = dir.join("metrics-token");
    std::fs::write(&file, format!("{token}\n")).unwrap();
    (
        format!("[metrics]\ntoken_file = \"{}\"", file.display()),
        token.to_owned(),
    )
}

/// The value of the series whose line starts with `series` (name and labels), if any.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_need_the_configured_token_and_count_deploys_refusals_and_requests() {
    let repo = TestRepo::new().unwrap();
    let secrets = tempfile::tempdir().unwrap();
    let (settings, token) = token_settings(secrets.path());
    let app = spawn_app_with(&settings, repo.path()).await.unwrap();
    let olga = app
        .logged_in("olga", &[Role::Ops, Role::Qa, Role::Dev])
        .await
        .unwrap();
    let head = repo.head("main").unwrap();
    app.deployed_first(&olga, &head, "qa").await.unwrap();
    // Production before staging: refused by the previous-stage gate.
    let refused = app.promote(&olga, &head, "production").await.unwrap();
    assert!(refused.is_err(), "{refused:?}");

    let http = reqwest::Client::new();
    let url = app.url("/metrics");
    let res = http.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 401, "no token");
    let res = http.get(&url).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(res.status(), 401, "a wrong token");
    let res = olga.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 401, "a session is no scraper");
    let res = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = res.text().await.unwrap();

    let deployed = r#"slipway_deployments_total{pipeline="web",stage="qa",outcome="succeeded"}"#;
    assert!(value(&text, deployed).unwrap_or(0.0) >= 1.0, "{text}");
    assert!(
        text.contains(r#"slipway_deploy_duration_seconds_bucket{pipeline="web",stage="qa",outcome="succeeded",le="#),
        "a histogram with buckets"
    );
    assert!(
        value(
            &text,
            r#"slipway_gate_refusals_total{gate="previous_stage"}"#
        )
        .unwrap_or(0.0)
            >= 1.0,
        "{text}"
    );
    assert!(
        text.contains(r#"slipway_http_request_duration_seconds_bucket{method="POST",route="/pipelines/{pipeline}/promote",status="303""#),
        "requests by route pattern, never by raw path: {text}"
    );
    assert!(!text.contains("/pipelines/web/promote"), "no raw paths");
    assert_eq!(value(&text, "slipway_leader "), Some(1.0));
    assert_eq!(value(&text, "slipway_active_deployments "), Some(0.0));
    assert!(value(&text, "slipway_db_connections_max ").unwrap_or(0.0) >= 1.0);
    assert!(text.contains(r#"slipway_db_connections{state="idle"}"#));
    assert!(text.contains("slipway_sse_clients "));
}

#[tokio::test]
async fn without_a_metrics_section_there_are_no_metrics() {
    let repo = TestRepo::new().unwrap();
    let app = spawn_app(&pipeline_config(repo.path())).await.unwrap();
    let res = reqwest::Client::new()
        .get(app.url("/metrics"))
        .bearer_auth("anything")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn a_metrics_address_of_its_own_serves_them_without_a_token() {
    let repo = TestRepo::new().unwrap();
    let port = free_port();
    let app = spawn_app_with(
        &format!("[metrics]\nlisten = \"127.0.0.1:{port}\""),
        repo.path(),
    )
    .await
    .unwrap();
    let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("slipway_leader 1"), "{text}");
    let main = reqwest::Client::new()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        main.status(),
        404,
        "the main address does not serve them without a token"
    );
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_with_the_request_id() {
    let repo = TestRepo::new().unwrap();
    let install = Installation::new("log_format = \"json\"", &pipeline_config(repo.path()));
    let log = install.dir().join("stderr.log");
    let file = std::fs::File::create(&log).unwrap();
    let server = install.start_with(|cmd| {
        cmd.env("RUST_LOG", "info,tower_http=debug")
            .stderr(Stdio::from(file));
    });
    server.wait_up().await;
    let http = reqwest::Client::new();
    let res = http
        .get(format!("{}/healthz", install.base))
        .header("x-request-id", "req-from-the-proxy-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "req-from-the-proxy-42");
    let res = http
        .get(format!("{}/readyz", install.base))
        .send()
        .await
        .unwrap();
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(
        generated.len(),
        36,
        "a UUID when the proxy sent none: {generated}"
    );
    drop(server);

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines
        .iter()
        .all(|l| l["level"].is_string() && l["timestamp"].is_string()));
    for id in ["req-from-the-proxy-42", generated.as_str()] {
        assert!(
            lines.iter().any(|l| l["span"]["request_id"] == id),
            "a line of the request carries its id {id}: {text}"
        );
    }
}

#[test]
fn migrate_applies_the_migrations_and_exits_and_can_run_again() {
    let repo = TestRepo::new().unwrap();
    let install = Installation::new("", &pipeline_config(repo.path()));
    for _ in 0..2 {
        let out = slipway()
            .arg("--config")
            .arg(&install.config)
            .arg("migrate")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("migrations applied"), "{said}");
        assert!(!said.contains("password"), "{said}");
    }
}

#[tokio::test]
async fn backup_copies_the_sqlite_database_while_the_server_runs_and_never_overwrites() {
    let repo = TestRepo::new().unwrap();
    let install = Installation::new("", &pipeline_config(repo.path()));
    if slipway_tests::database::backend() != slipway_core::config::DatabaseKind::Sqlite {
        // The PostgreSQL pass: the command says to use pg_dump.
        let out = slipway()
            .arg("--config")
            .arg(&install.config)
            .args(["backup", "/tmp/never-written.db"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
        return;
    }
    install.add_user("ada", &["admin"], "a long enough passphrase");
    let server = install.start();
    server.wait_up().await;
    let copy = install.dir().join("backup.db");
    let backup = || {
        slipway()
            .arg("--config")
            .arg(&install.config)
            .arg("backup")
            .arg(&copy)
            .output()
            .unwrap()
    };
    let out = backup();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = backup();
    assert!(!again.status.success(), "a backup never overwrites");
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

    let restored = slipway_core::store::sqlite::SqliteStorage::connect(&format!(
        "sqlite://{}",
        copy.display()
    ))
    .await
    .unwrap();
    use slipway_core::store::UserStore as _;
    let ada = slipway_model::UserName::parse("ada").unwrap();
    assert!(
        restored.credentials_by_name(&ada).await.unwrap().is_some(),
        "the copy has the data"
    );
    drop(server);
}
