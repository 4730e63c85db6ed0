//! The audit log's vocabulary: what was done ([`AuditAction`]) and how it ended
//! ([`Outcome`]). The stored and exported names are stable: people filter on them, and
//! exports are read by other tools.

use crate::deployment::DeploymentState;
use crate::vocabulary;

vocabulary! {
    /// What an audit entry records.
    AuditAction {
        /// A SHA was marked ready.
        MarkReady => "mark_ready",
        /// A ready mark was removed.
        UnmarkReady => "unmark_ready",
        /// A promotion was asked for.
        Promote => "promote",
        /// A promotion through a closed window or a freeze was asked for, with a reason.
        EmergencyPromote => "emergency_promote",
        /// A rollback was asked for.
        Rollback => "rollback",
        /// A SHA was signed off on a stage.
        SignOff => "sign_off",
        /// A sign-off was withdrawn.
        WithdrawSignOff => "withdraw_sign_off",
        /// Someone asked for approval of a promotion.
        ApprovalRequested => "approval_requested",
        /// An approver approved a request for a slot.
        ApprovalGranted => "approval_granted",
        /// An approver rejected a request.
        ApprovalRejected => "approval_rejected",
        /// The server tried to start an approved deploy at its slot's start.
        AutoStart => "auto_start",
        /// A promotion was queued to start when its artifact appears.
        PromotionQueued => "promotion_queued",
        /// A queued promotion was withdrawn.
        QueuedPromotionWithdrawn => "queued_promotion_withdrawn",
        /// A queued promotion ended by itself: its artifact appeared and the server
        /// started it (or a gate refused it then), or it expired waiting.
        QueuedStart => "queued_start",
        /// A freeze was declared.
        FreezeCreated => "freeze_created",
        /// A freeze was ended early.
        FreezeEnded => "freeze_ended",
        /// A stage was locked.
        Lock => "lock",
        /// A stage's lock was removed.
        Unlock => "unlock",
        /// A deployment was cancelled.
        Cancel => "cancel",
        /// A deployment ended (outcome: its end state).
        DeployFinished => "deploy_finished",
        /// A deployment found unfinished at start-up was marked interrupted.
        DeployInterrupted => "deploy_interrupted",
        /// An attempt of a deployment failed transiently; it is tried again.
        DeployRetried => "deploy_retried",
        /// A stage's health probe found it healthy after unhealthy (or never probed), or
        /// the other way round.
        HealthChanged => "health_changed",
        /// A stage's version probe reported a SHA other than its recorded one.
        DriftSeen => "drift_seen",
        /// A stage's drift ended: its probe reports the recorded SHA again (or a
        /// deployment replaced what ran).
        DriftEnded => "drift_ended",
        /// Someone logged in, or failed to.
        Login => "login",
        /// A user was created (by an admin, the CLI or the setup link).
        UserCreated => "user_created",
        /// A user's roles changed.
        UserRolesChanged => "user_roles_changed",
        /// A user was disabled.
        UserDisabled => "user_disabled",
        /// A user was enabled again.
        UserEnabled => "user_enabled",
        /// An admin reset a user's password.
        PasswordReset => "password_reset",
        /// A user changed their own password.
        PasswordChanged => "password_changed",
        /// A login session was ended.
        SessionEnded => "session_ended",
        /// An API token was created.
        TokenCreated => "token_created",
        /// An API token was revoked.
        TokenRevoked => "token_revoked",
    }
}

vocabulary! {
    /// How an audited action ended.
    Outcome {
        /// Done.
        Ok => "ok",
        /// Refused by a rule (a gate, the policy, validation); the detail says why.
        Refused => "refused",
        /// Tried and failed (a wrong password; a deploy that failed).
        Failed => "failed",
        /// Refused by the login throttle before any check.
        Throttled => "throttled",
        /// Unmarking a SHA that was not marked.
        NotMarked => "not_marked",
        /// Unlocking a stage that was not locked.
        NotLocked => "not_locked",
        /// A deployment succeeded.
        Succeeded => "succeeded",
        /// A deployment was cancelled.
        Cancelled => "cancelled",
        /// A deployment ran past its timeout.
        TimedOut => "timed_out",
        /// A deployment was interrupted by a restart.
        Interrupted => "interrupted",
    }
}

impl Outcome {
    /// The outcome recorded when a deployment ends in `state`.
    pub fn of_deployment(state: DeploymentState) -> Outcome {
        match state {
            DeploymentState::Succeeded => Outcome::Succeeded,
            DeploymentState::Failed => Outcome::Failed,
            DeploymentState::Cancelled => Outcome::Cancelled,
            DeploymentState::TimedOut => Outcome::TimedOut,
            DeploymentState::Interrupted => Outcome::Interrupted,
            // Not end states: never recorded as a deployment's outcome.
            DeploymentState::Queued | DeploymentState::Running | DeploymentState::Verifying => {
                Outcome::Refused
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(*a));
            let json = serde_json::to_string(a).expect("serialise");
            assert_eq!(json, format!("\"{}\"", a.as_str()));
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(*o));
        }
        assert_eq!(AuditAction::parse("drop_table"), None);
    }

    #[test]
    fn a_deployment_end_state_is_recorded_under_its_own_name() {
        for state in DeploymentState::ALL {
            if !state.is_active() {
                assert_eq!(Outcome::of_deployment(state).as_str(), state.as_str());
            }
        }
    }
}
