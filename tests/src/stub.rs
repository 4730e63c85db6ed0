//! A programmable HTTP server on loopback, standing in for the services Slipway talks
//! to (health and version endpoints, a CD system, webhook receivers): each path answers
//! what the test says, and every request is recorded.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A request the stub received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

#[derive(Default)]
struct State {
    /// Per path: status and body. Unknown paths answer 404.
    replies: HashMap<String, (u16, String)>,
    requests: Vec<Recorded>,
}

/// A running stub; stops when dropped.
pub struct Stub {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Stub {
    /// Starts a stub on an ephemeral loopback port.
    pub async fn start() -> Stub {
        let state = Arc::new(Mutex::new(State::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        let shared = state.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let shared = shared.clone();
                async move {
                    let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
                    s.requests.push(Recorded {
                        method: method.to_string(),
                        path: uri.path().to_owned(),
                        headers: headers
                            .iter()
                            .map(|(k, v)| {
                                (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())
                            })
                            .collect(),
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                    let (status, body) = s
                        .replies
                        .get(uri.path())
                        .cloned()
                        .unwrap_or((404, "no such path on the stub".into()));
                    (
                        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                        body,
                    )
                }
            },
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Stub { base, state, task }
    }

    /// `path` answers `status` with `body` from now on.
    pub fn reply(&self, path: &str, status: u16, body: &str) {
        self.lock()
            .replies
            .insert(path.to_owned(), (status, body.to_owned()));
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The requests received so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}
