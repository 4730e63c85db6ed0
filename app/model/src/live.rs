//! The live events open pages receive: one typed vocabulary for the server that
//! publishes and stores them and the browser that decodes them (with serde, not by
//! picking fields out of untyped JSON).
//!
//! On the wire (server-sent events) an event's *name* is its [`LiveKind`] and its
//! *data* is the payload's JSON; stored events keep the same two columns, so ids and
//! payloads survive restarts and clients resume with `Last-Event-ID`.

use crate::deployment::DeploymentState;
use crate::ids::DeploymentId;
use serde::{Deserialize, Serialize};

/// The kinds of event, as SSE event names and stored `kind` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveKind {
    /// A board's cards, locks or current SHAs changed.
    Board,
    /// A deployment changed state.
    Deployment,
    /// A deployment printed a line.
    Log,
}

impl LiveKind {
    /// Every kind.
    pub const ALL: [LiveKind; 3] = [LiveKind::Board, LiveKind::Deployment, LiveKind::Log];

    /// The SSE event name (and stored `kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            LiveKind::Board => "board",
            LiveKind::Deployment => "deployment",
            LiveKind::Log => "log",
        }
    }

    /// The kind with this SSE event name.
    pub fn parse(s: &str) -> Option<LiveKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What changed on a board, for people reading the stream (pages reload either way).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoardChange {
    /// A fetch found new commits.
    Commits,
    /// A SHA was marked or unmarked ready.
    Ready,
    /// A stage was locked or unlocked.
    Lock,
    /// A SHA was signed off, or a sign-off withdrawn.
    SignOff,
    /// A freeze was declared or ended.
    Freeze,
    /// An approval was requested, granted, rejected, or used by an auto-start.
    Approval,
    /// A deployment was created.
    Deploying,
    /// An attempt of a deployment failed transiently; it is tried again.
    Retrying,
    /// A stage became healthy or unhealthy.
    Health,
    /// A stage's drift from its recorded SHA was seen, or ended.
    Drift,
    /// An artifact check found a build, or said something new about one.
    Artifact,
    /// A promotion was queued for its artifact, or a queued one started, expired, was
    /// refused, withdrawn or replaced.
    Queue,
    /// A deployment ended.
    Deployed,
}

/// A board changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardChanged {
    /// The pipeline whose board changed.
    pub pipeline: String,
    /// What changed.
    pub what: BoardChange,
}

/// A deployment changed state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentChanged {
    /// The deployment's pipeline.
    pub pipeline: String,
    /// The deployment's id.
    pub deployment: DeploymentId,
    /// Its new state.
    pub state: DeploymentState,
}

/// A deployment printed a line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogAppended {
    /// The deployment's pipeline.
    pub pipeline: String,
    /// The deployment's id.
    pub deployment: DeploymentId,
    /// The line's position in the deployment's log (1, 2, …).
    pub seq: i64,
    /// The attempt that printed it (1, 2, … where transient failures were retried).
    #[serde(default = "first_attempt")]
    pub attempt: u32,
    /// `stdout`, `stderr` or `slipway` (lines Slipway adds).
    pub stream: String,
    /// Server time of arrival, `HH:MM:SS` (rendered on the server so that hydration
    /// and live lines agree).
    pub at: String,
    pub line: String,
}

fn first_attempt() -> u32 {
    1
}

/// One live event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveEvent {
    /// A board changed.
    Board(BoardChanged),
    /// A deployment changed state.
    Deployment(DeploymentChanged),
    /// A deployment printed a line.
    Log(LogAppended),
}

/// A stored or received event whose data does not match its kind.
#[derive(Debug, thiserror::Error)]
#[error("undecodable live event {kind:?}: {message}")]
pub struct DecodeError {
    /// The SSE event name.
    pub kind: String,
    /// What serde said.
    pub message: String,
}

impl LiveEvent {
    /// The event's kind (SSE event name).
    pub fn kind(&self) -> LiveKind {
        match self {
            LiveEvent::Board(_) => LiveKind::Board,
            LiveEvent::Deployment(_) => LiveKind::Deployment,
            LiveEvent::Log(_) => LiveKind::Log,
        }
    }

    /// The pipeline the event concerns (streams filter on it).
    pub fn pipeline(&self) -> &str {
        match self {
            LiveEvent::Board(e) => &e.pipeline,
            LiveEvent::Deployment(e) => &e.pipeline,
            LiveEvent::Log(e) => &e.pipeline,
        }
    }

    /// The event's data: its payload as JSON.
    pub fn data(&self) -> String {
        let json = match self {
            LiveEvent::Board(e) => serde_json::to_string(e),
            LiveEvent::Deployment(e) => serde_json::to_string(e),
            LiveEvent::Log(e) => serde_json::to_string(e),
        };
        // Serialising these plain structs cannot fail (no maps with non-string keys).
        json.unwrap_or_default()
    }

    /// Decodes an event from its SSE name and data.
    pub fn decode(kind: &str, data: &str) -> Result<LiveEvent, DecodeError> {
        let error = |message: String| DecodeError {
            kind: kind.to_owned(),
            message,
        };
        let parsed = match LiveKind::parse(kind) {
            Some(LiveKind::Board) => serde_json::from_str(data).map(LiveEvent::Board),
            Some(LiveKind::Deployment) => serde_json::from_str(data).map(LiveEvent::Deployment),
            Some(LiveKind::Log) => serde_json::from_str(data).map(LiveEvent::Log),
            None => return Err(error("unknown kind".to_owned())),
        };
        parsed.map_err(|e| error(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_their_kind_and_data() {
        let events = [
            LiveEvent::Board(BoardChanged {
                pipeline: "web".into(),
                what: BoardChange::Deployed,
            }),
            LiveEvent::Deployment(DeploymentChanged {
                pipeline: "web".into(),
                deployment: crate::DeploymentId(7),
                state: DeploymentState::Running,
            }),
            LiveEvent::Log(LogAppended {
                pipeline: "web".into(),
                deployment: crate::DeploymentId(7),
                seq: 3,
                attempt: 2,
                stream: "stdout".into(),
                at: "12:00:01".into(),
                line: "deploying \"x\" <b>".into(),
            }),
        ];
        for e in events {
            let back = LiveEvent::decode(e.kind().as_str(), &e.data()).expect("decodes");
            assert_eq!(back, e);
        }
    }

    #[test]
    fn the_wire_format_is_the_documented_one() {
        let e = LiveEvent::Deployment(DeploymentChanged {
            pipeline: "web".into(),
            deployment: crate::DeploymentId(7),
            state: DeploymentState::TimedOut,
        });
        assert_eq!(e.kind().as_str(), "deployment");
        assert_eq!(
            e.data(),
            r#"{"pipeline":"web","deployment":7,"state":"timed_out"}"#
        );
    }

    #[test]
    fn data_of_another_kind_is_refused_with_the_kind_named() {
        let err = LiveEvent::decode("log", r#"{"pipeline":"web","what":"lock"}"#)
            .expect_err("a board payload is not a log line");
        assert!(err.to_string().contains("\"log\""), "{err}");
        assert!(LiveEvent::decode("resync", "{}").is_err());
    }
}
