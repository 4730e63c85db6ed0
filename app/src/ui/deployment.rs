//! `/deployments/:id`: one deployment, its state and its log. While it is active the
//! page reloads itself every two seconds (no JavaScript needed); live streaming
//! replaces that once server-sent events land.

use super::common::{ErrorPanel, Layout, ShaChip};
use crate::server_fns::get_deployment;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use slipway_model::views::{DeploymentView, LogLineView};
use slipway_model::DeploymentId;

/// The deployment page.
#[component]
pub fn DeploymentPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<DeploymentId>().ok())
            // No deployment has a negative id: the page answers "not found".
            .unwrap_or(DeploymentId(-1))
    };
    let data = Resource::new(id, get_deployment);
    // Log lines that arrived live since the page was rendered.
    let live_lines = RwSignal::new(Vec::<LogLineView>::new());
    Effect::new(move |_| {
        let this = id();
        let refresh = super::live::refresher(data, move || get_deployment(this));
        super::live::subscribe(
            None,
            &["log", "deployment", "resync"],
            move |kind, payload| {
                // Payloads are decoded with the model's types; one that does not decode
                // (a newer server, say) is treated like a resync.
                let event = slipway_model::live::LiveEvent::decode(kind, &payload).ok();
                match event {
                    Some(slipway_model::live::LiveEvent::Log(l)) => {
                        if l.deployment == this {
                            live_lines.update(|lines| {
                                lines.push(LogLineView {
                                    seq: l.seq,
                                    attempt: l.attempt,
                                    time: l.at,
                                    stream: l.stream,
                                    line: l.line,
                                })
                            });
                        }
                        return;
                    }
                    Some(slipway_model::live::LiveEvent::Deployment(d)) if d.deployment != this => {
                        return;
                    }
                    _ => {}
                }
                // A state change of this deployment, a resync, or the stream (re)opening.
                live_lines.set(Vec::new());
                refresh();
            },
        );
    });
    provide_context(live_lines);
    view! {
        <Layout>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => view! { <Deployment d=d /> }.into_any(),
                        Err(e) => {
                            view! {
                                <Title text="Deployment · Slipway" />
                                <h1>"Deployment"</h1>
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
fn Deployment(d: DeploymentView) -> impl IntoView {
    let dep = d.deployment.clone();
    let short = dep.sha.get(..7).unwrap_or_default().to_owned();
    let title = format!(
        "#{} {} → {} ({}) · Slipway",
        dep.id, short, d.stage_label, d.pipeline_name
    );
    let heading_class = if d.production {
        "deployment production"
    } else {
        "deployment"
    };
    let cancel_action = format!("/deployments/{}/cancel", dep.id);
    view! {
        <Title text=title />
        // Without JavaScript, an active deployment's page reloads itself.
        {d.active.then(|| view! { <noscript><meta http-equiv="refresh" content="2" /></noscript> })}
        <div class=heading_class>
            <h1>
                {format!("Deployment #{} · {} → {}", dep.id, d.pipeline_name, d.stage_label)}
                {d.production.then(|| view! { <span class="badge prod">"PRODUCTION"</span> })}
            </h1>
            <p>
                <a href=format!("/pipelines/{}", d.pipeline)>{format!("Back to the {} board", d.pipeline_name)}</a>
            </p>
            <dl class="facts">
                <dt>"State"</dt>
                <dd data-testid="state" class=format!("state {}", dep.state.replace(' ', "-"))>{dep.state.clone()}</dd>
                <dt>"Commit"</dt>
                <dd>
                    <ShaChip sha=dep.sha.clone() short=short.clone() />
                    {d.subject.clone().map(|s| format!(" {s}"))}
                </dd>
                <dt>"Kind"</dt>
                <dd>{d.kind.clone()}</dd>
                <dt>"Previous SHA"</dt>
                <dd>{d.previous_sha.clone().unwrap_or_else(|| "none".into())}</dd>
                <dt>"Requested"</dt>
                <dd>{format!("{} by {}", dep.age, dep.by.clone().unwrap_or_else(|| "unknown".into()))}</dd>
                <dt>"Exit code"</dt>
                <dd>{d.exit_code.map_or_else(|| "—".to_owned(), |c| c.to_string())}</dd>
                {dep.retries.clone().map(|note| view! {
                    <dt>"Attempts"</dt>
                    <dd data-testid="retries">{note}</dd>
                })}
                {d.checklist.clone().map(|items| view! {
                    <dt>"Confirmed"</dt>
                    <dd data-testid="checklist-done">{items.join("; ")}</dd>
                })}
                {d.drift_overwritten.clone().map(|text| view! {
                    <dt>"Drift"</dt>
                    <dd data-testid="drift-overwritten">{format!("Overwrote {text} (acknowledged)")}</dd>
                })}
                {d.migrations.clone().map(|m| view! {
                    <dt>"Migrations"</dt>
                    <dd data-testid="migrations-acknowledged">
                        "Acknowledged as tested against a copy of production data: "
                        {m.files.join(", ")}
                        {m.note.map(|n| format!(" — {n}"))}
                    </dd>
                })}
            </dl>
            {d
                .can_cancel
                .then(|| {
                    view! {
                        <form method="post" action=cancel_action>
                            <button type="submit" class="danger" aria-label=format!("Cancel deployment #{} to {}", dep.id, d.stage_label)>
                                "Cancel deployment"
                            </button>
                        </form>
                    }
                })}
        </div>
        <h2>"Log"</h2>
        {(d.log_lines > d.log.len() as i64).then(|| {
            let shown = d.log.len();
            let api = format!("/api/v1/deployments/{}/log", dep.id);
            view! {
                <p class="muted" data-testid="log-truncated">
                    {format!("Showing the last {shown} of {} lines; ", d.log_lines)}
                    <code>{format!("GET {api}?after=0")}</code>
                    " pages through all of them."
                </p>
            }
        })}
        {move || {
            let last = d.log.last().map_or(0, |l| l.seq);
            let live: Vec<LogLineView> = use_context::<RwSignal<Vec<LogLineView>>>()
                .map(|s| s.get())
                .unwrap_or_default()
                .into_iter()
                .filter(|l| l.seq > last)
                .collect();
            let mut all = d.log.clone();
            all.extend(live);
            log_view(all)
        }}
    }
}

fn log_view(log: Vec<LogLineView>) -> impl IntoView {
    view! {
        {if log.is_empty() {
            view! { <p class="muted">"No output yet."</p> }.into_any()
        } else {
            view! {
                <ol class="log" data-testid="log">
                    {log
                        .into_iter()
                        .scan(1, |attempt, l| {
                            // A heading where a retried attempt's own log begins.
                            let heading = (l.attempt != *attempt).then_some(l.attempt);
                            *attempt = l.attempt;
                            Some((heading, l))
                        })
                        .map(|(heading, l)| {
                            view! {
                                {heading.map(|n| view! {
                                    <li class="log-attempt" data-attempt=n>{format!("Attempt {n}")}</li>
                                })}
                                <li class=format!("log-line {}", l.stream) data-seq=l.seq data-attempt=l.attempt>
                                    <time>{l.time}</time>
                                    " "
                                    <span class="text">{l.line}</span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
            }
                .into_any()
        }}
    }
}
