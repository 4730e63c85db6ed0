//! Freezes in force or to come, as the board and the API list them: the config's and
//! those ops declared.

use super::rfc3339;
use crate::config::PipelineConfig;
use crate::Services;
use slipway_model::error::AppError;
use slipway_model::views::FreezeView;
use time::OffsetDateTime;

/// A pipeline's freezes that end after `now`, by start.
pub async fn freeze_views(
    state: &Services,
    p: &PipelineConfig,
    now: OffsetDateTime,
) -> Result<Vec<FreezeView>, AppError> {
    let stored = state.storage.freezes(&p.id, now).await?;
    let mut views: Vec<(OffsetDateTime, FreezeView)> = p
        .freezes
        .iter()
        .filter(|f| f.until > now)
        .map(|f| {
            (
                f.from,
                FreezeView {
                    id: None,
                    stages: f.stages.iter().map(ToString::to_string).collect(),
                    from: rfc3339(f.from),
                    until: rfc3339(f.until),
                    reason: f.reason.clone(),
                    by: None,
                    source: None,
                    in_force: f.from <= now,
                },
            )
        })
        .chain(stored.into_iter().map(|f| {
            (
                f.from,
                FreezeView {
                    id: Some(f.id),
                    stages: f.stages,
                    from: rfc3339(f.from),
                    until: rfc3339(f.until),
                    reason: f.reason,
                    by: f.by,
                    source: f.source,
                    in_force: f.from <= now,
                },
            )
        }))
        .collect();
    views.sort_by_key(|(from, _)| *from);
    Ok(views.into_iter().map(|(_, v)| v).collect())
}
