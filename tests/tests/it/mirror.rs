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
        // The shell creates the file before it writes to it: wait for its content.
        || async {
            Ok(std::fs::read_to_string(&called)
                .ok()
                .filter(|a| !a.is_empty()))
        },
    )
    .await
    .unwrap();
    assert!(args.contains("git.example.invalid"), "{args}");
}

#[tokio::test]
async fn credentials_in_a_repository_url_reach_the_git_host_but_no_file_in_the_data_directory() {
    // A git host that wants Basic auth: 401 until it gets credentials, then it records
    // them and answers 403 (no repository needed to see what git sent).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut conn, _)) = listener.accept().await {
            let seen = seen_tx.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut len = 0;
                while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") && len < buf.len() {
                    match conn.read(&mut buf[len..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => len += n,
                    }
                }
                let request = String::from_utf8_lossy(&buf[..len]).into_owned();
                let auth = request
                    .lines()
                    .find_map(|l| l.strip_prefix("Authorization: "))
                    .map(str::to_owned);
                let answer = match auth {
                    None => "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    Some(a) => {
                        let _ = seen.send(a);
                        "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    }
                };
                let _ = conn.write_all(answer.as_bytes()).await;
            });
        }
    });
    let secret = "s3cr3t-p%40ss";
    let pipeline = format!(
        "[[pipelines]]\nid = \"web\"\nrepository = \"http://ci-bot:{secret}@127.0.0.1:{port}/shop.git\"\n\
         branch = \"main\"\n\n[[pipelines.stages]]\nid = \"production\"\n\
         deployer = {{ command = [\"true\"] }}\n"
    );
    let install = Installation::new("", &pipeline);
    let server = install.start();
    server.wait_up().await;
    let auth = tokio::time::timeout(Duration::from_secs(30), seen_rx.recv())
        .await
        .expect("git never sent credentials")
        .unwrap();
    // base64("ci-bot:s3cr3t-p@ss"): decoded from the URL, sent by the credential helper.
    assert_eq!(auth, "Basic Y2ktYm90OnMzY3IzdC1wQHNz");
    // Nothing under the data directory holds the password (the mirror's config has the
    // URL without it).
    let mut stack = vec![install.dir().join("data")];
    let mut files = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                files += 1;
                let text = String::from_utf8_lossy(&bytes);
                assert!(
                    !text.contains("s3cr3t"),
                    "{} holds the repository password",
                    path.display()
                );
            }
        }
    }
    assert!(files > 0);
}
