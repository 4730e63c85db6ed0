//! What every aggregate's queries share, on either backend: error mapping, row
//! decoding, the deployment and lock rows, and the stage snapshot the creating
//! transaction evaluates. Compiled once per backend (see `store/mod.rs`).

use super::*;

/// Waits for PostgreSQL's transaction-scoped advisory lock `key` (held until the
/// transaction ends). Only PostgreSQL's code paths call it.
pub(super) async fn advisory_xact_lock(conn: &mut Conn, key: i64) -> StorageResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(key)
        .execute(conn)
        .await
        .map_err(db("failed to take a lock"))?;
    Ok(())
}

pub(super) fn db<E: Into<anyhow::Error>>(context: &'static str) -> impl FnOnce(E) -> StorageError {
    move |e| StorageError::Database(e.into().context(context))
}

/// What a promoter confirmed (checklist) and acknowledged, as an approval request or a
/// queued promotion stores them for the deploy the server starts later: JSON, `NULL`
/// for nothing.
pub(super) fn encode_intent(
    checklist: Option<&Vec<String>>,
    acks: &slipway_model::acks::Acknowledgements,
) -> StorageResult<(Option<String>, Option<String>)> {
    let checklist = checklist
        .map(serde_json::to_string)
        .transpose()
        .map_err(db("failed to encode a checklist"))?;
    let acks = (*acks != Default::default())
        .then(|| serde_json::to_string(acks))
        .transpose()
        .map_err(db("failed to encode acknowledgements"))?;
    Ok((checklist, acks))
}

/// [`encode_intent`]'s columns read back.
pub(super) fn decode_intent(
    checklist: Option<&str>,
    acks: Option<&str>,
) -> StorageResult<(Option<Vec<String>>, slipway_model::acks::Acknowledgements)> {
    let checklist = checklist
        .map(serde_json::from_str)
        .transpose()
        .map_err(db("a stored checklist is not a JSON list"))?;
    let acks = acks
        .map(serde_json::from_str)
        .transpose()
        .map_err(db("stored acknowledgements are not valid"))?
        .unwrap_or_default();
    Ok((checklist, acks))
}

/// Reads column `name` of a row, with the column in the error.
pub(super) fn col<'r, T>(row: &'r DbRow, name: &str) -> StorageResult<T>
where
    T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
{
    row.try_get(name).map_err(|e| {
        StorageError::Database(
            anyhow::Error::new(e).context(format!("failed to read column {name}")),
        )
    })
}

pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

pub(super) const LOGIN_SESSION_COLUMNS: &str =
    "id, user_id, created_at, expires_at, last_seen_at, client, user_agent";

pub(super) fn login_session_from_row(row: &DbRow) -> StorageResult<LoginSession> {
    use sqlx::FromRow as _;
    LoginSession::from_row(row).map_err(db("failed to read a login session row"))
}

pub(super) const DEPLOYMENT_COLUMNS: &str = "d.id, d.pipeline_id, d.stage_id, d.sha, d.previous_sha, d.kind, d.state, \
     u.name AS requested_by, d.reason, d.created_at, d.started_at, d.finished_at, d.exit_code, d.pgid, d.checklist, d.emergency_reason, d.migrations, d.migrations_note, d.retries, d.drift_overwritten, d.drift_note, d.runner";

pub(super) fn deployment_select(filter: &str) -> String {
    format!("SELECT {DEPLOYMENT_COLUMNS} FROM deployments d LEFT JOIN users u ON u.id = d.requested_by {filter}")
}

pub(super) fn sha_col(row: &DbRow, col: &str) -> StorageResult<Sha> {
    let s: String = row.try_get(col).map_err(db("failed to read a SHA"))?;
    Sha::parse(&s).map_err(db("a stored SHA is invalid"))
}

/// A `deployments` row joined with its requester's name, as stored.
#[derive(sqlx::FromRow)]
pub(super) struct DeploymentRow {
    id: DeploymentId,
    pipeline_id: String,
    stage_id: String,
    sha: String,
    previous_sha: Option<String>,
    // Decoded by the model's `sqlx::Type`: an unknown stored name is a decode error.
    kind: DeploymentKind,
    state: DeploymentState,
    requested_by: Option<String>,
    reason: Option<String>,
    created_at: OffsetDateTime,
    started_at: Option<OffsetDateTime>,
    finished_at: Option<OffsetDateTime>,
    exit_code: Option<i32>,
    pgid: Option<i32>,
    /// A JSON array of strings.
    checklist: Option<String>,
    emergency_reason: Option<String>,
    /// A JSON array of strings.
    migrations: Option<String>,
    migrations_note: Option<String>,
    /// A JSON array of retries.
    retries: Option<String>,
    drift_overwritten: Option<String>,
    drift_note: Option<String>,
}

impl TryFrom<DeploymentRow> for Deployment {
    type Error = StorageError;

    /// Parses the stored SHAs through the model, so a corrupt row is an error naming
    /// what is wrong, never a deployment of something that is not a commit.
    fn try_from(row: DeploymentRow) -> StorageResult<Deployment> {
        let sha = |s: &str| Sha::parse(s).map_err(db("a stored SHA is invalid"));
        let checklist = row
            .checklist
            .as_deref()
            .map(serde_json::from_str::<Vec<String>>)
            .transpose()
            .map_err(db("a stored checklist is not a JSON list of strings"))?;
        let migrations = row
            .migrations
            .as_deref()
            .map(serde_json::from_str::<Vec<String>>)
            .transpose()
            .map_err(db(
                "a stored list of migrations is not a JSON list of strings",
            ))?
            .map(|files| MigrationsAck {
                files,
                note: row.migrations_note,
            });
        let retries = row
            .retries
            .as_deref()
            .map(serde_json::from_str::<Vec<Retry>>)
            .transpose()
            .map_err(db("a stored list of retries is not valid"))?
            .unwrap_or_default();
        Ok(Deployment {
            id: row.id,
            sha: sha(&row.sha)?,
            previous_sha: row.previous_sha.as_deref().map(sha).transpose()?,
            kind: row.kind,
            state: row.state,
            pipeline: row.pipeline_id,
            stage: row.stage_id,
            requested_by: row.requested_by,
            reason: row.reason,
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            exit_code: row.exit_code,
            pgid: row.pgid,
            checklist,
            emergency_reason: row.emergency_reason,
            migrations,
            drift: row.drift_overwritten.map(|runs| DriftAck {
                runs,
                note: row.drift_note,
            }),
            retries,
        })
    }
}

pub(super) fn deployment_from_row(row: &DbRow) -> StorageResult<Deployment> {
    use sqlx::FromRow as _;
    DeploymentRow::from_row(row)
        .map_err(db("failed to read a deployment row"))?
        .try_into()
}

/// A `locks` row joined with its holder's name.
#[derive(sqlx::FromRow)]
pub(super) struct LockRow {
    stage_id: String,
    locked_by_name: String,
    reason: String,
    locked_at: OffsetDateTime,
    expires_at: Option<OffsetDateTime>,
}

impl From<LockRow> for Lock {
    fn from(row: LockRow) -> Lock {
        Lock {
            stage: row.stage_id,
            by: row.locked_by_name,
            reason: row.reason,
            at: row.locked_at,
            expires_at: row.expires_at,
        }
    }
}

pub(super) fn lock_from_row(row: &DbRow) -> StorageResult<Lock> {
    use sqlx::FromRow as _;
    Ok(LockRow::from_row(row)
        .map_err(db("failed to read a lock row"))?
        .into())
}

pub(super) const LOCK_SELECT: &str =
    "SELECT l.stage_id, u.name AS locked_by_name, l.reason, l.locked_at, l.expires_at \
     FROM locks l JOIN users u ON u.id = l.locked_by \
     WHERE l.pipeline_id = $1 AND (l.expires_at IS NULL OR l.expires_at > $2)";

/// The state a stage's current SHA was deployed in.
pub(super) const SUCCEEDED: DeploymentState = DeploymentState::Succeeded;

/// The active states, for `state IN (?, ?)`.
pub(super) const ACTIVE: [DeploymentState; 3] = DeploymentState::ACTIVE;

/// Appends ` IN (…)` over `shas`, one bound parameter each (callers read nothing for an
/// empty list: `IN ()` is not SQL).
pub(super) fn push_in<'a>(query: &mut QueryBuilder<'a, Db>, shas: &'a [Sha]) {
    query.push(" IN (");
    let mut list = query.separated(", ");
    for s in shas {
        list.push_bind(s.as_str());
    }
    list.push_unseparated(")");
}

/// Runs a query returning `(sha, stage_id)` rows, completed by ` IN (…)` over `shas`
/// (bound, one parameter each); an empty list reads nothing.
pub(super) async fn sha_stage_pairs<'a>(
    pool: &Pool,
    query: QueryBuilder<'a, Db>,
    shas: &'a [Sha],
) -> StorageResult<Vec<(Sha, String)>> {
    sha_stage_pairs_then(pool, query, shas, |_| {}).await
}

/// [`sha_stage_pairs`] with `then` appending what follows the list (GROUP BY, HAVING).
pub(super) async fn sha_stage_pairs_then<'a>(
    pool: &Pool,
    mut query: QueryBuilder<'a, Db>,
    shas: &'a [Sha],
    then: impl FnOnce(&mut QueryBuilder<'a, Db>),
) -> StorageResult<Vec<(Sha, String)>> {
    if shas.is_empty() {
        return Ok(Vec::new());
    }
    push_in(&mut query, shas);
    then(&mut query);
    let rows = query
        .build()
        .fetch_all(pool)
        .await
        .map_err(db("failed to read deployments by SHA"))?;
    rows.iter()
        .map(|r| Ok((sha_col(r, "sha")?, col(r, "stage_id")?)))
        .collect()
}

/// A stage's active deployment (`$3`–`$5`: the active states). At most one per stage (the
/// unique index `deployments_one_active_per_stage`), so no ORDER BY: with one, SQLite
/// walked the stage's whole history newest first to find none (2.8 ms per stage at
/// 10,000 deployments, in every board computation and every promotion's check; the
/// bench showed it) instead of looking the three states up in `deployments_by_stage`.
pub(super) const ACTIVE_DEPLOYMENT: &str =
    "WHERE d.pipeline_id = $1 AND d.stage_id = $2 AND d.state IN ($3, $4, $5) LIMIT 1";

/// Reads a stage's facts with any executor (the pool for display, the write
/// transaction for the check before an insert).
pub(super) async fn read_snapshot(
    conn: &mut Conn,
    now: OffsetDateTime,
    pipeline: &PipelineId,
    stage: &StageId,
    previous_stage: Option<&StageId>,
    sha: Option<&Sha>,
) -> StorageResult<StageSnapshot> {
    let one = |filter: &str| deployment_select(filter);
    let current = sqlx::query(&one(
        "WHERE d.pipeline_id = $1 AND d.stage_id = $2 AND d.state = $3 ORDER BY d.id DESC LIMIT 1",
    ))
    .bind(pipeline.as_str())
    .bind(stage.as_str())
    .bind(SUCCEEDED)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db("failed to read the current deployment"))?
    .map(|r| deployment_from_row(&r))
    .transpose()?;
    let active = sqlx::query(&one(ACTIVE_DEPLOYMENT))
        .bind(pipeline.as_str())
        .bind(stage.as_str())
        .bind(ACTIVE[0])
        .bind(ACTIVE[1])
        .bind(ACTIVE[2])
        .fetch_optional(&mut *conn)
        .await
        .map_err(db("failed to read the active deployment"))?
        .map(|r| deployment_from_row(&r))
        .transpose()?;
    // At most one deployment of a stage is active (unique index), so the last ended one
    // is among the newest two: a bounded read whatever the history's length.
    let newest = sqlx::query(&one(
        "WHERE d.pipeline_id = $1 AND d.stage_id = $2 ORDER BY d.id DESC LIMIT 2",
    ))
    .bind(pipeline.as_str())
    .bind(stage.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(db("failed to read the last deployment"))?;
    let mut last_finished = None;
    for row in &newest {
        let d = deployment_from_row(row)?;
        if !d.state.is_active() {
            last_finished = Some(d);
            break;
        }
    }
    let lock = sqlx::query(&format!("{LOCK_SELECT} AND l.stage_id = $3"))
        .bind(pipeline.as_str())
        .bind(now)
        .bind(stage.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db("failed to read the lock"))?
        .map(|r| lock_from_row(&r))
        .transpose()?;
    let mut snapshot = StageSnapshot {
        current,
        active,
        last_finished,
        lock,
        ..StageSnapshot::default()
    };
    snapshot.freezes = freezes::in_force(&mut *conn, now, pipeline)
        .await?
        .into_iter()
        .filter(|f| f.closes(stage.as_str()))
        .collect();
    snapshot.health = health::of_pipeline(&mut *conn, pipeline).await?;
    snapshot.drift = versions::of_pipeline(&mut *conn, pipeline)
        .await?
        .into_iter()
        .find(|d| d.stage == stage.as_str());
    if let Some(sha) = sha {
        snapshot.approval = approvals::open_request(&mut *conn, pipeline, stage, sha).await?;
    }
    if let (Some(sha), Some(prev)) = (sha, previous_stage) {
        snapshot.previous_sign_off = signoffs::in_force(&mut *conn, pipeline, prev, sha).await?;
    }
    if let Some(sha) = sha {
        snapshot.marked_ready = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM ready_marks WHERE pipeline_id = $1 AND sha = $2",
        )
        .bind(pipeline.as_str())
        .bind(sha.as_str())
        .fetch_one(&mut *conn)
        .await
        .map_err(db("failed to read the ready mark"))?
            > 0;
        if let Some(prev) = previous_stage {
            // The latest finished attempt decides: a SHA that succeeded on the previous
            // stage once and failed a redeploy there since has not passed it.
            let latest: Option<(DeploymentId, DeploymentState)> = sqlx::query_as(
                "SELECT id, state FROM deployments WHERE pipeline_id = $1 AND stage_id = $2 AND sha = $3 \
                 AND state NOT IN ($4, $5, $6) ORDER BY id DESC LIMIT 1",
            )
            .bind(pipeline.as_str())
            .bind(prev.as_str())
            .bind(sha.as_str())
            .bind(ACTIVE[0])
            .bind(ACTIVE[1])
            .bind(ACTIVE[2])
            .fetch_optional(&mut *conn)
            .await
            .map_err(db("failed to read the previous stage"))?;
            match latest {
                Some((last, SUCCEEDED)) => {
                    snapshot.previous_succeeded = true;
                    snapshot.previous_rolled_back = sqlx::query_scalar::<_, i64>(
                        "SELECT COUNT(*) FROM deployments WHERE pipeline_id = $1 AND stage_id = $2 AND kind = $3 \
                         AND state = $4 AND previous_sha = $5 AND id > $6",
                    )
                    .bind(pipeline.as_str())
                    .bind(prev.as_str())
                    .bind(DeploymentKind::Rollback)
                    .bind(SUCCEEDED)
                    .bind(sha.as_str())
                    .bind(last)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db("failed to read rollbacks"))?
                        > 0;
                }
                Some((last, _)) => {
                    snapshot.previous_failed_since = sqlx::query_scalar::<_, i64>(
                        "SELECT COUNT(*) FROM deployments WHERE pipeline_id = $1 AND stage_id = $2 \
                         AND sha = $3 AND state = $4 AND id < $5",
                    )
                    .bind(pipeline.as_str())
                    .bind(prev.as_str())
                    .bind(sha.as_str())
                    .bind(SUCCEEDED)
                    .bind(last)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db("failed to read the previous stage"))?
                        > 0;
                }
                None => {}
            }
        }
    }
    Ok(snapshot)
}

#[async_trait]
impl Storage for Store {
    fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    fn event_wakes(&self) -> Option<tokio::sync::mpsc::Receiver<()>> {
        super::event_wakes(&self.pool)
    }

    async fn check_ready(&self) -> StorageResult<()> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_all(&self.pool)
                .await
                .map_err(db("failed to read the migration history"))?;
        let missing: Vec<i64> = MIGRATOR
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(StorageError::Database(anyhow::anyhow!(
                "migrations not applied: {missing:?}"
            )))
        }
    }
}
