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
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::{self, Stream};
use serde::Deserialize;
use slipway_app::ssr::context::{authorize, CurrentUser};
use slipway_core::store::StoredEvent;
use slipway_core::Services;
use slipway_model::error::AppError;
use slipway_model::Action;
use std::collections::VecDeque;
use std::convert::Infallible;
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

/// The session user, or the bearer token's user.
pub struct EventsUser;

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
        let user = match session_user {
            Some(u) => {
                super::bearer::refuse_until_password_changed(&u)?;
                u
            }
            None => ApiUser::from_request_parts(parts, state).await?.0,
        };
        authorize(&user, Action::View)?;
        Ok(EventsUser)
    }
}

enum Phase {
    Replay { after: i64 },
    Live,
}

struct Feed {
    state: Services,
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

    async fn next(&mut self) -> Option<Event> {
        loop {
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
                    let received = tokio::select! {
                        r = self.rx.recv() => r,
                        _ = self.closing.changed() => return None,
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
    _user: EventsUser,
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
