//! A seeded installation of the release server: its repository, config, users and
//! history, started as the operator would start it.

use anyhow::{ensure, Context as _, Result};
use slipway_model::{PipelineId, Role, RoleSet, Sha, StageId, UserName};
use slipway_tests::git::TestRepo;
use slipway_tests::process::{free_port, Server};
use slipway_tests::seed::{seed_history, History};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const COMMITS: usize = 250;
pub const READY: usize = 200;
const USERS: usize = 20;
const STAGES: [&str; 4] = ["qa", "staging", "preprod", "production"];
const PASSWORD: &str = "bench password for olga";

/// The bench's git repository: `COMMITS` commits on `main`, oldest first.
pub struct Repo {
    repo: TestRepo,
    pub shas: Vec<Sha>,
}

impl Repo {
    pub fn new() -> Result<Self> {
        let mut repo = TestRepo::new()?;
        let mut shas = Vec::with_capacity(COMMITS);
        for i in 0..COMMITS {
            shas.push(Sha::parse(&repo.commit(&format!(
                "Change number {i}: adjust the checkout flow"
            ))?)?);
        }
        Ok(Self { repo, shas })
    }
}

/// A config, a data directory and a database holding `deployments` finished deployments.
pub struct Install {
    dir: tempfile::TempDir,
    server: PathBuf,
    config: PathBuf,
    pub base: String,
    pub deployments: usize,
    /// How long seeding took.
    pub seeded_in: Duration,
}

/// Who looks at the board: olga's session cookie and API token.
pub struct Viewer {
    pub cookie: String,
    pub token: String,
    /// Keeps olga's cookies; follows no redirect.
    pub browser: reqwest::Client,
}

impl Install {
    /// A new installation on `repo`, its history seeded through the real `Storage` API:
    /// `READY` SHAs marked ready, `deployments` finished deployments, 20 users (olga, who
    /// logs in, added with the CLI for a real argon2 hash; she marks commits ready too).
    pub async fn seeded(
        server: &Path,
        site: &Path,
        repo: &Repo,
        deployments: usize,
    ) -> Result<Self> {
        let t = Instant::now();
        let dir = tempfile::tempdir()?;
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let config = dir.path().join("slipway.toml");
        std::fs::write(
            &config,
            format!(
                "listen = \"127.0.0.1:{port}\"\nbase_url = \"{base}\"\ndata_dir = \"{}\"\nsite_dir = \"{}\"\nlog_format = \"json\"\n\n{}",
                dir.path().join("data").display(),
                site.display(),
                pipeline_config(repo.repo.path())
            ),
        )?;
        let mut install = Self {
            dir,
            server: server.to_owned(),
            config,
            base,
            deployments,
            seeded_in: Duration::ZERO,
        };
        let mut add = install
            .command(&[
                "user",
                "add",
                "olga",
                "--role",
                "dev",
                "--role",
                "ops",
                "--role",
                "qa",
                "--password-stdin",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()?;
        if let Some(mut stdin) = add.stdin.take() {
            use std::io::Write as _;
            writeln!(stdin, "{PASSWORD}")?;
        }
        ensure!(add.wait()?.success(), "slipway user add failed");

        let config = slipway_core::config::Config::load(&install.config)?;
        let storage =
            slipway_core::store::sqlite::SqliteStorage::connect(config.database_url.expose())
                .await?;
        let mut users = Vec::new();
        for i in 1..USERS {
            let roles: RoleSet = [[Role::Dev, Role::Qa, Role::Ops, Role::Viewer][i % 4]]
                .into_iter()
                .collect();
            let u = slipway_core::store::UserStore::create_user(
                &storage,
                &UserName::parse(&format!("user{i}"))?,
                "$argon2id$not-a-hash",
                roles,
                false,
            )
            .await?;
            users.push(u.id);
        }
        let stages: Vec<StageId> = STAGES
            .iter()
            .map(|s| StageId::parse(s))
            .collect::<Result<_, _>>()?;
        let failed = seed_history(
            &storage,
            &History {
                pipeline: &PipelineId::parse("web")?,
                stages: &stages,
                ready: &repo.shas[..READY],
                users: &users,
                deployments,
                runner: None,
            },
        )
        .await?;
        storage.pool().close().await;
        install.seeded_in = t.elapsed();
        println!(
            "seeded {COMMITS} commits, {USERS} users, {READY} ready, {deployments} deployments ({failed} failed) in {:.1} s",
            install.seeded_in.as_secs_f64()
        );
        Ok(install)
    }

    /// The release `slipway` with this installation's config.
    pub fn command(&self, extra: &[&str]) -> Command {
        let mut cmd = Command::new(&self.server);
        cmd.arg("--config").arg(&self.config).args(extra);
        cmd.env("RUST_LOG", "warn");
        cmd
    }

    /// The installation's directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A file in the installation's directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts the server, its log going to `log` with every SQL statement (or nowhere),
    /// and waits for `/readyz`: the server and how long it took to be ready.
    pub async fn start(&self, log: Option<&Path>) -> Result<(Server, Duration)> {
        let mut cmd = self.command(&[]);
        cmd.stdout(Stdio::null());
        match log {
            Some(path) => {
                // Statements carry the request's span only when that span is enabled.
                cmd.env("RUST_LOG", "warn,slipway_server=info,sqlx::query=debug")
                    .stderr(Stdio::from(std::fs::File::create(path)?));
            }
            None => {
                cmd.stderr(Stdio::null());
            }
        }
        let http = reqwest::Client::new();
        let started = Instant::now();
        let server = Server::from_child(cmd.spawn()?, &self.base);
        loop {
            let ready = http.get(format!("{}/readyz", self.base)).send().await;
            if ready.is_ok_and(|r| r.status() == 200) {
                break;
            }
            ensure!(
                started.elapsed() < Duration::from_secs(60),
                "the server did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok((server, started.elapsed()))
    }

    /// Logs olga in and makes her an API token.
    pub async fn viewer(&self) -> Result<Viewer> {
        let base = &self.base;
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let res = browser
            .post(format!("{base}/login"))
            .header("origin", base)
            .form(&[("username", "olga"), ("password", PASSWORD), ("next", "")])
            .send()
            .await?;
        ensure!(res.status() == 303, "login answered {}", res.status());
        let cookie = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| {
                v.split(';')
                    .next()
                    .filter(|c| c.starts_with("slipway_session="))
            })
            .context("no session cookie")?
            .to_owned();
        let res = browser
            .post(format!("{base}/profile/tokens"))
            .header("origin", base)
            .form(&[("name", "bench")])
            .send()
            .await?;
        let token = slipway_tests::app::shown_once(&res.text().await?, "new-token")
            .context("no token shown")?;
        // The login's one-time message is shown once; the board after it is the steady one.
        let _ = browser.get(format!("{base}/pipelines/web")).send().await?;
        Ok(Viewer {
            cookie,
            token,
            browser,
        })
    }
}

fn pipeline_config(repo: &Path) -> String {
    let mut text = format!(
        "[[pipelines]]\nid = \"web\"\nname = \"Web shop\"\nrepository = \"{}\"\nbranch = \"main\"\nfetch_interval_seconds = 3600\n",
        repo.display()
    );
    for id in STAGES {
        text.push_str(&format!(
            "\n[[pipelines.stages]]\nid = \"{id}\"\nlabel = \"{id}\"\n[pipelines.stages.deployer]\ncommand = [\"true\"]\n"
        ));
    }
    text
}
