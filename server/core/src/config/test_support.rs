//! Config values for unit tests elsewhere in the core.

use super::{DeployerConfig, StageConfig};
use slipway_model::{RoleSet, StageId};
use std::collections::BTreeMap;
use std::time::Duration;

/// A stage that runs `true`, with the defaults of a non-production stage; tests change
/// the fields they are about.
pub(crate) fn stage(id: &str, label: &str) -> StageConfig {
    StageConfig {
        id: StageId::parse(id).expect("a valid stage id"),
        label: label.into(),
        production: false,
        promote_roles: RoleSet::EMPTY,
        rollback_roles: RoleSet::EMPTY,
        fast_forward_only: false,
        sign_off: None,
        checklist: Vec::new(),
        windows: Vec::new(),
        approval: None,
        health: None,
        version: None,
        smoke: None,
        requires_healthy: Vec::new(),
        artifact: None,
        deployer: DeployerConfig {
            kind: super::DeployerKind::Command(vec!["true".into()]),
            env: BTreeMap::new(),
            pass_env: Vec::new(),
            workdir: None,
            timeout: Duration::from_secs(60),
            max_log_bytes: 1024 * 1024,
            retry: None,
        },
    }
}
