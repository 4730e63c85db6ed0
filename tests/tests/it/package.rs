//! The release tarball `scripts/package` makes runs from any folder it is unpacked in.
//! (Packaged from the debug build `scripts/test` already made: the packaging is the
//! same; a release build would only take longer.)

use slipway_tests::app::pipeline_config;
use slipway_tests::database::TestDatabase;
use slipway_tests::git::TestRepo;
use slipway_tests::process::{free_port, Server};
use std::path::Path;
use std::process::Command;

#[tokio::test]
async fn the_release_tarball_unpacked_anywhere_serves_its_pages_and_assets() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = tempfile::tempdir().unwrap();
    let made = Command::new(root.join("scripts/package"))
        .args(["--debug", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "scripts/package failed:\n{}{}",
        String::from_utf8_lossy(&made.stdout),
        String::from_utf8_lossy(&made.stderr)
    );
    let tarball = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .expect("a tarball");

    let anywhere = tempfile::tempdir().unwrap();
    let unpacked = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(anywhere.path())
        .status()
        .unwrap();
    assert!(unpacked.success());
    let dir = std::fs::read_dir(anywhere.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .next()
        .expect("one folder");
    for file in [
        "slipway",
        "site/pkg/slipway.wasm",
        "slipway.example.toml",
        "slipway.service",
        "README.md",
    ] {
        assert!(dir.join(file).exists(), "{file} is in the package");
    }

    // A config of its own, no site_dir, started from an unrelated working directory,
    // with nothing in the environment pointing at the checkout.
    let repo = TestRepo::new().unwrap();
    let database = TestDatabase::create();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = anywhere.path().join("slipway.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\nbase_url = \"{base}\"\n{}\n{}",
            database.config_line(),
            pipeline_config(repo.path())
        ),
    )
    .unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let child = Command::new(dir.join("slipway"))
        .arg("--config")
        .arg(&config)
        .current_dir(elsewhere.path())
        .env_remove("SLIPWAY_SITE_DIR")
        .env_remove("LEPTOS_SITE_ROOT")
        .env_remove("SLIPWAY_CONFIG")
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let server = Server::from_child(child, &base);
    server.wait_up().await;
    let http = reqwest::Client::new();
    let login = http.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(login.status(), 200);
    assert!(login.text().await.unwrap().contains("/pkg/slipway"));
    let wasm = http
        .get(format!("{base}/pkg/slipway.wasm"))
        .send()
        .await
        .unwrap();
    assert_eq!(wasm.status(), 200, "the site is served from the package");
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    drop(server);
}
