//! The governance gates: the previous stage's sign-off, the approval of the SHA for a
//! slot, the deploy windows and the freezes. Their facts (times already written for
//! people, so the model stays free of clocks and zones), and their entries' functions in
//! [`super::GATES`].

use super::{GateStatus, PromotionFacts};
use crate::RoleSet;

/// Whether the SHA is signed off on the previous stage, where that stage asks for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignOff {
    /// The previous stage asks for no sign-off (or there is no previous stage).
    NotRequired,
    /// The previous stage asks for a sign-off.
    Required {
        /// The previous stage's label.
        stage: String,
        /// Who may sign off there.
        roles: RoleSet,
        /// Who signed the SHA off, if anyone has (and it was not withdrawn or voided).
        by: Option<String>,
    },
}

/// Whether the stage asks for approval, and where the SHA's request stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Approval {
    /// The stage asks for none.
    NotRequired,
    /// The stage asks for approval by `roles`.
    Required {
        /// Who may approve.
        roles: RoleSet,
        /// The SHA's open request, if any.
        request: Option<ApprovalRequestState>,
    },
}

/// An open approval request, as the gate needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApprovalRequestState {
    /// Waiting for an approver.
    Pending {
        /// Who asked.
        by: String,
    },
    /// Approved for a slot.
    Approved {
        /// Who approved.
        by: String,
        /// The slot, written for people ("Thu 03 Dec 18:00 – 19:00 Europe/Berlin").
        slot: String,
        /// Where now stands against the slot.
        when: SlotTime,
        /// The stage's current SHA changed since the approval: it no longer counts.
        stale: bool,
    },
}

/// Where now stands against an approval's slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotTime {
    /// Before its start.
    Before,
    /// Inside it.
    Inside,
    /// After its end.
    After,
}

/// The stage's deploy windows at the moment of evaluation; times are already
/// written in the windows' own time zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WindowState {
    /// The stage has no windows: always open.
    Always,
    /// Inside a window that ends at `until`.
    Open {
        /// "Thu 16:00 Europe/Berlin".
        until: String,
    },
    /// Outside every window.
    Closed {
        /// When the next window opens, if one does within a week.
        next: Option<String>,
    },
}

/// A freeze in force on the stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FreezeInfo {
    /// Why ("labs until 19:00").
    pub reason: String,
    /// When it ends, written for people.
    pub until: String,
}

pub(super) fn signed_off(f: &PromotionFacts) -> (GateStatus, String) {
    match &f.sign_off {
        SignOff::NotRequired => (GateStatus::Pass, "no sign-off required".into()),
        SignOff::Required {
            stage,
            by: Some(by),
            ..
        } => (GateStatus::Pass, format!("signed off on {stage} by {by}")),
        SignOff::Required {
            stage,
            roles,
            by: None,
        } => (
            GateStatus::Fail,
            format!(
                "{} is not signed off on {stage}; {roles} may sign it off there",
                f.sha.short()
            ),
        ),
    }
}

impl PromotionFacts {
    /// An approval that counts covers now: the window gate passes too (an approver
    /// may approve a slot outside the windows, with a reason).
    pub fn approved_now(&self) -> bool {
        matches!(
            &self.approval,
            Approval::Required {
                request: Some(ApprovalRequestState::Approved {
                    when: SlotTime::Inside,
                    stale: false,
                    ..
                }),
                ..
            }
        )
    }
}

pub(super) fn approved(f: &PromotionFacts) -> (GateStatus, String) {
    use GateStatus::*;
    let Approval::Required { roles, request } = &f.approval else {
        return (Pass, "no approval required".into());
    };
    let label = &f.target.label;
    match request {
        None => (
            Fail,
            format!("{label} needs approval by {roles}; request it first"),
        ),
        Some(ApprovalRequestState::Pending { by }) => (
            Fail,
            format!("awaiting approval by {roles} (requested by {by})"),
        ),
        Some(ApprovalRequestState::Approved { by, stale: true, .. }) => (
            Fail,
            format!("the approval by {by} no longer counts: {label}'s current SHA changed since; request again"),
        ),
        Some(ApprovalRequestState::Approved { by, slot, when, .. }) => match when {
            SlotTime::Inside => (Pass, format!("approved by {by} for {slot}")),
            SlotTime::Before => (Fail, format!("approved by {by} for {slot}; not yet")),
            SlotTime::After => (
                Fail,
                format!("the approval by {by} for {slot} expired unused; request again"),
            ),
        },
    }
}

pub(super) fn window(f: &PromotionFacts) -> (GateStatus, String) {
    let label = &f.target.label;
    if f.approved_now() && matches!(f.window, WindowState::Closed { .. }) {
        return (
            GateStatus::Pass,
            format!("{label}'s deploy window is closed, but an approved slot covers now"),
        );
    }
    match &f.window {
        WindowState::Always => (GateStatus::Pass, format!("{label} has no deploy windows")),
        WindowState::Open { until } => (GateStatus::Pass, format!("open until {until}")),
        WindowState::Closed { .. } if f.emergency => (
            GateStatus::Pass,
            format!("{label}'s deploy window is closed; passed by emergency override"),
        ),
        WindowState::Closed { next: Some(next) } => (
            GateStatus::Fail,
            format!("{label}'s deploy window is closed; it opens {next}"),
        ),
        WindowState::Closed { next: None } => (
            GateStatus::Fail,
            format!("{label}'s deploy window is closed, and none opens within a week"),
        ),
    }
}

pub(super) fn no_freeze(f: &PromotionFacts) -> (GateStatus, String) {
    match &f.freeze {
        None => (GateStatus::Pass, "no freeze".into()),
        Some(_) if f.emergency => (
            GateStatus::Pass,
            "frozen; passed by emergency override".into(),
        ),
        Some(fr) => (
            GateStatus::Fail,
            format!("frozen until {}: {}", fr.until, fr.reason),
        ),
    }
}
