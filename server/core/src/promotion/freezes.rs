//! Freezes: ops close stages for a time range with a reason ("labs until 19:00"). The
//! *no freeze* gate reads them with the freezes in the config.

use super::audited::{self, audit_entry};
use crate::authz::authorize;
use crate::config::{CalendarFeed, FeedSource, PipelineConfig};
use crate::store::{Freeze, NewFreeze, User};
use crate::Services;
use slipway_model::audit::AuditAction;
use slipway_model::error::AppError;
use slipway_model::live::BoardChange;
use slipway_model::{Action, FreezeId, StageId};
use time::{Duration, OffsetDateTime};

/// The longest freeze one declaration may set: beyond it, say so in the config.
const LONGEST: Duration = Duration::days(366);

/// What a declaration asks for.
#[derive(Debug, Clone)]
pub struct FreezeRequest {
    /// Empty: every stage of the pipeline.
    pub stages: Vec<StageId>,
    /// Start; `None`: now.
    pub from: Option<OffsetDateTime>,
    pub until: OffsetDateTime,
    pub reason: String,
}

/// Declares a freeze on `p`.
#[tracing::instrument(skip(state, user, p, request), fields(user = %user.name, pipeline = %p.id), err(level = "info", Display))]
pub async fn declare(
    state: &Services,
    user: &User,
    p: &PipelineConfig,
    request: FreezeRequest,
) -> Result<Freeze, AppError> {
    let reason = request.reason.trim().to_owned();
    let mut entry = audit_entry(user, AuditAction::FreezeCreated, p.id.as_str());
    entry.detail = Some(reason.clone());
    let result = async {
        authorize(user, Action::ManageFreezes)?;
        let now = state.now();
        let from = request.from.unwrap_or(now);
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(AppError::BadRequest(
                "a freeze needs a reason (1 to 500 characters) that tells people why".into(),
            ));
        }
        if request.until <= now {
            return Err(AppError::BadRequest(
                "that freeze would already be over; give an end in the future".into(),
            ));
        }
        if request.until <= from {
            return Err(AppError::BadRequest(
                "a freeze must end after it starts".into(),
            ));
        }
        if request.until - from > LONGEST {
            return Err(AppError::BadRequest(
                "a freeze may last at most a year; declare longer ones in the config".into(),
            ));
        }
        for s in &request.stages {
            if !p.stages.iter().any(|st| &st.id == s) {
                let known: Vec<&str> = p.stages.iter().map(|st| st.id.as_str()).collect();
                return Err(AppError::BadRequest(format!(
                    "pipeline {} has no stage {:?} (stages: {})",
                    p.id,
                    s.as_str(),
                    known.join(", ")
                )));
            }
        }
        let new = NewFreeze {
            pipeline: p.id.clone(),
            stages: request.stages.clone(),
            from,
            until: request.until,
            reason: reason.clone(),
            by: Some(user.id),
        };
        Ok(state.storage.create_freeze(&new).await?)
    }
    .await;
    audited::record(state, entry, &result, |f, entry| {
        entry.target = Some(format!("freeze #{}", f.id));
    })
    .await;
    if result.is_ok() {
        state
            .events
            .board_changed(p.id.as_str(), BoardChange::Freeze)
            .await;
    }
    result
}

/// Ends freeze `id` now.
#[tracing::instrument(skip(state, user), fields(user = %user.name), err(level = "info", Display))]
pub async fn end(state: &Services, user: &User, id: FreezeId) -> Result<Freeze, AppError> {
    let mut entry = audit_entry(user, AuditAction::FreezeEnded, "");
    entry.pipeline = None;
    entry.target = Some(format!("freeze #{id}"));
    let result = async {
        authorize(user, Action::ManageFreezes)?;
        state.storage.end_freeze(id, user.id).await?.ok_or_else(|| {
            AppError::NotFound(format!(
                "there is no freeze #{id} in force or to come (it may be over already)"
            ))
        })
    }
    .await;
    audited::record(state, entry, &result, |f, entry| {
        entry.pipeline = Some(f.pipeline.clone());
        entry.detail = Some(f.reason.clone());
    })
    .await;
    if let Ok(f) = &result {
        state
            .events
            .board_changed(&f.pipeline, BoardChange::Freeze)
            .await;
    }
    result
}

/// How far ahead a feed's events become freezes (and a day back, for those in force).
const FEED_HORIZON: Duration = Duration::days(90);

/// The largest feed read, in bytes.
const FEED_MAX_BYTES: usize = 4 * 1024 * 1024;

/// Reads feed `feed` of `p` again and replaces its freezes (from a day ago to 90 days
/// ahead) in one transaction; returns how many there are. A feed that cannot be read or
/// parsed changes nothing: the freezes read last time stay.
pub async fn refresh_feed(
    state: &Services,
    p: &PipelineConfig,
    feed: &CalendarFeed,
) -> Result<usize, String> {
    let text = match &feed.source {
        FeedSource::File(path) => tokio::fs::read_to_string(path)
            .await
            .map_err(|e| format!("failed to read {}: {e}", path.display()))?,
        FeedSource::Url(url) => fetch(url).await?,
    };
    let now = state.now();
    let read = crate::ics::freezes_between(&text, now - Duration::days(1), now + FEED_HORIZON)?;
    let freezes: Vec<NewFreeze> = read
        .into_iter()
        .map(|f| NewFreeze {
            pipeline: p.id.clone(),
            stages: feed.stages.clone(),
            from: f.from,
            until: f.until,
            reason: f.reason,
            by: None,
        })
        .collect();
    state
        .storage
        .replace_feed_freezes(&p.id, &feed.source.label(), &freezes)
        .await
        .map_err(|e| format!("failed to store the feed's freezes: {e}"))?;
    state
        .events
        .board_changed(p.id.as_str(), BoardChange::Freeze)
        .await;
    Ok(freezes.len())
}

async fn fetch(url: &url::Url) -> Result<String, String> {
    let label = crate::repos::redact_userinfo(url.as_str());
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(|e| format!("failed to build an HTTP client: {e}"))?;
    let mut res = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| format!("failed to fetch {label}: {}", e.without_url()))?;
    if !res.status().is_success() {
        return Err(format!("{label} answered {}", res.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| format!("failed to read {label}: {}", e.without_url()))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > FEED_MAX_BYTES {
            return Err(format!("{label} is larger than {FEED_MAX_BYTES} bytes"));
        }
    }
    String::from_utf8(body).map_err(|_| format!("{label} is not UTF-8 text"))
}
