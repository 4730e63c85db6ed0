//! Each stage's version probe, polled: which SHA the environment really runs. When it
//! reports something other than the stage's recorded SHA (its latest successful
//! deployment), the stage has **drifted** — someone changed it by hand, or another
//! tool deployed — and the next promotion would overwrite that: the `drift` gate asks
//! for an acknowledgement. Drift is audited when first seen and when it ends.

use super::Prober;
use crate::config::{PipelineConfig, StageConfig, VersionExtract};
use crate::store::{Drift, DriftChange, NewAudit, Reading};
use crate::Services;
use slipway_model::audit::{AuditAction, Outcome};
use slipway_model::live::BoardChange;
use slipway_model::Sha;

/// The SHA (or SHA prefix, at least 7 hex digits) an answer names, or why it names none.
pub fn reported_sha(text: &str, extract: &VersionExtract) -> Result<String, String> {
    let found = match extract {
        VersionExtract::Whole => text.trim().to_owned(),
        VersionExtract::JsonPointer(pointer) => {
            let doc: serde_json::Value =
                serde_json::from_str(text).map_err(|e| format!("the answer is not JSON ({e})"))?;
            match doc.pointer(pointer) {
                Some(serde_json::Value::String(s)) => s.trim().to_owned(),
                Some(other) => return Err(format!("{pointer} is {other}, not a string")),
                None => return Err(format!("the answer has nothing at {pointer}")),
            }
        }
        VersionExtract::Regex(re) => {
            let caps = re
                .captures(text)
                .ok_or_else(|| format!("the answer does not match {:?}", re.as_str()))?;
            caps.get(1)
                .or_else(|| caps.get(0))
                .map(|m| m.as_str().trim().to_owned())
                .unwrap_or_default()
        }
    };
    let lower = found.to_ascii_lowercase();
    if (7..=40).contains(&lower.len()) && lower.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(lower)
    } else {
        let shown: String = found.chars().take(60).collect();
        Err(format!(
            "the answer names {shown:?}, not a commit SHA (7 to 40 hex digits)"
        ))
    }
}

/// Whether a reported SHA (or prefix) is `sha`.
pub fn is(reported: &str, sha: &Sha) -> bool {
    sha.as_str().starts_with(reported)
}

/// Probes `stage`'s version once, records it, and announces and audits a drift seen or
/// ended. Says nothing about drift while a deployment of the stage is under way.
pub async fn check(
    state: &Services,
    prober: &Prober,
    pipeline: &PipelineConfig,
    stage: &StageConfig,
) {
    let Some(version) = &stage.version else {
        return;
    };
    let answer = prober
        .run(
            pipeline,
            stage,
            &version.probe.target,
            version.probe.timeout,
        )
        .await;
    let reported = if answer.ok {
        reported_sha(&answer.text, &version.extract)
    } else {
        Err(answer.detail.clone())
    };
    let snapshot = match state
        .storage
        .stage_snapshot(&pipeline.id, &stage.id, None, None)
        .await
    {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "failed to read a stage for its version probe");
            return;
        }
    };
    let current = snapshot.current.as_ref().map(|d| &d.sha);
    let reading = match (&reported, current) {
        (Err(_), _) => Reading::Unknown,
        _ if snapshot.active.is_some() => Reading::Unknown,
        (Ok(_), None) => Reading::InSync,
        (Ok(r), Some(c)) if is(r, c) => Reading::InSync,
        (Ok(r), Some(c)) => Reading::Drifted {
            runs: r,
            recorded: c,
        },
    };
    let (value, detail) = match &reported {
        Ok(r) => (Some(r.as_str()), answer.detail.clone()),
        Err(why) => (None, why.clone()),
    };
    let change = match state
        .storage
        .record_version(&pipeline.id, &stage.id, value, &detail, reading)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "failed to record a version probe's answer");
            return;
        }
    };
    let (action, drift, text) = match change {
        DriftChange::Unchanged => return,
        DriftChange::Seen(d) => {
            let text = format!(
                "{} runs {}, not its recorded SHA {}",
                stage.label,
                d.runs,
                d.recorded.short()
            );
            (AuditAction::DriftSeen, d, text)
        }
        DriftChange::Ended(d) => {
            let text = format!(
                "{} no longer runs {} ({})",
                stage.label,
                d.runs,
                reported
                    .as_deref()
                    .map_or_else(|why| why.to_owned(), |r| format!("it reports {r}"))
            );
            (AuditAction::DriftEnded, d, text)
        }
    };
    announce(state, pipeline, &drift, action, text).await;
}

async fn announce(
    state: &Services,
    pipeline: &PipelineConfig,
    drift: &Drift,
    action: AuditAction,
    text: String,
) {
    tracing::warn!(pipeline = %pipeline.id, stage = %drift.stage, "{text}");
    state
        .events
        .board_changed(pipeline.id.as_str(), BoardChange::Drift)
        .await;
    let mut entry = NewAudit::new(action, Outcome::Ok);
    entry.pipeline = Some(pipeline.id.to_string());
    entry.stage = Some(drift.stage.clone());
    entry.sha = Some(drift.recorded.to_string());
    entry.detail = Some(text);
    crate::audit::record(state.storage.as_ref(), entry).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_read_from_the_whole_answer_a_json_pointer_or_a_regex() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            reported_sha(&format!("{sha}\n"), &VersionExtract::Whole),
            Ok(sha.into())
        );
        let json = format!(r#"{{"git": {{"sha": "{}"}}}}"#, sha.to_uppercase());
        assert_eq!(
            reported_sha(&json, &VersionExtract::JsonPointer("/git/sha".into())),
            Ok(sha.into())
        );
        let re = VersionExtract::Regex(regex::Regex::new(r"commit ([0-9a-f]+)").unwrap());
        assert_eq!(
            reported_sha("build 42, commit 0123abc", &re),
            Ok("0123abc".into())
        );
    }

    #[test]
    fn an_answer_that_names_no_sha_says_why() {
        let pointer = VersionExtract::JsonPointer("/sha".into());
        assert_eq!(
            reported_sha("<html>", &pointer)
                .unwrap_err()
                .split(" (")
                .next(),
            Some("the answer is not JSON")
        );
        assert_eq!(
            reported_sha(r#"{"sha": 42}"#, &pointer),
            Err("/sha is 42, not a string".into())
        );
        assert_eq!(
            reported_sha(r#"{"version": "1.2"}"#, &pointer),
            Err("the answer has nothing at /sha".into())
        );
        assert!(reported_sha("v1.2.3", &VersionExtract::Whole)
            .unwrap_err()
            .contains("not a commit SHA"));
        assert!(
            reported_sha("abc", &VersionExtract::Whole).is_err(),
            "too short to mean one commit"
        );
    }

    #[test]
    fn a_prefix_names_the_sha_it_begins() {
        let sha = Sha::parse("0123456789abcdef0123456789abcdef01234567").unwrap();
        assert!(is("0123456", &sha));
        assert!(is(sha.as_str(), &sha));
        assert!(!is("1123456", &sha));
    }
}
