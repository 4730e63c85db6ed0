//! Calls to GitHub's REST API, through octocrab.
//!
//! octocrab carries the credentials (a token, or a GitHub App installation whose tokens
//! it mints and refreshes before they expire), the base URL (Enterprise servers answer
//! under `/api/v3`) and GitHub's API version header. Calls go through its raw methods
//! and are answered here, because Slipway needs what its typed calls hide: a `304` to a
//! conditional request (an unchanged answer costs nothing against the rate limit), and
//! the rate-limit headers, which turn into [`GitHubError::RateLimited`] and stop further
//! calls until GitHub's reset time instead of hammering it.
//!
//! [`GitHubClients`] builds one client per API URL on first use (octocrab needs the
//! runtime running), so a token that cannot be read is an error on the card that needs
//! it, not a server that does not start.

use crate::config::{GitHubAuth, GitHubConfig};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use octocrab::service::middleware::retry::RetryConfig;
use octocrab::Octocrab;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

/// How long Slipway waits for GitHub to connect and to answer: a board view or a
/// promotion asks while someone waits.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const READ_TIMEOUT: Duration = Duration::from_secs(20);
/// A rate-limited answer without a reset time: wait this long before asking again.
const DEFAULT_BACKOFF: Duration = Duration::from_secs(60);

/// What went wrong asking GitHub. Messages never contain a credential.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GitHubError {
    /// GitHub refuses calls until `until` (its rate limit, or a secondary limit).
    #[error("GitHub rate-limited until {}", clock(.until))]
    RateLimited { until: OffsetDateTime },
    /// The repository, commit or object does not exist (or the credentials may not see it).
    #[error("not found on GitHub")]
    NotFound,
    /// Any other refusal or failure, said for people.
    #[error("{0}")]
    Failed(String),
}

/// `14:05 UTC`.
fn clock(at: &OffsetDateTime) -> String {
    let fmt = time::macros::format_description!("[hour]:[minute] UTC");
    at.format(&fmt).unwrap_or_else(|_| at.to_string())
}

/// A GET's answer: the body, or "unchanged since the ETag you sent".
pub enum Fetched<T> {
    /// A new body, with its ETag for the next conditional request.
    Changed { value: T, etag: Option<String> },
    /// `304 Not Modified`.
    Unchanged,
}

/// One API endpoint's client, and what it learned about the rate limit.
#[derive(Clone)]
pub struct GitHubClient {
    gh: Octocrab,
    /// Until when GitHub said no more calls (shared by the clones).
    limited_until: Arc<Mutex<Option<OffsetDateTime>>>,
}

impl GitHubClient {
    /// A client of `api_url` with `auth`; must run inside the tokio runtime.
    pub fn build(api_url: &str, auth: &GitHubAuth) -> Result<Self, GitHubError> {
        let builder = Octocrab::builder()
            .base_uri(api_url)
            .map_err(|_| GitHubError::Failed(format!("{api_url} is not a valid API URL")))?
            // Slipway backs off itself: octocrab's retries would answer a 429 at once.
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(CONNECT_TIMEOUT))
            .set_read_timeout(Some(READ_TIMEOUT));
        let gh = match auth {
            GitHubAuth::Anonymous => builder.build(),
            GitHubAuth::Token(source) => {
                let token = source
                    .read()
                    .map_err(|why| GitHubError::Failed(format!("the GitHub token: {why}")))?;
                let token = String::from_utf8(token)
                    .map_err(|_| GitHubError::Failed("the GitHub token is not text".to_owned()))?;
                builder.personal_token(token).build()
            }
            GitHubAuth::App {
                app_id,
                private_key,
                installation_id,
            } => {
                let pem = private_key.read().map_err(|why| {
                    GitHubError::Failed(format!("the GitHub App's private key: {why}"))
                })?;
                let app = builder
                    .app_from_rsa_pem(octocrab::models::AppId(*app_id), pem)
                    .map_err(|_| {
                        GitHubError::Failed(
                            "the GitHub App's private key is not an RSA key in PEM form".to_owned(),
                        )
                    })?
                    .build()
                    .map_err(failed)?;
                // Installation tokens are minted on first use and again before expiry.
                app.installation(octocrab::models::InstallationId(*installation_id))
            }
        }
        .map_err(failed)?;
        Ok(Self {
            gh,
            limited_until: Arc::new(Mutex::new(None)),
        })
    }

    /// Until when calls are held back, if they are.
    pub fn rate_limited_until(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let limited = self.limited_until.lock().unwrap_or_else(|p| p.into_inner());
        limited.filter(|until| *until > now)
    }

    fn check_limit(&self) -> Result<(), GitHubError> {
        match self.rate_limited_until(OffsetDateTime::now_utc()) {
            Some(until) => Err(GitHubError::RateLimited { until }),
            None => Ok(()),
        }
    }

    /// GET `route` (a path and query under the base URL) as `T`.
    pub async fn get<T: DeserializeOwned>(&self, route: &str) -> Result<T, GitHubError> {
        match self.get_if_changed(route, None).await? {
            Fetched::Changed { value, .. } => Ok(value),
            Fetched::Unchanged => Err(GitHubError::Failed(format!(
                "GitHub answered 304 to {route} without being asked conditionally"
            ))),
        }
    }

    /// GET `route`, conditionally on `etag` when given: an unchanged answer is
    /// [`Fetched::Unchanged`] and costs nothing against the rate limit.
    pub async fn get_if_changed<T: DeserializeOwned>(
        &self,
        route: &str,
        etag: Option<&str>,
    ) -> Result<Fetched<T>, GitHubError> {
        self.check_limit()?;
        let mut headers = HeaderMap::new();
        if let Some(tag) = etag.and_then(|t| HeaderValue::from_str(t).ok()) {
            headers.insert(header::IF_NONE_MATCH, tag);
        }
        let response = self
            .gh
            ._get_with_headers(route, Some(headers))
            .await
            .map_err(unreachable)?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::Unchanged);
        }
        let etag = response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (status, headers) = (response.status(), response.headers().clone());
        let body = self
            .gh
            .body_to_string(response)
            .await
            .map_err(unreachable)?;
        let value = self.interpret(route, status, &headers, &body)?;
        Ok(Fetched::Changed { value, etag })
    }

    /// POST `body` as JSON to `route`, reading the answer as `T`.
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        route: &str,
        body: &B,
    ) -> Result<T, GitHubError> {
        self.check_limit()?;
        let response = self
            .gh
            ._post(route, Some(body))
            .await
            .map_err(unreachable)?;
        let (status, headers) = (response.status(), response.headers().clone());
        let body = self
            .gh
            .body_to_string(response)
            .await
            .map_err(unreachable)?;
        self.interpret(route, status, &headers, &body)
    }

    /// POST `body` to `route` where GitHub answers with no body (`204`).
    pub async fn post_empty<B: Serialize>(&self, route: &str, body: &B) -> Result<(), GitHubError> {
        self.post::<B, serde_json::Value>(route, body)
            .await
            .map(|_| ())
    }

    /// A response's body as `T`, or the error its status and headers say.
    fn interpret<T: DeserializeOwned>(
        &self,
        route: &str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &str,
    ) -> Result<T, GitHubError> {
        if status.is_success() {
            let text = if body.trim().is_empty() { "null" } else { body };
            return serde_json::from_str(text).map_err(|e| {
                GitHubError::Failed(format!(
                    "GitHub's answer to {} is not what Slipway expects: {e}",
                    path_only(route)
                ))
            });
        }
        if let Some(until) = rate_limit(status, headers) {
            let mut limited = self.limited_until.lock().unwrap_or_else(|p| p.into_inner());
            *limited = Some(until);
            tracing::warn!(until = %until, "GitHub rate limit reached; calls wait for its reset");
            return Err(GitHubError::RateLimited { until });
        }
        if status == StatusCode::NOT_FOUND {
            return Err(GitHubError::NotFound);
        }
        let message = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
        Err(GitHubError::Failed(format!(
            "GitHub answered {} to {}: {message}",
            status.as_u16(),
            path_only(route)
        )))
    }
}

/// Where a rate-limited answer says to wait until: a `403` or `429` with
/// `x-ratelimit-remaining: 0` (until `x-ratelimit-reset`) or with `retry-after`
/// (a secondary limit).
fn rate_limit(status: StatusCode, headers: &HeaderMap) -> Option<OffsetDateTime> {
    if status != StatusCode::FORBIDDEN && status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
    let now = OffsetDateTime::now_utc();
    if let Some(seconds) = number("retry-after") {
        return Some(now + time::Duration::seconds(seconds.max(1)));
    }
    if number("x-ratelimit-remaining") == Some(0) {
        let reset = number("x-ratelimit-reset")
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .filter(|t| *t > now);
        return Some(reset.unwrap_or(now + DEFAULT_BACKOFF));
    }
    (status == StatusCode::TOO_MANY_REQUESTS).then(|| now + DEFAULT_BACKOFF)
}

/// A route without its query (which may hold nothing secret, but is noise in messages).
fn path_only(route: &str) -> &str {
    route.split('?').next().unwrap_or(route)
}

fn failed(e: octocrab::Error) -> GitHubError {
    GitHubError::Failed(format!("GitHub client: {e}"))
}

/// octocrab's transport error, said without the request (which never holds a
/// credential, but the error chain may be long).
fn unreachable(e: octocrab::Error) -> GitHubError {
    match e {
        octocrab::Error::GitHub { source, .. } => {
            GitHubError::Failed(format!("GitHub answered {}", source.status_code.as_u16()))
        }
        other => GitHubError::Failed(format!("cannot reach GitHub: {}", first_line(&other))),
    }
}

fn first_line(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text.lines().next().unwrap_or_default().to_owned()
}

/// One client per API URL, built when first needed; and when CI checks were asked.
pub struct GitHubClients {
    config: GitHubConfig,
    clients: Mutex<HashMap<String, GitHubClient>>,
    /// When each SHA's CI checks were last asked of the API.
    pub ci_asks: super::checks::CiAsks,
    /// External deploys waiting on a GitHub Deployment's status, by its id: a
    /// `deployment_status` webhook wakes them before their next poll.
    wakers: Mutex<HashMap<i64, Arc<tokio::sync::Notify>>>,
}

impl GitHubClients {
    pub fn new(config: &GitHubConfig) -> Self {
        Self {
            config: config.clone(),
            clients: Mutex::new(HashMap::new()),
            ci_asks: Default::default(),
            wakers: Mutex::new(HashMap::new()),
        }
    }

    /// What an external deploy waiting on GitHub Deployment `id` waits on.
    pub fn deployment_waker(&self, id: i64) -> Arc<tokio::sync::Notify> {
        let mut wakers = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
        wakers.entry(id).or_default().clone()
    }

    /// The wait on GitHub Deployment `id` is over.
    pub fn forget_waker(&self, id: i64) {
        let mut wakers = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
        wakers.remove(&id);
    }

    /// A status of GitHub Deployment `id` arrived: whoever waits on it reads now.
    pub fn wake_deployment(&self, id: i64) {
        let wakers = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = wakers.get(&id) {
            w.notify_one();
        }
    }

    /// The client for `api_url` (the server's default when `None`).
    pub fn client(&self, api_url: Option<&str>) -> Result<GitHubClient, GitHubError> {
        let url = api_url.unwrap_or(&self.config.api_url);
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(url) {
            return Ok(c.clone());
        }
        let client = GitHubClient::build(url, &self.config.auth)?;
        clients.insert(url.to_owned(), client.clone());
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("a header value"));
        }
        h
    }

    #[test]
    fn a_403_with_no_requests_left_waits_until_githubs_reset() {
        let reset = OffsetDateTime::now_utc().unix_timestamp() + 600;
        let until = rate_limit(
            StatusCode::FORBIDDEN,
            &headers(&[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", &reset.to_string()),
            ]),
        );
        assert_eq!(until.map(|t| t.unix_timestamp()), Some(reset));
    }

    #[test]
    fn a_secondary_limit_waits_for_its_retry_after() {
        let before = OffsetDateTime::now_utc();
        let until = rate_limit(
            StatusCode::FORBIDDEN,
            &headers(&[("retry-after", "30"), ("x-ratelimit-remaining", "12")]),
        )
        .expect("limited");
        assert!(until >= before + time::Duration::seconds(30));
    }

    #[test]
    fn a_403_without_rate_limit_headers_is_a_refusal_not_a_limit() {
        assert_eq!(
            rate_limit(
                StatusCode::FORBIDDEN,
                &headers(&[("x-ratelimit-remaining", "4999")])
            ),
            None
        );
        assert_eq!(rate_limit(StatusCode::NOT_FOUND, &HeaderMap::new()), None);
        assert!(rate_limit(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new()).is_some());
    }

    #[test]
    fn the_card_says_until_when_in_hours_and_minutes() {
        let until = OffsetDateTime::from_unix_timestamp(1_700_000_700).expect("a time");
        assert_eq!(
            GitHubError::RateLimited { until }.to_string(),
            "GitHub rate-limited until 22:25 UTC"
        );
    }
}
