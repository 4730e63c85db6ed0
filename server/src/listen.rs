//! Accepting HTTP connections with the limits a server reachable by anyone needs.
//!
//! `axum::serve` keeps a connection as long as the client does: a client that sends
//! half a request, or opens connections and says nothing, holds a file descriptor
//! forever, enough of them make `accept` fail for everyone, and a single one keeps a
//! graceful shutdown from ever finishing. This loop adds three bounds:
//!
//! - **header timeout**: a request's headers must arrive within
//!   `http.header_timeout_seconds` (hyper's timer also closes idle keep-alive
//!   connections after as long);
//! - **connection limit**: at most `http.max_connections` are open; the next one
//!   is accepted when one closes, so the process never runs out of descriptors;
//! - **bounded drain**: at shutdown idle connections close at once, requests in
//!   progress get `http.drain_seconds`, then every connection is dropped.

use axum::extract::connect_info::ConnectInfo;
use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use slipway_core::config::HttpConfig;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower::ServiceExt as _;

/// Descriptors kept for everything but client connections (database, WAL, mirrors'
/// `git` children, deployers' pipes, log files): a quarter of the limit, at least this.
const RESERVED_DESCRIPTORS: u64 = 64;
/// Above this, more connections would only mean more memory, not more service.
const MAX_DERIVED_CONNECTIONS: u64 = 10_000;

/// The effective limits: the config's, with `max_connections` derived when not given.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// See [`HttpConfig::header_timeout`].
    pub header_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
    /// See [`HttpConfig::drain`].
    pub drain: Duration,
}

impl Limits {
    /// The config's limits; a missing `max_connections` comes from the file descriptor
    /// limit (after raising the soft limit to the hard one, as Go's runtime does: the
    /// soft default of 1024 predates servers with thousands of clients).
    pub fn from_config(http: &HttpConfig) -> Self {
        let max_connections = http
            .max_connections
            .unwrap_or_else(|| derived_max_connections(raise_descriptor_limit()));
        Self {
            header_timeout: http.header_timeout,
            max_connections,
            drain: http.drain,
        }
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the soft limit in force.
fn raise_descriptor_limit() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => hard,
            Err(_) => soft,
        },
        Ok((soft, _)) => soft,
        // Unknown: assume the traditional default.
        Err(_) => 1024,
    }
}

fn derived_max_connections(descriptors: u64) -> usize {
    let reserved = (descriptors / 4).max(RESERVED_DESCRIPTORS);
    let n = descriptors
        .saturating_sub(reserved)
        .clamp(8, MAX_DERIVED_CONNECTIONS);
    usize::try_from(n).unwrap_or(8)
}

/// Serves `router` on `listener` within `limits` until `shutdown` resolves, then
/// drains: returns once every connection has closed, or `limits.drain` after the
/// signal, whichever comes first (the remaining connections are dropped).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        // Wait for a free slot before accepting: beyond the limit, clients wait in the
        // kernel's queue instead of costing a descriptor each.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    if !is_connection_error(&e) {
                        // Out of descriptors or memory: retrying at once would spin.
                        tracing::warn!(error = %e, "accept failed; retrying in a second");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
        };
        // Without this, keep-alive clients wait ~40 ms per response (Nagle).
        let _ = tcp.set_nodelay(true);
        let app = router.clone();
        // The login throttle counts failures per client address.
        let service =
            TowerToHyperService::new(tower::service_fn(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(req)
            }));
        let conn = graceful.watch(http.serve_connection(TokioIo::new(tcp), service));
        connections.spawn(async move {
            // Clients that vanish or time out end here; nothing to report.
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!(
        open = connections.len(),
        "stopped accepting connections; draining"
    );
    if tokio::time::timeout(limits.drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            drain_seconds = limits.drain.as_secs(),
            "connections still open after the drain period were closed"
        );
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

/// Errors about one connection (the client went away before it was accepted), as
/// opposed to errors of the listener itself.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_connection_limits_keep_descriptors_for_the_rest_of_the_server() {
        assert_eq!(derived_max_connections(256), 192);
        assert_eq!(derived_max_connections(1024), 768);
        assert_eq!(derived_max_connections(1 << 20), 10_000);
        // Tiny limits still leave something to serve with.
        assert_eq!(derived_max_connections(40), 8);
    }
}
