//! The CI gate: the pipeline's required checks (GitHub check runs and commit statuses,
//! by name) are green for the SHA.

use super::{GateStatus, PromotionFacts};

/// What the required checks say about the candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ci {
    /// The pipeline requires no checks.
    NotRequired,
    /// Not asked yet.
    Unknown,
    /// The checks' host cannot answer now (GitHub rate-limited until a time, say).
    Unavailable { reason: String },
    /// Every required check succeeded.
    Green { checks: Vec<String> },
    /// Some required checks have not finished (or not reported yet).
    Waiting { checks: Vec<String> },
    /// A required check failed: its name and where its run says why.
    Failed { check: String, url: Option<String> },
}

pub(super) fn ci(f: &PromotionFacts) -> (GateStatus, String) {
    let sha = f.sha.short();
    match &f.ci {
        Ci::NotRequired => (GateStatus::Pass, "no CI checks are required".into()),
        Ci::Unknown => (GateStatus::Pending, format!("checking CI for {sha}…")),
        Ci::Unavailable { reason } => (GateStatus::Pending, format!("CI: {reason}")),
        Ci::Green { checks } => (
            GateStatus::Pass,
            format!("CI green for {sha}: {}", checks.join(", ")),
        ),
        Ci::Waiting { checks } => (
            GateStatus::Pending,
            format!("CI still running for {sha}: {}", checks.join(", ")),
        ),
        Ci::Failed { check, url } => (
            GateStatus::Fail,
            match url {
                Some(url) => format!("CI check {check} failed for {sha}: {url}"),
                None => format!("CI check {check} failed for {sha}"),
            },
        ),
    }
}
