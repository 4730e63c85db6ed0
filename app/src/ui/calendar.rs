//! `/pipelines/:pipeline/calendar`: this week and the next, per stage — deploy windows,
//! freezes, approved slots and the deployments that started — with today marked, and
//! (for ops) the freezes' forms.

use super::common::{ErrorPanel, Layout};
use super::freezes::FreezesPanel;
use crate::server_fns::get_calendar;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use slipway_model::views::{CalendarCell, CalendarView};

/// The calendar page.
#[component]
pub fn CalendarPage() -> impl IntoView {
    let params = use_params_map();
    let pipeline = move || params.read().get("pipeline").unwrap_or_default();
    let data = Resource::new(pipeline, get_calendar);
    view! {
        <Layout>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(c) => view! { <Calendar c=c /> }.into_any(),
                        Err(e) => view! { <Title text="Calendar · Slipway" /><h1>"Calendar"</h1><ErrorPanel error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </Layout>
    }
}

#[component]
fn Calendar(c: CalendarView) -> impl IntoView {
    let heading = format!("{} calendar", c.pipeline_name);
    let weeks: Vec<(usize, &'static str)> = vec![(0, "This week"), (7, "Next week")];
    let stages_for_form: Vec<(String, String)> = c
        .stages
        .iter()
        .map(|s| (s.id.clone(), s.label.clone()))
        .collect();
    view! {
        <Title text=format!("{heading} · Slipway") />
        <h1>{heading.clone()}</h1>
        <p>
            <a href=format!("/pipelines/{}", c.pipeline)>{format!("Back to the {} board", c.pipeline_name)}</a>
        </p>
        <p class="now" data-testid="now">{format!("Now: {} (times in {})", c.now, c.zone)}</p>
        {weeks
            .into_iter()
            .map(|(offset, title)| {
                let days: Vec<_> = c.days.iter().skip(offset).take(7).cloned().collect();
                view! {
                    <h2>{title}</h2>
                    <table class="calendar" data-testid="calendar">
                        <thead>
                            <tr>
                                <th scope="col">"Stage"</th>
                                {days
                                    .iter()
                                    .map(|d| {
                                        view! {
                                            <th scope="col" class=if d.today { "today" } else { "" }>
                                                {d.label.clone()}
                                                {d.today.then(|| view! { <span class="badge current">"today"</span> })}
                                            </th>
                                        }
                                    })
                                    .collect_view()}
                            </tr>
                        </thead>
                        <tbody>
                            {c
                                .stages
                                .iter()
                                .map(|s| {
                                    let cells: Vec<(CalendarCell, bool)> = s
                                        .cells
                                        .iter()
                                        .skip(offset)
                                        .take(7)
                                        .cloned()
                                        .zip(days.iter().map(|d| d.today))
                                        .collect();
                                    let has_windows = s.has_windows;
                                    view! {
                                        <tr data-stage=s.id.clone() class=if s.production { "production" } else { "" }>
                                            <th scope="row">{s.label.clone()}</th>
                                            {cells
                                                .into_iter()
                                                .map(|(cell, today)| view! { <Cell cell=cell today=today has_windows=has_windows /> })
                                                .collect_view()}
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
            })
            .collect_view()}
        <FreezesPanel
            freezes=c.freezes.clone()
            can_manage=c.can_manage_freezes
            pipeline=c.pipeline.clone()
            stages=stages_for_form
            page="calendar"
        />
    }
}

#[component]
fn Cell(cell: CalendarCell, today: bool, has_windows: bool) -> impl IntoView {
    view! {
        <td class=if today { "today" } else { "" }>
            {if has_windows && cell.windows.is_empty() {
                view! { <p class="closed">"closed"</p> }.into_any()
            } else {
                cell.windows
                    .into_iter()
                    .map(|w| view! { <p class="open">{format!("open {w}")}</p> })
                    .collect_view()
                    .into_any()
            }}
            {cell.freezes.into_iter().map(|f| view! { <p class="frozen">{format!("frozen {f}")}</p> }).collect_view()}
            {cell.slots.into_iter().map(|s| view! { <p class="slot">{format!("slot {s}")}</p> }).collect_view()}
            {cell
                .deployments
                .into_iter()
                .map(|d| view! { <p class="deployed"><a href=format!("/deployments/{}", d.id)>{format!("#{} {}", d.id, d.text)}</a></p> })
                .collect_view()}
        </td>
    }
}
