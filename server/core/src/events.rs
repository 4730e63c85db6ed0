//! Live board events. Every change is stored (its row id is the SSE event id, so it
//! survives a restart) and broadcast to the subscribers of this process through a
//! bounded channel: a slow subscriber lags and is told to resync; it never slows the
//! publisher.
//!
//! With one process (SQLite) the publisher broadcasts what it stored. With several
//! replicas (PostgreSQL) an event published on one must reach the viewers of all:
//! storing it notifies every replica (`NOTIFY` with the id, ids visible in id order),
//! and each replica's [`relay`](Events::relay) reads the events after the last one it
//! passed on and broadcasts them, in order, the publisher's own included. A wake-up it
//! misses (the listening connection dropped) costs nothing: the next one, or the tick
//! every [`RELAY_TICK`], reads from where it stopped.

use crate::store::{Storage, StoredEvent};
use slipway_model::deployment::DeploymentState;
use slipway_model::live::{
    BoardChange, BoardChanged, DeploymentChanged, LiveEvent, LiveKind, LogAppended,
};
use slipway_model::{DeploymentId, UserId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// How many events the in-process channel buffers per subscriber before it lags.
pub const CHANNEL_CAPACITY: usize = 4096;

/// How many events are kept in storage for resuming clients.
pub const KEEP: i64 = 100_000;

/// How often a relay reads the events table even without a notification.
pub const RELAY_TICK: std::time::Duration = std::time::Duration::from_secs(2);

/// The publisher.
pub struct Events {
    storage: Arc<dyn Storage>,
    /// Events reach this process's subscribers through [`relay`](Self::relay) (several
    /// replicas), not from `publish`.
    relayed: bool,
    tx: broadcast::Sender<StoredEvent>,
    closing: tokio::sync::watch::Sender<bool>,
    /// Open streams per user (see [`MAX_STREAMS_PER_USER`]).
    streams: Arc<Mutex<HashMap<UserId, usize>>>,
    /// Each pipeline's board version: moved by every board or deployment event this
    /// process publishes or relays, and by [`touch_board`](Self::touch_board).
    versions: Mutex<HashMap<String, u64>>,
}

/// How many event streams one user may hold open at once: a browser opens one per tab,
/// so this is generous for people and a bound on one account holding connections.
pub const MAX_STREAMS_PER_USER: usize = 32;

/// One open stream, counted against its user until dropped.
pub struct StreamSlot {
    streams: Arc<Mutex<HashMap<UserId, usize>>>,
    user: UserId,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = streams.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                streams.remove(&self.user);
            }
        }
    }
}

impl Events {
    /// A publisher writing to `storage`; `relayed` when events reach subscribers
    /// through [`relay`](Self::relay) (several replicas share the storage).
    pub fn new(storage: Arc<dyn Storage>, relayed: bool) -> Self {
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        let (closing, _) = tokio::sync::watch::channel(false);
        Self {
            storage,
            relayed,
            tx,
            closing,
            streams: Arc::default(),
            versions: Mutex::default(),
        }
    }

    /// The version of `pipeline`'s board in this process: it moves whenever an event
    /// says the board changed, before the event reaches any subscriber, so a board
    /// read after an event is never one cached before it
    /// ([`read::board_cache`](crate::read::board_cache)).
    pub fn board_version(&self, pipeline: &str) -> u64 {
        let versions = self.versions.lock().unwrap_or_else(|p| p.into_inner());
        versions.get(pipeline).copied().unwrap_or_default()
    }

    /// Moves `pipeline`'s board version without an event: for what only this process
    /// knows and its boards show (a CI ask that failed or found nothing, say).
    pub fn touch_board(&self, pipeline: &str) {
        let mut versions = self.versions.lock().unwrap_or_else(|p| p.into_inner());
        match versions.get_mut(pipeline) {
            Some(v) => *v += 1,
            None => {
                versions.insert(pipeline.to_owned(), 1);
            }
        }
    }

    /// Passes a relayed event to this process's subscribers, moving its board's version
    /// first when it changes what a board shows (log lines do not).
    fn deliver(&self, event: StoredEvent) {
        if event.kind != LiveKind::Log.as_str() {
            self.touch_board(&event.pipeline);
        }
        // No receivers is not an error.
        let _ = self.tx.send(event);
    }

    /// Counts a stream opened by `user`, or `None` when they already hold
    /// [`MAX_STREAMS_PER_USER`].
    pub fn open_stream(&self, user: UserId) -> Option<StreamSlot> {
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        let n = streams.entry(user).or_default();
        if *n >= MAX_STREAMS_PER_USER {
            return None;
        }
        *n += 1;
        Some(StreamSlot {
            streams: self.streams.clone(),
            user,
        })
    }

    /// How many event streams are open on this process.
    pub fn stream_count(&self) -> usize {
        self.streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .sum()
    }

    /// Ends every open stream (at shutdown: an open event stream would otherwise keep
    /// the HTTP server's graceful shutdown waiting forever).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves when [`close`](Self::close) is called.
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// A receiver of events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<StoredEvent> {
        self.tx.subscribe()
    }

    /// Stores `event` and sends it to this process's subscribers.
    pub async fn publish(&self, event: LiveEvent) {
        // First, and whether or not storing it works: the change it announces has
        // happened, and this process's boards must show it from now on (a form's
        // redirect shows the board it changed, without waiting for a relay).
        if event.kind() != LiveKind::Log {
            self.touch_board(event.pipeline());
        }
        let stored = self
            .storage
            .append_event(event.pipeline(), event.kind().as_str(), &event.data())
            .await;
        match stored {
            // The relay passes it on, a moment later.
            Ok(_) if self.relayed => {}
            // No receivers is not an error.
            Ok(event) => {
                let _ = self.tx.send(event);
            }
            Err(e) => {
                tracing::error!(error = %e, "failed to store an event; live boards may miss it until reload")
            }
        }
    }

    /// A board's cards, locks or current SHAs changed.
    pub async fn board_changed(&self, pipeline: &str, what: BoardChange) {
        self.publish(LiveEvent::Board(BoardChanged {
            pipeline: pipeline.to_owned(),
            what,
        }))
        .await;
    }

    /// A deployment changed state.
    pub async fn deployment_changed(
        &self,
        pipeline: &str,
        deployment: DeploymentId,
        state: DeploymentState,
    ) {
        self.publish(LiveEvent::Deployment(DeploymentChanged {
            pipeline: pipeline.to_owned(),
            deployment,
            state,
        }))
        .await;
    }

    /// A deployment printed a line.
    pub async fn log_line(&self, line: LogAppended) {
        self.publish(LiveEvent::Log(line)).await;
    }
}

impl Events {
    /// Passes every stored event on to this process's subscribers, in id order, from
    /// the newest stored now on: woken by `wakes` (a notification, or the listening
    /// connection coming back), and every [`RELAY_TICK`] regardless. `before` sees each
    /// event first (a replica fetches its mirror before its viewers reload for new
    /// commits). Runs until the process stops.
    pub async fn relay<F, Fut>(&self, mut wakes: tokio::sync::mpsc::Receiver<()>, before: F)
    where
        F: Fn(StoredEvent) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        const BATCH: i64 = 500;
        let mut last = loop {
            match self.storage.event_id_range().await {
                Ok((_, newest)) => break newest,
                Err(e) => {
                    tracing::warn!(error = %e, "the event relay cannot read the events yet");
                    tokio::time::sleep(RELAY_TICK).await;
                }
            }
        };
        let mut closing = self.closing();
        loop {
            tokio::select! {
                _ = wakes.recv() => {}
                () = tokio::time::sleep(RELAY_TICK) => {}
                _ = closing.changed() => return,
            }
            loop {
                let batch = match self.storage.events_after(last, None, BATCH).await {
                    Ok(batch) => batch,
                    Err(e) => {
                        tracing::warn!(error = %e, "the event relay failed to read events");
                        break;
                    }
                };
                let full = batch.len() as i64 == BATCH;
                for event in batch {
                    last = event.id;
                    before(event.clone()).await;
                    self.deliver(event);
                }
                if !full {
                    break;
                }
            }
        }
    }
}
