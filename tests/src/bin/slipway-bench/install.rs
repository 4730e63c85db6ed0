//! A seeded installation of the release server: its repository, config, users and
//! history, started as the operator would start it.

use crate::live::{STREAMS_PER_ACCOUNT, SUBSCRIBERS};
use anyhow::{ensure, Context as _, Result};
use slipway_core::store::{TokenStore as _, UserStore as _};
use slipway_core::tokens;
use slipway_model::{PipelineId, Role, RoleSet, Sha, StageId, UserName};
use slipway_tests::process::{Installation, Server};
use slipway_tests::seed::{seed_history, History};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const USERS: usize = 20;
const STAGES: [&str; 4] = ["qa", "staging", "preprod", "production"];
const PASSWORD: &str = "bench password for olga";
/// Every stage's deployer: records when it started and, on staging, prints
/// timestamped lines for the live viewers.
const DEPLOYER: &str = r#"date +%s%N > "$STARTS/start-$SLIPWAY_DEPLOYMENT_ID"
if [ "$SLIPWAY_STAGE" = staging ]; then
  for i in $(seq 20); do echo "t $(date +%s%N)"; sleep 0.05; done
fi"#;

/// A git repository of generated commits on `main`.
pub struct Repo {
    dir: tempfile::TempDir,
    /// Oldest first.
    pub shas: Vec<Sha>,
}

impl Repo {
    /// `commits` commits written by `git fast-import`.
    pub fn generated(commits: usize) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let shas = generate(dir.path(), commits)?;
        Ok(Self { dir, shas })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// A linear history of `commits` commits (one a minute) written by `git fast-import`
/// into `dir`; the SHAs oldest first.
pub fn generate(dir: &Path, commits: usize) -> Result<Vec<Sha>> {
    ensure!(
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["init", "--quiet", "--initial-branch=main"])
            .status()?
            .success(),
        "git init failed"
    );
    let marks = dir.join(".git/bench-marks");
    let mut import = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["fast-import", "--quiet"])
        .arg(format!("--export-marks={}", marks.display()))
        .stdin(Stdio::piped())
        .spawn()
        .context("run git fast-import")?;
    {
        let stdin = import.stdin.as_mut().context("fast-import's stdin")?;
        let mut out = std::io::BufWriter::new(stdin);
        for i in 1..=commits {
            let message = format!("Change number {i}: adjust the checkout flow");
            writeln!(out, "commit refs/heads/main\nmark :{i}")?;
            writeln!(
                out,
                "committer Bench <bench@example.com> {} +0000",
                1_600_000_000 + i * 60
            )?;
            writeln!(out, "data {}\n{message}", message.len())?;
            if i > 1 {
                writeln!(out, "from :{}", i - 1)?;
            }
            writeln!(out)?;
        }
        out.flush()?;
    }
    ensure!(import.wait()?.success(), "git fast-import failed");
    let mut shas = vec![None; commits];
    for line in std::fs::read_to_string(&marks)?.lines() {
        let (mark, sha) = line.split_once(' ').context("a marks line")?;
        let i: usize = mark.trim_start_matches(':').parse()?;
        *shas.get_mut(i - 1).context("a mark out of range")? = Some(Sha::parse(sha)?);
    }
    shas.into_iter()
        .enumerate()
        .map(|(i, s)| s.with_context(|| format!("no SHA for commit {}", i + 1)))
        .collect()
}

/// A config, a data directory and a database holding `deployments` finished deployments.
pub struct Install {
    installation: Installation,
    /// Where the deployer writes when it starts.
    starts: tempfile::TempDir,
    pub base: String,
    pub deployments: usize,
    /// The commit seeding left unmarked: marking it ready changes only that.
    pub unmarked: Sha,
    /// API tokens of viewer accounts, one per `live::STREAMS_PER_ACCOUNT` streams.
    pub stream_tokens: Vec<String>,
}

/// Who looks at the board: olga's session cookie and API token.
pub struct Viewer {
    pub cookie: String,
    pub token: String,
    /// Keeps olga's cookies; follows no redirect.
    pub browser: reqwest::Client,
}

impl Install {
    /// A new installation of the release `server` and `site` on `repo`, its history
    /// seeded through the real `Storage` API: `ready` commits marked ready (the rest of
    /// `repo`'s left unmarked), `deployments` finished deployments of them in order, 20
    /// users (olga, who logs in, added with the CLI for a real argon2 hash).
    pub async fn seeded(
        server: &Path,
        site: &Path,
        repo: &Repo,
        ready: usize,
        deployments: usize,
    ) -> Result<Self> {
        let t = Instant::now();
        let unmarked = repo
            .shas
            .get(ready)
            .context("the repository has no commit beyond the ready ones")?
            .clone();
        let starts = tempfile::tempdir()?;
        let installation = Installation::of_build(
            server,
            site,
            "log_format = \"json\"\n",
            &pipeline_config(repo.path(), starts.path()),
        );
        installation.add_user("olga", &["dev", "ops", "qa"], PASSWORD);
        let config = slipway_core::config::Config::load(&installation.config)?;
        let storage =
            slipway_core::store::sqlite::SqliteStorage::connect(config.database_url.expose())
                .await?;
        let mut users = Vec::new();
        for i in 1..USERS {
            let roles: RoleSet = [[Role::Dev, Role::Qa, Role::Ops, Role::Viewer][i % 4]]
                .into_iter()
                .collect();
            let u = storage
                .create_user(
                    &UserName::parse(&format!("user{i}"))?,
                    "$argon2id$not-a-hash",
                    roles,
                    false,
                )
                .await?;
            users.push(u.id);
        }
        let mut stream_tokens = Vec::new();
        for i in 0..SUBSCRIBERS.div_ceil(STREAMS_PER_ACCOUNT) {
            let viewer = storage
                .create_user(
                    &UserName::parse(&format!("viewer{i}"))?,
                    "$argon2id$tokens-only",
                    [Role::Viewer].into_iter().collect(),
                    false,
                )
                .await?;
            let token = tokens::generate();
            storage
                .create_token(
                    viewer.id,
                    "bench viewer",
                    &tokens::hash(&token),
                    &tokens::display_prefix(&token),
                )
                .await?;
            stream_tokens.push(token);
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
                ready: &repo.shas[..ready],
                users: &users,
                deployments,
                runner: None,
            },
        )
        .await?;
        storage.pool().close().await;
        let seeded_in = t.elapsed();
        println!(
            "seeded {} commits ({ready} ready), {USERS} users, {deployments} deployments ({failed} failed) in {:.1} s",
            repo.shas.len(),
            seeded_in.as_secs_f64()
        );
        Ok(Self {
            base: installation.base.clone(),
            installation,
            starts,
            deployments,
            unmarked,
            stream_tokens,
        })
    }

    /// The installation's directory.
    pub fn dir(&self) -> &Path {
        self.installation.dir()
    }

    /// When deployment `id`'s deployer started: nanoseconds since the epoch.
    pub fn deployer_started(&self, id: i64) -> Result<i128> {
        let path = self.starts.path().join(format!("start-{id}"));
        std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .trim()
            .parse()
            .with_context(|| format!("parsing {}", path.display()))
    }

    /// A file in the installation's directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir().join(name)
    }

    /// Starts the server, its log going to `log` with every SQL statement (or nowhere),
    /// and waits for `/readyz`: the server and how long it took to be ready.
    pub async fn start(&self, log: Option<&Path>) -> Result<(Server, Duration)> {
        let log = log.map(std::fs::File::create).transpose()?;
        let started = Instant::now();
        let server = self.installation.start_with(|cmd| {
            cmd.stdout(Stdio::null());
            match log {
                // Statements carry the request's span only when that span is enabled.
                Some(file) => cmd
                    .env("RUST_LOG", "warn,slipway_server=info,sqlx::query=debug")
                    .stderr(Stdio::from(file)),
                None => cmd.stderr(Stdio::null()),
            };
        });
        let http = reqwest::Client::new();
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

fn pipeline_config(repo: &Path, starts: &Path) -> String {
    let mut text = format!(
        "[[pipelines]]\nid = \"web\"\nname = \"Web shop\"\nrepository = \"{}\"\nbranch = \"main\"\nfetch_interval_seconds = 3600\n",
        repo.display()
    );
    for id in STAGES {
        text.push_str(&format!(
            "\n[[pipelines.stages]]\nid = \"{id}\"\nlabel = \"{id}\"\n[pipelines.stages.deployer]\ncommand = [\"sh\", \"-c\", {DEPLOYER:?}]\nenv = {{ STARTS = \"{}\" }}\ntimeout_seconds = 60\n",
            starts.display()
        ));
    }
    text
}
