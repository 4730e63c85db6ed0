//! Conditional GETs: a body rendered once per board version goes out with its
//! `ETag`, and a client that already holds it gets `304 Not Modified` and no body.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::headers::{ETag, HeaderMapExt as _, IfNoneMatch};
use slipway_core::read::board_cache::Rendered;

/// Browsers and clients keep the body but ask again every time (`no-cache`), and
/// nothing shared keeps it (`private`: it is one user's view).
pub const CACHE_CONTROL: &str = "private, no-cache";

/// Whether a request carrying `headers` already holds the representation `etag`.
pub fn client_has(headers: &HeaderMap, etag: &str) -> bool {
    let (Some(if_none_match), Ok(etag)) =
        (headers.typed_get::<IfNoneMatch>(), etag.parse::<ETag>())
    else {
        return false;
    };
    !if_none_match.precondition_passes(&etag)
}

/// `rendered` as the answer to a request with `headers`: `304` when the client holds
/// it already, else `200` with the body as `content_type`.
pub fn respond(headers: &HeaderMap, rendered: &Rendered, content_type: &'static str) -> Response {
    let etag = HeaderValue::from_str(&rendered.etag).ok();
    let mut response = if client_has(headers, &rendered.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
            rendered.bytes.clone(),
        )
            .into_response()
    };
    let h = response.headers_mut();
    if let Some(etag) = etag {
        h.insert(header::ETAG, etag);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    response
}
