//! CSRF defence: every state-changing request authenticated by the session cookie must
//! come from Slipway's own pages. Browsers send `Origin` on POSTs (and a `Referer`
//! otherwise, since pages use `Referrer-Policy: same-origin`); either must match the
//! configured `base_url`. Requests carrying a bearer token (the JSON API) carry no
//! cookie and are exempt: a browser cannot be tricked into adding that header.

use super::error::HttpError;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use slipway_core::Services;

/// The scheme://host:port of a URL, as browsers serialise it in `Origin`.
fn origin_of(url: &url::Url) -> String {
    url.origin().ascii_serialization()
}

/// Why a request's origin is refused, or `None` if it may proceed.
pub fn refusal(method: &Method, headers: &HeaderMap, base: &url::Url) -> Option<String> {
    if matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return None;
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer "));
    if bearer && headers.get(header::COOKIE).is_none() {
        return None;
    }
    let expected = origin_of(base);
    let seen = match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(o) => Some(o.to_owned()),
        None => headers
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|r| url::Url::parse(r).ok())
            .map(|u| origin_of(&u)),
    };
    match seen {
        Some(o) if o == expected => None,
        Some(o) => Some(format!(
            "cross-origin request refused: it came from {o}, but Slipway is configured at {expected} (base_url in slipway.toml)"
        )),
        None => Some(format!(
            "request refused: it carries neither an Origin nor a Referer header, so it cannot be shown to come from {expected}"
        )),
    }
}

/// Middleware rejecting cross-origin state changes with 403.
pub async fn check_origin(State(state): State<Services>, req: Request, next: Next) -> Response {
    if let Some(reason) = refusal(req.method(), req.headers(), &state.config.base_url) {
        tracing::warn!(method = %req.method(), path = req.uri().path(), %reason, "refused a cross-origin request");
        return HttpError::CrossOrigin(reason).into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn base() -> url::Url {
        url::Url::parse("https://slipway.example.com/").unwrap()
    }

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn reads_are_never_checked() {
        assert!(refusal(&Method::GET, &HeaderMap::new(), &base()).is_none());
    }

    #[test]
    fn same_origin_posts_pass_by_origin_or_referer() {
        let h = headers(&[(header::ORIGIN, "https://slipway.example.com")]);
        assert!(refusal(&Method::POST, &h, &base()).is_none());
        let h = headers(&[(header::REFERER, "https://slipway.example.com/pipelines/web")]);
        assert!(refusal(&Method::POST, &h, &base()).is_none());
    }

    #[test]
    fn foreign_or_missing_origins_are_refused() {
        let h = headers(&[(header::ORIGIN, "https://evil.example.net")]);
        let why = refusal(&Method::POST, &h, &base()).unwrap();
        assert!(why.contains("evil.example.net"), "{why}");
        // A different port or scheme is a different origin.
        let h = headers(&[(header::ORIGIN, "http://slipway.example.com")]);
        assert!(refusal(&Method::POST, &h, &base()).is_some());
        assert!(refusal(&Method::DELETE, &HeaderMap::new(), &base()).is_some());
        // A foreign Origin wins over a matching Referer.
        let h = headers(&[
            (header::ORIGIN, "null"),
            (header::REFERER, "https://slipway.example.com/"),
        ]);
        assert!(refusal(&Method::POST, &h, &base()).is_some());
    }

    #[test]
    fn bearer_requests_without_cookies_are_exempt() {
        let h = headers(&[(header::AUTHORIZATION, "Bearer abc123")]);
        assert!(refusal(&Method::POST, &h, &base()).is_none());
        let h = headers(&[
            (header::AUTHORIZATION, "Bearer abc123"),
            (header::COOKIE, "slipway_session=x"),
        ]);
        assert!(refusal(&Method::POST, &h, &base()).is_some());
    }
}
