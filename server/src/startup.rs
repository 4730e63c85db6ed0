//! Building the application: storage, mirrors, background tasks and the router.
//! [`build_app`] does everything but bind, so tests can serve it on port 0.

use crate::http;
use crate::http::session_store::DynSessionStore;
use crate::http::surface::RouteEntry;
use crate::state::AppState;
use anyhow::Context as _;
use axum::http::{header, HeaderValue};
use axum::{middleware, Router};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use slipway_app::{shell, App};
use slipway_core::cluster::Cluster;
use slipway_core::config::Config;
use slipway_core::config::DatabaseKind;
use slipway_core::deploys::{self, Deploys};
use slipway_core::events::Events;
use slipway_core::github::client::GitHubClients;
use slipway_core::repos::Repos;
use slipway_core::services::ServiceSet;
use slipway_core::store::postgres::PgStorage;
use slipway_core::store::sqlite::SqliteStorage;
use slipway_core::store::Storage;
use slipway_core::Services;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// A built application: its router, shared state and background tasks.
pub struct Slipway {
    /// The complete router (pages, server functions, forms, health checks, assets).
    pub router: Router,
    /// The shared services, for callers that need them directly (CLI, demo, tests).
    pub state: Services,
    /// Every route the router answers, with who may call it (see [`http::surface`]).
    pub routes: Vec<RouteEntry>,
    background: Vec<JoinHandle<()>>,
}

impl Drop for Slipway {
    fn drop(&mut self) {
        for task in &self.background {
            task.abort();
        }
    }
}

/// Where the built site (`pkg/slipway.js`, `.wasm`, `.css`) is: the config's
/// `site_dir`, else `SLIPWAY_SITE_DIR` or `LEPTOS_SITE_ROOT`, else `site/` beside the
/// binary, else `target/site` (a development checkout).
pub fn site_dir(config: &Config) -> PathBuf {
    if let Some(dir) = &config.site_dir {
        return dir.clone();
    }
    for var in ["SLIPWAY_SITE_DIR", "LEPTOS_SITE_ROOT"] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            return PathBuf::from(v);
        }
    }
    if let Some(beside) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("site")))
        .filter(|d| d.join("pkg").exists())
    {
        return beside;
    }
    PathBuf::from("target/site")
}

/// The storage the config names, and the tower-sessions store living in the same
/// database (the session layer needs a concrete store; the backend is chosen here).
pub struct OpenedStorage {
    /// Persistence for the core.
    pub storage: Arc<dyn Storage>,
    /// Web sessions.
    pub sessions: DynSessionStore,
}

/// Opens the storage the config names.
pub async fn open_storage(config: &Config) -> anyhow::Result<OpenedStorage> {
    open_storage_with_clock(config, Arc::new(slipway_core::clock::SystemClock)).await
}

/// [`open_storage`], with the store's time read from `clock` (the demo writes its
/// history with a clock set to when each event happened).
pub async fn open_storage_with_clock(
    config: &Config,
    clock: Arc<dyn slipway_core::clock::Clock>,
) -> anyhow::Result<OpenedStorage> {
    tokio::fs::create_dir_all(&config.data_dir)
        .await
        .with_context(|| {
            format!(
                "failed to create the data directory {}",
                config.data_dir.display()
            )
        })?;
    let url = config.database_url.expose();
    Ok(match config.database_url.kind() {
        DatabaseKind::Sqlite => {
            let storage = SqliteStorage::connect_with_clock(url, clock).await?;
            let sessions = tower_sessions_sqlx_store::SqliteStore::new(storage.pool().clone());
            OpenedStorage {
                storage: Arc::new(storage),
                sessions: cached_sessions(sessions),
            }
        }
        DatabaseKind::Postgres => {
            let storage = PgStorage::connect_with_clock(url, clock).await?;
            // The table is created by Slipway's own migrations, beside the others.
            let sessions = tower_sessions_sqlx_store::PostgresStore::new(storage.pool().clone())
                .with_schema_name("public")
                .and_then(|store| store.with_table_name("tower_sessions"))
                .map_err(anyhow::Error::msg)?;
            OpenedStorage {
                storage: Arc::new(storage),
                sessions: cached_sessions(sessions),
            }
        }
    })
}

/// How many session records a process keeps in memory.
const SESSIONS_CACHED: u64 = 10_000;

/// `store` behind an in-memory cache, so that a request's session costs no query. A
/// record never changes after login (it names the login and its user); whether the
/// login still holds is read from the database on every request (`login::resume`), so
/// a record cached here, even one another replica deleted, admits nobody whose login
/// ended.
fn cached_sessions<S>(store: S) -> DynSessionStore
where
    S: tower_sessions::SessionStore + Clone,
{
    DynSessionStore(Arc::new(tower_sessions::CachingSessionStore::new(
        tower_sessions_moka_store::MokaStore::new(Some(SESSIONS_CACHED)),
        store,
    )))
}

/// Builds the application for `config`: opens storage (applying migrations), starts
/// the mirrors' background fetches and the session clean-up, and assembles the router.
pub async fn build_app(config: Config) -> anyhow::Result<Slipway> {
    let OpenedStorage {
        storage,
        sessions: session_store,
    } = open_storage(&config).await?;
    let site_root = site_dir(&config);
    // Pages name the site's files by digest (Leptos reads the hash file at each
    // render), so browsers keep them for good.
    let hash_file = config.data_dir.join("site-hashes.txt");
    let (assets, digested) = http::assets::Assets::prepare(&site_root, "slipway", &hash_file)?;
    let leptos_options = LeptosOptions::builder()
        .output_name("slipway")
        .site_root(site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .hash_files(digested)
        .hash_file(std::sync::Arc::from(hash_file.to_string_lossy().as_ref()))
        .build();
    let secure = config.base_url.scheme() == "https";
    let inactivity = time::Duration::try_from(config.session_inactivity)
        .context("failed to convert the session inactivity period")?;
    let github = Arc::new(GitHubClients::new(&config.github));
    let repos = Arc::new(Repos::new(&config, &github));
    let wakes = storage.event_wakes();
    let cluster = Arc::new(Cluster::new(
        Cluster::host_name(),
        &config.data_dir,
        config.replica_timeout,
        storage.clock().now(),
    ));
    let services = Services::new(ServiceSet {
        config: Arc::new(config),
        storage: storage.clone(),
        repos,
        deploys: Arc::new(Deploys::default()),
        cluster,
        events: Arc::new(Events::new(storage.clone(), wakes.is_some())),
        artifacts: Arc::default(),
        github,
        boards: Arc::default(),
    });
    let state = AppState {
        leptos_options,
        services: services.clone(),
    };
    services
        .cluster
        .join(services.storage.as_ref())
        .await
        .context("failed to register this replica")?;
    // Before serving: what an earlier run of this replica left is interrupted now, not
    // at the first heartbeat.
    slipway_core::cluster::reaper::reap(&services)
        .await
        .context("failed to recover deployments left by a previous run")?;
    slipway_core::cluster::reaper::end_leftovers(&services)
        .await
        .context("failed to end the processes of deployments interrupted from another host")?;
    let mut background = crate::background::spawn_all(&services);
    if let Some(wakes) = wakes {
        background.push(crate::background::spawn_relay(&services, wakes));
    }
    if let Some(addr) = services.config.metrics.listen {
        background.push(serve_metrics(addr, services.clone()).await?);
    }

    let sessions = SessionManagerLayer::new(session_store)
        .with_name("slipway_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_path("/")
        // A record is written at login with the login's absolute end
        // (`auth::start_login`); idleness is judged on the login row, so no request
        // rewrites the record.
        .with_expiry(Expiry::OnInactivity(inactivity));

    http::metrics::install();
    let routes = route_list();
    let (session_router, mut entries) = http::session_routes().finish();
    entries.extend(page_entries(&routes));
    // Layers are scoped to the routers that need them: the session, the Origin check and
    // session authentication wrap the pages, server functions, forms and the event
    // stream; health checks, the bearer-token API and webhooks run without them.
    let with_session = Router::new()
        .merge(session_router.with_state(services.clone()))
        .leptos_routes_with_context(
            &state,
            routes,
            {
                // Server functions and pages reach the services through the context.
                let services = services.clone();
                move || provide_context(services.clone())
            },
            {
                let options = state.leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .route_layer(middleware::from_fn_with_state(
            http::board_page::BoardPages::new(services.clone()),
            http::board_page::serve,
        ))
        .route_layer(middleware::from_fn(http::metrics::track))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(
            services.clone(),
            http::auth::authenticate,
        ))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(
            services.clone(),
            http::origin::check_origin,
        ))
        .layer(middleware::from_fn_with_state(assets, http::assets::serve));
    let (outside_session, outside_entries) = http::health_routes()
        .merge(http::api_routes())
        .merge(http::webhook_routes())
        .finish();
    let outside_session = outside_session.route_layer(middleware::from_fn(http::metrics::track));
    entries.extend(outside_entries);
    let router = Router::new()
        .merge(outside_session.with_state(services.clone()))
        .merge(with_session);
    let router = with_security_headers(router)
        .layer(CompressionLayer::new())
        // The request id (a proxy's `X-Request-Id`, or a new one) goes back in the
        // response and into every log line of the request.
        .layer(PropagateRequestIdLayer::x_request_id())
        // Spans carry the path only: query strings may hold secrets (the one-time
        // setup token) and must not reach the logs, whatever the log level.
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::extract::Request| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
            }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state.clone());
    Ok(Slipway {
        router,
        state: services,
        routes: entries,
        background,
    })
}

/// The Leptos pages and server functions, as `leptos_routes_with_context` registers
/// them, with who may load them.
fn page_entries(routes: &[AxumRouteListing]) -> Vec<RouteEntry> {
    use http::surface::{page_rule, server_fn_rule, Surface};
    let pages = routes.iter().flat_map(|r| {
        r.methods().map(move |m| RouteEntry {
            method: match m {
                leptos_router::Method::Post => axum::http::Method::POST,
                leptos_router::Method::Put => axum::http::Method::PUT,
                leptos_router::Method::Patch => axum::http::Method::PATCH,
                leptos_router::Method::Delete => axum::http::Method::DELETE,
                leptos_router::Method::Get => axum::http::Method::GET,
            },
            path: r.path().to_owned(),
            surface: Surface::Page,
            who: page_rule(r.path()),
        })
    });
    let server_fns = leptos::server_fn::axum::server_fn_paths().map(|(path, method)| RouteEntry {
        method,
        path: path.to_owned(),
        surface: Surface::ServerFn,
        who: server_fn_rule(path),
    });
    pages.chain(server_fns).collect()
}

/// The app's page routes, generated once per process.
///
/// Generating them renders the app with resource loading suppressed through a
/// process-wide flag in leptos_server; a server-side render whose resources are first
/// polled meanwhile, on any thread, waits forever (leptos-rs/leptos#4773). A server
/// builds its router once, before serving, so this only bites a process that builds
/// several apps while others serve (the integration tests, where it hung random
/// page loads). The routes depend on the `App` component alone, never on the config.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

fn with_security_headers(router: Router<AppState>) -> Router<AppState> {
    // Pages set their own, with the nonce of their inline scripts (if_not_present keeps it).
    static CSP: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| slipway_app::ssr::csp::policy(None));
    let header =
        |name, value| SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value));
    router
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::X_FRAME_OPTIONS, "DENY"))
        // Not `no-referrer`: forms without JavaScript rely on the Referer for redirects,
        // and the Origin check falls back to it.
        .layer(header(header::REFERRER_POLICY, "same-origin"))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&CSP).unwrap_or(HeaderValue::from_static("default-src 'self'")),
        ))
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting
/// promotions and connections, drains open requests within `http.drain_seconds`, gives
/// running deploys the configured grace period, and cancels the rest.
pub async fn serve(
    listener: TcpListener,
    app: Slipway,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let limits = crate::listen::Limits::from_config(&app.state.config.http);
    tracing::debug!(?limits, "connection limits");
    let router = app.router.clone();
    let events = app.state.events.clone();
    let shutdown = async move {
        shutdown.await;
        // Ends the live streams, so their connections can close while draining.
        events.close();
    };
    crate::listen::serve(listener, router, limits, shutdown).await;
    deploys::shutdown(&app.state, app.state.config.shutdown_grace).await;
    app.state.cluster.leave(app.state.storage.as_ref()).await;
    drop(app);
    Ok(())
}

/// Serves `/metrics` alone, without a token, on `metrics.listen` (a loopback or scrape
/// network address), until the app is dropped.
async fn serve_metrics(
    addr: std::net::SocketAddr,
    state: Services,
) -> anyhow::Result<JoinHandle<()>> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("failed to bind metrics.listen {addr}"))?;
    let router = Router::new()
        .route("/metrics", axum::routing::get(http::metrics::scrape_open))
        .with_state(state);
    tracing::info!(%addr, "serving /metrics");
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    }))
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
