//! What a promotion into a production stage asks its promoter to confirm: the service,
//! the environment, the SHA and its subject, and what goes out with it. The same view
//! is the confirmation page (without JavaScript) and the board's dialog (with it).

use super::{CommitCard, GateView};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which of a card's promote forms asked for the confirmation: they post different
/// fields, and different gates hold them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromoteMode {
    /// *Promote*: start the deployment now.
    #[default]
    Now,
    /// *Promote when the artifact is there*: queue it until the artifact appears.
    WhenArtifactIsThere,
    /// *Emergency override*: start it although a window is closed or a freeze holds.
    EmergencyOverride,
}

impl PromoteMode {
    /// Every mode, in the order the card offers them.
    pub const ALL: [PromoteMode; 3] = [
        PromoteMode::Now,
        PromoteMode::WhenArtifactIsThere,
        PromoteMode::EmergencyOverride,
    ];

    /// The mode's name in URLs (`now`, `when_artifact_is_there`, `emergency_override`).
    pub fn as_str(self) -> &'static str {
        match self {
            PromoteMode::Now => "now",
            PromoteMode::WhenArtifactIsThere => "when_artifact_is_there",
            PromoteMode::EmergencyOverride => "emergency_override",
        }
    }

    /// The mode named `s` in a URL; a missing mode is [`PromoteMode::Now`].
    pub fn parse(s: &str) -> Result<PromoteMode, String> {
        if s.is_empty() {
            return Ok(PromoteMode::Now);
        }
        PromoteMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown promotion mode {s:?}: use one of {}",
                    PromoteMode::ALL.map(PromoteMode::as_str).join(", ")
                )
            })
    }
}

impl fmt::Display for PromoteMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A promotion into a production stage, as its promoter confirms it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmView {
    /// Pipeline id.
    pub pipeline: String,
    /// The service (pipeline name).
    pub pipeline_name: String,
    /// Target stage id.
    pub stage: String,
    /// The environment (target stage label).
    pub stage_label: String,
    /// Which promote form this confirms.
    pub mode: PromoteMode,
    /// The commit that goes out.
    pub commit: CommitCard,
    /// The SHA the stage runs now, if any.
    pub current: Option<String>,
    /// How many first-parent commits go out (`current..sha`); `None` when nothing runs
    /// there yet (everything goes out).
    pub commit_count: Option<usize>,
    /// Whether the count stopped at its limit (then it is "at least").
    pub count_truncated: bool,
    /// Whether the SHA descends from the current one (otherwise commits are dropped).
    pub descends: bool,
    /// The newest commits that go out, newest first (at most a screenful).
    pub commits: Vec<CommitCard>,
    /// Migration files crossed, to acknowledge.
    pub migrations: Vec<String>,
    /// The stage's drift, to acknowledge ("Production runs abc1234, not def5678").
    pub drift: Option<String>,
    /// The stage's checklist, each item to tick.
    pub checklist: Vec<String>,
    /// The gates that do not pass (the passing ones are counted).
    pub open_gates: Vec<GateView>,
    /// How many gates pass.
    pub passing_gates: usize,
    /// Whether the promotion this mode asks for would be let through now.
    pub allowed: bool,
    /// The SHA whose queued promotion this one would replace (queue mode).
    pub queue_replaces: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mode_is_named_in_urls_by_its_name_and_an_unknown_one_lists_those_that_exist() {
        for mode in PromoteMode::ALL {
            assert_eq!(PromoteMode::parse(mode.as_str()), Ok(mode));
        }
        assert_eq!(PromoteMode::parse(""), Ok(PromoteMode::Now));
        assert_eq!(
            PromoteMode::parse("later"),
            Err("unknown promotion mode \"later\": use one of now, when_artifact_is_there, emergency_override".to_owned())
        );
    }
}
