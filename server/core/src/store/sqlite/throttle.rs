//! Failed logins, for the login throttle. — on SQLite.

use super::*;

#[async_trait]
impl ThrottleStore for SqliteStorage {
    async fn record_login_failure(
        &self,
        account: &str,
        client: &str,
        at: f64,
    ) -> StorageResult<()> {
        sqlx::query("INSERT INTO login_failures (at, account, client) VALUES (?, ?, ?)")
            .bind(at)
            .bind(account)
            .bind(client)
            .execute(&self.pool)
            .await
            .map_err(db("failed to record a failed login"))?;
        sqlx::query("DELETE FROM login_failures WHERE at < ?")
            .bind(at - 86_400.0)
            .execute(&self.pool)
            .await
            .map_err(db("failed to prune failed logins"))?;
        Ok(())
    }

    async fn login_failures(
        &self,
        account: &str,
        client: &str,
        since: f64,
    ) -> StorageResult<(Vec<f64>, Vec<f64>)> {
        let by_account: Vec<f64> =
            sqlx::query_scalar("SELECT at FROM login_failures WHERE account = ? AND at >= ?")
                .bind(account)
                .bind(since)
                .fetch_all(&self.pool)
                .await
                .map_err(db("failed to read failed logins"))?;
        let by_client: Vec<f64> =
            sqlx::query_scalar("SELECT at FROM login_failures WHERE client = ? AND at >= ?")
                .bind(client)
                .bind(since)
                .fetch_all(&self.pool)
                .await
                .map_err(db("failed to read failed logins"))?;
        Ok((by_account, by_client))
    }

    async fn clear_login_failures(&self, account: &str) -> StorageResult<()> {
        sqlx::query("DELETE FROM login_failures WHERE account = ?")
            .bind(account)
            .execute(&self.pool)
            .await
            .map_err(db("failed to clear failed logins"))?;
        Ok(())
    }
}
