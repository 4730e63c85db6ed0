//! A card's approval for its next stage: the request and its state, and the forms to
//! request, approve or reject it.

use super::board::BoardCtx;
use super::card::{ChecklistBoxes, DriftAck, MigrationsAck};
use leptos::prelude::*;
use slipway_model::views::ApprovalView;

/// A card's approval for its next stage: the request and its state, the form to request
/// one, and for approvers the forms to approve (now, or a slot) or reject.
#[component]
pub(super) fn ApprovalPart(
    approval: ApprovalView,
    sha: String,
    short: String,
    stage: String,
    label: String,
    checklist: Vec<String>,
    /// What the request acknowledges for the deploy it lets through.
    migrations: Vec<String>,
    drift: Option<String>,
    ctx: BoardCtx,
) -> impl IntoView {
    let a = approval;
    let roles = a.roles.join(", ");
    let request_action = format!("/pipelines/{}/stages/{stage}/requests", ctx.pipeline);
    let status = match &a.request {
        None => format!("{label} needs approval by {roles}"),
        Some(r) if r.state == "pending" => format!(
            "Awaiting approval by {roles} (requested by {}{})",
            r.requested_by,
            r.note
                .as_ref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        ),
        Some(r) => format!(
            "Approved by {} for {}{}{}",
            r.decided_by.clone().unwrap_or_default(),
            r.slot.clone().unwrap_or_default(),
            if r.auto_start {
                "; starts by itself"
            } else {
                ""
            },
            r.auto_start_result
                .as_ref()
                .map(|x| format!(" — {x}"))
                .unwrap_or_default()
        ),
    };
    let decide = a.request.clone().filter(|_| a.can_decide).map(|r| {
        let approve_action = format!("/requests/{}/approve", r.id);
        let reject_action = format!("/requests/{}/reject", r.id);
        view! {
            <details class="decide" open>
                <summary>{format!("Decide on request #{}", r.id)}</summary>
                <form method="post" action=approve_action class="stack">
                    <p class="hint">{format!("Slot in {} (empty: from now)", a.zone)}</p>
                    <input type="date" name="slot_date" value=a.today.clone() aria-label="Slot date" />
                    <input name="slot_from" placeholder="18:00" size="5" aria-label="Slot from (HH:MM)" />
                    <input name="slot_until" placeholder="19:00" size="5" aria-label="Slot until (HH:MM)" />
                    <label>
                        <input type="checkbox" name="auto_start" value="1" />
                        " Start the deploy at the slot's start"
                    </label>
                    <input name="outside_windows_reason" maxlength="500" placeholder="Outside the deploy windows? Say why" aria-label="Reason to approve outside the deploy windows" />
                    <button type="submit" aria-label=format!("Approve {short} for {label}")>"Approve"</button>
                </form>
                <form method="post" action=reject_action class="card-action">
                    <input name="reason" required maxlength="500" placeholder="Why reject?" aria-label=format!("Reason to reject {short}") />
                    <button type="submit" class="link" aria-label=format!("Reject {short} for {label}")>"Reject"</button>
                </form>
            </details>
        }
    });
    view! {
        <div class="approval" data-testid="approval">
            <p class="approval-status">{status}</p>
            {a
                .can_request
                .then(|| {
                    view! {
                        <form method="post" action=request_action class="card-action">
                            <input type="hidden" name="sha" value=sha.clone() />
                            <ChecklistBoxes items=checklist.clone() />
                            <MigrationsAck files=migrations.clone() what=format!("the request of {short} for {label}") />
                            <DriftAck drift=drift.clone() what=format!("the request of {short} for {label}") />
                            <input name="note" maxlength="500" placeholder="Note for the approver" aria-label=format!("Approval note for {short}") />
                            <button type="submit" aria-label=format!("Request approval of {short} for {label}")>
                                "Request approval"
                            </button>
                        </form>
                    }
                })}
            {decide}
        </div>
    }
}
