//! `GET /api/v1/events`: live board changes and deployment log lines as server-sent
//! events. Browsers authenticate with their session cookie, scripts with a bearer
//! token. Event ids are stored row ids, so a client resumes after a disconnect or a
//! server restart with `Last-Event-ID`; one too far behind gets a `resync` event (reload
//! the board). Each subscriber has a bounded buffer: a slow client lags and is told to
//! resync, and never slows the server.

use super::bearer::{ApiError, ApiUser};
use super::extract::ApiQuery;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum_extra::headers::authorization::Bearer;
use axum_extra::headers::Authorization;
use axum_extra::TypedHeader;
use futures::stream::{self, Stream};
use serde::Deserialize;
use slipway_app::ssr::context::{authorize, CurrentLogin, CurrentUser};
use slipway_core::accounts::login;
use slipway_core::events::{StreamSlot, MAX_STREAMS_PER_USER};
use slipway_core::store::StoredEvent;
use slipway_core::store::User;
use slipway_core::tokens;
use slipway_core::Services;
use slipway_model::error::AppError;
use slipway_model::Action;
use slipway_model::{LoginId, UserId};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};

/// A client further behind than this many events is told to resync instead of replayed.
const MAX_REPLAY: i64 = 10_000;
/// Events read from storage per batch while replaying.
const BATCH: i64 = 500;

/// Which events a client wants.
#[derive(Deserialize)]
pub struct EventsQuery {
    /// Only this pipeline's events.
    pipeline: Option<String>,
    /// Resume after this event id (what `Last-Event-ID` does on reconnects; pages pass
    /// the id their data was read at, since a new EventSource cannot set the header).
    /// Parsed by [`parse_event_id`].
    after: Option<String>,
}

/// What opened a stream, kept so that the stream can check it again: a stream must not
/// outlive the login, token or user that opened it.
enum Credential {
    /// A browser's login (session cookie).
    Session {
        user: UserId,
        login: Option<LoginId>,
    },
    /// An API token, by its stored hash.
    Token { hash: String },
}

impl Credential {
    /// Whether the credential still lets its user watch: the login open, the token not
    /// revoked, the user enabled and not awaiting a password change.
    async fn still_valid(&self, state: &Services) -> bool {
        let user = match self {
            Credential::Session { user, login } => {
                login::resume(state, *user, *login, login::Activity::Watch)
                    .await
                    .ok()
                    .flatten()
                    .map(|r| r.user)
            }
            Credential::Token { hash } => state
                .storage
                .user_by_token(hash)
                .await
                .ok()
                .flatten()
                .filter(|u| !u.disabled),
        };
        user.is_some_and(|u| !u.must_change_password && authorize(&u, Action::View).is_ok())
    }
}

/// How often an open stream checks that its credential still holds.
const RECHECK: Duration = Duration::from_secs(3);

/// The session user, or the bearer token's user, with the credential they came with.
pub struct EventsUser {
    user: User,
    credential: Credential,
}

impl FromRequestParts<Services> for EventsUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Services,
    ) -> Result<Self, Self::Rejection> {
        let session_user = parts
            .extensions
            .get::<CurrentUser>()
            .and_then(|c| c.0.clone());
        let (user, credential) = match session_user {
            Some(u) => {
                super::bearer::refuse_until_password_changed(&u)?;
                let login = parts.extensions.get::<CurrentLogin>().and_then(|l| l.0);
                let credential = Credential::Session { user: u.id, login };
                (u, credential)
            }
            None => {
                let user = ApiUser::from_request_parts(parts, state).await?.0;
                // ApiUser accepted this header; read it again for the token's hash.
                let TypedHeader(Authorization(bearer)) =
                    TypedHeader::<Authorization<Bearer>>::from_request_parts(parts, state)
                        .await
                        .map_err(|_| ApiError::from(AppError::Unauthenticated))?;
                let hash = tokens::hash(bearer.token().trim());
                (user, Credential::Token { hash })
            }
        };
        authorize(&user, Action::View)?;
        Ok(EventsUser { user, credential })
    }
}

enum Phase {
    Replay { after: i64 },
    Live,
}

struct Feed {
    state: Services,
    credential: Credential,
    checked_at: tokio::time::Instant,
    _slot: StreamSlot,
    closing: tokio::sync::watch::Receiver<bool>,
    rx: broadcast::Receiver<StoredEvent>,
    pipeline: Option<String>,
    phase: Phase,
    pending: VecDeque<Event>,
    last_sent: i64,
}

fn to_event(e: &StoredEvent) -> Event {
    Event::default()
        .id(e.id.to_string())
        .event(e.kind.clone())
        .data(e.data.clone())
}

fn resync() -> Event {
    Event::default().event("resync").data("{}")
}

impl Feed {
    fn wanted(&self, e: &StoredEvent) -> bool {
        e.id > self.last_sent && self.pipeline.as_ref().is_none_or(|p| *p == e.pipeline)
    }

    /// Whether the stream may go on; checks the credential again every [`RECHECK`].
    async fn still_allowed(&mut self) -> bool {
        if self.checked_at.elapsed() < RECHECK {
            return true;
        }
        self.checked_at = tokio::time::Instant::now();
        self.credential.still_valid(&self.state).await
    }

    async fn next(&mut self) -> Option<Event> {
        loop {
            if !self.still_allowed().await {
                return None;
            }
            if let Some(e) = self.pending.pop_front() {
                return Some(e);
            }
            match self.phase {
                Phase::Replay { after } => {
                    let batch = self
                        .state
                        .storage
                        .events_after(after, self.pipeline.as_deref(), BATCH)
                        .await
                        .unwrap_or_default();
                    if batch.len() < usize::try_from(BATCH).unwrap_or(usize::MAX) {
                        self.phase = Phase::Live;
                    } else if let Some(last) = batch.last() {
                        self.phase = Phase::Replay { after: last.id };
                    }
                    for e in &batch {
                        self.last_sent = self.last_sent.max(e.id);
                        self.pending.push_back(to_event(e));
                    }
                }
                Phase::Live => {
                    if *self.closing.borrow() {
                        return None;
                    }
                    let recheck = tokio::time::sleep_until(self.checked_at + RECHECK);
                    let received = tokio::select! {
                        r = self.rx.recv() => r,
                        _ = self.closing.changed() => return None,
                        // Quiet streams check their credential too, then wait again.
                        () = recheck => continue,
                    };
                    match received {
                        Ok(e) if self.wanted(&e) => {
                            self.last_sent = e.id;
                            return Some(to_event(&e));
                        }
                        Ok(_) => continue,
                        Err(RecvError::Lagged(_)) => return Some(resync()),
                        Err(RecvError::Closed) => return None,
                    }
                }
            }
        }
    }
}

/// An event id as a client sends it back: the decimal digits of a stored row id and
/// nothing else (no sign, no spaces inside), so every value that passes is one the
/// server could have sent.
fn parse_event_id(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The handler.
pub async fn events(
    State(state): State<Services>,
    viewer: EventsUser,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let bad_id = |what: &str| {
        ApiError::from(AppError::BadRequest(format!(
            "{what} must be an event id (the digits of an id this server sent); \
             leave it out to start from now"
        )))
    };
    let last_id = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(parse_event_id)
                .ok_or_else(|| bad_id("Last-Event-ID"))?,
        ),
        None => match q.after.as_deref() {
            Some(a) => Some(parse_event_id(a).ok_or_else(|| bad_id("after"))?),
            None => None,
        },
    };
    let slot = state.events.open_stream(viewer.user.id).ok_or_else(|| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_streams",
            format!(
                "{} already has {MAX_STREAMS_PER_USER} event streams open; close some pages (or reuse one stream)",
                viewer.user.name
            ),
        )
    })?;
    // Subscribe before reading the backlog, so nothing falls between the two.
    let rx = state.events.subscribe();
    let mut pending = VecDeque::new();
    let (phase, last_sent) = match last_id {
        None => (Phase::Live, 0),
        Some(last) => {
            let (oldest, newest) = state.storage.event_id_range().await.unwrap_or((0, 0));
            let pruned = oldest > 0 && last.saturating_add(1) < oldest;
            if pruned || last > newest || newest.saturating_sub(last) > MAX_REPLAY {
                // Too far behind, or ahead of this database (another server's id): reload,
                // then follow live.
                pending.push_back(resync());
                (Phase::Live, newest)
            } else {
                (Phase::Replay { after: last }, last)
            }
        }
    };
    let closing = state.events.closing();
    let feed = Feed {
        state,
        credential: viewer.credential,
        checked_at: tokio::time::Instant::now(),
        _slot: slot,
        closing,
        rx,
        pipeline: q.pipeline,
        phase,
        pending,
        last_sent,
    };
    let stream = stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok(event), feed))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[cfg(test)]
mod tests {
    use super::parse_event_id;

    #[test]
    fn event_ids_are_plain_non_negative_decimal_numbers() {
        assert_eq!(parse_event_id("42"), Some(42));
        assert_eq!(parse_event_id(" 7 "), Some(7));
        assert_eq!(parse_event_id("9223372036854775807"), Some(i64::MAX));
        for bad in ["", "-1", "+1", "1e3", "0x10", "1 2", "9223372036854775808"] {
            assert_eq!(parse_event_id(bad), None, "{bad:?}");
        }
    }
}
