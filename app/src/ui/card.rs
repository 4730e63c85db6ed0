//! One card of the board: a commit, where it stands, its sign-off on the stage it sits
//! in, and the way on to the next stage (gates, checklist, the promote button).

use super::approval::ApprovalPart;
use super::board::BoardCtx;
use super::common::ShaChip;
use super::confirm::{ConfirmDialog, ConfirmOpener};
use leptos::prelude::*;
use slipway_model::views::{Card, NextStep, PromoteMode, SignOffSlot};

#[component]
pub(super) fn CardView(card: Card, ctx: BoardCtx, compact: bool) -> impl IntoView {
    if compact {
        return view! { <CompactCard card=card ctx=ctx /> }.into_any();
    }
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
    .into_any()
}

/// A card of the Commits lane: one line (SHA, subject, age), and "mark ready" with its
/// optional note behind a disclosure, so forty commits are forty lines, not forty forms.
#[component]
fn CompactCard(card: Card, ctx: BoardCtx) -> impl IntoView {
    let c = card.commit;
    let ready_action = format!("/pipelines/{}/ready", ctx.pipeline);
    view! {
        <li class="card compact" data-sha=c.sha.clone()>
            <div class="card-line">
                <ShaChip sha=c.sha.clone() short=c.short.clone() />
                {c.is_merge.then(|| view! { <span class="badge">"merge"</span> })}
                // The subject gets the line; who and when are its tooltip (and read out).
                <span class="subject" title=format!("{} — {} · {}", c.subject, c.author, c.age)>
                    {c.subject.clone()}
                    <span class="visually-hidden">{format!(" — {} · {}", c.author, c.age)}</span>
                </span>
            </div>
            {(ctx.can_mark_ready && card.ready.is_none())
                .then(|| {
                    view! {
                        <details class="mark-ready">
                            <summary aria-label=format!("Mark ready… ({})", c.short)>"Mark ready…"</summary>
                            <form method="post" action=ready_action class="card-action">
                                <input type="hidden" name="sha" value=c.sha.clone() />
                                <input
                                    name="note"
                                    maxlength="500"
                                    placeholder="Note (optional)"
                                    aria-label=format!("Note for {}", c.short)
                                />
                                <button type="submit" aria-label=format!("Mark ready {}", c.short)>
                                    "Mark ready"
                                </button>
                            </form>
                        </details>
                    }
                })}
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
                            <button type="submit" class="link" aria-label=format!("Withdraw sign-off of {short}")>
                                "Withdraw sign-off"
                            </button>
                        </form>
                    }
                })}
        </div>
    }
}

/// The way on to the next stage: its gates (those that do not pass; the passing ones
/// behind a disclosure), what goes out, and the promote button. Into production the
/// buttons open a confirmation; elsewhere the card's form carries the checklist and
/// acknowledgements and posts the promotion.
#[component]
fn NextStepPart(next: NextStep, sha: String, short: String, ctx: BoardCtx) -> impl IntoView {
    let n = next;
    let promote_action = format!("/pipelines/{}/promote", ctx.pipeline);
    // Each button's accessible name begins with its visible text (WCAG 2.5.3), then
    // says which card it acts on.
    let of = format!("({short} of {})", ctx.pipeline_name);
    let (open, passing): (Vec<_>, Vec<_>) =
        n.gates.iter().cloned().partition(|g| g.status != "pass");
    let gate_item = |g: slipway_model::views::GateView| {
        view! {
            <li class=format!("gate {}", g.status) data-gate=g.gate.clone()>
                <span class="gate-status">{g.status.clone()}</span>
                " "
                <span class="gate-label">{g.label.clone()}</span>
                ": "
                {g.reason.clone()}
            </li>
        }
    };
    let passing_count = passing.len();
    let promote = if n.production {
        let dialog = use_context::<ConfirmDialog>();
        let opener =
            |mode: PromoteMode, text: String, class: &'static str, enabled: bool, aria: String| {
                view! {
                    <ConfirmOpener
                        dialog=dialog
                        pipeline=ctx.pipeline.clone()
                        stage=n.stage.clone()
                        sha=sha.clone()
                        mode=mode
                        text=text
                        class=class
                        enabled=enabled
                        aria=aria
                    />
                }
            };
        view! {
            {opener(PromoteMode::Now, format!("Promote to {}…", n.label), "promote danger", n.allowed, format!("Promote to {}… {of}", n.label))}
            {n.can_queue.then(|| opener(
                PromoteMode::WhenArtifactIsThere,
                "Promote when the artifact is there…".into(),
                "",
                true,
                format!("Promote when the artifact is there… {of}"),
            ))}
            <QueuePart next=n.clone() short=short.clone() ctx=ctx.clone() />
            {n.can_override.then(|| view! {
                <details class="override">
                    <summary>"Emergency override…"</summary>
                    {opener(
                        PromoteMode::EmergencyOverride,
                        "Override the window or freeze and promote…".into(),
                        "danger",
                        true,
                        format!("Override the window or freeze and promote… {of}"),
                    )}
                </details>
            })}
        }
            .into_any()
    } else {
        view! {
            <form method="post" action=promote_action.clone()>
                <input type="hidden" name="sha" value=sha.clone() />
                <input type="hidden" name="stage" value=n.stage.clone() />
                <Checklist items=n.checklist.clone() stage=n.label.clone() />
                <MigrationsAck files=n.migrations.clone() what=format!("{short} to {}", n.label) />
                <DriftAck drift=n.drift.clone() what=format!("{short} to {}", n.label) />
                <button type="submit" class="promote" disabled=!n.allowed aria-label=format!("Promote to {} {of}", n.label)>
                    {format!("Promote to {}", n.label)}
                </button>
            </form>
            <QueueForm next=n.clone() sha=sha.clone() short=short.clone() ctx=ctx.clone() />
            <QueuePart next=n.clone() short=short.clone() ctx=ctx.clone() />
            {n
                .can_override
                .then(|| {
                    view! {
                        <details class="override">
                            <summary>"Emergency override…"</summary>
                            <form method="post" action=promote_action.clone()>
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
                                <button type="submit" class="danger" aria-label=format!("Override the window or freeze and promote {of}")>
                                    "Override the window or freeze and promote"
                                </button>
                            </form>
                        </details>
                    }
                })}
        }
            .into_any()
    };
    view! {
        <div class="next" data-next=n.stage.clone()>
            <ul class="gates" aria-label=format!("Gates for {} that do not pass", n.label)>
                {open.into_iter().map(gate_item).collect_view()}
            </ul>
            {(passing_count > 0)
                .then(|| {
                    view! {
                        <details class="passing-gates">
                            <summary>{format!("{passing_count} gate{} pass", if passing_count == 1 { "" } else { "s" })}</summary>
                            <ul class="gates" aria-label=format!("Gates for {} that pass", n.label)>
                                {passing.into_iter().map(gate_item).collect_view()}
                            </ul>
                        </details>
                    }
                })}
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
            {promote}
        </div>
    }
}

/// The form that queues a promotion until its artifact is there, where the missing
/// artifact is all that holds it (into production the confirmation carries it).
#[component]
fn QueueForm(next: NextStep, sha: String, short: String, ctx: BoardCtx) -> impl IntoView {
    let n = next;
    n.can_queue.then(|| {
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
                <button type="submit" aria-label=format!("Promote when the artifact is there ({short} to {})", n.label)>
                    "Promote when the artifact is there"
                </button>
            </form>
        }
    })
}

/// A promotion waiting for its artifact: the waiting entry with its withdraw button, or
/// how the last one ended.
#[component]
fn QueuePart(next: NextStep, short: String, ctx: BoardCtx) -> impl IntoView {
    let n = next;
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
    view! { {waiting} {ended} }
}

/// A stage's checklist on a promote form: a box to tick per item, under what it is for.
/// Nothing when the stage has none.
#[component]
pub(super) fn Checklist(items: Vec<String>, stage: String) -> impl IntoView {
    (!items.is_empty()).then(|| {
        view! {
            <fieldset class="checklist">
                <legend>{format!("Before {stage} — confirm each")}</legend>
                <ChecklistBoxes items=items />
            </fieldset>
        }
    })
}

/// One required checkbox per checklist item (sent as repeated `checklist` fields).
#[component]
pub(super) fn ChecklistBoxes(items: Vec<String>) -> impl IntoView {
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
