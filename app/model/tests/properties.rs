//! Property tests of the model's vocabularies: whatever string, JSON or facts arrive,
//! parsing and evaluation never panic, errors name the problem, and the gates refuse
//! exactly what the product's rules say.

use proptest::prelude::*;
use slipway_model::deployment::DeploymentState;
use slipway_model::gates::{
    evaluate, first_blocker, first_hard_blocker, queueable, ActiveDeployment, Ancestry, Approval,
    ApprovalRequestState, Artifact, Ci, DriftInfo, FreezeInfo, GateStatus, HealthFact, HealthState,
    LockInfo, Migrations, Previous, PromotionFacts, SignOff, SlotTime, TargetStage, WindowState,
    GATES,
};
use slipway_model::{Action, PipelineId, Role, RoleSet, Sha, StageId, UserName};

fn sha_strategy() -> impl Strategy<Value = Sha> {
    "[0-9a-f]{40}".prop_map(|s| Sha::parse(&s).expect("40 hex digits are a SHA"))
}

fn roles_strategy() -> impl Strategy<Value = RoleSet> {
    proptest::collection::vec(proptest::sample::select(Role::ALL.to_vec()), 0..4)
        .prop_map(|rs| rs.into_iter().collect())
}

fn previous_strategy() -> impl Strategy<Value = Previous> {
    prop_oneof![
        any::<bool>().prop_map(|marked_ready| Previous::FirstStage { marked_ready }),
        (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
            |(succeeded, rolled_back, failed_since)| Previous::Stage {
                label: "Staging".into(),
                succeeded,
                rolled_back,
                failed_since,
            }
        ),
    ]
}

fn sign_off_strategy() -> impl Strategy<Value = SignOff> {
    prop_oneof![
        Just(SignOff::NotRequired),
        (roles_strategy(), proptest::option::of("[a-z]{1,12}")).prop_map(|(roles, by)| {
            SignOff::Required {
                stage: "Staging".into(),
                roles,
                by,
            }
        }),
    ]
}

fn approval_strategy() -> impl Strategy<Value = Approval> {
    let when = prop_oneof![
        Just(SlotTime::Before),
        Just(SlotTime::Inside),
        Just(SlotTime::After)
    ];
    let request = prop_oneof![
        Just(None),
        Just(Some(ApprovalRequestState::Pending { by: "quinn".into() })),
        (when, any::<bool>()).prop_map(|(when, stale)| Some(ApprovalRequestState::Approved {
            by: "olga".into(),
            slot: "18:00 – 19:00 UTC".into(),
            when,
            stale,
        })),
    ];
    prop_oneof![
        Just(Approval::NotRequired),
        (roles_strategy(), request)
            .prop_map(|(roles, request)| Approval::Required { roles, request }),
    ]
}

fn window_strategy() -> impl Strategy<Value = WindowState> {
    prop_oneof![
        Just(WindowState::Always),
        Just(WindowState::Open {
            until: "Thu 16:00 UTC".into()
        }),
        proptest::option::of(Just("Mon 09:00 UTC".to_owned()))
            .prop_map(|next| WindowState::Closed { next }),
    ]
}

fn ancestry_strategy() -> impl Strategy<Value = Ancestry> {
    prop_oneof![
        Just(Ancestry::NoCurrent),
        Just(Ancestry::Same),
        Just(Ancestry::Descends),
        Just(Ancestry::Unknown),
        Just(Ancestry::Unavailable {
            reason: "GitHub rate-limited until 14:05 UTC".into()
        }),
        (sha_strategy(), any::<bool>())
            .prop_map(|(current, older)| Ancestry::Diverges { current, older }),
    ]
}

fn health_strategy() -> impl Strategy<Value = HealthState> {
    prop_oneof![
        Just(HealthState::Healthy {
            since: "14:02".into()
        }),
        Just(HealthState::Unhealthy {
            since: "14:05".into(),
            detail: "HTTP 503".into()
        }),
        Just(HealthState::Unknown),
    ]
}

fn ci_strategy() -> impl Strategy<Value = Ci> {
    prop_oneof![
        Just(Ci::NotRequired),
        Just(Ci::Unknown),
        Just(Ci::Unavailable {
            reason: "GitHub rate-limited until 14:05 UTC".into()
        }),
        Just(Ci::Green {
            checks: vec!["build".into()]
        }),
        Just(Ci::Waiting {
            checks: vec!["test".into()]
        }),
        Just(Ci::Failed {
            check: "test".into(),
            url: None
        }),
    ]
}

fn artifact_strategy() -> impl Strategy<Value = Artifact> {
    prop_oneof![
        Just(Artifact::NotChecked),
        Just(Artifact::Unknown),
        Just(Artifact::Present),
        Just(Artifact::Missing {
            since: "14:02".into(),
            detail: "HTTP 404".into()
        }),
        Just(Artifact::Broken {
            detail: "HTTP 403".into()
        }),
    ]
}

fn migrations_strategy() -> impl Strategy<Value = Migrations> {
    prop_oneof![
        Just(Migrations::NoCurrent),
        Just(Migrations::None),
        Just(Migrations::Unknown),
        (
            proptest::collection::vec("[a-z/]{1,20}\\.sql", 1..12),
            sha_strategy(),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(files, current, stepping_back, acknowledged)| {
                Migrations::Touched {
                    files,
                    current,
                    stepping_back,
                    acknowledged,
                }
            }),
    ]
}

prop_compose! {
    fn facts_strategy()(
        sha in sha_strategy(),
        fast_forward_only in any::<bool>(),
        promote_roles in roles_strategy(),
        previous in previous_strategy(),
        sign_off in sign_off_strategy(),
        approval in approval_strategy(),
        ancestry in ancestry_strategy(),
        migrations in migrations_strategy(),
        artifact in artifact_strategy(),
        ci in ci_strategy(),
        health in proptest::collection::vec(health_strategy(), 0..3),
        drift in proptest::option::of((sha_strategy(), any::<bool>())),
        active in proptest::option::of((1i64..1000, sha_strategy())),
        locked in proptest::option::of("[a-z]{1,12}"),
        user_roles in roles_strategy(),
        window in window_strategy(),
        frozen in any::<bool>(),
        emergency in any::<bool>(),
    ) -> PromotionFacts {
        PromotionFacts {
            sha,
            target: TargetStage { label: "Production".into(), fast_forward_only, promote_roles },
            previous,
            sign_off,
            approval,
            ancestry,
            active: active.map(|(id, sha)| ActiveDeployment {
                id: id.to_string().parse().expect("a positive id"),
                sha,
            }),
            lock: locked.map(|by| LockInfo { by, reason: "incident".into() }),
            user_roles,
            window,
            freeze: frozen.then(|| FreezeInfo { reason: "labs".into(), until: "19:00 UTC".into() }),
            migrations,
            health: health
                .into_iter()
                .map(|state| HealthFact { stage: "Staging".into(), state })
                .collect(),
            drift: drift.map(|(recorded, acknowledged)| DriftInfo {
                runs: "1234567".into(),
                recorded,
                since: "14:00".into(),
                acknowledged,
            }),
            artifact,
            ci,
            emergency,
        }
    }
}

/// The product's rules, restated independently of the gate code.
fn should_pass(f: &PromotionFacts) -> bool {
    let previous_ok = match &f.previous {
        Previous::FirstStage { marked_ready } => *marked_ready,
        Previous::Stage {
            succeeded,
            rolled_back,
            ..
        } => *succeeded && !*rolled_back,
    };
    // A stage that asks for a sign-off lets a SHA move on only once someone signed it off.
    let signed_off = match &f.sign_off {
        SignOff::NotRequired => true,
        SignOff::Required { by, .. } => by.is_some(),
    };
    let ancestry_ok = !f.target.fast_forward_only
        || matches!(
            f.ancestry,
            Ancestry::NoCurrent | Ancestry::Same | Ancestry::Descends
        );
    let permitted = Action::PromoteInto {
        allowed: f.target.promote_roles,
    }
    .is_permitted_for(f.user_roles);
    // A closed window or a freeze holds unless the promotion is an emergency override,
    // which passes those two and nothing else.
    // An approval counts inside its slot, while the stage runs what it ran when given;
    // it also opens a closed window (the approver may approve a slot outside them).
    let approved_now = matches!(
        &f.approval,
        Approval::Required {
            request: Some(ApprovalRequestState::Approved {
                when: SlotTime::Inside,
                stale: false,
                ..
            }),
            ..
        }
    );
    let approval_ok = matches!(f.approval, Approval::NotRequired) || approved_now;
    let window_ok = f.emergency || approved_now || !matches!(f.window, WindowState::Closed { .. });
    let unfrozen = f.emergency || f.freeze.is_none();
    // Migration files between the stage's SHA and this one go out only acknowledged.
    let migrations_ok = match &f.migrations {
        Migrations::NoCurrent | Migrations::None => true,
        Migrations::Unknown => false,
        Migrations::Touched { acknowledged, .. } => *acknowledged,
    };
    // Every stage the target requires healthy says it is, now.
    let healthy = f
        .health
        .iter()
        .all(|h| matches!(h.state, HealthState::Healthy { .. }));
    // A stage that drifted from its recorded SHA is overwritten only knowingly.
    let drift_ok = f.drift.as_ref().is_none_or(|d| d.acknowledged);
    // The build of the SHA exists (where the stage checks for one).
    let artifact_ok = matches!(f.artifact, Artifact::NotChecked | Artifact::Present);
    // The pipeline's required checks are green.
    let ci_ok = matches!(f.ci, Ci::NotRequired | Ci::Green { .. });
    artifact_ok
        && ci_ok
        && drift_ok
        && healthy
        && migrations_ok
        && approval_ok
        && window_ok
        && unfrozen
        && previous_ok
        && signed_off
        && ancestry_ok
        && f.active.is_none()
        && f.lock.is_none()
        && permitted
}

proptest! {
    #[test]
    fn any_string_parses_as_a_sha_exactly_when_it_is_40_hex_digits(s in "\\PC{0,50}|[0-9a-fA-F]{38,42}") {
        match Sha::parse(&s) {
            Ok(sha) => {
                prop_assert!(s.len() == 40 && s.chars().all(|c| c.is_ascii_hexdigit()));
                prop_assert_eq!(sha.as_str(), s.to_ascii_lowercase());
                prop_assert_eq!(Sha::parse(sha.as_str()).ok(), Some(sha.clone()));
            }
            Err(e) => {
                prop_assert!(!(s.len() == 40 && s.chars().all(|c| c.is_ascii_hexdigit())));
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }

    #[test]
    fn a_sha_from_json_is_parsed_the_same_way_trimmed(s in "\\PC{0,50}|[0-9a-f]{40}", pad in "[ \t\n]{0,3}") {
        let json = serde_json::to_string(&format!("{pad}{s}{pad}")).expect("a string serialises");
        let parsed: Result<Sha, _> = serde_json::from_str(&json);
        prop_assert_eq!(parsed.is_ok(), Sha::parse(s.trim()).is_ok());
    }

    #[test]
    fn ids_accept_only_slugs_and_their_errors_say_the_rule(s in "\\PC{0,70}|[a-z0-9-]{1,70}") {
        let slug = !s.is_empty() && s.len() <= 63 && !s.starts_with('-')
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        for result in [PipelineId::parse(&s).map(|p| p.to_string()), StageId::parse(&s).map(|p| p.to_string())] {
            match result {
                Ok(round_trip) => {
                    prop_assert!(slug);
                    prop_assert_eq!(round_trip, s.clone());
                }
                Err(e) => {
                    prop_assert!(!slug);
                    let message = e.to_string();
                    prop_assert!(message.contains("lowercase"), "{}", message);
                }
            }
        }
    }

    #[test]
    fn user_names_never_panic_and_round_trip(s in "\\PC{0,80}") {
        if let Ok(name) = UserName::parse(&s) {
            prop_assert_eq!(name.to_string(), s);
        }
    }

    #[test]
    fn the_gates_let_a_promotion_through_exactly_when_every_rule_holds(f in facts_strategy()) {
        let results = evaluate(&f);
        prop_assert_eq!(results.len(), GATES.len());
        for r in &results {
            prop_assert!(!r.reason.trim().is_empty(), "{:?} gives no reason", r.gate);
        }
        let blocker = first_blocker(&results);
        prop_assert_eq!(blocker.is_none(), should_pass(&f), "{:?}", results);
        // Pending only ever comes from something not answered yet: ancestry on a
        // fast-forward-only stage, the migrations, a health probe, an artifact, CI.
        if results.iter().any(|r| r.status == GateStatus::Pending) {
            let artifact_unanswered = matches!(f.artifact, Artifact::Unknown | Artifact::Missing { .. });
            let ancestry_unanswered = matches!(f.ancestry, Ancestry::Unknown | Ancestry::Unavailable { .. });
            let ci_unanswered = matches!(f.ci, Ci::Unknown | Ci::Unavailable { .. } | Ci::Waiting { .. });
            prop_assert!(
                (f.target.fast_forward_only && ancestry_unanswered)
                    || f.migrations == Migrations::Unknown
                    || f.health.iter().any(|h| h.state == HealthState::Unknown)
                    || artifact_unanswered
                    || ci_unanswered
            );
        }
        // A queueable promotion is one the artifact's arrival would let through.
        if queueable(&results) {
            let arrived = PromotionFacts { artifact: Artifact::Present, ..f.clone() };
            prop_assert!(first_blocker(&evaluate(&arrived)).is_none());
        }
        // What an acknowledgement would let through is exactly the unacknowledged
        // migrations: acknowledging them turns "blocked only by acknowledgements" into a pass.
        if first_hard_blocker(&results).is_none() {
            let acknowledged = PromotionFacts {
                migrations: match f.migrations.clone() {
                    Migrations::Touched { files, current, stepping_back, .. } => Migrations::Touched {
                        files,
                        current,
                        stepping_back,
                        acknowledged: true,
                    },
                    other => other,
                },
                drift: f.drift.clone().map(|d| DriftInfo { acknowledged: true, ..d }),
                ..f.clone()
            };
            prop_assert!(first_blocker(&evaluate(&acknowledged)).is_none());
        }
    }

    #[test]
    fn a_deployment_never_leaves_an_end_state_nor_succeeds_without_running(
        moves in proptest::collection::vec(proptest::sample::select(DeploymentState::ALL.to_vec()), 0..12)
    ) {
        let mut state = DeploymentState::Queued;
        let mut ran = false;
        for next in moves {
            if state.can_become(next) {
                prop_assert!(state.is_active(), "{state} moved on to {next}");
                if next == DeploymentState::Succeeded || next == DeploymentState::TimedOut {
                    prop_assert!(ran, "{next} without running");
                }
                ran |= next == DeploymentState::Running;
                state = next;
            }
            prop_assert_eq!(DeploymentState::parse(state.as_str()), Some(state));
        }
    }
}
