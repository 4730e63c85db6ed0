//! `/pipelines/:pipeline`: the board. A *Commits* lane (the branch's recent
//! first-parent commits), the built-in *Ready* column, then one column per stage.

use super::card::CardView;
use super::common::{ErrorPanel, Layout, ShaChip};
use super::confirm::ConfirmDialog;
use super::freezes::FreezesPanel;
use crate::server_fns::get_board;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use slipway_model::views::{BoardView, Card, StageColumn};

/// The board page.
#[component]
pub fn BoardPage() -> impl IntoView {
    let params = use_params_map();
    let pipeline = move || params.read().get("pipeline").unwrap_or_default();
    let board = Resource::new(pipeline, get_board);
    // One confirmation dialog for the page, outside the board's data: a live refresh
    // re-renders every card, and must not close a dialog someone is filling in.
    let confirm = ConfirmDialog::new();
    provide_context(confirm);
    // Every open board follows changes live: reload its data on any board event (and
    // when the stream opens, to catch what happened while the page loaded) — except
    // while someone fills in a form on it: then once they are done.
    Effect::new(move |_| {
        let id = pipeline();
        let refresh = super::live::refresher(board, {
            let id = id.clone();
            move || get_board(id.clone())
        });
        let put_off = StoredValue::new(false);
        let editing = || super::live::editing("main");
        let later = refresh.clone();
        if let Ok(timer) = set_interval_with_handle(
            move || {
                if put_off.get_value() && !editing() {
                    put_off.set_value(false);
                    later();
                }
            },
            std::time::Duration::from_secs(1),
        ) {
            on_cleanup(move || timer.clear());
        }
        super::live::subscribe(Some(id), &["board", "deployment", "resync"], move |_, _| {
            if editing() {
                put_off.set_value(true);
            } else {
                refresh();
            }
        });
    });
    view! {
        <Layout>
            <Transition fallback=|| view! { <p>"Loading board…"</p> }>
                {move || Suspend::new(async move {
                    match board.await {
                        Ok(b) => view! { <Board board=b /> }.into_any(),
                        Err(e) => {
                            view! {
                                <Title text="Board · Slipway" />
                                <h1>"Board"</h1>
                                <ErrorPanel error=e />
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
            {confirm.view()}
        </Layout>
    }
}

#[component]
fn Board(board: BoardView) -> impl IntoView {
    let name = board.pipeline.name.clone();
    let id = board.pipeline.id.clone();
    let refresh_action = format!("/pipelines/{id}/refresh");
    let commits_count = board.commits.len();
    // Where this user can act first (Ready = 0, then the stages): at phone width that
    // column comes first.
    let act_first = std::iter::once(&board.ready)
        .chain(board.stages.iter().map(|s| &s.cards))
        .position(|cards| cards.iter().any(may_act));
    let ctx = BoardCtx {
        pipeline: id.clone(),
        pipeline_name: name.clone(),
        can_mark_ready: board.can_mark_ready,
    };
    view! {
        <Title text=format!("{name} board · Slipway") />
        <div class="board-head">
            <h1>
                <span class="muted">"Board · "</span>
                {name.clone()}
            </h1>
            <p class="repo">
                "Branch " <code>{board.branch.clone()}</code> " of " <code>{board.repository.clone()}</code>
                " · "
                <a href=format!("/pipelines/{id}/calendar")>"Calendar"</a>
                " · "
                <a href=format!("/pipelines/{id}/insights")>"Insights"</a>
            </p>
            <div class="mirror" role="status">
                {board.mirror.fetched.clone().map(|f| view! { <span>{format!("Fetched {f}")}</span> })}
                {board
                    .mirror
                    .error
                    .clone()
                    .map(|e| view! { <span class="error">{format!("Last fetch failed: {e}")}</span> })}
                {board
                    .can_refresh
                    .then(|| {
                        view! {
                            <form method="post" action=refresh_action class="inline">
                                <button type="submit" aria-label=format!("Refresh the {name} repository")>
                                    "Refresh"
                                </button>
                            </form>
                        }
                    })}
            </div>
        </div>
        {board
            .stages
            .iter()
            .filter_map(|s| s.emergency.clone().map(|e| (s.stage.label.clone(), e)))
            .map(|(label, e)| {
                view! {
                    <p class="panel emergency" role="alert" data-testid="emergency">
                        <strong>"Emergency override"</strong>
                        {format!(
                            " on {label}: deployment #{} by {} {}: {}. Shown until the next regular deployment.",
                            e.deployment,
                            e.by.clone().unwrap_or_else(|| "unknown".into()),
                            e.age,
                            e.reason,
                        )}
                    </p>
                }
            })
            .collect_view()}
        <FreezesPanel
            freezes=board.freezes.clone()
            can_manage=board.can_manage_freezes
            pipeline=id.clone()
            stages=board.stages.iter().map(|s| (s.stage.id.clone(), s.stage.label.clone())).collect()
        />
        <div class="board" data-testid="board">
            // Collapsible without script: a <details> the lane's width follows (CSS).
            <section class="column commits" aria-labelledby="col-commits">
                <details class="lane" open>
                    <summary>
                        <h2 id="col-commits">
                            "Commits" <span class="count">{commits_count}</span>
                        </h2>
                    </summary>
                    <p class="hint">{format!("Recent first-parent commits of {}", board.branch)}</p>
                    <CardList cards=board.commits.clone() ctx=ctx.clone() empty="No new commits on this branch." compact=true />
                </details>
            </section>
            <section class=column_class("column ready", act_first == Some(0)) aria-labelledby="col-ready">
                <h2 id="col-ready">"Ready" <span class="count">{board.ready.len()}</span></h2>
                <p class="hint">"Marked ready, not deployed yet"</p>
                <CardList cards=board.ready.clone() ctx=ctx.clone() empty="Nothing is marked ready." compact=false />
            </section>
            {board
                .stages
                .into_iter()
                .enumerate()
                .map(|(i, s)| view! { <StageColumnView column=s ctx=ctx.clone() act_first=act_first == Some(i + 1) /> })
                .collect_view()}
        </div>
    }
}

/// Whether the viewing user can do something with `card` now: promote or queue it,
/// request or decide its approval, or sign it off.
fn may_act(card: &Card) -> bool {
    let next = card.next.as_ref().is_some_and(|n| {
        n.allowed
            || n.can_queue
            || n.approval
                .as_ref()
                .is_some_and(|a| a.can_request || a.can_decide)
    });
    next || card.sign_off.as_ref().is_some_and(|s| s.can_sign)
}

/// A column's classes, with `act-first` where the user can act first.
fn column_class(base: &str, act_first: bool) -> String {
    if act_first {
        format!("{base} act-first")
    } else {
        base.to_owned()
    }
}

/// What every card on a board needs to know about the board.
#[derive(Clone)]
pub(super) struct BoardCtx {
    pub(super) pipeline: String,
    pub(super) pipeline_name: String,
    pub(super) can_mark_ready: bool,
}

#[component]
fn StageColumnView(column: StageColumn, ctx: BoardCtx, act_first: bool) -> impl IntoView {
    let stage = column.stage.clone();
    let heading_id = format!("col-stage-{}", stage.id);
    let labelled_by = heading_id.clone();
    let class = column_class(
        if stage.production {
            "column stage production"
        } else {
            "column stage"
        },
        act_first,
    );
    let roles = stage.promote_roles.join(", ");
    let lock_action = format!("/pipelines/{}/stages/{}/lock", ctx.pipeline, stage.id);
    let unlock_action = format!("/pipelines/{}/stages/{}/unlock", ctx.pipeline, stage.id);
    let rollback_action = format!("/pipelines/{}/stages/{}/rollback", ctx.pipeline, stage.id);
    let label = stage.label.clone();
    view! {
        <section class=class aria-labelledby=labelled_by data-stage=stage.id.clone()>
            <h2 id=heading_id>
                {stage.label.clone()}
                {stage.production.then(|| view! { <span class="badge prod">"PRODUCTION"</span> })}
            </h2>
            <p class="hint">{format!("{} · {}", ctx.pipeline_name, stage.label)}</p>
            <Glance column=column.clone() />
            {column
                .drift
                .clone()
                .map(|d| {
                    view! { <p class="panel drift" role="alert" data-testid="drift">{format!("Drift: {d}")}</p> }
                })}
            {column
                .queued
                .clone()
                .map(|q| {
                    view! {
                        <p class="panel queued" role="status" data-testid="queued">
                            {format!("Queued: {}", q.text)}
                        </p>
                    }
                })}
            {column
                .freeze
                .clone()
                .map(|f| view! { <p class="panel freeze" role="status" data-testid="freeze">{format!("Frozen: {f}")}</p> })}
            {column
                .last_attempt_failed
                .clone()
                .map(|d| {
                    let tail = column.failure_tail.clone();
                    view! {
                        <div class="panel error" role="alert">
                            <p>
                                <a href=format!("/deployments/{}", d.id)>{format!("Deployment #{}", d.id)}</a>
                                {format!(" {}: last attempt {} — environment state unknown", d.sha.get(..7).unwrap_or_default(), d.state)}
                                {d.retries.map(|r| format!(" ({r})"))}
                            </p>
                            {(!tail.is_empty()).then(|| view! {
                                <pre class="failure-tail" data-testid="failure-tail">{tail.join("\n")}</pre>
                            })}
                        </div>
                    }
                })}
            {column
                .active
                .clone()
                .map(|d| {
                    view! {
                        <p class="panel deploying" role="status">
                            {format!("Deploying {} ", d.sha.get(..7).unwrap_or_default())}
                            <a href=format!("/deployments/{}", d.id)>{format!("#{} ({})", d.id, d.state)}</a>
                            {d.retries.map(|r| view! { <span class="retries" data-testid="retries">{format!(" — {r}")}</span> })}
                        </p>
                    }
                })}
            {match column.lock.clone() {
                Some(l) => {
                    view! {
                        <div class="panel lock" role="status">
                            <p>
                                <strong>"Locked"</strong>
                                {format!(" by {} {}: {}", l.by, l.since, l.reason)}
                                {l.expires.map(|e| format!(" (until {e})"))}
                            </p>
                            {column
                                .can_lock
                                .then(|| {
                                    view! {
                                        <form method="post" action=unlock_action.clone() class="inline">
                                            <button type="submit" aria-label=format!("Unlock {label} of {}", ctx.pipeline_name)>
                                                "Unlock"
                                            </button>
                                        </form>
                                    }
                                })}
                        </div>
                    }
                        .into_any()
                }
                None => {
                    column
                        .can_lock
                        .then(|| {
                            view! {
                                <details class="lock-form">
                                    <summary>{format!("Lock {}", stage.label)}</summary>
                                    <form method="post" action=lock_action.clone() class="stack">
                                        <label for=format!("lock-reason-{}", stage.id)>"Reason"</label>
                                        <input id=format!("lock-reason-{}", stage.id) name="reason" required maxlength="500" />
                                        <label for=format!("lock-minutes-{}", stage.id)>"Expires after (minutes, optional)"</label>
                                        <input id=format!("lock-minutes-{}", stage.id) name="minutes" type="number" min="1" />
                                        <button type="submit">{format!("Lock {}", stage.label)}</button>
                                    </form>
                                </details>
                            }
                        })
                        .into_any()
                }
            }}
            {column
                .rollback_to
                .clone()
                .map(|target| {
                    let from = stage.current.as_ref().map(|c| c.sha.get(..7).unwrap_or_default().to_owned()).unwrap_or_default();
                    let to = target.get(..7).unwrap_or_default().to_owned();
                    let what = format!("Roll back {} of {} from {from} to {to}", stage.label, ctx.pipeline_name);
                    view! {
                        <details class="rollback-form">
                            <summary>{format!("Roll back to {to}")}</summary>
                            <form method="post" action=rollback_action.clone() class="stack">
                                <p class="warning">{what.clone()}</p>
                                <label for=format!("rollback-reason-{}", stage.id)>"Reason (required)"</label>
                                <input id=format!("rollback-reason-{}", stage.id) name="reason" required maxlength="500" />
                                <super::card::MigrationsAck
                                    files=column.rollback_migrations.clone()
                                    what=format!("the rollback of {} to {to}", stage.label)
                                />
                                <super::card::DriftAck
                                    drift=column.drift.clone().map(|d| format!("{} {d}", stage.label))
                                    what=format!("the rollback of {} to {to}", stage.label)
                                />
                                <button type="submit" class="danger" aria-label=format!("Confirm rollback to {to} ({} of {}, from {from})", stage.label, ctx.pipeline_name)>
                                    {format!("Confirm rollback to {to}")}
                                </button>
                            </form>
                        </details>
                    }
                })}
            <p class="rules">
                <a href=format!("/pipelines/{}/stages/{}", ctx.pipeline, stage.id)>"History"</a>
                " · "
                {format!("Promoted by: {roles}")}
                {stage.fast_forward_only.then_some(" · fast-forward only")}
            </p>
            <CardList cards=column.cards ctx=ctx.clone() empty="No cards here." compact=false />
            {(column.hidden_superseded > 0)
                .then(|| {
                    view! {
                        <p class="hint">
                            <a href=format!("/pipelines/{}/stages/{}", ctx.pipeline, stage.id)>
                                {format!("{} older superseded SHAs: see the history", column.hidden_superseded)}
                            </a>
                        </p>
                    }
                })}
        </section>
    }
}

#[component]
fn CardList(cards: Vec<Card>, ctx: BoardCtx, empty: &'static str, compact: bool) -> impl IntoView {
    if cards.is_empty() {
        return view! { <p class="muted empty">{empty}</p> }.into_any();
    }
    view! {
        <ol class="cards">
            {cards.into_iter().map(|c| view! { <CardView card=c ctx=ctx.clone() compact=compact /> }).collect_view()}
        </ol>
    }
        .into_any()
}

/// A stage at a glance, under its heading: what runs there and since when, its health,
/// its deploy window, a lock and drift, as compact badges. Each says in words what its
/// colour says, and its full text is there for screen readers (and as a tooltip).
#[component]
fn Glance(column: StageColumn) -> impl IntoView {
    let label = column.stage.label.clone();
    let badge = |class: String, testid: &'static str, short: String, full: String| {
        let title = full.clone();
        view! {
            <li class=format!("glance {class}") data-testid=testid title=title>
                <span aria-hidden="true">{short}</span>
                <span class="visually-hidden">{full}</span>
            </li>
        }
    };
    view! {
        <ul class="glances" aria-label=format!("{label} at a glance")>
            {match column.stage.current.clone() {
                Some(c) => {
                    let short = c.sha.get(..7).unwrap_or_default().to_owned();
                    view! {
                        <li class="glance current" data-testid="current">
                            <ShaChip sha=c.sha.clone() short=short />
                        </li>
                        <li class="glance since" title=format!("Deployed by {}", c.by)>
                            {format!("since {} by {}", c.since, c.by)}
                            {c.retries.map(|r| view! { <span class="retries" data-testid="current-retries">{format!(" — {r}")}</span> })}
                        </li>
                    }
                        .into_any()
                }
                None => view! { <li class="glance empty" data-testid="current">"Nothing deployed yet"</li> }.into_any(),
            }}
            {column.health.clone().map(|h| {
                view! {
                    <li class=format!("glance health {}", h.status) data-testid="health" data-health=h.status.clone() title=h.text.clone()>
                        <span aria-hidden="true">{h.status.clone()}</span>
                        <span class="visually-hidden">{h.text.clone()}</span>
                    </li>
                }
            })}
            {column.window.clone().map(|w| {
                let (class, short) = if column.window_open { ("window open", "window open") } else { ("window closed", "window closed") };
                badge(class.into(), "window", short.into(), format!("Deploy window {w}"))
            })}
            {column.lock.clone().map(|l| badge("lock".into(), "glance-lock", "locked".into(), format!("Locked by {}: {}", l.by, l.reason)))}
            {column.drift.clone().map(|d| badge("drift".into(), "glance-drift", "drift".into(), format!("Drift: {d}")))}
            {column.freeze.clone().map(|f| badge("frozen".into(), "glance-freeze", "frozen".into(), format!("Frozen: {f}")))}
        </ul>
    }
}
