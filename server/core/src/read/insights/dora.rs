//! The four DORA keys of one pipeline's production stage, computed from Slipway's own
//! history: pure functions of the production deployments, when each deployed commit
//! was made and marked ready, and now (the caller's clock), so tests give a fixed
//! history and a fixed instant.
//!
//! What each key counts, as Slipway sees it:
//! - **deployment frequency**: promotions that succeeded in production and finished in
//!   the window (rollbacks and redeploys ship no change);
//! - **lead time for changes**: for each of those, from the deployed commit's commit
//!   time (and, beside it, from when it was marked ready) to the deployment's end; the
//!   median;
//! - **change failure rate**: of the production promotions that ended in the window,
//!   the share that failed (failed or timed out) or that a later rollback replaced;
//!   cancelled and interrupted ones are neither (nobody learnt whether the change
//!   works);
//! - **time to restore**: for each such failure, from when it failed (its end, or for a
//!   rolled-back change when it went live) to the end of the next production
//!   deployment that succeeded (the rollback, a fix, a redeploy); the median.

use crate::store::Deployment;
use slipway_model::deployment::{DeploymentKind, DeploymentState};
use slipway_model::Sha;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};

/// When the commits of the history were made and marked ready, by SHA (either may be
/// unknown: a commit the mirror no longer has, a SHA promoted without a mark).
#[derive(Debug, Default)]
pub struct CommitTimes {
    pub committed: HashMap<Sha, OffsetDateTime>,
    pub marked_ready: HashMap<Sha, OffsetDateTime>,
}

/// The four keys over one window, with the counts behind them.
#[derive(Debug, Clone, PartialEq)]
pub struct Keys {
    pub days: i64,
    /// Successful production promotions in the window.
    pub deployments: usize,
    /// Median commit → production, and how many deployments had a known commit time.
    pub lead_time_from_commit: Option<Duration>,
    pub lead_time_from_commit_of: usize,
    /// Median marked ready → production, and how many had a ready mark.
    pub lead_time_from_ready: Option<Duration>,
    pub lead_time_from_ready_of: usize,
    /// Production promotions that ended in the window with a verdict, and how many of
    /// them failed or were rolled back.
    pub changes: usize,
    pub failed_changes: usize,
    /// Median time to restore, and how many failures have been restored.
    pub time_to_restore: Option<Duration>,
    pub restored: usize,
}

impl Keys {
    /// Deployments per day over the window.
    pub fn per_day(&self) -> f64 {
        self.deployments as f64 / self.days.max(1) as f64
    }

    /// The share of changes that failed, `None` when there was no change.
    pub fn change_failure_rate(&self) -> Option<f64> {
        (self.changes > 0).then(|| self.failed_changes as f64 / self.changes as f64)
    }
}

/// The keys over the `days` before `now`, from `production`: every deployment of the
/// production stage (any order, any age: a failure's restore may come after the window
/// starts, a rollback may replace a change from before it).
pub fn keys(
    production: &[Deployment],
    times: &CommitTimes,
    now: OffsetDateTime,
    days: i64,
) -> Keys {
    let mut history: Vec<&Deployment> = production.iter().collect();
    history.sort_by_key(|d| d.id);
    let window = Window::before(now, days);
    let shipped = shipped(&history, window);
    let lead = |from: &HashMap<Sha, OffsetDateTime>| -> Vec<Duration> {
        shipped
            .iter()
            .filter_map(|d| Some(d.finished_at? - *from.get(&d.sha)?))
            .collect()
    };
    let from_commit = lead(&times.committed);
    let from_ready = lead(&times.marked_ready);
    let changes = changes(&history, window);
    let failures = failures(&changes, &history);
    let restores: Vec<Duration> = failures
        .iter()
        .filter_map(|at| {
            history
                .iter()
                .filter(|d| d.state == DeploymentState::Succeeded)
                .filter_map(|d| d.finished_at)
                .filter(|end| end > at && *end <= now)
                .min()
                .map(|end| end - *at)
        })
        .collect();

    Keys {
        days,
        deployments: shipped.len(),
        lead_time_from_commit_of: from_commit.len(),
        lead_time_from_commit: median(from_commit),
        lead_time_from_ready_of: from_ready.len(),
        lead_time_from_ready: median(from_ready),
        changes: changes.len(),
        failed_changes: failures.len(),
        restored: restores.len(),
        time_to_restore: median(restores),
    }
}

/// Per day (UTC) of the `days` before `now`, oldest first: the day, the successful
/// promotions that finished that day, and the changes that failed that day.
pub fn daily(
    production: &[Deployment],
    now: OffsetDateTime,
    days: i64,
) -> Vec<(time::Date, usize, usize)> {
    let mut history: Vec<&Deployment> = production.iter().collect();
    history.sort_by_key(|d| d.id);
    let window = Window::before(now, days);
    let changes = changes(&history, window);
    let shipped: Vec<time::Date> = shipped(&history, window)
        .iter()
        .filter_map(|d| d.finished_at)
        .map(utc_day)
        .collect();
    let failed: Vec<time::Date> = failures(&changes, &history)
        .into_iter()
        .map(utc_day)
        .collect();
    let today = utc_day(now);
    (0..days)
        .rev()
        .map(|back| {
            let day = today - Duration::days(back);
            let count = |of: &[time::Date]| of.iter().filter(|d| **d == day).count();
            (day, count(&shipped), count(&failed))
        })
        .collect()
}

/// `(since, now]`.
#[derive(Clone, Copy)]
struct Window {
    since: OffsetDateTime,
    now: OffsetDateTime,
}

impl Window {
    fn before(now: OffsetDateTime, days: i64) -> Self {
        Self {
            since: now - Duration::days(days),
            now,
        }
    }

    fn holds(self, t: Option<OffsetDateTime>) -> bool {
        t.is_some_and(|t| t > self.since && t <= self.now)
    }
}

fn utc_day(t: OffsetDateTime) -> time::Date {
    t.to_offset(time::UtcOffset::UTC).date()
}

/// The successful promotions that finished in the window.
fn shipped<'a>(history: &[&'a Deployment], window: Window) -> Vec<&'a Deployment> {
    history
        .iter()
        .copied()
        .filter(|d| is_change(d) && d.state == DeploymentState::Succeeded)
        .filter(|d| window.holds(d.finished_at))
        .collect()
}

/// The promotions that ended in the window with a verdict.
fn changes<'a>(history: &[&'a Deployment], window: Window) -> Vec<&'a Deployment> {
    history
        .iter()
        .copied()
        .filter(|d| is_change(d) && has_verdict(d.state) && window.holds(d.finished_at))
        .collect()
}

/// When each of `changes` failed, for those that did.
fn failures(changes: &[&Deployment], history: &[&Deployment]) -> Vec<OffsetDateTime> {
    changes
        .iter()
        .filter_map(|d| failed_at(d, history))
        .collect()
}

/// A deployment that ships a change (a promotion), not one that moves back or repeats.
fn is_change(d: &Deployment) -> bool {
    d.kind == DeploymentKind::Promote
}

/// Whether the attempt says anything about the change: it succeeded or failed by
/// itself, rather than being cancelled or cut short by the server.
fn has_verdict(state: DeploymentState) -> bool {
    matches!(
        state,
        DeploymentState::Succeeded | DeploymentState::Failed | DeploymentState::TimedOut
    )
}

/// When change `d` failed, if it did: its end when the deploy failed; when it went live
/// if a later rollback replaced its SHA.
fn failed_at(d: &Deployment, history: &[&Deployment]) -> Option<OffsetDateTime> {
    let end = d.finished_at?;
    match d.state {
        DeploymentState::Failed | DeploymentState::TimedOut => Some(end),
        DeploymentState::Succeeded => history
            .iter()
            .any(|r| {
                r.id > d.id
                    && r.kind == DeploymentKind::Rollback
                    && r.state == DeploymentState::Succeeded
                    && r.previous_sha.as_ref() == Some(&d.sha)
            })
            .then_some(end),
        _ => None,
    }
}

/// The middle value (the mean of the two middle ones of an even count).
fn median(mut v: Vec<Duration>) -> Option<Duration> {
    v.sort_unstable();
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2),
    }
}

#[cfg(test)]
mod tests;
