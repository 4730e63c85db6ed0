//! Ready marks, stage locks and the ancestry cache: the board's state besides deployments.

use super::*;

#[async_trait]
impl BoardStore for Store {
    async fn mark_ready(
        &self,
        pipeline: &PipelineId,
        sha: &Sha,
        by: UserId,
        note: Option<&str>,
    ) -> StorageResult<bool> {
        let done = sqlx::query(
            "INSERT INTO ready_marks (pipeline_id, sha, marked_by, note, marked_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (pipeline_id, sha) DO NOTHING",
        )
        .bind(pipeline.as_str())
        .bind(sha.as_str())
        .bind(by)
        .bind(note)
        .bind(self.clock.now())
        .execute(&self.pool)
        .await
        .map_err(db("failed to mark a SHA ready"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn unmark_ready(&self, pipeline: &PipelineId, sha: &Sha) -> StorageResult<bool> {
        let done = sqlx::query("DELETE FROM ready_marks WHERE pipeline_id = $1 AND sha = $2")
            .bind(pipeline.as_str())
            .bind(sha.as_str())
            .execute(&self.pool)
            .await
            .map_err(db("failed to unmark a SHA"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn ready_marks(
        &self,
        pipeline: &PipelineId,
        shas: &[Sha],
        newest: i64,
    ) -> StorageResult<Vec<ReadyMark>> {
        // Bounded index reads (`ready_marks_newest` for the newest, the primary key for
        // the rows), never the whole table. Sorted here: an ORDER BY made SQLite walk
        // `ready_marks_newest` for the rows too, every mark of the pipeline.
        let mut query = QueryBuilder::new(
            "SELECT r.sha, u.name, r.note, r.marked_at FROM ready_marks r JOIN users u ON u.id = r.marked_by \
             WHERE r.pipeline_id = ",
        );
        query
            .push_bind(pipeline.as_str())
            .push(" AND r.sha IN (SELECT sha FROM ready_marks WHERE pipeline_id = ")
            .push_bind(pipeline.as_str())
            .push(" ORDER BY marked_at DESC LIMIT ")
            .push_bind(newest)
            .push(")");
        if !shas.is_empty() {
            query.push(" UNION SELECT r.sha, u.name, r.note, r.marked_at FROM ready_marks r JOIN users u ON u.id = r.marked_by WHERE r.pipeline_id = ")
                .push_bind(pipeline.as_str())
                .push(" AND r.sha");
            push_in(&mut query, shas);
        }
        let rows = query
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(db("failed to list ready marks"))?;
        let mut marks = rows
            .iter()
            .map(|r| {
                Ok(ReadyMark {
                    sha: sha_col(r, "sha")?,
                    by: col(r, "name")?,
                    note: col(r, "note")?,
                    at: col(r, "marked_at")?,
                })
            })
            .collect::<StorageResult<Vec<_>>>()?;
        marks.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.sha.cmp(&b.sha)));
        Ok(marks)
    }

    async fn lock_stage(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        by: UserId,
        reason: &str,
        expires_at: Option<OffsetDateTime>,
    ) -> StorageResult<()> {
        let now = self.clock.now();
        let mut tx = self.write_tx().await?;
        let held = sqlx::query(&format!("{LOCK_SELECT} AND l.stage_id = $3"))
            .bind(pipeline.as_str())
            .bind(now)
            .bind(stage.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("failed to read a lock"))?
            .map(|r| lock_from_row(&r))
            .transpose()?;
        if let Some(l) = held {
            return Err(StorageError::Conflict(format!(
                "{stage} is already locked by {}: {}",
                l.by, l.reason
            )));
        }
        // An expired lock may still be there: replace it.
        sqlx::query(
            "INSERT INTO locks (pipeline_id, stage_id, locked_by, reason, locked_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (pipeline_id, stage_id) DO UPDATE SET locked_by = excluded.locked_by, reason = excluded.reason, \
             locked_at = excluded.locked_at, expires_at = excluded.expires_at",
        )
        .bind(pipeline.as_str())
        .bind(stage.as_str())
        .bind(by)
        .bind(reason)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .map_err(db("failed to lock a stage"))?;
        tx.commit().await.map_err(db("failed to commit a lock"))?;
        Ok(())
    }

    async fn unlock_stage(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
    ) -> StorageResult<Option<Lock>> {
        let mut tx = self.write_tx().await?;
        let held = sqlx::query(&format!("{LOCK_SELECT} AND l.stage_id = $3"))
            .bind(pipeline.as_str())
            .bind(self.clock.now())
            .bind(stage.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("failed to read a lock"))?
            .map(|r| lock_from_row(&r))
            .transpose()?;
        sqlx::query("DELETE FROM locks WHERE pipeline_id = $1 AND stage_id = $2")
            .bind(pipeline.as_str())
            .bind(stage.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db("failed to unlock a stage"))?;
        tx.commit()
            .await
            .map_err(db("failed to commit an unlock"))?;
        Ok(held)
    }

    async fn locks(&self, pipeline: &PipelineId) -> StorageResult<Vec<Lock>> {
        let rows = sqlx::query(LOCK_SELECT)
            .bind(pipeline.as_str())
            .bind(self.clock.now())
            .fetch_all(&self.pool)
            .await
            .map_err(db("failed to list locks"))?;
        rows.iter().map(lock_from_row).collect()
    }

    async fn cached_ancestry(
        &self,
        pipeline: &PipelineId,
        ancestor: &Sha,
        descendant: &Sha,
    ) -> StorageResult<Option<bool>> {
        let v: Option<bool> = sqlx::query_scalar(
            "SELECT is_ancestor FROM ancestry_cache WHERE pipeline_id = $1 AND ancestor = $2 AND descendant = $3",
        )
        .bind(pipeline.as_str())
        .bind(ancestor.as_str())
        .bind(descendant.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db("failed to read the ancestry cache"))?;
        Ok(v)
    }

    async fn cache_ancestry(
        &self,
        pipeline: &PipelineId,
        ancestor: &Sha,
        descendant: &Sha,
        is_ancestor: bool,
    ) -> StorageResult<()> {
        sqlx::query(
            "INSERT INTO ancestry_cache (pipeline_id, ancestor, descendant, is_ancestor) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(pipeline.as_str())
        .bind(ancestor.as_str())
        .bind(descendant.as_str())
        .bind(is_ancestor)
        .execute(&self.pool)
        .await
        .map_err(db("failed to write the ancestry cache"))?;
        Ok(())
    }
}
