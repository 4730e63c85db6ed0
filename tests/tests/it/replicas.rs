//! Several replicas on one PostgreSQL database: live events cross replicas, a stage is
//! deployed once however many replicas are asked at once, a dead replica's deploy is
//! interrupted and its processes ended by another, a viewer of a dead replica resumes
//! on another without a gap, and background work runs once per cluster.
//!
//! These always use PostgreSQL (SQLite serves one process); `scripts/test` runs them
//! in its PostgreSQL pass.

use serde_json::Value;
use slipway_core::deploys::runner::group_alive;
use slipway_core::store::postgres::PgStorage;
use slipway_core::store::{AuditStore as _, DeploymentStore as _, EventStore as _};
use slipway_model::deployment::DeploymentState;
use slipway_model::DeploymentId;
use slipway_tests::app::{deploying_pipeline, location, poll_until};
use slipway_tests::git::TestRepo;
use slipway_tests::process::logged_in;
use slipway_tests::replicas::Replicas;
use slipway_tests::sse::{SseEvent, SseReader};
use std::time::Duration;

const PASSWORD: &str = "a long enough passphrase";
const WAIT: Duration = Duration::from_secs(30);

/// A cluster of `n` whose stages run `script`, with olga (ops, qa, dev) and vera
/// (viewer), and the repository it follows.
async fn cluster(n: usize, script: &str) -> (Replicas, TestRepo, tempfile::TempDir) {
    let repo = TestRepo::new().unwrap();
    let out = tempfile::tempdir().unwrap();
    let replicas = Replicas::start(
        n,
        &deploying_pipeline(repo.path(), out.path(), script, ""),
        &[
            ("olga", &["ops", "qa", "dev"], PASSWORD),
            ("vera", &["viewer"], PASSWORD),
        ],
    )
    .await;
    (replicas, repo, out)
}

/// Posts a board form to `base` as `client`.
async fn post(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(format!("{base}{path}"))
        .header("origin", base)
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Marks `sha` ready and promotes it to QA through `base`; the deployment's id.
async fn promote(client: &reqwest::Client, base: &str, sha: &str) -> DeploymentId {
    post(client, base, "/pipelines/web/ready", &[("sha", sha)]).await;
    let res = post(
        client,
        base,
        "/pipelines/web/promote",
        &[("sha", sha), ("stage", "qa")],
    )
    .await;
    location(&res)
        .strip_prefix("/deployments/")
        .unwrap_or_else(|| panic!("no deployment started: {}", location(&res)))
        .parse()
        .unwrap()
}

/// The cluster's database, opened by the test.
async fn database(replicas: &Replicas) -> PgStorage {
    let line = replicas.database_line();
    let url = line
        .trim()
        .strip_prefix("database_url = \"")
        .and_then(|s| s.strip_suffix('"'))
        .unwrap();
    PgStorage::connect(url).await.unwrap()
}

/// Waits until deployment `id`'s deployer has printed "started"; its process group.
async fn deployer_started(db: &PgStorage, id: DeploymentId) -> i32 {
    poll_until("the deployer to start", WAIT, || async {
        let d = db.deployment(id).await?.unwrap();
        let started = db
            .log_lines(id, 0, 10)
            .await?
            .iter()
            .any(|l| l.line == "started");
        Ok(d.pgid.filter(|_| started))
    })
    .await
    .unwrap()
}

fn id_of(e: &SseEvent) -> i64 {
    e.id.as_deref().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_promotion_through_one_replica_is_seen_live_by_a_viewer_of_another() {
    let (replicas, repo, _out) = cluster(2, "echo started; echo done").await;
    let (a, b) = (replicas.base(0), replicas.base(1));
    let olga = logged_in(a, "olga", PASSWORD).await;
    let vera = logged_in(b, "vera", PASSWORD).await;
    let mut events = SseReader::open(&vera, &format!("{b}/api/v1/events"), None, None)
        .await
        .unwrap();

    let head = repo.head("main").unwrap();
    let id = promote(&olga, a, &head).await;

    let (done, seen) = events
        .until(WAIT, |e| {
            e.event == "deployment"
                && e.data.contains(&format!("\"deployment\":{id}"))
                && e.data.contains("\"succeeded\"")
        })
        .await
        .unwrap();
    let lines: Vec<Value> = seen
        .iter()
        .filter(|e| e.event == "log")
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .collect();
    assert_eq!(
        lines
            .iter()
            .map(|l| l["line"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["started", "done"],
        "the log lines printed on A reach B's viewer: {seen:?}"
    );
    let ids: Vec<i64> = seen.iter().chain([&done]).map(id_of).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in id order: {ids:?}");
}

#[tokio::test]
async fn two_hundred_promotions_spread_over_three_replicas_make_exactly_one_deployment() {
    let (replicas, repo, _out) = cluster(3, "echo started; sleep 30").await;
    let head = repo.head("main").unwrap();
    let mut clients = Vec::new();
    for i in 0..3 {
        clients.push(logged_in(replicas.base(i), "olga", PASSWORD).await);
    }
    post(
        &clients[0],
        replicas.base(0),
        "/pipelines/web/ready",
        &[("sha", &head)],
    )
    .await;

    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..200 {
        let client = clients[n % 3].clone();
        let base = replicas.base(n % 3).to_owned();
        let head = head.clone();
        tasks.spawn(async move {
            let res = post(
                &client,
                &base,
                "/pipelines/web/promote",
                &[("sha", &head), ("stage", "qa")],
            )
            .await;
            (res.status().as_u16(), location(&res).to_owned())
        });
    }
    let mut started = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (status, to) = done.unwrap();
        assert_eq!(status, 303, "every request is answered with a redirect");
        if to.starts_with("/deployments/") {
            started.push(to);
        }
    }
    assert_eq!(
        started.len(),
        1,
        "one promotion started a deployment: {started:?}"
    );

    let db = database(&replicas).await;
    let all = db
        .stage_history(
            &slipway_model::PipelineId::parse("web").unwrap(),
            &slipway_model::StageId::parse("qa").unwrap(),
            100,
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 1, "one deployment row: {all:?}");
}

#[tokio::test]
async fn a_deploy_of_a_killed_replica_is_interrupted_by_another_which_ends_its_processes() {
    let (mut replicas, repo, _out) = cluster(3, "echo started; sleep 60").await;
    let a = replicas.base(0).to_owned();
    let olga = logged_in(&a, "olga", PASSWORD).await;
    let db = database(&replicas).await;
    let head = repo.head("main").unwrap();
    let id = promote(&olga, &a, &head).await;
    let pgid = deployer_started(&db, id).await;

    replicas.kill(0);

    // The timeout is 3 s; the survivors look twice a second. Well within 15 s:
    let ended = poll_until(
        "another replica to interrupt it",
        Duration::from_secs(15),
        || async {
            let d = db.deployment(id).await?.unwrap();
            Ok((d.state == DeploymentState::Interrupted).then_some(d))
        },
    )
    .await
    .unwrap();
    assert!(ended.finished_at.is_some());
    poll_until(
        "the orphaned deployer to be ended",
        Duration::from_secs(15),
        || async { Ok((!group_alive(pgid)).then_some(())) },
    )
    .await
    .unwrap();
    let log = db.log_lines(id, 0, 100).await.unwrap();
    let note = log
        .iter()
        .find(|l| l.stream == "slipway" && l.line.starts_with("interrupted"))
        .expect("the log says why it ended");
    assert!(
        note.line.contains("its replica") && note.line.contains(&pgid.to_string()),
        "names the replica and the group it ended: {}",
        note.line
    );
    // The audit entry follows the state change (the state is what frees the stage).
    let target = format!("deployment #{id}");
    let interruptions = || async {
        let audit = db.audit_entries(50).await?;
        Ok::<_, anyhow::Error>(
            audit
                .iter()
                .filter(|e| {
                    e.action == "deploy_interrupted" && e.target.as_deref() == Some(&target)
                })
                .count(),
        )
    };
    poll_until(
        "the interruption's audit entry",
        Duration::from_secs(15),
        || async { Ok((interruptions().await? > 0).then_some(())) },
    )
    .await
    .unwrap();
    // Every survivor has looked again by now (they look twice a second).
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        interruptions().await.unwrap(),
        1,
        "interrupted once, by one replica"
    );

    // The stage is free again: a survivor deploys it.
    let b = replicas.base(1).to_owned();
    let olga_b = logged_in(&b, "olga", PASSWORD).await;
    let res = post(
        &olga_b,
        &b,
        "/pipelines/web/promote",
        &[("sha", &head), ("stage", "qa")],
    )
    .await;
    assert!(
        location(&res).starts_with("/deployments/"),
        "{}",
        location(&res)
    );
}

#[tokio::test]
async fn a_viewer_of_a_killed_replica_resumes_on_another_without_missing_an_event() {
    let (mut replicas, mut repo, _out) = cluster(3, "echo started; echo done").await;
    let (a, b, c) = (
        replicas.base(0).to_owned(),
        replicas.base(1).to_owned(),
        replicas.base(2).to_owned(),
    );
    let vera_a = logged_in(&a, "vera", PASSWORD).await;
    let mut on_a = SseReader::open(&vera_a, &format!("{a}/api/v1/events"), None, None)
        .await
        .unwrap();
    let olga = logged_in(&c, "olga", PASSWORD).await;
    let first = repo.head("main").unwrap();
    post(&olga, &c, "/pipelines/web/ready", &[("sha", &first)]).await;
    let (seen, _) = on_a.until(WAIT, |e| e.event == "board").await.unwrap();
    let last = id_of(&seen);

    replicas.kill(0);
    drop(on_a);
    // While the viewer has no connection, things happen (through C).
    let second = repo.commit("While away").unwrap();
    let id = promote(&olga, &c, &second).await;
    let db = database(&replicas).await;
    poll_until("the deploy to end", WAIT, || async {
        let d = db.deployment(id).await?.unwrap();
        Ok((!d.state.is_active()).then_some(()))
    })
    .await
    .unwrap();

    // The browser reconnects, to B this time, with the last id it saw.
    let vera_b = logged_in(&b, "vera", PASSWORD).await;
    let mut on_b = SseReader::open(
        &vera_b,
        &format!("{b}/api/v1/events"),
        None,
        Some(&last.to_string()),
    )
    .await
    .unwrap();
    let (end, before) = on_b
        .until(WAIT, |e| {
            e.event == "deployment"
                && e.data.contains(&format!("\"deployment\":{id}"))
                && e.data.contains("\"succeeded\"")
        })
        .await
        .unwrap();
    let received: Vec<i64> = before.iter().chain([&end]).map(id_of).collect();
    let stored: Vec<i64> = db
        .events_after(last, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .take_while(|&i| i <= id_of(&end))
        .collect();
    assert_eq!(
        received, stored,
        "every event after the last one seen, in order"
    );
}

#[tokio::test]
async fn a_health_probe_runs_once_per_cluster_not_once_per_replica() {
    let repo = TestRepo::new().unwrap();
    let out = tempfile::tempdir().unwrap();
    let runs = out.path().join("probes");
    let probe = format!(
        "health = {{ command = [\"sh\", \"-c\", \"echo probed >> {}\"], interval_seconds = 1 }}",
        runs.display()
    );
    let replicas = Replicas::start(
        3,
        &deploying_pipeline(repo.path(), out.path(), "true", &probe),
        &[],
    )
    .await;
    let count = || {
        std::fs::read_to_string(&runs)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    };
    let before = count();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let during = count() - before;
    // Three stages probed every second for 6 s: 18 runs by one leader (fewer when the
    // machine is slow), 54 if every replica probed.
    assert!(
        (3..=27).contains(&during),
        "{during} probe runs in 6 s by 3 replicas"
    );
    drop(replicas);
}

#[tokio::test]
async fn a_cancel_through_one_replica_stops_the_deploy_another_runs() {
    let (replicas, repo, _out) = cluster(2, "echo started; sleep 60").await;
    let (a, b) = (replicas.base(0).to_owned(), replicas.base(1).to_owned());
    let olga_a = logged_in(&a, "olga", PASSWORD).await;
    let olga_b = logged_in(&b, "olga", PASSWORD).await;
    let db = database(&replicas).await;
    let id = promote(&olga_a, &a, &repo.head("main").unwrap()).await;
    let pgid = deployer_started(&db, id).await;

    let res = post(&olga_b, &b, &format!("/deployments/{id}/cancel"), &[]).await;
    assert_eq!(res.status(), 303, "{}", location(&res));
    let d = poll_until(
        "the runner to cancel it",
        Duration::from_secs(15),
        || async {
            let d = db.deployment(id).await?.unwrap();
            Ok((!d.state.is_active()).then_some(d))
        },
    )
    .await
    .unwrap();
    assert_eq!(d.state, DeploymentState::Cancelled);
    assert!(!group_alive(pgid), "its processes were ended by the runner");
}

#[tokio::test]
async fn a_paused_replica_is_declared_dead_and_on_waking_stops_what_it_ran() {
    let (replicas, repo, _out) = cluster(2, "echo started; sleep 60").await;
    let a = replicas.base(0).to_owned();
    let olga = logged_in(&a, "olga", PASSWORD).await;
    let db = database(&replicas).await;
    let id = promote(&olga, &a, &repo.head("main").unwrap()).await;
    let pgid = deployer_started(&db, id).await;

    // A stops answering and heartbeating, its process still there (a long pause, a
    // frozen VM): after the 3 s timeout, B takes over.
    let pid = replicas.server(0).unwrap().pid().to_string();
    let signal = |sig: &str| {
        assert!(std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap()
            .success())
    };
    signal("-STOP");
    let d = poll_until(
        "B to interrupt the silent replica's deploy",
        Duration::from_secs(20),
        || async {
            let d = db.deployment(id).await?.unwrap();
            Ok((d.state == DeploymentState::Interrupted).then_some(d))
        },
    )
    .await;
    signal("-CONT");
    let d = d.unwrap();
    let log = db.log_lines(d.id, 0, 100).await.unwrap();
    assert!(
        log.iter().any(|l| l.line.contains("stopped heartbeating")),
        "{log:?}"
    );
    poll_until(
        "the deployer to be ended",
        Duration::from_secs(15),
        || async { Ok((!group_alive(pgid)).then_some(())) },
    )
    .await
    .unwrap();

    // A, awake, finds itself declared dead, lets go and carries on serving.
    poll_until("A to serve again", WAIT, || async {
        let res = reqwest::get(format!("{a}/readyz")).await?;
        Ok(res.status().is_success().then_some(()))
    })
    .await
    .unwrap();
    let d = db.deployment(id).await.unwrap().unwrap();
    assert_eq!(
        d.state,
        DeploymentState::Interrupted,
        "A's late end changes nothing"
    );
}

#[tokio::test]
async fn processes_of_a_deploy_interrupted_from_another_host_are_ended_when_a_replica_starts_here()
{
    use slipway_core::deploys::{marker, MARKER_VAR};
    use slipway_core::store::{
        CreateDeploymentError, NewAudit, NewDeployment, Replica, ReplicaId, StageSnapshot,
    };
    use std::os::unix::process::CommandExt as _;
    let mut repo = TestRepo::new().unwrap();
    let sha = slipway_model::Sha::parse(&repo.commit("Ran elsewhere").unwrap()).unwrap();
    let app = slipway_tests::app::spawn_app(&slipway_tests::app::pipeline_config(repo.path()))
        .await
        .unwrap();
    let storage = app.state.storage.clone();
    let now = app.state.now();
    // A replica on this host, with a data directory of its own, that ran a deploy; a
    // replica elsewhere found it silent and interrupted the deploy, but could not reach
    // its processes.
    let gone = Replica {
        id: ReplicaId::from_stored("this-host:1:gone".into()),
        host: slipway_core::cluster::Cluster::host_name(),
        pid: 1,
        data_dir: "/srv/slipway-gone".into(),
        started_at: now,
        heartbeat_at: now,
        stopped_at: None,
    };
    storage.register_replica(&gone).await.unwrap();
    let olga = storage
        .create_user(
            &slipway_model::UserName::parse("olga").unwrap(),
            "$argon2id$not-a-hash",
            [slipway_model::Role::Ops].into_iter().collect(),
            false,
        )
        .await
        .unwrap();
    let pass = |_: &StageSnapshot| -> Result<(), CreateDeploymentError> { Ok(()) };
    let audited = |_: &slipway_core::store::Deployment| {
        NewAudit::new(
            slipway_model::audit::AuditAction::Promote,
            slipway_model::audit::Outcome::Ok,
        )
    };
    let d = storage
        .create_deployment(
            &NewDeployment {
                pipeline: slipway_model::PipelineId::parse("web").unwrap(),
                stage: slipway_model::StageId::parse("qa").unwrap(),
                previous_stage: None,
                sha,
                kind: slipway_model::deployment::DeploymentKind::Promote,
                requested_by: olga.id,
                reason: None,
                checklist: None,
                emergency_reason: None,
                migrations: None,
                drift: None,
                runner: Some(gone.id.clone()),
            },
            &pass,
            &audited,
        )
        .await
        .unwrap();
    let mut orphan = std::process::Command::new("sleep")
        .arg("30")
        .env(
            MARKER_VAR,
            marker(std::path::Path::new(&gone.data_dir), d.id),
        )
        .process_group(0)
        .spawn()
        .unwrap();
    let group = i32::try_from(orphan.id()).unwrap();
    assert!(storage
        .finish_deployment(d.id, DeploymentState::Interrupted, None, now)
        .await
        .unwrap());

    // What a replica starting on this host runs.
    let ended = slipway_core::cluster::reaper::end_leftovers(&app.state)
        .await
        .unwrap();
    assert_eq!(ended, [group]);
    let reaped = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            if let Ok(Some(_)) = orphan.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(reaped.is_ok(), "the leftover deployer was ended");
}
