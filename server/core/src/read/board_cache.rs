//! The board's read model, computed once per board version and permission view.
//!
//! A board is read far more often than it changes: every open page reloads it on
//! every event, and computing it reads storage and git and evaluates every card's
//! gates. So a board is computed once per [`BoardKey`] and shared by every request
//! with that key, the page and the JSON API alike. The key moves with everything the
//! board shows:
//! - the pipeline's board version, moved by every event that changes a board before
//!   the event reaches anyone ([`Events::board_version`](crate::events::Events));
//! - the minute: windows, freezes, approval slots, health staleness and every
//!   "3 min ago" are read at the minute;
//! - the mirror's last fetch and its error (a fetch that finds nothing new sends no
//!   event);
//! - the viewer's roles: what a viewer may do is part of the view.
//!
//! Nothing expires by time alone: an entry is simply never asked for again once the
//! key has moved on, and the least recently used go when the cache is full.

use super::board::compute;
use super::board_approvals::FourEyes;
use crate::config::PipelineConfig;
use crate::store::User;
use crate::Services;
use moka::future::Cache;
use moka::policy::EvictionPolicy;
use sha2::Digest as _;
use slipway_model::error::AppError;
use slipway_model::views::BoardView;
use slipway_model::{PipelineId, RoleSet};
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

/// How many computed boards a process keeps (pipelines × role sets in use, with room
/// for the versions just replaced).
const ENTRIES: u64 = 256;

/// What a computed board depends on (see the module's text).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BoardKey {
    pipeline: PipelineId,
    version: u64,
    minute: i64,
    fetched_at: Option<i64>,
    fetch_error: Option<String>,
    roles: RoleSet,
}

impl BoardKey {
    /// The key of `p`'s board for `user` now.
    fn now(state: &Services, user: &User, p: &PipelineConfig) -> Self {
        let status = state.repos.status(p.id.as_str());
        BoardKey {
            pipeline: p.id.clone(),
            version: state.events.board_version(p.id.as_str()),
            minute: state.now().unix_timestamp().div_euclid(60),
            fetched_at: status.fetched_at.map(|t| t.unix_timestamp()),
            fetch_error: status.error,
            roles: user.roles,
        }
    }
}

/// A response body rendered once, with its entity tag.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub bytes: bytes::Bytes,
    /// A strong `ETag` value (quoted): a digest of the bytes, so the same board after
    /// an event that changed nothing it shows still answers `304 Not Modified`.
    pub etag: String,
}

impl Rendered {
    /// `bytes` with their entity tag.
    pub fn new(bytes: impl Into<bytes::Bytes>) -> Self {
        let bytes = bytes.into();
        let digest = sha2::Sha256::digest(&bytes);
        let etag = format!("\"{}\"", hex::encode(&digest[..16]));
        Rendered { bytes, etag }
    }
}

/// One board as the viewers of one role set see it.
#[derive(Debug)]
pub struct CachedBoard {
    key: BoardKey,
    view: BoardView,
    four_eyes: FourEyes,
    json: OnceLock<Rendered>,
}

impl CachedBoard {
    /// What it was computed for: responses rendered from it are cached under it.
    pub fn key(&self) -> &BoardKey {
        &self.key
    }

    /// Whether `user` sees the shared view as it is: four eyes changes nothing for them
    /// (they requested none of the pending requests it guards).
    pub fn shared_with(&self, user: &User) -> bool {
        !self.four_eyes.iter().any(|(_, by)| *by == user.id)
    }

    /// The board as `user` sees it.
    pub fn for_user(&self, user: &User) -> Cow<'_, BoardView> {
        if self.shared_with(user) {
            return Cow::Borrowed(&self.view);
        }
        let mut view = self.view.clone();
        personalise(&mut view, user, &self.four_eyes);
        Cow::Owned(view)
    }

    /// The shared view as JSON, serialised once.
    pub fn json(&self) -> Result<&Rendered, AppError> {
        if let Some(r) = self.json.get() {
            return Ok(r);
        }
        let bytes = serde_json::to_vec(&self.view).map_err(crate::authz::internal)?;
        Ok(self.json.get_or_init(|| Rendered::new(bytes)))
    }
}

/// Four eyes: the requester of a pending request may not decide it, whatever their
/// roles. The one part of a board that depends on who looks, not on their roles.
pub fn personalise(view: &mut BoardView, user: &User, four_eyes: &FourEyes) {
    let cards = view
        .commits
        .iter_mut()
        .chain(view.ready.iter_mut())
        .chain(view.stages.iter_mut().flat_map(|s| s.cards.iter_mut()));
    for card in cards {
        let Some(approval) = card.next.as_mut().and_then(|n| n.approval.as_mut()) else {
            continue;
        };
        if let Some(request) = &approval.request {
            if four_eyes.contains(&(request.id, user.id)) {
                approval.can_decide = false;
            }
        }
    }
}

/// The boards this process computed, by key.
pub struct BoardCache {
    entries: Cache<BoardKey, Arc<CachedBoard>>,
}

impl Default for BoardCache {
    fn default() -> Self {
        Self {
            // Least recently used, not moka's default admission by frequency: a new
            // version of a board must always get in.
            entries: Cache::builder()
                .max_capacity(ENTRIES)
                .eviction_policy(EvictionPolicy::lru())
                .build(),
        }
    }
}

impl BoardCache {
    /// `p`'s board for `user`'s roles now: computed once per key, however many ask at
    /// the same moment (they wait for the one computing it).
    pub async fn get(
        &self,
        state: &Services,
        user: &User,
        p: &PipelineConfig,
    ) -> Result<Arc<CachedBoard>, AppError> {
        let key = BoardKey::now(state, user, p);
        self.entries
            .try_get_with(key.clone(), async {
                let (view, four_eyes) = compute(state, user, p).await?;
                Ok::<_, AppError>(Arc::new(CachedBoard {
                    key,
                    view,
                    four_eyes,
                    json: OnceLock::new(),
                }))
            })
            .await
            .map_err(|e| (*e).clone())
    }
}

/// One pipeline's board, as `user` may see it.
pub async fn board(
    state: &Services,
    user: &User,
    p: &PipelineConfig,
) -> Result<BoardView, AppError> {
    let cached = state.boards.get(state, user, p).await?;
    Ok(cached.for_user(user).into_owned())
}
