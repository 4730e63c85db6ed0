//! [`NotificationStore`].

use super::*;

#[async_trait]
impl NotificationStore for Store {
    async fn notify(&self, user: UserId, text: &str, link: Option<&str>) -> StorageResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("INSERT INTO notifications (user_id, at, text, link) VALUES ($1, $2, $3, $4)")
            .bind(user)
            .bind(self.clock.now())
            .bind(text)
            .bind(link)
            .execute(&mut *tx)
            .await
            .map_err(db("failed to insert a notification"))?;
        tx.commit()
            .await
            .map_err(db("failed to commit a notification"))?;
        Ok(())
    }

    async fn notifications(&self, user: UserId, limit: i64) -> StorageResult<Vec<Notification>> {
        let rows: Vec<(
            OffsetDateTime,
            String,
            Option<String>,
            Option<OffsetDateTime>,
        )> = sqlx::query_as(
            "SELECT at, text, link, read_at FROM notifications WHERE user_id = $1 \
                 ORDER BY id DESC LIMIT $2",
        )
        .bind(user)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read notifications"))?;
        Ok(rows
            .into_iter()
            .map(|(at, text, link, read_at)| Notification {
                at,
                text,
                link,
                read: read_at.is_some(),
            })
            .collect())
    }

    async fn unread_notifications(&self, user: UserId) -> StorageResult<i64> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL",
        )
        .bind(user)
        .fetch_one(&self.pool)
        .await
        .map_err(db("failed to count notifications"))
    }

    async fn mark_notifications_read(&self, user: UserId) -> StorageResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL")
            .bind(self.clock.now())
            .bind(user)
            .execute(&mut *tx)
            .await
            .map_err(db("failed to mark notifications read"))?;
        tx.commit()
            .await
            .map_err(db("failed to commit notifications read"))?;
        Ok(())
    }
}
