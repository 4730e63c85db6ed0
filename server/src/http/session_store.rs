//! Glue between tower-sessions and the storage backend: the session layer needs one
//! concrete store type, while the storage backend is chosen at run time (SQLite now,
//! PostgreSQL later).

use async_trait::async_trait;
use std::sync::Arc;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Result, SessionStore};

/// The session key holding the logged-in user's id.
pub const USER_ID_KEY: &str = "user_id";

/// The session key holding the id of the login session (`user_sessions` row) that
/// the request belongs to: a session is only honoured while that row is open.
pub const LOGIN_KEY: &str = "login";

/// A [`SessionStore`] that forwards to whichever store the storage backend provides.
#[derive(Clone, Debug)]
pub struct DynSessionStore(pub Arc<dyn SessionStore>);

#[async_trait]
impl SessionStore for DynSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        self.0.create(record).await
    }
    async fn save(&self, record: &Record) -> Result<()> {
        self.0.save(record).await
    }
    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        self.0.load(id).await
    }
    async fn delete(&self, id: &Id) -> Result<()> {
        self.0.delete(id).await
    }
}
