//! Several `slipway` processes on one PostgreSQL database, each with its own port and
//! data directory, as replicas behind a load balancer would run.

use crate::database::TestDatabase;
use crate::process::{Installation, Server};

/// Settings every replica of a test cluster gets: no shutdown grace, and a short
/// replica timeout so a death is noticed within seconds.
pub const REPLICA_SETTINGS: &str =
    "shutdown_grace_seconds = 0\n\n[cluster]\nreplica_timeout_seconds = 3\n";

/// A running cluster. Fields drop in order: the processes, their folders, the database.
pub struct Replicas {
    servers: Vec<Option<Server>>,
    /// One installation per replica (its config, data directory and address).
    pub installs: Vec<Installation>,
    database: TestDatabase,
}

impl Replicas {
    /// Starts `n` replicas of the config `pipelines` on a fresh PostgreSQL database,
    /// with `users` (name, roles, password) added first; returns once all serve.
    pub async fn start(n: usize, pipelines: &str, users: &[(&str, &[&str], &str)]) -> Self {
        let database = TestDatabase::postgres();
        let line = database.config_line();
        let installs: Vec<Installation> = (0..n)
            .map(|_| Installation::sharing(&line, REPLICA_SETTINGS, pipelines))
            .collect();
        for (name, roles, password) in users {
            installs[0].add_user(name, roles, password);
        }
        let mut servers = Vec::new();
        for install in &installs {
            let server = install.start();
            server.wait_up().await;
            servers.push(Some(server));
        }
        Self {
            servers,
            installs,
            database,
        }
    }

    /// Replica `i`'s address (`http://127.0.0.1:<port>`).
    pub fn base(&self, i: usize) -> &str {
        &self.installs[i].base
    }

    /// SIGKILLs replica `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut server) = self.servers[i].take() {
            server.kill();
        }
    }

    /// Replica `i`'s process.
    pub fn server(&self, i: usize) -> Option<&Server> {
        self.servers[i].as_ref()
    }

    /// The shared database's config line (`database_url = "…"`).
    pub fn database_line(&self) -> String {
        self.database.config_line()
    }
}
