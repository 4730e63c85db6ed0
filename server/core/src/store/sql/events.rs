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
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO events (at, pipeline_id, kind, data) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(self.clock.now())
        .bind(pipeline)
        .bind(kind)
        .bind(data)
        .fetch_one(&self.pool)
        .await
        .map_err(db("failed to append an event"))?;
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
