//! The `slipway` binary as an operator runs it: real child processes.

use slipway_tests::app::{location, pipeline_config, site_dir};
use slipway_tests::git::TestRepo;
use slipway_tests::process::{free_port, logged_in, slipway, Server};
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

#[test]
fn check_config_accepts_a_valid_file() {
    let repo = TestRepo::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slipway.toml");
    std::fs::write(&path, pipeline_config(repo.path())).unwrap();
    let out = slipway()
        .arg("--config")
        .arg(&path)
        .arg("check-config")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid (1 pipeline)"));
}

#[test]
fn config_errors_name_the_file_line_key_and_what_is_expected() {
    let repo = TestRepo::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    let text = pipeline_config(repo.path())
        .replace(
            "id = \"qa\"",
            "id = \"qa\"\npromote_roles = [\"qa\", \"tester\"]",
        )
        .replace("id = \"staging\"", "id = \"qa\"");
    std::fs::write(&path, &text).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;

    for args in [vec!["check-config"], vec!["serve"], vec![]] {
        let out = slipway()
            .arg("--config")
            .arg(&path)
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} must fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("broken.toml"), "{err}");
        assert!(
            err.contains(&format!("broken.toml:{}:", line_of("tester"))),
            "{err}"
        );
        assert!(
            err.contains("pipelines[0].stages[0].promote_roles"),
            "{err}"
        );
        assert!(
            err.contains("unknown role \"tester\": expected one of viewer, dev, qa, ops, admin"),
            "{err}"
        );
        assert!(err.contains("duplicate stage id \"qa\""), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn unknown_keys_and_a_missing_repository_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slipway.toml");
    std::fs::write(&path, "listen = \"127.0.0.1:0\"\nlisten_port = 3000\n").unwrap();
    let out = slipway()
        .arg("--config")
        .arg(&path)
        .arg("check-config")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("slipway.toml:2:1") && err.contains("unknown field `listen_port`"),
        "{err}"
    );

    std::fs::write(&path, "[[pipelines]]\nid = \"web\"\nstages = []\n").unwrap();
    let out = slipway()
        .arg("--config")
        .arg(&path)
        .arg("check-config")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("a pipeline needs repository (a local path or a git URL to mirror) or github"),
        "{err}"
    );
    assert!(err.contains("slipway.toml:"), "{err}");
}

#[test]
fn a_config_file_that_does_not_exist_is_an_error_not_a_demo() {
    let dir = tempfile::tempdir().unwrap();
    let out = slipway()
        .current_dir(dir.path())
        .arg("--config")
        .arg("nope.toml")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nope.toml") && err.contains("cannot read the config file"),
        "{err}"
    );
    assert!(
        !dir.path().join("demo-data").exists(),
        "no demo was started"
    );
}

#[test]
fn user_add_creates_a_user_who_can_then_log_in() {
    let repo = TestRepo::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slipway.toml");
    std::fs::write(&path, pipeline_config(repo.path())).unwrap();

    let run = |name: &str, password: &str, roles: &[&str]| {
        let mut cmd = slipway();
        cmd.arg("--config")
            .arg(&path)
            .args(["user", "add", name, "--password-stdin"]);
        for r in roles {
            cmd.args(["--role", r]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run("olga", "a long enough passphrase", &["ops", "qa"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("created user olga with roles qa, ops"));

    let out = run("olga", "a long enough passphrase", &["ops"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = run("short", "tooshort", &["dev"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12 characters"));
    let out = run("x", "a long enough passphrase", &["root"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown role \"root\""));

    // Start the real binary on that config and log in as olga over HTTP.
    let port = free_port();
    let text = format!(
        "listen = \"127.0.0.1:{port}\"\nbase_url = \"http://127.0.0.1:{port}\"\nsite_dir = \"{}\"\n{}",
        site_dir().display(),
        pipeline_config(repo.path())
    );
    std::fs::write(&path, text).unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let mut server =
        Server::from_child(slipway().arg("--config").arg(&path).spawn().unwrap(), &base);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        server.wait_up().await;
        // `logged_in` asserts the 303; the session then shows olga.
        let client = logged_in(&base, "olga", "a long enough passphrase").await;
        let body = client
            .get(format!("{base}/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(slipway_tests::app::whoami(&body) == Some("olga"), "{body}");
    });
    assert!(
        server.terminate(Duration::from_secs(30)).is_some(),
        "the server stops on SIGTERM"
    );
}

/// Runs `slipway --config <path> user <args…>` with `stdin` piped in.
fn user_cmd(path: &std::path::Path, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = slipway()
        .arg("--config")
        .arg(path)
        .arg("user")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn user_commands_change_roles_disable_enable_reset_and_list() {
    let repo = TestRepo::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slipway.toml");
    std::fs::write(&path, pipeline_config(repo.path())).unwrap();

    let pw = "ada's long passphrase\n";
    stdout(&user_cmd(
        &path,
        &["add", "ada", "--role", "admin", "--password-stdin"],
        pw,
    ));
    stdout(&user_cmd(
        &path,
        &["add", "bob", "--role", "dev", "--password-stdin"],
        pw,
    ));

    let out = stdout(&user_cmd(
        &path,
        &["set-roles", "bob", "--role", "qa", "--role", "ops"],
        "",
    ));
    assert!(out.contains("bob now has roles qa, ops"), "{out}");
    let out = stdout(&user_cmd(&path, &["disable", "bob"], ""));
    assert!(out.contains("disabled bob"), "{out}");
    let out = stdout(&user_cmd(&path, &["list"], ""));
    let bob_line = out.lines().find(|l| l.starts_with("bob")).unwrap();
    assert!(
        bob_line.contains("qa, ops") && bob_line.contains("disabled"),
        "{out}"
    );
    assert!(out.lines().next().unwrap().starts_with("NAME"), "{out}");
    stdout(&user_cmd(&path, &["enable", "bob"], ""));

    let out = stdout(&user_cmd(&path, &["reset-password", "bob"], ""));
    let temporary = out
        .split("temporary password for bob: ")
        .nth(1)
        .and_then(|r| r.lines().next())
        .unwrap()
        .to_owned();
    assert_eq!(temporary.len(), 23, "{out}");
    let out = stdout(&user_cmd(&path, &["list"], ""));
    assert!(
        out.lines()
            .any(|l| l.starts_with("bob") && l.contains("must change password")),
        "{out}"
    );

    // Refusals say why, and change nothing.
    for (args, expected) in [
        (vec!["disable", "ada"], "no enabled administrator"),
        (
            vec!["set-roles", "ada", "--role", "dev"],
            "no enabled administrator",
        ),
        (vec!["disable", "nobody"], "no user named \"nobody\""),
        (
            vec!["set-roles", "bob", "--role", "root"],
            "unknown role \"root\"",
        ),
    ] {
        let out = user_cmd(&path, &args, "");
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    let out = stdout(&user_cmd(&path, &["list"], ""));
    assert!(
        out.lines()
            .any(|l| l.starts_with("ada") && l.contains("admin") && l.contains("active")),
        "{out}"
    );
}

#[test]
fn a_first_start_without_an_admin_prints_a_one_time_setup_link() {
    use std::io::{BufRead, BufReader};
    let repo = TestRepo::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slipway.toml");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:{port}\"\nbase_url = \"{base}\"\nsite_dir = \"{}\"\n{}",
            site_dir().display(),
            pipeline_config(repo.path())
        ),
    )
    .unwrap();
    let mut child = slipway()
        .arg("--config")
        .arg(&path)
        // The most verbose logs must still not carry the token anywhere but the link.
        .env("RUST_LOG", "debug")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut server = Server::from_child(child, &base);
    // Drain stderr on a thread for the server's whole life (a closed pipe would break
    // its later writes), passing lines on.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let prefix = format!("{base}/setup?token=");
    let link = rx
        .iter()
        .find_map(|l| l.trim().strip_prefix(&prefix).map(str::to_owned))
        .expect("the server prints a setup link");
    assert_eq!(link.len(), 64, "{link}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = client
            .get(format!("{base}/setup?token={link}"))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let form = [
            ("token", link.as_str()),
            ("name", "root"),
            ("password", "the first admin's passphrase"),
            ("confirm", "the first admin's passphrase"),
        ];
        let res = client
            .post(format!("{base}/setup"))
            .header("origin", &base)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        assert_eq!(location(&res), "/admin/users");
        let html = client
            .get(format!("{base}/admin/users"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(slipway_tests::app::whoami(&html), Some("root"), "{html}");
        // Once only.
        let res = client
            .post(format!("{base}/setup"))
            .header("origin", &base)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert!(location(&res).starts_with("/setup?token="));
    });
    server.terminate(Duration::from_secs(30));
    let leaks: Vec<String> = rx.iter().filter(|l| l.contains(&link)).collect();
    assert!(
        leaks.is_empty(),
        "the setup token leaked into the logs: {leaks:?}"
    );
    let out = slipway()
        .arg("--config")
        .arg(&path)
        .args(["user", "list"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("root"));
}

#[test]
fn the_two_replica_example_configs_are_valid_and_differ_only_where_replicas_must() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/replicas");
    let mut texts = Vec::new();
    for name in ["replica-a.toml", "replica-b.toml"] {
        let path = dir.join(name);
        let out = slipway()
            .arg("--config")
            .arg(&path)
            .arg("check-config")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let settings: Vec<String> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
        texts.push(settings);
    }
    let differing: Vec<&str> = texts[0]
        .iter()
        .zip(&texts[1])
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.split(" = ").next().unwrap_or(""))
        .collect();
    assert_eq!(
        differing,
        ["listen", "data_dir", "listen"],
        "the address, data directory and metrics address"
    );
}
