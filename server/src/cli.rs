//! The command line: `slipway [serve]`, `check-config`, `user add`, `demo`.

use crate::demo;
use crate::startup::{build_app, open_storage, serve, shutdown_signal};
use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};
use slipway_app::backend::config::Config;
use slipway_app::backend::passwords::{self, Password};
use slipway_app::domain::{Role, RoleSet, UserName};
use std::ffi::OsString;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

/// Slipway: a self-hosted release board.
#[derive(Parser, Debug)]
#[command(name = "slipway", version, about)]
struct Cli {
    /// The configuration file.
    #[arg(
        long,
        short,
        global = true,
        env = "SLIPWAY_CONFIG",
        default_value = "slipway.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Validate the configuration file and exit.
    CheckConfig,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Mark a SHA ready on a running Slipway (for CI). The API token comes from
    /// SLIPWAY_TOKEN; no config file is read.
    Ready {
        /// The pipeline id.
        #[arg(long)]
        pipeline: String,
        /// The full 40-character SHA.
        #[arg(long)]
        sha: String,
        /// An optional note shown on the card.
        #[arg(long)]
        note: Option<String>,
        /// Slipway's base URL.
        #[arg(long, env = "SLIPWAY_URL")]
        url: String,
    },
    /// Start a self-contained demo (repository, config and users under --dir).
    Demo {
        /// Where the demo keeps everything; reused between runs.
        #[arg(long, default_value = "demo-data")]
        dir: PathBuf,
        /// Address to listen on (only used when the demo config is first written).
        #[arg(long, default_value = "127.0.0.1:3000")]
        listen: String,
    },
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create a user. The password is prompted for, or read from stdin.
    Add {
        /// Login name.
        name: String,
        /// A role (repeat for several): viewer, dev, qa, ops, admin.
        #[arg(long = "role", short, required = true, num_args = 1..)]
        roles: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// Runs the command line.
pub async fn run(args: impl IntoIterator<Item = OsString>) -> anyhow::Result<()> {
    let cli = Cli::parse_from(args);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let config = load(&cli.config)?;
            run_server(config).await
        }
        Command::CheckConfig => {
            let config = load(&cli.config)?;
            println!(
                "{}: valid ({} pipeline{})",
                cli.config.display(),
                config.pipelines.len(),
                if config.pipelines.len() == 1 { "" } else { "s" }
            );
            Ok(())
        }
        Command::User(UserCommand::Add {
            name,
            roles,
            password_stdin,
        }) => {
            let config = load(&cli.config)?;
            user_add(&config, &name, &roles, password_stdin).await
        }
        Command::Ready {
            pipeline,
            sha,
            note,
            url,
        } => ready(&url, &pipeline, &sha, note.as_deref()).await,
        Command::Demo { dir, listen } => {
            let path = demo::prepare(&dir, &listen)?;
            let config = load(&path)?;
            let storage = open_storage(&config).await?;
            let users = demo::reset_users(storage.as_ref()).await?;
            drop(storage);
            eprintln!("{}", demo::banner(&config, &users));
            run_server(config).await
        }
    }
}

fn load(path: &std::path::Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|e| anyhow::anyhow!("{e}"))
}

async fn run_server(config: Config) -> anyhow::Result<()> {
    let listen = config.listen;
    let base = config.base_url.clone();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("failed to listen on {listen} (is another server using it? change `listen` in the config)"))?;
    let source = config.source.clone();
    let app = build_app(config).await?;
    if app.state.storage.list_users().await?.is_empty() {
        tracing::warn!(
            "there are no users yet: create an admin with `slipway --config {} user add NAME --role admin`",
            source.display()
        );
    }
    tracing::info!(%listen, %base, "Slipway is serving");
    serve(listener, app, shutdown_signal()).await
}

async fn user_add(
    config: &Config,
    name: &str,
    roles: &[String],
    password_stdin: bool,
) -> anyhow::Result<()> {
    let name = UserName::parse(name)?;
    let roles: RoleSet = roles
        .iter()
        .map(|r| Role::parse(r))
        .collect::<Result<Vec<_>, _>>()?
        .into();
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("failed to read the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        if !std::io::stdin().is_terminal() {
            bail!("no terminal to ask for a password: pass --password-stdin and pipe it in");
        }
        let first = rpassword::prompt_password(format!("Password for {name}: "))
            .context("failed to read the password")?;
        let second =
            rpassword::prompt_password("Again: ").context("failed to read the password")?;
        if first != second {
            bail!("the two passwords differ; nothing was changed");
        }
        first
    };
    let password = Password::new(password)?;
    let storage = open_storage(config).await?;
    let hash = passwords::hash(password).await?;
    let user = storage.create_user(&name, &hash, roles).await?;
    storage
        .audit(slipway_app::backend::storage::NewAudit {
            actor: None,
            action: "user_created".into(),
            target: Some(user.name.to_string()),
            outcome: "ok".into(),
            detail: Some(format!("roles: {} (command line)", user.roles)),
            ..Default::default()
        })
        .await?;
    println!("created user {} with roles {}", user.name, user.roles);
    Ok(())
}

/// `slipway ready`: POST /api/v1/pipelines/{p}/ready with the token from SLIPWAY_TOKEN.
async fn ready(url: &str, pipeline: &str, sha: &str, note: Option<&str>) -> anyhow::Result<()> {
    let token = std::env::var("SLIPWAY_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
        .context("set SLIPWAY_TOKEN to an API token (create one on your Slipway profile page)")?;
    let base = url::Url::parse(url).with_context(|| {
        format!("--url {url:?} is not a URL; expected e.g. https://slipway.example.com")
    })?;
    let pipeline = slipway_app::domain::PipelineId::parse(pipeline)?;
    let sha = slipway_app::domain::Sha::parse(sha.trim())?;
    let endpoint = base
        .join(&format!("api/v1/pipelines/{pipeline}/ready"))
        .context("failed to build the API URL")?;
    let res = reqwest::Client::new()
        .post(endpoint)
        .bearer_auth(token.trim())
        .json(&serde_json::json!({ "sha": sha.as_str(), "note": note }))
        .send()
        .await
        .with_context(|| format!("failed to reach Slipway at {base}"))?;
    let status = res.status();
    let body: serde_json::Value = res.json().await.unwrap_or(serde_json::Value::Null);
    if status.is_success() {
        let newly = body
            .get("newly_marked")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(true);
        println!(
            "{} {sha} on {pipeline}",
            if newly {
                "marked ready:"
            } else {
                "already ready:"
            }
        );
        Ok(())
    } else {
        let message = body
            .get("message")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("no details");
        bail!("Slipway refused ({status}): {message}")
    }
}
