//! Login attempts, for the login throttle.

use super::*;

#[async_trait]
impl ThrottleStore for Store {
    async fn reserve_login_attempt(
        &self,
        account: &str,
        client: &str,
        at: f64,
        since: f64,
        check: ThrottleCheck<'_>,
    ) -> StorageResult<Attempt> {
        // BEGIN IMMEDIATE: concurrent attempts take turns between reading the count and
        // adding to it.
        let mut tx = self.write_tx().await?;
        let read = "failed to read failed logins";
        let by_account: Vec<f64> =
            sqlx::query_scalar("SELECT at FROM login_failures WHERE account = $1 AND at >= $2")
                .bind(account)
                .bind(since)
                .fetch_all(&mut *tx)
                .await
                .map_err(db(read))?;
        let by_client: Vec<f64> =
            sqlx::query_scalar("SELECT at FROM login_failures WHERE client = $1 AND at >= $2")
                .bind(client)
                .bind(since)
                .fetch_all(&mut *tx)
                .await
                .map_err(db(read))?;
        if let Some(wait) = check(&by_account, &by_client) {
            return Ok(Attempt::Throttled(wait));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO login_failures (at, account, client) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(at)
        .bind(account)
        .bind(client)
        .fetch_one(&mut *tx)
        .await
        .map_err(db("failed to count a login attempt"))?;
        sqlx::query("DELETE FROM login_failures WHERE at < $1")
            .bind(at - 86_400.0)
            .execute(&mut *tx)
            .await
            .map_err(db("failed to prune failed logins"))?;
        tx.commit()
            .await
            .map_err(db("failed to commit a login attempt"))?;
        Ok(Attempt::Reserved(id))
    }

    async fn note_throttled(
        &self,
        client: &str,
        at: f64,
        every: f64,
    ) -> StorageResult<Option<u64>> {
        let mut tx = self.write_tx().await?;
        let row: Option<(f64, i64)> = sqlx::query_as(
            "SELECT last_audited_at, unaudited FROM login_throttle_audits WHERE client = $1",
        )
        .bind(client)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("failed to read throttled attempts"))?;
        let audit = match row {
            Some((last, _)) if at - last < every => {
                sqlx::query(
                    "UPDATE login_throttle_audits SET unaudited = unaudited + 1 WHERE client = $1",
                )
                .bind(client)
                .execute(&mut *tx)
                .await
                .map_err(db("failed to count a throttled attempt"))?;
                None
            }
            previous => {
                sqlx::query(
                    "INSERT INTO login_throttle_audits (client, last_audited_at, unaudited) VALUES ($1, $2, 0) \
                     ON CONFLICT (client) DO UPDATE SET last_audited_at = excluded.last_audited_at, unaudited = 0",
                )
                .bind(client)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(db("failed to note a throttled attempt"))?;
                sqlx::query("DELETE FROM login_throttle_audits WHERE last_audited_at < $1")
                    .bind(at - 86_400.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("failed to prune throttled attempts"))?;
                Some(previous.map_or(0, |(_, n)| u64::try_from(n).unwrap_or(0)))
            }
        };
        tx.commit()
            .await
            .map_err(db("failed to commit a throttled attempt"))?;
        Ok(audit)
    }

    async fn settle_login_attempt(
        &self,
        id: i64,
        account: &str,
        how: Settled,
    ) -> StorageResult<()> {
        let forget = match how {
            Settled::Failed => return Ok(()),
            Settled::Succeeded => "DELETE FROM login_failures WHERE id = $1 OR account = $2",
            Settled::NotTried => "DELETE FROM login_failures WHERE id = $1 AND account = $2",
        };
        sqlx::query(forget)
            .bind(id)
            .bind(account)
            .execute(&self.pool)
            .await
            .map_err(db("failed to settle a login attempt"))?;
        Ok(())
    }
}
