//! Throwaway databases on a PostgreSQL server, for tests and benchmarks: each gets a
//! fresh, empty database of its own, dropped when it is done with it.

use anyhow::Context as _;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _};
use std::str::FromStr;

/// The variable naming the server tests use, and its default (the local server, trust
/// authentication, as `.ci/run` starts it).
pub const SERVER_VAR: &str = "SLIPWAY_TEST_POSTGRES";
pub const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The server tests use: `$SLIPWAY_TEST_POSTGRES`, or the local default.
pub fn server_url() -> String {
    std::env::var(SERVER_VAR).unwrap_or_else(|_| DEFAULT_SERVER.to_owned())
}

/// A database created for one test; [`drop`](Self::drop) removes it.
#[derive(Debug)]
pub struct ScratchDatabase {
    server: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    /// Creates an empty database named `slipway_test_<random>` on the server at
    /// `server` (a URL to any database there, used for `CREATE DATABASE`).
    pub async fn create(server: &str) -> anyhow::Result<Self> {
        let name = format!(
            "slipway_test_{}",
            hex::encode(rand::Rng::gen::<[u8; 8]>(&mut rand::thread_rng()))
        );
        let mut admin = connect(server).await?;
        // The name is ours (a prefix and hex digits), never input: safe to splice.
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .with_context(|| format!("failed to create the database {name}"))?;
        let _ = admin.close().await;
        let options = PgConnectOptions::from_str(server)?.database(&name);
        Ok(Self {
            server: server.to_owned(),
            url: options.to_url_lossy().to_string(),
            name,
        })
    }

    /// The new database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops the database, ending whatever sessions still use it.
    pub async fn drop(self) -> anyhow::Result<()> {
        let mut admin = connect(&self.server).await?;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await
        .with_context(|| format!("failed to drop the database {}", self.name))?;
        let _ = admin.close().await;
        Ok(())
    }
}

async fn connect(server: &str) -> anyhow::Result<sqlx::PgConnection> {
    sqlx::PgConnection::connect(server).await.with_context(|| {
        format!(
            "failed to reach the PostgreSQL server at {} (start it, or point {SERVER_VAR} at \
             another server, e.g. postgres://user@host:5432/postgres)",
            crate::repos::git::redact_userinfo(server)
        )
    })
}
