//! Stored live events: their row id is the SSE event id.

use super::*;

#[async_trait]
impl EventStore for Store {
    async fn append_event(
        &self,
        pipeline: &str,
        kind: &str,
        data: &str,
    ) -> StorageResult<StoredEvent> {
        const INSERT: &str =
            "INSERT INTO events (at, pipeline_id, kind, data) VALUES ($1, $2, $3, $4) RETURNING id";
        let insert = sqlx::query_scalar::<_, i64>(INSERT)
            .bind(self.clock.now())
            .bind(pipeline)
            .bind(kind)
            .bind(data);
        let id = match DIALECT {
            // One process writes, one insert at a time: ids are visible in order.
            Dialect::Sqlite => insert
                .fetch_one(&self.pool)
                .await
                .map_err(db("failed to append an event"))?,
            // Several replicas: the id is taken and committed under a lock, so ids
            // become visible in order, and every replica is told (on commit).
            Dialect::Postgres => {
                let mut tx = self
                    .pool
                    .begin()
                    .await
                    .map_err(db("failed to begin appending an event"))?;
                advisory_xact_lock(&mut tx, EVENTS_LOCK).await?;
                let id = insert
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db("failed to append an event"))?;
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(EVENTS_CHANNEL)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db("failed to announce an event"))?;
                tx.commit()
                    .await
                    .map_err(db("failed to commit an event"))?;
                id
            }
        };
        Ok(StoredEvent {
            id,
            pipeline: pipeline.to_owned(),
            kind: kind.to_owned(),
            data: data.to_owned(),
        })
    }

    async fn events_after(
        &self,
        after_id: i64,
        pipeline: Option<&str>,
        limit: i64,
    ) -> StorageResult<Vec<StoredEvent>> {
        let rows = sqlx::query_as::<_, StoredEvent>(
            "SELECT id, pipeline_id, kind, data FROM events WHERE id > $1 AND ($2 IS NULL OR pipeline_id = $3) ORDER BY id LIMIT $4",
        )
        .bind(after_id)
        .bind(pipeline)
        .bind(pipeline)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read events"))?;
        Ok(rows)
    }

    async fn event_id_range(&self) -> StorageResult<(i64, i64)> {
        let (min, max): (Option<i64>, Option<i64>) =
            sqlx::query_as("SELECT MIN(id), MAX(id) FROM events")
                .fetch_one(&self.pool)
                .await
                .map_err(db("failed to read events"))?;
        Ok((min.unwrap_or(0), max.unwrap_or(0)))
    }

    async fn prune_events(&self, keep: i64) -> StorageResult<u64> {
        let done = sqlx::query("DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - $1")
            .bind(keep)
            .execute(&self.pool)
            .await
            .map_err(db("failed to prune events"))?;
        Ok(done.rows_affected())
    }
}
