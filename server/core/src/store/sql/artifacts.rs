//! [`ArtifactStore`].

use super::*;
use slipway_model::QueuedId;

const SEEN_SELECT: &str = "SELECT stage_id, sha, status, detail, missing_since, checked_at \
     FROM artifact_checks WHERE pipeline_id = ";

#[derive(sqlx::FromRow)]
struct SeenRow {
    stage_id: String,
    sha: String,
    status: String,
    detail: String,
    missing_since: Option<OffsetDateTime>,
    checked_at: OffsetDateTime,
}

fn seen_from_row(row: &DbRow) -> StorageResult<ArtifactSeen> {
    use sqlx::FromRow as _;
    let r = SeenRow::from_row(row).map_err(db("failed to read an artifact check row"))?;
    Ok(ArtifactSeen {
        stage: r.stage_id,
        sha: Sha::parse(&r.sha).map_err(db("a stored SHA is invalid"))?,
        status: ArtifactStatus::parse(&r.status).ok_or_else(|| {
            StorageError::Database(anyhow::anyhow!(
                "a stored artifact check has an unknown status {:?}",
                r.status
            ))
        })?,
        detail: r.detail,
        missing_since: r.missing_since,
        checked_at: r.checked_at,
    })
}

const QUEUED_SELECT: &str = "SELECT q.id, q.pipeline_id, q.stage_id, q.sha, q.requested_by AS requested_by_id, \
     u.name AS requested_by_name, q.requested_at, q.deadline, q.checklist, q.acks, q.next_check_at, q.checks, \
     q.state, q.ended_at, e.name AS ended_by_name, q.outcome, q.deployment_id \
     FROM queued_promotions q JOIN users u ON u.id = q.requested_by LEFT JOIN users e ON e.id = q.ended_by";

#[derive(sqlx::FromRow)]
struct QueuedRow {
    id: QueuedId,
    pipeline_id: String,
    stage_id: String,
    sha: String,
    requested_by_id: UserId,
    requested_by_name: String,
    requested_at: OffsetDateTime,
    deadline: OffsetDateTime,
    checklist: Option<String>,
    /// JSON, as in `approval_requests`.
    acks: Option<String>,
    next_check_at: OffsetDateTime,
    checks: i64,
    state: String,
    ended_at: Option<OffsetDateTime>,
    ended_by_name: Option<String>,
    outcome: Option<String>,
    deployment_id: Option<DeploymentId>,
}

fn queued_from_row(row: &DbRow) -> StorageResult<QueuedPromotion> {
    use sqlx::FromRow as _;
    let r = QueuedRow::from_row(row).map_err(db("failed to read a queued promotion row"))?;
    let (checklist, acks) = decode_intent(r.checklist.as_deref(), r.acks.as_deref())?;
    Ok(QueuedPromotion {
        id: r.id,
        pipeline: r.pipeline_id,
        stage: r.stage_id,
        sha: Sha::parse(&r.sha).map_err(db("a stored SHA is invalid"))?,
        requested_by: r.requested_by_name,
        requested_by_id: r.requested_by_id,
        requested_at: r.requested_at,
        deadline: r.deadline,
        checklist,
        acks,
        next_check_at: r.next_check_at,
        checks: r.checks,
        state: QueueState::parse(&r.state).ok_or_else(|| {
            StorageError::Database(anyhow::anyhow!(
                "a stored queued promotion has an unknown state {:?}",
                r.state
            ))
        })?,
        ended_at: r.ended_at,
        ended_by: r.ended_by_name,
        outcome: r.outcome,
        deployment: r.deployment_id,
    })
}

async fn queued_by_id<'e, E: Executor<'e, Database = Db>>(
    ex: E,
    id: QueuedId,
) -> StorageResult<Option<QueuedPromotion>> {
    sqlx::query(&format!("{QUEUED_SELECT} WHERE q.id = $1"))
        .bind(id)
        .fetch_optional(ex)
        .await
        .map_err(db("failed to read a queued promotion"))?
        .as_ref()
        .map(queued_from_row)
        .transpose()
}

#[async_trait]
impl ArtifactStore for Store {
    async fn record_artifact(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        sha: &Sha,
        status: ArtifactStatus,
        detail: &str,
    ) -> StorageResult<ArtifactSeen> {
        let present = status == ArtifactStatus::Present;
        let now = self.clock.now();
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO artifact_checks (pipeline_id, stage_id, sha, status, detail, missing_since, checked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (pipeline_id, stage_id, sha) DO UPDATE SET \
               missing_since = CASE WHEN excluded.status = 'present' THEN NULL \
                 ELSE coalesce(artifact_checks.missing_since, excluded.missing_since) END, \
               status = excluded.status, detail = excluded.detail, checked_at = excluded.checked_at \
             RETURNING stage_id, sha, status, detail, missing_since, checked_at",
        )
        .bind(pipeline.as_str())
        .bind(stage.as_str())
        .bind(sha.as_str())
        .bind(status.as_str())
        .bind(detail)
        .bind((!present).then_some(now))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db("failed to record an artifact check"))?;
        let seen = seen_from_row(&row)?;
        tx.commit()
            .await
            .map_err(db("failed to commit an artifact check"))?;
        Ok(seen)
    }

    async fn artifacts_seen(
        &self,
        pipeline: &PipelineId,
        shas: &[Sha],
    ) -> StorageResult<Vec<ArtifactSeen>> {
        if shas.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::new(SEEN_SELECT);
        query.push_bind(pipeline.as_str()).push(" AND sha");
        push_in(&mut query, shas);
        let rows = query
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(db("failed to read artifact checks"))?;
        rows.iter().map(seen_from_row).collect()
    }

    async fn queue_promotion(
        &self,
        new: &NewQueuedPromotion,
    ) -> Result<QueuedPromotion, QueueError> {
        let (checklist, acks) = encode_intent(new.checklist.as_ref(), &new.acks)?;
        let now = self.clock.now();
        let mut tx = self.write_tx().await?;
        let waiting = sqlx::query(&format!(
            "{QUEUED_SELECT} WHERE q.pipeline_id = $1 AND q.stage_id = $2 AND q.state = 'waiting'"
        ))
        .bind(new.pipeline.as_str())
        .bind(new.stage.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("failed to read a stage's queued promotion"))?
        .as_ref()
        .map(queued_from_row)
        .transpose()?;
        if let Some(old) = waiting {
            if !new.replace {
                return Err(QueueError::Occupied(Box::new(old)));
            }
            sqlx::query(
                "UPDATE queued_promotions SET state = 'replaced', ended_at = $1, ended_by = $2, outcome = $3 \
                 WHERE id = $4",
            )
            .bind(now)
            .bind(new.by)
            .bind(format!("replaced by a promotion of {}", new.sha.short()))
            .bind(old.id)
            .execute(&mut *tx)
            .await
            .map_err(db("failed to replace a queued promotion"))?;
        }
        let id: QueuedId = sqlx::query_scalar(
            "INSERT INTO queued_promotions (pipeline_id, stage_id, sha, requested_by, requested_at, deadline, \
             checklist, acks, next_check_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(new.pipeline.as_str())
        .bind(new.stage.as_str())
        .bind(new.sha.as_str())
        .bind(new.by)
        .bind(now)
        .bind(new.deadline)
        .bind(checklist)
        .bind(acks)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db("failed to queue a promotion"))?;
        let queued = queued_by_id(&mut *tx, id).await?.ok_or_else(|| {
            StorageError::Database(anyhow::anyhow!("a new queued promotion vanished"))
        })?;
        tx.commit()
            .await
            .map_err(db("failed to commit a queued promotion"))?;
        Ok(queued)
    }

    async fn queued_promotion(&self, id: QueuedId) -> StorageResult<Option<QueuedPromotion>> {
        queued_by_id(&self.pool, id).await
    }

    async fn queued_promotions(
        &self,
        pipeline: &PipelineId,
    ) -> StorageResult<Vec<QueuedPromotion>> {
        let since = self.clock.now() - time::Duration::days(1);
        let rows = sqlx::query(&format!(
            "{QUEUED_SELECT} WHERE q.pipeline_id = $1 AND (q.state = 'waiting' OR q.ended_at > $2) \
             ORDER BY q.id DESC"
        ))
        .bind(pipeline.as_str())
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read queued promotions"))?;
        rows.iter().map(queued_from_row).collect()
    }

    async fn due_queued(&self, now: OffsetDateTime) -> StorageResult<Vec<QueuedPromotion>> {
        let rows = sqlx::query(&format!(
            "{QUEUED_SELECT} WHERE q.state = 'waiting' AND q.next_check_at <= $1 ORDER BY q.next_check_at"
        ))
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read due queued promotions"))?;
        rows.iter().map(queued_from_row).collect()
    }

    async fn claim_queued(
        &self,
        id: QueuedId,
        seen_checks: i64,
        next: OffsetDateTime,
    ) -> StorageResult<bool> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query(
            "UPDATE queued_promotions SET next_check_at = $1, checks = checks + 1 \
             WHERE id = $2 AND state = 'waiting' AND checks = $3",
        )
        .bind(next)
        .bind(id)
        .bind(seen_checks)
        .execute(&mut *tx)
        .await
        .map_err(db("failed to claim a queued promotion"))?
        .rows_affected();
        tx.commit().await.map_err(db("failed to commit a claim"))?;
        Ok(n == 1)
    }

    async fn end_queued(&self, id: QueuedId, end: &QueueEnd) -> StorageResult<bool> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query(
            "UPDATE queued_promotions SET state = $1, ended_at = $2, ended_by = $3, outcome = $4, deployment_id = $5 \
             WHERE id = $6 AND state = 'waiting'",
        )
        .bind(end.state.as_str())
        .bind(self.clock.now())
        .bind(end.by)
        .bind(&end.outcome)
        .bind(end.deployment)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db("failed to end a queued promotion"))?
        .rows_affected();
        tx.commit()
            .await
            .map_err(db("failed to commit a queued promotion's end"))?;
        Ok(n == 1)
    }
}
