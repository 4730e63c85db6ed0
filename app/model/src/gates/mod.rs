//! Promotion gates: the rules a promotion of SHA *s* into stage *N* must pass.
//!
//! Pure: the caller gathers [`PromotionFacts`] (from storage, git and the config) and
//! [`evaluate`] turns them into one [`GateResult`] per gate. The board shows the same
//! results on every card before the click, the API returns them, and the engine runs
//! the same evaluation again inside the transaction that creates the deployment.
//!
//! Each gate is one self-contained entry in [`GATES`]: a name and a function of the
//! facts. Adding a gate (sign-off, CI, window, approval…) means adding a field to the
//! facts and one entry here.

use super::{DeploymentId, RoleSet, Sha};
use serde::{Deserialize, Serialize};

mod ci;
mod environment;
mod governance;
pub use ci::Ci;
pub use environment::*;
pub use governance::*;

/// Which rule a result is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum GateKind {
    /// The SHA succeeded on the previous stage (or is marked ready, for the first stage).
    PreviousStage,
    /// Where the previous stage asks for a sign-off, someone allowed to gave one for the SHA.
    SignedOff,
    /// Where the stage asks for approval, an approval of the SHA covers now.
    Approved,
    /// On fast-forward-only stages, the SHA equals or descends from the current SHA.
    Ancestry,
    /// No deployment to the stage is queued or running.
    Busy,
    /// Nobody holds a lock on the stage.
    Lock,
    /// The user's roles may promote into the stage.
    Permission,
    /// The stage's deploy windows are open now (or it has none).
    Window,
    /// No freeze closes the stage now.
    NoFreeze,
    /// Migration files between the stage's current SHA and the candidate are
    /// acknowledged (tested against a copy of production data).
    Migrations,
    /// The stages this one requires healthy are healthy now.
    Health,
    /// The stage runs its recorded SHA (its version probe says so), or the promoter
    /// acknowledged that the deploy overwrites what was changed by hand.
    Drift,
    /// The build the stage deploys exists (its artifact check finds it).
    Artifact,
    /// The pipeline's required CI checks are green for the SHA.
    Ci,
}

impl GateKind {
    /// Stable machine name (API `code`s, CSS classes).
    pub fn as_str(self) -> &'static str {
        match self {
            GateKind::PreviousStage => "previous_stage",
            GateKind::SignedOff => "signed_off",
            GateKind::Approved => "approved",
            GateKind::Ancestry => "ancestry",
            GateKind::Busy => "busy",
            GateKind::Lock => "lock",
            GateKind::Permission => "permission",
            GateKind::Window => "window",
            GateKind::NoFreeze => "no_freeze",
            GateKind::Migrations => "migrations",
            GateKind::Health => "health",
            GateKind::Drift => "drift",
            GateKind::Artifact => "artifact",
            GateKind::Ci => "ci",
        }
    }

    /// Short human label.
    pub fn label(self) -> &'static str {
        match self {
            GateKind::PreviousStage => "Previous stage",
            GateKind::SignedOff => "Signed off",
            GateKind::Approved => "Approved",
            GateKind::Ancestry => "Ancestry",
            GateKind::Busy => "Not busy",
            GateKind::Lock => "Not locked",
            GateKind::Permission => "Permission",
            GateKind::Window => "Deploy window",
            GateKind::NoFreeze => "No freeze",
            GateKind::Migrations => "Migrations",
            GateKind::Health => "Health",
            GateKind::Drift => "No drift",
            GateKind::Artifact => "Artifact",
            GateKind::Ci => "CI",
        }
    }
}

/// A gate's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum GateStatus {
    /// The rule holds.
    Pass,
    /// The rule does not hold; promotion is refused.
    Fail,
    /// Not known yet (e.g. ancestry still being computed); promotion is refused for now.
    Pending,
    /// The rule holds once the promoter acknowledges what the reason says (a checkbox
    /// on the card, a field of the API's request); without it, promotion is refused.
    Acknowledge,
}

impl GateStatus {
    /// Stable machine name (CSS classes, the card's views).
    pub fn as_str(self) -> &'static str {
        match self {
            GateStatus::Pass => "pass",
            GateStatus::Fail => "fail",
            GateStatus::Pending => "pending",
            GateStatus::Acknowledge => "acknowledge",
        }
    }
}

/// One gate's verdict with a one-line reason for the card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateResult {
    /// Which gate.
    pub gate: GateKind,
    /// Its verdict.
    pub status: GateStatus,
    /// Why, in one line.
    pub reason: String,
}

/// The stage being promoted into, as the gates need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetStage {
    /// Column title, for messages.
    pub label: String,
    /// Whether only descendants of the current SHA may enter.
    pub fast_forward_only: bool,
    /// Roles that may promote here.
    pub promote_roles: RoleSet,
}

/// Where the SHA stands on the previous stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Previous {
    /// The target is the first stage: a SHA marked ready may enter.
    FirstStage {
        /// Whether the SHA is marked ready.
        marked_ready: bool,
    },
    /// The target has a previous stage.
    Stage {
        /// Its label.
        label: String,
        /// Whether the SHA's latest finished deployment there succeeded.
        succeeded: bool,
        /// Whether it was rolled back there since.
        rolled_back: bool,
        /// Whether it succeeded there once, but a later attempt ended otherwise.
        failed_since: bool,
    },
}

/// A deployment that occupies the stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveDeployment {
    /// Its id.
    pub id: DeploymentId,
    /// The SHA it deploys.
    pub sha: Sha,
}

/// A lock on the stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockInfo {
    /// Who holds it.
    pub by: String,
    pub reason: String,
}

/// Whether the candidate descends from the stage's current SHA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ancestry {
    /// The stage has no current SHA: anything may enter.
    NoCurrent,
    /// The candidate is the current SHA.
    Same,
    /// The candidate descends from the current SHA.
    Descends,
    /// The candidate does not descend from `current`.
    Diverges {
        /// The stage's current SHA.
        current: Sha,
        /// Whether the candidate is older (an ancestor of `current`) rather than on
        /// another branch: the two call for different fixes.
        older: bool,
    },
    /// Not computed yet.
    Unknown,
    /// The repository cannot answer now (GitHub rate-limited until a time, say): the
    /// reason, for the card.
    Unavailable { reason: String },
}

/// Everything the gates look at for one (SHA, stage, user).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromotionFacts {
    /// The SHA to promote.
    pub sha: Sha,
    /// The stage it would enter.
    pub target: TargetStage,
    /// Its standing on the previous stage.
    pub previous: Previous,
    /// Its sign-off on the previous stage.
    pub sign_off: SignOff,
    /// Its approval for the target stage.
    pub approval: Approval,
    /// Its relation to the stage's current SHA.
    pub ancestry: Ancestry,
    /// A queued or running deployment of the stage, if any.
    pub active: Option<ActiveDeployment>,
    /// A lock on the stage, if any.
    pub lock: Option<LockInfo>,
    /// The roles of the user asking.
    pub user_roles: RoleSet,
    /// The stage's deploy windows now.
    pub window: WindowState,
    /// A freeze in force on the stage now, if any.
    pub freeze: Option<FreezeInfo>,
    /// Migration files between the stage's current SHA and this one.
    pub migrations: Migrations,
    /// The health of each stage the target requires healthy (`requires_healthy`).
    pub health: Vec<HealthFact>,
    /// Drift of the target stage, where its version probe sees some.
    pub drift: Option<DriftInfo>,
    /// Whether the build of the SHA the stage deploys exists.
    pub artifact: Artifact,
    /// What the pipeline's required CI checks say about the SHA.
    pub ci: Ci,
    /// The promotion is an emergency override (ops, with a reason): it goes through a
    /// closed window or a freeze, and nothing else.
    pub emergency: bool,
}

type GateFn = fn(&PromotionFacts) -> (GateStatus, String);

/// Every gate, in display order.
pub const GATES: &[(GateKind, GateFn)] = &[
    (GateKind::PreviousStage, previous_stage),
    (GateKind::Ci, ci::ci),
    (GateKind::SignedOff, signed_off),
    (GateKind::Approved, approved),
    (GateKind::Ancestry, ancestry),
    (GateKind::Busy, busy),
    (GateKind::Lock, lock),
    (GateKind::Permission, permission),
    (GateKind::Window, window),
    (GateKind::NoFreeze, no_freeze),
    (GateKind::Migrations, migrations),
    (GateKind::Health, health),
    (GateKind::Drift, drift),
    (GateKind::Artifact, artifact),
];

/// Evaluates every gate.
pub fn evaluate(facts: &PromotionFacts) -> Vec<GateResult> {
    GATES
        .iter()
        .map(|(gate, f)| {
            let (status, reason) = f(facts);
            GateResult {
                gate: *gate,
                status,
                reason,
            }
        })
        .collect()
}

/// The first gate that does not pass, if any: the reason a promotion is refused.
pub fn first_blocker(results: &[GateResult]) -> Option<&GateResult> {
    results.iter().find(|r| r.status != GateStatus::Pass)
}

/// The first gate that does not pass and that no acknowledgement would pass: the card
/// offers the promote button (with the acknowledgements to tick) when there is none.
pub fn first_hard_blocker(results: &[GateResult]) -> Option<&GateResult> {
    results
        .iter()
        .find(|r| !matches!(r.status, GateStatus::Pass | GateStatus::Acknowledge))
}

/// Whether a promotion with these results may be queued to start by itself when the
/// artifact appears: the artifact is all that holds it (the acknowledgements the results
/// were evaluated with are part of the request).
pub fn queueable(results: &[GateResult]) -> bool {
    let mut waiting = false;
    for r in results {
        match (r.gate, r.status) {
            (_, GateStatus::Pass) => {}
            (GateKind::Artifact, GateStatus::Pending) => waiting = true,
            _ => return false,
        }
    }
    waiting
}

fn previous_stage(f: &PromotionFacts) -> (GateStatus, String) {
    use GateStatus::*;
    match &f.previous {
        Previous::FirstStage { marked_ready: true } => (Pass, "marked ready".into()),
        Previous::FirstStage {
            marked_ready: false,
        } => (
            Fail,
            format!("{} is not marked ready; mark it ready first", f.sha.short()),
        ),
        Previous::Stage {
            label,
            succeeded: true,
            rolled_back: false,
            ..
        } => (Pass, format!("succeeded on {label}")),
        Previous::Stage {
            label,
            succeeded: true,
            rolled_back: true,
            ..
        } => (
            Fail,
            format!("{} was rolled back on {label}", f.sha.short()),
        ),
        Previous::Stage {
            label,
            succeeded: false,
            failed_since: true,
            ..
        } => (
            Fail,
            format!(
                "{} succeeded on {label} once, but its latest deployment there did not; \
                 it must succeed on {label} again first",
                f.sha.short()
            ),
        ),
        Previous::Stage {
            label,
            succeeded: false,
            ..
        } => (
            Fail,
            format!("{} has not succeeded on {label}", f.sha.short()),
        ),
    }
}

fn ancestry(f: &PromotionFacts) -> (GateStatus, String) {
    use GateStatus::*;
    if !f.target.fast_forward_only {
        return (
            Pass,
            format!("{} accepts any SHA (not fast-forward-only)", f.target.label),
        );
    }
    match &f.ancestry {
        Ancestry::NoCurrent => (Pass, format!("nothing deployed on {} yet", f.target.label)),
        Ancestry::Same => (
            Pass,
            format!("already the current SHA of {} (redeploy)", f.target.label),
        ),
        Ancestry::Descends => (
            Pass,
            format!("descends from {}'s current SHA", f.target.label),
        ),
        Ancestry::Diverges { current, older } => {
            let (label, sha, current) = (&f.target.label, f.sha.short(), current.short());
            let why = if *older {
                format!("it is older (an ancestor of {current}): deploying it would take {label} back; roll back to do that on purpose")
            } else {
                format!("it is on another branch (neither descends from the other): deploying it would drop commits {label} runs")
            };
            (
                Fail,
                format!("{sha} does not descend from {label}'s current SHA {current}: {why}"),
            )
        }
        Ancestry::Unknown => (Pending, "checking ancestry…".into()),
        Ancestry::Unavailable { reason } => (Pending, format!("ancestry: {reason}")),
    }
}

fn busy(f: &PromotionFacts) -> (GateStatus, String) {
    match &f.active {
        None => (GateStatus::Pass, format!("{} is idle", f.target.label)),
        Some(d) => (
            GateStatus::Fail,
            format!(
                "{} is already deploying {} (deployment #{})",
                f.target.label,
                d.sha.short(),
                d.id
            ),
        ),
    }
}

fn lock(f: &PromotionFacts) -> (GateStatus, String) {
    match &f.lock {
        None => (GateStatus::Pass, "not locked".into()),
        Some(l) => (
            GateStatus::Fail,
            format!("locked by {}: {}", l.by, l.reason),
        ),
    }
}

fn permission(f: &PromotionFacts) -> (GateStatus, String) {
    match may_promote_into(f.user_roles, f.target.promote_roles, &f.target.label) {
        Ok(()) => (GateStatus::Pass, "you may promote here".into()),
        Err(why) => (GateStatus::Fail, why),
    }
}

/// The gates an emergency override may pass: a closed window and a freeze, nothing else.
pub const OVERRIDABLE: &[GateKind] = &[GateKind::Window, GateKind::NoFreeze];

/// The gates an emergency override passes for these facts: those of [`OVERRIDABLE`]
/// that would fail without it. Empty: the override would change nothing.
pub fn overridden(facts: &PromotionFacts) -> Vec<GateKind> {
    let plain = PromotionFacts {
        emergency: false,
        ..facts.clone()
    };
    evaluate(&plain)
        .into_iter()
        .filter(|r| OVERRIDABLE.contains(&r.gate) && r.status != GateStatus::Pass)
        .map(|r| r.gate)
        .collect()
}

/// The permission gate on its own, for commands that check it before any other work
/// (a promotion of an unknown SHA would otherwise fetch from upstream first).
pub fn may_promote_into(user_roles: RoleSet, allowed: RoleSet, label: &str) -> Result<(), String> {
    if (super::Action::PromoteInto { allowed }).is_permitted_for(user_roles) {
        Ok(())
    } else {
        Err(format!("only {allowed} may promote into {label}"))
    }
}

#[cfg(test)]
mod tests;
