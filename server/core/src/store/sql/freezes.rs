//! [`FreezeStore`].

use super::*;
use slipway_model::FreezeId;

/// `until` is the earlier of the planned end and the early end (spelled out: SQLite's
/// two-argument `MIN` is PostgreSQL's `LEAST`).
const FREEZE_SELECT: &str = "SELECT f.id, f.pipeline_id, f.stages, f.starts_at, \
     CASE WHEN f.ended_at IS NOT NULL AND f.ended_at < f.ends_at THEN f.ended_at ELSE f.ends_at END AS until, f.reason, \
     c.name AS created_by_name, e.name AS ended_by_name, f.source \
     FROM freezes f LEFT JOIN users c ON c.id = f.created_by LEFT JOIN users e ON e.id = f.ended_by";

#[derive(sqlx::FromRow)]
struct FreezeRow {
    id: FreezeId,
    pipeline_id: String,
    stages: Option<String>,
    starts_at: OffsetDateTime,
    until: OffsetDateTime,
    reason: String,
    created_by_name: Option<String>,
    ended_by_name: Option<String>,
    source: Option<String>,
}

fn freeze_from_row(row: &DbRow) -> StorageResult<Freeze> {
    use sqlx::FromRow as _;
    let row = FreezeRow::from_row(row).map_err(db("failed to read a freeze row"))?;
    let stages = row
        .stages
        .as_deref()
        .map(serde_json::from_str::<Vec<String>>)
        .transpose()
        .map_err(db("a stored freeze's stages are not a JSON list"))?
        .unwrap_or_default();
    Ok(Freeze {
        id: row.id,
        pipeline: row.pipeline_id,
        stages,
        from: row.starts_at,
        until: row.until,
        reason: row.reason,
        by: row.created_by_name,
        ended_by: row.ended_by_name,
        source: row.source,
    })
}

/// A freeze's stages as stored: a JSON list, or NULL for every stage.
fn stages_json(stages: &[StageId]) -> StorageResult<Option<String>> {
    (!stages.is_empty())
        .then(|| serde_json::to_string(&stages.iter().map(StageId::as_str).collect::<Vec<_>>()))
        .transpose()
        .map_err(db("failed to encode a freeze's stages"))
}

/// The stored freezes of a pipeline in force at `now`, with any executor.
pub(super) async fn in_force(
    conn: &mut Conn,
    now: OffsetDateTime,
    pipeline: &PipelineId,
) -> StorageResult<Vec<Freeze>> {
    let rows = sqlx::query(&format!(
        "{FREEZE_SELECT} WHERE f.pipeline_id = $1 AND f.starts_at <= $2 AND f.ends_at > $3 \
         AND (f.ended_at IS NULL OR f.ended_at > $4) ORDER BY f.starts_at"
    ))
    .bind(pipeline.as_str())
    .bind(now)
    .bind(now)
    .bind(now)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("failed to read freezes"))?;
    rows.iter().map(freeze_from_row).collect()
}

#[async_trait]
impl FreezeStore for Store {
    async fn create_freeze(&self, new: &NewFreeze) -> StorageResult<Freeze> {
        let utc = |t: OffsetDateTime| t.to_offset(time::UtcOffset::UTC);
        let stages = stages_json(&new.stages)?;
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO freezes (pipeline_id, stages, starts_at, ends_at, reason, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(new.pipeline.as_str())
        .bind(stages)
        .bind(utc(new.from))
        .bind(utc(new.until))
        .bind(&new.reason)
        .bind(new.by)
        .bind(self.clock.now())
        .fetch_one(&mut *tx)
        .await
        .map_err(db("failed to insert a freeze"))?;
        let row = sqlx::query(&format!("{FREEZE_SELECT} WHERE f.id = $1"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db("failed to read the new freeze"))?;
        let freeze = freeze_from_row(&row)?;
        tx.commit().await.map_err(db("failed to commit a freeze"))?;
        Ok(freeze)
    }

    async fn replace_feed_freezes(
        &self,
        pipeline: &PipelineId,
        source: &str,
        freezes: &[NewFreeze],
    ) -> StorageResult<()> {
        let utc = |t: OffsetDateTime| t.to_offset(time::UtcOffset::UTC);
        let now = self.clock.now();
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM freezes WHERE pipeline_id = $1 AND source = $2")
            .bind(pipeline.as_str())
            .bind(source)
            .execute(&mut *tx)
            .await
            .map_err(db("failed to remove a feed's freezes"))?;
        for f in freezes {
            let stages = stages_json(&f.stages)?;
            sqlx::query(
                "INSERT INTO freezes (pipeline_id, stages, starts_at, ends_at, reason, created_at, source) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(pipeline.as_str())
            .bind(stages)
            .bind(utc(f.from))
            .bind(utc(f.until))
            .bind(&f.reason)
            .bind(now)
            .bind(source)
            .execute(&mut *tx)
            .await
            .map_err(db("failed to insert a feed's freeze"))?;
        }
        tx.commit()
            .await
            .map_err(db("failed to commit a feed's freezes"))?;
        Ok(())
    }

    async fn end_freeze(&self, id: FreezeId, by: UserId) -> StorageResult<Option<Freeze>> {
        let now = self.clock.now();
        let mut tx = self.write_tx().await?;
        let ended = sqlx::query(
            "UPDATE freezes SET ended_at = $1, ended_by = $2 \
             WHERE id = $3 AND ended_at IS NULL AND ends_at > $4 AND source IS NULL",
        )
        .bind(now)
        .bind(by)
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db("failed to end a freeze"))?
        .rows_affected();
        if ended == 0 {
            return Ok(None);
        }
        let row = sqlx::query(&format!("{FREEZE_SELECT} WHERE f.id = $1"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db("failed to read the ended freeze"))?;
        let freeze = freeze_from_row(&row)?;
        tx.commit()
            .await
            .map_err(db("failed to commit a freeze's end"))?;
        Ok(Some(freeze))
    }

    async fn freezes(
        &self,
        pipeline: &PipelineId,
        after: OffsetDateTime,
    ) -> StorageResult<Vec<Freeze>> {
        let rows = sqlx::query(&format!(
            "{FREEZE_SELECT} WHERE f.pipeline_id = $1 AND f.ends_at > $2 \
             AND (f.ended_at IS NULL OR f.ended_at > $3) ORDER BY f.starts_at"
        ))
        .bind(pipeline.as_str())
        .bind(after)
        .bind(after)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read freezes"))?;
        rows.iter().map(freeze_from_row).collect()
    }
}
