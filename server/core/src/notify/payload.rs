//! The bodies webhooks are sent: a JSON object with the event's fields, or a Slack
//! message (`{"text": …}`, Slack's mrkdwn) that says it in one line.

use super::{Event, Format};
use crate::store::AuditEntry;
use serde_json::json;

/// The body of `event`, from its audit entry, as `format`; links point at `base_url`.
pub fn body(format: Format, event: Event, entry: &AuditEntry, base_url: &url::Url) -> String {
    let deployment = entry
        .target
        .as_deref()
        .and_then(|t| t.strip_prefix("deployment #"))
        .and_then(|n| n.parse::<i64>().ok());
    let link = match (deployment, entry.pipeline.as_deref()) {
        (Some(id), _) => base_url.join(&format!("deployments/{id}")).ok(),
        (None, Some(p)) => base_url.join(&format!("pipelines/{p}")).ok(),
        (None, None) => None,
    };
    let at = entry
        .at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    match format {
        Format::Json => json!({
            "event": event.as_str(),
            "pipeline": entry.pipeline,
            "stage": entry.stage,
            "sha": entry.sha,
            "deployment": deployment,
            "actor": entry.actor,
            "outcome": entry.outcome,
            "detail": entry.detail,
            "at": at,
            "url": link.as_ref().map(url::Url::as_str),
            "audit_id": entry.id,
        })
        .to_string(),
        Format::Slack => {
            let mut text = format!("{} {}", icon(event), sentence(event, entry, deployment));
            if let Some(link) = &link {
                text.push_str(&format!(" <{link}|Open in Slipway>"));
            }
            json!({ "text": text }).to_string()
        }
    }
}

fn icon(event: Event) -> &'static str {
    match event {
        Event::DeploymentStarted => ":rocket:",
        Event::DeploymentSucceeded => ":white_check_mark:",
        Event::DeploymentFailed => ":x:",
        Event::DeploymentRetried => ":repeat:",
        Event::DriftSeen => ":warning:",
        Event::StageLocked => ":lock:",
        Event::StageUnlocked => ":unlock:",
        Event::ApprovalRequested => ":raising_hand:",
        Event::ApprovalGiven => ":ok_hand:",
    }
}

/// One line for people: "*web*: deployment #12 of `a1b2c3d` to *production* succeeded
/// (by alice)".
fn sentence(event: Event, e: &AuditEntry, deployment: Option<i64>) -> String {
    // Slack's mrkdwn treats <, > and & as markup: escape what users wrote.
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let pipeline = esc(e.pipeline.as_deref().unwrap_or("?"));
    let stage = esc(e.stage.as_deref().unwrap_or("?"));
    let sha = e
        .sha
        .as_deref()
        .map(|s| &s[..s.len().min(7)])
        .unwrap_or("?");
    let by = e
        .actor
        .as_deref()
        .map(|a| format!(" (by {})", esc(a)))
        .unwrap_or_default();
    let detail = e
        .detail
        .as_deref()
        .map(|d| format!(": {}", esc(d)))
        .unwrap_or_default();
    let what = deployment.map_or_else(|| "a deployment".to_owned(), |d| format!("deployment #{d}"));
    let said = match event {
        Event::DeploymentStarted => format!("{what} of `{sha}` to *{stage}* started{by}"),
        Event::DeploymentSucceeded => format!("{what} of `{sha}` to *{stage}* succeeded{by}"),
        Event::DeploymentFailed => {
            format!(
                "{what} of `{sha}` to *{stage}* ended {}{by}",
                esc(&e.outcome)
            )
        }
        Event::DeploymentRetried => format!("{what} of `{sha}` to *{stage}* is retried{detail}"),
        Event::DriftSeen => format!("*{stage}* drifted{detail}"),
        Event::StageLocked => format!("*{stage}* was locked{by}{detail}"),
        Event::StageUnlocked => format!("*{stage}* was unlocked{by}"),
        Event::ApprovalRequested => {
            format!("approval of `{sha}` for *{stage}* was requested{by}{detail}")
        }
        Event::ApprovalGiven => format!("`{sha}` was approved for *{stage}*{by}{detail}"),
    };
    format!("*{pipeline}*: {said}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> AuditEntry {
        AuditEntry {
            id: 41,
            at: time::macros::datetime!(2026-12-04 14:02 UTC),
            actor: Some("alice".into()),
            action: "deploy_finished".into(),
            pipeline: Some("web".into()),
            stage: Some("production".into()),
            sha: Some("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678".into()),
            target: Some("deployment #12".into()),
            outcome: "succeeded".into(),
            detail: None,
        }
    }

    #[test]
    fn the_json_body_carries_the_event_s_fields_and_a_link() {
        let base = url::Url::parse("https://slipway.example.com/").unwrap();
        let body: serde_json::Value = serde_json::from_str(&super::body(
            Format::Json,
            Event::DeploymentSucceeded,
            &entry(),
            &base,
        ))
        .unwrap();
        assert_eq!(body["event"], "deployment_succeeded");
        assert_eq!(body["deployment"], 12);
        assert_eq!(body["sha"], "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678");
        assert_eq!(body["url"], "https://slipway.example.com/deployments/12");
        assert_eq!(body["at"], "2026-12-04T14:02:00Z");
    }

    #[test]
    fn a_slack_message_says_it_in_one_line_with_what_users_wrote_escaped() {
        let base = url::Url::parse("https://slipway.example.com/").unwrap();
        let body: serde_json::Value = serde_json::from_str(&super::body(
            Format::Slack,
            Event::DeploymentSucceeded,
            &entry(),
            &base,
        ))
        .unwrap();
        assert_eq!(
            body["text"],
            ":white_check_mark: *web*: deployment #12 of `a1b2c3d` to *production* succeeded (by alice) \
             <https://slipway.example.com/deployments/12|Open in Slipway>"
        );
        let lock = AuditEntry {
            action: "lock".into(),
            target: None,
            outcome: "ok".into(),
            detail: Some("db <migration> & co".into()),
            ..entry()
        };
        let locked: serde_json::Value = serde_json::from_str(&super::body(
            Format::Slack,
            Event::StageLocked,
            &lock,
            &base,
        ))
        .unwrap();
        assert_eq!(
            locked["text"],
            ":lock: *web*: *production* was locked (by alice): db &lt;migration&gt; &amp; co \
             <https://slipway.example.com/pipelines/web|Open in Slipway>"
        );
    }
}
