//! [`SignOffStore`].

use super::*;
use slipway_model::error::AppError;

const SIGN_OFF_SELECT: &str =
    "SELECT s.stage_id, s.sha, u.name AS signed_by_name, s.note, s.signed_at, \
     s.ended_at, s.ended_how, e.name AS ended_by_name, s.end_reason \
     FROM sign_offs s JOIN users u ON u.id = s.signed_by LEFT JOIN users e ON e.id = s.ended_by";

/// A `sign_offs` row joined with the names of who signed and who ended it.
#[derive(sqlx::FromRow)]
struct SignOffRow {
    stage_id: String,
    sha: String,
    signed_by_name: String,
    note: Option<String>,
    signed_at: OffsetDateTime,
    ended_at: Option<OffsetDateTime>,
    ended_how: Option<String>,
    ended_by_name: Option<String>,
    end_reason: Option<String>,
}

impl TryFrom<SignOffRow> for SignOffRecord {
    type Error = StorageError;

    fn try_from(row: SignOffRow) -> StorageResult<SignOffRecord> {
        let ended = match (row.ended_at, row.ended_how.as_deref()) {
            (None, _) => None,
            (Some(at), how) => Some(SignOffEnd {
                how: match how {
                    Some("withdrawn") => SignOffEndKind::Withdrawn,
                    Some("voided") => SignOffEndKind::Voided,
                    other => {
                        return Err(StorageError::Database(anyhow::anyhow!(
                            "a stored sign-off ended in an unknown way: {other:?}"
                        )))
                    }
                },
                by: row.ended_by_name,
                reason: row.end_reason.unwrap_or_default(),
                at,
            }),
        };
        Ok(SignOffRecord {
            stage: row.stage_id,
            sha: Sha::parse(&row.sha).map_err(db("a stored SHA is invalid"))?,
            by: row.signed_by_name,
            note: row.note,
            at: row.signed_at,
            ended,
        })
    }
}

fn sign_off_from_row(row: &DbRow) -> StorageResult<SignOffRecord> {
    use sqlx::FromRow as _;
    SignOffRow::from_row(row)
        .map_err(db("failed to read a sign-off row"))?
        .try_into()
}

/// The sign-off in force for (pipeline, stage, SHA), with any executor.
pub(super) async fn in_force(
    conn: &mut Conn,
    pipeline: &PipelineId,
    stage: &StageId,
    sha: &Sha,
) -> StorageResult<Option<SignOffRecord>> {
    sqlx::query(&format!(
        "{SIGN_OFF_SELECT} WHERE s.pipeline_id = $1 AND s.stage_id = $2 AND s.sha = $3 AND s.ended_at IS NULL"
    ))
    .bind(pipeline.as_str())
    .bind(stage.as_str())
    .bind(sha.as_str())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db("failed to read a sign-off"))?
    .map(|r| sign_off_from_row(&r))
    .transpose()
}

/// Voids the sign-off in force of `sha` on a stage, inside the caller's transaction
/// (the one creating the rollback that voids it).
pub(super) async fn void(
    tx: &mut sqlx::Transaction<'_, Db>,
    now: OffsetDateTime,
    pipeline: &PipelineId,
    stage: &StageId,
    sha: &Sha,
    by: UserId,
    reason: &str,
) -> StorageResult<()> {
    end(
        &mut *tx,
        now,
        pipeline,
        stage,
        sha,
        by,
        SignOffEndKind::Voided,
        reason,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn end(
    conn: &mut Conn,
    now: OffsetDateTime,
    pipeline: &PipelineId,
    stage: &StageId,
    sha: &Sha,
    by: UserId,
    how: SignOffEndKind,
    reason: &str,
) -> StorageResult<()> {
    sqlx::query(
        "UPDATE sign_offs SET ended_at = $1, ended_how = $2, ended_by = $3, end_reason = $4 \
         WHERE pipeline_id = $5 AND stage_id = $6 AND sha = $7 AND ended_at IS NULL",
    )
    .bind(now)
    .bind(how.as_str())
    .bind(by)
    .bind(reason)
    .bind(pipeline.as_str())
    .bind(stage.as_str())
    .bind(sha.as_str())
    .execute(&mut *conn)
    .await
    .map_err(db("failed to end a sign-off"))?;
    Ok(())
}

/// Reads what a sign-off command is checked against, inside its transaction.
async fn facts(
    conn: &mut Conn,
    now: OffsetDateTime,
    key: SignOffKey<'_>,
) -> StorageResult<SignOffFacts> {
    // The stage's standing is what the next stage's previous-stage gate reads.
    let seen_from_next = read_snapshot(
        &mut *conn,
        now,
        key.pipeline,
        key.next_stage,
        Some(key.stage),
        Some(key.sha),
    )
    .await?;
    let moved_on = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM deployments WHERE pipeline_id = $1 AND stage_id = $2 AND sha = $3 \
         AND state IN ($4, $5, $6, $7)",
    )
    .bind(key.pipeline.as_str())
    .bind(key.next_stage.as_str())
    .bind(key.sha.as_str())
    .bind(ACTIVE[0])
    .bind(ACTIVE[1])
    .bind(ACTIVE[2])
    .bind(SUCCEEDED)
    .fetch_one(&mut *conn)
    .await
    .map_err(db("failed to read the next stage"))?
        > 0;
    Ok(SignOffFacts {
        succeeded_here: seen_from_next.previous_succeeded,
        rolled_back_here: seen_from_next.previous_rolled_back,
        in_force: seen_from_next.previous_sign_off,
        moved_on,
    })
}

fn checked(check: SignOffCheck<'_>, facts: &SignOffFacts) -> Result<(), CheckedError> {
    check(facts).map_err(CheckedError::Refused)
}

#[async_trait]
impl SignOffStore for Store {
    async fn sign_off(
        &self,
        key: SignOffKey<'_>,
        by: UserId,
        note: Option<&str>,
        check: SignOffCheck<'_>,
    ) -> Result<SignOffRecord, CheckedError> {
        let mut tx = self.write_tx().await?;
        let now = self.clock.now();
        checked(check, &facts(&mut tx, now, key).await?)?;
        let inserted = sqlx::query(
            "INSERT INTO sign_offs (pipeline_id, stage_id, sha, signed_by, note, signed_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(key.pipeline.as_str())
        .bind(key.stage.as_str())
        .bind(key.sha.as_str())
        .bind(by)
        .bind(note)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            // Only reachable if a check ever let a second one through: the index holds.
            Err(e) if is_unique_violation(&e) => {
                return Err(CheckedError::Refused(AppError::BadRequest(
                    "this SHA is already signed off on this stage".into(),
                )))
            }
            Err(e) => return Err(db("failed to insert a sign-off")(e).into()),
        }
        let record = in_force(&mut tx, key.pipeline, key.stage, key.sha)
            .await?
            .ok_or_else(|| StorageError::Database(anyhow::anyhow!("a sign-off vanished")))?;
        tx.commit()
            .await
            .map_err(db("failed to commit a sign-off"))?;
        Ok(record)
    }

    async fn withdraw_sign_off(
        &self,
        key: SignOffKey<'_>,
        by: UserId,
        reason: &str,
        check: SignOffCheck<'_>,
    ) -> Result<SignOffRecord, CheckedError> {
        let mut tx = self.write_tx().await?;
        let now = self.clock.now();
        let facts = facts(&mut tx, now, key).await?;
        checked(check, &facts)?;
        let Some(mut record) = facts.in_force else {
            return Err(CheckedError::Refused(AppError::NotFound(
                "this SHA has no sign-off in force on this stage".into(),
            )));
        };
        end(
            &mut tx,
            now,
            key.pipeline,
            key.stage,
            key.sha,
            by,
            SignOffEndKind::Withdrawn,
            reason,
        )
        .await?;
        tx.commit()
            .await
            .map_err(db("failed to commit a withdrawal"))?;
        let name: Option<String> = sqlx::query_scalar("SELECT name FROM users WHERE id = $1")
            .bind(by)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("failed to read a user's name"))?;
        record.ended = Some(SignOffEnd {
            how: SignOffEndKind::Withdrawn,
            by: name,
            reason: reason.to_owned(),
            at: now,
        });
        Ok(record)
    }

    async fn sign_offs_in_force(
        &self,
        pipeline: &PipelineId,
        shas: &[Sha],
    ) -> StorageResult<Vec<SignOffRecord>> {
        if shas.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::<Db>::new(format!(
            "{SIGN_OFF_SELECT} WHERE s.ended_at IS NULL AND s.pipeline_id = "
        ));
        query.push_bind(pipeline.as_str());
        query.push(" AND s.sha");
        push_in(&mut query, shas);
        let rows = query
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(db("failed to read sign-offs"))?;
        rows.iter().map(sign_off_from_row).collect()
    }

    async fn sign_off_history(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        limit: i64,
    ) -> StorageResult<Vec<SignOffRecord>> {
        let rows = sqlx::query(&format!(
            "{SIGN_OFF_SELECT} WHERE s.pipeline_id = $1 AND s.stage_id = $2 ORDER BY s.id DESC LIMIT $3"
        ))
        .bind(pipeline.as_str())
        .bind(stage.as_str())
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read a stage's sign-offs"))?;
        rows.iter().map(sign_off_from_row).collect()
    }
}
