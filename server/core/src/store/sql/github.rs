//! [`GitHubStore`].

use super::*;

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    delivery: String,
    event: String,
    body: String,
    received_at: OffsetDateTime,
    outcome: Option<String>,
}

impl From<DeliveryRow> for GitHubDelivery {
    fn from(r: DeliveryRow) -> Self {
        GitHubDelivery {
            delivery: r.delivery,
            event: r.event,
            body: r.body,
            received_at: r.received_at,
            outcome: r.outcome,
        }
    }
}

const SELECT: &str = "SELECT delivery, event, body, received_at, outcome FROM github_deliveries";

#[async_trait]
impl GitHubStore for Store {
    async fn record_github_delivery(
        &self,
        delivery: &str,
        event: &str,
        body: &str,
    ) -> StorageResult<bool> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query(
            "INSERT INTO github_deliveries (delivery, event, body, received_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (delivery) DO NOTHING",
        )
        .bind(delivery)
        .bind(event)
        .bind(body)
        .bind(self.clock.now())
        .execute(&mut *tx)
        .await
        .map_err(db("failed to record a GitHub delivery"))?
        .rows_affected();
        tx.commit()
            .await
            .map_err(db("failed to commit a GitHub delivery"))?;
        Ok(n == 1)
    }

    async fn pending_github_deliveries(&self, limit: i64) -> StorageResult<Vec<GitHubDelivery>> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(&format!(
            "{SELECT} WHERE taken_at IS NULL ORDER BY received_at LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read GitHub deliveries"))?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn take_github_delivery(&self, delivery: &str) -> StorageResult<bool> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query(
            "UPDATE github_deliveries SET taken_at = $1 WHERE delivery = $2 AND taken_at IS NULL",
        )
        .bind(self.clock.now())
        .bind(delivery)
        .execute(&mut *tx)
        .await
        .map_err(db("failed to take a GitHub delivery"))?
        .rows_affected();
        tx.commit()
            .await
            .map_err(db("failed to commit a GitHub delivery"))?;
        Ok(n == 1)
    }

    async fn github_delivery_outcome(&self, delivery: &str, outcome: &str) -> StorageResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE github_deliveries SET outcome = $1 WHERE delivery = $2")
            .bind(outcome)
            .bind(delivery)
            .execute(&mut *tx)
            .await
            .map_err(db("failed to record a GitHub delivery's outcome"))?;
        tx.commit()
            .await
            .map_err(db("failed to commit a GitHub delivery's outcome"))?;
        Ok(())
    }

    async fn github_delivery(&self, delivery: &str) -> StorageResult<Option<GitHubDelivery>> {
        let row: Option<DeliveryRow> = sqlx::query_as(&format!("{SELECT} WHERE delivery = $1"))
            .bind(delivery)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("failed to read a GitHub delivery"))?;
        Ok(row.map(Into::into))
    }

    async fn prune_github_deliveries(&self, before: OffsetDateTime) -> StorageResult<u64> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query(
            "DELETE FROM github_deliveries WHERE taken_at IS NOT NULL AND received_at < $1",
        )
        .bind(before)
        .execute(&mut *tx)
        .await
        .map_err(db("failed to prune GitHub deliveries"))?
        .rows_affected();
        tx.commit()
            .await
            .map_err(db("failed to commit pruned GitHub deliveries"))?;
        Ok(n)
    }

    async fn record_ci_check(
        &self,
        pipeline: &PipelineId,
        sha: &Sha,
        check: &CiCheck,
    ) -> StorageResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO ci_checks (pipeline, sha, name, state, url, reported_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (pipeline, sha, name) DO UPDATE SET \
               state = excluded.state, url = excluded.url, reported_at = excluded.reported_at \
             WHERE excluded.reported_at > ci_checks.reported_at \
                OR (excluded.reported_at = ci_checks.reported_at AND excluded.state <> 'pending')",
        )
        .bind(pipeline.as_str())
        .bind(sha.as_str())
        .bind(&check.name)
        .bind(check.state.as_str())
        .bind(&check.url)
        // Whole seconds (GitHub's own precision): stored times then compare as text.
        .bind(
            check
                .reported_at
                .replace_nanosecond(0)
                .unwrap_or(check.reported_at),
        )
        .execute(&mut *tx)
        .await
        .map_err(db("failed to record a CI check"))?;
        tx.commit().await.map_err(db("failed to commit a CI check"))
    }

    async fn ci_checks(&self, pipeline: &PipelineId, sha: &Sha) -> StorageResult<Vec<CiCheck>> {
        let rows: Vec<CheckRow> = sqlx::query_as(
            "SELECT name, state, url, reported_at FROM ci_checks \
             WHERE pipeline = $1 AND sha = $2 ORDER BY name",
        )
        .bind(pipeline.as_str())
        .bind(sha.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read CI checks"))?;
        rows.into_iter().map(CiCheck::try_from).collect()
    }

    async fn record_github_deployment(
        &self,
        deployment: DeploymentId,
        pipeline: &PipelineId,
        stage: &StageId,
        github_id: i64,
        state: &str,
    ) -> StorageResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO github_deployments (deployment_id, pipeline, stage, github_id, state) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(deployment)
        .bind(pipeline.as_str())
        .bind(stage.as_str())
        .bind(github_id)
        .bind(state)
        .execute(&mut *tx)
        .await
        .map_err(db("failed to record a GitHub deployment"))?;
        tx.commit()
            .await
            .map_err(db("failed to commit a GitHub deployment"))
    }

    async fn set_github_deployment_state(
        &self,
        deployment: DeploymentId,
        state: &str,
    ) -> StorageResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE github_deployments SET state = $1 WHERE deployment_id = $2")
            .bind(state)
            .bind(deployment)
            .execute(&mut *tx)
            .await
            .map_err(db("failed to update a GitHub deployment"))?;
        tx.commit()
            .await
            .map_err(db("failed to commit a GitHub deployment's state"))
    }

    async fn github_deployment_replaced(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        deployment: DeploymentId,
    ) -> StorageResult<Option<(DeploymentId, i64)>> {
        sqlx::query_as(
            "SELECT deployment_id, github_id FROM github_deployments \
             WHERE pipeline = $1 AND stage = $2 AND deployment_id < $3 AND state = 'success' \
             ORDER BY deployment_id DESC LIMIT 1",
        )
        .bind(pipeline.as_str())
        .bind(stage.as_str())
        .bind(deployment)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("failed to read GitHub deployments"))
    }

    async fn github_deployment_of(&self, deployment: DeploymentId) -> StorageResult<Option<i64>> {
        sqlx::query_scalar("SELECT github_id FROM github_deployments WHERE deployment_id = $1")
            .bind(deployment)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("failed to read a GitHub deployment"))
    }
}

#[derive(sqlx::FromRow)]
struct CheckRow {
    name: String,
    state: String,
    url: Option<String>,
    reported_at: OffsetDateTime,
}

impl TryFrom<CheckRow> for CiCheck {
    type Error = StorageError;

    fn try_from(r: CheckRow) -> Result<Self, Self::Error> {
        Ok(CiCheck {
            state: CheckState::parse(&r.state).ok_or_else(|| {
                StorageError::Database(anyhow::anyhow!(
                    "a stored CI check has an unknown state {:?}",
                    r.state
                ))
            })?,
            name: r.name,
            url: r.url,
            reported_at: r.reported_at,
        })
    }
}
