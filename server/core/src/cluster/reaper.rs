//! Deployments nothing runs any more: their replica died (stopped heartbeating, its
//! process ended, or it was an earlier run of this one). Each is marked interrupted
//! once (the state move refuses a row already ended, so two replicas reaping together
//! write one end, one audit entry) and, where its processes run on this host, they
//! are ended first. Nothing is ever left "running" that nothing runs.

use crate::deploys::{self, runner, KILL_GRACE};
use crate::github::deployments::GitHubDeployment;
use crate::store::{Deployment, Replica, Unfinished};
use crate::Services;
use slipway_model::audit::{AuditAction, Outcome as AuditOutcome};
use slipway_model::deployment::DeploymentState;
use slipway_model::live::BoardChange;
use std::time::Duration;
use time::OffsetDateTime;

/// Why a deployment's runner is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gone {
    /// No runner was recorded (a deployment older than replicas), or its row is gone.
    Unknown,
    /// An earlier run of this replica (same host and data directory): it restarted.
    Restarted,
    /// It stopped, or another replica declared it dead.
    Stopped,
    /// Its process no longer exists on this host.
    Exited,
    /// Its last heartbeat is older than the timeout.
    Silent { since: OffsetDateTime },
}

/// Whether `runner` (of a deployment) is gone, seen from replica `me` at `now`;
/// `alive(pid)` says whether a process of this host exists. `None`: it runs (here or
/// elsewhere).
pub fn gone(
    runner: Option<&Replica>,
    me: &Replica,
    now: OffsetDateTime,
    timeout: Duration,
    alive: impl Fn(i32) -> bool,
) -> Option<Gone> {
    let Some(r) = runner else {
        return Some(Gone::Unknown);
    };
    if r.id == me.id {
        return None;
    }
    if r.stopped_at.is_some() {
        return Some(Gone::Stopped);
    }
    // On this host a process that no longer exists is gone (its pid being this
    // process's own, as in a restarted container, says the same).
    if r.host == me.host && (r.pid == me.pid || !alive(r.pid)) {
        return Some(if r.data_dir == me.data_dir {
            Gone::Restarted
        } else {
            Gone::Exited
        });
    }
    (now - r.heartbeat_at > timeout).then_some(Gone::Silent {
        since: r.heartbeat_at,
    })
}

/// Interrupts every deployment whose runner is gone; returns how many this call ended.
pub async fn reap(state: &Services) -> anyhow::Result<usize> {
    let unfinished = state.storage.unfinished_with_runners().await?;
    let me = state.cluster.me();
    let now = state.now();
    let mut ended = Vec::new();
    for Unfinished { deployment, runner } in unfinished {
        let Some(why) = gone(runner.as_ref(), me, now, state.cluster.timeout(), pid_alive) else {
            continue;
        };
        if let Some(r) = &runner {
            // Whatever it still does (a long pause, not a death) must stop: it finds
            // itself declared dead at its next heartbeat and cancels its deploys.
            let _ = state.storage.stop_replica(&r.id).await;
        }
        if interrupt(state, &deployment, runner.as_ref(), &why).await? {
            ended.push(deployment);
        }
    }
    if !ended.is_empty() {
        tracing::warn!(
            count = ended.len(),
            "deployments whose replica is gone were marked interrupted"
        );
        end_github_deployments(state, ended.clone());
    }
    Ok(ended.len())
}

/// At start: ends the processes still running on this host for deployments another
/// replica interrupted in the last day from elsewhere (it could not reach them).
/// Returns the process groups ended.
pub async fn end_leftovers(state: &Services) -> anyhow::Result<Vec<i32>> {
    let since = state.now() - time::Duration::days(1);
    let mut ended = Vec::new();
    for (id, data_dir) in state
        .storage
        .interrupted_on_host(&state.cluster.me().host, since)
        .await?
    {
        let marker = deploys::marker(std::path::Path::new(&data_dir), id);
        for pgid in runner::groups_with_env(deploys::MARKER_VAR, &marker) {
            runner::terminate_group(pgid, KILL_GRACE).await;
            tracing::warn!(deployment = %id, pgid, "ended the processes of a deployment interrupted from another host");
            ended.push(pgid);
        }
    }
    Ok(ended)
}

/// Whether process `pid` exists on this host.
fn pid_alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
        || std::io::Error::last_os_error().raw_os_error() == Some(nix::libc::EPERM)
}

/// Ends `d`'s processes where they run on this host, then marks it interrupted with a
/// log line saying why; false when another replica ended it first.
async fn interrupt(
    state: &Services,
    d: &Deployment,
    runner: Option<&Replica>,
    why: &Gone,
) -> anyhow::Result<bool> {
    let here = runner.is_none_or(|r| r.host == state.cluster.me().host);
    // The deployer's processes are found by their marker, not by the stored group id:
    // the id may be missing (a crash between spawn and recording it) or reused by an
    // unrelated process since. The marker names the runner's data directory.
    let groups = if here {
        let data_dir = runner.map_or_else(
            || state.config.data_dir.clone(),
            |r| std::path::PathBuf::from(&r.data_dir),
        );
        runner::groups_with_env(deploys::MARKER_VAR, &deploys::marker(&data_dir, d.id))
    } else {
        Vec::new()
    };
    for pgid in &groups {
        runner::terminate_group(*pgid, KILL_GRACE).await;
    }
    if let Some(stored) = d.pgid.filter(|p| here && !groups.contains(p)) {
        tracing::info!(deployment = %d.id, pgid = stored, "the stored process group no longer runs this deployment; left alone");
    }
    let now = state.now();
    let seq = state
        .storage
        .log_size(d.id)
        .await
        .map_or(0, |(_, last)| last);
    if !state
        .storage
        .finish_deployment(d.id, DeploymentState::Interrupted, None, now)
        .await?
    {
        return Ok(false);
    }
    crate::measures::deployment_ended(d, DeploymentState::Interrupted, now);
    let note = note(d, runner, why, &groups, here);
    let _ = state
        .storage
        .append_log(d.id, seq + 1, d.attempt(), now, "slipway", &note)
        .await;
    state
        .events
        .deployment_changed(&d.pipeline, d.id, DeploymentState::Interrupted)
        .await;
    state
        .events
        .board_changed(&d.pipeline, BoardChange::Deployed)
        .await;
    let mut entry = deploys::supervisor::deployment_entry(
        d,
        AuditAction::DeployInterrupted,
        AuditOutcome::Interrupted,
    );
    entry.detail = Some(note);
    crate::audit::record(state.storage.as_ref(), entry).await;
    tracing::warn!(deployment = %d.id, "marked an abandoned deployment interrupted");
    Ok(true)
}

/// The log line and audit detail: what stopped, and what became of its processes.
fn note(
    d: &Deployment,
    runner: Option<&Replica>,
    why: &Gone,
    groups: &[i32],
    here: bool,
) -> String {
    let who = match (why, runner) {
        (Gone::Unknown | Gone::Restarted, _) | (_, None) => "Slipway stopped".to_owned(),
        (Gone::Stopped, Some(r)) => format!("its replica {} stopped", r.id),
        (Gone::Exited, Some(r)) => format!("its replica {} exited", r.id),
        (Gone::Silent { since }, Some(r)) => format!(
            "its replica {} stopped heartbeating at {}",
            r.id,
            since.time()
        ),
    };
    match (groups, d.pgid) {
        ([], None) => format!("interrupted: {who} before this deployment started"),
        // Every survivor reaps: the one that finds the group already gone (another
        // just ended it, or it died with its replica) still names it, so the log says
        // the same whichever replica writes it.
        ([], Some(pgid)) if here => format!(
            "interrupted: {who} while this deployment ran; its deployer (process group {pgid}) had already ended"
        ),
        ([], Some(_)) => format!(
            "interrupted: {who} while this deployment ran on {}; its processes there are ended when a replica next starts on that host",
            runner.map_or("another host", |r| r.host.as_str())
        ),
        (found, _) => format!(
            "interrupted: {who} while this deployment ran; its process group {} was ended{}",
            found.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
            if matches!(why, Gone::Unknown | Gone::Restarted) { " at restart" } else { "" }
        ),
    }
}

/// Their GitHub Deployments end too, without holding up the caller.
fn end_github_deployments(state: &Services, ended: Vec<Deployment>) {
    let state = state.clone();
    tokio::spawn(async move {
        for d in &ended {
            let Some(p) = state.config.pipeline(&d.pipeline) else {
                continue;
            };
            let Some(stage) = p.stages.iter().find(|s| s.id.as_str() == d.stage) else {
                continue;
            };
            let said = match GitHubDeployment::reopen(&state, p, stage, d).await {
                Ok(Some(gh)) => {
                    gh.post_status(&state, d, "error", "interrupted: Slipway restarted")
                        .await
                }
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            };
            if let Err(e) = said {
                tracing::warn!(deployment = %d.id, error = %e, "the interrupted deployment's GitHub status was not posted");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ReplicaId;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-08 12:00 UTC);
    const TIMEOUT: Duration = Duration::from_secs(30);

    #[test]
    fn a_deployer_found_already_ended_is_named_by_its_process_group() {
        let sha = slipway_model::Sha::parse(&"a".repeat(40)).expect("a SHA");
        let mut d = Deployment::example(7, sha, DeploymentState::Running, NOW);
        d.pgid = Some(4242);
        let runner = replica("b", "h1", "/srv/b", NOW);
        assert_eq!(
            note(&d, Some(&runner), &Gone::Stopped, &[], true),
            "interrupted: its replica b stopped while this deployment ran; its deployer (process group 4242) had already ended"
        );
        assert_eq!(
            note(&d, Some(&runner), &Gone::Stopped, &[4242], true),
            "interrupted: its replica b stopped while this deployment ran; its process group 4242 was ended"
        );
    }

    fn replica(id: &str, host: &str, data_dir: &str, heartbeat: OffsetDateTime) -> Replica {
        Replica {
            id: ReplicaId::from_stored(id.to_owned()),
            host: host.to_owned(),
            pid: id.bytes().map(i32::from).sum(),
            data_dir: data_dir.to_owned(),
            started_at: heartbeat,
            heartbeat_at: heartbeat,
            stopped_at: None,
        }
    }

    #[test]
    fn a_runner_is_alive_while_it_heartbeats_and_gone_once_silent_past_the_timeout() {
        let me = replica("a", "h1", "/srv/a", NOW);
        let other = replica("b", "h2", "/srv/b", NOW - time::Duration::seconds(29));
        assert_eq!(gone(Some(&other), &me, NOW, TIMEOUT, |_| true), None);
        let silent = replica("b", "h2", "/srv/b", NOW - time::Duration::seconds(31));
        assert_eq!(
            gone(Some(&silent), &me, NOW, TIMEOUT, |_| true),
            Some(Gone::Silent {
                since: silent.heartbeat_at
            })
        );
        assert_eq!(gone(Some(&me), &me, NOW, TIMEOUT, |_| false), None, "mine");
    }

    #[test]
    fn on_this_host_an_earlier_run_or_an_ended_process_is_gone_at_once() {
        let me = replica("a2", "h1", "/srv/a", NOW);
        let earlier = replica("a1", "h1", "/srv/a", NOW);
        assert_eq!(
            gone(Some(&earlier), &me, NOW, TIMEOUT, |_| false),
            Some(Gone::Restarted)
        );
        let mut container = me.clone();
        container.id = ReplicaId::from_stored("a0".to_owned());
        assert_eq!(
            gone(Some(&container), &me, NOW, TIMEOUT, |_| true),
            Some(Gone::Restarted),
            "its pid is mine: the earlier run of a restarted container"
        );
        let neighbour = replica("c", "h1", "/srv/c", NOW);
        assert_eq!(gone(Some(&neighbour), &me, NOW, TIMEOUT, |_| true), None);
        assert_eq!(
            gone(Some(&neighbour), &me, NOW, TIMEOUT, |_| false),
            Some(Gone::Exited)
        );
        let far = replica("d", "h2", "/srv/c", NOW);
        assert_eq!(
            gone(Some(&far), &me, NOW, TIMEOUT, |_| false),
            None,
            "a pid says nothing about another host"
        );
    }

    #[test]
    fn a_stopped_or_unrecorded_runner_is_gone() {
        let me = replica("a", "h1", "/srv/a", NOW);
        let mut stopped = replica("b", "h2", "/srv/b", NOW);
        stopped.stopped_at = Some(NOW);
        assert_eq!(
            gone(Some(&stopped), &me, NOW, TIMEOUT, |_| true),
            Some(Gone::Stopped)
        );
        assert_eq!(gone(None, &me, NOW, TIMEOUT, |_| true), Some(Gone::Unknown));
    }
}
