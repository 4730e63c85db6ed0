//! Deployments and their logs. A deployment is created only inside the transaction that
//! evaluated its gates, so a refusal and a creation can never both happen.

use super::*;

#[async_trait]
impl DeploymentStore for Store {
    async fn stage_snapshot(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        previous_stage: Option<&StageId>,
        sha: Option<&Sha>,
    ) -> StorageResult<StageSnapshot> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(db("failed to get a connection"))?;
        read_snapshot(
            &mut conn,
            self.clock.now(),
            pipeline,
            stage,
            previous_stage,
            sha,
        )
        .await
    }

    async fn create_deployment(
        &self,
        new: &NewDeployment,
        check: GateCheck<'_>,
        audit: AuditOf<'_>,
    ) -> Result<Deployment, CreateDeploymentError> {
        let mut tx = self.write_tx().await?;
        let snapshot = read_snapshot(
            &mut tx,
            self.clock.now(),
            &new.pipeline,
            &new.stage,
            new.previous_stage.as_ref(),
            Some(&new.sha),
        )
        .await?;
        check(&snapshot)?;
        let previous = snapshot.current.as_ref().map(|d| d.sha.as_str().to_owned());
        let checklist = new
            .checklist
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(db("failed to encode a checklist"))?;
        let migrations = new
            .migrations
            .as_ref()
            .map(|m| serde_json::to_string(&m.files))
            .transpose()
            .map_err(db("failed to encode a list of migrations"))?;
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO deployments (pipeline_id, stage_id, sha, previous_sha, kind, state, requested_by, reason, created_at, checklist, emergency_reason, migrations, migrations_note, drift_overwritten, drift_note, runner) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
        )
        .bind(new.pipeline.as_str())
        .bind(new.stage.as_str())
        .bind(new.sha.as_str())
        .bind(previous)
        .bind(new.kind)
        .bind(DeploymentState::Queued)
        .bind(new.requested_by)
        .bind(new.reason.as_deref())
        .bind(self.clock.now())
        .bind(checklist)
        .bind(new.emergency_reason.as_deref())
        .bind(migrations)
        .bind(new.migrations.as_ref().and_then(|m| m.note.as_deref()))
        .bind(new.drift.as_ref().map(|d| d.runs.as_str()))
        .bind(new.drift.as_ref().and_then(|d| d.note.as_deref()))
        .bind(new.runner.as_ref().map(ReplicaId::as_str))
        .fetch_one(&mut *tx)
        .await;
        let id = match inserted {
            Ok(id) => id,
            // Only reachable if two writers ever overlap despite BEGIN IMMEDIATE: the index holds.
            Err(e) if is_unique_violation(&e) => {
                return Err(CreateDeploymentError::Refused(GateResult {
                    gate: GateKind::Busy,
                    status: GateStatus::Fail,
                    reason: "the stage is already deploying".into(),
                }))
            }
            Err(e) => return Err(db("failed to insert a deployment")(e).into()),
        };
        let row = sqlx::query(&deployment_select("WHERE d.id = $1"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db("failed to read the new deployment"))?;
        let deployment = deployment_from_row(&row)?;
        // The approval that let a promotion through is used up by it.
        if let Some(request) = snapshot
            .approval
            .as_ref()
            .filter(|r| new.kind == DeploymentKind::Promote && r.state == RequestState::Approved)
        {
            super::approvals::consume(&mut tx, request.id, deployment.id).await?;
        }
        if new.kind == DeploymentKind::Rollback {
            // Rolling a stage back says its SHA is not good there: a sign-off of it on
            // this stage stops counting with the rollback, not after it.
            if let Some(replaced) = &snapshot.current {
                super::signoffs::void(
                    &mut tx,
                    self.clock.now(),
                    &new.pipeline,
                    &new.stage,
                    &replaced.sha,
                    new.requested_by,
                    &format!("rolled back by deployment #{}", deployment.id),
                )
                .await?;
            }
        }
        super::audit::insert_audit(&mut tx, self.clock.now(), audit(&deployment)).await?;
        tx.commit()
            .await
            .map_err(db("failed to commit a deployment"))?;
        Ok(deployment)
    }

    async fn mark_running(
        &self,
        id: DeploymentId,
        pgid: Option<i32>,
        at: OffsetDateTime,
    ) -> StorageResult<bool> {
        // Moves only a queued row: a deployment cancelled before its process started
        // stays cancelled.
        let done = sqlx::query(
            "UPDATE deployments SET state = $1, pgid = $2, started_at = $3 WHERE id = $4 AND state = $5",
        )
        .bind(DeploymentState::Running)
        .bind(pgid)
        .bind(at)
        .bind(id)
        .bind(DeploymentState::Queued)
        .execute(&self.pool)
        .await
        .map_err(db("failed to mark a deployment running"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn mark_verifying(&self, id: DeploymentId) -> StorageResult<bool> {
        let done =
            sqlx::query("UPDATE deployments SET state = $1, pgid = NULL WHERE id = $2 AND state = $3")
                .bind(DeploymentState::Verifying)
                .bind(id)
                .bind(DeploymentState::Running)
                .execute(&self.pool)
                .await
                .map_err(db("failed to mark a deployment verifying"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn mark_attempt_running(&self, id: DeploymentId, pgid: i32) -> StorageResult<bool> {
        let done = sqlx::query("UPDATE deployments SET pgid = $1 WHERE id = $2 AND state = $3")
            .bind(pgid)
            .bind(id)
            .bind(DeploymentState::Running)
            .execute(&self.pool)
            .await
            .map_err(db("failed to record a retried attempt's process"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_retry(&self, id: DeploymentId, retry: &Retry) -> StorageResult<bool> {
        let entry = serde_json::to_string(retry).map_err(db("failed to encode a retry"))?;
        let done = sqlx::query(dialect_sql!(
            sqlite: "UPDATE deployments SET retries = json_insert(coalesce(retries, '[]'), '$[#]', json($1)), pgid = NULL \
                     WHERE id = $2 AND state = $3",
            postgres: "UPDATE deployments SET retries = (coalesce(retries, '[]')::jsonb || jsonb_build_array($1::jsonb))::text, \
                       pgid = NULL WHERE id = $2 AND state = $3",
        ))
        .bind(entry)
        .bind(id)
        .bind(DeploymentState::Running)
        .execute(&self.pool)
        .await
        .map_err(db("failed to record a retry"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn finish_deployment(
        &self,
        id: DeploymentId,
        state: DeploymentState,
        exit_code: Option<i32>,
        at: OffsetDateTime,
    ) -> StorageResult<bool> {
        if state.is_active() {
            return Err(StorageError::Database(anyhow::anyhow!(
                "{state} is not an end state"
            )));
        }
        let done = sqlx::query(
            "UPDATE deployments SET state = $1, exit_code = $2, finished_at = $3, pgid = NULL \
             WHERE id = $4 AND state IN ($5, $6, $7)",
        )
        .bind(state)
        .bind(exit_code)
        .bind(at)
        .bind(id)
        .bind(ACTIVE[0])
        .bind(ACTIVE[1])
        .bind(ACTIVE[2])
        .execute(&self.pool)
        .await
        .map_err(db("failed to finish a deployment"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn deployment(&self, id: DeploymentId) -> StorageResult<Option<Deployment>> {
        sqlx::query(&deployment_select("WHERE d.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("failed to read a deployment"))?
            .map(|r| deployment_from_row(&r))
            .transpose()
    }

    async fn stage_deployments_since(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        since: OffsetDateTime,
        limit: i64,
    ) -> StorageResult<Vec<Deployment>> {
        let rows = sqlx::query(&deployment_select(
            "WHERE d.pipeline_id = $1 AND d.stage_id = $2 AND d.created_at > $3 ORDER BY d.created_at, d.id LIMIT $4",
        ))
        .bind(pipeline.as_str())
        .bind(stage.as_str())
        .bind(since)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read a stage's recent deployments"))?;
        rows.iter().map(deployment_from_row).collect()
    }

    async fn stage_history(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        limit: i64,
    ) -> StorageResult<Vec<Deployment>> {
        let rows = sqlx::query(&deployment_select(
            "WHERE d.pipeline_id = $1 AND d.stage_id = $2 ORDER BY d.id DESC LIMIT $3",
        ))
        .bind(pipeline.as_str())
        .bind(stage.as_str())
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read a stage's history"))?;
        rows.iter().map(deployment_from_row).collect()
    }

    async fn stage_successes(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        before_id: Option<DeploymentId>,
        limit: i64,
    ) -> StorageResult<Vec<(DeploymentId, Sha)>> {
        let rows = sqlx::query(
            "SELECT id, sha FROM deployments WHERE pipeline_id = $1 AND stage_id = $2 AND state = $3 \
             AND ($4 IS NULL OR id < $5) ORDER BY id DESC LIMIT $6",
        )
        .bind(pipeline.as_str())
        .bind(stage.as_str())
        .bind(SUCCEEDED)
        .bind(before_id)
        .bind(before_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read a stage's successes"))?;
        rows.iter()
            .map(|r| Ok((col(r, "id")?, sha_col(r, "sha")?)))
            .collect()
    }

    async fn successes(
        &self,
        pipeline: &PipelineId,
        shas: &[Sha],
    ) -> StorageResult<Vec<(Sha, String)>> {
        let mut query = QueryBuilder::new(
            "SELECT DISTINCT sha, stage_id FROM deployments WHERE pipeline_id = ",
        );
        query
            .push_bind(pipeline.as_str())
            .push(" AND state = ")
            .push_bind(SUCCEEDED)
            .push(" AND sha");
        sha_stage_pairs(&self.pool, query, shas).await
    }

    async fn failed_since(
        &self,
        pipeline: &PipelineId,
        shas: &[Sha],
    ) -> StorageResult<Vec<(Sha, String)>> {
        // The SHA's latest finished deployment on a stage ended other than succeeded, and
        // an earlier one there succeeded: per (SHA, stage), one pass over its finished
        // rows (a correlated MAX per row took 300 ms per board at 10,000 deployments).
        let mut query =
            QueryBuilder::new("SELECT sha, stage_id FROM deployments WHERE pipeline_id = ");
        query
            .push_bind(pipeline.as_str())
            .push(" AND state NOT IN (")
            .push_bind(ACTIVE[0])
            .push(", ")
            .push_bind(ACTIVE[1])
            .push(", ")
            .push_bind(ACTIVE[2])
            .push(") AND sha");
        sha_stage_pairs_then(&self.pool, query, shas, |q| {
            q.push(" GROUP BY sha, stage_id HAVING SUM(CASE WHEN state = ")
                .push_bind(SUCCEEDED)
                .push(" THEN 1 ELSE 0 END) > 0 AND MAX(id) = MAX(CASE WHEN state <> ")
                .push_bind(SUCCEEDED)
                .push(" THEN id END)");
        })
        .await
    }

    async fn rolled_back(
        &self,
        pipeline: &PipelineId,
        shas: &[Sha],
    ) -> StorageResult<Vec<(Sha, String)>> {
        // A SHA rolled away from on a stage, and not succeeded there again since.
        let mut query = QueryBuilder::new(
            "SELECT DISTINCT d.previous_sha AS sha, d.stage_id FROM deployments d WHERE d.pipeline_id = ",
        );
        query
            .push_bind(pipeline.as_str())
            .push(" AND d.kind = ")
            .push_bind(DeploymentKind::Rollback)
            .push(" AND d.state = ")
            .push_bind(SUCCEEDED)
            .push(
                " AND NOT EXISTS (SELECT 1 FROM deployments e WHERE e.pipeline_id = d.pipeline_id \
                 AND e.stage_id = d.stage_id AND e.sha = d.previous_sha AND e.state = ",
            )
            .push_bind(SUCCEEDED)
            .push(" AND e.id > d.id) AND d.previous_sha");
        sha_stage_pairs(&self.pool, query, shas).await
    }

    async fn log_size(&self, deployment: DeploymentId) -> StorageResult<(i64, i64)> {
        sqlx::query_as(
            "SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM deployment_log WHERE deployment_id = $1",
        )
        .bind(deployment)
        .fetch_one(&self.pool)
        .await
        .map_err(db("failed to measure a log"))
    }

    async fn log_tail(&self, deployment: DeploymentId, limit: i64) -> StorageResult<Vec<LogLine>> {
        let mut rows = sqlx::query_as::<_, LogLine>(
            "SELECT seq, attempt, at, stream, line FROM deployment_log WHERE deployment_id = $1 ORDER BY seq DESC LIMIT $2",
        )
        .bind(deployment)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read a log"))?;
        rows.reverse();
        Ok(rows)
    }

    async fn append_log(
        &self,
        deployment: DeploymentId,
        seq: i64,
        attempt: u32,
        at: OffsetDateTime,
        stream: &str,
        line: &str,
    ) -> StorageResult<()> {
        sqlx::query("INSERT INTO deployment_log (deployment_id, seq, attempt, at, stream, line) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(deployment)
            .bind(seq)
            .bind(i64::from(attempt))
            .bind(at)
            .bind(stream)
            .bind(line)
            .execute(&self.pool)
            .await
            .map_err(db("failed to append a log line"))?;
        Ok(())
    }

    async fn log_lines(
        &self,
        deployment: DeploymentId,
        after_seq: i64,
        limit: i64,
    ) -> StorageResult<Vec<LogLine>> {
        let rows = sqlx::query_as::<_, LogLine>(
            "SELECT seq, attempt, at, stream, line FROM deployment_log WHERE deployment_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(deployment)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read a log"))?;
        Ok(rows)
    }
}
