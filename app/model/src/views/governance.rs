//! The read models of production governance: sign-offs, approvals, freezes, emergency
//! overrides and the calendar.

use crate::ids::DeploymentId;
use serde::{Deserialize, Serialize};

/// A sign-off as cards and histories show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignOffView {
    /// The SHA signed off.
    pub sha: String,
    /// Who signed off.
    pub by: String,
    /// Their note.
    pub note: Option<String>,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Age text ("5 min ago").
    pub age: String,
    /// `in_force`, `withdrawn` or `voided`.
    pub state: String,
    /// Who withdrew it (or requested the rollback that voided it).
    pub ended_by: Option<String>,
    /// Why it ended.
    pub end_reason: Option<String>,
}

/// A card's sign-off on the stage it sits in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignOffSlot {
    /// The stage's id.
    pub stage: String,
    /// The stage's label.
    pub label: String,
    /// Who may sign off there.
    pub roles: Vec<String>,
    /// The sign-off in force, if any.
    pub given: Option<SignOffView>,
    /// The viewing user may sign this SHA off now.
    pub can_sign: bool,
    /// The viewing user may withdraw the sign-off now.
    pub can_withdraw: bool,
}

/// A card's approval for its next stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalView {
    /// Who may approve.
    pub roles: Vec<String>,
    /// The SHA's open request there, if any.
    pub request: Option<RequestView>,
    /// The viewer may request approval (no open request, and they may promote there).
    pub can_request: bool,
    /// The viewer may approve or reject the pending request (roles, four eyes).
    pub can_decide: bool,
    /// The stage wants four eyes: whoever requested may not decide.
    pub four_eyes: bool,
    /// The time zone slot times are given in ("Europe/Berlin").
    pub zone: String,
    /// Today's date in that zone (YYYY-MM-DD), for the slot form.
    pub today: String,
}

/// An open approval request, as the card shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestView {
    /// Its id.
    pub id: crate::RequestId,
    /// `pending` or `approved`.
    pub state: String,
    /// Who asked.
    pub requested_by: String,
    /// Their note.
    pub note: Option<String>,
    /// Who approved.
    pub decided_by: Option<String>,
    /// The approved slot, written for people.
    pub slot: Option<String>,
    /// The server starts the deploy at the slot's start.
    pub auto_start: bool,
    /// What came of that start.
    pub auto_start_result: Option<String>,
}

/// An emergency override, as the board's banner shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmergencyView {
    /// The deployment it started.
    pub deployment: DeploymentId,
    /// Who overrode.
    pub by: Option<String>,
    /// Why.
    pub reason: String,
    /// Age text.
    pub age: String,
}

/// A freeze as the board and the API list it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FreezeView {
    /// Its id; `None` for a freeze declared in the config (which only the config ends).
    pub id: Option<crate::FreezeId>,
    /// The stage ids it closes; empty: every stage.
    pub stages: Vec<String>,
    /// Start (RFC 3339, UTC).
    pub from: String,
    /// End (RFC 3339, UTC).
    pub until: String,
    /// Why.
    pub reason: String,
    /// Who declared it (`None` for the config's and a feed's).
    pub by: Option<String>,
    /// The iCalendar feed it comes from (path, or URL without credentials).
    pub source: Option<String>,
    /// Whether it is in force now (else it is still to come).
    pub in_force: bool,
}

/// A pipeline's calendar: this week and the next, per stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarView {
    /// Pipeline id.
    pub pipeline: String,
    /// Pipeline name.
    pub pipeline_name: String,
    /// The time zone the calendar is drawn in.
    pub zone: String,
    /// Now, in that zone ("Thu 03 Dec 14:05 Europe/Berlin").
    pub now: String,
    /// The fourteen days, from this week's Monday.
    pub days: Vec<CalendarDay>,
    /// One row per stage.
    pub stages: Vec<CalendarStage>,
    /// Freezes in force or to come (for the list and its forms).
    pub freezes: Vec<FreezeView>,
    /// Whether the viewer may declare and end freezes.
    pub can_manage_freezes: bool,
}

/// A day of the calendar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDay {
    /// "Mon 07 Dec".
    pub label: String,
    /// It is today.
    pub today: bool,
}

/// A stage's row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarStage {
    /// Stage id.
    pub id: String,
    /// Stage label.
    pub label: String,
    /// Production is drawn unmistakably.
    pub production: bool,
    /// The stage has deploy windows (else it is open all day).
    pub has_windows: bool,
    /// One cell per day.
    pub cells: Vec<CalendarCell>,
}

/// What happens on a stage on a day, as "HH:MM–HH:MM …" lines.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarCell {
    /// Open windows.
    pub windows: Vec<String>,
    /// Freezes closing it, with their reason.
    pub freezes: Vec<String>,
    /// Approved slots, with the SHA and who approved.
    pub slots: Vec<String>,
    /// Deployments that started that day.
    pub deployments: Vec<CalendarDeployment>,
}

/// A deployment on the calendar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDeployment {
    /// Its id.
    pub id: DeploymentId,
    /// "14:05 abc1234 succeeded".
    pub text: String,
}
