//! Login sessions: one row per login, so that an admin can end a user's sessions and a
//! password change can end the others.

use super::*;

/// One login session, as the user's "active sessions" list shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LoginSession {
    /// Id, kept in the session record and shown in the list.
    pub id: LoginId,
    /// Whose session it is.
    pub user_id: UserId,
    /// When the user logged in.
    pub created_at: OffsetDateTime,
    /// The absolute end (unix seconds), whatever the activity.
    pub expires_at: i64,
    /// The last request (updated at most once a minute).
    pub last_seen_at: OffsetDateTime,
    /// The client address at login.
    pub client: String,
    /// The browser's User-Agent at login (truncated).
    pub user_agent: String,
}

impl LoginSession {
    /// Whether requests carrying this session are still accepted at `now`: before its
    /// absolute end, and less than `inactivity` after its last recorded request (which
    /// is recorded at most once a minute, so idle time is known to that minute).
    pub fn is_open_at(&self, now: OffsetDateTime, inactivity: time::Duration) -> bool {
        now.unix_timestamp() < self.expires_at && now - self.last_seen_at < inactivity
    }
}

/// What every request with a session cookie needs, read in one query: the login, its
/// user, and how many notifications they have not read.
#[derive(Debug, Clone)]
pub struct Resumed {
    pub login: LoginSession,
    pub user: User,
    pub unread_notifications: i64,
}

/// Login sessions (`user_sessions`): one row per login, ended by deleting it.
#[async_trait]
pub trait LoginSessionStore: Send + Sync {
    /// Opens a login session for `user`, ending absolutely at `expires_at` (unix s).
    async fn create_login_session(
        &self,
        user: UserId,
        expires_at: i64,
        client: &str,
        user_agent: &str,
    ) -> StorageResult<LoginSession>;

    /// A login session by id (open or not).
    async fn login_session(&self, id: LoginId) -> StorageResult<Option<LoginSession>>;

    /// A login session by id (open or not) with its user and their unread
    /// notifications, in one query.
    async fn resume_login(&self, id: LoginId) -> StorageResult<Option<Resumed>>;

    /// Records activity on a session.
    async fn touch_login_session(&self, id: LoginId, at: OffsetDateTime) -> StorageResult<()>;

    /// `user`'s sessions that are still open at `now` (unix s), newest first.
    async fn open_login_sessions(&self, user: UserId, now: i64)
        -> StorageResult<Vec<LoginSession>>;

    /// Ends one of `user`'s sessions (its row goes: a session without a row is
    /// refused); `false` if it is not theirs or already ended.
    async fn end_login_session(&self, user: UserId, id: LoginId) -> StorageResult<bool>;

    /// Ends all of `user`'s open sessions but `except`; returns how many.
    async fn end_login_sessions_of(
        &self,
        user: UserId,
        except: Option<LoginId>,
    ) -> StorageResult<u64>;

    /// Deletes sessions whose expiry has passed (run periodically).
    async fn delete_expired_sessions(&self) -> StorageResult<u64>;
}
