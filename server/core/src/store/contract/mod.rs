//! The promises every [`Storage`] implementation keeps, as a suite any backend runs.
//!
//! Each promise is one function taking a fresh, migrated store; [`run_all`] runs them
//! all, each on a store of its own. SQLite runs it in `sqlite/tests.rs` on a fresh file
//! per promise, PostgreSQL in `postgres/tests.rs` on a fresh database per promise, so
//! the two cannot drift apart on what callers rely on (uniqueness, the last-admin
//! guard, one active deployment per stage, state moves that refuse stale rows…).

use super::*;
use crate::clock::Clock;
use slipway_model::audit::{AuditAction, Outcome};
use slipway_model::gates::{GateKind, GateResult, GateStatus};
use slipway_model::Role;
use std::future::Future;
use std::sync::Arc;

/// Runs every promise, each against a store `open` makes with the clock it is given.
pub async fn run_all<F, Fut>(open: F)
where
    F: Fn(Arc<dyn Clock>) -> Fut,
    Fut: Future<Output = Arc<dyn Storage>>,
{
    let fresh = || open(Arc::new(crate::clock::SystemClock));
    clock::a_lock_ends_when_the_store_s_clock_passes_its_expiry(&open).await;
    clock::ready_marks_are_read_for_the_shas_asked_and_the_newest_others(&open).await;
    clock::a_stages_deployments_since_an_instant_are_read_oldest_first(&open).await;
    user_names_are_unique_whatever_their_case(fresh().await.as_ref()).await;
    the_last_enabled_admin_can_be_neither_demoted_nor_disabled(fresh().await.as_ref()).await;
    a_setup_token_creates_one_admin_once(fresh().await.as_ref()).await;
    a_stage_has_at_most_one_active_deployment(fresh().await.as_ref()).await;
    state_moves_refuse_rows_no_longer_in_the_expected_state(fresh().await.as_ref()).await;
    a_deployment_is_written_with_its_audit_entry_or_not_at_all(fresh().await.as_ref()).await;
    a_stage_is_passed_only_while_the_latest_attempt_there_succeeded(fresh().await.as_ref()).await;
    a_ready_mark_is_set_once_and_removed_once(fresh().await.as_ref()).await;
    events_get_increasing_ids_and_pruning_keeps_the_newest(fresh().await.as_ref()).await;
    a_revoked_token_no_longer_authenticates(fresh().await.as_ref()).await;
    login_attempts_are_counted_before_they_are_checked(fresh().await.as_ref()).await;
    throttled_attempts_are_audited_once_per_address_per_period(fresh().await.as_ref()).await;
    an_ended_login_session_is_gone(fresh().await.as_ref()).await;
    the_audit_log_filters_by_exact_values_newest_first(fresh().await.as_ref()).await;
    signoffs::a_sign_off_is_given_once_after_a_success_and_read_by_the_next_stage(
        fresh().await.as_ref(),
    )
    .await;
    signoffs::a_withdrawn_sign_off_stops_counting_and_stays_in_the_history(fresh().await.as_ref())
        .await;
    signoffs::a_rollback_voids_the_sign_off_of_the_sha_it_replaces(fresh().await.as_ref()).await;
    signoffs::a_sha_queued_on_the_next_stage_has_moved_on(fresh().await.as_ref()).await;
    a_freeze_closes_its_stages_while_in_force_and_ends_once(fresh().await.as_ref()).await;
    artifacts::an_artifact_is_missing_since_its_first_miss_until_found(fresh().await.as_ref())
        .await;
    artifacts::a_stage_has_one_queued_promotion_claimed_once_and_ended_once(fresh().await.as_ref())
        .await;
    webhooks::the_webhook_outbox_moves_once_and_a_delivery_is_claimed_once(fresh().await.as_ref())
        .await;
    github::a_github_delivery_is_recorded_once_and_taken_once(fresh().await.as_ref()).await;
    github::a_ci_check_keeps_its_newest_result(fresh().await.as_ref()).await;
    github::a_success_replaces_the_stages_latest_successful_github_deployment(
        fresh().await.as_ref(),
    )
    .await;
}

/// A stored freeze closes its stages (only those) from its start to its end, and is
/// ended early once.
pub async fn a_freeze_closes_its_stages_while_in_force_and_ends_once(s: &dyn Storage) {
    let ops = user(s, "olga", &[Role::Ops]).await;
    let web = PipelineId::parse("web").expect("a valid pipeline id");
    let (qa, production) = (
        StageId::parse("qa").expect("a valid stage id"),
        StageId::parse("production").expect("a valid stage id"),
    );
    let now = s.clock().now();
    let later = NewFreeze {
        pipeline: web.clone(),
        stages: vec![production.clone()],
        from: now + time::Duration::hours(1),
        until: now + time::Duration::hours(2),
        reason: "release party".into(),
        by: Some(ops.id),
    };
    s.create_freeze(&later).await.expect("declared");
    let current = s
        .create_freeze(&NewFreeze {
            from: now - time::Duration::minutes(1),
            reason: "labs".into(),
            ..later.clone()
        })
        .await
        .expect("declared");
    assert_eq!(current.by.as_deref(), Some("olga"));
    let frozen = |stage: StageId| {
        let web = web.clone();
        async move {
            s.stage_snapshot(&web, &stage, None, None)
                .await
                .expect("snapshot")
                .freezes
                .into_iter()
                .map(|f| f.reason)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        frozen(production.clone()).await,
        ["labs"],
        "only the one in force"
    );
    assert!(frozen(qa).await.is_empty(), "only its stages");
    assert_eq!(s.freezes(&web, now).await.expect("list").len(), 2);
    let ended = s.end_freeze(current.id, ops.id).await.expect("end");
    assert_eq!(ended.map(|f| f.ended_by), Some(Some("olga".into())));
    assert!(s
        .end_freeze(current.id, ops.id)
        .await
        .expect("end")
        .is_none());
    assert!(frozen(production).await.is_empty());
    let after_the_end = s.clock().now() + time::Duration::seconds(1);
    assert_eq!(s.freezes(&web, after_the_end).await.expect("list").len(), 1);
}

mod artifacts;
mod clock;
mod github;
mod signoffs;
mod webhooks;

fn name(s: &str) -> UserName {
    UserName::parse(s).expect("a valid user name")
}

fn sha(c: char) -> Sha {
    Sha::parse(&c.to_string().repeat(40)).expect("a valid SHA")
}

fn roles(list: &[Role]) -> RoleSet {
    list.iter().copied().collect()
}

async fn user(s: &dyn Storage, n: &str, with: &[Role]) -> User {
    s.create_user(&name(n), "$argon2id$not-a-real-hash", roles(with), false)
        .await
        .expect("create a user")
}

fn new_deployment(by: UserId, on: char) -> NewDeployment {
    NewDeployment {
        pipeline: PipelineId::parse("web").expect("a valid pipeline id"),
        stage: StageId::parse("qa").expect("a valid stage id"),
        previous_stage: None,
        sha: sha(on),
        kind: DeploymentKind::Promote,
        requested_by: by,
        reason: None,
        checklist: None,
        emergency_reason: None,
        migrations: None,
        drift: None,
        runner: None,
    }
}

fn pass(_: &StageSnapshot) -> Result<(), CreateDeploymentError> {
    Ok(())
}

/// The entry a promotion writes with its deployment.
fn audited(d: &Deployment) -> NewAudit {
    let mut e = NewAudit::new(AuditAction::Promote, Outcome::Ok);
    e.pipeline = Some(d.pipeline.clone());
    e.target = Some(format!("deployment #{}", d.id));
    e
}

async fn deployment_entries(s: &dyn Storage) -> Vec<Option<String>> {
    s.audit_query(&AuditFilter {
        action: Some("promote".into()),
        limit: 100,
        ..AuditFilter::default()
    })
    .await
    .expect("read the audit log")
    .into_iter()
    .map(|e| e.target)
    .collect()
}

/// A deployment and its audit entry are one write: created together, or (refused by
/// the check or by the busy index) neither.
pub async fn a_deployment_is_written_with_its_audit_entry_or_not_at_all(s: &dyn Storage) {
    let qa = user(s, "quinn", &[Role::Qa]).await;
    let first = s
        .create_deployment(&new_deployment(qa.id, 'a'), &pass, &audited)
        .await
        .expect("the first deployment");
    assert_eq!(
        deployment_entries(s).await,
        vec![Some(format!("deployment #{}", first.id))]
    );
    let refuse = |_: &StageSnapshot| {
        Err(CreateDeploymentError::Refused(GateResult {
            gate: GateKind::Lock,
            status: GateStatus::Fail,
            reason: "locked".into(),
        }))
    };
    let refused = s
        .create_deployment(&new_deployment(qa.id, 'b'), &refuse, &audited)
        .await;
    assert!(refused.is_err(), "{refused:?}");
    // The busy index refuses after the check passed: still nothing written.
    let busy = s
        .create_deployment(&new_deployment(qa.id, 'b'), &pass, &audited)
        .await;
    assert!(busy.is_err(), "{busy:?}");
    assert_eq!(deployment_entries(s).await.len(), 1);
}

/// `Ada` and `ada` are the same user.
pub async fn user_names_are_unique_whatever_their_case(s: &dyn Storage) {
    user(s, "ada", &[Role::Dev]).await;
    let again = s
        .create_user(&name("ADA"), "$argon2id$x", roles(&[Role::Qa]), false)
        .await;
    assert!(matches!(again, Err(StorageError::Conflict(_))), "{again:?}");
    let found = s.user_by_name(&name("Ada")).await.expect("read");
    assert_eq!(found.map(|u| u.name.to_string()), Some("ada".to_owned()));
}

/// Nobody can lock everyone out: the last enabled admin keeps the role and stays
/// enabled, checked in the same transaction as the change.
pub async fn the_last_enabled_admin_can_be_neither_demoted_nor_disabled(s: &dyn Storage) {
    let ada = user(s, "ada", &[Role::Admin]).await;
    assert!(s.has_active_admin().await.expect("read"));
    let demote = s.set_roles(ada.id, roles(&[Role::Ops])).await;
    assert!(
        matches!(demote, Err(StorageError::Conflict(_))),
        "{demote:?}"
    );
    let disable = s.set_disabled(ada.id, true).await;
    assert!(
        matches!(disable, Err(StorageError::Conflict(_))),
        "{disable:?}"
    );
    let bob = user(s, "bob", &[Role::Admin]).await;
    s.set_roles(ada.id, roles(&[Role::Ops]))
        .await
        .expect("another admin remains");
    let disable = s.set_disabled(bob.id, true).await;
    assert!(
        matches!(disable, Err(StorageError::Conflict(_))),
        "{disable:?}"
    );
}

/// A setup token is used once, and only while no enabled admin exists.
pub async fn a_setup_token_creates_one_admin_once(s: &dyn Storage) {
    s.create_setup_token("hash-1", 2_000).await.expect("store");
    assert!(s.setup_token_is_valid("hash-1", 1_000).await.expect("read"));
    assert!(!s.setup_token_is_valid("hash-1", 2_001).await.expect("read"));
    // A new link replaces the old one.
    s.create_setup_token("hash-2", 2_000).await.expect("store");
    assert!(!s.setup_token_is_valid("hash-1", 1_000).await.expect("read"));
    let admin = s
        .create_first_admin("hash-2", 1_000, &name("ada"), "$argon2id$x")
        .await
        .expect("the first admin");
    assert!(admin.roles.contains(Role::Admin));
    let again = s
        .create_first_admin("hash-2", 1_000, &name("eve"), "$argon2id$x")
        .await;
    assert!(matches!(again, Err(SetupError::InvalidLink)), "{again:?}");
}

/// A second queued-or-running deployment to a stage is refused as the busy gate, even
/// when the caller's own check passed (the unique index decides).
pub async fn a_stage_has_at_most_one_active_deployment(s: &dyn Storage) {
    let qa = user(s, "quinn", &[Role::Qa]).await;
    let first = s
        .create_deployment(&new_deployment(qa.id, 'a'), &pass, &audited)
        .await
        .expect("the first deployment");
    assert_eq!(first.state, DeploymentState::Queued);
    let second = s
        .create_deployment(&new_deployment(qa.id, 'b'), &pass, &audited)
        .await;
    match second {
        Err(CreateDeploymentError::Refused(r)) => assert_eq!(r.gate, GateKind::Busy),
        other => panic!("expected the busy gate, got {other:?}"),
    }
    // Once the first has ended, the stage takes another.
    s.finish_deployment(
        first.id,
        DeploymentState::Failed,
        Some(1),
        OffsetDateTime::now_utc(),
    )
    .await
    .expect("finish");
    s.create_deployment(&new_deployment(qa.id, 'b'), &pass, &audited)
        .await
        .expect("the stage is free again");
}

/// `mark_running` moves only a queued row and `finish_deployment` only an active one:
/// a row and its process can never disagree because a late writer lost a race.
pub async fn state_moves_refuse_rows_no_longer_in_the_expected_state(s: &dyn Storage) {
    let qa = user(s, "quinn", &[Role::Qa]).await;
    let d = s
        .create_deployment(&new_deployment(qa.id, 'a'), &pass, &audited)
        .await
        .expect("create");
    let now = OffsetDateTime::now_utc();
    assert!(s.mark_running(d.id, Some(4242), now).await.expect("run"));
    assert!(!s
        .mark_running(d.id, Some(4242), now)
        .await
        .expect("run twice"));
    assert!(s
        .finish_deployment(d.id, DeploymentState::Succeeded, Some(0), now)
        .await
        .expect("finish"));
    assert!(!s
        .finish_deployment(d.id, DeploymentState::Cancelled, None, now)
        .await
        .expect("finish twice"));
    let stored = s.deployment(d.id).await.expect("read").expect("exists");
    assert_eq!(stored.state, DeploymentState::Succeeded);
    assert_eq!(stored.exit_code, Some(0));
    assert!(s.unfinished_with_runners().await.expect("read").is_empty());
}

/// The previous-stage gate reads the SHA's *latest* finished attempt on that stage: a
/// success followed by a failed redeploy no longer counts, until it succeeds again.
pub async fn a_stage_is_passed_only_while_the_latest_attempt_there_succeeded(s: &dyn Storage) {
    let qa = user(s, "quinn", &[Role::Qa]).await;
    let web = PipelineId::parse("web").expect("a valid pipeline id");
    let (qa_stage, staging) = (
        StageId::parse("qa").expect("a valid stage id"),
        StageId::parse("staging").expect("a valid stage id"),
    );
    let attempt = |state: DeploymentState| {
        let new = new_deployment(qa.id, 'a');
        async move {
            let d = s
                .create_deployment(&new, &pass, &audited)
                .await
                .expect("create");
            let now = OffsetDateTime::now_utc();
            s.finish_deployment(d.id, state, None, now)
                .await
                .expect("finish");
        }
    };
    let facts = || async {
        let snap = s
            .stage_snapshot(&web, &staging, Some(&qa_stage), Some(&sha('a')))
            .await
            .expect("snapshot");
        let failed = s
            .failed_since(&web, &[sha('a')])
            .await
            .expect("failed since");
        (
            snap.previous_succeeded,
            snap.previous_failed_since,
            failed.len(),
        )
    };
    attempt(DeploymentState::Succeeded).await;
    assert_eq!(facts().await, (true, false, 0));
    attempt(DeploymentState::Failed).await;
    assert_eq!(
        facts().await,
        (false, true, 1),
        "the failed redeploy counts"
    );
    attempt(DeploymentState::Cancelled).await;
    assert_eq!(facts().await, (false, true, 1));
    attempt(DeploymentState::Succeeded).await;
    assert_eq!(facts().await, (true, false, 0), "passed again");
}

/// Marking a SHA ready twice changes nothing the second time; so does unmarking.
pub async fn a_ready_mark_is_set_once_and_removed_once(s: &dyn Storage) {
    let dev = user(s, "dana", &[Role::Dev]).await;
    let web = PipelineId::parse("web").expect("a valid pipeline id");
    assert!(s
        .mark_ready(&web, &sha('a'), dev.id, Some("ready for QA"))
        .await
        .expect("mark"));
    assert!(!s
        .mark_ready(&web, &sha('a'), dev.id, None)
        .await
        .expect("mark again"));
    let marks = s.ready_marks(&web, &[], 10).await.expect("read");
    assert_eq!(marks.len(), 1);
    assert_eq!(marks[0].by, "dana");
    assert_eq!(marks[0].note.as_deref(), Some("ready for QA"));
    assert!(s.unmark_ready(&web, &sha('a')).await.expect("unmark"));
    assert!(!s.unmark_ready(&web, &sha('a')).await.expect("unmark again"));
}

/// Event ids increase (they are SSE ids clients resume from), and pruning keeps the
/// newest.
pub async fn events_get_increasing_ids_and_pruning_keeps_the_newest(s: &dyn Storage) {
    let mut ids = Vec::new();
    for i in 0..5 {
        let e = s
            .append_event("web", "board", &format!("{{\"n\":{i}}}"))
            .await
            .expect("append");
        ids.push(e.id);
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let after = s.events_after(ids[1], Some("web"), 10).await.expect("read");
    assert_eq!(
        after.iter().map(|e| e.id).collect::<Vec<_>>(),
        ids[2..].to_vec()
    );
    assert!(s
        .events_after(0, Some("api"), 10)
        .await
        .expect("read")
        .is_empty());
    s.prune_events(2).await.expect("prune");
    assert_eq!(s.event_id_range().await.expect("read"), (ids[3], ids[4]));
}

/// A token authenticates its owner until revoked, and only its owner may revoke it.
pub async fn a_revoked_token_no_longer_authenticates(s: &dyn Storage) {
    let ci = user(s, "ci", &[Role::Dev]).await;
    let other = user(s, "olga", &[Role::Ops]).await;
    let t = s
        .create_token(ci.id, "pipeline", "token-hash", "swt_abcd")
        .await
        .expect("create");
    let found = s.user_by_token("token-hash").await.expect("read");
    assert_eq!(found.map(|u| u.id), Some(ci.id));
    assert!(!s.revoke_token(other.id, t.id).await.expect("not theirs"));
    assert!(s.revoke_token(ci.id, t.id).await.expect("revoke"));
    assert!(s.user_by_token("token-hash").await.expect("read").is_none());
}

/// The throttle's check and its count happen in one transaction, so simultaneous
/// attempts see each other; an address's attempts count on every account and an
/// account's from every address; a success forgets the account's, an untried attempt
/// only itself.
pub async fn login_attempts_are_counted_before_they_are_checked(s: &dyn Storage) {
    use std::time::Duration;
    let wait = Duration::from_secs(1);
    let two_per_account = move |account: &[f64], _: &[f64]| (account.len() >= 2).then_some(wait);
    let three_per_client = move |_: &[f64], client: &[f64]| (client.len() >= 3).then_some(wait);
    let reserved = |a: Attempt| match a {
        Attempt::Reserved(id) => id,
        Attempt::Throttled(_) => panic!("expected the attempt to go ahead"),
    };
    // Ten at once on one account: exactly two pass a limit of two.
    let attempts = futures::future::join_all((0..10).map(|i| {
        s.reserve_login_attempt(
            "ada",
            "10.0.0.1",
            100.0 + f64::from(i),
            0.0,
            &two_per_account,
        )
    }))
    .await;
    let passed: Vec<i64> = attempts
        .into_iter()
        .map(|a| a.expect("reserve"))
        .filter_map(|a| match a {
            Attempt::Reserved(id) => Some(id),
            Attempt::Throttled(_) => None,
        })
        .collect();
    assert_eq!(
        passed.len(),
        2,
        "simultaneous attempts saw each other's count"
    );
    // An untried attempt is forgotten alone; a success forgets the account's failures.
    s.settle_login_attempt(passed[0], "ada", Settled::NotTried)
        .await
        .expect("settle");
    let third = reserved(
        s.reserve_login_attempt("ada", "10.0.0.2", 120.0, 0.0, &two_per_account)
            .await
            .expect("reserve"),
    );
    s.settle_login_attempt(third, "ada", Settled::Succeeded)
        .await
        .expect("settle");
    for at in [121.0, 122.0] {
        reserved(
            s.reserve_login_attempt("ada", "10.0.0.2", at, 0.0, &two_per_account)
                .await
                .expect("reserve"),
        );
    }
    // Address 10.0.0.2 now has two counted attempts (on ada); a third name from it
    // passes, a fourth is throttled whatever the name.
    reserved(
        s.reserve_login_attempt("bob", "10.0.0.2", 123.0, 0.0, &three_per_client)
            .await
            .expect("reserve"),
    );
    assert_eq!(
        s.reserve_login_attempt("carol", "10.0.0.2", 124.0, 0.0, &three_per_client)
            .await
            .expect("reserve"),
        Attempt::Throttled(wait)
    );
    // Only attempts since the given time count.
    reserved(
        s.reserve_login_attempt("carol", "10.0.0.2", 125.0, 122.5, &three_per_client)
            .await
            .expect("reserve"),
    );
}

/// Throttled attempts reach the audit log at most once per address per period, the
/// next entry counting those left out.
pub async fn throttled_attempts_are_audited_once_per_address_per_period(s: &dyn Storage) {
    let note = |client: &'static str, at: f64| s.note_throttled(client, at, 60.0);
    assert_eq!(note("10.0.0.1", 1000.0).await.expect("note"), Some(0));
    for at in [1001.0, 1002.0, 1059.0] {
        assert_eq!(note("10.0.0.1", at).await.expect("note"), None);
    }
    assert_eq!(note("10.0.0.2", 1003.0).await.expect("note"), Some(0));
    assert_eq!(note("10.0.0.1", 1061.0).await.expect("note"), Some(3));
    assert_eq!(note("10.0.0.1", 1062.0).await.expect("note"), None);
}

/// Ending a session deletes it: a session without a row is refused.
pub async fn an_ended_login_session_is_gone(s: &dyn Storage) {
    let ada = user(s, "ada", &[Role::Dev]).await;
    let bob = user(s, "bob", &[Role::Dev]).await;
    let far = OffsetDateTime::now_utc().unix_timestamp() + 3_600;
    let one = s
        .create_login_session(ada.id, far, "10.0.0.1", "Firefox")
        .await
        .expect("create");
    let two = s
        .create_login_session(ada.id, far, "10.0.0.2", "curl")
        .await
        .expect("create");
    assert!(!s
        .end_login_session(bob.id, one.id)
        .await
        .expect("not theirs"));
    assert!(s.end_login_session(ada.id, one.id).await.expect("end"));
    assert!(s.login_session(one.id).await.expect("read").is_none());
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let open = s.open_login_sessions(ada.id, now).await.expect("read");
    assert_eq!(open.iter().map(|l| l.id).collect::<Vec<_>>(), vec![two.id]);
    assert_eq!(s.end_login_sessions_of(ada.id, None).await.expect("end"), 1);
}

/// Filters match exact values; entries come newest first.
pub async fn the_audit_log_filters_by_exact_values_newest_first(s: &dyn Storage) {
    for (actor, action, outcome) in [
        ("ada", AuditAction::Promote, Outcome::Ok),
        ("bob", AuditAction::Promote, Outcome::Refused),
        ("ada", AuditAction::Lock, Outcome::Ok),
    ] {
        let mut e = NewAudit::new(action, outcome);
        e.actor = Some(actor.into());
        e.pipeline = Some("web".into());
        s.audit(e).await.expect("append");
    }
    let ada = s
        .audit_query(&AuditFilter {
            actor: Some("ada".into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .expect("read");
    assert_eq!(
        ada.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        vec!["lock", "promote"]
    );
    let refused = s
        .audit_query(&AuditFilter {
            outcome: Some("refused".into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .expect("read");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].actor.as_deref(), Some("bob"));
}
