//! The [`ClientAddr`] extractor: the address the login throttle and the sessions list
//! attribute a request to (see `slipway_model::client` for the rules).

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use slipway_core::Services;
use slipway_model::client::client_address;
use std::net::{IpAddr, SocketAddr};

/// The request's client: the connection's peer, or the address a trusted reverse proxy
/// forwarded (`trusted_proxies` in the config).
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<Services> for ClientAddr {
    type Rejection = <ConnectInfo<SocketAddr> as FromRequestParts<Services>>::Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Services,
    ) -> Result<Self, Self::Rejection> {
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(parts, state).await?;
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Ok(ClientAddr(client_address(
            peer.ip(),
            &forwarded,
            &state.config.trusted_proxies,
        )))
    }
}
