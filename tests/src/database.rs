//! The database a test server keeps its state in: a SQLite file in its temp dir (the
//! default), or, with `SLIPWAY_TEST_DATABASE=postgres`, a fresh PostgreSQL database of
//! its own on the server `SLIPWAY_TEST_POSTGRES` names (default: the local one, user
//! `postgres`), dropped when the test is done. `scripts/test` runs the integration
//! suite once each way.

use slipway_core::config::DatabaseKind;
use slipway_core::store::postgres::scratch::{server_url, ScratchDatabase};

/// The variable choosing the backend (`sqlite` or `postgres`).
pub const BACKEND_VAR: &str = "SLIPWAY_TEST_DATABASE";

/// The backend this run of the suite uses.
pub fn backend() -> DatabaseKind {
    match std::env::var(BACKEND_VAR).as_deref() {
        Ok("postgres") => DatabaseKind::Postgres,
        Ok("sqlite") | Err(_) => DatabaseKind::Sqlite,
        Ok(other) => panic!("{BACKEND_VAR}={other:?}: expected \"sqlite\" or \"postgres\""),
    }
}

/// One test server's database; a PostgreSQL one is dropped with this value.
#[derive(Debug, Default)]
pub struct TestDatabase {
    scratch: Option<ScratchDatabase>,
}

impl TestDatabase {
    /// A database for one server, of the suite's backend.
    pub fn create() -> Self {
        match backend() {
            DatabaseKind::Sqlite => Self::default(),
            DatabaseKind::Postgres => Self::postgres(),
        }
    }

    /// A fresh PostgreSQL database, whatever the suite's backend (replicas need one).
    pub fn postgres() -> Self {
        Self {
            scratch: Some(
                on_own_runtime(async { ScratchDatabase::create(&server_url()).await })
                    .expect("create a PostgreSQL database for the test"),
            ),
        }
    }

    /// The config line pointing the server at it (nothing for SQLite: the default file
    /// in the data directory).
    pub fn config_line(&self) -> String {
        match &self.scratch {
            None => String::new(),
            Some(db) => format!("database_url = \"{}\"\n", db.url()),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(db) = self.scratch.take() {
            if let Err(e) = on_own_runtime(db.drop()) {
                eprintln!("could not drop a test database: {e:#}");
            }
        }
    }
}

/// Runs `work` to its end on a runtime of its own, on a thread of its own: callable from
/// synchronous code and from `Drop`, inside or outside the test's runtime.
fn on_own_runtime<T: Send + 'static>(
    work: impl std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
) -> anyhow::Result<T> {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(work)
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the database task panicked"))?
}
