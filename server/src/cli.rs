//! The command line: `slipway [serve]`, `check-config`, `user add|set-roles|disable|
//! enable|reset-password|list`, `ready`, `demo`.

use crate::demo;
use crate::startup::{build_app, open_storage, serve, shutdown_signal};
use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};
use slipway_core::accounts::{self, Actor};
use slipway_core::config::Config;
use slipway_core::config::{DatabaseKind, LogFormat};
use slipway_core::passwords::Password;
use slipway_core::store::sqlite::SqliteStorage;
use slipway_model::views::account_status;
use slipway_model::UserName;
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
    /// Copy the SQLite database, consistently, while the server runs (PostgreSQL:
    /// use pg_dump).
    Backup {
        /// The new file to write (never overwritten).
        to: PathBuf,
    },
    /// Apply the database's pending migrations and exit (`serve` applies them at start
    /// too; this runs them on their own, before an upgrade is rolled out).
    Migrate,
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
    /// Replace a user's roles.
    SetRoles {
        /// Login name.
        name: String,
        /// A role (repeat for several): viewer, dev, qa, ops, admin.
        #[arg(long = "role", short, required = true, num_args = 1..)]
        roles: Vec<String>,
    },
    /// Disable a user: they cannot log in, and their open sessions end at once.
    Disable {
        /// Login name.
        name: String,
    },
    /// Let a disabled user log in again.
    Enable {
        /// Login name.
        name: String,
    },
    /// Reset a user's password; they must change it at next login, and their open
    /// sessions end. Prints a generated temporary password unless --password-stdin.
    ResetPassword {
        /// Login name.
        name: String,
        /// Read the new password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Leave their API tokens in force (by default a reset revokes them).
        #[arg(long)]
        keep_tokens: bool,
    },
    /// List users with their roles, status and last login.
    List,
}

/// Runs the command line.
pub async fn run(args: impl IntoIterator<Item = OsString>) -> anyhow::Result<()> {
    let cli = Cli::parse_from(args);
    let command = cli.command.unwrap_or(Command::Serve);
    // The server logs in the configured format; the other commands talk to a person.
    if !matches!(command, Command::Serve | Command::Demo { .. }) {
        crate::telemetry::init(LogFormat::Text);
    }
    match command {
        Command::Serve => {
            let config = load(&cli.config)?;
            crate::telemetry::init(config.log_format);
            run_server(config).await
        }
        Command::Migrate => {
            let config = load(&cli.config)?;
            let before = std::time::Instant::now();
            open_storage(&config).await?;
            println!(
                "{}: migrations applied ({} ms)",
                config.database_url,
                before.elapsed().as_millis()
            );
            Ok(())
        }
        Command::Backup { to } => {
            let config = load(&cli.config)?;
            if config.database_url.kind() != DatabaseKind::Sqlite {
                bail!(
                    "`slipway backup` copies a SQLite database; {} is PostgreSQL: use pg_dump \
                     (README, \"Running in production\")",
                    config.database_url
                );
            }
            let storage = SqliteStorage::connect(config.database_url.expose()).await?;
            storage.backup_to(&to).await?;
            println!("{}: backed up to {}", config.database_url, to.display());
            Ok(())
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
        Command::User(command) => {
            let config = load(&cli.config)?;
            user_command(&config, command).await
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
            crate::telemetry::init(config.log_format);
            // The store's clock is the seeder's: each event of the demo's history is
            // written at the time it happened. The server then runs on the real clock.
            let now = time::OffsetDateTime::now_utc();
            let clock = std::sync::Arc::new(slipway_core::clock::FixedClock::new(now));
            let storage = crate::startup::open_storage_with_clock(&config, clock.clone())
                .await?
                .storage;
            let users = demo::reset_users(storage.as_ref()).await?;
            demo::seed_history(&dir, &config, storage.as_ref(), &clock, now).await?;
            drop(storage);
            eprintln!("{}", demo::banner(&config, &users));
            let env = demo::environments::address(config.listen);
            tokio::spawn(async move {
                if let Err(e) = demo::environments::serve(dir, env).await {
                    eprintln!("warning: {e:#}");
                }
            });
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
    let log_format = config.log_format;
    let app = build_app(config).await?;
    if let Some(link) = accounts::issue_setup_link(app.state.storage.as_ref(), &base).await? {
        // Printed, not logged: the link is a credential, and log pipelines keep things.
        // With JSON logs on stderr it goes to stdout, so stderr stays one object a line.
        let banner = format!(
            "\nNo administrator exists yet. Open this one-time link within an hour to create one:\n\n    {link}\n\n\
             (Or run `slipway --config {} user add NAME --role admin`. Restarting prints a new link.)\n",
            source.display()
        );
        match log_format {
            LogFormat::Text => eprintln!("{banner}"),
            LogFormat::Json => println!("{banner}"),
        }
    }
    tracing::info!(%listen, %base, "Slipway is serving");
    serve(listener, app, shutdown_signal()).await
}

async fn user_command(config: &Config, command: UserCommand) -> anyhow::Result<()> {
    let by = Actor::CommandLine;
    // Parse everything before touching the database.
    let storage = || async { open_storage(config).await.map(|o| o.storage) };
    match command {
        UserCommand::Add {
            name,
            roles,
            password_stdin,
        } => {
            UserName::parse(&name)?;
            let roles = accounts::parse_roles(&roles)?;
            let password = Password::new(read_password(&name, password_stdin)?)?;
            let storage = storage().await?;
            let (user, _) =
                accounts::create_user(storage.as_ref(), by, &name, roles, Some(password)).await?;
            println!("created user {} with roles {}", user.name, user.roles);
        }
        UserCommand::SetRoles { name, roles } => {
            let roles = accounts::parse_roles(&roles)?;
            let storage = storage().await?;
            let user = accounts::set_roles(storage.as_ref(), by, &name, roles).await?;
            println!("{} now has roles {}", user.name, user.roles);
        }
        UserCommand::Disable { name } => {
            let storage = storage().await?;
            let user = accounts::set_disabled(storage.as_ref(), by, &name, true).await?;
            println!("disabled {}; their open sessions have ended", user.name);
        }
        UserCommand::Enable { name } => {
            let storage = storage().await?;
            let user = accounts::set_disabled(storage.as_ref(), by, &name, false).await?;
            println!("enabled {}", user.name);
        }
        UserCommand::ResetPassword {
            name,
            password_stdin,
            keep_tokens,
        } => {
            let password = if password_stdin {
                Some(Password::new(read_password(&name, true)?)?)
            } else {
                None
            };
            let tokens = if keep_tokens {
                accounts::Tokens::Keep
            } else {
                accounts::Tokens::Revoke
            };
            let storage = storage().await?;
            let (user, temporary) =
                accounts::reset_password(storage.as_ref(), by, &name, password, tokens).await?;
            match temporary {
                Some(t) => println!(
                    "temporary password for {}: {t}\n(they must choose their own at next login; their open sessions have ended)",
                    user.name
                ),
                None => println!(
                    "password of {} reset; they must change it at next login and their open sessions have ended",
                    user.name
                ),
            }
        }
        UserCommand::List => {
            let storage = storage().await?;
            let users = accounts::list_users(storage.as_ref(), Actor::CommandLine).await?;
            if users.is_empty() {
                println!("no users yet: create one with `slipway user add NAME --role admin`");
                return Ok(());
            }
            let width = users
                .iter()
                .map(|u| u.name.as_str().len())
                .fold(4, usize::max);
            println!(
                "{:width$}  {:22}  {:20}  LAST LOGIN",
                "NAME", "ROLES", "STATUS"
            );
            for u in users {
                let last = u.last_login_at.map_or_else(
                    || "never".to_owned(),
                    |t| {
                        t.format(&time::format_description::well_known::Rfc3339)
                            .unwrap_or_else(|_| t.to_string())
                    },
                );
                println!(
                    "{:width$}  {:22}  {:20}  {last}",
                    u.name.as_str(),
                    u.roles.to_string(),
                    account_status(u.disabled, u.must_change_password)
                );
            }
        }
    }
    Ok(())
}

/// A new password: the first line of stdin, or typed twice at a terminal.
fn read_password(name: &str, from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("failed to read the password from stdin")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for a password: pass --password-stdin and pipe it in");
    }
    let first = rpassword::prompt_password(format!("Password for {name}: "))
        .context("failed to read the password")?;
    let second = rpassword::prompt_password("Again: ").context("failed to read the password")?;
    if first != second {
        bail!("the two passwords differ; nothing was changed");
    }
    Ok(first)
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
    let pipeline = slipway_model::PipelineId::parse(pipeline)?;
    let sha = slipway_model::Sha::parse(sha.trim())?;
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
