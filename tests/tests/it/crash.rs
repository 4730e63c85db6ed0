//! A server killed outright (SIGKILL, out of memory) mid-deploy: what happens to the
//! deployer, and what the next start makes of it. Real binary, real process groups.

use slipway_core::deploys::runner::group_alive;
use slipway_core::store::Storage;
use slipway_model::deployment::DeploymentState;
use slipway_model::DeploymentId;
use slipway_tests::app::{deploying_pipeline, location, poll_until};
use slipway_tests::git::TestRepo;
use slipway_tests::process::{logged_in, Installation, Server};
use std::sync::Arc;
use std::time::Duration;

const PASSWORD: &str = "a long enough passphrase";

/// A server whose stages run `script`, with `olga` (ops and dev) logged in, and the
/// repository it follows.
struct Crashable {
    repo: TestRepo,
    install: Installation,
    _out: tempfile::TempDir,
}

impl Crashable {
    fn new(script: &str) -> Self {
        let repo = TestRepo::new().unwrap();
        let out = tempfile::tempdir().unwrap();
        let install = Installation::new(
            "shutdown_grace_seconds = 0",
            &deploying_pipeline(repo.path(), out.path(), script, ""),
        );
        install.add_user("olga", &["ops", "dev"], PASSWORD);
        Self {
            repo,
            install,
            _out: out,
        }
    }

    /// Marks main's head ready, promotes it to QA and waits until the deployer has
    /// printed its first line; returns the deployment and its process group.
    async fn start_deploy(
        &self,
        client: &reqwest::Client,
        db: &dyn Storage,
    ) -> (DeploymentId, i32) {
        let base = &self.install.base;
        let head = self.repo.head("main").unwrap();
        let post = |path: &str, form: Vec<(&'static str, String)>| {
            client
                .post(format!("{base}{path}"))
                .header("origin", base)
                .form(&form)
                .send()
        };
        post("/pipelines/web/ready", vec![("sha", head.clone())])
            .await
            .unwrap();
        let res = post(
            "/pipelines/web/promote",
            vec![("sha", head), ("stage", "qa".into())],
        )
        .await
        .unwrap();
        let id: DeploymentId = location(&res)
            .strip_prefix("/deployments/")
            .expect("a deployment started")
            .parse()
            .unwrap();
        for _ in 0..400 {
            let pgid = db.deployment(id).await.unwrap().and_then(|d| d.pgid);
            let started = db
                .log_lines(id, 0, 10)
                .await
                .unwrap()
                .iter()
                .any(|l| l.line == "started");
            if let (Some(pgid), true) = (pgid, started) {
                return (id, pgid);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("deployment #{id} did not start");
    }
}

/// What the restarted server must have made of deployment `id`: interrupted, said so
/// in its log, the audit log and its page.
async fn assert_recovered_as_interrupted(
    db: &dyn Storage,
    client: &reqwest::Client,
    base: &str,
    id: DeploymentId,
) {
    let d = db.deployment(id).await.unwrap().unwrap();
    assert_eq!(d.state, DeploymentState::Interrupted);
    let log = db.log_lines(id, 0, 10_000).await.unwrap();
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
}

/// Waits at most `within` for process group `pgid` to be gone.
async fn group_ends(pgid: i32, within: Duration) -> bool {
    poll_until("the process group ends", within, || async {
        Ok((!group_alive(pgid)).then_some(()))
    })
    .await
    .is_ok()
}

/// Starts a server for `script`, starts a deploy, SIGKILLs the server; returns the
/// installation (stopped), its database, the deployment and its process group.
async fn deploy_then_kill(script: &str) -> (Crashable, Arc<dyn Storage>, DeploymentId, i32) {
    let app = Crashable::new(script);
    let db = app.install.database().await;
    let mut server = app.install.start();
    server.wait_up().await;
    let client = logged_in(&app.install.base, "olga", PASSWORD).await;
    let (id, pgid) = app.start_deploy(&client, db.as_ref()).await;
    server.kill();
    (app, db, id, pgid)
}

/// Restarts the server and checks what it made of deployment `id`: interrupted, said
/// so in its log, the audit log and its page; returns the running server.
async fn restart_and_check(app: &Crashable, db: &dyn Storage, id: DeploymentId) -> Server {
    // Nothing ran to record the crash: the row says running until the next start.
    assert_eq!(
        db.deployment(id).await.unwrap().unwrap().state,
        DeploymentState::Running
    );
    let server = app.install.start();
    server.wait_up().await;
    let base = &app.install.base;
    let client = logged_in(base, "olga", PASSWORD).await;
    assert_recovered_as_interrupted(db, &client, base, id).await;
    server
}

#[tokio::test]
async fn a_quiet_deploy_outlives_a_sigkilled_server_and_the_restart_ends_it_as_interrupted() {
    let (app, db, id, pgid) = deploy_then_kill("echo started; sleep 300").await;
    assert!(
        group_alive(pgid),
        "a deploy that does not print outlives a SIGKILLed server"
    );
    let _server = restart_and_check(&app, db.as_ref(), id).await;
    assert!(
        group_ends(pgid, Duration::from_secs(10)).await,
        "the restarted server ended process group {pgid}"
    );
}

#[tokio::test]
async fn a_chatty_deploy_dies_with_a_sigkilled_server_at_its_next_write() {
    // The README's promise: the deployer's output goes to a pipe the server reads;
    // with the server gone, its next write gets SIGPIPE and the deploy ends at once,
    // long before any restart.
    let (app, db, id, pgid) =
        deploy_then_kill("echo started; while :; do echo tick; sleep 0.05; done").await;
    assert!(
        group_ends(pgid, Duration::from_secs(3)).await,
        "a printing deploy ends within moments of a SIGKILLed server (SIGPIPE)"
    );
    let _server = restart_and_check(&app, db.as_ref(), id).await;
}
