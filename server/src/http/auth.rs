//! Authentication: who is making this request (from the session cookie), the login and
//! logout forms, and the redirect of anonymous page views to `/login`.

use super::error::HttpError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use slipway_app::backend::context::CurrentUser;
use slipway_app::backend::passwords::{self, Password};
use slipway_app::backend::sessions::USER_ID_KEY;
use slipway_app::backend::storage::UserId;
use slipway_app::backend::AppState;
use slipway_app::domain::throttle;
use slipway_app::domain::UserName;
use std::net::SocketAddr;
use time::OffsetDateTime;
use tower_sessions::Session;

/// Paths anyone may fetch without logging in.
fn is_public(path: &str) -> bool {
    matches!(path, "/login" | "/healthz" | "/readyz" | "/favicon.ico")
        || path.starts_with("/pkg/")
        // Server functions answer "not logged in" themselves, as data.
        || path.starts_with("/_fn/")
        // The JSON API authenticates with bearer tokens and answers in JSON.
        || path.starts_with("/api/")
}

/// Middleware: loads the session's user (refusing disabled or deleted users, whose
/// session is then ended) into the request extensions as [`CurrentUser`], and sends
/// anonymous page views to the login page.
pub async fn authenticate(
    State(state): State<AppState>,
    session: Session,
    mut req: Request,
    next: Next,
) -> Response {
    let user = match session.get::<UserId>(USER_ID_KEY).await {
        Ok(Some(id)) => match state.storage.user_by_id(id).await {
            Ok(Some(u)) if !u.disabled => Some(u),
            Ok(_) => {
                let _ = session.flush().await;
                None
            }
            Err(e) => return HttpError::Internal(e.into()).into_response(),
        },
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "unreadable session; treating the request as anonymous");
            None
        }
    };
    let path = req.uri().path().to_owned();
    if user.is_none() && req.method() == Method::GET && !is_public(&path) {
        let target = match req.uri().path_and_query() {
            Some(pq) => pq.as_str().to_owned(),
            None => path.clone(),
        };
        let next = url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>();
        return Redirect::to(&format!("/login?next={next}")).into_response();
    }
    if user.is_some() && req.method() == Method::GET && path == "/login" {
        return Redirect::to("/").into_response();
    }
    req.extensions_mut().insert(CurrentUser(user));
    next.run(req).await
}

/// The login form's fields.
#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// Only same-site paths are followed after login (no open redirect).
fn safe_next(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.starts_with("/login");
    if ok {
        next
    } else {
        "/"
    }
}

/// `POST /login`: verifies the password (off the runtime, with equal time for unknown
/// users), rotates the session id (no fixation) and redirects.
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Result<Response, HttpError> {
    let back_with = |code: &str| {
        let next = url::form_urlencoded::byte_serialize(form.next.as_bytes()).collect::<String>();
        Redirect::to(&format!("/login?error={code}&next={next}")).into_response()
    };
    if form.username.trim().is_empty() || form.password.is_empty() {
        return Ok(back_with("invalid"));
    }
    // Throttle before any password work, for known and unknown names alike.
    let account: String = form
        .username
        .trim()
        .to_lowercase()
        .chars()
        .take(64)
        .collect();
    let client = peer.ip().to_string();
    let now = OffsetDateTime::now_utc().unix_timestamp_nanos() as f64 / 1e9;
    let since = now
        - throttle::PER_ACCOUNT
            .window
            .as_secs_f64()
            .max(throttle::PER_CLIENT.window.as_secs_f64());
    let (by_account, by_client) = state
        .storage
        .login_failures(&account, &client, since)
        .await
        .map_err(|e| HttpError::Internal(e.into()))?;
    let wait = [
        throttle::PER_ACCOUNT.retry_after(&by_account, now),
        throttle::PER_CLIENT.retry_after(&by_client, now),
    ]
    .into_iter()
    .flatten()
    .max();
    if let Some(wait) = wait {
        let name: String = form.username.trim().chars().take(64).collect();
        audit_login(
            &state,
            &name,
            "throttled",
            Some(format!(
                "from {client}; retry in {}",
                throttle::describe_wait(wait)
            )),
        )
        .await;
        let next = url::form_urlencoded::byte_serialize(form.next.as_bytes()).collect::<String>();
        let secs = wait.as_secs_f64().ceil() as u64;
        return Ok(
            Redirect::to(&format!("/login?error=throttled&retry={secs}&next={next}"))
                .into_response(),
        );
    }
    let creds = match UserName::parse(form.username.trim()) {
        Ok(name) => state
            .storage
            .credentials_by_name(&name)
            .await
            .map_err(|e| HttpError::Internal(e.into()))?,
        Err(_) => None,
    };
    let (hash, user) = match creds {
        Some(c) if !c.user.disabled => (Some(c.password_hash), Some(c.user)),
        _ => (None, None),
    };
    let ok = passwords::verify(hash, Password::candidate(form.password.clone())).await?;
    let user = match (ok, user) {
        (true, Some(u)) => u,
        _ => {
            tracing::info!(username = %form.username.escape_debug(), "failed login");
            let name: String = form.username.trim().chars().take(64).collect();
            state
                .storage
                .record_login_failure(&account, &client, now)
                .await
                .map_err(|e| HttpError::Internal(e.into()))?;
            audit_login(
                &state,
                &name,
                "failed",
                Some("wrong user name or password".into()),
            )
            .await;
            return Ok(back_with("credentials"));
        }
    };
    session.cycle_id().await.map_err(|e| {
        HttpError::Internal(anyhow::anyhow!("failed to rotate the session id: {e}"))
    })?;
    session
        .insert(USER_ID_KEY, user.id)
        .await
        .map_err(|e| HttpError::Internal(anyhow::anyhow!("failed to store the session: {e}")))?;
    state
        .storage
        .record_login(user.id, OffsetDateTime::now_utc())
        .await
        .map_err(|e| HttpError::Internal(e.into()))?;
    state
        .storage
        .clear_login_failures(&account)
        .await
        .map_err(|e| HttpError::Internal(e.into()))?;
    tracing::info!(user = %user.name, "logged in");
    audit_login(&state, user.name.as_str(), "ok", None).await;
    Ok(Redirect::to(safe_next(&form.next)).into_response())
}

/// `POST /logout`: destroys the session (server side and cookie).
pub async fn logout(session: Session) -> Result<Redirect, HttpError> {
    session
        .flush()
        .await
        .map_err(|e| HttpError::Internal(anyhow::anyhow!("failed to end the session: {e}")))?;
    Ok(Redirect::to("/login?notice=logged-out"))
}

/// Records a login attempt (the typed name, even when no such user exists).
async fn audit_login(state: &AppState, name: &str, outcome: &str, detail: Option<String>) {
    let entry = slipway_app::backend::storage::NewAudit {
        actor: Some(name.to_owned()),
        action: "login".into(),
        outcome: outcome.into(),
        detail,
        ..Default::default()
    };
    if let Err(e) = state.storage.audit(entry).await {
        tracing::error!(error = %e, "failed to write the audit log");
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next("/pipelines/web"), "/pipelines/web");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next(""), "/");
        assert_eq!(safe_next("/login?x"), "/");
    }
}
