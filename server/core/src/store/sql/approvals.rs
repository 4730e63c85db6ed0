//! [`ApprovalStore`].

use super::*;
use slipway_model::error::AppError;
use slipway_model::RequestId;

const REQUEST_SELECT: &str = "SELECT r.id, r.pipeline_id, r.stage_id, r.sha, r.requested_by AS requested_by_id, \
     q.name AS requested_by_name, r.note, r.checklist, r.acks, r.requested_at, r.state, d.name AS decided_by_name, \
     r.decided_at, r.decision_reason, r.slot_from, r.slot_until, r.auto_start, r.outside_windows_reason, \
     r.base_sha, r.deployment_id, r.auto_started_at, r.auto_start_result \
     FROM approval_requests r JOIN users q ON q.id = r.requested_by LEFT JOIN users d ON d.id = r.decided_by";

#[derive(sqlx::FromRow)]
struct RequestRow {
    id: RequestId,
    pipeline_id: String,
    stage_id: String,
    sha: String,
    requested_by_id: UserId,
    requested_by_name: String,
    note: Option<String>,
    checklist: Option<String>,
    /// JSON, see the migration.
    acks: Option<String>,
    requested_at: OffsetDateTime,
    state: String,
    decided_by_name: Option<String>,
    decided_at: Option<OffsetDateTime>,
    decision_reason: Option<String>,
    slot_from: Option<OffsetDateTime>,
    slot_until: Option<OffsetDateTime>,
    auto_start: bool,
    outside_windows_reason: Option<String>,
    base_sha: Option<String>,
    deployment_id: Option<DeploymentId>,
    auto_started_at: Option<OffsetDateTime>,
    auto_start_result: Option<String>,
}

fn request_from_row(row: &DbRow) -> StorageResult<ApprovalRecord> {
    use sqlx::FromRow as _;
    let r = RequestRow::from_row(row).map_err(db("failed to read an approval request row"))?;
    let sha = |s: &str| Sha::parse(s).map_err(db("a stored SHA is invalid"));
    let (checklist, acks) = decode_intent(r.checklist.as_deref(), r.acks.as_deref())?;
    Ok(ApprovalRecord {
        id: r.id,
        pipeline: r.pipeline_id,
        stage: r.stage_id,
        sha: sha(&r.sha)?,
        requested_by: r.requested_by_name,
        requested_by_id: r.requested_by_id,
        note: r.note,
        checklist,
        acks,
        requested_at: r.requested_at,
        state: RequestState::parse(&r.state).ok_or_else(|| {
            StorageError::Database(anyhow::anyhow!(
                "a stored approval request has an unknown state {:?}",
                r.state
            ))
        })?,
        decided_by: r.decided_by_name,
        decided_at: r.decided_at,
        decision_reason: r.decision_reason,
        slot: r.slot_from.zip(r.slot_until),
        auto_start: r.auto_start,
        outside_windows_reason: r.outside_windows_reason,
        base_sha: r.base_sha.as_deref().map(sha).transpose()?,
        deployment: r.deployment_id,
        auto_started_at: r.auto_started_at,
        auto_start_result: r.auto_start_result,
    })
}

/// The SHA's open request for a stage, with any executor.
pub(super) async fn open_request(
    conn: &mut Conn,
    pipeline: &PipelineId,
    stage: &StageId,
    sha: &Sha,
) -> StorageResult<Option<ApprovalRecord>> {
    sqlx::query(&format!(
        "{REQUEST_SELECT} WHERE r.pipeline_id = $1 AND r.stage_id = $2 AND r.sha = $3 \
         AND r.state IN ('pending', 'approved')"
    ))
    .bind(pipeline.as_str())
    .bind(stage.as_str())
    .bind(sha.as_str())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db("failed to read an approval request"))?
    .map(|r| request_from_row(&r))
    .transpose()
}

/// Marks `request` consumed by `deployment`, inside the creating transaction.
pub(super) async fn consume(
    tx: &mut sqlx::Transaction<'_, Db>,
    request: RequestId,
    deployment: DeploymentId,
) -> StorageResult<()> {
    sqlx::query(
        "UPDATE approval_requests SET state = 'consumed', deployment_id = $1 \
         WHERE id = $2 AND state = 'approved'",
    )
    .bind(deployment)
    .bind(request)
    .execute(&mut **tx)
    .await
    .map_err(db("failed to consume an approval"))?;
    Ok(())
}

async fn by_id(
    conn: &mut Conn,
    id: RequestId,
) -> StorageResult<Option<ApprovalRecord>> {
    sqlx::query(&format!("{REQUEST_SELECT} WHERE r.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db("failed to read an approval request"))?
        .map(|r| request_from_row(&r))
        .transpose()
}

#[async_trait]
impl ApprovalStore for Store {
    async fn request_approval(&self, new: &NewApprovalRequest) -> StorageResult<ApprovalRecord> {
        let (checklist, acks) = encode_intent(new.checklist.as_ref(), &new.acks)?;
        let mut tx = self.write_tx().await?;
        let now = self.clock.now();
        if let Some(open) = open_request(&mut tx, &new.pipeline, &new.stage, &new.sha).await? {
            let current = read_snapshot(&mut tx, now, &new.pipeline, &new.stage, None, None)
                .await?
                .current
                .map(|d| d.sha);
            if open.lapsed(now, current.as_ref()) {
                sqlx::query("UPDATE approval_requests SET state = 'expired' WHERE id = $1")
                    .bind(open.id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("failed to expire an approval"))?;
            }
        }
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO approval_requests (pipeline_id, stage_id, sha, requested_by, note, checklist, acks, requested_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(new.pipeline.as_str())
        .bind(new.stage.as_str())
        .bind(new.sha.as_str())
        .bind(new.by)
        .bind(new.note.as_deref())
        .bind(checklist)
        .bind(acks)
        .bind(self.clock.now())
        .fetch_one(&mut *tx)
        .await;
        let id = match inserted {
            Ok(id) => RequestId(id),
            Err(e) if is_unique_violation(&e) => {
                return Err(StorageError::Conflict(format!(
                    "{} already has an open approval request for {}",
                    new.sha.short(),
                    new.stage
                )))
            }
            Err(e) => return Err(db("failed to insert an approval request")(e)),
        };
        let record = by_id(&mut tx, id)
            .await?
            .ok_or_else(|| StorageError::Database(anyhow::anyhow!("a new request vanished")))?;
        tx.commit()
            .await
            .map_err(db("failed to commit an approval request"))?;
        Ok(record)
    }

    async fn approval_request(&self, id: RequestId) -> StorageResult<Option<ApprovalRecord>> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(db("failed to get a connection"))?;
        by_id(&mut conn, id).await
    }

    async fn decide(
        &self,
        id: RequestId,
        by: UserId,
        decision: &Decision,
        check: DecisionCheck<'_>,
    ) -> Result<ApprovalRecord, CheckedError> {
        let mut tx = self.write_tx().await?;
        let now = self.clock.now();
        let Some(request) = by_id(&mut tx, id).await? else {
            return Err(CheckedError::Refused(AppError::NotFound(format!(
                "there is no approval request #{id}"
            ))));
        };
        check(&request).map_err(CheckedError::Refused)?;
        if request.state != RequestState::Pending {
            return Err(CheckedError::Refused(AppError::Refused {
                kind: slipway_model::error::RefusalKind::State,
                message: format!(
                    "approval request #{id} is already {}",
                    request.state.as_str()
                ),
            }));
        }
        match decision {
            Decision::Approve {
                from,
                until,
                auto_start,
                outside_windows_reason,
            } => {
                let pipeline = PipelineId::parse(&request.pipeline)
                    .map_err(db("a stored pipeline id is invalid"))?;
                let stage =
                    StageId::parse(&request.stage).map_err(db("a stored stage id is invalid"))?;
                let current = read_snapshot(&mut tx, now, &pipeline, &stage, None, None)
                    .await?
                    .current
                    .map(|d| d.sha.to_string());
                let utc = |t: OffsetDateTime| t.to_offset(time::UtcOffset::UTC);
                sqlx::query(
                    "UPDATE approval_requests SET state = 'approved', decided_by = $1, decided_at = $2, \
                     slot_from = $3, slot_until = $4, auto_start = $5, outside_windows_reason = $6, base_sha = $7 \
                     WHERE id = $8",
                )
                .bind(by)
                .bind(now)
                .bind(utc(*from))
                .bind(utc(*until))
                .bind(auto_start)
                .bind(outside_windows_reason.as_deref())
                .bind(current)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db("failed to approve a request"))?;
            }
            Decision::Reject { reason } => {
                sqlx::query(
                    "UPDATE approval_requests SET state = 'rejected', decided_by = $1, decided_at = $2, \
                     decision_reason = $3 WHERE id = $4",
                )
                .bind(by)
                .bind(now)
                .bind(reason)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db("failed to reject a request"))?;
            }
        }
        let record = by_id(&mut tx, id)
            .await?
            .ok_or_else(|| StorageError::Database(anyhow::anyhow!("a decided request vanished")))?;
        tx.commit()
            .await
            .map_err(db("failed to commit a decision"))?;
        Ok(record)
    }

    async fn approval_requests(
        &self,
        pipeline: &PipelineId,
        stage: Option<&StageId>,
    ) -> StorageResult<Vec<ApprovalRecord>> {
        let day_ago = self.clock.now() - time::Duration::days(1);
        let mut query =
            QueryBuilder::<Db>::new(format!("{REQUEST_SELECT} WHERE r.pipeline_id = "));
        query.push_bind(pipeline.as_str());
        if let Some(stage) = stage {
            query.push(" AND r.stage_id = ").push_bind(stage.as_str());
        }
        query
            .push(" AND (r.state IN ('pending', 'approved') OR r.decided_at > ")
            .push_bind(day_ago)
            .push(") ORDER BY r.id DESC LIMIT 200");
        let rows = query
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(db("failed to read approval requests"))?;
        rows.iter().map(request_from_row).collect()
    }

    async fn due_auto_starts(&self, now: OffsetDateTime) -> StorageResult<Vec<ApprovalRecord>> {
        let rows = sqlx::query(&format!(
            "{REQUEST_SELECT} WHERE r.state = 'approved' AND r.auto_start = TRUE AND r.auto_started_at IS NULL \
             AND r.slot_from <= $1 AND r.slot_until > $2 ORDER BY r.slot_from"
        ))
        .bind(now)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read due auto-starts"))?;
        rows.iter().map(request_from_row).collect()
    }

    async fn missed_auto_starts(&self, now: OffsetDateTime) -> StorageResult<Vec<ApprovalRecord>> {
        let rows = sqlx::query(&format!(
            "{REQUEST_SELECT} WHERE r.state = 'approved' AND r.auto_start = TRUE AND r.auto_started_at IS NULL \
             AND r.slot_until <= $1 ORDER BY r.slot_from"
        ))
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read missed auto-starts"))?;
        rows.iter().map(request_from_row).collect()
    }

    async fn claim_auto_start(&self, id: RequestId, now: OffsetDateTime) -> StorageResult<bool> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query(
            "UPDATE approval_requests SET auto_started_at = $1 WHERE id = $2 AND auto_started_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db("failed to claim an auto-start"))?
        .rows_affected();
        tx.commit().await.map_err(db("failed to commit a claim"))?;
        Ok(n == 1)
    }

    async fn auto_start_result(
        &self,
        id: RequestId,
        result: &str,
        audit: NewAudit,
    ) -> StorageResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE approval_requests SET auto_start_result = $1 WHERE id = $2")
            .bind(result)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db("failed to record an auto-start"))?;
        super::audit::insert_audit(&mut tx, self.clock.now(), audit).await?;
        tx.commit()
            .await
            .map_err(db("failed to commit an auto-start"))?;
        Ok(())
    }
}
