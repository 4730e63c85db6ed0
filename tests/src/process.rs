//! The `slipway` binary as an operator runs it: a config file in a temp dir, users
//! added with the CLI, the server started, SIGTERMed and SIGKILLed as a real process.

use crate::database::TestDatabase;
use slipway_core::config::DatabaseKind;
use slipway_core::store::postgres::PgStorage;
use slipway_core::store::sqlite::SqliteStorage;
use slipway_core::store::Storage;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The `slipway` binary built beside the running test binary (`target/debug/slipway`;
/// `scripts/test` builds it first with cargo-leptos), without a config from the caller's
/// environment.
pub fn slipway() -> Command {
    quiet(&slipway_binary())
}

/// Where [`slipway`] finds the binary.
pub fn slipway_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // Test binaries live in target/debug/deps, other binaries in target/debug.
    exe.ancestors()
        .skip(1)
        .take(2)
        .map(|d| d.join("slipway"))
        .find(|b| b.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no `slipway` binary beside {}: build it first (scripts/test does)",
                exe.display()
            )
        })
}

/// `binary`, logging warnings only, without a config from the caller's environment.
fn quiet(binary: &Path) -> Command {
    let mut cmd = Command::new(binary);
    cmd.env_remove("SLIPWAY_CONFIG").env("RUST_LOG", "warn");
    cmd
}

/// A port free right now on loopback (the server binds it a moment later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A config file and data directory for one server, in a temp dir.
pub struct Installation {
    dir: tempfile::TempDir,
    /// The `slipway` it runs.
    binary: PathBuf,
    /// Dropped with the installation.
    _database: TestDatabase,
    /// The config file.
    pub config: PathBuf,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl Installation {
    /// A config listening on a free port with `settings` (top-level keys, then tables)
    /// and `pipelines` (`[[pipelines]]` TOML), on a database of its own.
    pub fn new(settings: &str, pipelines: &str) -> Self {
        let database = TestDatabase::create();
        let line = database.config_line();
        Self::build(
            slipway_binary(),
            &crate::app::site_dir(),
            &format!("{line}{settings}"),
            pipelines,
            database,
        )
    }

    /// Like [`new`](Self::new), on SQLite, running `binary` with the site in `site` (the
    /// bench's release build).
    pub fn of_build(binary: &Path, site: &Path, settings: &str, pipelines: &str) -> Self {
        Self::build(
            binary.to_owned(),
            site,
            settings,
            pipelines,
            TestDatabase::default(),
        )
    }

    /// Like [`new`](Self::new), on the database `database_line` names (another
    /// installation's: replicas of one cluster).
    pub fn sharing(database_line: &str, settings: &str, pipelines: &str) -> Self {
        Self::build(
            slipway_binary(),
            &crate::app::site_dir(),
            &format!("{database_line}{settings}"),
            pipelines,
            TestDatabase::default(),
        )
    }

    fn build(
        binary: PathBuf,
        site: &Path,
        settings: &str,
        pipelines: &str,
        database: TestDatabase,
    ) -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let config = dir.path().join("slipway.toml");
        let text = format!(
            "listen = \"127.0.0.1:{port}\"\nbase_url = \"{base}\"\nsite_dir = \"{}\"\n{settings}\n\n{pipelines}",
            site.display(),
        );
        std::fs::write(&config, text).expect("write the config");
        Self {
            dir,
            binary,
            _database: database,
            config,
            base,
        }
    }

    /// The temp dir holding the config and `data/`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `slipway user add NAME --role R… --password-stdin` with `password`.
    pub fn add_user(&self, name: &str, roles: &[&str], password: &str) {
        let mut cmd = self.command();
        cmd.args(["user", "add", name, "--password-stdin"]);
        for role in roles {
            cmd.args(["--role", role]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("run user add");
        if let Some(mut stdin) = child.stdin.take() {
            writeln!(stdin, "{password}").expect("write the password");
        }
        assert!(
            child.wait().expect("user add ends").success(),
            "user add {name} failed"
        );
    }

    /// This installation's `slipway --config FILE`, for a subcommand or the server.
    pub fn command(&self) -> Command {
        let mut cmd = quiet(&self.binary);
        cmd.arg("--config").arg(&self.config);
        cmd
    }

    /// Starts the server.
    pub fn start(&self) -> Server {
        self.start_with(|_| {})
    }

    /// Starts the server with its file descriptor limit (soft and hard) set to `n`, as
    /// `ulimit -n` in its service unit would.
    pub fn start_with_fd_limit(&self, n: u32) -> Server {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("ulimit -n {n} && exec \"$0\" --config \"$1\""))
            .arg(&self.binary)
            .arg(&self.config)
            .env_remove("SLIPWAY_CONFIG")
            .env("RUST_LOG", "warn");
        Server::spawn(cmd, &self.base)
    }

    /// Starts the server after letting `adjust` change its command.
    pub fn start_with(&self, adjust: impl FnOnce(&mut Command)) -> Server {
        let mut cmd = self.command();
        adjust(&mut cmd);
        Server::spawn(cmd, &self.base)
    }

    /// The server's database, opened beside it (as the restarted server will read it).
    pub async fn database(&self) -> Arc<dyn Storage> {
        let config = slipway_server::Config::load(&self.config).expect("the config loads");
        let url = config.database_url.expose();
        match config.database_url.kind() {
            DatabaseKind::Sqlite => Arc::new(
                SqliteStorage::connect(url)
                    .await
                    .expect("open the server's database"),
            ),
            DatabaseKind::Postgres => Arc::new(
                PgStorage::connect(url)
                    .await
                    .expect("connect to the server's database"),
            ),
        }
    }
}

/// A running `slipway` process; killed when dropped.
pub struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn spawn(mut cmd: Command, base: &str) -> Self {
        Self::from_child(cmd.spawn().expect("start slipway"), base)
    }

    /// Takes charge of a `slipway` process started by the caller, serving at `base`.
    pub fn from_child(child: Child, base: &str) -> Self {
        Self {
            child,
            base: base.to_owned(),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process's resident memory now and at its peak (`VmRSS`, `VmHWM`), in MiB.
    pub fn memory_mib(&self) -> anyhow::Result<(f64, f64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let field = |name: &str| -> anyhow::Result<f64> {
            let kib: f64 = status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .ok_or_else(|| anyhow::anyhow!("no {name} in /proc/<pid>/status"))?;
            Ok(kib / 1024.0)
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// Waits until `/healthz` answers (at most a minute: the first start migrates).
    pub async fn wait_up(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if client
                .get(format!("{}/healthz", self.base))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the server at {} did not come up within a minute",
            self.base
        );
    }

    /// SIGKILL, as the OOM killer or a power cut would: no clean-up code runs.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits at most `within` for the process to exit; `None` if it
    /// did not (it is then left running for the caller, and killed on drop).
    pub fn terminate(&mut self, within: Duration) -> Option<ExitStatus> {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).ok()?);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A cookie-keeping client that does not follow redirects, logged in as `user`.
pub async fn logged_in(base: &str, user: &str, password: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let res = client
        .post(format!("{base}/login"))
        .header("origin", base)
        .form(&[("username", user), ("password", password), ("next", "")])
        .send()
        .await
        .expect("POST /login");
    assert_eq!(res.status(), 303, "login as {user} failed");
    client
}

/// One SQL statement the server's JSON log recorded.
pub struct LoggedStatement {
    /// The request it ran for (`x-request-id`), if any.
    pub request_id: Option<String>,
    /// The statement, whitespace collapsed.
    pub text: String,
    pub elapsed_secs: f64,
}

/// The SQL statements in a server's JSON log (run it with `log_format = "json"` and
/// `RUST_LOG=warn,slipway_server=info,sqlx::query=debug`: statements carry the
/// request's span only when that span is enabled).
pub fn logged_statements(log: &str) -> Vec<LoggedStatement> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|entry| entry["target"] == "sqlx::query")
        .map(|entry| {
            let fields = &entry["fields"];
            let text = fields["db.statement"]
                .as_str()
                .or(fields["summary"].as_str())
                .unwrap_or("?");
            LoggedStatement {
                request_id: entry["span"]["request_id"].as_str().map(str::to_owned),
                text: text.split_whitespace().collect::<Vec<_>>().join(" "),
                elapsed_secs: fields["elapsed_secs"].as_f64().unwrap_or(0.0),
            }
        })
        .collect()
}

/// How many SQL statements a server's JSON log attributes to each request id.
pub fn statements_by_request(
    statements: &[LoggedStatement],
) -> std::collections::HashMap<&str, usize> {
    let mut counts = std::collections::HashMap::new();
    for id in statements.iter().filter_map(|s| s.request_id.as_deref()) {
        *counts.entry(id).or_default() += 1;
    }
    counts
}
