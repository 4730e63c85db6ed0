//! Where a deploy's output goes: every line is stored (the deployment page and a
//! restarted server read it back) and published live to open pages.

use super::runner::{CancelHandle, RunObserver, Stream};
use crate::config::RetryConfig;
use crate::Services;
use slipway_model::deployment::DeploymentState;
use slipway_model::live::LogAppended;
use slipway_model::DeploymentId;
use time::OffsetDateTime;

/// Writes a deployment's log lines as the deployer prints them.
pub(super) struct LogWriter {
    pub(super) state: Services,
    pub(super) pipeline: String,
    pub(super) id: DeploymentId,
    /// The last line's position (lines are numbered 1, 2, …).
    pub(super) seq: i64,
    /// The run's cancel handle: a row that cannot move to running stops the run.
    pub(super) cancel: CancelHandle,
    /// The deployer's output is stored up to this many bytes…
    pub(super) cap: u64,
    /// …of which this many are stored so far…
    pub(super) stored: u64,
    /// …and beyond it, lines and bytes are only counted.
    pub(super) dropped: (u64, u64),
    /// The attempt running now (1, 2, … where transient failures are retried).
    pub(super) attempt: u32,
    /// The deployer's transient-failure patterns, if it has any…
    pub(super) retry: Option<RetryConfig>,
    /// …and the first one a line of this attempt matched.
    pub(super) matched: Option<String>,
    /// The deploy command succeeded and a smoke command verifies it: its process is not
    /// the deployment's recorded one (the row is verifying, not running).
    pub(super) verifying: bool,
}

impl LogWriter {
    /// An HTTP deployer started (no process of Slipway's runs it): the row is running.
    pub(super) async fn started_remote(&mut self) {
        self.record_running(None).await;
    }

    /// Records that the deploy runs (its process group, if Slipway runs one) and says
    /// so; a row that can no longer become running stops the run.
    async fn record_running(&mut self, pgid: Option<i32>) {
        if self.verifying {
            // A smoke command: the row is verifying; a restarted server still finds
            // the process by the deployment's marker.
            return;
        }
        let storage = &self.state.storage;
        let recorded = match (self.attempt, pgid) {
            (1, _) => storage.mark_running(self.id, pgid, self.state.now()).await,
            (_, Some(pgid)) => storage.mark_attempt_running(self.id, pgid).await,
            // A retried HTTP deploy: the row has been running all along.
            (_, None) => return,
        };
        match recorded {
            Ok(true) => {}
            // The row is no longer queued: something else ended it. A process must not
            // run for a deployment the store says is over.
            Ok(false) => {
                tracing::warn!(deployment = %self.id, "the deployment ended before its process started; stopping it");
                self.cancel.cancel();
            }
            Err(e) => {
                tracing::error!(deployment = %self.id, error = %e, "failed to record a running deployment");
            }
        }
        self.state
            .events
            .deployment_changed(&self.pipeline, self.id, DeploymentState::Running)
            .await;
    }

    /// Stores and publishes one line of `stream` (`stdout`, `stderr`, or `slipway` for
    /// lines Slipway adds).
    pub(super) async fn write(&mut self, stream: &str, at: OffsetDateTime, text: &str) {
        self.seq += 1;
        if let Err(e) = self
            .state
            .storage
            .append_log(self.id, self.seq, self.attempt, at, stream, text)
            .await
        {
            tracing::error!(deployment = %self.id, error = %e, "failed to store a log line");
        }
        let fmt = time::macros::format_description!("[hour]:[minute]:[second]");
        let at = at.format(&fmt).unwrap_or_default();
        self.state
            .events
            .log_line(LogAppended {
                pipeline: self.pipeline.clone(),
                deployment: self.id,
                seq: self.seq,
                attempt: self.attempt,
                stream: stream.to_owned(),
                at,
                line: text.to_owned(),
            })
            .await;
    }
}

#[async_trait::async_trait]
impl RunObserver for LogWriter {
    async fn started(&mut self, pgid: i32) {
        self.record_running(Some(pgid)).await;
    }

    async fn line(&mut self, stream: Stream, at: OffsetDateTime, text: String) {
        // Matched before the size cap: a transient failure is seen even in output
        // that is no longer stored.
        if self.matched.is_none() {
            if let Some(rule) = &self.retry {
                self.matched = rule.matching_pattern(&text).map(str::to_owned);
            }
        }
        let size = text.len() as u64 + 1;
        if self.dropped.0 > 0 || self.stored + size > self.cap {
            if self.dropped.0 == 0 {
                let note = format!(
                    "output beyond {} is not stored or shown (the stage's max_log_bytes); the deployer runs on",
                    human_bytes(self.cap)
                );
                self.write("slipway", at, &note).await;
            }
            self.dropped.0 += 1;
            self.dropped.1 += size;
            return;
        }
        self.stored += size;
        self.write(stream.as_str(), at, &text).await;
    }
}

/// "10 MiB", "1.5 KiB", "900 bytes".
pub(super) fn human_bytes(n: u64) -> String {
    const KIB: f64 = 1024.0;
    let f = n as f64;
    if f >= KIB * KIB {
        format!("{:.1} MiB", f / (KIB * KIB)).replace(".0 ", " ")
    } else if f >= KIB {
        format!("{:.1} KiB", f / KIB).replace(".0 ", " ")
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(super::human_bytes(900), "900 bytes");
        assert_eq!(super::human_bytes(1536), "1.5 KiB");
        assert_eq!(super::human_bytes(10 * 1024 * 1024), "10 MiB");
    }
}
