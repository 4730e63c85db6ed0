//! [`spawn_app`]: the real Slipway server, built by the same `build_app` as the binary,
//! serving on an ephemeral port with a temporary data directory (SQLite file, mirrors)
//! and a config file written to disk and loaded through the real parser.

use crate::database::TestDatabase;
use anyhow::Context as _;
use slipway_core::config::DatabaseKind;
use slipway_core::passwords::{self, Password};
use slipway_core::Services;
use slipway_model::{DeploymentId, Role, UserName};
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
    pub state: Services,
    /// Every route the router answers, with who may call it.
    pub routes: Vec<slipway_server::http::surface::RouteEntry>,
    /// The temporary folder holding the config, database and mirrors.
    pub dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    /// Its database; dropped after the server stops (fields drop after `Drop::drop`).
    database: TestDatabase,
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

/// A pipeline `web` following `repo` whose stages qa, staging and production run
/// `script` (a POSIX shell script, the same for every stage; it reads only the
/// `SLIPWAY_*` variables and `$OUT`, which is `out`).
pub fn deploying_pipeline(repo: &Path, out: &Path, script: &str, extra_stage_keys: &str) -> String {
    let mut text = format!(
        "[[pipelines]]\nid = \"web\"\nname = \"Web shop\"\nrepository = \"{}\"\nbranch = \"main\"\nfetch_interval_seconds = 3600\n",
        repo.display()
    );
    for (id, label) in [
        ("qa", "QA"),
        ("staging", "Staging"),
        ("production", "Production"),
    ] {
        text.push_str(&format!(
            "\n[[pipelines.stages]]\nid = \"{id}\"\nlabel = \"{label}\"\n{extra_stage_keys}\n\
             [pipelines.stages.deployer]\ncommand = [\"sh\", \"-c\", {script:?}]\nenv = {{ OUT = \"{}\" }}\ntimeout_seconds = 60\n",
            out.display()
        ));
    }
    text
}

/// A deploy script that prints a few lines and writes the SHA to `$OUT/<stage>.sha`.
pub const WRITE_SHA: &str = r#"echo "deploying $SLIPWAY_SHA to $SLIPWAY_STAGE (previous: ${SLIPWAY_PREVIOUS_SHA:-none}, id $SLIPWAY_DEPLOYMENT_ID)"; echo "progress on stderr" >&2; printf '%s' "$SLIPWAY_SHA" > "$OUT/$SLIPWAY_STAGE.sha"; echo done"#;

/// The built site to serve: `SLIPWAY_SITE_DIR` (set by `scripts/test`), else the
/// workspace's `target/site`.
pub fn site_dir() -> PathBuf {
    std::env::var_os("SLIPWAY_SITE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/site"))
}

/// A server for one real repository at `repo` with the standard pipeline, and `settings`
/// (top-level keys and tables, like `"[sessions]\nabsolute_hours = 2"`) in its config.
pub async fn spawn_app_with(settings: &str, repo: &std::path::Path) -> anyhow::Result<TestApp> {
    spawn_app(&format!("{settings}\n\n{}", pipeline_config(repo))).await
}

/// Starts a server whose config is `pipelines` (TOML for `[[pipelines]]`) plus the
/// listen address, base URL, data dir and site dir it needs.
pub async fn spawn_app(pipelines: &str) -> anyhow::Result<TestApp> {
    spawn_app_serving(&site_dir(), pipelines).await
}

/// [`spawn_app`], serving the built site from `site` (a copy a test may add files to).
pub async fn spawn_app_serving(site: &Path, pipelines: &str) -> anyhow::Result<TestApp> {
    let dir = tempfile::tempdir().context("failed to create a temp dir")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("failed to bind")?;
    let addr = listener.local_addr()?;
    let database = TestDatabase::create();
    let text = format!(
        "listen = \"{addr}\"\nbase_url = \"http://{addr}\"\ndata_dir = \"data\"\nsite_dir = \"{}\"\nshutdown_grace_seconds = 2\n{}\n{pipelines}",
        site.display(),
        database.config_line(),
    );
    let path = dir.path().join("slipway.toml");
    std::fs::write(&path, text).context("failed to write the config")?;
    start(dir, listener, database).await
}

/// The server's logs, captured per test (shown when it fails) and named by the test's
/// thread, so a failing or hanging test shows what its server did. `RUST_LOG` filters
/// (default: warnings and errors).
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_thread_names(true)
        .with_test_writer()
        .try_init();
}

async fn start(
    dir: tempfile::TempDir,
    listener: tokio::net::TcpListener,
    database: TestDatabase,
) -> anyhow::Result<TestApp> {
    init_logs();
    let addr = listener.local_addr()?;
    let config =
        Config::load(&dir.path().join("slipway.toml")).map_err(|e| anyhow::anyhow!("{e}"))?;
    let app = build_app(config).await?;
    let state = app.state.clone();
    let routes = app.routes.clone();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, app, async {
        let _ = rx.await;
    }));
    Ok(TestApp {
        addr,
        base: format!("http://{addr}"),
        state,
        routes,
        dir,
        shutdown: Some(tx),
        task: Some(task),
        database,
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
                false,
            )
            .await?;
        Ok(password)
    }

    /// Runs one SQL statement on the server's database: for moving stored times into
    /// the past ("an hour later") without waiting for the clock. As time passing would,
    /// it moves every board on (boards are kept until an event or the minute moves
    /// them).
    pub async fn sql(&self, statement: &str) -> anyhow::Result<u64> {
        use sqlx::{ConnectOptions as _, Connection as _};
        let url = self.state.config.database_url.expose();
        let done = match self.state.config.database_url.kind() {
            DatabaseKind::Sqlite => {
                let options: sqlx::sqlite::SqliteConnectOptions = url.parse()?;
                sqlx::query(statement)
                    .execute(&mut options.connect().await?)
                    .await?
                    .rows_affected()
            }
            DatabaseKind::Postgres => {
                let mut conn = sqlx::PgConnection::connect(url).await?;
                sqlx::query(statement)
                    .execute(&mut conn)
                    .await?
                    .rows_affected()
            }
        };
        self.boards_moved_on();
        Ok(done)
    }

    /// Moves every board on, as an event would: for tests that change stored state
    /// behind the server's back (through the storage API, or SQL).
    pub fn boards_moved_on(&self) {
        for p in &self.state.config.pipelines {
            self.state.events.touch_board(p.id.as_str());
        }
    }

    /// Runs one SQL query returning a single integer on the server's database.
    pub async fn sql_count(&self, query: &str) -> anyhow::Result<i64> {
        use sqlx::{ConnectOptions as _, Connection as _};
        let url = self.state.config.database_url.expose();
        Ok(match self.state.config.database_url.kind() {
            DatabaseKind::Sqlite => {
                let options: sqlx::sqlite::SqliteConnectOptions = url.parse()?;
                sqlx::query_scalar(query)
                    .fetch_one(&mut options.connect().await?)
                    .await?
            }
            DatabaseKind::Postgres => {
                sqlx::query_scalar(query)
                    .fetch_one(&mut sqlx::PgConnection::connect(url).await?)
                    .await?
            }
        })
    }

    /// `sqlite` or `postgres`, whichever this server's database speaks, for the few
    /// statements tests write whose SQL differs.
    pub fn dialect<'a>(&self, sqlite: &'a str, postgres: &'a str) -> &'a str {
        match self.state.config.database_url.kind() {
            DatabaseKind::Sqlite => sqlite,
            DatabaseKind::Postgres => postgres,
        }
    }

    /// A cookie-keeping client that does not follow redirects (tests assert them) and
    /// sends this server's `Origin`, as a browser on its pages would.
    pub fn client(&self) -> reqwest::Client {
        self.client_with_origin(&self.base)
    }

    /// Like [`client`](Self::client) but claiming another origin.
    pub fn client_with_origin(&self, origin: &str) -> reqwest::Client {
        self.builder(origin)
            .build()
            .expect("a reqwest client builds")
    }

    /// Like [`client`](Self::client) but connecting from another loopback address
    /// (Linux routes all of 127.0.0.0/8 locally), so the server sees another client.
    pub fn client_from(&self, address: std::net::IpAddr) -> reqwest::Client {
        self.builder(&self.base)
            .local_address(address)
            .build()
            .expect("a reqwest client builds")
    }

    fn builder(&self, origin: &str) -> reqwest::ClientBuilder {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Ok(v) = reqwest::header::HeaderValue::from_str(origin) {
            headers.insert(reqwest::header::ORIGIN, v);
        }
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
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

    /// Waits (at most 60 s) until deployment `id` has ended, and returns it.
    pub async fn wait_for_end(
        &self,
        id: DeploymentId,
    ) -> anyhow::Result<slipway_core::store::Deployment> {
        poll_until(
            &format!("deployment #{id} to end"),
            std::time::Duration::from_secs(60),
            || async {
                let d = self.deployment(id).await?;
                Ok((!d.state.is_active()).then_some(d))
            },
        )
        .await
    }

    /// Waits (at most 30 s) until deployment `id` runs, and returns its process group.
    pub async fn wait_for_pgid(&self, id: DeploymentId) -> anyhow::Result<i32> {
        poll_until(
            &format!("deployment #{id} to start"),
            std::time::Duration::from_secs(30),
            || async {
                let d = self.deployment(id).await?;
                anyhow::ensure!(
                    d.pgid.is_some() || d.state.is_active(),
                    "deployment #{id} ended ({}) before it ran",
                    d.state
                );
                Ok(d.pgid)
            },
        )
        .await
    }

    /// Deployment `id` as stored.
    pub async fn deployment(
        &self,
        id: DeploymentId,
    ) -> anyhow::Result<slipway_core::store::Deployment> {
        self.state
            .storage
            .deployment(id)
            .await?
            .context("no such deployment")
    }

    /// Creates an API token for `client`'s user on the profile page and returns the
    /// secret the shown-once page displays.
    pub async fn create_token(
        &self,
        client: &reqwest::Client,
        name: &str,
    ) -> anyhow::Result<String> {
        let res = self
            .post_form(client, "/profile/tokens", &[("name", name)])
            .await?;
        anyhow::ensure!(
            res.status() == 200,
            "token creation answered {}",
            res.status()
        );
        anyhow::ensure!(
            res.headers()
                .get(reqwest::header::CACHE_CONTROL)
                .is_some_and(|v| v == "no-store"),
            "a page showing a secret must not be cached"
        );
        let html = res.text().await?;
        shown_once(&html, "new-token").context("the page shows no token")
    }

    /// POSTs a form and returns the response (redirects are not followed).
    pub async fn post_form(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> anyhow::Result<reqwest::Response> {
        Ok(client.post(self.url(path)).form(form).send().await?)
    }

    /// Marks `sha` ready and promotes it into the first stage `stage` through the
    /// board's forms as `client`, and waits for the deployment, which must succeed.
    pub async fn deployed_first(
        &self,
        client: &reqwest::Client,
        sha: &str,
        stage: &str,
    ) -> anyhow::Result<slipway_core::store::Deployment> {
        let res = self
            .post_form(client, "/pipelines/web/ready", &[("sha", sha)])
            .await?;
        anyhow::ensure!(res.status() == 303, "mark ready answered {}", res.status());
        self.deployed(client, sha, stage).await
    }

    /// Promotes `sha` into `stage` through the board's form as `client`, and waits for
    /// the deployment, which must succeed.
    pub async fn deployed(
        &self,
        client: &reqwest::Client,
        sha: &str,
        stage: &str,
    ) -> anyhow::Result<slipway_core::store::Deployment> {
        let id = self
            .promote(client, sha, stage)
            .await?
            .map_err(|why| anyhow::anyhow!("the promotion into {stage} was refused: {why}"))?;
        let d = self.wait_for_end(id).await?;
        anyhow::ensure!(
            d.state.as_str() == "succeeded",
            "deployment #{id} ended {}",
            d.state
        );
        Ok(d)
    }

    /// Promotes through the board's form; returns the deployment id on success, or the
    /// flash message the board shows on refusal (the 403 page's text when the user's
    /// roles may not promote there).
    pub async fn promote(
        &self,
        client: &reqwest::Client,
        sha: &str,
        stage: &str,
    ) -> anyhow::Result<Result<DeploymentId, String>> {
        self.promote_with(client, sha, stage, &[]).await
    }

    /// [`promote`](Self::promote) with more form fields (`acknowledge_migrations`…).
    pub async fn promote_with(
        &self,
        client: &reqwest::Client,
        sha: &str,
        stage: &str,
        extra: &[(&str, &str)],
    ) -> anyhow::Result<Result<DeploymentId, String>> {
        // The confirmation a production promotion asks for is given: this is the post
        // its page (or dialog) makes.
        let mut form = vec![("sha", sha), ("stage", stage), ("confirmed", "true")];
        form.extend_from_slice(extra);
        let res = self
            .post_form(client, "/pipelines/web/promote", &form)
            .await?;
        if res.status() == 403 {
            // Not allowed: the refusal is the page.
            return Ok(Err(res.text().await?.trim().to_owned()));
        }
        anyhow::ensure!(
            res.status() == 303,
            "promote answered {}: {}",
            res.status(),
            res.text().await?
        );
        let location = res.headers()["location"].to_str()?.to_owned();
        if let Some(id) = location.strip_prefix("/deployments/") {
            let _ = self.get_text(client, &location).await?; // consume the flash
            return Ok(Ok(id.parse()?));
        }
        let (_, html) = self.get_text(client, &location).await?;
        Ok(Err(flash(&html).unwrap_or_default()))
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

    /// Stops the server (gracefully) and waits for it; its database stays until the
    /// app is dropped.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        self.shut_down().await
    }

    async fn shut_down(&mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await??;
        }
        Ok(())
    }

    /// Stops the server and starts a new one on the same address, config and data.
    pub async fn restart(self) -> anyhow::Result<TestApp> {
        self.restart_after(std::time::Duration::ZERO).await
    }

    /// [`restart`](Self::restart), with the server down for `pause` in between.
    pub async fn restart_after(mut self, pause: std::time::Duration) -> anyhow::Result<TestApp> {
        self.shut_down().await?;
        tokio::time::sleep(pause).await;
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .context("failed to bind the same address again")?;
        // Move the directory and the database out; `self` is dropped without deleting them.
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir()?);
        let database = std::mem::take(&mut self.database);
        start(dir, listener, database).await
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

/// The one-time message a page shows after a form post, if any.
pub fn flash(html: &str) -> Option<String> {
    let at = html.find(r#"data-testid="flash""#)?;
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find("</p>")? + start;
    Some(
        rest[start..end]
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">"),
    )
}

/// Where a redirect response points (its `Location` header), or "" when it has none.
pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The secret on a shown-once page (the text of the element with `data-testid`).
pub fn shown_once(html: &str, testid: &str) -> Option<String> {
    let at = html.find(&format!(r#"data-testid="{testid}""#))?;
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')? + start;
    Some(rest[start..end].to_owned())
}

/// Polls `probe` every 50 ms until it returns `Some`, for at most `limit`; the error
/// says what was awaited.
pub async fn poll_until<T, F, Fut>(
    what: &str,
    limit: std::time::Duration,
    mut probe: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = probe().await? {
            return Ok(v);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{what}: not after {limit:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
