//! Outgoing webhooks: what happened (deployments, drift, locks, approvals), told to
//! other systems as generic JSON or Slack messages.
//!
//! The audit log is the source: every event is an audit entry first. [`outbox`] reads
//! the entries after its cursor and, in one transaction with moving the cursor, stores a
//! delivery per entry and interested webhook (durable: nothing is lost to a crash,
//! nothing is sent twice by two processes). [`deliver`] sends the due deliveries,
//! signed, retrying 5xx answers and timeouts with backoff. Neither ever holds a deploy:
//! they run on their own tasks, after the fact.

pub mod deliver;
pub mod outbox;
pub mod payload;

use crate::store::AuditEntry;
use slipway_model::audit::{AuditAction, Outcome};
use slipway_model::vocabulary;

vocabulary! {
    /// What a webhook is told about.
    Event {
        /// A deployment was created (a promotion, rollback, queued or automatic start).
        DeploymentStarted => "deployment_started",
        /// A deployment succeeded.
        DeploymentSucceeded => "deployment_succeeded",
        /// A deployment failed, timed out, was cancelled or interrupted.
        DeploymentFailed => "deployment_failed",
        /// An attempt failed transiently; the deployment tries again.
        DeploymentRetried => "deployment_retried",
        /// A stage runs something other than its recorded SHA.
        DriftSeen => "drift_seen",
        /// A stage was locked.
        StageLocked => "stage_locked",
        /// A stage was unlocked.
        StageUnlocked => "stage_unlocked",
        /// Someone asked for approval of a promotion.
        ApprovalRequested => "approval_requested",
        /// An approver approved a promotion.
        ApprovalGiven => "approval_given",
    }
}

vocabulary! {
    /// How a webhook's body is written.
    Format {
        /// A JSON object with the event's fields.
        Json => "json",
        /// A Slack incoming-webhook message (`{"text": …}`).
        Slack => "slack",
    }
}

impl Event {
    /// The event an audit entry is, if any: only what was done (refusals are not news).
    pub fn of(entry: &AuditEntry) -> Option<Event> {
        let action = AuditAction::parse(&entry.action)?;
        let outcome = Outcome::parse(&entry.outcome)?;
        let ok = outcome == Outcome::Ok;
        Some(match action {
            AuditAction::Promote | AuditAction::EmergencyPromote | AuditAction::Rollback if ok => {
                Event::DeploymentStarted
            }
            AuditAction::DeployFinished if outcome == Outcome::Succeeded => {
                Event::DeploymentSucceeded
            }
            AuditAction::DeployFinished | AuditAction::DeployInterrupted => Event::DeploymentFailed,
            AuditAction::DeployRetried => Event::DeploymentRetried,
            AuditAction::DriftSeen => Event::DriftSeen,
            AuditAction::Lock if ok => Event::StageLocked,
            AuditAction::Unlock if ok => Event::StageUnlocked,
            AuditAction::ApprovalRequested if ok => Event::ApprovalRequested,
            AuditAction::ApprovalGranted if ok => Event::ApprovalGiven,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: AuditAction, outcome: Outcome) -> AuditEntry {
        AuditEntry {
            id: 1,
            at: time::OffsetDateTime::UNIX_EPOCH,
            actor: Some("olga".into()),
            action: action.as_str().into(),
            pipeline: Some("web".into()),
            stage: Some("production".into()),
            sha: None,
            target: None,
            outcome: outcome.as_str().into(),
            detail: None,
        }
    }

    #[test]
    fn only_what_was_done_is_news_and_a_deployment_s_end_says_how_it_went() {
        use AuditAction as A;
        use Outcome as O;
        let cases = [
            (A::Promote, O::Ok, Some(Event::DeploymentStarted)),
            (A::Promote, O::Refused, None),
            (A::Rollback, O::Ok, Some(Event::DeploymentStarted)),
            (
                A::DeployFinished,
                O::Succeeded,
                Some(Event::DeploymentSucceeded),
            ),
            (A::DeployFinished, O::Failed, Some(Event::DeploymentFailed)),
            (
                A::DeployFinished,
                O::TimedOut,
                Some(Event::DeploymentFailed),
            ),
            (
                A::DeployInterrupted,
                O::Interrupted,
                Some(Event::DeploymentFailed),
            ),
            (A::DeployRetried, O::Failed, Some(Event::DeploymentRetried)),
            (A::DriftSeen, O::Ok, Some(Event::DriftSeen)),
            (A::DriftEnded, O::Ok, None),
            (A::Lock, O::Ok, Some(Event::StageLocked)),
            (A::Lock, O::Refused, None),
            (A::Unlock, O::Ok, Some(Event::StageUnlocked)),
            (A::Unlock, O::NotLocked, None),
            (A::ApprovalRequested, O::Ok, Some(Event::ApprovalRequested)),
            (A::ApprovalGranted, O::Ok, Some(Event::ApprovalGiven)),
            (A::Login, O::Ok, None),
        ];
        for (action, outcome, event) in cases {
            assert_eq!(
                Event::of(&entry(action, outcome)),
                event,
                "{action} {outcome}"
            );
        }
        for e in Event::ALL {
            assert_eq!(Event::parse(e.as_str()), Some(*e));
        }
    }
}
