//! Table tests of the environment-truth gates: migrations, health, drift, artifact.

use super::*;

#[test]
fn migrations_hold_a_promotion_until_acknowledged_and_name_the_files() {
    let touched = |acknowledged, stepping_back| PromotionFacts {
        migrations: Migrations::Touched {
            files: vec![
                "migrations/0002_add_email.sql".into(),
                "migrations/0003_drop_legacy.sql".into(),
            ],
            current: sha('a'),
            stepping_back,
            acknowledged,
        },
        ..facts()
    };
    let (status, reason) = verdict(&touched(false, false), GateKind::Migrations);
    assert_eq!(status, GateStatus::Acknowledge);
    assert_eq!(
        reason,
        "bbbbbbb changes 2 migration file(s) since Production's current SHA aaaaaaa: \
         migrations/0002_add_email.sql, migrations/0003_drop_legacy.sql; \
         acknowledge they were tested against a copy of production data"
    );
    let results = evaluate(&touched(false, false));
    assert_eq!(
        first_blocker(&results).map(|r| r.gate),
        Some(GateKind::Migrations),
        "refused without the acknowledgement"
    );
    assert!(
        first_hard_blocker(&results).is_none(),
        "but the card offers the button, with the checkbox"
    );

    let (status, reason) = verdict(&touched(false, true), GateKind::Migrations);
    assert_eq!(status, GateStatus::Acknowledge);
    assert!(
        reason.starts_with(
            "rolling Production back from aaaaaaa to bbbbbbb steps back over 2 migration file(s)"
        ),
        "{reason}"
    );

    let (status, reason) = verdict(&touched(true, false), GateKind::Migrations);
    assert_eq!(status, GateStatus::Pass);
    assert!(reason.contains("acknowledged"), "{reason}");
    assert!(first_blocker(&evaluate(&touched(true, false))).is_none());
}

#[test]
fn migrations_pass_when_none_differ_and_wait_while_unknown() {
    for (migrations, status) in [
        (Migrations::NoCurrent, GateStatus::Pass),
        (Migrations::None, GateStatus::Pass),
        (Migrations::Unknown, GateStatus::Pending),
    ] {
        let f = PromotionFacts {
            migrations,
            ..facts()
        };
        assert_eq!(verdict(&f, GateKind::Migrations).0, status);
    }
}

#[test]
fn a_long_list_of_migrations_is_cut_in_the_reason() {
    let files: Vec<String> = (1..=12).map(|i| format!("migrations/{i:04}.sql")).collect();
    let text = name_files(&files);
    assert!(text.ends_with("migrations/0008.sql and 4 more"), "{text}");
}

#[test]
fn health_holds_a_promotion_while_a_required_stage_is_unhealthy_or_unknown() {
    let with = |states: Vec<HealthState>| PromotionFacts {
        health: states
            .into_iter()
            .zip(["Staging", "QA"])
            .map(|(state, stage)| HealthFact {
                stage: stage.into(),
                state,
            })
            .collect(),
        ..facts()
    };
    let healthy = || HealthState::Healthy {
        since: "14:02".into(),
    };
    assert_eq!(
        verdict(&with(vec![]), GateKind::Health),
        (
            GateStatus::Pass,
            "Production requires no other stage healthy".into()
        )
    );
    assert_eq!(
        verdict(&with(vec![healthy(), healthy()]), GateKind::Health),
        (
            GateStatus::Pass,
            "Staging healthy since 14:02; QA healthy since 14:02".into()
        )
    );
    assert_eq!(
        verdict(
            &with(vec![
                healthy(),
                HealthState::Unhealthy {
                    since: "14:05".into(),
                    detail: "HTTP 503".into()
                }
            ]),
            GateKind::Health
        ),
        (
            GateStatus::Fail,
            "QA is unhealthy since 14:05 (HTTP 503); Production requires it healthy first".into()
        )
    );
    let (status, reason) = verdict(
        &with(vec![HealthState::Unknown, healthy()]),
        GateKind::Health,
    );
    assert_eq!(status, GateStatus::Pending);
    assert!(
        reason.starts_with("the health of Staging is not known yet"),
        "{reason}"
    );
}

#[test]
fn drift_holds_a_promotion_until_the_overwrite_is_acknowledged() {
    let drifted = |acknowledged| PromotionFacts {
        drift: Some(DriftInfo {
            runs: "1234567".into(),
            recorded: sha('a'),
            since: "Thu 03 Dec 14:02 UTC".into(),
            acknowledged,
        }),
        ..facts()
    };
    let (status, reason) = verdict(&drifted(false), GateKind::Drift);
    assert_eq!(status, GateStatus::Acknowledge);
    assert_eq!(
        reason,
        "Production runs 1234567, not its recorded SHA aaaaaaa (drift since Thu 03 Dec 14:02 UTC): \
         the deploy would overwrite whatever was changed by hand; acknowledge to go on"
    );
    assert!(first_hard_blocker(&evaluate(&drifted(false))).is_none());
    assert!(first_blocker(&evaluate(&drifted(true))).is_none());
    assert_eq!(verdict(&facts(), GateKind::Drift).0, GateStatus::Pass);
}

#[test]
fn a_missing_artifact_is_waited_for_and_a_broken_check_refuses() {
    let missing = PromotionFacts {
        artifact: Artifact::Missing {
            since: "14:02".into(),
            detail: "HTTP 404".into(),
        },
        ..facts()
    };
    assert_eq!(
        verdict(&missing, GateKind::Artifact),
        (
            GateStatus::Pending,
            "waiting for the artifact of bbbbbbb since 14:02 (HTTP 404)".into()
        )
    );
    let broken = PromotionFacts {
        artifact: Artifact::Broken {
            detail: "HTTP 403".into(),
        },
        ..facts()
    };
    let (status, reason) = verdict(&broken, GateKind::Artifact);
    assert_eq!(status, GateStatus::Fail);
    assert!(
        reason.starts_with(
            "the artifact check of Production cannot tell whether bbbbbbb was built (HTTP 403)"
        ),
        "{reason}"
    );
    assert_eq!(verdict(&facts(), GateKind::Artifact).0, GateStatus::Pass);
    let unchecked = PromotionFacts {
        artifact: Artifact::NotChecked,
        ..facts()
    };
    assert_eq!(
        verdict(&unchecked, GateKind::Artifact),
        (GateStatus::Pass, "Production checks no artifact".into())
    );
    let unknown = PromotionFacts {
        artifact: Artifact::Unknown,
        ..facts()
    };
    assert_eq!(verdict(&unknown, GateKind::Artifact).0, GateStatus::Pending);
}

#[test]
fn only_a_promotion_held_by_nothing_but_a_pending_artifact_may_be_queued() {
    let waiting = PromotionFacts {
        artifact: Artifact::Missing {
            since: "14:02".into(),
            detail: "HTTP 404".into(),
        },
        ..facts()
    };
    assert!(queueable(&evaluate(&waiting)));
    assert!(queueable(&evaluate(&PromotionFacts {
        artifact: Artifact::Unknown,
        ..facts()
    })));
    assert!(!queueable(&evaluate(&PromotionFacts {
        lock: Some(LockInfo {
            by: "olga".into(),
            reason: "incident".into()
        }),
        ..waiting.clone()
    })));
    // Nothing to wait for: promote instead.
    assert!(!queueable(&evaluate(&facts())));
    // A broken check: nothing would ever start it.
    assert!(!queueable(&evaluate(&PromotionFacts {
        artifact: Artifact::Broken {
            detail: "HTTP 403".into(),
        },
        ..facts()
    })));
    // An acknowledgement still missing holds it too: the request must carry it.
    assert!(!queueable(&evaluate(&PromotionFacts {
        migrations: Migrations::Touched {
            files: vec!["migrations/1.sql".into()],
            current: sha('a'),
            stepping_back: false,
            acknowledged: false,
        },
        ..waiting
    })));
}
