//! GitHub: the webhooks it sends ([`webhook`]): verified by their signature, recorded
//! once per delivery, answered at once and acted on by a task of their own. A `push` to
//! a pipeline's branch on its GitHub repository fetches the pipeline's mirror at once,
//! so the commit is on the board within seconds instead of at the next periodic fetch.
//!
//! Next (issue 13): repositories read through the API without a clone (octocrab), the
//! CI gate from check runs and statuses, GitHub Deployments, an Actions deployer.

pub mod checks;
pub mod client;
pub mod deployments;
pub mod repo;
pub mod webhook;
