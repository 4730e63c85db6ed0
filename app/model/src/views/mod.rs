//! The data pages render: plain serialisable structs, built on the server and shipped
//! to the browser inside the hydration payload. Everything time-dependent (ages) is
//! already text here, so server and browser render identical HTML.

use crate::ids::{DeploymentId, LoginId, TokenId};
use serde::{Deserialize, Serialize};

/// The logged-in user, as pages show them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// Login name.
    pub name: String,
    /// Role names.
    pub roles: Vec<String>,
    /// An admin reset the password: the user must choose a new one first.
    pub must_change_password: bool,
    /// Unread notifications.
    pub unread_notifications: i64,
}

/// The home page: every pipeline with each stage's current SHA.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomeView {
    /// Pipelines in config order.
    pub pipelines: Vec<PipelineSummary>,
}

/// A pipeline's name and stages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PipelineSummary {
    /// Config id (URL segment).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Stages in promotion order.
    pub stages: Vec<StageSummary>,
}

/// A stage as a column header shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageSummary {
    /// Config id.
    pub id: String,
    /// Column title.
    pub label: String,
    /// Production columns are drawn unmistakably.
    pub production: bool,
    /// Whether only descendants of the current SHA may enter.
    pub fast_forward_only: bool,
    /// Roles that may promote here.
    pub promote_roles: Vec<String>,
    /// What runs there now; `None` until the first successful deploy.
    pub current: Option<CurrentSha>,
}

/// A stage's current SHA: the SHA of its latest successful deployment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CurrentSha {
    /// Full SHA.
    pub sha: String,
    /// Since when (age text).
    pub since: String,
    /// Who deployed it.
    pub by: String,
    /// "succeeded after 2 retries (matched: connection reset)", where it was retried.
    pub retries: Option<String>,
}

/// A commit card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommitCard {
    /// Full SHA.
    pub sha: String,
    /// First 7 characters.
    pub short: String,
    /// First line of the message.
    pub subject: String,
    /// Author name.
    pub author: String,
    /// "3 hours ago", computed on the server.
    pub age: String,
    /// Whether this is a merge commit.
    pub is_merge: bool,
}

/// The state of a pipeline's repository mirror.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MirrorView {
    /// When it was last fetched successfully (age text), if ever.
    pub fetched: Option<String>,
    /// The last fetch error, if the last fetch failed.
    pub error: Option<String>,
}

/// One gate's verdict as a card shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateView {
    /// Machine name (`ancestry`, `busy`…).
    pub gate: String,
    /// Human label.
    pub label: String,
    /// `pass`, `fail` or `pending`.
    pub status: String,
    /// One-line reason.
    pub reason: String,
}

/// The next column a card can move to, with the gates for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NextStep {
    /// The target stage's current SHA, if any: "what goes out" compares from it.
    pub from: Option<String>,
    /// Target stage id.
    pub stage: String,
    /// Target stage label.
    pub label: String,
    /// Whether the target is production.
    pub production: bool,
    /// Every gate, in order.
    pub gates: Vec<GateView>,
    /// All gates pass: the button is enabled.
    pub allowed: bool,
    /// What the promoter confirms, item by item (empty: nothing).
    pub checklist: Vec<String>,
    /// Migration files the promotion crosses, to acknowledge (empty: none).
    pub migrations: Vec<String>,
    /// The target's drift the promotion would overwrite, to acknowledge.
    pub drift: Option<String>,
    /// The viewing user may promote as an emergency override: only a closed window
    /// or a freeze holds the promotion, and their roles may override.
    pub can_override: bool,
    /// Where the stage asks for approval: the SHA's request and what the viewer may do.
    pub approval: Option<ApprovalView>,
    /// The missing artifact is all that holds the promotion: the viewer may queue it to
    /// start when the artifact appears.
    pub can_queue: bool,
    /// The stage's waiting queued promotion is of another SHA: queueing this one
    /// replaces it (the short SHA), and says so.
    pub queue_replaces: Option<String>,
    /// This SHA's promotion waiting for its artifact, if queued.
    pub queued: Option<QueuedView>,
    /// How this SHA's latest queued promotion into the stage ended, in the last day
    /// ("expired: the artifact of a1b2c3d did not appear in time").
    pub queue_outcome: Option<String>,
}

/// A promotion queued until its artifact appears.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueuedView {
    pub id: crate::QueuedId,
    /// Full SHA.
    pub sha: String,
    /// Who queued it.
    pub by: String,
    /// "queued by alice 3 min ago; waits for the artifact until Thu 03 Dec 16:02 UTC".
    pub text: String,
    /// Whether the viewer may withdraw it (who may promote into the stage).
    pub can_withdraw: bool,
}

/// Who marked a card ready.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadyInfo {
    /// User name.
    pub by: String,
    /// Optional note.
    pub note: Option<String>,
    /// Age text.
    pub age: String,
}

/// A card: a commit plus where it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Card {
    /// The commit.
    pub commit: CommitCard,
    /// It is the current SHA of the column it sits in.
    pub current_here: bool,
    /// A newer SHA passed it in its column (shown collapsed).
    pub superseded: bool,
    /// It was rolled back on its column's stage.
    pub rolled_back: bool,
    /// A deployment of it is queued or running (id).
    pub deploying: Option<DeploymentId>,
    /// Its ready mark, if any.
    pub ready: Option<ReadyInfo>,
    /// Where it can go next, with the gates.
    pub next: Option<NextStep>,
    /// Its sign-off on the stage it sits in, where that stage asks for one.
    pub sign_off: Option<SignOffSlot>,
}

/// A deployment as a column header or list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentRef {
    pub id: DeploymentId,
    /// Full SHA.
    pub sha: String,
    /// State label.
    pub state: String,
    /// Age text of its creation.
    pub age: String,
    /// Who asked for it.
    pub by: Option<String>,
    /// Its transient failures, where it had any: "succeeded after 2 retries (matched:
    /// connection reset)", "attempt 2 after 1 retry (matched: exit code 75)".
    pub retries: Option<String>,
}

/// A lock as the column shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LockView {
    /// Who holds it.
    pub by: String,
    pub reason: String,
    /// Since (age text).
    pub since: String,
    /// Expiry, if any (UTC, RFC 3339).
    pub expires: Option<String>,
}

/// A stage column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageColumn {
    /// The stage and its current SHA.
    pub stage: StageSummary,
    /// Set when the latest attempt after the current SHA did not succeed.
    pub last_attempt_failed: Option<DeploymentRef>,
    /// That attempt's last log lines, which say why.
    pub failure_tail: Vec<String>,
    /// The queued or running deployment.
    pub active: Option<DeploymentRef>,
    /// The lock in force.
    pub lock: Option<LockView>,
    /// Whether the viewer may lock or unlock it.
    pub can_lock: bool,
    /// The SHA a rollback would deploy, when the viewer may roll back and there is one.
    pub rollback_to: Option<String>,
    /// Migration files that rollback would step back over, to acknowledge (empty: none).
    pub rollback_migrations: Vec<String>,
    /// Cards whose furthest success is this stage.
    pub cards: Vec<Card>,
    /// Older superseded cards left out (the stage history lists them).
    pub hidden_superseded: usize,
    /// Its deploy windows now ("open until Thu 16:00 Europe/Berlin", "closed; opens
    /// Mon 09:00 Europe/Berlin"); `None` without windows.
    pub window: Option<String>,
    /// Whether its windows are open now (true without windows).
    pub window_open: bool,
    /// A freeze closing it now ("frozen until …: reason").
    pub freeze: Option<String>,
    /// What its health probe says, where it has one.
    pub health: Option<HealthView>,
    /// It runs something other than its recorded SHA, by its version probe: "runs
    /// 1a2b3c4, not its recorded SHA 5d6e7f8, since …".
    pub drift: Option<String>,
    /// Its latest deployment went through as an emergency override: shown until the
    /// next regular one.
    pub emergency: Option<EmergencyView>,
    /// The promotion queued into it, waiting for its artifact.
    pub queued: Option<QueuedView>,
}

/// A stage's health as the column header shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthView {
    /// `healthy`, `unhealthy` or `unknown`.
    pub status: String,
    /// "healthy since Thu 03 Dec 14:02 UTC", "unhealthy since …: HTTP 503", "health
    /// unknown: no recent answer from its probe".
    pub text: String,
}

/// One pipeline's board.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BoardView {
    /// Name and stages.
    pub pipeline: PipelineSummary,
    /// The branch the board follows.
    pub branch: String,
    /// The repository (credentials removed).
    pub repository: String,
    /// Recent first-parent commits neither ready nor deployed, newest first.
    pub commits: Vec<Card>,
    /// Commits marked ready that reached no stage yet.
    pub ready: Vec<Card>,
    /// One column per stage.
    pub stages: Vec<StageColumn>,
    /// Mirror state.
    pub mirror: MirrorView,
    /// Whether the viewer may press *refresh*.
    pub can_refresh: bool,
    /// Whether the viewer may mark commits ready.
    pub can_mark_ready: bool,
    /// Freezes in force or to come, the config's and those ops declared.
    pub freezes: Vec<FreezeView>,
    /// Whether the viewer may declare and end freezes.
    pub can_manage_freezes: bool,
    /// The newest event id when this was read: live updates resume from here, so
    /// nothing that happens while the page loads is missed.
    pub as_of_event: i64,
}

/// A deployment's page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentView {
    /// The deployment.
    pub deployment: DeploymentRef,
    /// Pipeline id and name.
    pub pipeline: String,
    /// Pipeline display name.
    pub pipeline_name: String,
    /// Stage id.
    pub stage: String,
    /// Stage label.
    pub stage_label: String,
    /// Whether the stage is production.
    pub production: bool,
    /// promote, rollback or redeploy.
    pub kind: String,
    /// The stage's SHA before it.
    pub previous_sha: Option<String>,
    /// The checklist items the promoter confirmed (where the stage has a checklist).
    pub checklist: Option<Vec<String>>,
    /// The migration files it crossed, as the promoter acknowledged them.
    pub migrations: Option<AcknowledgedMigrations>,
    /// The drift it overwrote, as the promoter acknowledged it: "1a2b3c4 — note".
    pub drift_overwritten: Option<String>,
    /// Subject of the commit.
    pub subject: Option<String>,
    /// Exit code.
    pub exit_code: Option<i32>,
    /// Whether it is still queued or running.
    pub active: bool,
    /// Whether the viewer may cancel it.
    pub can_cancel: bool,
    /// The log's last lines (at most a page's worth).
    pub log: Vec<LogLineView>,
    /// How many lines the stored log holds in all.
    pub log_lines: i64,
    /// The newest event id when this was read (see [`BoardView::as_of_event`]).
    pub as_of_event: i64,
}

/// A log line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLineView {
    /// Position.
    pub seq: i64,
    /// The attempt that printed it (1, 2, …).
    pub attempt: u32,
    /// Time, `HH:MM:SS` UTC.
    pub time: String,
    /// Stream.
    pub stream: String,
    /// Text.
    pub line: String,
}

/// A user row on the admin page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    /// Login name.
    pub name: String,
    /// Role names.
    pub roles: Vec<String>,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Last login (age text), if any.
    pub last_login: Option<String>,
    /// Must change their password at next login (after a reset or creation).
    pub must_change_password: bool,
    /// Whether this row is the admin looking at the page (who cannot disable or
    /// reset themselves here).
    pub is_you: bool,
}

/// An account's status in one phrase, as the admin page and `slipway user list` show it.
pub fn account_status(disabled: bool, must_change_password: bool) -> &'static str {
    match (disabled, must_change_password) {
        (true, _) => "disabled",
        (false, true) => "must change password",
        (false, false) => "active",
    }
}

/// A one-time message shown on the next page (after a form post redirects).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    /// `notice` or `error`.
    pub kind: String,
    /// The message.
    pub message: String,
}

/// The profile page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileView {
    /// Login name.
    pub name: String,
    /// Role names.
    pub roles: Vec<String>,
    /// API tokens (never the secret).
    pub tokens: Vec<TokenRow>,
    /// Open login sessions, newest first.
    pub sessions: Vec<SessionRow>,
    /// Notifications about what you asked for, newest first.
    pub notifications: Vec<NotificationRow>,
}

/// A notification on the profile page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRow {
    /// What happened.
    pub text: String,
    /// Where to look.
    pub link: Option<String>,
    /// Age text.
    pub age: String,
    /// Not read yet.
    pub unread: bool,
}

/// An open login session in "your sessions".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    /// Id (for the *End* button).
    pub id: LoginId,
    /// When it began (age text).
    pub started: String,
    /// Last activity (age text).
    pub last_seen: String,
    /// Client address at login.
    pub client: String,
    /// A short browser description from the User-Agent.
    pub browser: String,
    /// When it ends at the latest (age text, "in …").
    pub expires: String,
    /// Whether it is the session making this request.
    pub current: bool,
}

/// An API token in a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRow {
    pub id: TokenId,
    pub name: String,
    /// Display prefix.
    pub prefix: String,
    /// Created (age text).
    pub created: String,
    /// Last used (age text).
    pub last_used: Option<String>,
    /// Whether it is revoked.
    pub revoked: bool,
}

/// One outgoing webhook delivery as the admin page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub id: i64,
    /// When it was stored (UTC, RFC 3339).
    pub at: String,
    pub pipeline: String,
    pub webhook: String,
    pub event: String,
    /// The receiver (credentials removed).
    pub url: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    /// What the last attempt got ("HTTP 503", "no answer within 10s").
    pub last_result: Option<String>,
    /// For a pending one: when it is tried next (UTC, RFC 3339).
    pub next_attempt: Option<String>,
}

/// One audit log row as the admin page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    /// UTC time, RFC 3339.
    pub at: String,
    pub actor: Option<String>,
    pub action: String,
    pub pipeline: Option<String>,
    pub stage: Option<String>,
    pub sha: Option<String>,
    /// What else it concerned: a deployment (`deployment #7`), a user, a token.
    pub target: Option<String>,
    pub outcome: String,
    pub detail: Option<String>,
}

/// A stage's deployment history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageHistoryView {
    /// Pipeline id.
    pub pipeline: String,
    /// Pipeline name.
    pub pipeline_name: String,
    /// The stage.
    pub stage: StageSummary,
    /// Newest first.
    pub deployments: Vec<HistoryRow>,
    /// Whether the stage asks for sign-offs.
    pub asks_sign_off: bool,
    /// Sign-offs given on the stage, ended ones included, newest first.
    pub sign_offs: Vec<SignOffView>,
}

/// Migration files a deployment crossed, acknowledged by its promoter as tested against
/// a copy of production data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AcknowledgedMigrations {
    /// Paths in the repository, sorted.
    pub files: Vec<String>,
    /// The promoter's note, if any.
    pub note: Option<String>,
}

/// One deployment in a history list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRow {
    /// The deployment.
    pub deployment: DeploymentRef,
    /// promote, rollback or redeploy.
    pub kind: String,
    /// Rollback reason.
    pub reason: Option<String>,
    /// The checklist items the promoter confirmed.
    pub checklist: Option<Vec<String>>,
}

/// "What goes out": the commits `to` brings over `from`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompareView {
    /// Pipeline id.
    pub pipeline: String,
    /// Pipeline name.
    pub pipeline_name: String,
    /// Base SHA.
    pub from: String,
    /// New SHA.
    pub to: String,
    /// First-parent commits in `from..to`, newest first.
    pub commits: Vec<CommitCard>,
    /// Whether `to` descends from `from` (otherwise the list is what `to` has that
    /// `from` lacks, and `from` has commits `to` would drop).
    pub descends: bool,
    /// Whether the list was cut at its limit.
    pub truncated: bool,
    /// The files that differ between the two, sorted (the first few hundred).
    pub files: Vec<String>,
    /// How many files differ in all.
    pub files_changed: usize,
}

mod governance;
pub use governance::*;
mod insights;
pub use insights::*;
mod confirm;
pub use confirm::*;
