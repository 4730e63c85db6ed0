//! `/admin/audit`: the audit log, filterable by exact field values, exportable as JSON
//! lines. Admins only (the server function enforces it).

use super::common::{ErrorPanel, Layout};
use crate::server_fns::{get_audit, get_deliveries};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The audit page.
#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let field = move |name: &str| query.read().get(name).filter(|v| !v.is_empty());
    let filters = move || {
        (
            field("actor"),
            field("action"),
            field("pipeline"),
            field("outcome"),
            field("before").and_then(|b| b.parse::<i64>().ok()),
        )
    };
    let rows = Resource::new(filters, |(actor, action, pipeline, outcome, before)| {
        get_audit(actor, action, pipeline, outcome, before)
    });
    let export = move || {
        let q = query.read();
        let pairs: Vec<String> = ["actor", "action", "pipeline", "outcome"]
            .iter()
            .filter_map(|k| {
                q.get(k)
                    .filter(|v| !v.is_empty())
                    .map(|v| format!("{k}={}", js_free_encode(&v)))
            })
            .collect();
        format!("/admin/audit.jsonl?{}", pairs.join("&"))
    };
    view! {
        <Title text="Audit log · Administration · Slipway" />
        <Layout>
            <h1>"Audit log"</h1>
            <form method="get" action="/admin/audit" class="filters">
                {["actor", "action", "pipeline", "outcome"]
                    .into_iter()
                    .map(|name| {
                        view! {
                            <label>
                                {name}
                                " "
                                <input name=name value=move || field(name).unwrap_or_default() />
                            </label>
                        }
                    })
                    .collect_view()}
                <button type="submit">"Filter"</button>
                <a href=export>"Export as JSON lines"</a>
            </form>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match rows.await {
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                        Ok(rows) if rows.is_empty() => view! { <p class="muted">"No entries match."</p> }.into_any(),
                        Ok(rows) => {
                            let older = rows.last().map(|r| r.id);
                            view! {
                                <table class="users audit" data-testid="audit">
                                    <thead>
                                        <tr>
                                            <th scope="col">"Time (UTC)"</th>
                                            <th scope="col">"Actor"</th>
                                            <th scope="col">"Action"</th>
                                            <th scope="col">"Target"</th>
                                            <th scope="col">"Outcome"</th>
                                            <th scope="col">"Detail"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {rows
                                            .into_iter()
                                            .map(|r| {
                                                let target = [r.pipeline.clone(), r.stage.clone(), r.sha.as_ref().map(|s| s.chars().take(7).collect()), r.target.clone()]
                                                    .into_iter()
                                                    .flatten()
                                                    .collect::<Vec<String>>()
                                                    .join(" · ");
                                                view! {
                                                    <tr>
                                                        <td>{r.at}</td>
                                                        <td>{r.actor.unwrap_or_else(|| "slipway".into())}</td>
                                                        <td>{r.action}</td>
                                                        <td>{target}</td>
                                                        <td class=format!("outcome {}", r.outcome)>{r.outcome.clone()}</td>
                                                        <td>{r.detail.unwrap_or_default()}</td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                                {older.map(|id| view! { <p><a href=format!("/admin/audit?before={id}")>"Older entries"</a></p> })}
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
            <h2>"Webhook deliveries"</h2>
            <Deliveries />
        </Layout>
    }
}

/// The newest outgoing webhook deliveries, with their attempts and what the last one got.
#[component]
fn Deliveries() -> impl IntoView {
    let rows = Resource::new(|| (), |()| get_deliveries());
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match rows.await {
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                    Ok(rows) if rows.is_empty() => {
                        view! { <p class="muted">"No webhook deliveries yet (webhooks are configured per pipeline)."</p> }.into_any()
                    }
                    Ok(rows) => {
                        view! {
                            <table class="users audit" data-testid="deliveries">
                                <thead>
                                    <tr>
                                        <th scope="col">"Time (UTC)"</th>
                                        <th scope="col">"Webhook"</th>
                                        <th scope="col">"Event"</th>
                                        <th scope="col">"State"</th>
                                        <th scope="col">"Attempts"</th>
                                        <th scope="col">"Last answer"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {rows
                                        .into_iter()
                                        .map(|d| {
                                            let state = match &d.next_attempt {
                                                Some(next) => format!("{} (next attempt {next})", d.state),
                                                None => d.state.clone(),
                                            };
                                            view! {
                                                <tr data-delivery=d.id>
                                                    <td>{d.at}</td>
                                                    <td title=d.url>{format!("{} · {}", d.pipeline, d.webhook)}</td>
                                                    <td>{d.event}</td>
                                                    <td class=format!("outcome {}", d.state)>{state}</td>
                                                    <td>{d.attempts}</td>
                                                    <td>{d.last_result.unwrap_or_default()}</td>
                                                </tr>
                                            }
                                        })
                                        .collect_view()}
                                </tbody>
                            </table>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// Percent-encodes a query value (no JavaScript needed, so it renders the same on both sides).
fn js_free_encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
