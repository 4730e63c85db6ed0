//! Background work: mirror fetches, probes, calendar feeds, scheduled starts, queued
//! promotions, outgoing webhooks, GitHub deliveries, clean-ups, and the cluster's
//! heartbeat. Everything but the heartbeat (every replica) and the first fetch (every
//! replica's own mirror) runs on the leader only: once per cluster.

use slipway_core::events as live;
use slipway_core::Services;
use slipway_model::live::{BoardChange, BoardChanged, LiveEvent};
use std::future::Future;
use tokio::task::JoinHandle;

/// Starts every background task.
pub fn spawn_all(services: &Services) -> Vec<JoinHandle<()>> {
    let mut tasks = vec![
        tokio::spawn(slipway_core::cluster::run(services.clone())),
        spawn_fetch_loops(services),
        spawn_session_cleanup(services),
        spawn_auto_starts(services),
        spawn_cancel_requests(services),
        spawn_webhooks(services),
        spawn_github(services),
    ];
    tasks.extend(spawn_calendar_feeds(services));
    tasks.extend(spawn_probes(services));
    tasks
}

/// Fetches every mirror at start (each replica has its own), then, on the leader, on
/// each pipeline's interval; other replicas fetch when the leader announces new
/// commits (see [`Events::relay`](slipway_core::events::Events)) or a request names a
/// SHA their mirror lacks.
fn spawn_fetch_loops(state: &Services) -> JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let mut tasks = tokio::task::JoinSet::new();
        for p in state.config.pipelines.clone() {
            let repos = state.repos.clone();
            let events = state.events.clone();
            let cluster = state.cluster.clone();
            tasks.spawn(async move {
                let mut tick = tokio::time::interval(p.fetch_interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut first = true;
                loop {
                    tick.tick().await;
                    if !std::mem::take(&mut first) && !cluster.is_leader() {
                        continue;
                    }
                    // Failures are recorded in the mirror status and shown on the board.
                    let before = repos.branch_head(p.id.as_str()).await;
                    if repos.fetch(p.id.as_str()).await.is_ok()
                        && repos.branch_head(p.id.as_str()).await != before
                    {
                        // New commits: open boards reload.
                        events
                            .board_changed(p.id.as_str(), slipway_model::live::BoardChange::Commits)
                            .await;
                    }
                }
            });
        }
        while tasks.join_next().await.is_some() {}
    })
}

fn spawn_session_cleanup(state: &Services) -> JoinHandle<()> {
    let storage = state.storage.clone();
    let cluster = state.cluster.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            if !cluster.is_leader() {
                continue;
            }
            if let Err(e) = storage.delete_expired_sessions().await {
                tracing::warn!(error = %e, "failed to delete expired sessions");
            }
            if let Err(e) = storage.prune_events(live::KEEP).await {
                tracing::warn!(error = %e, "failed to prune old events");
            }
        }
    })
}

/// Reads each pipeline's iCalendar feeds now and then every `refresh_minutes`.
fn spawn_calendar_feeds(state: &Services) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    for (p, feed) in state
        .config
        .pipelines
        .iter()
        .flat_map(|p| p.calendars.iter().map(move |f| (p.id.clone(), f.clone())))
    {
        let state = state.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(feed.refresh);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if !state.cluster.is_leader() {
                    continue;
                }
                let Some(pipeline) = state.config.pipeline(p.as_str()) else {
                    return;
                };
                match slipway_core::promotion::freezes::refresh_feed(&state, pipeline, &feed).await {
                    Ok(n) => tracing::debug!(pipeline = %p, feed = %feed.source.label(), freezes = n, "calendar feed read"),
                    Err(e) => tracing::warn!(pipeline = %p, feed = %feed.source.label(), error = %e, "calendar feed not read; its last freezes stay"),
                }
            }
        }));
    }
    tasks
}

/// Polls each stage's health and version probes, each every its `interval`, from now on.
fn spawn_probes(state: &Services) -> Vec<JoinHandle<()>> {
    #[derive(Clone, Copy)]
    enum Kind {
        Health,
        Version,
    }
    let prober = slipway_core::probes::Prober::new();
    let mut tasks = Vec::new();
    for pipeline in &state.config.pipelines {
        for stage in &pipeline.stages {
            let probes = [
                stage.health.as_ref().map(|h| (Kind::Health, h.interval)),
                stage
                    .version
                    .as_ref()
                    .map(|v| (Kind::Version, v.probe.interval)),
            ];
            for (kind, interval) in probes.into_iter().flatten() {
                let (state, prober) = (state.clone(), prober.clone());
                let (p, s) = (pipeline.id.clone(), stage.id.clone());
                tasks.push(tokio::spawn(async move {
                    let Some(pipeline) = state.config.pipeline(p.as_str()) else {
                        return;
                    };
                    let Some(stage) = pipeline.stages.iter().find(|x| x.id == s) else {
                        return;
                    };
                    let mut tick = tokio::time::interval(interval);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        tick.tick().await;
                        if state.deploys.is_stopping() {
                            break;
                        }
                        if !state.cluster.is_leader() {
                            continue;
                        }
                        match kind {
                            Kind::Health => {
                                slipway_core::probes::health::check(
                                    &state, &prober, pipeline, stage,
                                )
                                .await
                            }
                            Kind::Version => {
                                slipway_core::probes::version::check(
                                    &state, &prober, pipeline, stage,
                                )
                                .await
                            }
                        }
                    }
                }));
            }
        }
    }
    tasks
}

/// Runs `pass` once a second on the leader until the server stops (a pass that
/// overruns delays the next, never stacks them).
fn every_second<F, Fut>(state: &Services, pass: F) -> JoinHandle<()>
where
    F: FnMut(Services) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    every_second_where(state, Runs::OnTheLeader, pass)
}

/// Where a chore runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Runs {
    /// Once per cluster.
    OnTheLeader,
    /// On each replica (it concerns that replica's own processes).
    OnEveryReplica,
}

/// [`every_second`], on the leader or on every replica.
fn every_second_where<F, Fut>(state: &Services, runs: Runs, mut pass: F) -> JoinHandle<()>
where
    F: FnMut(Services) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if state.deploys.is_stopping() {
                break;
            }
            if runs == Runs::OnEveryReplica || state.cluster.is_leader() {
                pass(state.clone()).await;
            }
        }
    })
}

/// Starts approved deploys at their slot's start, and queued promotions whose artifact
/// appeared: once a second, an indexed read of each (usually none due).
fn spawn_auto_starts(state: &Services) -> JoinHandle<()> {
    every_second(state, |state| async move {
        slipway_core::promotion::approvals::run_due_auto_starts(&state).await;
        slipway_core::promotion::queue::run_due_queued(&state).await;
    })
}

/// Cancels the deploys this replica runs that were cancelled through another: once a
/// second, an indexed read (usually nothing).
fn spawn_cancel_requests(state: &Services) -> JoinHandle<()> {
    every_second_where(state, Runs::OnEveryReplica, |state| async move {
        match state.storage.cancel_requests(state.cluster.id()).await {
            // Only deploys whose task runs here: a handle made for anything else would
            // count as a running deploy at shutdown.
            Ok(ids) => ids
                .into_iter()
                .filter(|id| state.deploys.runs(*id))
                .for_each(|id| state.deploys.cancel(id)),
            Err(e) => tracing::warn!(error = %e, "failed to read cancel requests"),
        }
    })
}

/// Sends the outgoing webhooks: once a second, the audit entries since the last pass
/// become deliveries, and the due deliveries are sent; once an hour, old ones are
/// deleted. A receiver that hangs holds only this task, never a deploy.
fn spawn_webhooks(state: &Services) -> JoinHandle<()> {
    use slipway_core::notify::{deliver, outbox};
    let sender = deliver::Sender::default();
    let mut pruned = Hourly::default();
    every_second(state, move |state| {
        let sender = sender.clone();
        let prune = pruned.due();
        async move {
            if prune {
                deliver::prune(&state).await;
            }
            while outbox::run_once(&state).await > 0 {}
            deliver::run_once(&state, &sender).await;
        }
    })
}

/// Acts on GitHub's recorded webhook deliveries, once a second (the request was
/// answered when it was recorded); once an hour, forgets old ones.
fn spawn_github(state: &Services) -> JoinHandle<()> {
    use slipway_core::github::webhook;
    let mut pruned = Hourly::default();
    every_second(state, move |state| {
        let prune = pruned.due();
        async move {
            if prune {
                webhook::prune(&state).await;
            }
            while webhook::run_once(&state).await > 0 {}
        }
    })
}

/// Whether an hourly chore is due (the first call says yes).
#[derive(Default)]
struct Hourly(Option<std::time::Instant>);

impl Hourly {
    fn due(&mut self) -> bool {
        let due = self
            .0
            .is_none_or(|at| at.elapsed() >= std::time::Duration::from_secs(3600));
        if due {
            self.0 = Some(std::time::Instant::now());
        }
        due
    }
}

/// Passes the events every replica stores on to this replica's viewers (several
/// replicas). New commits the leader fetched are fetched into this replica's mirror
/// first, so its viewers reload a board that shows them.
pub fn spawn_relay(state: &Services, wakes: tokio::sync::mpsc::Receiver<()>) -> JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let before = |event: slipway_core::store::StoredEvent| {
            let state = state.clone();
            async move {
                let commits = matches!(
                    live_event(&event),
                    Some(LiveEvent::Board(BoardChanged {
                        what: BoardChange::Commits,
                        ..
                    }))
                );
                if commits && !state.cluster.is_leader() {
                    let fetch = state.repos.fetch(&event.pipeline);
                    if tokio::time::timeout(std::time::Duration::from_secs(30), fetch)
                        .await
                        .is_err()
                    {
                        tracing::warn!(pipeline = %event.pipeline, "fetching the leader's new commits took over 30 s; passing the event on");
                    }
                }
            }
        };
        state.events.relay(wakes, before).await;
    })
}

fn live_event(event: &slipway_core::store::StoredEvent) -> Option<LiveEvent> {
    LiveEvent::decode(&event.kind, &event.data).ok()
}
