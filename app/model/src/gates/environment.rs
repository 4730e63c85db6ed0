//! The environment-truth gates: migrations between the stage's SHA and the candidate,
//! the health of the stages the target requires healthy, drift of the target from its
//! recorded SHA, and the candidate's artifact. Their facts, and their entries'
//! functions in [`super::GATES`].

use super::{GateStatus, PromotionFacts};
use crate::Sha;

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

/// Whether the build of the candidate exists, by the stage's artifact check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Artifact {
    /// The stage checks no artifact.
    NotChecked,
    /// Not asked yet.
    Unknown,
    /// The check found it.
    Present,
    /// The check did not find it (yet): since `since` (written for people), with what
    /// the check said.
    Missing { since: String, detail: String },
    /// The check cannot tell (refused, misconfigured) until someone fixes it.
    Broken { detail: String },
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

pub(super) fn migrations(f: &PromotionFacts) -> (GateStatus, String) {
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

pub(super) fn drift(f: &PromotionFacts) -> (GateStatus, String) {
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

pub(super) fn health(f: &PromotionFacts) -> (GateStatus, String) {
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

pub(super) fn artifact(f: &PromotionFacts) -> (GateStatus, String) {
    let sha = f.sha.short();
    match &f.artifact {
        Artifact::NotChecked => (
            GateStatus::Pass,
            format!("{} checks no artifact", f.target.label),
        ),
        Artifact::Unknown => (
            GateStatus::Pending,
            format!("checking for the artifact of {sha}…"),
        ),
        Artifact::Present => (GateStatus::Pass, format!("the artifact of {sha} is there")),
        Artifact::Missing { since, detail } => (
            GateStatus::Pending,
            format!("waiting for the artifact of {sha} since {since} ({detail})"),
        ),
        Artifact::Broken { detail } => (
            GateStatus::Fail,
            format!(
                "the artifact check of {} cannot tell whether {sha} was built ({detail}): \
                 fix the check's URL, credentials or command",
                f.target.label
            ),
        ),
    }
}
