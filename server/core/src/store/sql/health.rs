//! [`HealthStore`].

use super::*;

const HEALTH_SELECT: &str =
    "SELECT stage_id, status, detail, since, checked_at FROM stage_health WHERE pipeline_id = $1";

type HealthRow = (String, String, String, OffsetDateTime, OffsetDateTime);

fn health_from_row((stage, status, detail, since, checked_at): HealthRow) -> StageHealth {
    StageHealth {
        stage,
        healthy: status == "healthy",
        detail,
        since,
        checked_at,
    }
}

/// The pipeline's probed stages, on any executor (the snapshot reads them in its
/// transaction).
pub(super) async fn of_pipeline<'e, E: Executor<'e, Database = Db>>(
    executor: E,
    pipeline: &PipelineId,
) -> StorageResult<Vec<StageHealth>> {
    let rows: Vec<HealthRow> = sqlx::query_as(HEALTH_SELECT)
        .bind(pipeline.as_str())
        .fetch_all(executor)
        .await
        .map_err(db("failed to read stage health"))?;
    Ok(rows.into_iter().map(health_from_row).collect())
}

#[async_trait]
impl HealthStore for Store {
    async fn record_health(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        healthy: bool,
        detail: &str,
    ) -> StorageResult<Option<bool>> {
        let now = self.clock.now();
        let status = if healthy { "healthy" } else { "unhealthy" };
        let mut tx = self.write_tx().await?;
        let before: Option<String> = sqlx::query_scalar(
            "SELECT status FROM stage_health WHERE pipeline_id = $1 AND stage_id = $2",
        )
        .bind(pipeline.as_str())
        .bind(stage.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("failed to read a stage's health"))?;
        sqlx::query(
            "INSERT INTO stage_health (pipeline_id, stage_id, status, detail, since, checked_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (pipeline_id, stage_id) DO UPDATE SET \
               since = CASE WHEN stage_health.status = excluded.status THEN stage_health.since ELSE excluded.since END, \
               status = excluded.status, detail = excluded.detail, checked_at = excluded.checked_at",
        )
        .bind(pipeline.as_str())
        .bind(stage.as_str())
        .bind(status)
        .bind(detail)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db("failed to record a stage's health"))?;
        tx.commit()
            .await
            .map_err(db("failed to commit a stage's health"))?;
        Ok(before.map(|s| s == "healthy"))
    }

    async fn pipeline_health(&self, pipeline: &PipelineId) -> StorageResult<Vec<StageHealth>> {
        of_pipeline(&self.pool, pipeline).await
    }
}
