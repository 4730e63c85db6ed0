//! The site's files under `/pkg`: the wasm, its JavaScript glue and the CSS.
//!
//! At start the server digests each of them and writes Leptos's hash file, so pages
//! name them `slipway.<digest>.wasm` and so on: a name that changes with the content,
//! which a browser may keep for a year without asking again (`immutable`). The files
//! themselves keep their built names; a request for a digested name is served from
//! the file it stands for. A release build's precompressed `.br` and `.gz` siblings
//! go to clients that accept them (`scripts/package` builds them). Assets are served
//! before the session layers: they need no session, and cost no query.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::Digest as _;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower::ServiceExt as _;
use tower_http::services::ServeDir;

/// A digested name is served for a year and never revalidated.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A built name may be any build's: revalidated every time (`Last-Modified`).
const REVALIDATE: &str = "no-cache";

/// What `/pkg` serves.
#[derive(Clone)]
pub struct Assets {
    /// The site's `pkg` directory.
    pkg: PathBuf,
    /// Digested file name → the built file's name.
    digested: Arc<HashMap<String, String>>,
}

/// The files Leptos names through the hash file, by the key it reads them under.
const HASHED: [(&str, &str); 3] = [("js", "js"), ("wasm", "wasm"), ("css", "css")];

impl Assets {
    /// Digests `site_root/pkg/<output_name>.{js,wasm,css}` and writes the hash file
    /// Leptos reads to `hash_file`. `None` when the site lacks any of them (pages then
    /// name the built files, revalidated on every load).
    pub fn prepare(
        site_root: &Path,
        output_name: &str,
        hash_file: &Path,
    ) -> anyhow::Result<(Self, bool)> {
        let pkg = site_root.join("pkg");
        let mut digested = HashMap::new();
        let mut lines = String::new();
        for (key, ext) in HASHED {
            let built = format!("{output_name}.{ext}");
            let Ok(bytes) = std::fs::read(pkg.join(&built)) else {
                tracing::warn!(file = %pkg.join(&built).display(), "a site file is missing; its pages will not hydrate");
                return Ok((
                    Self {
                        pkg,
                        digested: Arc::default(),
                    },
                    false,
                ));
            };
            let digest = digest(&bytes);
            lines.push_str(&format!("{key}: {digest}\n"));
            digested.insert(format!("{output_name}.{digest}.{ext}"), built);
        }
        if let Some(dir) = hash_file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(hash_file, lines).map_err(|e| {
            anyhow::anyhow!(
                "failed to write the asset hash file {}: {e}",
                hash_file.display()
            )
        })?;
        Ok((
            Self {
                pkg,
                digested: Arc::new(digested),
            },
            true,
        ))
    }
}

/// A short digest of `bytes` for a file name (URL-safe).
fn digest(bytes: &[u8]) -> String {
    hex::encode(&sha2::Sha256::digest(bytes)[..10])
}

/// Middleware: answers `GET /pkg/…` from the site (a digested name from the file it
/// stands for, cached for good); everything else goes on.
pub async fn serve(State(assets): State<Assets>, req: Request, next: Next) -> Response {
    let Some(name) = req
        .uri()
        .path()
        .strip_prefix("/pkg/")
        .filter(|_| req.method() == Method::GET || req.method() == Method::HEAD)
        .map(str::to_owned)
    else {
        return next.run(req).await;
    };
    let (built, cache) = match assets.digested.get(&name) {
        Some(built) => (built.clone(), IMMUTABLE),
        None => (name, REVALIDATE),
    };
    let (mut parts, body) = req.into_parts();
    let Ok(uri) = format!("/{built}").parse::<Uri>() else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    parts.uri = uri;
    let served = ServeDir::new(&assets.pkg)
        .precompressed_br()
        .precompressed_gzip()
        .oneshot(Request::from_parts(parts, body))
        .await;
    let mut response = match served {
        Ok(r) => r.into_response(),
        Err(e) => match e {},
    };
    if response.status().is_success() {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    }
    response
}
