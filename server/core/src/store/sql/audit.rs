//! The audit log: appended to, never changed.

use super::*;

#[async_trait]
impl AuditStore for Store {
    async fn audit(&self, e: NewAudit) -> StorageResult<()> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(db("failed to get a connection"))?;
        insert_audit(&mut conn, self.clock.now(), e).await
    }

    async fn audit_query(&self, f: &AuditFilter) -> StorageResult<Vec<AuditEntry>> {
        let rows = sqlx::query_as::<_, AuditEntry>(
            "SELECT id, at, actor, action, pipeline_id, stage_id, sha, target, outcome, detail FROM audit_log \
             WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR action = $2) AND ($3 IS NULL OR pipeline_id = $3) \
             AND ($4 IS NULL OR outcome = $4) AND ($5 IS NULL OR id < $5) ORDER BY id DESC LIMIT $6",
        )
        .bind(f.actor.as_deref())
        .bind(f.action.as_deref())
        .bind(f.pipeline.as_deref())
        .bind(f.outcome.as_deref())
        .bind(f.before_id)
        .bind(f.limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read the audit log"))?;
        Ok(rows)
    }
}

/// Appends `e` on `conn` (a pooled connection, or a transaction the entry belongs to).
pub(super) async fn insert_audit(
    conn: &mut Conn,
    at: OffsetDateTime,
    e: NewAudit,
) -> StorageResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, pipeline_id, stage_id, sha, target, outcome, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(at)
    .bind(e.actor)
    .bind(e.action.as_str())
    .bind(e.pipeline)
    .bind(e.stage)
    .bind(e.sha)
    .bind(e.target)
    .bind(e.outcome.as_str())
    .bind(e.detail)
    .execute(conn)
    .await
    .map_err(db("failed to append to the audit log"))?;
    Ok(())
}
