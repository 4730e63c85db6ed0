//! Every command is audited the same way: an entry that starts as "refused", settled
//! with the command's outcome and written whether the command succeeded or not, so the
//! log holds refusals as faithfully as actions.

use crate::store::{NewAudit, User};
use crate::Services;
use slipway_model::audit::{AuditAction, Outcome};
use slipway_model::error::AppError;

/// An entry for `action` on `pipeline` by `user`, refused until settled.
pub(super) fn audit_entry(user: &User, action: AuditAction, pipeline: &str) -> NewAudit {
    let mut entry = NewAudit::new(action, Outcome::Refused);
    entry.actor = Some(user.name.to_string());
    entry.pipeline = Some(pipeline.into());
    entry
}

/// Settles `entry` with `result` and writes it: `ok` plus whatever `on_ok` adds, or
/// `refused` with the refusal as detail — after the detail already there (a lock's or
/// rollback's reason), when there is one.
pub(super) async fn record<T>(
    services: &Services,
    entry: NewAudit,
    result: &Result<T, AppError>,
    on_ok: impl FnOnce(&T, &mut NewAudit),
) {
    match result {
        Ok(value) => write(services, settled_ok(entry, value, on_ok)).await,
        Err(e) => write_refused(services, entry, e).await,
    }
}

/// `entry` settled as done, with whatever `on_ok` adds (for a command whose entry is
/// written in the transaction that does it, like a deployment's).
pub(super) fn settled_ok<T>(
    mut entry: NewAudit,
    value: &T,
    on_ok: impl FnOnce(&T, &mut NewAudit),
) -> NewAudit {
    entry.outcome = Outcome::Ok;
    on_ok(value, &mut entry);
    entry
}

/// Writes `entry` as refused by `e`, after the detail already there.
pub(super) async fn write_refused(services: &Services, mut entry: NewAudit, e: &AppError) {
    if let AppError::Refused { kind, .. } = e {
        crate::measures::refused(*kind);
    }
    entry.outcome = Outcome::Refused;
    entry.detail = Some(match entry.detail.take() {
        Some(context) => format!("{context} — {e}"),
        None => e.to_string(),
    });
    write(services, entry).await;
}

/// Writes an entry as it is.
pub(super) async fn write(services: &Services, entry: NewAudit) {
    crate::audit::record(services.storage.as_ref(), entry).await;
}
