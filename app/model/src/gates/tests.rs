//! Table tests of each gate.

use super::*;
use crate::Role;

fn sha(c: char) -> Sha {
    Sha::parse(&c.to_string().repeat(40)).unwrap()
}

fn facts() -> PromotionFacts {
    PromotionFacts {
        sha: sha('b'),
        target: TargetStage {
            label: "Production".into(),
            fast_forward_only: true,
            promote_roles: [Role::Ops].into_iter().collect(),
        },
        previous: Previous::Stage {
            label: "Staging".into(),
            succeeded: true,
            rolled_back: false,
            failed_since: false,
        },
        sign_off: SignOff::Required {
            stage: "Staging".into(),
            roles: [Role::Qa].into_iter().collect(),
            by: Some("quinn".into()),
        },
        approval: Approval::NotRequired,
        ancestry: Ancestry::Descends,
        active: None,
        lock: None,
        user_roles: [Role::Ops].into_iter().collect(),
        window: WindowState::Open {
            until: "Thu 16:00 Europe/Berlin".into(),
        },
        freeze: None,
        migrations: Migrations::None,
        health: Vec::new(),
        drift: None,
        artifact: Artifact::Present,
        ci: Ci::NotRequired,
        emergency: false,
    }
}

fn verdict(f: &PromotionFacts, gate: GateKind) -> (GateStatus, String) {
    let r = evaluate(f).into_iter().find(|r| r.gate == gate).unwrap();
    (r.status, r.reason)
}

#[test]
fn a_promotion_with_every_fact_in_order_passes_every_gate() {
    let results = evaluate(&facts());
    assert_eq!(results.len(), GATES.len());
    assert!(first_blocker(&results).is_none(), "{results:?}");
}

#[test]
fn previous_stage_gate_table() {
    use GateStatus::*;
    let cases = [
        (
            Previous::FirstStage { marked_ready: true },
            Pass,
            "marked ready",
        ),
        (
            Previous::FirstStage {
                marked_ready: false,
            },
            Fail,
            "is not marked ready",
        ),
        (
            Previous::Stage {
                label: "Staging".into(),
                succeeded: true,
                rolled_back: false,
                failed_since: false,
            },
            Pass,
            "succeeded on Staging",
        ),
        (
            Previous::Stage {
                label: "Staging".into(),
                succeeded: false,
                rolled_back: false,
                failed_since: false,
            },
            Fail,
            "has not succeeded on Staging",
        ),
        (
            Previous::Stage {
                label: "Staging".into(),
                succeeded: false,
                rolled_back: false,
                failed_since: true,
            },
            Fail,
            "its latest deployment there did not",
        ),
        (
            Previous::Stage {
                label: "Staging".into(),
                succeeded: true,
                rolled_back: true,
                failed_since: false,
            },
            Fail,
            "was rolled back on Staging",
        ),
    ];
    for (previous, status, reason) in cases {
        let f = PromotionFacts {
            previous: previous.clone(),
            ..facts()
        };
        let (s, r) = verdict(&f, GateKind::PreviousStage);
        assert_eq!(s, status, "{previous:?}");
        assert!(r.contains(reason), "{previous:?}: {r}");
    }
}

#[test]
fn signed_off_gate_table() {
    use GateStatus::*;
    let qa: RoleSet = [Role::Qa].into_iter().collect();
    let cases = [
        (
            SignOff::NotRequired,
            Pass,
            "no sign-off required".to_string(),
        ),
        (
            SignOff::Required {
                stage: "Staging".into(),
                roles: qa,
                by: Some("quinn".into()),
            },
            Pass,
            "signed off on Staging by quinn".into(),
        ),
        (
            SignOff::Required {
                stage: "Staging".into(),
                roles: qa,
                by: None,
            },
            Fail,
            "bbbbbbb is not signed off on Staging; qa may sign it off there".into(),
        ),
    ];
    for (sign_off, status, reason) in cases {
        let f = PromotionFacts {
            sign_off: sign_off.clone(),
            ..facts()
        };
        assert_eq!(
            verdict(&f, GateKind::SignedOff),
            (status, reason),
            "{sign_off:?}"
        );
    }
}

#[test]
fn ancestry_gate_table() {
    use GateStatus::*;
    let cases = [
        (true, Ancestry::NoCurrent, Pass, "nothing deployed"),
        (true, Ancestry::Same, Pass, "already the current SHA"),
        (true, Ancestry::Descends, Pass, "descends from"),
        (
            true,
            Ancestry::Diverges {
                current: sha('a'),
                older: false,
            },
            Fail,
            "does not descend from Production's current SHA aaaaaaa",
        ),
        (true, Ancestry::Unknown, Pending, "checking"),
        (
            false,
            Ancestry::Diverges {
                current: sha('a'),
                older: false,
            },
            Pass,
            "not fast-forward-only",
        ),
    ];
    for (ff, ancestry, status, reason) in cases {
        let mut f = PromotionFacts {
            ancestry: ancestry.clone(),
            ..facts()
        };
        f.target.fast_forward_only = ff;
        let (s, r) = verdict(&f, GateKind::Ancestry);
        assert_eq!(s, status, "{ff} {ancestry:?}");
        assert!(r.contains(reason), "{ancestry:?}: {r}");
    }
}

#[test]
fn busy_lock_and_permission_gate_tables() {
    let f = PromotionFacts {
        active: Some(ActiveDeployment {
            id: crate::DeploymentId(7),
            sha: sha('c'),
        }),
        ..facts()
    };
    assert_eq!(
        verdict(&f, GateKind::Busy),
        (
            GateStatus::Fail,
            "Production is already deploying ccccccc (deployment #7)".into()
        )
    );

    let f = PromotionFacts {
        lock: Some(LockInfo {
            by: "olga".into(),
            reason: "labs until 19:00".into(),
        }),
        ..facts()
    };
    assert_eq!(
        verdict(&f, GateKind::Lock),
        (GateStatus::Fail, "locked by olga: labs until 19:00".into())
    );

    for (roles, status) in [
        (vec![Role::Qa], GateStatus::Fail),
        (vec![Role::Dev, Role::Viewer], GateStatus::Fail),
        (vec![Role::Ops], GateStatus::Pass),
        (vec![Role::Admin], GateStatus::Pass),
    ] {
        let f = PromotionFacts {
            user_roles: roles.iter().copied().collect(),
            ..facts()
        };
        let (s, r) = verdict(&f, GateKind::Permission);
        assert_eq!(s, status, "{roles:?}");
        if s == GateStatus::Fail {
            assert_eq!(r, "only ops may promote into Production");
        }
    }
}

#[test]
fn the_first_blocker_is_the_first_failing_gate_in_display_order() {
    let f = PromotionFacts {
        lock: Some(LockInfo {
            by: "o".into(),
            reason: "r".into(),
        }),
        ancestry: Ancestry::Unknown,
        ..facts()
    };
    let results = evaluate(&f);
    let blocker = first_blocker(&results).unwrap();
    assert_eq!(blocker.gate, GateKind::Ancestry);
    assert_eq!(blocker.status, GateStatus::Pending);
}

/// Window, freeze, emergency; the gate looked at; its verdict and reason.
type WindowCase = (
    WindowState,
    Option<FreezeInfo>,
    bool,
    GateKind,
    GateStatus,
    &'static str,
);

#[test]
fn window_and_freeze_gate_tables() {
    use GateStatus::*;
    let closed = WindowState::Closed {
        next: Some("Mon 09:00 Europe/Berlin".into()),
    };
    let labs = Some(FreezeInfo {
        reason: "labs".into(),
        until: "19:00 Europe/Berlin".into(),
    });
    let cases: [WindowCase; 9] = [
        (
            WindowState::Always,
            None,
            false,
            GateKind::Window,
            Pass,
            "Production has no deploy windows",
        ),
        (
            WindowState::Open {
                until: "Thu 16:00 Europe/Berlin".into(),
            },
            None,
            false,
            GateKind::Window,
            Pass,
            "open until Thu 16:00 Europe/Berlin",
        ),
        (
            closed.clone(),
            None,
            false,
            GateKind::Window,
            Fail,
            "Production's deploy window is closed; it opens Mon 09:00 Europe/Berlin",
        ),
        (
            WindowState::Closed { next: None },
            None,
            false,
            GateKind::Window,
            Fail,
            "Production's deploy window is closed, and none opens within a week",
        ),
        (
            closed.clone(),
            None,
            true,
            GateKind::Window,
            Pass,
            "Production's deploy window is closed; passed by emergency override",
        ),
        (
            WindowState::Always,
            None,
            false,
            GateKind::NoFreeze,
            Pass,
            "no freeze",
        ),
        (
            WindowState::Always,
            labs.clone(),
            false,
            GateKind::NoFreeze,
            Fail,
            "frozen until 19:00 Europe/Berlin: labs",
        ),
        (
            WindowState::Always,
            labs.clone(),
            true,
            GateKind::NoFreeze,
            Pass,
            "frozen; passed by emergency override",
        ),
        (closed, labs, true, GateKind::Lock, Pass, "not locked"),
    ];
    for (window, freeze, emergency, gate, status, reason) in cases {
        let f = PromotionFacts {
            window: window.clone(),
            freeze: freeze.clone(),
            emergency,
            ..facts()
        };
        assert_eq!(
            verdict(&f, gate),
            (status, reason.to_owned()),
            "{window:?} {freeze:?} {emergency}"
        );
    }
}

#[test]
fn an_emergency_override_passes_only_a_closed_window_and_a_freeze() {
    // Every other gate fails just the same with the override.
    let f = PromotionFacts {
        previous: Previous::Stage {
            label: "Staging".into(),
            succeeded: false,
            rolled_back: false,
            failed_since: false,
        },
        sign_off: SignOff::Required {
            stage: "Staging".into(),
            roles: [Role::Qa].into_iter().collect(),
            by: None,
        },
        ancestry: Ancestry::Diverges {
            current: sha('a'),
            older: true,
        },
        active: Some(ActiveDeployment {
            id: crate::DeploymentId(3),
            sha: sha('c'),
        }),
        lock: Some(LockInfo {
            by: "olga".into(),
            reason: "incident".into(),
        }),
        approval: Approval::Required {
            roles: [Role::Ops].into_iter().collect(),
            request: Some(ApprovalRequestState::Pending { by: "quinn".into() }),
        },
        user_roles: [Role::Qa].into_iter().collect(),
        window: WindowState::Closed { next: None },
        freeze: Some(FreezeInfo {
            reason: "labs".into(),
            until: "19:00".into(),
        }),
        migrations: Migrations::Unknown,
        drift: Some(DriftInfo {
            runs: "abcdef0".into(),
            recorded: sha('a'),
            since: "14:00".into(),
            acknowledged: false,
        }),
        health: vec![HealthFact {
            stage: "Staging".into(),
            state: HealthState::Unknown,
        }],
        artifact: Artifact::Missing {
            since: "14:00".into(),
            detail: "HTTP 404".into(),
        },
        ci: Ci::Waiting {
            checks: vec!["build".into()],
        },
        emergency: true,
        ..facts()
    };
    for r in evaluate(&f) {
        let passes = r.status == GateStatus::Pass;
        assert_eq!(passes, OVERRIDABLE.contains(&r.gate), "{r:?}");
    }
}

#[test]
fn approved_gate_table() {
    use GateStatus::*;
    let ops: RoleSet = [Role::Ops].into_iter().collect();
    let approved = |when, stale| {
        Some(ApprovalRequestState::Approved {
            by: "olga".into(),
            slot: "Thu 03 Dec 18:00 – 19:00 UTC".into(),
            when,
            stale,
        })
    };
    let cases = [
        (Approval::NotRequired, Pass, "no approval required".to_owned()),
        (
            Approval::Required { roles: ops, request: None },
            Fail,
            "Production needs approval by ops; request it first".into(),
        ),
        (
            Approval::Required {
                roles: ops,
                request: Some(ApprovalRequestState::Pending { by: "quinn".into() }),
            },
            Fail,
            "awaiting approval by ops (requested by quinn)".into(),
        ),
        (
            Approval::Required { roles: ops, request: approved(SlotTime::Inside, false) },
            Pass,
            "approved by olga for Thu 03 Dec 18:00 – 19:00 UTC".into(),
        ),
        (
            Approval::Required { roles: ops, request: approved(SlotTime::Before, false) },
            Fail,
            "approved by olga for Thu 03 Dec 18:00 – 19:00 UTC; not yet".into(),
        ),
        (
            Approval::Required { roles: ops, request: approved(SlotTime::After, false) },
            Fail,
            "the approval by olga for Thu 03 Dec 18:00 – 19:00 UTC expired unused; request again".into(),
        ),
        (
            Approval::Required { roles: ops, request: approved(SlotTime::Inside, true) },
            Fail,
            "the approval by olga no longer counts: Production's current SHA changed since; request again".into(),
        ),
    ];
    for (approval, status, reason) in cases {
        let f = PromotionFacts {
            approval: approval.clone(),
            ..facts()
        };
        assert_eq!(
            verdict(&f, GateKind::Approved),
            (status, reason),
            "{approval:?}"
        );
    }
    // An approved slot covering now opens a closed window; one that does not, does not.
    for (request, status) in [
        (approved(SlotTime::Inside, false), Pass),
        (approved(SlotTime::Before, false), Fail),
        (approved(SlotTime::Inside, true), Fail),
    ] {
        let f = PromotionFacts {
            approval: Approval::Required {
                roles: ops,
                request,
            },
            window: WindowState::Closed { next: None },
            ..facts()
        };
        assert_eq!(verdict(&f, GateKind::Window).0, status);
    }
}

mod environment;

#[test]
fn ci_gate_table() {
    use GateStatus::*;
    let with = |ci| PromotionFacts { ci, ..facts() };
    let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    for (ci, status, says) in [
        (Ci::NotRequired, Pass, "no CI checks are required"),
        (Ci::Unknown, Pending, "checking CI"),
        (
            Ci::Unavailable {
                reason: "GitHub rate-limited until 14:05 UTC".into(),
            },
            Pending,
            "CI: GitHub rate-limited until 14:05 UTC",
        ),
        (
            Ci::Green {
                checks: names(&["build", "test"]),
            },
            Pass,
            "CI green for bbbbbbb: build, test",
        ),
        (
            Ci::Waiting {
                checks: names(&["test"]),
            },
            Pending,
            "CI still running for bbbbbbb: test",
        ),
        (
            Ci::Failed {
                check: "test".into(),
                url: Some("https://github.com/o/r/runs/4".into()),
            },
            Fail,
            "CI check test failed for bbbbbbb: https://github.com/o/r/runs/4",
        ),
    ] {
        let r = evaluate(&with(ci.clone()))
            .into_iter()
            .find(|r| r.gate == GateKind::Ci)
            .expect("a CI gate");
        assert_eq!(r.status, status, "{ci:?}");
        assert!(r.reason.contains(says), "{ci:?}: {}", r.reason);
    }
}
