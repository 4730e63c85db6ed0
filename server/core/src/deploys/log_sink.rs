//! Where a deploy's output goes: every line is stored (the deployment page and a
//! restarted server read it back) and published live to open pages.

use super::runner::{CancelHandle, RunObserver, Stream};
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
    /// The run's cancel handle: a row that cannot be moved to running stops the run.
    pub(super) cancel: CancelHandle,
}

impl LogWriter {
    /// Stores and publishes one line of `stream` (`stdout`, `stderr`, or `slipway` for
    /// lines Slipway adds).
    pub(super) async fn write(&mut self, stream: &str, at: OffsetDateTime, text: &str) {
        self.seq += 1;
        if let Err(e) = self
            .state
            .storage
            .append_log(self.id, self.seq, at, stream, text)
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
        match self
            .state
            .storage
            .mark_running(self.id, pgid, self.state.now())
            .await
        {
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

    async fn line(&mut self, stream: Stream, at: OffsetDateTime, text: String) {
        self.write(stream.as_str(), at, &text).await;
    }
}
