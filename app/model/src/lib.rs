//! Slipway's model: the vocabulary every other crate speaks, as plain Rust.
//!
//! Ids, SHAs, roles and the role policy, the deployment state machine, the promotion
//! gates, the login throttle, the read models pages render ([`views`]) and the error a
//! user may see ([`error::AppError`]). No SQL, no HTTP, no Leptos: it compiles for the
//! server and for the browser (`wasm32-unknown-unknown`), so both sides parse and
//! decide with the same rules.

pub mod acks;
pub mod audit;
pub mod client;
pub mod deployment;
pub mod error;
pub mod gates;
pub mod ids;
pub mod live;
#[cfg(feature = "openapi")]
mod openapi;
pub mod placement;
pub mod roles;
pub mod sha;
pub mod throttle;
pub mod time_fmt;
pub mod views;
pub mod vocabulary;

pub use error::AppError;
pub use ids::{
    DeploymentId, FreezeId, LoginId, PipelineId, QueuedId, RequestId, StageId, TokenId, UserId,
    UserName,
};
pub use roles::{Action, Role, RoleSet};
pub use sha::Sha;
