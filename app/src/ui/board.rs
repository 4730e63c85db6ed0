//! `/pipelines/:pipeline`: the board. A *Commits* lane (the branch's recent
//! first-parent commits), the built-in *Ready* column, then one column per stage.

use super::common::{ErrorPanel, Layout, ShaChip};
use crate::server_fns::get_board;
use crate::views::{BoardView, CommitCard, StageSummary};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// The board page.
#[component]
pub fn BoardPage() -> impl IntoView {
    let params = use_params_map();
    let pipeline = move || params.read().get("pipeline").unwrap_or_default();
    let board = Resource::new(pipeline, get_board);
    view! {
        <Layout>
            <Suspense fallback=|| view! { <p>"Loading board…"</p> }>
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
            </Suspense>
        </Layout>
    }
}

#[component]
fn Board(board: BoardView) -> impl IntoView {
    let name = board.pipeline.name.clone();
    let id = board.pipeline.id.clone();
    let refresh_action = format!("/pipelines/{id}/refresh");
    let commits_count = board.commits.len();
    view! {
        <Title text=format!("{name} board · Slipway") />
        <div class="board-head">
            <h1>
                <span class="muted">"Board · "</span>
                {name.clone()}
            </h1>
            <p class="repo">
                "Branch " <code>{board.branch.clone()}</code> " of " <code>{board.repository.clone()}</code>
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
        <div class="board" data-testid="board">
            <section class="column commits" aria-labelledby="col-commits">
                <h2 id="col-commits">
                    "Commits" <span class="count">{commits_count}</span>
                </h2>
                <p class="hint">{format!("Recent first-parent commits of {}", board.branch)}</p>
                <CardList cards=board.commits.clone() empty="No commits on this branch yet." />
            </section>
            <section class="column ready" aria-labelledby="col-ready">
                <h2 id="col-ready">"Ready"</h2>
                <p class="hint">"Marked ready, not deployed yet"</p>
                <CardList cards=board.ready.clone() empty="Nothing is marked ready." />
            </section>
            {board
                .pipeline
                .stages
                .into_iter()
                .map(|s| view! { <StageColumn stage=s pipeline=name.clone() /> })
                .collect_view()}
        </div>
    }
}

#[component]
fn StageColumn(stage: StageSummary, pipeline: String) -> impl IntoView {
    let heading_id = format!("col-stage-{}", stage.id);
    let labelled_by = heading_id.clone();
    let class = if stage.production {
        "column stage production"
    } else {
        "column stage"
    };
    let roles = stage.promote_roles.join(", ");
    view! {
        <section class=class aria-labelledby=labelled_by data-stage=stage.id.clone()>
            <h2 id=heading_id>
                {stage.label.clone()}
                {stage.production.then(|| view! { <span class="badge prod">"PRODUCTION"</span> })}
            </h2>
            <p class="hint">{format!("{pipeline} · {}", stage.label)}</p>
            <div class="current">
                {match stage.current {
                    Some(c) => {
                        let short = c.sha.get(..7).unwrap_or_default().to_owned();
                        view! {
                            <p>
                                "Current " <ShaChip sha=c.sha.clone() short=short />
                                {format!(" since {} by {}", c.since, c.by)}
                            </p>
                        }
                            .into_any()
                    }
                    None => view! { <p class="muted">"Nothing deployed yet"</p> }.into_any(),
                }}
            </div>
            <p class="rules">
                {format!("Promoted by: {roles}")}
                {stage.fast_forward_only.then_some(" · fast-forward only")}
            </p>
        </section>
    }
}

#[component]
fn CardList(cards: Vec<CommitCard>, empty: &'static str) -> impl IntoView {
    if cards.is_empty() {
        return view! { <p class="muted empty">{empty}</p> }.into_any();
    }
    view! {
        <ol class="cards">
            {cards
                .into_iter()
                .map(|c| {
                    view! {
                        <li class="card" data-sha=c.sha.clone()>
                            <div class="card-head">
                                <ShaChip sha=c.sha.clone() short=c.short.clone() />
                                {c.is_merge.then(|| view! { <span class="badge">"merge"</span> })}
                            </div>
                            <p class="subject">{c.subject}</p>
                            <p class="meta">{format!("{} · {}", c.author, c.age)}</p>
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
    .into_any()
}
