//! How the server runs git against the operator's machine: their SSH setup is theirs.
//! Real binary (its environment and `$HOME` are its own), real git.

use slipway_tests::app::poll_until;
use slipway_tests::process::Installation;
use std::time::Duration;

#[tokio::test]
async fn the_operators_core_ssh_command_is_used_for_fetches_not_replaced_by_slipways_default() {
    // An operator who reaches their git host through their own SSH command (a deploy
    // key, a jump host) sets core.sshCommand in the service user's git config.
    let home = tempfile::tempdir().unwrap();
    let called = home.path().join("ssh-was-called");
    let ssh = home.path().join("operator-ssh");
    std::fs::write(
        &ssh,
        format!("#!/bin/sh\necho \"$@\" > '{}'\nexit 1\n", called.display()),
    )
    .unwrap();
    std::fs::set_permissions(&ssh, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(
        home.path().join(".gitconfig"),
        format!("[core]\n\tsshCommand = {}\n", ssh.display()),
    )
    .unwrap();
    let pipeline =
        "[[pipelines]]\nid = \"web\"\nrepository = \"ssh://git@git.example.invalid/shop.git\"\n\
                    branch = \"main\"\n\n[[pipelines.stages]]\nid = \"production\"\n\
                    deployer = { command = [\"true\"] }\n";
    let install = Installation::new("", pipeline);
    let server = install.start_with(|cmd| {
        cmd.env("HOME", home.path())
            .env_remove("GIT_SSH_COMMAND")
            .env_remove("GIT_SSH")
            .env_remove("XDG_CONFIG_HOME");
    });
    server.wait_up().await;
    let args = poll_until(
        "the first fetch to run the operator's ssh command",
        Duration::from_secs(30),
        || async { Ok(std::fs::read_to_string(&called).ok()) },
    )
    .await
    .unwrap();
    assert!(args.contains("git.example.invalid"), "{args}");
}
