//! A pipeline's calendar: this week and the next, per stage — open windows, freezes,
//! approved slots and the deployments that started — drawn in the zone of the first
//! stage with windows (else UTC), with today marked.

use super::freezes::freeze_views;
use crate::authz::authorize;
use crate::calendar;
use crate::config::PipelineConfig;
use crate::store::{RequestState, User};
use crate::Services;
use slipway_model::error::AppError;
use slipway_model::views::{
    CalendarCell, CalendarDay, CalendarDeployment, CalendarStage, CalendarView,
};
use slipway_model::Action;
use time::OffsetDateTime;

/// How many days the calendar shows.
const DAYS: i64 = 14;

/// The calendar of `p`, as `user` may act on it.
pub async fn calendar(
    state: &Services,
    user: &User,
    p: &PipelineConfig,
) -> Result<CalendarView, AppError> {
    authorize(user, Action::View)?;
    let now = state.now();
    let zone = p
        .stages
        .iter()
        .find_map(|s| s.windows.first())
        .map_or(chrono_tz::UTC, calendar::Window::zone);
    let bounds = calendar::local_days(now, zone, DAYS);
    let (Some(first), Some(last)) = (bounds.first(), bounds.last()) else {
        return Err(AppError::Internal);
    };
    let (start, _end) = (first.0, last.0);
    let stored = state.storage.freezes(&p.id, start).await?;
    let requests = state.storage.approval_requests(&p.id, None).await?;
    let hm = |t: OffsetDateTime| calendar::local_time(t, zone);
    let span = |a: OffsetDateTime, b: OffsetDateTime| format!("{}–{}", hm(a), hm(b));
    let days: Vec<(OffsetDateTime, OffsetDateTime)> =
        bounds.windows(2).map(|w| (w[0].0, w[1].0)).collect();
    let mut stages = Vec::new();
    for stage in &p.stages {
        let history = state.storage.stage_history(&p.id, &stage.id, 500).await?;
        let mut cells = Vec::new();
        for &(day, next) in &days {
            let clip = |a: OffsetDateTime, b: OffsetDateTime| {
                (a < next && b > day).then(|| (a.max(day), b.min(next)))
            };
            let mut cell = CalendarCell::default();
            if !stage.windows.is_empty() {
                cell.windows = calendar::open_spans(&stage.windows, day, next)
                    .into_iter()
                    .map(|(a, b)| span(a, b))
                    .collect();
            }
            let configured = p
                .freezes
                .iter()
                .filter(|f| f.stages.is_empty() || f.stages.contains(&stage.id))
                .map(|f| (f.from, f.until, f.reason.clone()));
            let declared = stored
                .iter()
                .filter(|f| f.closes(stage.id.as_str()))
                .map(|f| (f.from, f.until, f.reason.clone()));
            cell.freezes = configured
                .chain(declared)
                .filter_map(|(a, b, reason)| {
                    clip(a, b).map(|(a, b)| format!("{} {reason}", span(a, b)))
                })
                .collect();
            cell.slots = requests
                .iter()
                .filter(|r| {
                    r.stage == stage.id.as_str()
                        && matches!(r.state, RequestState::Approved | RequestState::Consumed)
                })
                .filter_map(|r| {
                    let (a, b) = r.slot?;
                    let (a, b) = clip(a, b)?;
                    Some(format!(
                        "{} {} approved by {}",
                        span(a, b),
                        r.sha.short(),
                        r.decided_by.clone().unwrap_or_default()
                    ))
                })
                .collect();
            cell.deployments = history
                .iter()
                .filter(|d| d.created_at >= day && d.created_at < next)
                .map(|d| CalendarDeployment {
                    id: d.id,
                    text: format!("{} {} {}", hm(d.created_at), d.sha.short(), d.state.label()),
                })
                .collect();
            cells.push(cell);
        }
        stages.push(CalendarStage {
            id: stage.id.to_string(),
            label: stage.label.clone(),
            production: stage.production,
            has_windows: !stage.windows.is_empty(),
            cells,
        });
    }
    Ok(CalendarView {
        pipeline: p.id.to_string(),
        pipeline_name: p.name.clone(),
        zone: zone.name().to_owned(),
        now: calendar::local_label(now, zone),
        days: days
            .iter()
            .zip(&bounds)
            .map(|(&(day, next), (_, label))| CalendarDay {
                label: label.clone(),
                today: day <= now && now < next,
            })
            .collect(),
        stages,
        freezes: freeze_views(state, p, now).await?,
        can_manage_freezes: authorize(user, Action::ManageFreezes).is_ok(),
    })
}
