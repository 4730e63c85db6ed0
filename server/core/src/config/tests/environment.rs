//! The environment-truth and integration keys: migrations, retries, health probes,
//! deployers, artifact checks, webhooks and GitHub.

use super::*;

#[test]
fn migration_paths_default_to_the_usual_folders_and_can_be_replaced_or_turned_off() {
    let dir = repo_dir();
    let c = parse(&minimal(""), dir.path()).expect("valid");
    assert_eq!(c.pipelines[0].migrations.patterns(), defaults::MIGRATIONS);
    let own = minimal("").replacen(
        "repository = \".\"\n",
        "repository = \".\"\nmigrations = [\"db/schema/*.sql\"]\n",
        1,
    );
    let c = parse(&own, dir.path()).expect("valid");
    assert!(c.pipelines[0].migrations.matches("db/schema/1.sql"));
    assert!(!c.pipelines[0].migrations.matches("migrations/1.sql"));
    let off = minimal("").replacen(
        "repository = \".\"\n",
        "repository = \".\"\nmigrations = []\n",
        1,
    );
    assert!(parse(&off, dir.path()).expect("valid").pipelines[0]
        .migrations
        .is_empty());
}

#[test]
fn bad_migration_globs_are_each_named_where_they_are_written() {
    let dir = repo_dir();
    let text = minimal("").replacen(
        "repository = \".\"\n",
        "repository = \".\"\nmigrations = [\"db/[a\", \"/migrations/**\", \" \"]\n",
        1,
    );
    let err = parse(&text, dir.path()).unwrap_err();
    assert_eq!(err.problems.len(), 3, "{err}");
    let keys: Vec<&str> = err.problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "pipelines[0].migrations[0]",
            "pipelines[0].migrations[1]",
            "pipelines[0].migrations[2]"
        ]
    );
    let msg = err.to_string();
    assert!(msg.contains("\"db/[a\" is not a valid glob"), "{msg}");
    assert!(msg.contains("without the leading '/'"), "{msg}");
    assert!(msg.contains("got an empty string"), "{msg}");
    assert!(err.problems.iter().all(|p| p.line == 5), "{msg}");
}

#[test]
fn a_retry_rule_names_what_is_transient_and_bad_ones_are_each_located() {
    let dir = repo_dir();
    let with_retry = |retry: &str| {
        minimal("").replacen(
            "id = \"production\"\ndeployer = { command = [\"true\"] }",
            &format!("id = \"production\"\ndeployer = {{ command = [\"true\"], retry = {retry} }}"),
            1,
        )
    };
    let c = parse(
        &with_retry(r#"{ exit_codes = [75], log_patterns = ["connection reset", "\\b429\\b"] }"#),
        dir.path(),
    )
    .expect("valid");
    let rule = c.pipelines[0].stages[1]
        .deployer
        .retry
        .as_ref()
        .expect("a rule");
    assert_eq!(rule.exit_codes, vec![75]);
    assert_eq!(rule.max_attempts, 3);
    assert_eq!(
        rule.matching_pattern("read: connection reset by peer"),
        Some("connection reset")
    );
    assert_eq!(
        rule.matching_pattern("HTTP 429 Too Many Requests"),
        Some("\\b429\\b")
    );
    assert_eq!(rule.matching_pattern("error 4290"), None);
    assert_eq!(rule.wait_before(2), defaults::RETRY_BACKOFF);
    assert_eq!(rule.wait_before(3), defaults::RETRY_BACKOFF * 2);
    assert_eq!(rule.wait_before(30), defaults::RETRY_BACKOFF_MAX);

    let err = parse(
        &with_retry(
            r#"{ exit_codes = [0, 300], log_patterns = ["(unclosed"], max_attempts = 50 }"#,
        ),
        dir.path(),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.problems.len(), 4, "{msg}");
    assert!(
        msg.contains("expected an exit code from 1 to 255 (0 is success), got 0"),
        "{msg}"
    );
    assert!(msg.contains("got 300"), "{msg}");
    assert!(
        msg.contains("\"(unclosed\" is not a valid regular expression"),
        "{msg}"
    );
    assert!(msg.contains("expected 2 to 10 attempts in all"), "{msg}");

    let err = parse(&with_retry("{ max_attempts = 3 }"), dir.path()).unwrap_err();
    assert!(
        err.to_string()
            .contains("a retry rule needs exit_codes or log_patterns"),
        "{err}"
    );
}

#[test]
fn health_probes_and_requires_healthy_are_checked_against_the_pipeline() {
    let dir = repo_dir();
    let text = minimal(
        "health = { url = \"http://127.0.0.1:9/healthz\", interval_seconds = 5 }\n\
         requires_healthy = [\"staging\"]",
    )
    .replacen(
        "id = \"staging\"\n",
        "id = \"staging\"\nhealth = { command = [\"true\"] }\n",
        1,
    );
    let c = parse(&text, dir.path()).expect("valid");
    let prod = &c.pipelines[0].stages[1];
    assert_eq!(
        prod.health.as_ref().map(|h| (h.interval, h.timeout)),
        Some((Duration::from_secs(5), defaults::PROBE_TIMEOUT))
    );
    assert_eq!(
        prod.requires_healthy,
        vec![StageId::parse("staging").unwrap()]
    );

    let bad = minimal(
        "health = { url = \"ftp://x\", command = [\"true\"] }\n\
         requires_healthy = [\"staging\", \"nowhere\", \"production\"]",
    );
    let err = parse(&bad, dir.path()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("a probe needs exactly one of url and command"),
        "{msg}"
    );
    assert!(
        msg.contains("stage \"staging\" has no health probe"),
        "{msg}"
    );
    assert!(
        msg.contains("no stage \"nowhere\" in this pipeline"),
        "{msg}"
    );
    assert!(
        msg.contains("a stage cannot require itself healthy"),
        "{msg}"
    );
}

#[test]
fn a_deployer_is_a_command_or_an_http_call_and_never_holds_a_key() {
    let dir = repo_dir();
    let with = |deployer: &str| {
        minimal("").replacen(
            "id = \"production\"\ndeployer = { command = [\"true\"] }",
            &format!("id = \"production\"\ndeployer = {deployer}"),
            1,
        )
    };
    let c = parse(
        &with(r#"{ http = { url = "https://cd.example.com/deploy", secret_env = "CD_KEY" } }"#),
        dir.path(),
    )
    .expect("valid");
    match &c.pipelines[0].stages[1].deployer.kind {
        DeployerKind::Http(h) => {
            assert_eq!(h.url.as_str(), "https://cd.example.com/deploy");
            assert_eq!(h.secret_env.as_deref(), Some("CD_KEY"));
            assert_eq!(h.poll_interval, defaults::HTTP_DEPLOYER_POLL);
        }
        other => panic!("{other:?}"),
    }
    for (deployer, says) in [
        (
            r#"{ command = ["true"], http = { url = "https://cd.example.com/" } }"#,
            "a deployer is one of command, http, github_actions or github_external, not several",
        ),
        ("{ timeout_seconds = 60 }", "a deployer needs a command"),
        (
            r#"{ http = { url = "ftp://cd.example.com/" } }"#,
            "expected an http:// or https:// URL",
        ),
        (
            r#"{ http = { url = "https://cd.example.com/", secret_env = "s3cr3t-value!" } }"#,
            "never the key itself",
        ),
    ] {
        let err = parse(&with(deployer), dir.path()).unwrap_err().to_string();
        assert!(err.contains(says), "{deployer}: {err}");
    }
}

#[test]
fn an_artifact_check_is_the_stages_own_or_the_pipelines_and_a_url_must_name_the_sha() {
    let dir = repo_dir();
    let text = minimal(
        "artifact = { command = [\"./has-chart.sh\"], timeout_seconds = 3, wait_minutes = 30 }",
    )
    .replacen(
        "repository = \".\"\n",
        "repository = \".\"\nartifact = { url = \"https://charts.example/app-{sha}.tgz\" }\n",
        1,
    );
    let c = parse(&text, dir.path()).expect("valid");
    let (staging, prod) = (&c.pipelines[0].stages[0], &c.pipelines[0].stages[1]);
    assert_eq!(
        staging.artifact,
        Some(ArtifactCheck {
            target: ArtifactTarget::Url("https://charts.example/app-{sha}.tgz".into()),
            timeout: defaults::ARTIFACT_TIMEOUT,
            wait: defaults::ARTIFACT_WAIT,
        }),
        "a stage without its own check has the pipeline's"
    );
    assert_eq!(
        prod.artifact,
        Some(ArtifactCheck {
            target: ArtifactTarget::Command(vec!["./has-chart.sh".into()]),
            timeout: Duration::from_secs(3),
            wait: Duration::from_secs(30 * 60),
        })
    );
    assert_eq!(
        parse(&minimal(""), dir.path()).expect("valid").pipelines[0].stages[0].artifact,
        None
    );

    for (artifact, says) in [
        (
            r#"{ url = "https://charts.example/app.tgz" }"#,
            "has no {sha}",
        ),
        (
            r#"{ url = "ftp://charts.example/{sha}" }"#,
            "expected an http:// or https:// URL template",
        ),
        (
            r#"{ url = "https://x/{sha}", command = ["true"] }"#,
            "an artifact check needs exactly one of url and command",
        ),
        (
            r#"{ command = [""] }"#,
            "expected a program and its arguments",
        ),
        (
            r#"{ command = ["true"], wait_minutes = 0 }"#,
            "artifact.wait_minutes",
        ),
    ] {
        let err = parse(&minimal(&format!("artifact = {artifact}")), dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{artifact}: {err}");
    }
}

#[test]
fn a_webhook_names_its_receiver_format_key_variable_and_events_or_is_refused_with_why() {
    let dir = repo_dir();
    let with = |hooks: &str| {
        minimal("").replacen(
            "repository = \".\"\n",
            &format!("repository = \".\"\n{hooks}\n"),
            1,
        )
    };
    let c = parse(
        &with(
            "webhooks = [\n  { id = \"ci\", url = \"https://ci.example.com/hooks/slipway\", secret_env = \"HOOK_KEY\" },\n  \
             { id = \"chat\", url = \"https://hooks.slack.com/services/T/B/X\", format = \"slack\", events = [\"deployment_failed\", \"drift_seen\"] },\n]",
        ),
        dir.path(),
    )
    .expect("valid");
    let hooks = &c.pipelines[0].webhooks;
    assert_eq!(hooks.len(), 2);
    assert_eq!(hooks[0].format, crate::notify::Format::Json);
    assert_eq!(hooks[0].secret_env.as_deref(), Some("HOOK_KEY"));
    assert!(
        hooks[0].wants(crate::notify::Event::StageLocked),
        "no events: every event"
    );
    assert!(hooks[1].wants(crate::notify::Event::DriftSeen));
    assert!(!hooks[1].wants(crate::notify::Event::DeploymentStarted));

    for (hooks, says) in [
        (
            "webhooks = [{ id = \"a\", url = \"https://x.example/\" }, { id = \"a\", url = \"https://y.example/\" }]",
            "duplicate webhook id \"a\"",
        ),
        ("webhooks = [{ id = \"a\", url = \"mailto:ops@example.com\" }]", "expected an http:// or https:// URL"),
        ("webhooks = [{ id = \"a\", url = \"https://x.example/\", format = \"xml\" }]", "expected \"json\" or \"slack\""),
        (
            "webhooks = [{ id = \"a\", url = \"https://x.example/\", events = [\"deployed\"] }]",
            "unknown event \"deployed\"; the events are deployment_started, deployment_succeeded",
        ),
        (
            "webhooks = [{ id = \"a\", url = \"https://x.example/\", secret_env = \"hunter2!\" }]",
            "never the key itself",
        ),
    ] {
        let err = parse(&with(hooks), dir.path()).unwrap_err().to_string();
        assert!(err.contains(says), "{hooks}: {err}");
    }
}

#[test]
fn github_s_webhook_secret_is_named_never_written_and_a_repository_is_owner_slash_name() {
    let dir = repo_dir();
    let with = |top: &str, repo: &str| {
        format!(
            "{top}\n{}",
            minimal("").replacen(
                "repository = \".\"\n",
                &format!("repository = \".\"\n{repo}\n"),
                1
            )
        )
    };
    let c = parse(
        &with(
            "[github]\nwebhook_secret_file = \"secrets/github-webhook\"",
            "github = { repository = \"octo-org/web-shop\" }",
        ),
        dir.path(),
    )
    .expect("valid");
    assert_eq!(
        c.github.webhook_secret.as_ref(),
        Some(&SecretSource::File(
            dir.path().join("secrets/github-webhook")
        ))
    );
    let repo = c.pipelines[0].github.as_ref().expect("a repository");
    assert!(repo.is("Octo-Org/Web-Shop"), "GitHub names ignore case");
    assert!(!repo.is("octo-org/web"));
    assert_eq!(
        parse(&minimal(""), dir.path()).expect("valid").github,
        GitHubConfig::default()
    );

    for (top, repo, says) in [
        (
            "[github]\ntoken_env = \"GH_TOKEN\"\napp_id = 1",
            "",
            "a token (token_env or token_file) or a GitHub App",
        ),
        (
            "[github]\napp_id = 1\napp_key_file = \"app.pem\"",
            "",
            "a GitHub App needs all of app_id, app_key_file",
        ),
        (
            "[github]\napp_id = -1\napp_key_file = \"app.pem\"\ninstallation_id = 2",
            "",
            "positive numbers",
        ),
        (
            "[github]\napi_url = \"github.example.com\"",
            "",
            "expected the API's base URL",
        ),
        (
            "",
            "github = { repository = \"o/r\", branch = \"main\" }\nbranch = \"main\"",
            "the branch is given twice",
        ),
        (
            "",
            "github = { repository = \"o/r\", required_checks = [\"\"] }",
            "expected the name of a check run",
        ),
        (
            "[github]\nwebhook_secret_env = \"s3cr3t value\"",
            "",
            "never the key itself",
        ),
        (
            "[github]\nwebhook_secret_env = \"A\"\nwebhook_secret_file = \"f\"",
            "",
            "not both",
        ),
        (
            "",
            "github = { repository = \"web-shop\" }",
            "expected a GitHub repository as owner/name",
        ),
        (
            "",
            "github = { repository = \"octo/../x\" }",
            "expected a GitHub repository as owner/name",
        ),
    ] {
        let err = parse(&with(top, repo), dir.path()).unwrap_err().to_string();
        assert!(err.contains(says), "{top} {repo}: {err}");
    }
    // The secret is read when used, and its errors name where, never what.
    std::env::set_var("SLIPWAY_CONFIG_TEST_SECRET", "  hush  ");
    assert_eq!(
        SecretSource::Env("SLIPWAY_CONFIG_TEST_SECRET".into()).read(),
        Ok(b"hush".to_vec())
    );
    let missing = SecretSource::File(dir.path().join("nowhere"))
        .read()
        .unwrap_err();
    assert!(missing.starts_with("cannot read "), "{missing}");
}

#[test]
fn a_pipeline_with_only_a_github_repository_reads_the_api_with_the_servers_credentials() {
    let dir = repo_dir();
    let text = minimal("").replacen(
        "repository = \".\"\n",
        "github = { repository = \"octo-org/web-shop\", branch = \"release/2.x\", api_url = \"https://ghe.example.com/api/v3/\", required_checks = [\"build\", \"test\", \"build\"] }\n",
        1,
    );
    let top = "[github]\ntoken_file = \"secrets/gh-token\"\n";
    let c = parse(&format!("{top}{text}"), dir.path()).expect("valid");
    let p = &c.pipelines[0];
    assert_eq!(p.repository, RepoSource::GitHub("octo-org/web-shop".into()));
    assert_eq!(p.branch, "release/2.x");
    let g = p.github.as_ref().expect("a repository");
    assert_eq!(g.api_url.as_deref(), Some("https://ghe.example.com/api/v3"));
    assert_eq!(g.required_checks, ["build", "test"], "named once each");
    assert_eq!(
        c.github.auth,
        GitHubAuth::Token(SecretSource::File(dir.path().join("secrets/gh-token")))
    );
    assert_eq!(c.github.api_url, "https://api.github.com");
    assert_eq!(
        c.github.webhook_secret, None,
        "webhooks are refused without one"
    );

    let app = "[github]\napp_id = 12\napp_key_file = \"app.pem\"\ninstallation_id = 34\n";
    let c = parse(&format!("{app}{text}"), dir.path()).expect("valid");
    assert_eq!(
        c.github.auth,
        GitHubAuth::App {
            app_id: 12,
            private_key: SecretSource::File(dir.path().join("app.pem")),
            installation_id: 34,
        }
    );

    let neither = minimal("").replacen("repository = \".\"\n", "", 1);
    let err = parse(&neither, dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("a pipeline needs repository (a local path or a git URL to mirror) or github"),
        "{err}"
    );
}

#[test]
fn github_deployers_name_a_workflow_and_need_the_pipelines_repository() {
    let dir = repo_dir();
    let with = |top: &str, deployer: &str| {
        minimal("")
            .replacen(
                "repository = \".\"\n",
                &format!("repository = \".\"\n{top}"),
                1,
            )
            .replacen(
                "id = \"production\"\ndeployer = { command = [\"true\"] }",
                &format!("id = \"production\"\ndeployer = {deployer}"),
                1,
            )
    };
    let on_github = "github = { repository = \"o/r\" }\n";
    let c = parse(
        &with(
            on_github,
            r#"{ github_actions = { workflow = "deploy.yml", ref = "release", inputs = { region = "eu" } } }"#,
        ),
        dir.path(),
    )
    .expect("valid");
    match &c.pipelines[0].stages[1].deployer.kind {
        DeployerKind::GitHubActions(a) => {
            assert_eq!(a.workflow, "deploy.yml");
            assert_eq!(a.git_ref.as_deref(), Some("release"));
            assert_eq!(a.inputs.get("region").map(String::as_str), Some("eu"));
            assert_eq!(a.poll_interval, defaults::GITHUB_ACTIONS_POLL);
        }
        other => panic!("{other:?}"),
    }
    let c = parse(&with(on_github, "{ github_external = {} }"), dir.path()).expect("valid");
    assert!(matches!(
        &c.pipelines[0].stages[1].deployer.kind,
        DeployerKind::GitHubExternal(e) if e.poll_interval == defaults::GITHUB_EXTERNAL_POLL
    ));
    for (top, deployer, says) in [
        (
            "",
            "{ github_external = {} }",
            "a GitHub deployer needs the pipeline's github",
        ),
        (
            on_github,
            r#"{ github_actions = { workflow = "../deploy.sh" } }"#,
            "expected the workflow's file name under .github/workflows",
        ),
        (
            on_github,
            r#"{ github_actions = { workflow = "deploy.yml", inputs = { sha = "x" } } }"#,
            "the input \"sha\" is Slipway's own",
        ),
        (
            on_github,
            r#"{ github_actions = { workflow = "deploy.yml" }, command = ["true"] }"#,
            "not several",
        ),
    ] {
        let err = parse(&with(top, deployer), dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{deployer}: {err}");
    }
}

#[test]
fn a_pipelines_own_ci_check_is_a_sha_url_or_a_command_that_does_not_wait() {
    let dir = repo_dir();
    let with = |ci: &str| {
        minimal("").replacen(
            "repository = \".\"\n",
            &format!("repository = \".\"\nci = {ci}\n"),
            1,
        )
    };
    let c = parse(
        &with(r#"{ url = "https://ci.example.com/status/{sha}" }"#),
        dir.path(),
    )
    .expect("valid");
    let ci = c.pipelines[0].ci.as_ref().expect("a CI check");
    assert_eq!(
        ci.target,
        ArtifactTarget::Url("https://ci.example.com/status/{sha}".into())
    );
    assert_eq!(ci.timeout, defaults::ARTIFACT_TIMEOUT);
    for (ci, says) in [
        (
            r#"{ url = "https://ci.example.com/status" }"#,
            "has no {sha}: write where your CI answers",
        ),
        (
            r#"{ command = ["./ci.sh"], wait_minutes = 5 }"#,
            "a CI check does not wait",
        ),
        (
            "{ timeout_seconds = 5 }",
            "a CI check needs exactly one of url and command",
        ),
    ] {
        let err = parse(&with(ci), dir.path()).unwrap_err().to_string();
        assert!(err.contains(says), "{ci}: {err}");
    }
}
