//! A pipeline's delivery insights: the four DORA keys of each production stage over
//! 7, 30 and 90 days, with the daily counts their charts draw.

use serde::{Deserialize, Serialize};

/// The windows insights are computed over, in days.
pub const INSIGHT_WINDOWS: [i64; 3] = [7, 30, 90];

/// The window when a request names none (the page and the API alike).
pub const DEFAULT_INSIGHT_DAYS: i64 = 30;

/// The insights page and `GET /api/v1/pipelines/{p}/insights`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InsightsView {
    /// Pipeline config id.
    pub pipeline: String,
    /// Display name.
    pub name: String,
    /// The window shown, in days (7, 30 or 90).
    pub days: i64,
    /// One per production stage, in promotion order.
    pub stages: Vec<StageInsights>,
}

/// One production stage's keys over the window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageInsights {
    /// Stage config id.
    pub stage: String,
    /// Its label.
    pub label: String,
    /// Successful promotions finished in the window, and per day.
    pub deployments: usize,
    pub deployments_per_day: f64,
    /// Median seconds from the deployed commit's commit time to the end of its
    /// deployment; `null` without a deployment whose commit time is known.
    pub lead_time_from_commit_seconds: Option<i64>,
    /// Median seconds from the commit's ready mark to the end of its deployment.
    pub lead_time_from_ready_seconds: Option<i64>,
    /// Promotions that ended in the window with a verdict (succeeded, failed, timed
    /// out), and how many of them failed or were rolled back.
    pub changes: usize,
    pub failed_changes: usize,
    /// `failed_changes / changes`, `null` without a change.
    pub change_failure_rate: Option<f64>,
    /// Median seconds from a failure to the next successful production deployment, and
    /// how many failures were restored.
    pub time_to_restore_seconds: Option<i64>,
    pub restored: usize,
    /// Oldest first, one per day of the window (UTC), for the charts.
    pub daily: Vec<DayCount>,
    /// The window held more deployments than insights read (the oldest were read).
    pub truncated: bool,
}

/// One day's production activity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayCount {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// Successful promotions that finished that day.
    pub deployments: usize,
    /// Changes that failed that day (failed, timed out, or went live and were rolled
    /// back).
    pub failures: usize,
}
