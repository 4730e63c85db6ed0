//! [`WebhookStore`].

use super::*;

const DELIVERY_SELECT: &str =
    "SELECT id, pipeline_id, webhook_id, event, audit_id, url, body, created_at, \
     state, attempts, next_attempt_at, last_attempt_at, last_result FROM webhook_deliveries";

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    pipeline_id: String,
    webhook_id: String,
    event: String,
    audit_id: i64,
    url: String,
    body: String,
    created_at: OffsetDateTime,
    state: String,
    attempts: i64,
    next_attempt_at: OffsetDateTime,
    last_attempt_at: Option<OffsetDateTime>,
    last_result: Option<String>,
}

fn delivery_from_row(r: DeliveryRow) -> StorageResult<Delivery> {
    Ok(Delivery {
        id: r.id,
        pipeline: r.pipeline_id,
        webhook: r.webhook_id,
        event: r.event,
        audit_id: r.audit_id,
        url: r.url,
        body: r.body,
        created_at: r.created_at,
        state: DeliveryState::parse(&r.state).ok_or_else(|| {
            StorageError::Database(anyhow::anyhow!(
                "a stored delivery has an unknown state {:?}",
                r.state
            ))
        })?,
        attempts: r.attempts,
        next_attempt_at: r.next_attempt_at,
        last_attempt_at: r.last_attempt_at,
        last_result: r.last_result,
    })
}

#[async_trait]
impl WebhookStore for Store {
    async fn webhook_cursor(&self) -> StorageResult<i64> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO webhook_cursor (id, audit_id) \
             SELECT 1, coalesce(max(id), 0) FROM audit_log WHERE true \
             ON CONFLICT (id) DO NOTHING",
        )
        .execute(&mut *tx)
        .await
        .map_err(db("failed to start the webhook cursor"))?;
        let at: i64 = sqlx::query_scalar("SELECT audit_id FROM webhook_cursor WHERE id = 1")
            .fetch_one(&mut *tx)
            .await
            .map_err(db("failed to read the webhook cursor"))?;
        tx.commit()
            .await
            .map_err(db("failed to commit the webhook cursor"))?;
        Ok(at)
    }

    async fn audit_after(&self, after: i64, limit: i64) -> StorageResult<Vec<AuditEntry>> {
        sqlx::query_as(
            "SELECT id, at, actor, action, pipeline_id, stage_id, sha, target, outcome, detail \
             FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read the audit log"))
    }

    async fn enqueue_deliveries(
        &self,
        seen: i64,
        through: i64,
        deliveries: &[NewDelivery],
    ) -> StorageResult<bool> {
        let now = self.clock.now();
        let mut tx = self.write_tx().await?;
        let moved =
            sqlx::query("UPDATE webhook_cursor SET audit_id = $1 WHERE id = 1 AND audit_id = $2")
                .bind(through)
                .bind(seen)
                .execute(&mut *tx)
                .await
                .map_err(db("failed to move the webhook cursor"))?
                .rows_affected();
        if moved != 1 {
            return Ok(false);
        }
        for d in deliveries {
            sqlx::query(
                "INSERT INTO webhook_deliveries (pipeline_id, webhook_id, event, audit_id, url, body, \
                 created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (pipeline_id, webhook_id, audit_id) DO NOTHING",
            )
            .bind(&d.pipeline)
            .bind(&d.webhook)
            .bind(&d.event)
            .bind(d.audit_id)
            .bind(&d.url)
            .bind(&d.body)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db("failed to store a webhook delivery"))?;
        }
        tx.commit()
            .await
            .map_err(db("failed to commit webhook deliveries"))?;
        Ok(true)
    }

    async fn due_deliveries(
        &self,
        now: OffsetDateTime,
        limit: i64,
    ) -> StorageResult<Vec<Delivery>> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(&format!(
            "{DELIVERY_SELECT} WHERE state = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read due webhook deliveries"))?;
        rows.into_iter().map(delivery_from_row).collect()
    }

    async fn claim_delivery(
        &self,
        id: i64,
        seen_attempts: i64,
        lease: OffsetDateTime,
    ) -> StorageResult<bool> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $1, last_attempt_at = $2 \
             WHERE id = $3 AND state = 'pending' AND attempts = $4",
        )
        .bind(lease)
        .bind(self.clock.now())
        .bind(id)
        .bind(seen_attempts)
        .execute(&mut *tx)
        .await
        .map_err(db("failed to claim a webhook delivery"))?
        .rows_affected();
        tx.commit()
            .await
            .map_err(db("failed to commit a webhook delivery claim"))?;
        Ok(n == 1)
    }

    async fn delivery_result(&self, id: i64, result: &AttemptResult) -> StorageResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, last_result = $2, next_attempt_at = $3 WHERE id = $4",
        )
        .bind(result.state.as_str())
        .bind(&result.result)
        .bind(result.next_attempt_at)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db("failed to record a webhook delivery"))?;
        tx.commit()
            .await
            .map_err(db("failed to commit a webhook delivery"))?;
        Ok(())
    }

    async fn deliveries(&self, limit: i64) -> StorageResult<Vec<Delivery>> {
        let rows: Vec<DeliveryRow> =
            sqlx::query_as(&format!("{DELIVERY_SELECT} ORDER BY id DESC LIMIT $1"))
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(db("failed to read webhook deliveries"))?;
        rows.into_iter().map(delivery_from_row).collect()
    }

    async fn prune_deliveries(&self, before: OffsetDateTime) -> StorageResult<u64> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND created_at < $1",
        )
        .bind(before)
        .execute(&mut *tx)
        .await
        .map_err(db("failed to prune webhook deliveries"))?
        .rows_affected();
        tx.commit()
            .await
            .map_err(db("failed to commit pruned webhook deliveries"))?;
        Ok(n)
    }
}
