//! Each stage's health probe, polled: the answer is recorded (the column header and the
//! health gate read it), and a change between healthy and unhealthy is announced live
//! and audited (`health_changed`).

use super::Prober;
use crate::config::{PipelineConfig, StageConfig};
use crate::store::NewAudit;
use crate::Services;
use slipway_model::audit::{AuditAction, Outcome};
use slipway_model::live::BoardChange;

/// Probes `stage` once and records the answer.
pub async fn check(
    state: &Services,
    prober: &Prober,
    pipeline: &PipelineConfig,
    stage: &StageConfig,
) {
    let Some(probe) = &stage.health else {
        return;
    };
    let answer = prober
        .run(pipeline, stage, &probe.target, probe.timeout)
        .await;
    let before = match state
        .storage
        .record_health(&pipeline.id, &stage.id, answer.ok, &answer.detail)
        .await
    {
        Ok(before) => before,
        Err(e) => {
            tracing::error!(error = %e, "failed to record a health probe's answer");
            return;
        }
    };
    if before == Some(answer.ok) {
        return;
    }
    let became = if answer.ok { "healthy" } else { "unhealthy" };
    tracing::info!(pipeline = %pipeline.id, stage = %stage.id, detail = %answer.detail, "stage became {became}");
    state
        .events
        .board_changed(pipeline.id.as_str(), BoardChange::Health)
        .await;
    let mut entry = NewAudit::new(AuditAction::HealthChanged, Outcome::Ok);
    entry.pipeline = Some(pipeline.id.to_string());
    entry.stage = Some(stage.id.to_string());
    entry.detail = Some(format!(
        "{} became {became}: {}",
        stage.label, answer.detail
    ));
    crate::audit::record(state.storage.as_ref(), entry).await;
}
