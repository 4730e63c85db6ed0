//! What a deployer process is given: an explicit environment and a working directory of
//! its own. Real binary (so the server's environment is really its own), real deploys.

use slipway_tests::git::TestRepo;
use slipway_tests::process::{logged_in, Installation};
use std::time::Duration;

const PASSWORD: &str = "a long enough passphrase";

#[tokio::test]
async fn a_deployer_sees_only_the_base_environment_and_what_pass_env_names_in_a_scratch_directory()
{
    let repo = TestRepo::new().unwrap();
    let out = tempfile::tempdir().unwrap();
    // The deployer reports its environment, where it runs and what is there, then
    // tries what a careless script might do in its working directory.
    let script =
        r#"env > "$OUT/env"; pwd > "$OUT/pwd"; ls -A > "$OUT/ls"; rm -rf ./* ./.[!.]*; echo done"#;
    let pipeline = format!(
        "[[pipelines]]\nid = \"web\"\nrepository = \"{}\"\nbranch = \"main\"\n\n\
         [[pipelines.stages]]\nid = \"qa\"\n\
         [pipelines.stages.deployer]\ncommand = [\"sh\", \"-c\", {script:?}]\n\
         env = {{ OUT = \"{}\" }}\npass_env = [\"AGENT_SOCKET\"]\n",
        repo.path().display(),
        out.path().display()
    );
    let install = Installation::new("", &pipeline);
    install.add_user("olga", &["dev", "ops"], PASSWORD);
    let _server = install.start_with(|cmd| {
        cmd.env("DATABASE_PASSWORD", "hunter2")
            .env("AGENT_SOCKET", "/run/agent.sock");
    });
    _server.wait_up().await;
    let base = &install.base;
    let client = logged_in(base, "olga", PASSWORD).await;
    let head = repo.head("main").unwrap();
    for (path, form) in [
        ("/pipelines/web/ready", vec![("sha", head.as_str())]),
        (
            "/pipelines/web/promote",
            // The only stage is production: confirmed, as its confirmation posts it.
            vec![
                ("sha", head.as_str()),
                ("stage", "qa"),
                ("confirmed", "true"),
            ],
        ),
    ] {
        let res = client
            .post(format!("{base}{path}"))
            .header("origin", base)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{path}");
    }
    let workdir = slipway_tests::app::poll_until(
        "the deployer to report",
        Duration::from_secs(30),
        || async {
            Ok(std::fs::read_to_string(out.path().join("ls"))
                .ok()
                .map(|_| ()))
        },
    )
    .await
    .and_then(|()| Ok(std::fs::read_to_string(out.path().join("pwd"))?))
    .unwrap();
    let env = std::fs::read_to_string(out.path().join("env")).unwrap();
    let names: Vec<&str> = env
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, _)| k)
        .collect();

    assert!(
        !env.contains("hunter2"),
        "the server's own environment leaked into the deployer: {names:?}"
    );
    assert!(env.contains("AGENT_SOCKET=/run/agent.sock"), "{names:?}");
    assert!(env.contains("OUT="), "{names:?}");
    assert!(env.contains(&format!("SLIPWAY_SHA={head}")), "{names:?}");
    assert!(env.lines().any(|l| l.starts_with("PATH=")), "{names:?}");
    for name in &names {
        let expected = name.starts_with("SLIPWAY_")
            || ["OUT", "AGENT_SOCKET", "PWD", "SHLVL", "_", "OLDPWD"].contains(name)
            || slipway_core::deploys::BASE_ENV.contains(name);
        assert!(
            expected,
            "{name} reached the deployer without being asked for"
        );
    }

    // Its own empty directory, outside the data directory, gone afterwards.
    let workdir = std::path::PathBuf::from(workdir.trim());
    let listing = std::fs::read_to_string(out.path().join("ls")).unwrap();
    assert_eq!(listing.trim(), "", "the working directory starts empty");
    assert!(
        !workdir.starts_with(install.dir()),
        "{} is inside the installation",
        workdir.display()
    );
    assert!(install.dir().join("data").is_dir());
    slipway_tests::app::poll_until(
        "the scratch directory to be removed",
        Duration::from_secs(10),
        || async { Ok((!workdir.exists()).then_some(())) },
    )
    .await
    .unwrap();
}
