//! [`VersionStore`].

use super::*;

type DriftRow = (
    String,
    Option<String>,
    Option<String>,
    Option<OffsetDateTime>,
);

fn drift_from_row((stage, runs, recorded, since): DriftRow) -> StorageResult<Option<Drift>> {
    match (runs, recorded, since) {
        (Some(runs), Some(recorded), Some(since)) => Ok(Some(Drift {
            stage,
            runs,
            recorded: Sha::parse(&recorded).map_err(db("a stored drift's SHA is invalid"))?,
            since,
        })),
        _ => Ok(None),
    }
}

/// The drifts holding in a pipeline, on any executor (the snapshot reads them in its
/// transaction).
pub(super) async fn of_pipeline<'e, E: Executor<'e, Database = Db>>(
    executor: E,
    pipeline: &PipelineId,
) -> StorageResult<Vec<Drift>> {
    let rows: Vec<DriftRow> = sqlx::query_as(
        "SELECT stage_id, drift_runs, drift_recorded, drift_since FROM stage_versions \
         WHERE pipeline_id = $1 AND drift_runs IS NOT NULL",
    )
    .bind(pipeline.as_str())
    .fetch_all(executor)
    .await
    .map_err(db("failed to read drifts"))?;
    let mut out = Vec::new();
    for row in rows {
        out.extend(drift_from_row(row)?);
    }
    Ok(out)
}

#[async_trait]
impl VersionStore for Store {
    async fn record_version(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        reported: Option<&str>,
        detail: &str,
        reading: Reading<'_>,
    ) -> StorageResult<DriftChange> {
        let now = self.clock.now();
        let mut tx = self.write_tx().await?;
        let before: Option<DriftRow> = sqlx::query_as(
            "SELECT stage_id, drift_runs, drift_recorded, drift_since FROM stage_versions \
             WHERE pipeline_id = $1 AND stage_id = $2",
        )
        .bind(pipeline.as_str())
        .bind(stage.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("failed to read a stage's version"))?;
        let before = before.map(drift_from_row).transpose()?.flatten();
        let (after, change) = match (reading, before) {
            (Reading::Unknown, before) => (before, DriftChange::Unchanged),
            (Reading::InSync, None) => (None, DriftChange::Unchanged),
            (Reading::InSync, Some(was)) => (None, DriftChange::Ended(was)),
            (Reading::Drifted { runs, recorded }, Some(was))
                if was.runs == runs && &was.recorded == recorded =>
            {
                (Some(was), DriftChange::Unchanged)
            }
            (Reading::Drifted { runs, recorded }, _) => {
                let drift = Drift {
                    stage: stage.to_string(),
                    runs: runs.to_owned(),
                    recorded: recorded.clone(),
                    since: now,
                };
                (Some(drift.clone()), DriftChange::Seen(drift))
            }
        };
        sqlx::query(
            "INSERT INTO stage_versions (pipeline_id, stage_id, reported, detail, checked_at, drift_runs, drift_recorded, drift_since) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (pipeline_id, stage_id) DO UPDATE SET reported = excluded.reported, detail = excluded.detail, \
               checked_at = excluded.checked_at, drift_runs = excluded.drift_runs, \
               drift_recorded = excluded.drift_recorded, drift_since = excluded.drift_since",
        )
        .bind(pipeline.as_str())
        .bind(stage.as_str())
        .bind(reported)
        .bind(detail)
        .bind(now)
        .bind(after.as_ref().map(|d| d.runs.as_str()))
        .bind(after.as_ref().map(|d| d.recorded.as_str()))
        .bind(after.as_ref().map(|d| d.since))
        .execute(&mut *tx)
        .await
        .map_err(db("failed to record a stage's version"))?;
        tx.commit()
            .await
            .map_err(db("failed to commit a stage's version"))?;
        Ok(change)
    }

    async fn drifts(&self, pipeline: &PipelineId) -> StorageResult<Vec<Drift>> {
        of_pipeline(&self.pool, pipeline).await
    }
}
