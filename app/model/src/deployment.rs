//! The deployment state machine: queued → running → (verifying →) succeeded | failed |
//! cancelled | timed-out | interrupted. Pure; storage persists the names, the engine moves between
//! states.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a deployment is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
// Stored as text under the same names (`type_name` keeps PostgreSQL from looking for
// an enum type of its own).
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DeploymentState {
    /// Created, the deployer not started yet.
    Queued,
    /// The deployer runs.
    Running,
    /// The deployer exited 0; the stage's version probe (or smoke command) has not
    /// confirmed the new SHA yet.
    Verifying,
    /// The deployer exited 0: the stage now runs this SHA.
    Succeeded,
    /// The deployer exited non-zero or could not start.
    Failed,
    /// Someone cancelled it.
    Cancelled,
    /// It ran past the stage's timeout.
    TimedOut,
    /// The server stopped while it ran (found at the next start).
    Interrupted,
}

impl DeploymentState {
    /// Every state.
    pub const ALL: [DeploymentState; 8] = [
        DeploymentState::Queued,
        DeploymentState::Running,
        DeploymentState::Verifying,
        DeploymentState::Succeeded,
        DeploymentState::Failed,
        DeploymentState::Cancelled,
        DeploymentState::TimedOut,
        DeploymentState::Interrupted,
    ];

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeploymentState::Queued => "queued",
            DeploymentState::Running => "running",
            DeploymentState::Verifying => "verifying",
            DeploymentState::Succeeded => "succeeded",
            DeploymentState::Failed => "failed",
            DeploymentState::Cancelled => "cancelled",
            DeploymentState::TimedOut => "timed_out",
            DeploymentState::Interrupted => "interrupted",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The states in which a deployment keeps its stage busy (storage selects and
    /// guards with this set; the unique index on active deployments mirrors it).
    pub const ACTIVE: [DeploymentState; 3] = [
        DeploymentState::Queued,
        DeploymentState::Running,
        DeploymentState::Verifying,
    ];

    /// Queued, running or verifying: the stage is busy.
    pub fn is_active(self) -> bool {
        Self::ACTIVE.contains(&self)
    }

    /// Ended without success: the environment's state is unknown.
    pub fn is_unsuccessful_end(self) -> bool {
        matches!(
            self,
            DeploymentState::Failed
                | DeploymentState::Cancelled
                | DeploymentState::TimedOut
                | DeploymentState::Interrupted
        )
    }

    /// Whether moving to `next` is allowed.
    pub fn can_become(self, next: DeploymentState) -> bool {
        use DeploymentState::*;
        match self {
            Queued => matches!(next, Running | Failed | Cancelled | Interrupted),
            Running => matches!(
                next,
                Verifying | Succeeded | Failed | Cancelled | TimedOut | Interrupted
            ),
            Verifying => matches!(next, Succeeded | Failed | Cancelled | Interrupted),
            _ => false,
        }
    }

    /// Human label.
    pub fn label(self) -> &'static str {
        match self {
            DeploymentState::TimedOut => "timed out",
            other => other.as_str(),
        }
    }
}

impl fmt::Display for DeploymentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Why a deployment exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
// Stored as text under the same names (`type_name` keeps PostgreSQL from looking for
// an enum type of its own).
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DeploymentKind {
    /// A SHA moved on from the previous stage.
    Promote,
    /// The previous distinct good SHA, redeployed by ops.
    Rollback,
    /// The current SHA again.
    Redeploy,
}

impl DeploymentKind {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeploymentKind::Promote => "promote",
            DeploymentKind::Rollback => "rollback",
            DeploymentKind::Redeploy => "redeploy",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            DeploymentKind::Promote,
            DeploymentKind::Rollback,
            DeploymentKind::Redeploy,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::DeploymentState::*;
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in DeploymentState::ALL {
            assert_eq!(DeploymentState::parse(s.as_str()), Some(s));
        }
        assert_eq!(DeploymentState::parse("done"), None);
    }

    #[test]
    fn only_active_states_move_and_ended_states_are_final() {
        assert!(Queued.can_become(Running));
        assert!(Running.can_become(Succeeded));
        assert!(Running.can_become(TimedOut));
        assert!(
            !Queued.can_become(Succeeded),
            "nothing succeeds without running"
        );
        for end in [Succeeded, Failed, Cancelled, TimedOut, Interrupted] {
            assert!(!end.is_active());
            for next in DeploymentState::ALL {
                assert!(!end.can_become(next), "{end:?} -> {next:?}");
            }
        }
        assert!(Failed.is_unsuccessful_end() && Interrupted.is_unsuccessful_end());
        assert!(!Succeeded.is_unsuccessful_end());
    }
}
