//! Writing to the audit log. Reading it (filters, rows for pages and exports) is a read
//! model: [`crate::read::audit`].

use crate::store::{NewAudit, Storage};

/// Appends `entry`. The action it records has already happened and is not undone
/// when the log cannot be written: that is logged as an error for the operator.
pub async fn record(storage: &dyn Storage, entry: NewAudit) {
    if let Err(e) = storage.audit(entry).await {
        tracing::error!(error = %e, "failed to write the audit log");
    }
}
