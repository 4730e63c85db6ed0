//! Users: accounts, roles, password hashes (never serialisable), and the one-time setup tokens that create the first admin.

use super::*;

async fn roles_of<'e, E: Executor<'e, Database = Db>>(
    ex: E,
    id: UserId,
) -> StorageResult<RoleSet> {
    let rows = sqlx::query("SELECT role FROM user_roles WHERE user_id = $1")
        .bind(id)
        .fetch_all(ex)
        .await
        .map_err(db("failed to load a user's roles"))?;
    let mut set = RoleSet::EMPTY;
    for row in rows {
        let name: String = col(&row, "role")?;
        // The CHECK constraint only admits known roles; an unknown one is skipped, not fatal.
        if let Ok(role) = Role::parse(&name) {
            set.insert(role);
        }
    }
    Ok(set)
}

/// A `users` row ([`USER_COLUMNS`]); the roles live in their own table.
#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: UserId,
    name: String,
    password_hash: String,
    disabled_at: Option<OffsetDateTime>,
    last_login_at: Option<OffsetDateTime>,
    must_change_password: bool,
}

impl UserRow {
    /// The user, with the roles read beside the row; the name is parsed through the
    /// model, so a corrupt row is an error that says so.
    fn into_user(self, roles: RoleSet) -> StorageResult<User> {
        Ok(User {
            id: self.id,
            name: UserName::parse(&self.name).map_err(db("a stored user name is invalid"))?,
            roles,
            disabled: self.disabled_at.is_some(),
            last_login_at: self.last_login_at,
            must_change_password: self.must_change_password,
        })
    }
}

/// How many enabled users hold the admin role.
async fn enabled_admins<'e, E: Executor<'e, Database = Db>>(ex: E) -> StorageResult<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM users u JOIN user_roles r ON r.user_id = u.id \
         WHERE r.role = 'admin' AND u.disabled_at IS NULL",
    )
    .fetch_one(ex)
    .await
    .map_err(db("failed to count admins"))
}

fn last_admin() -> StorageError {
    StorageError::Conflict(
        "this would leave no enabled administrator; make someone else an admin first".into(),
    )
}

/// Inserts a user with `roles`, inside the caller's transaction; `Conflict` if the
/// name is taken.
async fn insert_user(
    tx: &mut sqlx::Transaction<'_, Db>,
    now: OffsetDateTime,
    name: &UserName,
    password_hash: &str,
    roles: RoleSet,
    must_change_password: bool,
) -> StorageResult<User> {
    let id: UserId = sqlx::query_scalar(
        "INSERT INTO users (name, password_hash, created_at, must_change_password) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(name.as_str())
    .bind(password_hash)
    .bind(now)
    .bind(must_change_password)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StorageError::Conflict(format!(
                "a user named \"{name}\" already exists; choose another name"
            ))
        } else {
            db("failed to insert a user")(e)
        }
    })?;
    insert_roles(tx, id, roles).await?;
    Ok(User {
        id,
        name: name.clone(),
        roles,
        disabled: false,
        last_login_at: None,
        must_change_password,
    })
}

/// Gives user `id` the `roles`, inside the caller's transaction.
async fn insert_roles(
    tx: &mut sqlx::Transaction<'_, Db>,
    id: UserId,
    roles: RoleSet,
) -> StorageResult<()> {
    for role in roles.iter() {
        sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
            .bind(id)
            .bind(role.as_str())
            .execute(&mut **tx)
            .await
            .map_err(db("failed to insert a user's role"))?;
    }
    Ok(())
}

const USER_COLUMNS: &str =
    "id, name, password_hash, disabled_at, last_login_at, must_change_password";

/// A `users` row with its roles folded into one column, so that a user comes back from
/// one query: what every authenticated request reads ([`user_with_roles_columns`]).
#[derive(sqlx::FromRow)]
pub(super) struct UserWithRoles {
    #[sqlx(flatten)]
    row: UserRow,
    /// The role names, comma-separated (`None`: no roles).
    roles: Option<String>,
}

impl UserWithRoles {
    pub(super) fn into_user(self) -> StorageResult<User> {
        // The CHECK constraint only admits known roles; an unknown one is skipped, as in
        // `roles_of`.
        let roles = self
            .roles
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter_map(|r| Role::parse(r).ok())
            .collect();
        self.row.into_user(roles)
    }
}

/// The columns of [`UserWithRoles`], from `users` aliased `u`.
pub(super) fn user_with_roles_columns() -> String {
    format!(
        "u.id, u.name, u.password_hash, u.disabled_at, u.last_login_at, u.must_change_password, \
         (SELECT {} FROM user_roles r WHERE r.user_id = u.id) AS roles",
        dialect_sql!(sqlite: "group_concat(r.role, ',')", postgres: "string_agg(r.role, ',')")
    )
}

#[async_trait]
impl UserStore for Store {
    async fn create_user(
        &self,
        name: &UserName,
        password_hash: &str,
        roles: RoleSet,
        must_change_password: bool,
    ) -> StorageResult<User> {
        let mut tx = self.write_tx().await?;
        let user = insert_user(
            &mut tx,
            self.clock.now(),
            name,
            password_hash,
            roles,
            must_change_password,
        )
        .await?;
        tx.commit()
            .await
            .map_err(db("failed to commit a new user"))?;
        Ok(user)
    }

    async fn set_password(
        &self,
        id: UserId,
        password_hash: &str,
        must_change: bool,
    ) -> StorageResult<()> {
        let done = sqlx::query(
            "UPDATE users SET password_hash = $1, must_change_password = $2 WHERE id = $3",
        )
        .bind(password_hash)
        .bind(must_change)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(db("failed to update a password"))?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound(format!("no user with id {id}")));
        }
        Ok(())
    }

    async fn set_roles(&self, id: UserId, roles: RoleSet) -> StorageResult<()> {
        let mut tx = self.write_tx().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("failed to look up a user"))?;
        if exists.is_none() {
            return Err(StorageError::NotFound(format!("no user with id {id}")));
        }
        sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db("failed to clear a user's roles"))?;
        insert_roles(&mut tx, id, roles).await?;
        if enabled_admins(&mut *tx).await? == 0 {
            return Err(last_admin());
        }
        tx.commit()
            .await
            .map_err(db("failed to commit a role change"))?;
        Ok(())
    }

    async fn set_disabled(&self, id: UserId, disabled: bool) -> StorageResult<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE users SET disabled_at = CASE WHEN $1 THEN COALESCE(disabled_at, $2) END WHERE id = $3",
        )
        .bind(disabled)
        .bind(self.clock.now())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db("failed to disable or enable a user"))?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound(format!("no user with id {id}")));
        }
        if disabled && enabled_admins(&mut *tx).await? == 0 {
            return Err(last_admin());
        }
        tx.commit()
            .await
            .map_err(db("failed to commit a user's status"))?;
        Ok(())
    }

    async fn has_active_admin(&self) -> StorageResult<bool> {
        Ok(enabled_admins(&self.pool).await? > 0)
    }

    async fn create_setup_token(&self, token_hash: &str, expires_at: i64) -> StorageResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM setup_tokens WHERE used_at IS NULL")
            .execute(&mut *tx)
            .await
            .map_err(db("failed to drop earlier setup links"))?;
        sqlx::query(
            "INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(token_hash)
        .bind(self.clock.now())
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .map_err(db("failed to store a setup link"))?;
        tx.commit()
            .await
            .map_err(db("failed to commit a setup link"))?;
        Ok(())
    }

    async fn setup_token_is_valid(&self, token_hash: &str, now: i64) -> StorageResult<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM setup_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("failed to look up a setup link"))?;
        Ok(found.is_some())
    }

    async fn create_first_admin(
        &self,
        token_hash: &str,
        now: i64,
        name: &UserName,
        password_hash: &str,
    ) -> Result<User, SetupError> {
        let mut tx = self.write_tx().await?;
        let used = sqlx::query(
            "UPDATE setup_tokens SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(self.clock.now())
        .bind(token_hash)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db("failed to use a setup link"))?;
        if used.rows_affected() != 1 {
            return Err(SetupError::InvalidLink);
        }
        if enabled_admins(&mut *tx).await? > 0 {
            return Err(SetupError::AdminExists);
        }
        let admin = [Role::Admin].into_iter().collect();
        let user = insert_user(&mut tx, self.clock.now(), name, password_hash, admin, false)
            .await
            .map_err(|e| match e {
                StorageError::Conflict(m) => SetupError::NameTaken(m),
                other => SetupError::Storage(other),
            })?;
        tx.commit()
            .await
            .map_err(db("failed to commit the first admin"))?;
        Ok(user)
    }

    async fn credentials_by_name(&self, name: &UserName) -> StorageResult<Option<Credentials>> {
        // Names are unique whatever their case: SQLite's column compares with NOCASE,
        // PostgreSQL's unique index is on lower(name).
        let row = sqlx::query_as::<_, UserRow>(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE {}",
            dialect_sql!(sqlite: "name = $1", postgres: "lower(name) = lower($1)")
        ))
        .bind(name.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db("failed to look up a user"))?;
        let Some(row) = row else { return Ok(None) };
        let roles = roles_of(&self.pool, row.id).await?;
        let password_hash = row.password_hash.clone();
        Ok(Some(Credentials {
            user: row.into_user(roles)?,
            password_hash,
        }))
    }

    async fn user_by_id(&self, id: UserId) -> StorageResult<Option<User>> {
        sqlx::query_as::<_, UserWithRoles>(&format!(
            "SELECT {} FROM users u WHERE u.id = $1",
            user_with_roles_columns()
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("failed to look up a user"))?
        .map(UserWithRoles::into_user)
        .transpose()
    }

    async fn user_by_name(&self, name: &UserName) -> StorageResult<Option<User>> {
        Ok(self.credentials_by_name(name).await?.map(|c| c.user))
    }

    async fn list_users(&self) -> StorageResult<Vec<User>> {
        let rows = sqlx::query_as::<_, UserRow>(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY name"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to list users"))?;
        // One query for all roles rather than one per user.
        let role_rows = sqlx::query("SELECT user_id, role FROM user_roles")
            .fetch_all(&self.pool)
            .await
            .map_err(db("failed to list roles"))?;
        let mut roles: std::collections::HashMap<UserId, RoleSet> =
            std::collections::HashMap::new();
        for r in role_rows {
            let id: UserId = col(&r, "user_id")?;
            let name: String = col(&r, "role")?;
            if let Ok(role) = Role::parse(&name) {
                roles.entry(id).or_default().insert(role);
            }
        }
        rows.into_iter()
            .map(|row| {
                let user_roles = roles.get(&row.id).copied().unwrap_or_default();
                row.into_user(user_roles)
            })
            .collect()
    }

    async fn record_login(&self, id: UserId, at: OffsetDateTime) -> StorageResult<()> {
        sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db("failed to record a login"))?;
        Ok(())
    }
}
