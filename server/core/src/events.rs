//! Live board events. Every change is stored (its row id is the SSE event id, so it
//! survives a restart) and broadcast to the subscribers of this process through a
//! bounded channel: a slow subscriber lags and is told to resync; it never slows the
//! publisher.

use crate::storage::{Storage, StoredEvent};
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::broadcast;

/// How many events the in-process channel buffers per subscriber before it lags.
pub const CHANNEL_CAPACITY: usize = 4096;

/// How many events are kept in storage for resuming clients.
pub const KEEP: i64 = 100_000;

/// The publisher.
pub struct Events {
    storage: Arc<dyn Storage>,
    tx: broadcast::Sender<StoredEvent>,
    closing: tokio::sync::watch::Sender<bool>,
}

/// Something changed on a board (cards, locks, current SHAs).
#[derive(Serialize)]
struct BoardChanged<'a> {
    pipeline: &'a str,
    what: &'a str,
}

/// A deployment changed state.
#[derive(Serialize)]
struct DeploymentChanged<'a> {
    pipeline: &'a str,
    deployment: i64,
    state: &'a str,
}

/// A deployment printed a line.
#[derive(Serialize)]
struct LogLine<'a> {
    pipeline: &'a str,
    deployment: i64,
    seq: i64,
    stream: &'a str,
    at: &'a str,
    line: &'a str,
}

impl Events {
    /// A publisher writing to `storage`.
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        let (closing, _) = tokio::sync::watch::channel(false);
        Self {
            storage,
            tx,
            closing,
        }
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

    async fn publish(&self, pipeline: &str, kind: &str, data: String) {
        match self.storage.append_event(pipeline, kind, &data).await {
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
    pub async fn board_changed(&self, pipeline: &str, what: &str) {
        let data = serde_json::to_string(&BoardChanged { pipeline, what }).unwrap_or_default();
        self.publish(pipeline, "board", data).await;
    }

    /// A deployment changed state.
    pub async fn deployment_changed(&self, pipeline: &str, deployment: i64, state: &str) {
        let data = serde_json::to_string(&DeploymentChanged {
            pipeline,
            deployment,
            state,
        })
        .unwrap_or_default();
        self.publish(pipeline, "deployment", data).await;
    }

    /// A deployment printed a line.
    pub async fn log_line(
        &self,
        pipeline: &str,
        deployment: i64,
        seq: i64,
        stream: &str,
        at: &str,
        line: &str,
    ) {
        let data = serde_json::to_string(&LogLine {
            pipeline,
            deployment,
            seq,
            stream,
            at,
            line,
        })
        .unwrap_or_default();
        self.publish(pipeline, "log", data).await;
    }
}
