//! Authentication: who is making this request (from the session cookie), the login and
//! logout forms, and the redirect of anonymous page views to `/login`.

use super::client::ClientAddr;
use super::error::HttpError;
use crate::http::session_store::{LOGIN_KEY, USER_ID_KEY};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;
use slipway_app::ssr::context::{CurrentLogin, CurrentUser, UnreadNotifications};
use slipway_core::accounts::login::{self, LoginRefusal};
use slipway_core::store::{Resumed, User, UserId};
use slipway_core::Services;
use slipway_model::LoginId;
use tower_sessions::Session;

/// Paths anyone may fetch without logging in.
fn is_public(path: &str) -> bool {
    matches!(path, "/login" | "/setup" | "/favicon.ico") || path.starts_with("/pkg/")
        // Server functions answer "not logged in" themselves, as data.
        || path.starts_with("/_fn/")
        // The event stream also takes a bearer token, and refuses in JSON.
        || path == "/api/v1/events"
}

/// What a user who must change their password may still reach: the change form, the
/// data that page loads, logging out, and assets.
fn allowed_before_password_change(path: &str) -> bool {
    matches!(path, "/password" | "/logout" | "/_fn/me" | "/_fn/flash") || path.starts_with("/pkg/")
}

/// Why a request that carries a session cookie is not authenticated.
enum Anonymous {
    /// No login in the session.
    NeverLoggedIn,
    /// The login ended (revoked, absolute expiry, user disabled, password changed).
    Ended,
}

/// The user and login session behind `session`, if it is still honoured. Ended ones
/// are flushed, so their cookie stops working for good.
async fn resolve(
    state: &Services,
    session: &Session,
) -> Result<Result<Resumed, Anonymous>, HttpError> {
    let read = async {
        let user = session.get::<UserId>(USER_ID_KEY).await?;
        let login = session.get::<LoginId>(LOGIN_KEY).await?;
        Ok::<_, tower_sessions::session::Error>((user, login))
    };
    let (user_id, login_id) = match read.await {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!(error = %e, "unreadable session; treating the request as anonymous");
            return Ok(Err(Anonymous::NeverLoggedIn));
        }
    };
    let Some(user_id) = user_id else {
        return Ok(Err(Anonymous::NeverLoggedIn));
    };
    match login::resume(state, user_id, login_id, login::Activity::Request).await? {
        Some(resumed) => Ok(Ok(resumed)),
        None => {
            let _ = session.flush().await;
            Ok(Err(Anonymous::Ended))
        }
    }
}

/// Middleware: loads the session's user into the request extensions as
/// [`CurrentUser`] (and the login session as [`CurrentLogin`]), refusing sessions
/// that were ended, outlived their absolute lifetime, or belong to a disabled user;
/// sends anonymous page views to the login page, and users who must change their
/// password to the change form.
pub async fn authenticate(
    State(state): State<Services>,
    session: Session,
    mut req: Request,
    next: Next,
) -> Response {
    let resolved = match resolve(&state, &session).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let path = req.uri().path().to_owned();
    let is_get = req.method() == Method::GET;
    let (user, login, unread) = match resolved {
        Ok(r) => (Some(r.user), Some(r.login.id), r.unread_notifications),
        Err(why) => {
            if is_get && !is_public(&path) {
                let target = match req.uri().path_and_query() {
                    Some(pq) => pq.as_str().to_owned(),
                    None => path.clone(),
                };
                let next =
                    url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>();
                let error = match why {
                    Anonymous::Ended => "error=expired&",
                    Anonymous::NeverLoggedIn => "",
                };
                return Redirect::to(&format!("/login?{error}next={next}")).into_response();
            }
            (None, None, 0)
        }
    };
    if let Some(u) = &user {
        // Bearer-token API calls are not the session's business.
        let bearer = path.starts_with("/api/")
            && req
                .headers()
                .contains_key(axum::http::header::AUTHORIZATION);
        // Before anything else, the login and setup pages included: a user who must
        // change their password may do nothing else first.
        if u.must_change_password && !allowed_before_password_change(&path) && !bearer {
            if is_get && !path.starts_with("/_fn/") && !path.starts_with("/api/") {
                return Redirect::to("/password").into_response();
            }
            return HttpError::forbidden(
                "an admin reset your password: choose a new one at /password first",
            )
            .into_response();
        }
        if is_get && (path == "/login" || path == "/setup") {
            return Redirect::to("/").into_response();
        }
    }
    req.extensions_mut().insert(CurrentUser(user));
    req.extensions_mut().insert(CurrentLogin(login));
    req.extensions_mut().insert(UnreadNotifications(unread));
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

/// Where to go after login: `next` only if it is a path on this server (no open
/// redirect). Prefix checks on the raw text are not enough: browsers drop tabs and
/// newlines and read `\\` as `/`, so `/\t/evil.example` leaves the site. `next` is resolved
/// against `base` the way a browser resolves a `Location`, and only a same-origin result
/// is kept, re-serialised from the parsed URL rather than echoed.
fn safe_next(base: &url::Url, next: &str) -> String {
    let home = "/".to_owned();
    if !next.starts_with('/') || next.chars().any(|c| c.is_control() || c == '\\') {
        return home;
    }
    let Ok(resolved) = base.join(next) else {
        return home;
    };
    if resolved.origin() != base.origin() || resolved.path().starts_with("/login") {
        return home;
    }
    resolved[url::Position::BeforePath..url::Position::AfterQuery].to_owned()
}

/// `POST /login`: checks the name and password ([`login::authenticate`]: throttled,
/// equal time for unknown users, audited), rotates the session id (no fixation) and
/// redirects.
pub async fn login(
    State(state): State<Services>,
    ClientAddr(peer): ClientAddr,
    headers: HeaderMap,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Result<Response, HttpError> {
    let back_with = |code: &str| {
        let next = url::form_urlencoded::byte_serialize(form.next.as_bytes()).collect::<String>();
        Redirect::to(&format!("/login?error={code}&next={next}")).into_response()
    };
    let client = peer.to_string();
    let user = match login::authenticate(
        state.storage.as_ref(),
        &form.username,
        &form.password,
        &client,
    )
    .await
    {
        Ok(user) => user,
        Err(LoginRefusal::Incomplete) => return Ok(back_with("invalid")),
        Err(LoginRefusal::WrongCredentials) => return Ok(back_with("credentials")),
        Err(LoginRefusal::Throttled(wait)) => {
            let next =
                url::form_urlencoded::byte_serialize(form.next.as_bytes()).collect::<String>();
            let secs = wait.as_secs_f64().ceil() as u64;
            return Ok(
                Redirect::to(&format!("/login?error=throttled&retry={secs}&next={next}"))
                    .into_response(),
            );
        }
        Err(LoginRefusal::Internal(e)) => return Err(e.into()),
    };
    start_login(&state, &session, &user, &client, &headers).await?;
    if user.must_change_password {
        return Ok(Redirect::to("/password").into_response());
    }
    Ok(Redirect::to(&safe_next(&state.config.base_url, &form.next)).into_response())
}

/// Logs `user` in on `session`: a new session id (no fixation), then
/// [`login::start`] (the login session row and last-login time), whose id the session
/// keeps. Login and first-admin setup both end here.
pub(super) async fn start_login(
    state: &Services,
    session: &Session,
    user: &User,
    client: &str,
    headers: &HeaderMap,
) -> Result<(), HttpError> {
    session.cycle_id().await.map_err(|e| {
        HttpError::Internal(anyhow::anyhow!("failed to rotate the session id: {e}"))
    })?;
    let agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown browser");
    let login = login::start(state, user, client, agent).await?;
    // The record lives as long as the login may; idleness is judged on the login row
    // (`login::resume`), so the record is written once here, not on every request.
    let ends = time::OffsetDateTime::from_unix_timestamp(login.expires_at)
        .map_err(|e| HttpError::Internal(anyhow::anyhow!("a login's end is out of range: {e}")))?;
    session.set_expiry(Some(tower_sessions::Expiry::AtDateTime(ends)));
    let store = async {
        session.insert(USER_ID_KEY, user.id).await?;
        session.insert(LOGIN_KEY, login.id).await
    };
    store
        .await
        .map_err(|e| HttpError::Internal(anyhow::anyhow!("failed to store the session: {e}")))
}

/// `POST /logout`: ends the login session and destroys the session record and cookie.
pub async fn logout(
    State(state): State<Services>,
    Extension(CurrentUser(user)): Extension<CurrentUser>,
    Extension(CurrentLogin(login)): Extension<CurrentLogin>,
    session: Session,
) -> Result<Redirect, HttpError> {
    if let (Some(user), Some(login)) = (user, login) {
        state
            .storage
            .end_login_session(user.id, login)
            .await
            .map_err(|e| HttpError::Internal(e.into()))?;
    }
    session
        .flush()
        .await
        .map_err(|e| HttpError::Internal(anyhow::anyhow!("failed to end the session: {e}")))?;
    Ok(Redirect::to("/login?notice=logged-out"))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_paths_on_this_server_are_followed_after_login() {
        let base = url::Url::parse("https://slipway.example.com/").expect("a URL");
        let next = |s: &str| safe_next(&base, s);
        assert_eq!(next("/pipelines/web"), "/pipelines/web");
        assert_eq!(next("/pipelines/web?x=1#frag"), "/pipelines/web?x=1");
        for evil in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n//evil.example",
            "\t//evil.example",
            "",
            "pipelines",
            "/login?x",
        ] {
            assert_eq!(next(evil), "/", "{evil:?}");
        }
    }
}
