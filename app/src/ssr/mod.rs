//! Server-side glue of the UI crate (the `ssr` feature): how server functions reach
//! the services and the current user, and the flash cookie a form post leaves for the
//! next page. The services themselves live in `slipway-core`.

pub mod context;
pub mod csp;
pub mod flash;
