//! The sign-off promises: one in force per (pipeline, stage, SHA), checked on facts
//! read in the writing transaction, ended by a withdrawal or by a rollback.

use super::*;
use slipway_model::error::AppError;

fn web() -> PipelineId {
    PipelineId::parse("web").expect("a valid pipeline id")
}

fn stage(id: &str) -> StageId {
    StageId::parse(id).expect("a valid stage id")
}

/// Deploys `on` to `stage` and ends the deployment in `state`.
async fn deployed(s: &dyn Storage, by: UserId, stage_id: &str, on: char, state: DeploymentState) {
    let mut new = new_deployment(by, on);
    new.stage = stage(stage_id);
    let d = s
        .create_deployment(&new, &pass, &audited)
        .await
        .expect("create");
    s.finish_deployment(d.id, state, None, OffsetDateTime::now_utc())
        .await
        .expect("finish");
}

fn key<'a>(
    pipeline: &'a PipelineId,
    qa: &'a StageId,
    next: &'a StageId,
    on: &'a Sha,
) -> SignOffKey<'a> {
    SignOffKey {
        pipeline,
        stage: qa,
        next_stage: next,
        sha: on,
    }
}

/// Refuses what the sign-off command refuses: a second sign-off, or one of a SHA that
/// has not passed the stage.
fn like_the_command(f: &SignOffFacts) -> Result<(), AppError> {
    if f.in_force.is_some() || !f.succeeded_here || f.rolled_back_here || f.moved_on {
        Err(AppError::BadRequest(format!("refused on {f:?}")))
    } else {
        Ok(())
    }
}

fn allow(_: &SignOffFacts) -> Result<(), AppError> {
    Ok(())
}

pub async fn a_sign_off_is_given_once_after_a_success_and_read_by_the_next_stage(s: &dyn Storage) {
    let quinn = user(s, "quinn", &[Role::Qa]).await;
    let (web, qa, staging, a) = (web(), stage("qa"), stage("staging"), sha('a'));
    let early = s
        .sign_off(
            key(&web, &qa, &staging, &a),
            quinn.id,
            None,
            &like_the_command,
        )
        .await;
    assert!(matches!(early, Err(CheckedError::Refused(_))), "{early:?}");

    deployed(s, quinn.id, "qa", 'a', DeploymentState::Succeeded).await;
    let given = s
        .sign_off(
            key(&web, &qa, &staging, &a),
            quinn.id,
            Some("tested the checkout"),
            &like_the_command,
        )
        .await
        .expect("signed off");
    assert_eq!(
        (
            given.by.as_str(),
            given.note.as_deref(),
            given.ended.is_none()
        ),
        ("quinn", Some("tested the checkout"), true)
    );
    // The check saw the first one; even a check that lets everything through cannot
    // put a second one in force (the index holds).
    let again = s
        .sign_off(
            key(&web, &qa, &staging, &a),
            quinn.id,
            None,
            &like_the_command,
        )
        .await;
    assert!(matches!(again, Err(CheckedError::Refused(_))), "{again:?}");
    let forced = s
        .sign_off(key(&web, &qa, &staging, &a), quinn.id, None, &allow)
        .await;
    assert!(
        matches!(forced, Err(CheckedError::Refused(_))),
        "{forced:?}"
    );

    let snap = s
        .stage_snapshot(&web, &staging, Some(&qa), Some(&a))
        .await
        .expect("snapshot");
    assert_eq!(snap.previous_sign_off.map(|r| r.by), Some("quinn".into()));
    let in_force = s
        .sign_offs_in_force(&web, &[a.clone(), sha('b')])
        .await
        .expect("read");
    assert_eq!(in_force.len(), 1);
    // Never carried over to another SHA.
    let other = s
        .stage_snapshot(&web, &staging, Some(&qa), Some(&sha('b')))
        .await
        .expect("snapshot");
    assert!(other.previous_sign_off.is_none());
}

pub async fn a_withdrawn_sign_off_stops_counting_and_stays_in_the_history(s: &dyn Storage) {
    let quinn = user(s, "quinn", &[Role::Qa]).await;
    let rita = user(s, "rita", &[Role::Qa]).await;
    let (web, qa, staging, a) = (web(), stage("qa"), stage("staging"), sha('a'));
    deployed(s, quinn.id, "qa", 'a', DeploymentState::Succeeded).await;
    s.sign_off(
        key(&web, &qa, &staging, &a),
        quinn.id,
        None,
        &like_the_command,
    )
    .await
    .expect("signed off");
    let withdrawn = s
        .withdraw_sign_off(key(&web, &qa, &staging, &a), rita.id, "found a bug", &allow)
        .await
        .expect("withdrawn");
    let end = withdrawn.ended.expect("ended");
    assert_eq!(
        (end.how, end.by.as_deref(), end.reason.as_str()),
        (SignOffEndKind::Withdrawn, Some("rita"), "found a bug")
    );
    assert!(s
        .sign_offs_in_force(&web, std::slice::from_ref(&a))
        .await
        .expect("read")
        .is_empty());
    let twice = s
        .withdraw_sign_off(key(&web, &qa, &staging, &a), rita.id, "again", &allow)
        .await;
    assert!(matches!(twice, Err(CheckedError::Refused(_))), "{twice:?}");
    // It may be given again, and the history keeps both, newest first.
    s.sign_off(
        key(&web, &qa, &staging, &a),
        quinn.id,
        None,
        &like_the_command,
    )
    .await
    .expect("signed off again");
    let history = s.sign_off_history(&web, &qa, 10).await.expect("history");
    assert_eq!(history.len(), 2);
    assert!(history[0].ended.is_none() && history[1].ended.is_some());
}

pub async fn a_rollback_voids_the_sign_off_of_the_sha_it_replaces(s: &dyn Storage) {
    let quinn = user(s, "quinn", &[Role::Qa]).await;
    let (web, qa, staging, b) = (web(), stage("qa"), stage("staging"), sha('b'));
    deployed(s, quinn.id, "qa", 'a', DeploymentState::Succeeded).await;
    deployed(s, quinn.id, "qa", 'b', DeploymentState::Succeeded).await;
    s.sign_off(
        key(&web, &qa, &staging, &b),
        quinn.id,
        None,
        &like_the_command,
    )
    .await
    .expect("signed off");
    let mut rollback = new_deployment(quinn.id, 'a');
    rollback.kind = DeploymentKind::Rollback;
    rollback.reason = Some("checkout broken".into());
    let d = s
        .create_deployment(&rollback, &pass, &audited)
        .await
        .expect("the rollback");
    let history = s.sign_off_history(&web, &qa, 10).await.expect("history");
    let end = history[0]
        .ended
        .as_ref()
        .expect("voided with the rollback's creation");
    assert_eq!(end.how, SignOffEndKind::Voided);
    assert_eq!(end.reason, format!("rolled back by deployment #{}", d.id));
    assert!(s
        .sign_offs_in_force(&web, &[b])
        .await
        .expect("read")
        .is_empty());
}

pub async fn a_sha_queued_on_the_next_stage_has_moved_on(s: &dyn Storage) {
    let quinn = user(s, "quinn", &[Role::Qa]).await;
    let (web, qa, staging, a) = (web(), stage("qa"), stage("staging"), sha('a'));
    deployed(s, quinn.id, "qa", 'a', DeploymentState::Succeeded).await;
    s.sign_off(
        key(&web, &qa, &staging, &a),
        quinn.id,
        None,
        &like_the_command,
    )
    .await
    .expect("signed off");
    let mut next = new_deployment(quinn.id, 'a');
    next.stage = staging.clone();
    s.create_deployment(&next, &pass, &audited)
        .await
        .expect("queued on staging");
    let seen = std::sync::Mutex::new(None);
    let record = |f: &SignOffFacts| {
        *seen.lock().expect("not poisoned") = Some(f.moved_on);
        Err(AppError::BadRequest("only looking".into()))
    };
    let _ = s
        .withdraw_sign_off(key(&web, &qa, &staging, &a), quinn.id, "late", &record)
        .await;
    assert_eq!(*seen.lock().expect("not poisoned"), Some(true));
    // Refused by the check: still in force.
    assert_eq!(
        s.sign_offs_in_force(&web, &[a]).await.expect("read").len(),
        1
    );
}
