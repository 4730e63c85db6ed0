//! `/pipelines/:pipeline`: the board. A *Commits* lane (the branch's recent
//! first-parent commits), the built-in *Ready* column, then one column per stage.

use super::card::CardView;
use super::common::{ErrorPanel, Layout, ShaChip};
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
    // Every open board follows changes live: reload its data on any board event.
    // Every open board follows changes live: reload its data on any board event (and
    // when the stream opens, to catch what happened while the page loaded).
    Effect::new(move |_| {
        let id = pipeline();
        let refresh = super::live::refresher(board, {
            let id = id.clone();
            move || get_board(id.clone())
        });
        super::live::subscribe(Some(id), &["board", "deployment", "resync"], move |_, _| {
            refresh()
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
        </Layout>
    }
}

#[component]
fn Board(board: BoardView) -> impl IntoView {
    let name = board.pipeline.name.clone();
    let id = board.pipeline.id.clone();
    let refresh_action = format!("/pipelines/{id}/refresh");
    let commits_count = board.commits.len();
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
            <section class="column commits" aria-labelledby="col-commits">
                <h2 id="col-commits">
                    "Commits" <span class="count">{commits_count}</span>
                </h2>
                <p class="hint">{format!("Recent first-parent commits of {}", board.branch)}</p>
                <CardList cards=board.commits.clone() ctx=ctx.clone() empty="No new commits on this branch." />
            </section>
            <section class="column ready" aria-labelledby="col-ready">
                <h2 id="col-ready">"Ready"</h2>
                <p class="hint">"Marked ready, not deployed yet"</p>
                <CardList cards=board.ready.clone() ctx=ctx.clone() empty="Nothing is marked ready." />
            </section>
            {board
                .stages
                .into_iter()
                .map(|s| view! { <StageColumnView column=s ctx=ctx.clone() /> })
                .collect_view()}
        </div>
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
fn StageColumnView(column: StageColumn, ctx: BoardCtx) -> impl IntoView {
    let stage = column.stage.clone();
    let heading_id = format!("col-stage-{}", stage.id);
    let labelled_by = heading_id.clone();
    let class = if stage.production {
        "column stage production"
    } else {
        "column stage"
    };
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
            {column
                .health
                .clone()
                .map(|h| {
                    view! {
                        <p class=format!("health {}", h.status) data-testid="health" data-health=h.status.clone()>
                            {h.text}
                        </p>
                    }
                })}
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
                .window
                .clone()
                .map(|w| {
                    let class = if column.window_open { "window open" } else { "window closed" };
                    view! { <p class=class data-testid="window">{format!("Deploy window {w}")}</p> }
                })}
            {column
                .freeze
                .clone()
                .map(|f| view! { <p class="panel freeze" role="status" data-testid="freeze">{format!("Frozen: {f}")}</p> })}
            <div class="current" data-testid="current">
                {match stage.current.clone() {
                    Some(c) => {
                        let short = c.sha.get(..7).unwrap_or_default().to_owned();
                        // A <div>, not a <p>: <details> inside <p> is invalid HTML, and the
                        // browser's repair of it breaks hydration.
                        view! {
                            <div class="current-line">
                                <span>"Current "</span>
                                <ShaChip sha=c.sha.clone() short=short />
                                <span>{format!(" since {} by {}", c.since, c.by)}</span>
                                {c.retries.map(|r| view! { <span class="retries" data-testid="current-retries">{format!(" — {r}")}</span> })}
                            </div>
                        }
                            .into_any()
                    }
                    None => view! { <p class="muted">"Nothing deployed yet"</p> }.into_any(),
                }}
            </div>
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
                                <button type="submit" class="danger" aria-label=what>
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
            <CardList cards=column.cards ctx=ctx.clone() empty="No cards here." />
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
fn CardList(cards: Vec<Card>, ctx: BoardCtx, empty: &'static str) -> impl IntoView {
    if cards.is_empty() {
        return view! { <p class="muted empty">{empty}</p> }.into_any();
    }
    view! {
        <ol class="cards">
            {cards.into_iter().map(|c| view! { <CardView card=c ctx=ctx.clone() /> }).collect_view()}
        </ol>
    }
        .into_any()
}
