//! [`spawn_app`]: the real Slipway server, built by the same `build_app` as the binary,
//! serving on an ephemeral port with a temporary data directory (SQLite file, mirrors)
//! and a config file written to disk and loaded through the real parser.

use anyhow::Context as _;
use slipway_app::backend::passwords::{self, Password};
use slipway_app::backend::AppState;
use slipway_app::domain::{Role, UserName};
use slipway_server::startup::{build_app, serve};
use slipway_server::Config;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server and what it was started with.
pub struct TestApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub base: String,
    /// The shared services, to seed users and inspect state.
    pub state: AppState,
    /// The temporary folder holding the config, database and mirrors.
    pub dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// The stages every test pipeline has unless a test writes its own config.
pub const DEFAULT_STAGES: &str = r#"
[[pipelines.stages]]
id = "qa"
label = "QA"
deployer = { command = ["true"] }

[[pipelines.stages]]
id = "staging"
label = "Staging"
deployer = { command = ["true"] }

[[pipelines.stages]]
id = "production"
label = "Production"
deployer = { command = ["true"] }
"#;

/// The config text of a pipeline `web` following `repo`.
pub fn pipeline_config(repo: &Path) -> String {
    format!(
        "[[pipelines]]\nid = \"web\"\nname = \"Web shop\"\nrepository = \"{}\"\nbranch = \"main\"\nfetch_interval_seconds = 3600\n{DEFAULT_STAGES}",
        repo.display()
    )
}

/// The built site to serve: `SLIPWAY_SITE_DIR` (set by `scripts/test`), else the
/// workspace's `target/site`.
pub fn site_dir() -> PathBuf {
    std::env::var_os("SLIPWAY_SITE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/site"))
}

/// Starts a server whose config is `pipelines` (TOML for `[[pipelines]]`) plus the
/// listen address, base URL, data dir and site dir it needs.
pub async fn spawn_app(pipelines: &str) -> anyhow::Result<TestApp> {
    let dir = tempfile::tempdir().context("failed to create a temp dir")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("failed to bind")?;
    let addr = listener.local_addr()?;
    let text = format!(
        "listen = \"{addr}\"\nbase_url = \"http://{addr}\"\ndata_dir = \"data\"\nsite_dir = \"{}\"\n\n{pipelines}",
        site_dir().display()
    );
    let path = dir.path().join("slipway.toml");
    std::fs::write(&path, text).context("failed to write the config")?;
    let config = Config::load(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let app = build_app(config).await?;
    let state = app.state.clone();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, app, async {
        let _ = rx.await;
    }));
    Ok(TestApp {
        addr,
        base: format!("http://{addr}"),
        state,
        dir,
        shutdown: Some(tx),
        task: Some(task),
    })
}

impl TestApp {
    /// Creates a user with `roles` and a random valid password, returned.
    pub async fn create_user(&self, name: &str, roles: &[Role]) -> anyhow::Result<String> {
        let password = format!("pw-{name}-{}", std::process::id()) + "-long-enough";
        let hash = passwords::hash(Password::new(password.clone())?).await?;
        self.state
            .storage
            .create_user(
                &UserName::parse(name)?,
                &hash,
                roles.iter().copied().collect(),
            )
            .await?;
        Ok(password)
    }

    /// A cookie-keeping client that does not follow redirects (tests assert them) and
    /// sends this server's `Origin`, as a browser on its pages would.
    pub fn client(&self) -> reqwest::Client {
        self.client_with_origin(&self.base)
    }

    /// Like [`client`](Self::client) but claiming another origin.
    pub fn client_with_origin(&self, origin: &str) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Ok(v) = reqwest::header::HeaderValue::from_str(origin) {
            headers.insert(reqwest::header::ORIGIN, v);
        }
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .expect("a reqwest client builds")
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Logs `client` in; returns the login response (a redirect on success).
    pub async fn login(
        &self,
        client: &reqwest::Client,
        name: &str,
        password: &str,
    ) -> anyhow::Result<reqwest::Response> {
        Ok(client
            .post(self.url("/login"))
            .form(&[("username", name), ("password", password), ("next", "")])
            .send()
            .await?)
    }

    /// Creates a user and returns a client logged in as them.
    pub async fn logged_in(&self, name: &str, roles: &[Role]) -> anyhow::Result<reqwest::Client> {
        let password = self.create_user(name, roles).await?;
        let client = self.client();
        let res = self.login(&client, name, &password).await?;
        anyhow::ensure!(
            res.status() == 303,
            "login of {name} failed: {}",
            res.status()
        );
        Ok(client)
    }

    /// GETs `path` and returns status and body.
    pub async fn get_text(
        &self,
        client: &reqwest::Client,
        path: &str,
    ) -> anyhow::Result<(u16, String)> {
        let res = client.get(self.url(path)).send().await?;
        Ok((res.status().as_u16(), res.text().await?))
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await??;
        }
        Ok(())
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The user name the page header shows, if any (the text of `data-testid="whoami"`).
pub fn whoami(html: &str) -> Option<&str> {
    let at = html.find(r#"data-testid="whoami""#)?;
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')? + start;
    Some(&rest[start..end])
}
