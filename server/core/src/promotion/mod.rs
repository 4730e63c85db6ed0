//! Promotions and the commands around them: what the board's buttons, the form posts,
//! the JSON API and the CLI do to a pipeline.
//!
//! Every command checks the role policy, validates its input before it reaches git or
//! SQL, and is written to the audit log with its outcome, refusals included
//! ([`audited`]). The gates are evaluated from the facts one gatherer assembles
//! ([`facts`]) for the card, the API and the creating transaction alike.

pub mod approvals;
mod audited;
pub mod commands;
pub mod facts;
pub mod freezes;
pub mod lookup;
pub mod promote;
pub mod queue;
pub mod rollback;
pub mod signoff;

pub use commands::{cancel, fetch_now, lock, mark_ready, unlock, unmark_ready};
pub use facts::{evaluate_gates, gather};
pub use lookup::{pipeline, stage, StageRef};
pub use promote::{promote, Acknowledgement, Acknowledgements, PromoteOptions};
pub use rollback::{rollback, rollback_target};
