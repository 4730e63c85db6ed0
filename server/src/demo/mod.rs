//! `slipway demo`: a self-contained, clickable Slipway. Creates (or reuses) under its
//! folder a realistic git repository, a real `slipway.toml` whose deployers are local
//! commands, and the users dev, qa, ops and admin with fresh random passwords printed
//! at every start. Never started implicitly: a wrong `--config` must not start a demo.

pub mod environments;
mod history;
pub mod repo;

use anyhow::Context as _;
use rand::distributions::Alphanumeric;
use rand::Rng;
use slipway_core::config::Config;
use slipway_core::passwords::{self, Password};
use slipway_core::store::{Storage, StorageError};
use slipway_model::{Role, UserName};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The deploy script the demo stages run: prints progress for a few seconds, then
/// writes the SHA into `environments/<stage>.sha`, like a real deploy would change
/// what an environment runs (the demo's version probes read it back). With `FLAKY=1`
/// the first attempt of every deployment fails the way a flaky registry does, and the
/// retry rule tries again.
const DEPLOY_SCRIPT: &str = r#"#!/bin/sh
# Demo deployer for Slipway. Inputs arrive only as environment variables.
set -eu
out_dir="$(dirname "$0")/environments"
mkdir -p "$out_dir"
echo "Deploying ${SLIPWAY_PIPELINE} ${SLIPWAY_SHA} to ${SLIPWAY_STAGE} (deployment ${SLIPWAY_DEPLOYMENT_ID})"
echo "Previous SHA: ${SLIPWAY_PREVIOUS_SHA:-none}"
attempted="$out_dir/.attempted-${SLIPWAY_DEPLOYMENT_ID}"
if [ "${FLAKY:-0}" = 1 ] && [ ! -e "$attempted" ]; then
  touch "$attempted"
  echo "... pulling image registry.example.com/demo-web:${SLIPWAY_SHA}"
  echo "error: read tcp: connection reset by peer" >&2
  exit 1
fi
for step in "fetching artifact" "running checks" "switching traffic"; do
  echo "... ${step}"
  sleep 1
done
printf '%s\n' "$SLIPWAY_SHA" > "$out_dir/${SLIPWAY_STAGE}.sha"
echo "Done: ${SLIPWAY_STAGE} now runs ${SLIPWAY_SHA}"
"#;

fn config_text(listen: &str, env: std::net::SocketAddr, now: time::OffsetDateTime) -> String {
    // A freeze a week from the first start, so the board shows one to come.
    let rfc3339 = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let freeze_from = rfc3339(now + time::Duration::days(7));
    let freeze_until = rfc3339(now + time::Duration::days(8));
    format!(
        r#"# Slipway demo configuration, written by `slipway demo`. Edit it freely: it is
# reused on the next start. See slipway.example.toml in the repository for every key.
listen = "{listen}"
base_url = "http://{listen}"
data_dir = "data"

[[pipelines]]
id = "demo-web"
name = "Demo web"
repository = "repo"
branch = "main"
fetch_interval_seconds = 30
# The demo's environments (a small server beside Slipway, on {env}: see
# server/src/demo/environments.rs) "build" a commit 45 seconds after its artifact is
# first asked for: until then its card waits for it, and a promotion may wait too.
artifact = {{ url = "http://{env}/builds/{{sha}}.tgz", wait_minutes = 10 }}
# Every event, told to the demo's environments (listed on the admin's audit page).
webhooks = [{{ id = "demo-chat", url = "http://{env}/hooks/chat", format = "slack" }}]

[[pipelines.stages]]
id = "qa"
label = "QA"
promote_roles = ["qa", "ops"]
# Each environment says whether it is healthy and which commit it runs (the deployer
# writes environments/<stage>.sha; edit it by hand to see drift, create
# environments/<stage>.down to see a stage go unhealthy).
health = {{ url = "http://{env}/qa/healthz", interval_seconds = 5 }}
version = {{ url = "http://{env}/qa/version", json_pointer = "/sha", interval_seconds = 5, verify_timeout_seconds = 30 }}
deployer = {{ command = ["sh", "deploy.sh"], workdir = ".", timeout_seconds = 120 }}

[[pipelines.stages]]
id = "staging"
label = "Staging"
promote_roles = ["qa", "ops"]
# QA signs off what they tested here before it may go to production.
sign_off = {{ roles = ["qa"] }}
health = {{ url = "http://{env}/staging/healthz", interval_seconds = 5 }}
version = {{ url = "http://{env}/staging/version", json_pointer = "/sha", interval_seconds = 5, verify_timeout_seconds = 30 }}
# Staging's registry is flaky: the first attempt of each deploy fails with "connection
# reset", which this rule calls transient; the second attempt goes through.
deployer = {{ command = ["sh", "deploy.sh"], workdir = ".", timeout_seconds = 120, env = {{ FLAKY = "1" }}, retry = {{ log_patterns = ["connection reset"], max_attempts = 3, backoff_seconds = 3 }} }}

[[pipelines.stages]]
id = "production"
label = "Production"
production = true
# QA (or ops) request production; ops approve a slot, "now" or later, or let the server
# start it at the slot's start. Outside the windows, an approval needs a reason.
promote_roles = ["qa", "ops"]
approval = {{ roles = ["ops"], four_eyes = true, valid_minutes = 240 }}
windows = [{{ days = "daily", from = "07:00", to = "23:00", time_zone = "UTC" }}]
checklist = ["Release notes posted", "On-call engineer knows"]
health = {{ url = "http://{env}/production/healthz", interval_seconds = 5 }}
version = {{ url = "http://{env}/production/version", json_pointer = "/sha", interval_seconds = 5, verify_timeout_seconds = 30 }}
# Production takes nothing while staging is unhealthy.
requires_healthy = ["staging"]
deployer = {{ command = ["sh", "deploy.sh"], workdir = ".", timeout_seconds = 300 }}

[[pipelines.freezes]]
from = "{freeze_from}"
until = "{freeze_until}"
reason = "Quarter-end: finance closes the books"
stages = ["production"]
"#
    )
}

/// Prepares the demo folder and returns the path of its config file.
pub fn prepare(dir: &Path, listen: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("failed to read the clock")?
        .as_secs();
    repo::create_demo_repo(
        &dir.join("repo"),
        i64::try_from(now).context("the clock is out of range")?,
    )?;
    let script = dir.join("deploy.sh");
    std::fs::write(&script, DEPLOY_SCRIPT)
        .with_context(|| format!("failed to write {}", script.display()))?;
    let config = dir.join("slipway.toml");
    if !config.exists() {
        let now = time::OffsetDateTime::from_unix_timestamp(i64::try_from(now).unwrap_or_default())
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let addr: std::net::SocketAddr = listen.parse().with_context(|| {
            format!("--listen {listen:?} is not an address like 127.0.0.1:3000")
        })?;
        std::fs::write(
            &config,
            config_text(listen, environments::address(addr), now),
        )
        .with_context(|| format!("failed to write {}", config.display()))?;
    }
    Ok(config)
}

/// A random 20-character password.
pub fn random_password() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

/// Creates the demo users, or gives existing ones new passwords; returns (name, password).
pub async fn reset_users(storage: &dyn Storage) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for role in [Role::Dev, Role::Qa, Role::Ops, Role::Admin] {
        let name = UserName::parse(role.as_str()).context("failed to build a demo user name")?;
        let password = random_password();
        let hash = passwords::hash(Password::new(password.clone())?).await?;
        match storage.user_by_name(&name).await? {
            Some(u) => storage.set_password(u.id, &hash, false).await?,
            None => match storage
                .create_user(&name, &hash, [role].into_iter().collect(), false)
                .await
            {
                Ok(_) => {}
                Err(StorageError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            },
        }
        out.push((name.to_string(), password));
    }
    Ok(out)
}

/// Seeds a fresh demo's history (see [`history`]) and writes what each stage then runs
/// where the demo's environments read it (`environments/<stage>.sha`), so their version
/// probes agree with the board. A demo that already has deployments is left alone.
pub async fn seed_history(
    dir: &Path,
    config: &Config,
    storage: &dyn Storage,
    clock: &slipway_core::clock::FixedClock,
    now: time::OffsetDateTime,
) -> anyhow::Result<()> {
    let Some(p) = config.pipelines.first() else {
        return Ok(());
    };
    let Some(seeded) = history::seed(storage, clock, p, &dir.join("repo"), now).await? else {
        return Ok(());
    };
    let envs = dir.join("environments");
    std::fs::create_dir_all(&envs)
        .with_context(|| format!("failed to create {}", envs.display()))?;
    for (stage, sha) in seeded.running {
        let file = envs.join(format!("{stage}.sha"));
        std::fs::write(&file, format!("{sha}\n"))
            .with_context(|| format!("failed to write {}", file.display()))?;
    }
    Ok(())
}

/// Prints how to log in.
pub fn banner(config: &Config, users: &[(String, String)]) -> String {
    let mut s = String::new();
    s.push_str("\n  Slipway demo is starting.\n\n");
    s.push_str(&format!(
        "  Open {}  and log in as one of:\n\n",
        config.base_url
    ));
    for (name, password) in users {
        s.push_str(&format!("    {name:<6} {password}\n"));
    }
    s.push_str(&format!(
        "\n  (passwords are new at every start)\n  Config: {}\n  Data:   {}\n  Stop with Ctrl-C.\n",
        config.source.display(),
        config.data_dir.display()
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_config_is_valid_and_governs_production() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir_all(dir.path().join("repo")).expect("the repo folder");
        let now = time::macros::datetime!(2026-12-04 12:00 UTC);
        let listen: std::net::SocketAddr = "127.0.0.1:3000".parse().expect("an address");
        let text = config_text("127.0.0.1:3000", environments::address(listen), now);
        let config = Config::parse(&text, &dir.path().join("slipway.toml"))
            .unwrap_or_else(|e| panic!("the demo config does not parse:\n{e}"));
        let p = &config.pipelines[0];
        let staging = &p.stages[1];
        let production = &p.stages[2];
        assert!(staging.sign_off.is_some(), "staging asks for QA's sign-off");
        assert!(production.approval.is_some() && !production.windows.is_empty());
        assert!(!production.checklist.is_empty());
        assert_eq!(p.freezes.len(), 1);
        assert!(p.freezes[0].from > now, "the freeze is to come");
        // Environment truth: every stage probed and verified, artifacts waited for, a
        // flaky deployer retried, production held while staging is unhealthy, a webhook.
        for stage in &p.stages {
            assert!(
                stage.health.is_some() && stage.version.is_some(),
                "{}",
                stage.id
            );
            assert!(stage.artifact.is_some(), "{}", stage.id);
        }
        assert!(staging.deployer.retry.is_some());
        assert_eq!(production.requires_healthy.len(), 1);
        assert_eq!(p.webhooks.len(), 1);
        assert!(
            !p.migrations.is_empty(),
            "the demo's migration commits are noticed"
        );
    }
}
