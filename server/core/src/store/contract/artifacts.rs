//! The promises of [`ArtifactStore`] (what a check said, the queue of promotions waiting
//! for an artifact) and [`WebhookStore`] (the outbox and its deliveries): the stores the
//! environment-truth work added.

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

/// The webhook outbox starts after the newest audit entry, moves once per pass (a
/// second process's pass with the same view stores nothing), and a delivery is claimed
/// once per attempt.
pub async fn the_webhook_outbox_moves_once_and_a_delivery_is_claimed_once(s: &dyn Storage) {
    s.audit(NewAudit::new(AuditAction::Login, Outcome::Ok))
        .await
        .expect("audited");
    let start = s.webhook_cursor().await.expect("cursor");
    assert!(
        s.audit_after(start, 10).await.expect("read").is_empty(),
        "history is not sent"
    );
    let mut lock = NewAudit::new(AuditAction::Lock, Outcome::Ok);
    lock.pipeline = Some("web".into());
    s.audit(lock).await.expect("audited");
    let new = s.audit_after(start, 10).await.expect("read");
    assert_eq!(new.len(), 1);
    let through = new[0].id;
    let delivery = NewDelivery {
        pipeline: "web".into(),
        webhook: "chat".into(),
        event: "stage_locked".into(),
        audit_id: through,
        url: "https://hooks.example/".into(),
        body: "{}".into(),
    };
    assert!(s
        .enqueue_deliveries(start, through, std::slice::from_ref(&delivery))
        .await
        .expect("stored"));
    assert!(
        !s.enqueue_deliveries(start, through, std::slice::from_ref(&delivery))
            .await
            .expect("refused"),
        "a pass that read from a stale cursor stores nothing"
    );
    assert_eq!(s.webhook_cursor().await.expect("cursor"), through);
    let now = s.clock().now();
    let due = s.due_deliveries(now, 10).await.expect("read");
    assert_eq!(due.len(), 1);
    let lease = now + time::Duration::seconds(30);
    assert!(s.claim_delivery(due[0].id, 0, lease).await.expect("claim"));
    assert!(!s.claim_delivery(due[0].id, 0, lease).await.expect("claim"));
    s.delivery_result(
        due[0].id,
        &AttemptResult {
            state: DeliveryState::Delivered,
            result: "HTTP 200".into(),
            next_attempt_at: now,
        },
    )
    .await
    .expect("recorded");
    let listed = s.deliveries(10).await.expect("read");
    assert_eq!(
        (
            listed[0].state,
            listed[0].attempts,
            listed[0].last_result.as_deref()
        ),
        (DeliveryState::Delivered, 1, Some("HTTP 200"))
    );
    assert!(s.due_deliveries(lease, 10).await.expect("read").is_empty());
    // Old delivered ones are pruned; a pending one stays whatever its age.
    let mut unlock = NewAudit::new(AuditAction::Unlock, Outcome::Ok);
    unlock.pipeline = Some("web".into());
    s.audit(unlock).await.expect("audited");
    let next = s.audit_after(through, 10).await.expect("read");
    let pending = NewDelivery {
        event: "stage_unlocked".into(),
        audit_id: next[0].id,
        ..delivery
    };
    assert!(s
        .enqueue_deliveries(through, next[0].id, &[pending])
        .await
        .expect("stored"));
    let later = s.clock().now() + time::Duration::seconds(1);
    assert_eq!(s.prune_deliveries(later).await.expect("pruned"), 1);
    let left = s.deliveries(10).await.expect("read");
    assert_eq!(
        left.iter().map(|d| d.state).collect::<Vec<_>>(),
        vec![DeliveryState::Pending]
    );
}
