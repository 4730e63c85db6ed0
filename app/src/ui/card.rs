//! One card of the board: a commit, where it stands, its sign-off on the stage it sits
//! in, and the way on to the next stage (gates, checklist, the promote button).

use super::board::BoardCtx;
use super::common::ShaChip;
use leptos::prelude::*;
use slipway_model::views::{ApprovalView, Card, NextStep, SignOffSlot};

#[component]
pub(super) fn CardView(card: Card, ctx: BoardCtx) -> impl IntoView {
    let c = card.commit.clone();
    let mut class = String::from("card");
    for (flag, name) in [
        (card.current_here, " current"),
        (card.superseded, " superseded"),
        (card.rolled_back, " rolled-back"),
        (card.deploying.is_some(), " deploying"),
    ] {
        if flag {
            class.push_str(name);
        }
    }
    let ready_action = format!("/pipelines/{}/ready", ctx.pipeline);
    let unready_action = format!("/pipelines/{}/unready", ctx.pipeline);
    let placed = card.current_here || card.superseded;
    view! {
        <li class=class data-sha=c.sha.clone()>
            <div class="card-head">
                <ShaChip sha=c.sha.clone() short=c.short.clone() />
                <span class="flags">
                    {c.is_merge.then(|| view! { <span class="badge">"merge"</span> })}
                    {card.current_here.then(|| view! { <span class="badge current">"current"</span> })}
                    {card.superseded.then(|| view! { <span class="badge">"superseded"</span> })}
                    {card.rolled_back.then(|| view! { <span class="badge warn">"rolled back"</span> })}
                    {card
                        .deploying
                        .map(|id| {
                            view! {
                                <a class="badge deploying" href=format!("/deployments/{id}")>
                                    "deploying"
                                </a>
                            }
                        })}
                </span>
            </div>
            <p class="subject">{c.subject.clone()}</p>
            <p class="meta">{format!("{} · {}", c.author, c.age)}</p>
            {card
                .ready
                .clone()
                .filter(|_| !placed)
                .map(|r| {
                    view! {
                        <p class="meta">
                            {format!("Ready by {} {}", r.by, r.age)}
                            {r.note.map(|n| format!(": {n}"))}
                        </p>
                    }
                })}
            {(ctx.can_mark_ready && card.ready.is_none() && !placed)
                .then(|| {
                    view! {
                        <form method="post" action=ready_action.clone() class="card-action">
                            <input type="hidden" name="sha" value=c.sha.clone() />
                            <input
                                name="note"
                                maxlength="500"
                                placeholder="Note (optional)"
                                aria-label=format!("Note for {}", c.short)
                            />
                            <button type="submit" aria-label=format!("Mark {} ready", c.short)>
                                "Mark ready"
                            </button>
                        </form>
                    }
                })}
            {(ctx.can_mark_ready && card.ready.is_some() && !placed)
                .then(|| {
                    view! {
                        <form method="post" action=unready_action.clone() class="inline">
                            <input type="hidden" name="sha" value=c.sha.clone() />
                            <button type="submit" class="link" aria-label=format!("Unmark {}", c.short)>
                                "Unmark"
                            </button>
                        </form>
                    }
                })}
            {card
                .sign_off
                .clone()
                .map(|sign_off| view! { <SignOffPart sign_off=sign_off sha=c.sha.clone() short=c.short.clone() ctx=ctx.clone() /> })}
            {card
                .next
                .clone()
                .map(|n| view! { <NextStepPart next=n sha=c.sha.clone() short=c.short.clone() ctx=ctx.clone() /> })}
        </li>
    }
}

/// A card's sign-off on the stage it sits in: who signed off, or the form to do it.
#[component]
fn SignOffPart(sign_off: SignOffSlot, sha: String, short: String, ctx: BoardCtx) -> impl IntoView {
    let slot = sign_off;
    let action = format!("/pipelines/{}/stages/{}/signoff", ctx.pipeline, slot.stage);
    let withdraw_action = format!("{action}/withdraw");
    let label = slot.label.clone();
    view! {
        <div class="sign-off" data-sign-off=slot.stage.clone()>
            {match slot.given.clone() {
                Some(given) => {
                    view! {
                        <p class="signed-off" data-testid="signed-off">
                            {format!(
                                "Signed off on {} by {} {}{}",
                                label,
                                given.by,
                                given.age,
                                given.note.map(|n| format!(": {n}")).unwrap_or_default(),
                            )}
                        </p>
                    }
                        .into_any()
                }
                None => {
                    view! {
                        <p class="awaiting-sign-off">
                            {format!("Awaiting sign-off on {} by {}", label, slot.roles.join(", "))}
                        </p>
                    }
                        .into_any()
                }
            }}
            {slot
                .can_sign
                .then(|| {
                    view! {
                        <form method="post" action=action.clone() class="card-action">
                            <input type="hidden" name="sha" value=sha.clone() />
                            <input
                                name="note"
                                maxlength="500"
                                placeholder="Note (optional)"
                                aria-label=format!("Sign-off note for {short}")
                            />
                            <button type="submit" aria-label=format!("Sign off {short} on {}", slot.label)>
                                "Sign off"
                            </button>
                        </form>
                    }
                })}
            {slot
                .can_withdraw
                .then(|| {
                    view! {
                        <form method="post" action=withdraw_action.clone() class="card-action">
                            <input type="hidden" name="sha" value=sha.clone() />
                            <input
                                name="reason"
                                required
                                maxlength="500"
                                placeholder="Why withdraw?"
                                aria-label=format!("Reason to withdraw the sign-off of {short}")
                            />
                            <button type="submit" class="link" aria-label=format!("Withdraw the sign-off of {short}")>
                                "Withdraw sign-off"
                            </button>
                        </form>
                    }
                })}
        </div>
    }
}

/// The way on to the next stage: its gates, what goes out, the checklist to confirm and
/// the promote button.
#[component]
fn NextStepPart(next: NextStep, sha: String, short: String, ctx: BoardCtx) -> impl IntoView {
    let n = next;
    let promote_action = format!("/pipelines/{}/promote", ctx.pipeline);
    let button_class = if n.production {
        "promote danger"
    } else {
        "promote"
    };
    let text = if n.production {
        format!("Promote to {} (PRODUCTION)", n.label)
    } else {
        format!("Promote to {}", n.label)
    };
    let aria = format!("Promote {} of {} to {}", short, ctx.pipeline_name, n.label);
    view! {
        <div class="next" data-next=n.stage.clone()>
            <ul class="gates" aria-label=format!("Gates for {}", n.label)>
                {n
                    .gates
                    .iter()
                    .map(|g| {
                        view! {
                            <li class=format!("gate {}", g.status) data-gate=g.gate.clone()>
                                <span class="gate-status">{g.status.clone()}</span>
                                " "
                                <span class="gate-label">{g.label.clone()}</span>
                                ": "
                                {g.reason.clone()}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            {n
                .from
                .clone()
                .filter(|from| *from != sha)
                .map(|from| {
                    view! {
                        <a class="what-goes-out" href=format!("/pipelines/{}/compare?from={from}&to={}", ctx.pipeline, sha)>
                            {format!("What goes out to {}", n.label)}
                        </a>
                    }
                })}
            {n
                .approval
                .clone()
                .map(|a| {
                    view! {
                        <ApprovalPart
                            approval=a
                            sha=sha.clone()
                            short=short.clone()
                            stage=n.stage.clone()
                            label=n.label.clone()
                            checklist=n.checklist.clone()
                            migrations=n.migrations.clone()
                            drift=n.drift.clone()
                            ctx=ctx.clone()
                        />
                    }
                })}
            <form method="post" action=promote_action>
                <input type="hidden" name="sha" value=sha.clone() />
                <input type="hidden" name="stage" value=n.stage.clone() />
                {(!n.checklist.is_empty())
                    .then(|| {
                        view! {
                            <fieldset class="checklist">
                                <legend>{format!("Before {} — confirm each", n.label)}</legend>
                                <ChecklistBoxes items=n.checklist.clone() />
                            </fieldset>
                        }
                    })}
                <MigrationsAck files=n.migrations.clone() what=format!("{short} to {}", n.label) />
                <DriftAck drift=n.drift.clone() what=format!("{short} to {}", n.label) />
                <button type="submit" class=button_class disabled=!n.allowed aria-label=aria>
                    {text}
                </button>
            </form>
            <QueuePart next=n.clone() sha=sha.clone() short=short.clone() ctx=ctx.clone() />
            {n
                .can_override
                .then(|| {
                    view! {
                        <details class="override">
                            <summary>"Emergency override…"</summary>
                            <form method="post" action=format!("/pipelines/{}/promote", ctx.pipeline)>
                                <input type="hidden" name="sha" value=sha.clone() />
                                <input type="hidden" name="stage" value=n.stage.clone() />
                                <ChecklistBoxes items=n.checklist.clone() />
                                <MigrationsAck files=n.migrations.clone() what=format!("{short} to {} (override)", n.label) />
                                <DriftAck drift=n.drift.clone() what=format!("{short} to {} (override)", n.label) />
                                <input
                                    name="emergency_reason"
                                    required
                                    maxlength="500"
                                    placeholder="Why it cannot wait"
                                    aria-label=format!("Emergency reason for {short}")
                                />
                                <button type="submit" class="danger" aria-label=format!("Override and promote {short} to {}", n.label)>
                                    "Override the window or freeze and promote"
                                </button>
                            </form>
                        </details>
                    }
                })}
        </div>
    }
}

/// A promotion waiting for its artifact: the form that queues it (where the missing
/// artifact is all that holds it), the waiting entry with its withdraw button, or how
/// the last one ended.
#[component]
fn QueuePart(next: NextStep, sha: String, short: String, ctx: BoardCtx) -> impl IntoView {
    let n = next;
    let queue_form = n.can_queue.then(|| {
        view! {
            <form method="post" action=format!("/pipelines/{}/promote", ctx.pipeline) class="stack queue">
                <input type="hidden" name="sha" value=sha.clone() />
                <input type="hidden" name="stage" value=n.stage.clone() />
                <input type="hidden" name="wait_for_artifact" value="true" />
                <ChecklistBoxes items=n.checklist.clone() />
                <MigrationsAck files=n.migrations.clone() what=format!("{short} to {} (queued)", n.label) />
                <DriftAck drift=n.drift.clone() what=format!("{short} to {} (queued)", n.label) />
                {n
                    .queue_replaces
                    .clone()
                    .map(|other| {
                        view! {
                            <label>
                                <input type="checkbox" name="replace_queued" value="true" required />
                                {format!(" Replace the queued promotion of {other}")}
                            </label>
                        }
                    })}
                <button type="submit" aria-label=format!("Promote {short} to {} when its artifact is there", n.label)>
                    "Promote when the artifact is there"
                </button>
            </form>
        }
    });
    let waiting = n.queued.clone().map(|q| {
        let withdraw = format!("/pipelines/{}/stages/{}/queue/withdraw", ctx.pipeline, n.stage);
        view! {
            <div class="queued" data-testid="queued-card">
                <p>{format!("Queued: {}", q.text)}</p>
                {q
                    .can_withdraw
                    .then(|| {
                        view! {
                            <form method="post" action=withdraw class="card-action">
                                <button type="submit" class="link" aria-label=format!("Withdraw the queued promotion of {short}")>
                                    "Withdraw"
                                </button>
                            </form>
                        }
                    })}
            </div>
        }
    });
    let ended = n
        .queue_outcome
        .clone()
        .filter(|_| n.queued.is_none())
        .map(|o| view! { <p class="hint" data-testid="queue-outcome">{format!("Last queued promotion: {o}")}</p> });
    view! { {queue_form} {waiting} {ended} }
}

/// A card's approval for its next stage: the request and its state, the form to request
/// one, and for approvers the forms to approve (now, or a slot) or reject.
#[component]
fn ApprovalPart(
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

/// One required checkbox per checklist item (sent as repeated `checklist` fields).
#[component]
fn ChecklistBoxes(items: Vec<String>) -> impl IntoView {
    items
        .into_iter()
        .map(|item| {
            view! {
                <label>
                    <input type="checkbox" name="checklist" value=item.clone() required />
                    " "
                    {item}
                </label>
            }
        })
        .collect_view()
}

/// The acknowledgement of migration files a deployment crosses: the files, then the
/// shared checkbox and note. Nothing when there are none.
#[component]
pub(super) fn MigrationsAck(files: Vec<String>, what: String) -> impl IntoView {
    (!files.is_empty()).then(|| {
        view! {
            <AckBox
                name="migrations"
                legend=format!("Migrations ({})", files.len())
                label="Tested against a copy of production data"
                placeholder="Note (optional): which copy, when"
                what=what
            >
                <ul class="ack-items">
                    {files.into_iter().map(|f| view! { <li><code>{f}</code></li> }).collect_view()}
                </ul>
            </AckBox>
        }
    })
}

/// The acknowledgement that a deployment overwrites a drifted stage: what it runs,
/// then the shared checkbox and note. Nothing without drift.
#[component]
pub(super) fn DriftAck(drift: Option<String>, what: String) -> impl IntoView {
    drift.map(|text| {
        view! {
            <AckBox
                name="drift"
                legend="Drift".to_owned()
                label="Overwrite what was changed by hand"
                placeholder="Note (optional): what was changed, who knows"
                what=what
            >
                <p>{text}</p>
            </AckBox>
        }
    })
}

/// What a gate in `acknowledge` asks of the promoter: a required checkbox
/// (`acknowledge_<name>`) and an optional note (`<name>_note`), after what it is about.
#[component]
fn AckBox(
    name: &'static str,
    legend: String,
    label: &'static str,
    placeholder: &'static str,
    what: String,
    children: Children,
) -> impl IntoView {
    view! {
        <fieldset class=format!("ack {name}")>
            <legend>{legend}</legend>
            {children()}
            <label>
                <input
                    type="checkbox"
                    name=format!("acknowledge_{name}")
                    value="true"
                    required
                    aria-label=format!("Acknowledge the {name} of {what}")
                />
                {format!(" {label}")}
            </label>
            <input
                name=format!("{name}_note")
                maxlength="500"
                placeholder=placeholder
                aria-label=format!("Note on the {name} of {what}")
            />
        </fieldset>
    }
}
