//! The approval parts of a board's cards: what a viewer may do about a stage's
//! approval, and the one part of a board that depends on who looks (four eyes).

use crate::authz::authorize;
use crate::config::PipelineConfig;
use crate::promotion::{facts, StageRef};
use crate::store::{ApprovalRecord, RequestState, User};
use slipway_model::views::{ApprovalView, RequestView};
use slipway_model::{Action, RequestId, Sha, UserId};

/// Pending requests under four eyes, and who made each: they may not decide their own.
pub(super) type FourEyes = Vec<(RequestId, UserId)>;

/// The pending requests among `requests` on stages of `p` that want four eyes.
pub(super) fn four_eyes<'a>(
    p: &PipelineConfig,
    requests: impl Iterator<Item = &'a ApprovalRecord>,
) -> FourEyes {
    requests
        .filter(|r| r.state == RequestState::Pending)
        .filter(|r| {
            p.stages
                .iter()
                .find(|s| s.id.as_str() == r.stage)
                .and_then(|s| s.approval.as_ref())
                .is_some_and(|rule| rule.four_eyes)
        })
        .map(|r| (r.id, r.requested_by_id))
        .collect()
}

/// A card's approval for stage `at`, as `user` may act on it.
pub(super) fn approval_view(
    at: &StageRef<'_>,
    user: &User,
    request: Option<&ApprovalRecord>,
    current: Option<&Sha>,
    now: time::OffsetDateTime,
) -> Option<ApprovalView> {
    let rule = at.stage().approval.as_ref()?;
    let zone = facts::stage_zone(at.stage());
    let may_promote = authorize(
        user,
        Action::PromoteInto {
            allowed: at.stage().promote_roles,
        },
    )
    .is_ok();
    Some(ApprovalView {
        roles: rule.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        // A lapsed approval gives way to a new request.
        can_request: may_promote && request.is_none_or(|r| r.lapsed(now, current)),
        // By roles only: four eyes is applied per viewer (`board_cache::personalise`),
        // and again when they decide (`approvals::may_decide`).
        can_decide: request.is_some_and(|r| {
            r.state == RequestState::Pending
                && authorize(
                    user,
                    Action::Approve {
                        allowed: rule.roles,
                    },
                )
                .is_ok()
        }),
        four_eyes: rule.four_eyes,
        request: request.map(|r| RequestView {
            id: r.id,
            state: r.state.as_str().to_owned(),
            requested_by: r.requested_by.clone(),
            note: r.note.clone(),
            decided_by: r.decided_by.clone(),
            slot: r
                .slot
                .map(|(from, until)| crate::calendar::range_label(from, until, zone)),
            auto_start: r.auto_start,
            auto_start_result: r.auto_start_result.clone(),
        }),
        zone: zone.name().to_owned(),
        today: crate::calendar::local_date(now, zone),
    })
}
