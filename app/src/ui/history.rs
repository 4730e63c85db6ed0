//! `/pipelines/:p/stages/:s` (a stage's deployment history) and
//! `/pipelines/:p/compare?from=&to=` ("what goes out").

use super::common::{ErrorPanel, Layout, ShaChip};
use crate::server_fns::{get_compare, get_stage_history};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use slipway_model::views::SignOffView;

/// The stage history page.
#[component]
pub fn StageHistoryPage() -> impl IntoView {
    let params = use_params_map();
    let key = move || {
        let p = params.read();
        (
            p.get("pipeline").unwrap_or_default(),
            p.get("stage").unwrap_or_default(),
        )
    };
    let data = Resource::new(key, |(p, s)| get_stage_history(p, s));
    view! {
        <Layout>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <Title text="History · Slipway" /><h1>"History"</h1><ErrorPanel error=e /> }.into_any(),
                        Ok(h) => {
                            let heading = format!("{} · {} history", h.pipeline_name, h.stage.label);
                            view! {
                                <Title text=format!("{heading} · Slipway") />
                                <h1 class=if h.stage.production { "production-title" } else { "" }>
                                    {heading}
                                    {h.stage.production.then(|| view! { <span class="badge prod">"PRODUCTION"</span> })}
                                </h1>
                                <p><a href=format!("/pipelines/{}", h.pipeline)>{format!("Back to the {} board", h.pipeline_name)}</a></p>
                                <table class="users history" data-testid="history">
                                    <thead>
                                        <tr>
                                            <th scope="col">"Deployment"</th>
                                            <th scope="col">"SHA"</th>
                                            <th scope="col">"Kind"</th>
                                            <th scope="col">"State"</th>
                                            <th scope="col">"By"</th>
                                            <th scope="col">"When"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {h
                                            .deployments
                                            .into_iter()
                                            .map(|r| {
                                                let d = r.deployment;
                                                let short = d.sha.get(..7).unwrap_or_default().to_owned();
                                                view! {
                                                    <tr>
                                                        <td><a href=format!("/deployments/{}", d.id)>{format!("#{}", d.id)}</a></td>
                                                        <td><ShaChip sha=d.sha.clone() short=short /></td>
                                                        <td>
                                                            {r.kind}
                                                            {r.reason.map(|x| format!(": {x}"))}
                                                            {r.checklist.map(|items| view! {
                                                                <span class="meta checklist-done" data-testid="checklist-done">
                                                                    {format!(" · confirmed: {}", items.join("; "))}
                                                                </span>
                                                            })}
                                                        </td>
                                                        <td>{d.state}</td>
                                                        <td>{d.by.unwrap_or_default()}</td>
                                                        <td>{d.age}</td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                                {h.asks_sign_off.then(|| view! { <SignOffList sign_offs=h.sign_offs.clone() /> })}
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </Layout>
    }
}

/// A stage's sign-offs, ended ones included.
#[component]
fn SignOffList(sign_offs: Vec<SignOffView>) -> impl IntoView {
    view! {
        <h2>"Sign-offs"</h2>
        {sign_offs.is_empty().then(|| view! { <p class="meta">"Nothing signed off here yet."</p> })}
        <ul class="sign-offs" data-testid="sign-offs">
            {sign_offs
                .into_iter()
                .map(|s| {
                    let short = s.sha.get(..7).unwrap_or_default().to_owned();
                    let ended = match s.state.as_str() {
                        "withdrawn" => format!(
                            " — withdrawn by {}: {}",
                            s.ended_by.clone().unwrap_or_default(),
                            s.end_reason.clone().unwrap_or_default()
                        ),
                        "voided" => format!(" — voided: {}", s.end_reason.clone().unwrap_or_default()),
                        _ => String::new(),
                    };
                    let note = s.note.map(|n| format!(": {n}")).unwrap_or_default();
                    let text = format!(" signed off by {} {}{note}{ended}", s.by, s.age);
                    view! {
                        <li data-state=s.state.clone()>
                            <ShaChip sha=s.sha.clone() short=short />
                            {text}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

/// The compare ("what goes out") page.
#[component]
pub fn ComparePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let key = move || {
        let q = query.read();
        (
            params.read().get("pipeline").unwrap_or_default(),
            q.get("from").unwrap_or_default(),
            q.get("to").unwrap_or_default(),
        )
    };
    let data = Resource::new(key, |(p, f, t)| get_compare(p, f, t));
    view! {
        <Layout>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <Title text="Compare · Slipway" /><h1>"What goes out"</h1><ErrorPanel error=e /> }.into_any(),
                        Ok(c) => {
                            let heading = format!("{}: what {} brings over {}", c.pipeline_name, &c.to[..7], &c.from[..7]);
                            let count = c.commits.len();
                            let files_heading = format!(
                                "{} file{} changed{}",
                                c.files_changed,
                                if c.files_changed == 1 { "" } else { "s" },
                                if c.files_changed > c.files.len() { format!(" (the first {} listed)", c.files.len()) } else { String::new() },
                            );
                            let files = c.files.clone();
                            view! {
                                <Title text=format!("{heading} · Slipway") />
                                <h1>{heading}</h1>
                                <p><a href=format!("/pipelines/{}", c.pipeline)>{format!("Back to the {} board", c.pipeline_name)}</a></p>
                                {(!c.descends).then(|| view! {
                                    <p class="panel error" role="alert">{format!("{} does not descend from {}: deploying it would also drop commits", &c.to[..7], &c.from[..7])}</p>
                                })}
                                <p>{format!("{count}{} first-parent commit{}", if c.truncated { "+" } else { "" }, if count == 1 { "" } else { "s" })}</p>
                                <ol class="cards compare" data-testid="compare">
                                    {c.commits.into_iter().map(|k| view! {
                                        <li class="card" data-sha=k.sha.clone()>
                                            <div class="card-head"><ShaChip sha=k.sha.clone() short=k.short.clone() /></div>
                                            <p class="subject">{k.subject}</p>
                                            <p class="meta">{format!("{} · {}", k.author, k.age)}</p>
                                        </li>
                                    }).collect_view()}
                                </ol>
                                <h2>{files_heading}</h2>
                                <ul class="files" data-testid="files">
                                    {files.into_iter().map(|f| view! { <li><code>{f}</code></li> }).collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </Layout>
    }
}
