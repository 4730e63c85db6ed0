//! The promises of [`WebhookStore`]: the outbox's cursor over the audit log, and each
//! delivery's attempts.

use super::*;

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
