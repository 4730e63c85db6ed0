//! A pipeline read through GitHub's API instead of a clone, against a local fake GitHub
//! (`slipway_tests::github::FakeGitHub`) that answers from a real git repository with
//! GitHub's JSON and records every call: commits from one conditional listing (304s),
//! ancestry from one compare per pair ever, the rate limit turned into a pending gate
//! with its reset time, the CI gate moved by webhooks, Enterprise base URLs and GitHub
//! App installation tokens.

use super::github::{deliver, fixture, outcome_of, sign, SECRET_VAR};
use serde_json::{json, Value};
use slipway_model::Role;
use slipway_tests::api::ApiClient as Api;
use slipway_tests::app::{poll_until, spawn_app, TestApp};
use slipway_tests::git::TestRepo;
use slipway_tests::github::FakeGitHub;
use std::time::Duration;

pub(crate) const REPO: &str = "octo-org/web-shop";
pub(crate) const TOKEN_VAR: &str = "SLIPWAY_TEST_GITHUB_TOKEN";
pub(crate) const TOKEN: &str = "github_pat_test_token";

/// A server whose pipeline `web` reads `fake` (no `repository` key: no clone), with
/// `pipeline_keys` added to the pipeline and `stages` as its stages.
pub(crate) async fn server(fake: &FakeGitHub, pipeline_keys: &str, stages: &str) -> TestApp {
    start(fake, "", pipeline_keys, stages).await
}

/// [`server`] with the CI gate: `checks` must be green; no migration paths.
pub(crate) async fn server_with_checks(
    fake: &FakeGitHub,
    checks: &[&str],
    stages: &str,
) -> TestApp {
    let checks = format!(", required_checks = {checks:?}");
    start(fake, &checks, "migrations = []", stages).await
}

async fn start(fake: &FakeGitHub, github_keys: &str, pipeline_keys: &str, stages: &str) -> TestApp {
    std::env::set_var(SECRET_VAR, super::github::SECRET);
    std::env::set_var(TOKEN_VAR, TOKEN);
    fake.require_token(TOKEN);
    let config = format!(
        "[github]\nwebhook_secret_env = \"{SECRET_VAR}\"\ntoken_env = \"{TOKEN_VAR}\"\napi_url = \"{}\"\n\n\
         [[pipelines]]\nid = \"web\"\nname = \"Web shop\"\nfetch_interval_seconds = 3600\n\
         github = {{ repository = \"{REPO}\", branch = \"main\"{github_keys} }}\n{pipeline_keys}\n{stages}",
        fake.base
    );
    spawn_app(&config).await.unwrap()
}

/// Two stages, staging and production, whose deployer is `true`.
pub(crate) const TWO_STAGES: &str = r#"
[[pipelines.stages]]
id = "staging"
label = "Staging"
deployer = { command = ["true"] }

[[pipelines.stages]]
id = "production"
label = "Production"
deployer = { command = ["true"] }
"#;

pub(crate) async fn on_board(api: &Api, sha: &str) -> bool {
    let board = api.get("/pipelines/web/board").await;
    board["commits"]
        .as_array()
        .is_some_and(|cards| cards.iter().any(|c| c["commit"]["sha"] == sha))
}

/// A repository on the fake GitHub, a server reading it with [`TWO_STAGES`] and no
/// migration paths, and olga (dev, qa, ops) with her API client.
struct Cast {
    repo: TestRepo,
    fake: FakeGitHub,
    app: TestApp,
    olga: reqwest::Client,
    api: Api,
}

impl Cast {
    async fn new(repo: TestRepo) -> Cast {
        let fake = FakeGitHub::start(REPO, repo.path()).await;
        let app = server(&fake, "migrations = []", TWO_STAGES).await;
        let olga = app
            .logged_in("olga", &[Role::Dev, Role::Qa, Role::Ops])
            .await
            .unwrap();
        let api = Api::of(&app, &olga).await;
        Cast {
            repo,
            fake,
            app,
            olga,
            api,
        }
    }
}

/// Deploys `sha` to staging, then production, through the forms.
async fn through_production(app: &TestApp, client: &reqwest::Client, sha: &str) {
    app.deployed_first(client, sha, "staging").await.unwrap();
    app.deployed(client, sha, "production").await.unwrap();
}

#[tokio::test]
async fn a_pipeline_without_a_clone_reads_github_and_compares_a_pair_once_for_twenty_board_loads() {
    let mut repo = TestRepo::new().unwrap();
    let b = repo.commit("B").unwrap();
    let Cast {
        mut repo,
        fake,
        app,
        olga,
        api,
    } = Cast::new(repo).await;
    assert!(on_board(&api, &b).await, "listed from GitHub");
    assert!(
        !app.dir.path().join("data/mirrors/web.git").exists(),
        "nothing is cloned"
    );
    through_production(&app, &olga, &b).await;

    let c = repo.commit("C").unwrap();
    let res = app
        .post_form(&olga, "/pipelines/web/refresh", &[])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(on_board(&api, &c).await);
    for _ in 0..20 {
        let board = api.get("/pipelines/web/board").await;
        assert!(board["commits"].is_array());
    }
    let gate = api.gate("production", &c, "ancestry").await;
    assert_eq!(gate["status"], "pass", "{gate}");
    // "What goes out" reads the same compare: its commits and files.
    let (status, page) = app
        .get_text(&olga, &format!("/pipelines/web/compare?from={b}&to={c}"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let list = &page[page.find(r#"data-testid="compare""#).unwrap()..];
    assert!(
        list.contains(&c) && !list.contains(&format!("data-sha=\"{b}\"")),
        "{list}"
    );
    assert!(page.contains("<code>activity.log</code>"), "{page}");
    assert_eq!(
        fake.count("GET", &format!("/repos/{REPO}/compare/")),
        1,
        "one compare for the pair, whatever the board loads: {:?}",
        fake.calls()
            .iter()
            .filter(|c| c.path.contains("/compare/"))
            .map(|c| c.path.clone())
            .collect::<Vec<_>>()
    );

    // A SHA GitHub does not know is asked about once while the branch stays put.
    let unknown = "0123456789abcdef0123456789abcdef01234567";
    let before = fake.count("GET", &format!("/repos/{REPO}/compare/"));
    for _ in 0..3 {
        let (status, body) = api
            .post(
                "/pipelines/web/stages/staging/promote",
                json!({ "sha": unknown }),
            )
            .await;
        assert_eq!(status, 409, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("unknown commit"),
            "{body}"
        );
    }
    assert_eq!(
        fake.count("GET", &format!("/repos/{REPO}/compare/")),
        before + 1
    );

    // An unchanged branch answers 304 to the conditional listing.
    let before = fake.count_status(304);
    app.post_form(&olga, "/pipelines/web/refresh", &[])
        .await
        .unwrap();
    assert_eq!(fake.count_status(304), before + 1, "{:?}", fake.calls());
    assert!(fake
        .calls()
        .iter()
        .all(|call| call.headers.get("authorization").map(String::as_str)
            == Some(&format!("Bearer {TOKEN}"))
            || call.path.starts_with("/app/")));
}

#[tokio::test]
async fn a_refusal_says_whether_the_sha_is_older_or_on_another_branch() {
    let mut repo = TestRepo::new().unwrap();
    let a = repo.head("main").unwrap();
    repo.branch("side", &a).unwrap();
    repo.checkout("side").unwrap();
    let side = repo
        .commit_file("side.txt", "side work\n", "Side work")
        .unwrap();
    repo.checkout("main").unwrap();
    let b = repo.commit("B").unwrap();
    let merge = repo.merge_no_ff("side", "Merge side").unwrap();
    // Bound, not dropped: the fake serves from the repository.
    let Cast {
        repo: _repo,
        fake: _fake,
        app,
        olga,
        api,
    } = Cast::new(repo).await;
    through_production(&app, &olga, &side).await;

    app.deployed_first(&olga, &b, "staging").await.unwrap();
    let gate = api.gate("production", &b, "ancestry").await;
    assert_eq!(gate["status"], "fail", "{gate}");
    assert!(
        gate["reason"]
            .as_str()
            .unwrap()
            .contains("it is on another branch"),
        "{gate}"
    );
    through_production(&app, &olga, &merge).await;
    let gate = api.gate("production", &side, "ancestry").await;
    assert_eq!(gate["status"], "fail", "{gate}");
    assert!(
        gate["reason"].as_str().unwrap().contains("it is older"),
        "{gate}"
    );
}

#[tokio::test]
async fn githubs_rate_limit_holds_the_gate_until_its_reset_and_nothing_answers_5xx() {
    let mut repo = TestRepo::new().unwrap();
    let b = repo.commit("B").unwrap();
    let Cast {
        mut repo,
        fake,
        app,
        olga,
        api,
    } = Cast::new(repo).await;
    through_production(&app, &olga, &b).await;
    let c = repo.commit("C").unwrap();
    app.post_form(&olga, "/pipelines/web/refresh", &[])
        .await
        .unwrap();
    app.deployed_first(&olga, &c, "staging").await.unwrap();

    let now = time::OffsetDateTime::now_utc();
    let reset = now + time::Duration::minutes(10);
    fake.rate_limit_until(reset.unix_timestamp());
    let clock = format!("{:02}:{:02} UTC", reset.hour(), reset.minute());

    let gate = api.gate("production", &c, "ancestry").await;
    assert_eq!(gate["status"], "pending", "{gate}");
    assert_eq!(
        gate["reason"],
        format!("ancestry: GitHub rate-limited until {clock}")
    );
    let (status, body) = api
        .post(
            "/pipelines/web/stages/production/promote",
            json!({ "sha": c }),
        )
        .await;
    assert_eq!(
        (status, body["gate"].as_str()),
        (409, Some("ancestry")),
        "{body}"
    );
    let (status, html) = app.get_text(&olga, "/pipelines/web").await.unwrap();
    assert_eq!(status, 200);
    assert!(html.contains(&format!("GitHub rate-limited until {clock}")));
    // Once limited, Slipway stops asking until the reset.
    let asked = fake.calls().len();
    for _ in 0..5 {
        api.get("/pipelines/web/board").await;
    }
    let res = app
        .post_form(&olga, "/pipelines/web/refresh", &[])
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "the board says why, not an error page");
    assert_eq!(fake.calls().len(), asked, "no call before the reset");
}

/// GitHub's time now, as webhooks write it.
fn github_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// Delivers GitHub's `event` example (`fixture`) fitted by `fit` to the test's
/// repository, signed, as delivery `id`; what came of it, once processed.
async fn delivered(app: &TestApp, event: &str, id: &str, fit: impl FnOnce(&mut Value)) -> String {
    let file = match event {
        "check_run" => "check_run.completed.json",
        "status" => "status.default.json",
        other => panic!("no fixture for {other}"),
    };
    let mut p = fixture(file);
    p["repository"]["full_name"] = REPO.into();
    fit(&mut p);
    let body = p.to_string();
    let (status, _) = deliver(app, event, id, &body, Some(sign(body.as_bytes()))).await;
    assert_eq!(status, 202);
    outcome_of(app, id).await
}

/// A `check_run` delivery: check `name` of `sha` completed with `conclusion` now.
pub(crate) async fn check_run_delivered(
    app: &TestApp,
    id: &str,
    sha: &str,
    name: &str,
    conclusion: &str,
) -> String {
    delivered(app, "check_run", id, |p| {
        let run = &mut p["check_run"];
        run["head_sha"] = sha.into();
        run["name"] = name.into();
        run["conclusion"] = conclusion.into();
        run["started_at"] = github_now().into();
        run["completed_at"] = github_now().into();
    })
    .await
}

#[tokio::test]
async fn the_ci_gate_waits_for_the_required_checks_and_a_check_run_webhook_turns_it_green() {
    let mut repo = TestRepo::new().unwrap();
    let b = repo.commit("B").unwrap();
    let c = repo.commit("C").unwrap();
    let fake = FakeGitHub::start(REPO, repo.path()).await;
    fake.set_check_run(&b, "build", "in_progress", None);
    fake.set_status(&c, "ci/test", "failure");
    let app = server_with_checks(&fake, &["build", "ci/test"], TWO_STAGES).await;
    let olga = app.logged_in("olga", &[Role::Dev, Role::Qa]).await.unwrap();
    let api = Api::of(&app, &olga).await;
    let gate = poll_until(
        "the CI gate to hear from GitHub",
        Duration::from_secs(20),
        || async {
            let gate = api.gate("staging", &b, "ci").await;
            Ok((gate["status"] == "pending"
                && gate["reason"]
                    .as_str()
                    .unwrap_or("")
                    .contains("still running"))
            .then_some(gate))
        },
    )
    .await
    .unwrap();
    assert_eq!(
        gate["reason"],
        format!("CI still running for {}: build, ci/test", &b[..7])
    );
    app.post_form(&olga, "/pipelines/web/ready", &[("sha", &b)])
        .await
        .unwrap();
    let refused = app
        .promote(&olga, &b, "staging")
        .await
        .unwrap()
        .unwrap_err();
    assert!(refused.contains("CI still running"), "{refused}");

    for (delivery, name) in [("cr-1", "build"), ("cr-2", "ci/test")] {
        assert_eq!(
            check_run_delivered(&app, delivery, &b, name, "success").await,
            format!("check_run: {name} success for {} recorded on web", &b[..7])
        );
    }
    let gate = api.gate("staging", &b, "ci").await;
    assert_eq!(gate["status"], "pass", "{gate}");
    assert_eq!(
        gate["reason"],
        format!("CI green for {}: build, ci/test", &b[..7])
    );

    // A red status fails the gate with its link, from the reconcile alone.
    let gate = poll_until("C's failed status", Duration::from_secs(20), || async {
        let gate = api.gate("staging", &c, "ci").await;
        Ok((gate["status"] == "fail").then_some(gate))
    })
    .await
    .unwrap();
    assert!(
        gate["reason"]
            .as_str()
            .unwrap()
            .starts_with(&format!("CI check ci/test failed for {}", &c[..7])),
        "{gate}"
    );
    // A `status` delivery turns it green; `build` has not reported for C.
    let said = delivered(&app, "status", "st-1", |p| {
        p["sha"] = c.clone().into();
        p["context"] = "ci/test".into();
        p["state"] = "success".into();
        p["updated_at"] = github_now().into();
    })
    .await;
    assert_eq!(
        said,
        format!("status: ci/test success for {} recorded on web", &c[..7])
    );
    let gate = api.gate("staging", &c, "ci").await;
    assert_eq!(
        (gate["status"].as_str(), gate["reason"].as_str()),
        (
            Some("pending"),
            Some(format!("CI still running for {}: build", &c[..7]).as_str())
        ),
        "{gate}"
    );
}

#[tokio::test]
async fn an_enterprise_server_and_a_github_app_installation_are_used_as_configured() {
    let mut repo = TestRepo::new().unwrap();
    let b = repo.commit("B").unwrap();
    let fake = FakeGitHub::start_enterprise(REPO, repo.path()).await;
    assert!(fake.base.ends_with("/api/v3"), "{}", fake.base);
    // Only the installation's tokens open the repository, and each lives 20 s: less
    // than the margin before expiry at which a new one is minted.
    fake.require_token("a personal token nobody configured");
    fake.token_lifetime(Duration::from_secs(20));
    let key = format!(
        "{}/fixtures/github/test-app-key.pem",
        env!("CARGO_MANIFEST_DIR")
    );
    let config = format!(
        "[github]\napi_url = \"{}\"\napp_id = 12\napp_key_file = \"{key}\"\ninstallation_id = 34\n\n\
         [[pipelines]]\nid = \"web\"\nfetch_interval_seconds = 3600\nmigrations = []\n\
         github = {{ repository = \"{REPO}\" }}\n{TWO_STAGES}",
        fake.base
    );
    let app = spawn_app(&config).await.unwrap();
    let olga = app.logged_in("olga", &[Role::Dev]).await.unwrap();
    let api = Api::of(&app, &olga).await;
    assert!(on_board(&api, &b).await);
    let minted = fake.tokens_issued();
    assert!(minted >= 1);
    let calls = fake.calls();
    let mint = calls
        .iter()
        .find(|c| c.path == "/app/installations/34/access_tokens")
        .expect("an installation token was minted");
    assert!(
        mint.headers["authorization"].starts_with("Bearer ey"),
        "a JWT"
    );
    let listing = calls
        .iter()
        .find(|c| c.path == format!("/repos/{REPO}/commits"))
        .expect("the branch was listed");
    assert!(
        listing.headers["authorization"].starts_with("Bearer ghs_"),
        "with the installation's token: {:?}",
        listing.headers
    );
    // A token about to expire is replaced before the next call, never sent stale.
    app.post_form(&olga, "/pipelines/web/refresh", &[])
        .await
        .unwrap();
    assert!(fake.tokens_issued() > minted, "a fresh token was minted");
    assert!(
        fake.calls().iter().all(|c| c.status != 401),
        "{:?}",
        fake.calls()
    );
    assert_eq!(
        fake.count("GET", &format!("/repos/{REPO}/commits")),
        2,
        "listed twice, each time with a valid token"
    );
}
