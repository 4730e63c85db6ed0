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
}

/// Migration files that differ between the stage's current SHA and the candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Migrations {
    /// The stage runs nothing yet: there is nothing to compare with.
    NoCurrent,
    /// No file under the pipeline's migration paths differs (or it names none).
    None,
    /// Not computed yet (the mirror lacks one of the two commits).
    Unknown,
    /// These files differ.
    Touched {
        /// Paths, sorted.
        files: Vec<String>,
        /// The stage's current SHA, compared with.
        current: Sha,
        /// The deployment goes back (a rollback): it steps back over them.
        stepping_back: bool,
        /// The promoter acknowledged them.
        acknowledged: bool,
    },
}

/// The health of a stage the target requires healthy, as its probe last said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthFact {
    /// The stage's label.
    pub stage: String,
    pub state: HealthState,
}

/// What a stage's health probe says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HealthState {
    /// Answering, since then (written for people).
    Healthy { since: String },
    /// Failing, since then, and how.
    Unhealthy { since: String, detail: String },
    /// No answer yet, or none recent enough to trust.
    Unknown,
}

/// The target stage runs something other than its recorded SHA, by its version probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriftInfo {
    /// What the version probe reports (a SHA or a prefix of one).
    pub runs: String,
    /// The stage's current SHA (its latest successful deployment).
    pub recorded: Sha,
    /// Since when, written for people.
    pub since: String,
    /// The promoter acknowledged that the deploy overwrites it.
    pub acknowledged: bool,
}

/// How many migration files a gate's reason names before "and N more".
const MIGRATIONS_NAMED: usize = 8;

/// `files` for a one-line reason: the first few, then how many more.
pub fn name_files(files: &[String]) -> String {
    let mut text = files
        .iter()
        .take(MIGRATIONS_NAMED)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if files.len() > MIGRATIONS_NAMED {
        text.push_str(&format!(" and {} more", files.len() - MIGRATIONS_NAMED));
    }
    text
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
    /// The promotion is an emergency override (ops, with a reason): it goes through a
    /// closed window or a freeze, and nothing else.
    pub emergency: bool,
}

type GateFn = fn(&PromotionFacts) -> (GateStatus, String);

/// Every gate, in display order.
pub const GATES: &[(GateKind, GateFn)] = &[
    (GateKind::PreviousStage, previous_stage),
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

impl Migrations {
    /// The files a promotion must acknowledge (none when it need not).
    pub fn to_acknowledge(&self) -> &[String] {
        match self {
            Migrations::Touched {
                files,
                acknowledged: false,
                ..
            } => files,
            _ => &[],
        }
    }
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

fn signed_off(f: &PromotionFacts) -> (GateStatus, String) {
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

fn approved(f: &PromotionFacts) -> (GateStatus, String) {
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

fn window(f: &PromotionFacts) -> (GateStatus, String) {
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

fn no_freeze(f: &PromotionFacts) -> (GateStatus, String) {
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

fn migrations(f: &PromotionFacts) -> (GateStatus, String) {
    let label = &f.target.label;
    match &f.migrations {
        Migrations::NoCurrent => (
            GateStatus::Pass,
            format!("nothing deployed on {label} yet to compare with"),
        ),
        Migrations::None => (
            GateStatus::Pass,
            format!("no migration changes since {label}'s current SHA"),
        ),
        Migrations::Unknown => (GateStatus::Pending, "checking for migrations…".into()),
        Migrations::Touched {
            files,
            acknowledged: true,
            ..
        } => (
            GateStatus::Pass,
            format!(
                "{} migration file(s) acknowledged as tested against a copy of production data: {}",
                files.len(),
                name_files(files)
            ),
        ),
        Migrations::Touched {
            files,
            current,
            stepping_back,
            acknowledged: false,
        } => {
            let what = if *stepping_back {
                format!(
                    "rolling {label} back from {} to {} steps back over {} migration file(s)",
                    current.short(),
                    f.sha.short(),
                    files.len()
                )
            } else {
                format!(
                    "{} changes {} migration file(s) since {label}'s current SHA {}",
                    f.sha.short(),
                    files.len(),
                    current.short()
                )
            };
            (
                GateStatus::Acknowledge,
                format!(
                    "{what}: {}; acknowledge they were tested against a copy of production data",
                    name_files(files)
                ),
            )
        }
    }
}

fn drift(f: &PromotionFacts) -> (GateStatus, String) {
    let label = &f.target.label;
    match &f.drift {
        None => (GateStatus::Pass, format!("no drift seen on {label}")),
        Some(d) if d.acknowledged => (
            GateStatus::Pass,
            format!(
                "{label} runs {} instead of {} (since {}); overwriting it was acknowledged",
                d.runs,
                d.recorded.short(),
                d.since
            ),
        ),
        Some(d) => (
            GateStatus::Acknowledge,
            format!(
                "{label} runs {}, not its recorded SHA {} (drift since {}): the deploy would overwrite \
                 whatever was changed by hand; acknowledge to go on",
                d.runs,
                d.recorded.short(),
                d.since
            ),
        ),
    }
}

fn health(f: &PromotionFacts) -> (GateStatus, String) {
    let label = &f.target.label;
    if f.health.is_empty() {
        return (
            GateStatus::Pass,
            format!("{label} requires no other stage healthy"),
        );
    }
    let unhealthy: Vec<String> = f
        .health
        .iter()
        .filter_map(|h| match &h.state {
            HealthState::Unhealthy { since, detail } => {
                Some(format!("{} is unhealthy since {since} ({detail})", h.stage))
            }
            _ => None,
        })
        .collect();
    if !unhealthy.is_empty() {
        return (
            GateStatus::Fail,
            format!(
                "{}; {label} requires it healthy first",
                unhealthy.join("; ")
            ),
        );
    }
    let unknown: Vec<&str> = f
        .health
        .iter()
        .filter(|h| h.state == HealthState::Unknown)
        .map(|h| h.stage.as_str())
        .collect();
    if !unknown.is_empty() {
        return (
            GateStatus::Pending,
            format!(
                "the health of {} is not known yet (no recent answer from its probe)",
                unknown.join(", ")
            ),
        );
    }
    let healthy: Vec<String> = f
        .health
        .iter()
        .filter_map(|h| match &h.state {
            HealthState::Healthy { since } => Some(format!("{} healthy since {since}", h.stage)),
            _ => None,
        })
        .collect();
    (GateStatus::Pass, healthy.join("; "))
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
