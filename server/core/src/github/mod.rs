//! GitHub, through octocrab: the API client with its rate-limit back-off ([`client`]),
//! a repository read without a clone ([`repo`]), the CI gate's checks ([`checks`]),
//! GitHub Deployments ([`deployments`]) and the webhooks GitHub sends ([`webhook`]):
//! verified by their signature, recorded once per delivery, answered at once and acted
//! on by a task of their own. The GitHub deployers are in `deploys/github.rs`.

pub mod checks;
pub mod client;
pub mod deployments;
pub mod repo;
pub mod webhook;
