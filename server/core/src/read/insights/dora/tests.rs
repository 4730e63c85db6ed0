//! Each key on a fixed history, at a fixed instant.

use super::*;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-12-10 12:00 UTC);

fn sha(c: char) -> Sha {
    Sha::parse(&c.to_string().repeat(40)).expect("a valid SHA")
}

/// Production deployment `id` of `on`'s SHA, of `kind`, that ended `state` `hours_ago`.
fn deploy(
    id: i64,
    on: char,
    kind: DeploymentKind,
    state: DeploymentState,
    hours_ago: i64,
) -> Deployment {
    let finished = NOW - Duration::hours(hours_ago);
    let mut d = Deployment::example(id, sha(on), state, finished - Duration::minutes(5));
    d.kind = kind;
    d.started_at = Some(d.created_at);
    d.finished_at = Some(finished);
    d
}

fn promote(id: i64, on: char, state: DeploymentState, hours_ago: i64) -> Deployment {
    deploy(id, on, DeploymentKind::Promote, state, hours_ago)
}

/// A rollback from `from`'s SHA back to `to`'s.
fn rollback(id: i64, from: char, to: char, hours_ago: i64) -> Deployment {
    let mut d = deploy(
        id,
        to,
        DeploymentKind::Rollback,
        DeploymentState::Succeeded,
        hours_ago,
    );
    d.previous_sha = Some(sha(from));
    d
}

use DeploymentState::{Cancelled, Failed, Interrupted, Succeeded, TimedOut};

#[test]
fn deployment_frequency_counts_successful_promotions_finished_in_the_window() {
    let history = [
        promote(1, 'a', Succeeded, 24 * 10), // before the 7-day window
        promote(2, 'b', Succeeded, 24 * 6),
        promote(3, 'c', Failed, 24 * 5),
        promote(4, 'c', Succeeded, 24 * 4),
        deploy(5, 'c', DeploymentKind::Redeploy, Succeeded, 24 * 3),
        rollback(6, 'c', 'b', 24 * 2),
        promote(7, 'd', Cancelled, 24),
    ];
    let week = keys(&history, &CommitTimes::default(), NOW, 7);
    assert_eq!(
        week.deployments, 2,
        "b and c: not the redeploy, the rollback or failures"
    );
    assert!((week.per_day() - 2.0 / 7.0).abs() < 1e-9);
    let month = keys(&history, &CommitTimes::default(), NOW, 30);
    assert_eq!(month.deployments, 3);
}

#[test]
fn lead_time_is_the_median_from_commit_and_from_ready_to_the_end_of_the_deployment() {
    let history = [
        promote(1, 'a', Succeeded, 10),
        promote(2, 'b', Succeeded, 5),
        promote(3, 'c', Succeeded, 1),
    ];
    let mut times = CommitTimes::default();
    // Committed 2, 4 and 9 hours before their deployments ended: median 4 hours.
    times.committed.insert(sha('a'), NOW - Duration::hours(12));
    times.committed.insert(sha('b'), NOW - Duration::hours(9));
    times.committed.insert(sha('c'), NOW - Duration::hours(10));
    // Two marks, 1 and 2 hours before: the median of an even count is their mean.
    times
        .marked_ready
        .insert(sha('a'), NOW - Duration::hours(11));
    times
        .marked_ready
        .insert(sha('c'), NOW - Duration::hours(3));
    let k = keys(&history, &times, NOW, 7);
    assert_eq!(k.lead_time_from_commit, Some(Duration::hours(4)));
    assert_eq!(k.lead_time_from_commit_of, 3);
    assert_eq!(k.lead_time_from_ready, Some(Duration::minutes(90)));
    assert_eq!(k.lead_time_from_ready_of, 2, "b was never marked ready");
}

#[test]
fn change_failure_rate_counts_failed_and_rolled_back_promotions_among_those_with_a_verdict() {
    let history = [
        promote(1, 'a', Succeeded, 50),
        promote(2, 'b', Succeeded, 40),
        rollback(3, 'b', 'a', 39), // b was a failed change
        promote(4, 'c', Failed, 30),
        promote(5, 'c', TimedOut, 29),
        promote(6, 'd', Cancelled, 20),   // no verdict
        promote(7, 'd', Interrupted, 19), // no verdict
        promote(8, 'd', Succeeded, 10),
    ];
    let k = keys(&history, &CommitTimes::default(), NOW, 7);
    assert_eq!((k.changes, k.failed_changes), (5, 3), "{k:?}");
    assert_eq!(k.change_failure_rate(), Some(0.6));

    let quiet = keys(&[], &CommitTimes::default(), NOW, 7);
    assert_eq!(quiet.change_failure_rate(), None, "no change, no rate");
}

#[test]
fn time_to_restore_runs_from_each_failure_to_the_next_successful_production_deployment() {
    let history = [
        promote(1, 'a', Succeeded, 100),
        // b went live 40 hours ago and was rolled back 38 hours ago: 2 hours.
        promote(2, 'b', Succeeded, 40),
        rollback(3, 'b', 'a', 38),
        // c failed 30 hours ago and d succeeded 24 hours ago: 6 hours.
        promote(4, 'c', Failed, 30),
        promote(5, 'd', Succeeded, 24),
        // e failed an hour ago and nothing has succeeded since: not restored yet.
        promote(6, 'e', Failed, 1),
    ];
    let k = keys(&history, &CommitTimes::default(), NOW, 7);
    assert_eq!(k.failed_changes, 3);
    assert_eq!(k.restored, 2);
    assert_eq!(
        k.time_to_restore,
        Some(Duration::hours(4)),
        "the median of 2 and 6 hours"
    );
}

#[test]
fn the_window_is_read_at_the_callers_instant_not_the_systems() {
    let history = [promote(1, 'a', Succeeded, 24 * 8)];
    assert_eq!(
        keys(&history, &CommitTimes::default(), NOW, 7).deployments,
        0
    );
    let earlier = NOW - Duration::days(2);
    assert_eq!(
        keys(&history, &CommitTimes::default(), earlier, 7).deployments,
        1
    );
    // A deployment that ends after the instant asked about is not counted yet.
    let later = [promote(2, 'b', Succeeded, -1)];
    assert_eq!(keys(&later, &CommitTimes::default(), NOW, 7).deployments, 0);
}

#[test]
fn the_daily_counts_cover_every_day_of_the_window_oldest_first() {
    let history = [
        promote(1, 'a', Succeeded, 24 * 2),
        promote(2, 'b', Succeeded, 24 * 2 - 1),
        rollback(3, 'b', 'a', 24 * 2 - 2),
        promote(4, 'c', Failed, 1),
        promote(5, 'c', Succeeded, 24 * 9), // outside the week
    ];
    let days = daily(&history, NOW, 7);
    assert_eq!(days.len(), 7);
    assert_eq!(days[0].0, datetime!(2026-12-04 0:00 UTC).date());
    assert_eq!(days[6].0, NOW.date(), "today last");
    let counts: Vec<(usize, usize)> = days.iter().map(|(_, d, f)| (*d, *f)).collect();
    assert_eq!(
        counts,
        [(0, 0), (0, 0), (0, 0), (0, 0), (2, 1), (0, 0), (0, 1)],
        "two shipped two days ago, one of them rolled back; a failure today"
    );
}
