//! `/pipelines/:pipeline/insights?days=7|30|90`: the four DORA keys of each production
//! stage, each with its daily chart, drawn on the server as SVG (no script needed).

use super::common::{ErrorPanel, Layout};
use crate::server_fns::get_insights;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use slipway_model::time_fmt::span;
use slipway_model::views::{
    DayCount, InsightsView, StageInsights, DEFAULT_INSIGHT_DAYS, INSIGHT_WINDOWS,
};

/// The insights page.
#[component]
pub fn InsightsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let key = move || {
        let days = query
            .read()
            .get("days")
            .map_or(Ok(DEFAULT_INSIGHT_DAYS), |d| d.parse::<i64>());
        // A malformed number asks for a window no one has, so the server says which exist.
        (
            params.read().get("pipeline").unwrap_or_default(),
            days.unwrap_or(-1),
        )
    };
    let data = Resource::new(key, |(p, days)| get_insights(p, days));
    view! {
        <Layout>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(v) => view! { <Insights v=v /> }.into_any(),
                        Err(e) => view! { <Title text="Insights · Slipway" /><h1>"Insights"</h1><ErrorPanel error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </Layout>
    }
}

#[component]
fn Insights(v: InsightsView) -> impl IntoView {
    let heading = format!("{} insights", v.name);
    let board = format!("/pipelines/{}", v.pipeline);
    let windows = INSIGHT_WINDOWS
        .iter()
        .map(|&d| {
            let href = format!("/pipelines/{}/insights?days={d}", v.pipeline);
            let label = format!("{d} days");
            view! {
                <li>
                    <a href=href aria-current=(d == v.days).then_some("page")>{label}</a>
                </li>
            }
        })
        .collect_view();
    let empty = v.stages.is_empty().then(|| {
        view! { <p>"This pipeline has no production stage (set `production = true` on one)."</p> }
    });
    let days = v.days;
    view! {
        <Title text=format!("{heading} · Slipway") />
        <h1>{heading.clone()}</h1>
        <p><a href=board>{format!("Back to the {} board", v.name)}</a></p>
        <nav aria-label="Window">
            <ul class="windows">{windows}</ul>
        </nav>
        {empty}
        {v.stages.into_iter().map(|s| view! { <StageKeys s=s days=days /> }).collect_view()}
    }
}

#[component]
fn StageKeys(s: StageInsights, days: i64) -> impl IntoView {
    let frequency = format!(
        "{} in {days} days ({:.1} a day)",
        count(s.deployments, "deployment"),
        s.deployments_per_day
    );
    let or_none = |secs: Option<i64>| secs.map_or_else(|| "no deployment yet".to_owned(), span);
    let lead = format!(
        "{} from commit; {} from ready",
        or_none(s.lead_time_from_commit_seconds),
        or_none(s.lead_time_from_ready_seconds)
    );
    let failure_rate = match s.change_failure_rate {
        Some(r) => format!(
            "{:.0} % ({} of {} changes failed or were rolled back)",
            r * 100.0,
            s.failed_changes,
            s.changes
        ),
        None => "no change in this window".to_owned(),
    };
    let restore = match (s.time_to_restore_seconds, s.failed_changes) {
        (_, 0) => "nothing to restore".to_owned(),
        (None, _) => "not restored yet".to_owned(),
        (Some(t), _) => format!("{} (median of {} restored)", span(t), s.restored),
    };
    let cut = s.truncated.then(|| {
        view! { <p class="note">"More deployments than insights read: the oldest 2,000 of the window are counted."</p> }
    });
    view! {
        <section class="insights" data-testid=format!("insights-{}", s.stage)>
            <h2>{s.label.clone()}</h2>
            <dl class="keys">
                <dt>"Deployment frequency"</dt>
                <dd data-testid="frequency">{frequency}</dd>
                <dt>"Lead time for changes (median)"</dt>
                <dd data-testid="lead-time">{lead}</dd>
                <dt>"Change failure rate"</dt>
                <dd data-testid="failure-rate">{failure_rate}</dd>
                <dt>"Time to restore (median)"</dt>
                <dd data-testid="restore">{restore}</dd>
            </dl>
            {cut}
            <DailyChart days=s.daily label=s.label />
        </section>
    }
}

/// Bars per day: deployments, with the day's failures drawn over them in the failure
/// colour and named in each bar's title (colour is never the only signal).
#[component]
fn DailyChart(days: Vec<DayCount>, label: String) -> impl IntoView {
    const HEIGHT: usize = 80;
    const BAR: usize = 8;
    let most = days
        .iter()
        .map(|d| d.deployments.max(d.failures))
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |n: usize| n * HEIGHT / most;
    let width = days.len() * BAR;
    let total: usize = days.iter().map(|d| d.deployments).sum();
    let failed: usize = days.iter().map(|d| d.failures).sum();
    let summary = format!(
        "{label}: {} and {} over {} days",
        count(total, "deployment"),
        count(failed, "failure"),
        days.len()
    );
    let bars = days
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let x = (i * BAR).to_string();
            let deployed = scale(d.deployments);
            let failures = scale(d.failures);
            let title = format!(
                "{}: {}, {}",
                d.date,
                count(d.deployments, "deployment"),
                count(d.failures, "failure")
            );
            view! {
                <g>
                    <title>{title}</title>
                    <rect class="bar" x=x.clone() y=(HEIGHT - deployed).to_string() width=(BAR - 2).to_string() height=deployed.to_string() />
                    <rect class="bar failed" x=x y=(HEIGHT - failures).to_string() width=(BAR - 2).to_string() height=failures.to_string() />
                </g>
            }
        })
        .collect_view();
    view! {
        <svg class="chart" role="img" aria-label=summary viewBox=format!("0 0 {width} {HEIGHT}") width=width.to_string() height=HEIGHT.to_string() data-testid="daily-chart">
            {bars}
        </svg>
    }
}

/// `1 deployment`, `3 deployments`.
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}
