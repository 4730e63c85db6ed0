//! The promises of [`GitHubStore`]: GitHub's webhook deliveries, CI results and the
//! GitHub Deployments of deployments.

use super::*;

/// A GitHub delivery is recorded once per id and taken once.
pub async fn a_github_delivery_is_recorded_once_and_taken_once(s: &dyn Storage) {
    let id = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
    assert!(s
        .record_github_delivery(id, "push", "{}")
        .await
        .expect("recorded"));
    assert!(
        !s.record_github_delivery(id, "push", "{\"again\": true}")
            .await
            .expect("answered"),
        "a redelivery is not recorded again"
    );
    let pending = s.pending_github_deliveries(10).await.expect("read");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].body, "{}", "the first body stays");
    assert!(s.take_github_delivery(id).await.expect("taken"));
    assert!(
        !s.take_github_delivery(id).await.expect("answered"),
        "taken once"
    );
    assert!(s
        .pending_github_deliveries(10)
        .await
        .expect("read")
        .is_empty());
    s.github_delivery_outcome(id, "push: fetched web")
        .await
        .expect("recorded");
    assert_eq!(
        s.github_delivery(id)
            .await
            .expect("read")
            .and_then(|d| d.outcome)
            .as_deref(),
        Some("push: fetched web")
    );
    // Processed and old: forgotten; one not taken yet stays, whatever its age.
    assert!(s
        .record_github_delivery("later", "status", "{}")
        .await
        .expect("recorded"));
    let after = s.clock().now() + time::Duration::seconds(1);
    assert_eq!(s.prune_github_deliveries(after).await.expect("pruned"), 1);
    assert!(s.github_delivery(id).await.expect("read").is_none());
    assert_eq!(
        s.pending_github_deliveries(10).await.expect("read").len(),
        1
    );
}

/// A CI check keeps its newest result: a late delivery of an older one changes nothing,
/// nor does a pending one of the same time as a finished one.
pub async fn a_ci_check_keeps_its_newest_result(s: &dyn Storage) {
    let web = PipelineId::parse("web").expect("an id");
    let sha = Sha::parse(&"c".repeat(40)).expect("a SHA");
    let at = s.clock().now().replace_nanosecond(0).expect("a time");
    let check = |state, minutes: i64| CiCheck {
        name: "build".into(),
        state,
        url: Some(format!("https://ci.example/{minutes}")),
        reported_at: at + time::Duration::minutes(minutes),
    };
    s.record_ci_check(&web, &sha, &check(CheckState::Pending, 0))
        .await
        .expect("recorded");
    s.record_ci_check(&web, &sha, &check(CheckState::Success, 5))
        .await
        .expect("recorded");
    s.record_ci_check(&web, &sha, &check(CheckState::Pending, 1))
        .await
        .expect("answered");
    s.record_ci_check(&web, &sha, &check(CheckState::Pending, 5))
        .await
        .expect("answered");
    let test = CiCheck {
        name: "test".into(),
        ..check(CheckState::Failure, 2)
    };
    s.record_ci_check(&web, &sha, &test)
        .await
        .expect("recorded");
    assert_eq!(
        s.ci_checks(&web, &sha).await.expect("read"),
        vec![check(CheckState::Success, 5), test]
    );
    let other = Sha::parse(&"d".repeat(40)).expect("a SHA");
    assert!(s.ci_checks(&web, &other).await.expect("read").is_empty());
    // Within one second, the finished result wins whichever came first.
    let lint = |state, millis: i64| CiCheck {
        name: "lint".into(),
        state,
        url: None,
        reported_at: at + time::Duration::milliseconds(millis),
    };
    s.record_ci_check(&web, &other, &lint(CheckState::Pending, 0))
        .await
        .expect("recorded");
    s.record_ci_check(&web, &other, &lint(CheckState::Success, 800))
        .await
        .expect("recorded");
    s.record_ci_check(&web, &other, &lint(CheckState::Pending, 900))
        .await
        .expect("answered");
    assert_eq!(
        s.ci_checks(&web, &other).await.expect("read"),
        vec![lint(CheckState::Success, 0)]
    );
}

/// A success replaces the stage's latest successful GitHub Deployment before it, never
/// a failed one, one of another stage or one already made inactive.
pub async fn a_success_replaces_the_stages_latest_successful_github_deployment(s: &dyn Storage) {
    let qa = user(s, "quinn", &[Role::Qa]).await;
    let web = PipelineId::parse("web").expect("an id");
    let stage = StageId::parse("qa").expect("an id");
    let other = StageId::parse("staging").expect("an id");
    let mut ids = Vec::new();
    for (n, (on, at, state)) in [
        ('a', &stage, "success"),
        ('b', &other, "success"),
        ('c', &stage, "failure"),
        ('d', &stage, "in_progress"),
    ]
    .into_iter()
    .enumerate()
    {
        let d = s
            .create_deployment(&new_deployment(qa.id, on), &pass, &audited)
            .await
            .expect("created");
        s.finish_deployment(d.id, DeploymentState::Succeeded, Some(0), s.clock().now())
            .await
            .expect("finished");
        let github_id = 100 + i64::try_from(n).expect("small");
        s.record_github_deployment(d.id, &web, at, github_id, "in_progress")
            .await
            .expect("recorded");
        s.set_github_deployment_state(d.id, state)
            .await
            .expect("updated");
        ids.push(d.id);
    }
    assert_eq!(
        s.github_deployment_replaced(&web, &stage, ids[3])
            .await
            .expect("read"),
        Some((ids[0], 100))
    );
    assert_eq!(
        s.github_deployment_of(ids[2]).await.expect("read"),
        Some(102)
    );
    assert_eq!(
        s.github_deployment_replaced(&web, &stage, ids[0])
            .await
            .expect("read"),
        None,
        "nothing before the first"
    );
    s.set_github_deployment_state(ids[0], "inactive")
        .await
        .expect("updated");
    assert_eq!(
        s.github_deployment_replaced(&web, &stage, ids[3])
            .await
            .expect("read"),
        None
    );
}
