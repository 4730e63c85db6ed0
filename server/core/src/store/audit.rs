//! The audit log: appended to, never changed.

use super::*;

/// An audit record to append.
#[derive(Debug, Clone)]
pub struct NewAudit {
    /// Who (user name), if anyone.
    pub actor: Option<String>,
    /// What was done.
    pub action: AuditAction,
    /// Pipeline concerned.
    pub pipeline: Option<String>,
    /// Stage concerned.
    pub stage: Option<String>,
    /// SHA concerned.
    pub sha: Option<String>,
    /// Other target (deployment id, user name).
    pub target: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// One line of detail (refusal reason…).
    pub detail: Option<String>,
}

impl NewAudit {
    /// An entry for `action` ending in `outcome`, with nothing else filled in.
    pub fn new(action: AuditAction, outcome: Outcome) -> Self {
        Self {
            actor: None,
            action,
            pipeline: None,
            stage: None,
            sha: None,
            target: None,
            outcome,
            detail: None,
        }
    }
}

/// Which audit entries to read; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Exact actor name.
    pub actor: Option<String>,
    /// Exact action (`promote`, `login`…).
    pub action: Option<String>,
    /// Exact pipeline id.
    pub pipeline: Option<String>,
    /// Exact outcome (`ok`, `refused`…).
    pub outcome: Option<String>,
    /// Only entries with a smaller id (paging backwards).
    pub before_id: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

/// A stored audit record.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditEntry {
    /// Id (monotonic).
    pub id: i64,
    /// When (UTC).
    pub at: OffsetDateTime,
    pub actor: Option<String>,
    pub action: String,
    #[sqlx(rename = "pipeline_id")]
    pub pipeline: Option<String>,
    #[sqlx(rename = "stage_id")]
    pub stage: Option<String>,
    pub sha: Option<String>,
    /// What else it concerned: a deployment (`deployment #7`), a user, a token.
    pub target: Option<String>,
    pub outcome: String,
    pub detail: Option<String>,
}

/// The append-only audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends to the audit log.
    async fn audit(&self, entry: NewAudit) -> StorageResult<()>;

    /// The newest audit entries (at most `limit`).
    async fn audit_entries(&self, limit: i64) -> StorageResult<Vec<AuditEntry>> {
        self.audit_query(&AuditFilter {
            limit,
            ..AuditFilter::default()
        })
        .await
    }

    /// Audit entries matching `filter`, newest first.
    async fn audit_query(&self, filter: &AuditFilter) -> StorageResult<Vec<AuditEntry>>;
}
