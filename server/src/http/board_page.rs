//! The board page, served from bytes rendered once per board, viewer and unread count.
//!
//! The board's read model is shared per role set ([`slipway_core::read::board_cache`]);
//! the page around it also names the viewer and their unread notifications, so the
//! rendered HTML is kept per viewer, under the key of the board it shows. A page
//! whose render set a cookie (a one-time message read and cleared) or failed is never
//! kept, and a request carrying a one-time message always renders.

use super::conditional;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use moka::future::Cache;
use moka::policy::EvictionPolicy;
use slipway_app::ssr::context::{authorize, CurrentUser, UnreadNotifications};
use slipway_app::ssr::flash::FLASH_COOKIE;
use slipway_core::read::board_cache::{BoardKey, Rendered};
use slipway_core::store::UserId;
use slipway_core::Services;
use slipway_model::{Action, PipelineId};
use std::sync::Arc;

/// How many bytes of rendered pages a process keeps.
const CACHED_BYTES: u64 = 16 * 1024 * 1024;

/// A page larger than this is not kept (nor buffered).
const LARGEST_PAGE: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PageKey {
    board: BoardKey,
    viewer: UserId,
    unread: i64,
}

/// A rendered page: the headers it was sent with (its policy names the nonce of its
/// inline scripts) and its body.
struct Page {
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Rendered,
}

/// The pages kept, and the services that say which board a request would see.
#[derive(Clone)]
pub struct BoardPages {
    services: Services,
    pages: Cache<PageKey, Arc<Page>>,
}

impl BoardPages {
    pub fn new(services: Services) -> Self {
        let pages = Cache::builder()
            .max_capacity(CACHED_BYTES)
            .weigher(|_, page: &Arc<Page>| u32::try_from(page.body.bytes.len()).unwrap_or(u32::MAX))
            .eviction_policy(EvictionPolicy::lru())
            .build();
        Self { services, pages }
    }
}

/// The pipeline a `GET /pipelines/{pipeline}` names.
fn board_path(method: &Method, path: &str) -> Option<PipelineId> {
    if method != Method::GET {
        return None;
    }
    let id = path.strip_prefix("/pipelines/")?;
    PipelineId::parse(id).ok()
}

fn carries_flash(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(FLASH_COOKIE))
}

/// Middleware on the page routes: answers a board page from the kept render when the
/// board, the viewer and their unread count are the same as when it was rendered.
pub async fn serve(State(cache): State<BoardPages>, req: Request, next: Next) -> Response {
    let Some(id) = board_path(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    let user = req
        .extensions()
        .get::<CurrentUser>()
        .and_then(|c| c.0.clone());
    let unread = req.extensions().get::<UnreadNotifications>().map(|u| u.0);
    // Someone who may not see boards gets the page's own refusal, rendered.
    let (Some(user), Some(unread)) = (user, unread) else {
        return next.run(req).await;
    };
    if authorize(&user, Action::View).is_err() {
        return next.run(req).await;
    }
    if carries_flash(req.headers()) || req.uri().query().is_some() {
        return next.run(req).await;
    }
    let services = &cache.services;
    let Ok(p) = slipway_core::promotion::pipeline(services, &id) else {
        return next.run(req).await;
    };
    // The page renders what the viewer may see (and says so when they may not).
    let Ok(board) = services.boards.get(services, &user, p).await else {
        return next.run(req).await;
    };
    let key = PageKey {
        board: board.key().clone(),
        viewer: user.id,
        unread,
    };
    let headers = req.headers().clone();
    if let Some(page) = cache.pages.get(&key).await {
        return answer(&headers, &page);
    }
    let response = next.run(req).await;
    if response.status() != StatusCode::OK || response.headers().contains_key(header::SET_COOKIE) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, LARGEST_PAGE).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "failed to read a rendered board page");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    // What `answer` sets afresh for every response.
    let not_kept = [
        header::CONTENT_LENGTH,
        header::DATE,
        header::ETAG,
        header::CACHE_CONTROL,
    ];
    let page = Arc::new(Page {
        headers: parts
            .headers
            .iter()
            .filter(|(name, _)| !not_kept.contains(name))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect(),
        body: Rendered::new(bytes),
    });
    cache.pages.insert(key, page.clone()).await;
    answer(&headers, &page)
}

/// `page` as the answer to a request with `headers` (`304` when it holds it already).
fn answer(headers: &HeaderMap, page: &Page) -> Response {
    let mut response = conditional::respond(headers, &page.body, "text/html; charset=utf-8");
    let h = response.headers_mut();
    for (name, value) in &page.headers {
        h.insert(name.clone(), value.clone());
    }
    response
}
