use super::*;
use slipway_model::Role;

fn repo_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn parse(text: &str, dir: &Path) -> Result<Config, ConfigError> {
    Config::parse(text, &dir.join("slipway.toml"))
}

fn minimal(extra_stage: &str) -> String {
    format!(
        r#"
[[pipelines]]
id = "web"
repository = "."

[[pipelines.stages]]
id = "staging"
deployer = {{ command = ["true"] }}

[[pipelines.stages]]
id = "production"
deployer = {{ command = ["true"] }}
{extra_stage}
"#
    )
}

#[test]
fn a_minimal_config_gets_the_documented_defaults() {
    let dir = repo_dir();
    let c = parse(&minimal(""), dir.path()).expect("valid");
    assert_eq!(c.listen.to_string(), "127.0.0.1:3000");
    assert_eq!(c.base_url.as_str(), "http://127.0.0.1:3000/");
    assert_eq!(c.data_dir, dir.path().join("data"));
    assert!(
        c.trusted_proxies.is_empty(),
        "no proxy is trusted unless listed"
    );
    let p = &c.pipelines[0];
    assert_eq!(p.branch, "main");
    assert_eq!(p.repository, RepoSource::Local(dir.path().join(".")));
    let (staging, prod) = (&p.stages[0], &p.stages[1]);
    assert!(!staging.production && !staging.fast_forward_only);
    assert!(
        prod.production && prod.fast_forward_only,
        "the last stage is production by default"
    );
    assert_eq!(prod.promote_roles, [Role::Ops].into_iter().collect());
    assert_eq!(
        staging.promote_roles,
        [Role::Qa, Role::Ops].into_iter().collect()
    );
}

#[test]
fn trusted_proxies_are_addresses_or_ranges_and_bad_ones_are_named() {
    let dir = repo_dir();
    let good = format!(
        "trusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n{}",
        minimal("")
    );
    let c = parse(&good, dir.path()).expect("valid");
    assert_eq!(c.trusted_proxies.len(), 2);
    let bad = format!(
        "trusted_proxies = [\"127.0.0.1\", \"nginx\"]\n{}",
        minimal("")
    );
    let msg = parse(&bad, dir.path()).unwrap_err().to_string();
    assert!(msg.contains("slipway.toml:1:"), "{msg}");
    assert!(msg.contains("trusted_proxies[1]"), "{msg}");
    assert!(
        msg.contains("\"nginx\" is not an IP address or range"),
        "{msg}"
    );
}

#[test]
fn unknown_keys_are_errors_with_file_and_line() {
    let dir = repo_dir();
    let text = minimal("colour = \"red\"\n");
    let err = parse(&text, dir.path()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("slipway.toml:13:1"), "{msg}");
    assert!(msg.contains("unknown field `colour`"), "{msg}");
}

#[test]
fn an_unknown_role_names_the_key_and_the_valid_roles() {
    let dir = repo_dir();
    let text = minimal("").replace(
        "id = \"production\"",
        "id = \"production\"\npromote_roles = [\"ops\", \"superuser\"]",
    );
    let msg = parse(&text, dir.path()).unwrap_err().to_string();
    assert!(
        msg.contains("pipelines[0].stages[1].promote_roles"),
        "{msg}"
    );
    assert!(msg.contains("unknown role \"superuser\""), "{msg}");
    assert!(msg.contains("viewer, dev, qa, ops, admin"), "{msg}");
    assert!(msg.contains("slipway.toml:12:"), "{msg}");
}

#[test]
fn duplicate_stage_ids_are_refused() {
    let dir = repo_dir();
    let text = minimal("").replace("id = \"production\"", "id = \"staging\"");
    let msg = parse(&text, dir.path()).unwrap_err().to_string();
    assert!(msg.contains("duplicate stage id \"staging\""), "{msg}");
    assert!(msg.contains("pipelines[0].stages[1].id"), "{msg}");
}

#[test]
fn a_missing_repository_is_named() {
    let dir = repo_dir();
    let text = minimal("").replace("repository = \".\"\n", "");
    let msg = parse(&text, dir.path()).unwrap_err().to_string();
    assert!(msg.contains("missing field `repository`"), "{msg}");
}

#[test]
fn a_repository_path_that_does_not_exist_is_refused() {
    let dir = repo_dir();
    let text = minimal("").replace("repository = \".\"", "repository = \"nope/repo\"");
    let msg = parse(&text, dir.path()).unwrap_err().to_string();
    assert!(msg.contains("no repository at"), "{msg}");
}

#[test]
fn remote_urls_are_kept_as_they_are() {
    let dir = repo_dir();
    for url in [
        "https://example.com/a/b.git",
        "git@github.com:a/b.git",
        "ssh://git@host/x",
    ] {
        let text = minimal("").replace("repository = \".\"", &format!("repository = \"{url}\""));
        let c = parse(&text, dir.path()).expect("valid");
        assert_eq!(
            c.pipelines[0].repository,
            RepoSource::Remote(url.to_owned())
        );
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let dir = repo_dir();
    let text = minimal("")
        .replace("id = \"web\"", "id = \"Web Site\"")
        .replace(
            "id = \"staging\"",
            "id = \"staging\"\nfast_forward_only = \"yes\"",
        );
    // A type error stops serde early; use semantic errors for the "all at once" case.
    let _ = parse(&text, dir.path()).unwrap_err();
    let text = minimal("")
        .replace("id = \"web\"", "id = \"Web Site\"")
        .replace(
            "id = \"production\"",
            "id = \"production\"\npromote_roles = [\"root\"]",
        );
    let err = parse(&text, dir.path()).unwrap_err();
    assert_eq!(err.problems.len(), 2, "{err}");
}

#[test]
fn wrong_types_say_what_was_expected() {
    let dir = repo_dir();
    let text = minimal("").replace("id = \"staging\"", "id = \"staging\"\nproduction = \"no\"");
    let msg = parse(&text, dir.path()).unwrap_err().to_string();
    assert!(
        msg.contains("invalid type") && msg.contains("expected a boolean"),
        "{msg}"
    );
    assert!(msg.contains("slipway.toml:8:14: `production`"), "{msg}");
}

#[test]
fn reserved_and_invalid_env_names_are_refused() {
    let dir = repo_dir();
    let text = minimal("").replace(
        "id = \"production\"\ndeployer = { command = [\"true\"] }",
        "id = \"production\"\ndeployer = { command = [\"true\"], env = { SLIPWAY_SHA = \"x\" } }",
    );
    let msg = parse(&text, dir.path()).unwrap_err().to_string();
    assert!(msg.contains("SLIPWAY_* is reserved"), "{msg}");
}

#[test]
fn pass_env_takes_variable_names_and_the_deployer_gets_them() {
    let dir = repo_dir();
    let with = |names: &str| {
        minimal("").replace(
            "id = \"production\"\ndeployer = { command = [\"true\"] }",
            &format!(
                "id = \"production\"\ndeployer = {{ command = [\"true\"], pass_env = {names} }}"
            ),
        )
    };
    let config = parse(&with("[\"SSH_AUTH_SOCK\", \"AWS_PROFILE\"]"), dir.path()).unwrap();
    assert_eq!(
        config.pipelines[0].stages[1].deployer.pass_env,
        vec!["SSH_AUTH_SOCK", "AWS_PROFILE"]
    );
    for bad in ["\"A B\"", "\"1X\"", "\"SLIPWAY_SHA\"", "\"\""] {
        let msg = parse(&with(&format!("[{bad}]")), dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("pass_env") && msg.contains("not an environment variable name"),
            "{bad}: {msg}"
        );
    }
}

#[test]
fn an_unsafe_branch_is_refused() {
    let dir = repo_dir();
    for bad in ["-x", "a..b", "a b", "main;rm"] {
        let text = minimal("").replace(
            "repository = \".\"",
            &format!("repository = \".\"\nbranch = \"{bad}\""),
        );
        assert!(parse(&text, dir.path()).is_err(), "{bad}");
    }
}

#[test]
fn sign_off_and_checklist_are_read_per_stage() {
    let dir = repo_dir();
    let text = minimal("checklist = [\"Backup taken\", \" Release notes posted \"]").replace(
        "id = \"staging\"",
        "id = \"staging\"\nsign_off = { roles = [\"qa\"] }",
    );
    let c = parse(&text, dir.path()).expect("valid");
    let (staging, prod) = (&c.pipelines[0].stages[0], &c.pipelines[0].stages[1]);
    assert_eq!(
        staging.sign_off.as_ref().map(|s| s.roles),
        Some([Role::Qa].into_iter().collect())
    );
    assert!(prod.sign_off.is_none() && staging.checklist.is_empty());
    assert_eq!(prod.checklist, ["Backup taken", "Release notes posted"]);
}

#[test]
fn governance_mistakes_are_named_with_their_keys() {
    let dir = repo_dir();
    let text = minimal(
        "sign_off = { roles = [\"qa\"] }\nchecklist = [\"Backup taken\", \"\", \"Backup taken\"]",
    )
    .replace(
        "id = \"staging\"",
        "id = \"staging\"\nsign_off = { roles = [] }",
    );
    let msg = parse(&text, dir.path()).unwrap_err().to_string();
    for expected in [
        "pipelines[0].stages[0].sign_off.roles",
        "nobody could sign off on this stage",
        "pipelines[0].stages[1].sign_off",
        "the last stage has no next stage for a sign-off to hold back",
        "pipelines[0].stages[1].checklist",
        "got an empty one",
        "\"Backup taken\" is listed twice",
    ] {
        assert!(msg.contains(expected), "{expected:?} in {msg}");
    }
    let typo = minimal("").replace(
        "id = \"staging\"",
        "id = \"staging\"\nsign_off = { role = [\"qa\"] }",
    );
    let msg = parse(&typo, dir.path()).unwrap_err().to_string();
    assert!(msg.contains("unknown field `role`"), "{msg}");
}

#[test]
fn windows_and_freezes_are_read_and_their_mistakes_named() {
    let dir = repo_dir();
    let text = minimal(
        "windows = [{ days = \"Mon-Thu\", from = \"09:00\", to = \"16:00\", time_zone = \"Europe/Berlin\" }]",
    ) + "\n[[pipelines.freezes]]\nfrom = \"2026-12-24T00:00:00+01:00\"\nuntil = \"2026-12-27T00:00:00+01:00\"\nreason = \"Christmas\"\nstages = [\"production\"]\n";
    let c = parse(&text, dir.path()).expect("valid");
    let p = &c.pipelines[0];
    assert_eq!(p.stages[1].windows.len(), 1);
    assert_eq!(p.freezes.len(), 1);
    assert_eq!(p.freezes[0].reason, "Christmas");

    let bad = minimal(
        "windows = [{ days = \"Someday\", from = \"9\", to = \"16:00\", time_zone = \"Mars/Olympus\" }]",
    ) + "\n[[pipelines.freezes]]\nfrom = \"soon\"\nuntil = \"2026-12-27T00:00:00+01:00\"\nreason = \" \"\nstages = [\"moon\"]\n";
    let msg = parse(&bad, dir.path()).unwrap_err().to_string();
    for expected in [
        "pipelines[0].stages[1].windows[0]",
        "from = \"9\" is not a time",
        "pipelines[0].freezes[0].from",
        "RFC 3339",
        "pipelines[0].freezes[0].reason",
        "no stage \"moon\"",
    ] {
        assert!(msg.contains(expected), "{expected:?} in {msg}");
    }
}

#[test]
fn calendar_feeds_are_files_or_http_urls_of_this_pipeline_s_stages() {
    let dir = repo_dir();
    let text = minimal("") + "\n[[pipelines.calendars]]\nsource = \"team.ics\"\n\n[[pipelines.calendars]]\nsource = \"https://cal.example.com/ops.ics\"\nstages = [\"production\"]\nrefresh_minutes = 5\n";
    let c = parse(&text, dir.path()).expect("valid");
    let feeds = &c.pipelines[0].calendars;
    assert_eq!(
        feeds[0].source,
        FeedSource::File(dir.path().join("team.ics"))
    );
    assert_eq!(feeds[0].refresh, defaults::CALENDAR_REFRESH);
    assert_eq!(feeds[1].refresh, std::time::Duration::from_secs(300));
    let bad = minimal("") + "\n[[pipelines.calendars]]\nsource = \"ftp://x/y.ics\"\nstages = [\"moon\"]\nrefresh_minutes = 0\n";
    let msg = parse(&bad, dir.path()).unwrap_err().to_string();
    for expected in [
        "pipelines[0].calendars[0].source",
        "http:// or https://",
        "no stage \"moon\"",
        "pipelines[0].calendars[0].refresh_minutes",
    ] {
        assert!(msg.contains(expected), "{expected:?} in {msg}");
    }
}

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
            "a deployer is a command or an HTTP call, not both",
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
        c.github.as_ref().map(|g| &g.webhook_secret),
        Some(&SecretSource::File(
            dir.path().join("secrets/github-webhook")
        ))
    );
    let repo = c.pipelines[0].github.as_ref().expect("a repository");
    assert!(repo.is("Octo-Org/Web-Shop"), "GitHub names ignore case");
    assert!(!repo.is("octo-org/web"));
    assert!(parse(&minimal(""), dir.path())
        .expect("valid")
        .github
        .is_none());

    for (top, repo, says) in [
        ("[github]", "", "[github] needs webhook_secret_env"),
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
