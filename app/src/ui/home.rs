//! `/`: every pipeline with each stage's current SHA.

use super::common::{ErrorPanel, Layout};
use crate::server_fns::get_home;
use leptos::prelude::*;
use leptos_meta::Title;
use slipway_model::views::StageSummary;

/// The home page.
#[component]
pub fn HomePage() -> impl IntoView {
    let home = Resource::new(|| (), |_| get_home());
    view! {
        <Title text="Pipelines · Slipway" />
        <Layout>
            <h1>"Pipelines"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match home.await {
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                        Ok(h) if h.pipelines.is_empty() => {
                            view! {
                                <p class="panel">
                                    "No pipelines are configured. Add a [[pipelines]] section to slipway.toml."
                                </p>
                            }
                                .into_any()
                        }
                        Ok(h) => {
                            view! {
                                <ul class="pipelines">
                                    {h
                                        .pipelines
                                        .into_iter()
                                        .map(|p| {
                                            let href = format!("/pipelines/{}", p.id);
                                            view! {
                                                <li class="pipeline">
                                                    <h2>
                                                        <a href=href>{p.name.clone()}</a>
                                                    </h2>
                                                    <table class="stages">
                                                        <caption class="visually-hidden">
                                                            {format!("Current SHA per stage of {}", p.name)}
                                                        </caption>
                                                        <thead>
                                                            <tr>
                                                                <th scope="col">"Stage"</th>
                                                                <th scope="col">"Current SHA"</th>
                                                            </tr>
                                                        </thead>
                                                        <tbody>
                                                            {p.stages.into_iter().map(stage_row).collect_view()}
                                                        </tbody>
                                                    </table>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
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

fn stage_row(s: StageSummary) -> impl IntoView {
    let class = if s.production { "production" } else { "" };
    view! {
        <tr class=class>
            <th scope="row">
                {s.label}
                {s.production.then(|| view! { <span class="badge prod">"PRODUCTION"</span> })}
            </th>
            <td>
                {match s.current {
                    Some(c) => {
                        view! {
                            <code title=c.sha.clone()>{c.sha.get(..7).unwrap_or_default().to_owned()}</code>
                            " "
                            {format!("since {} by {}", c.since, c.by)}
                        }
                            .into_any()
                    }
                    None => view! { <span class="muted">"nothing deployed yet"</span> }.into_any(),
                }}
            </td>
        </tr>
    }
}
