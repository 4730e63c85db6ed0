//! The `slipway` binary as an operator runs it: real child processes.

use slipway_tests::app::{location, pipeline_config, site_dir};
use slipway_tests::git::TestRepo;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The `slipway` binary built next to this test binary (`scripts/test` builds it
/// first with cargo-leptos).
fn slipway() -> Command {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin: PathBuf = dir.join("slipway");
    assert!(
        bin.exists(),
        "{} missing: build it first (scripts/test does)",
        bin.display()
    );
    let mut cmd = Command::new(bin);
    cmd.env_remove("SLIPWAY_CONFIG").env("RUST_LOG", "warn");
    cmd
}

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
    assert!(err.contains("missing field `repository`"), "{err}");
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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = format!(
        "listen = \"127.0.0.1:{port}\"\nbase_url = \"http://127.0.0.1:{port}\"\nsite_dir = \"{}\"\n{}",
        site_dir().display(),
        pipeline_config(repo.path())
    );
    std::fs::write(&path, text).unwrap();
    let mut server = ServerProcess(slipway().arg("--config").arg(&path).spawn().unwrap());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        for _ in 0..100 {
            if client.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let res = client
            .post(format!("{base}/login"))
            .header("origin", &base)
            .form(&[
                ("username", "olga"),
                ("password", "a long enough passphrase"),
                ("next", ""),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        assert_eq!(location(&res), "/");
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
    server.stop();
}

struct ServerProcess(std::process::Child);

impl ServerProcess {
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let _ = self.0.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_server_killed_mid_deploy_marks_it_interrupted_and_ends_its_process_group_at_restart() {
    use slipway_core::deploys::runner::group_alive;
    use slipway_core::store::sqlite::SqliteStorage;
    use slipway_core::store::{AuditStore, DeploymentStore};
    use slipway_model::deployment::DeploymentState;
    use slipway_tests::app::deploying_pipeline;

    let repo = TestRepo::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let path = dir.path().join("slipway.toml");
    let text = format!(
        "listen = \"127.0.0.1:{port}\"\nbase_url = \"{base}\"\nsite_dir = \"{}\"\nshutdown_grace_seconds = 0\n{}",
        site_dir().display(),
        deploying_pipeline(repo.path(), out.path(), "echo started; sleep 300", "")
    );
    std::fs::write(&path, text).unwrap();
    let mut add = slipway()
        .arg("--config")
        .arg(&path)
        .args([
            "user",
            "add",
            "olga",
            "--role",
            "ops",
            "--role",
            "dev",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"a long enough passphrase\n")
        .unwrap();
    assert!(add.wait().unwrap().success());

    let start = || ServerProcess(slipway().arg("--config").arg(&path).spawn().unwrap());
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let wait_up = || async {
        for _ in 0..1200 {
            if client.get(format!("{base}/healthz")).send().await.is_ok() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the server did not come up");
    };
    let post = |path: &str, form: Vec<(&'static str, String)>| {
        client
            .post(format!("{base}{path}"))
            .header("origin", &base)
            .form(&form)
            .send()
    };

    let mut server = start();
    wait_up().await;
    let res = post(
        "/login",
        vec![
            ("username", "olga".into()),
            ("password", "a long enough passphrase".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 303);
    let head = repo.head("main").unwrap();
    post("/pipelines/web/ready", vec![("sha", head.clone())])
        .await
        .unwrap();
    let res = post(
        "/pipelines/web/promote",
        vec![("sha", head.clone()), ("stage", "qa".into())],
    )
    .await
    .unwrap();
    let to = location(&res);
    let id: slipway_model::DeploymentId = to
        .strip_prefix("/deployments/")
        .expect("a deployment started")
        .parse()
        .unwrap();

    // Read the recorded process group from the database, as the restarted server will.
    let db = SqliteStorage::connect(&format!(
        "sqlite://{}",
        dir.path().join("data/slipway.db").display()
    ))
    .await
    .unwrap();
    let mut pgid = None;
    for _ in 0..200 {
        pgid = db.deployment(id).await.unwrap().and_then(|d| d.pgid);
        if pgid.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let pgid = pgid.expect("the deployment recorded its process group");
    // Kill it once the deploy has visibly started (its first line is stored).
    for _ in 0..400 {
        if db
            .log_lines(id, 0, 10)
            .await
            .unwrap()
            .iter()
            .any(|l| l.line == "started")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // SIGKILL: no clean-up code runs; the deploy's process group survives on its own.
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    assert!(group_alive(pgid), "the deploy outlives a SIGKILLed server");
    assert_eq!(
        db.deployment(id).await.unwrap().unwrap().state,
        DeploymentState::Running
    );

    let mut server = start();
    wait_up().await;
    let d = db.deployment(id).await.unwrap().unwrap();
    assert_eq!(d.state, DeploymentState::Interrupted);
    let mut gone = false;
    for _ in 0..200 {
        if !group_alive(pgid) {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(gone, "the restarted server ended process group {pgid}");
    let log = db.log_lines(id, 0, 100).await.unwrap();
    assert!(log.iter().any(|l| l.line == "started"));
    assert!(log
        .iter()
        .any(|l| l.stream == "slipway" && l.line.contains("interrupted")));
    let audit = db.audit_entries(50).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "deploy_interrupted"
        && e.target.as_deref() == Some(&format!("deployment #{id}"))));
    let page = client
        .get(format!("{base}/deployments/{id}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("interrupted"));
    server.stop();
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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
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
    let mut server = ServerProcess(child);
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
    server.stop();
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
