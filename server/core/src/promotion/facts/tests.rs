//! The fact gatherer's pure part: what the card, the API and the creating transaction
//! see for the same snapshot.

use super::*;
use crate::config::{RepoSource, StageConfig};
use crate::store::{Deployment, Lock};
use slipway_model::deployment::DeploymentState;
use slipway_model::gates::{first_blocker, GateKind, GateStatus};
use slipway_model::{DeploymentId, PipelineId, Role, RoleSet, UserName};
use std::time::Duration;
use time::OffsetDateTime;

fn sha(c: char) -> Sha {
    Sha::parse(&c.to_string().repeat(40)).expect("a valid SHA")
}

fn roles(list: &[Role]) -> RoleSet {
    list.iter().copied().collect()
}

fn stage(id: &str, label: &str, fast_forward_only: bool, promote: &[Role]) -> StageConfig {
    StageConfig {
        production: fast_forward_only,
        promote_roles: roles(promote),
        rollback_roles: crate::config::defaults::rollback_roles(roles(promote)),
        fast_forward_only,
        ..crate::config::test_support::stage(id, label)
    }
}

fn pipeline() -> PipelineConfig {
    PipelineConfig {
        id: PipelineId::parse("web").expect("a valid pipeline id"),
        name: "Web".into(),
        repository: RepoSource::Remote("https://example.invalid/web.git".into()),
        branch: "main".into(),
        fetch_interval: Duration::from_secs(60),
        freezes: Vec::new(),
        calendars: Vec::new(),
        migrations: crate::config::PathGlobs::none(),
        webhooks: Vec::new(),
        github: None,
        ci: None,
        stages: vec![
            stage("qa", "QA", false, &[Role::Qa, Role::Ops]),
            stage("production", "Production", true, &[Role::Ops]),
        ],
    }
}

fn user(with: &[Role]) -> User {
    User {
        id: slipway_model::UserId(1),
        name: UserName::parse("quinn").expect("a valid name"),
        roles: roles(with),
        disabled: false,
        last_login_at: None,
        must_change_password: false,
    }
}

fn deployment(id: i64, on: char, state: DeploymentState) -> Deployment {
    Deployment::example(id, sha(on), state, OffsetDateTime::UNIX_EPOCH)
}

fn asker(user: &User) -> Asker<'_> {
    Asker {
        user,
        now: OffsetDateTime::UNIX_EPOCH,
        emergency: false,
        acknowledged_migrations: false,
        acknowledged_drift: false,
    }
}

/// Git's answers with this ancestry and no migrations.
fn git(ancestry: Ancestry) -> GitFacts {
    GitFacts {
        ancestry,
        current: None,
        migrations: Some(std::sync::Arc::from(Vec::new())),
        stepping_back: false,
        ci: slipway_model::gates::Ci::NotRequired,
    }
}

fn status(results: &[GateResult], gate: GateKind) -> GateStatus {
    results
        .iter()
        .find(|r| r.gate == gate)
        .map(|r| r.status)
        .expect("every gate is evaluated")
}

#[test]
fn the_first_stage_takes_a_sha_marked_ready_and_refuses_one_that_is_not() {
    let p = pipeline();
    let at = StageRef {
        pipeline: &p,
        index: 0,
    };
    let qa = user(&[Role::Qa]);
    let ready = StageSnapshot {
        marked_ready: true,
        ..StageSnapshot::default()
    };
    let f = facts(
        &at,
        &sha('a'),
        standing_from_snapshot(&at, &ready),
        &ready,
        &git(Ancestry::Unknown),
        Artifact::NotChecked,
        asker(&qa),
    );
    assert!(first_blocker(&gates::evaluate(&f)).is_none());

    let not_ready = StageSnapshot::default();
    let f = facts(
        &at,
        &sha('a'),
        standing_from_snapshot(&at, &not_ready),
        &not_ready,
        &git(Ancestry::Unknown),
        Artifact::NotChecked,
        asker(&qa),
    );
    let results = gates::evaluate(&f);
    assert_eq!(status(&results, GateKind::PreviousStage), GateStatus::Fail);
}

#[test]
fn a_later_stage_needs_a_success_on_the_previous_stage_that_was_not_rolled_back() {
    let p = pipeline();
    let at = StageRef {
        pipeline: &p,
        index: 1,
    };
    let ops = user(&[Role::Ops]);
    for (succeeded, rolled_back, expected) in [
        (true, false, GateStatus::Pass),
        (false, false, GateStatus::Fail),
        (true, true, GateStatus::Fail),
    ] {
        let snapshot = StageSnapshot {
            previous_succeeded: succeeded,
            previous_rolled_back: rolled_back,
            ..StageSnapshot::default()
        };
        let standing = standing_from_snapshot(&at, &snapshot);
        assert!(
            matches!(&standing.previous, Previous::Stage { label, .. } if label == "QA"),
            "{standing:?}"
        );
        let results = gates::evaluate(&facts(
            &at,
            &sha('b'),
            standing,
            &snapshot,
            &git(Ancestry::Descends),
            Artifact::NotChecked,
            asker(&ops),
        ));
        assert_eq!(
            status(&results, GateKind::PreviousStage),
            expected,
            "succeeded={succeeded} rolled_back={rolled_back}"
        );
    }
}

#[test]
fn the_stage_s_rules_and_state_reach_the_gates() {
    let p = pipeline();
    let at = StageRef {
        pipeline: &p,
        index: 1,
    };
    let snapshot = StageSnapshot {
        current: Some(deployment(3, 'c', DeploymentState::Succeeded)),
        active: Some(deployment(4, 'd', DeploymentState::Running)),
        lock: Some(Lock {
            stage: "production".into(),
            by: "olga".into(),
            reason: "labs until 19:00".into(),
            at: OffsetDateTime::UNIX_EPOCH,
            expires_at: None,
        }),
        previous_succeeded: true,
        ..StageSnapshot::default()
    };
    let qa = user(&[Role::Qa]);
    let f = facts(
        &at,
        &sha('e'),
        standing_from_snapshot(&at, &snapshot),
        &snapshot,
        &git(Ancestry::Diverges {
            current: sha('c'),
            older: false,
        }),
        Artifact::NotChecked,
        asker(&qa),
    );
    assert!(f.target.fast_forward_only);
    assert_eq!(f.target.label, "Production");
    assert_eq!(f.active.as_ref().map(|a| a.id), Some(DeploymentId(4)));
    assert_eq!(f.lock.as_ref().map(|l| l.by.as_str()), Some("olga"));
    let results = gates::evaluate(&f);
    for gate in [
        GateKind::Ancestry,
        GateKind::Busy,
        GateKind::Lock,
        GateKind::Permission,
    ] {
        assert_eq!(status(&results, gate), GateStatus::Fail, "{gate:?}");
    }
    let lock = results
        .iter()
        .find(|r| r.gate == GateKind::Lock)
        .expect("the lock gate");
    assert!(lock.reason.contains("labs until 19:00"), "{}", lock.reason);
}

#[test]
fn the_same_sha_as_the_current_one_descends_without_asking_git() {
    // `ancestry` answers Same before touching the cache or a mirror: a redeploy of the
    // current SHA on a fast-forward-only stage never needs git.
    let p = pipeline();
    let at = StageRef {
        pipeline: &p,
        index: 1,
    };
    let snapshot = StageSnapshot {
        current: Some(deployment(3, 'c', DeploymentState::Succeeded)),
        previous_succeeded: true,
        ..StageSnapshot::default()
    };
    let f = facts(
        &at,
        &sha('c'),
        standing_from_snapshot(&at, &snapshot),
        &snapshot,
        &git(Ancestry::Same),
        Artifact::NotChecked,
        asker(&user(&[Role::Ops])),
    );
    assert!(first_blocker(&gates::evaluate(&f)).is_none());
}

#[test]
fn a_stage_that_asks_for_a_sign_off_holds_the_next_one_until_someone_signed_off() {
    let mut p = pipeline();
    p.stages[0].sign_off = Some(crate::config::SignOffConfig {
        roles: roles(&[Role::Qa]),
    });
    let at = StageRef {
        pipeline: &p,
        index: 1,
    };
    let ops = user(&[Role::Ops]);
    let unsigned = StageSnapshot {
        previous_succeeded: true,
        ..StageSnapshot::default()
    };
    let evaluate = |snapshot: &StageSnapshot| {
        gates::evaluate(&facts(
            &at,
            &sha('b'),
            standing_from_snapshot(&at, snapshot),
            snapshot,
            &git(Ancestry::Descends),
            Artifact::NotChecked,
            asker(&ops),
        ))
    };
    let results = evaluate(&unsigned);
    let blocker = first_blocker(&results).expect("refused");
    assert_eq!(blocker.gate, GateKind::SignedOff);
    assert_eq!(
        blocker.reason,
        "bbbbbbb is not signed off on QA; qa may sign it off there"
    );

    let signed = StageSnapshot {
        previous_sign_off: Some(crate::store::SignOffRecord {
            stage: "qa".into(),
            sha: sha('b'),
            by: "quinn".into(),
            note: None,
            at: OffsetDateTime::UNIX_EPOCH,
            ended: None,
        }),
        ..unsigned.clone()
    };
    assert!(first_blocker(&evaluate(&signed)).is_none());

    // The first stage has nothing before it to sign off on.
    let first = StageRef {
        pipeline: &p,
        index: 0,
    };
    assert_eq!(sign_off_fact(&first, None), gates::SignOff::NotRequired);
}

#[test]
fn the_window_fact_follows_local_time_across_dst_and_midnight() {
    use time::macros::datetime;
    let mut office = stage("production", "Production", true, &[Role::Ops]);
    office.windows =
        vec![
            crate::calendar::Window::parse("Mon-Thu", "09:00", "16:00", "Europe/Berlin")
                .expect("a window"),
        ];
    // Thursday 26 March 2026, before the spring change: 09:00 Berlin is 08:00 UTC.
    assert_eq!(
        window_state(&office, datetime!(2026-03-26 08:30 UTC)),
        WindowState::Open {
            until: "Thu 26 Mar 16:00 Europe/Berlin".into()
        }
    );
    // Monday 30 March, after it: 09:00 Berlin is 07:00 UTC; 07:30 UTC is open.
    assert_eq!(
        window_state(&office, datetime!(2026-03-30 07:30 UTC)),
        WindowState::Open {
            until: "Mon 30 Mar 16:00 Europe/Berlin".into()
        }
    );
    // Friday: closed until Monday 09:00 local.
    assert_eq!(
        window_state(&office, datetime!(2026-03-27 10:00 UTC)),
        WindowState::Closed {
            next: Some("Mon 30 Mar 09:00 Europe/Berlin".into())
        }
    );
    let mut night = stage("production", "Production", true, &[Role::Ops]);
    night.windows =
        vec![crate::calendar::Window::parse("daily", "22:00", "02:00", "UTC").expect("a window")];
    assert_eq!(
        window_state(&night, datetime!(2026-12-08 01:00 UTC)),
        WindowState::Open {
            until: "Tue 08 Dec 02:00 UTC".into()
        }
    );
    assert_eq!(
        window_state(
            &stage("qa", "QA", false, &[Role::Qa]),
            datetime!(2026-12-08 01:00 UTC)
        ),
        WindowState::Always
    );
}
