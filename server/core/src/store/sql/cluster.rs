//! [`ClusterStore`].

use super::*;

const REPLICA_COLUMNS: &str = "id, host, pid, data_dir, started_at, heartbeat_at, stopped_at";

type ReplicaRow = (
    String,
    String,
    i32,
    String,
    OffsetDateTime,
    OffsetDateTime,
    Option<OffsetDateTime>,
);

fn replica_from_row(
    (id, host, pid, data_dir, started_at, heartbeat_at, stopped_at): ReplicaRow,
) -> Replica {
    Replica {
        id: ReplicaId::from_stored(id),
        host,
        pid,
        data_dir,
        started_at,
        heartbeat_at,
        stopped_at,
    }
}

#[async_trait]
impl ClusterStore for Store {
    async fn register_replica(&self, r: &Replica) -> StorageResult<()> {
        sqlx::query(&format!(
            "INSERT INTO replicas ({REPLICA_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, NULL)"
        ))
        .bind(r.id.as_str())
        .bind(&r.host)
        .bind(r.pid)
        .bind(&r.data_dir)
        .bind(r.started_at)
        .bind(r.heartbeat_at)
        .execute(self.liveness())
        .await
        .map_err(db("failed to register this replica"))?;
        Ok(())
    }

    async fn heartbeat(&self, id: &ReplicaId) -> StorageResult<bool> {
        let done = sqlx::query(
            "UPDATE replicas SET heartbeat_at = $1 WHERE id = $2 AND stopped_at IS NULL",
        )
        .bind(self.clock.now())
        .bind(id.as_str())
        .execute(self.liveness())
        .await
        .map_err(db("failed to record a heartbeat"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn revive_replica(&self, r: &Replica) -> StorageResult<()> {
        sqlx::query("UPDATE replicas SET stopped_at = NULL, heartbeat_at = $1 WHERE id = $2")
            .bind(r.heartbeat_at)
            .bind(r.id.as_str())
            .execute(self.liveness())
            .await
            .map_err(db("failed to register this replica again"))?;
        Ok(())
    }

    async fn stop_replica(&self, id: &ReplicaId) -> StorageResult<bool> {
        let done =
            sqlx::query("UPDATE replicas SET stopped_at = $1 WHERE id = $2 AND stopped_at IS NULL")
                .bind(self.clock.now())
                .bind(id.as_str())
                .execute(self.liveness())
                .await
                .map_err(db("failed to mark a replica stopped"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn try_lease(
        &self,
        name: &str,
        holder: &ReplicaId,
        until: OffsetDateTime,
    ) -> StorageResult<bool> {
        // One statement, so two replicas racing for a free or lapsed lease cannot both
        // win: the conflicting row is locked and the condition read on its latest
        // version (PostgreSQL), or writers take turns (SQLite).
        let done = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at < $4",
        )
        .bind(name)
        .bind(holder.as_str())
        .bind(until)
        .bind(self.clock.now())
        .execute(self.liveness())
        .await
        .map_err(db("failed to take a lease"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_lease(&self, name: &str, holder: &ReplicaId) -> StorageResult<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder.as_str())
            .execute(self.liveness())
            .await
            .map_err(db("failed to release a lease"))?;
        Ok(())
    }

    async fn request_cancel(&self, id: DeploymentId) -> StorageResult<bool> {
        let done = sqlx::query(
            "UPDATE deployments SET cancel_requested_at = $1 WHERE id = $2 AND state IN ($3, $4, $5)",
        )
        .bind(self.clock.now())
        .bind(id)
        .bind(ACTIVE[0])
        .bind(ACTIVE[1])
        .bind(ACTIVE[2])
        .execute(&self.pool)
        .await
        .map_err(db("failed to record a cancel request"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn cancel_requests(&self, runner: &ReplicaId) -> StorageResult<Vec<DeploymentId>> {
        sqlx::query_scalar(
            "SELECT id FROM deployments WHERE runner = $1 AND cancel_requested_at IS NOT NULL \
             AND state IN ($2, $3, $4)",
        )
        .bind(runner.as_str())
        .bind(ACTIVE[0])
        .bind(ACTIVE[1])
        .bind(ACTIVE[2])
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read cancel requests"))
    }

    async fn interrupted_on_host(
        &self,
        host: &str,
        since: OffsetDateTime,
    ) -> StorageResult<Vec<(DeploymentId, String)>> {
        sqlx::query_as(
            "SELECT d.id, r.data_dir FROM deployments d JOIN replicas r ON r.id = d.runner \
             WHERE d.state = $1 AND r.host = $2 AND d.finished_at > $3 ORDER BY d.id",
        )
        .bind(DeploymentState::Interrupted)
        .bind(host)
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read interrupted deployments"))
    }

    async fn counts(&self) -> StorageResult<Counts> {
        let (active_deployments, queued_promotions, locked_stages, pending_approvals, replicas) =
            sqlx::query_as::<_, (i64, i64, i64, i64, i64)>(
                "SELECT \
                 (SELECT COUNT(*) FROM deployments WHERE state IN ($1, $2, $3)), \
                 (SELECT COUNT(*) FROM queued_promotions WHERE state = 'waiting'), \
                 (SELECT COUNT(*) FROM locks WHERE expires_at IS NULL OR expires_at > $4), \
                 (SELECT COUNT(*) FROM approval_requests WHERE state = 'pending'), \
                 (SELECT COUNT(*) FROM replicas WHERE stopped_at IS NULL)",
            )
            .bind(ACTIVE[0])
            .bind(ACTIVE[1])
            .bind(ACTIVE[2])
            .bind(self.clock.now())
            .fetch_one(&self.pool)
            .await
            .map_err(db("failed to count for the metrics"))?;
        Ok(Counts {
            active_deployments,
            queued_promotions,
            locked_stages,
            pending_approvals,
            replicas,
        })
    }

    fn pool_status(&self) -> PoolStatus {
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        PoolStatus {
            open: self.pool.size(),
            idle,
            max: self.pool.options().get_max_connections(),
        }
    }

    async fn unfinished_with_runners(&self) -> StorageResult<Vec<Unfinished>> {
        let rows = sqlx::query(&deployment_select(
            "WHERE d.state IN ($1, $2, $3) ORDER BY d.id",
        ))
        .bind(ACTIVE[0])
        .bind(ACTIVE[1])
        .bind(ACTIVE[2])
        .fetch_all(self.liveness())
        .await
        .map_err(db("failed to list unfinished deployments"))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let runner: Option<String> = col(row, "runner")?;
            let deployment = deployment_from_row(row)?;
            let runner = match runner {
                None => None,
                Some(id) => sqlx::query_as::<_, ReplicaRow>(&format!(
                    "SELECT {REPLICA_COLUMNS} FROM replicas WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(self.liveness())
                .await
                .map_err(db("failed to read a deployment's runner"))?
                .map(replica_from_row),
            };
            out.push(Unfinished { deployment, runner });
        }
        Ok(out)
    }
}
