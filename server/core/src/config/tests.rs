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
    assert!(
        msg.contains(
            "`pipelines[0]` a pipeline needs repository (a local path or a git URL to mirror)"
        ),
        "{msg}"
    );
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

// Environment truth and the outside world: migrations, retries, probes, deployers,
// artifacts, webhooks, GitHub.
mod environment;
