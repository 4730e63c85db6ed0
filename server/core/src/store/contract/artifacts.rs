//! The promises of [`ArtifactStore`]: what a check said, and the queue of promotions
//! waiting for an artifact.

use super::*;
use slipway_model::acks::Acknowledgements;

fn ids() -> (PipelineId, StageId, Sha) {
    (
        PipelineId::parse("web").expect("a valid pipeline id"),
        StageId::parse("qa").expect("a valid stage id"),
        Sha::parse(&"a".repeat(40)).expect("a valid SHA"),
    )
}

/// A missing artifact keeps the time it was first missed until it is found; found, it
/// has none.
pub async fn an_artifact_is_missing_since_its_first_miss_until_found(s: &dyn Storage) {
    let (web, qa, sha) = ids();
    let first = s
        .record_artifact(&web, &qa, &sha, ArtifactStatus::Missing, "HTTP 404")
        .await
        .expect("recorded");
    let since = first.missing_since.expect("missing since now");
    let again = s
        .record_artifact(&web, &qa, &sha, ArtifactStatus::Broken, "HTTP 403")
        .await
        .expect("recorded");
    assert_eq!(
        again.missing_since,
        Some(since),
        "still missing since the first miss"
    );
    assert_eq!(
        (again.status, again.detail.as_str()),
        (ArtifactStatus::Broken, "HTTP 403")
    );
    let found = s
        .record_artifact(&web, &qa, &sha, ArtifactStatus::Present, "HTTP 200")
        .await
        .expect("recorded");
    assert_eq!(found.missing_since, None);
    let seen = s
        .artifacts_seen(&web, std::slice::from_ref(&sha))
        .await
        .expect("read");
    assert_eq!(seen, vec![found]);
    let other = Sha::parse(&"b".repeat(40)).expect("a valid SHA");
    assert!(s
        .artifacts_seen(&web, &[other])
        .await
        .expect("read")
        .is_empty());
}

/// One waiting entry per stage: a second is refused unless it replaces the first; a
/// due entry is claimed by one caller; an entry ends once.
pub async fn a_stage_has_one_queued_promotion_claimed_once_and_ended_once(s: &dyn Storage) {
    let (web, qa, sha) = ids();
    let quinn = user(s, "quinn", &[Role::Qa]).await;
    let now = s.clock().now();
    let new = NewQueuedPromotion {
        pipeline: web.clone(),
        stage: qa.clone(),
        sha: sha.clone(),
        by: quinn.id,
        deadline: now + time::Duration::hours(1),
        checklist: Some(vec!["Release notes posted".into()]),
        acks: Acknowledgements::default(),
        replace: false,
    };
    let first = s.queue_promotion(&new).await.expect("queued");
    assert_eq!(first.state, QueueState::Waiting);
    assert_eq!(first.requested_by, "quinn");
    assert_eq!(first.checklist, new.checklist);
    let b = Sha::parse(&"b".repeat(40)).expect("a valid SHA");
    let newer = NewQueuedPromotion {
        sha: b.clone(),
        ..new.clone()
    };
    match s.queue_promotion(&newer).await {
        Err(QueueError::Occupied(old)) => assert_eq!(old.id, first.id),
        other => panic!("a second entry must be refused: {other:?}"),
    }
    let second = s
        .queue_promotion(&NewQueuedPromotion {
            replace: true,
            ..newer
        })
        .await
        .expect("replaces");
    let replaced = s
        .queued_promotion(first.id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(replaced.state, QueueState::Replaced);
    assert_eq!(replaced.ended_by.as_deref(), Some("quinn"));

    let now = s.clock().now();
    let due = s.due_queued(now).await.expect("read");
    assert_eq!(
        due.iter().map(|q| q.id).collect::<Vec<_>>(),
        vec![second.id]
    );
    let later = now + time::Duration::seconds(5);
    assert!(s.claim_queued(second.id, 0, later).await.expect("claim"));
    assert!(
        !s.claim_queued(second.id, 0, later).await.expect("claim"),
        "a check is claimed once"
    );
    assert!(
        s.due_queued(now).await.expect("read").is_empty(),
        "not due until later"
    );
    let end = QueueEnd {
        state: QueueState::Expired,
        by: None,
        outcome: "expired".into(),
        deployment: None,
    };
    assert!(s.end_queued(second.id, &end).await.expect("end"));
    assert!(
        !s.end_queued(second.id, &end).await.expect("end"),
        "ends once"
    );
    let listed = s.queued_promotions(&web).await.expect("read");
    assert_eq!(
        listed.iter().map(|q| (q.id, q.state)).collect::<Vec<_>>(),
        vec![
            (second.id, QueueState::Expired),
            (first.id, QueueState::Replaced)
        ]
    );
    // The stage is free again.
    s.queue_promotion(&new).await.expect("queued again");
}
