//! The runner against real shell commands and process groups.

use super::*;
use std::time::Duration;

/// Upper bound for any single run in these tests, so a bug hangs no one.
const TEST_LIMIT: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Rec {
    pgid: Option<i32>,
    lines: Vec<(Stream, String)>,
}

#[async_trait::async_trait]
impl RunObserver for Rec {
    async fn started(&mut self, pgid: i32) {
        assert!(self.pgid.is_none(), "started called twice");
        assert!(self.lines.is_empty(), "line before started");
        self.pgid = Some(pgid);
    }
    async fn line(&mut self, stream: Stream, at: OffsetDateTime, text: String) {
        assert!(self.pgid.is_some(), "line before started");
        assert!(at.offset().is_utc());
        self.lines.push((stream, text));
    }
}

fn sh(script: &str, timeout: Duration, grace: Duration) -> RunSpec {
    RunSpec {
        argv: vec!["sh".into(), "-c".into(), script.into()],
        env: vec![],
        workdir: std::env::temp_dir(),
        timeout,
        grace,
    }
}

async fn run_bounded(spec: RunSpec, rec: &mut Rec, cancel: CancelHandle) -> Outcome {
    match tokio::time::timeout(TEST_LIMIT, run(spec, rec, cancel)).await {
        Ok(outcome) => outcome,
        Err(_) => panic!("run did not finish within {TEST_LIMIT:?}"),
    }
}

/// Orphaned members are reaped by init asynchronously; allow for that.
async fn group_gone_eventually(pgid: i32) -> bool {
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if !group_alive(pgid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    !group_alive(pgid)
}

fn out(s: &str) -> (Stream, String) {
    (Stream::Stdout, s.to_owned())
}
fn err(s: &str) -> (Stream, String) {
    (Stream::Stderr, s.to_owned())
}

#[test]
fn run_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let mut rec = Rec::default();
    let fut = run(
        sh("true", TEST_LIMIT, TEST_LIMIT),
        &mut rec,
        CancelHandle::new(),
    );
    assert_send(&fut);
}

#[tokio::test]
async fn captures_both_streams_in_order() {
    let mut rec = Rec::default();
    let script = "echo out1; sleep 0.5; echo err1 >&2; sleep 0.5; echo out2; \
                  printf 'crlf\\r\\n'; printf 'bad \\377 byte\\n'; printf 'no-newline'";
    let outcome = run_bounded(
        sh(script, TEST_LIMIT, Duration::from_secs(2)),
        &mut rec,
        CancelHandle::new(),
    )
    .await;
    assert_eq!(outcome, Outcome::Exited { code: 0 });
    assert!(outcome.is_success());
    assert!(rec.pgid.is_some_and(|p| p > 1));
    assert_eq!(
        rec.lines,
        vec![
            out("out1"),
            err("err1"),
            out("out2"),
            out("crlf"),
            out("bad \u{FFFD} byte"),
            out("no-newline"),
        ]
    );
}

#[tokio::test]
async fn failing_command_keeps_output() {
    let mut rec = Rec::default();
    let outcome = run_bounded(
        sh(
            "echo before; echo oops >&2; exit 3",
            TEST_LIMIT,
            Duration::from_secs(2),
        ),
        &mut rec,
        CancelHandle::new(),
    )
    .await;
    assert_eq!(outcome, Outcome::Exited { code: 3 });
    assert!(!outcome.is_success());
    assert!(rec.lines.contains(&out("before")));
    assert!(rec.lines.contains(&err("oops")));
    assert_eq!(rec.lines.len(), 2);
}

#[tokio::test]
async fn env_and_workdir_reach_the_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir_path = dir.path().canonicalize().expect("canonicalize");
    let mut spec = sh(
        "echo \"$FOO\"; pwd -P; [ -n \"$PATH\" ] && echo path-inherited",
        TEST_LIMIT,
        Duration::from_secs(2),
    );
    spec.env = vec![("FOO".into(), "bar baz".into())];
    spec.workdir = dir_path.clone();
    let mut rec = Rec::default();
    let outcome = run_bounded(spec, &mut rec, CancelHandle::new()).await;
    assert_eq!(outcome, Outcome::Exited { code: 0 });
    assert_eq!(
        rec.lines,
        vec![
            out("bar baz"),
            out(&dir_path.display().to_string()),
            out("path-inherited"),
        ]
    );
}

#[tokio::test]
async fn timeout_terminates_the_whole_group() {
    let mut rec = Rec::default();
    let started = Instant::now();
    let outcome = run_bounded(
        sh(
            "sleep 300 & sleep 300",
            Duration::from_secs(1),
            Duration::from_secs(3),
        ),
        &mut rec,
        CancelHandle::new(),
    )
    .await;
    assert_eq!(outcome, Outcome::TimedOut);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    let pgid = rec.pgid.expect("started");
    assert!(
        group_gone_eventually(pgid).await,
        "group {pgid} still alive"
    );
}

#[tokio::test]
async fn cancel_terminates_the_whole_group() {
    let mut rec = Rec::default();
    let cancel = CancelHandle::new();
    let remote = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        remote.cancel();
    });
    let started = Instant::now();
    let outcome = run_bounded(
        sh(
            "sleep 300 & sleep 300",
            Duration::from_secs(120),
            Duration::from_secs(3),
        ),
        &mut rec,
        cancel.clone(),
    )
    .await;
    assert_eq!(outcome, Outcome::Cancelled);
    assert!(cancel.is_cancelled());
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    let pgid = rec.pgid.expect("started");
    assert!(
        group_gone_eventually(pgid).await,
        "group {pgid} still alive"
    );
}

#[tokio::test]
async fn cancelled_before_start_never_spawns() {
    let mut rec = Rec::default();
    let cancel = CancelHandle::new();
    cancel.cancel();
    let outcome = run_bounded(sh("echo hi", TEST_LIMIT, TEST_LIMIT), &mut rec, cancel).await;
    assert_eq!(outcome, Outcome::Cancelled);
    assert!(rec.pgid.is_none());
}

#[tokio::test]
async fn term_ignoring_group_is_killed_after_grace() {
    let mut rec = Rec::default();
    let started = Instant::now();
    let outcome = run_bounded(
        sh(
            "trap '' TERM; echo ready; sleep 300",
            Duration::from_secs(2),
            Duration::from_millis(500),
        ),
        &mut rec,
        CancelHandle::new(),
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(outcome, Outcome::TimedOut);
    assert_eq!(rec.lines, vec![out("ready")]);
    assert!(
        elapsed >= Duration::from_millis(2500),
        "KILL came before the grace period: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
    let pgid = rec.pgid.expect("started");
    assert!(
        group_gone_eventually(pgid).await,
        "group {pgid} still alive"
    );
}

#[tokio::test]
async fn missing_program_is_spawn_failed() {
    let mut rec = Rec::default();
    let spec = RunSpec {
        argv: vec!["./definitely-not-a-deploy-script.sh".into()],
        env: vec![],
        workdir: std::env::temp_dir(),
        timeout: TEST_LIMIT,
        grace: TEST_LIMIT,
    };
    match run_bounded(spec, &mut rec, CancelHandle::new()).await {
        Outcome::SpawnFailed { message } => {
            assert!(
                message.contains("`./definitely-not-a-deploy-script.sh`"),
                "{message}"
            );
            assert!(message.contains("No such file or directory"), "{message}");
        }
        other => panic!("unexpected outcome {other:?}"),
    }
    assert!(rec.pgid.is_none());
}

#[tokio::test]
async fn missing_workdir_or_empty_argv_is_spawn_failed() {
    let mut rec = Rec::default();
    let mut spec = sh("true", TEST_LIMIT, TEST_LIMIT);
    spec.workdir = PathBuf::from("/nonexistent/slipway-workdir");
    match run_bounded(spec, &mut rec, CancelHandle::new()).await {
        Outcome::SpawnFailed { message } => {
            assert!(message.contains("`sh`"), "{message}");
            assert!(
                message.contains("/nonexistent/slipway-workdir"),
                "{message}"
            );
        }
        other => panic!("unexpected outcome {other:?}"),
    }
    let mut spec = sh("true", TEST_LIMIT, TEST_LIMIT);
    spec.argv.clear();
    assert!(matches!(
        run_bounded(spec, &mut rec, CancelHandle::new()).await,
        Outcome::SpawnFailed { .. }
    ));
    assert!(rec.pgid.is_none());
}

#[tokio::test]
async fn leftover_background_process_does_not_block() {
    let mut rec = Rec::default();
    let started = Instant::now();
    let outcome = run_bounded(
        sh(
            "sleep 300 & echo done; exit 0",
            TEST_LIMIT,
            Duration::from_secs(2),
        ),
        &mut rec,
        CancelHandle::new(),
    )
    .await;
    assert_eq!(outcome, Outcome::Exited { code: 0 });
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(rec.lines, vec![out("done")]);
    let pgid = rec.pgid.expect("started");
    assert!(
        group_gone_eventually(pgid).await,
        "group {pgid} still alive"
    );
}

#[tokio::test]
async fn pipe_held_outside_the_group_does_not_hang() {
    // `setsid` moves the sleeper out of the group, so killing the group
    // cannot close its copy of stdout: reading must stop after a bound.
    let mut rec = Rec::default();
    let started = Instant::now();
    let outcome = run_bounded(
        sh(
            "setsid sleep 15 & echo done",
            TEST_LIMIT,
            Duration::from_secs(2),
        ),
        &mut rec,
        CancelHandle::new(),
    )
    .await;
    assert_eq!(outcome, Outcome::Exited { code: 0 });
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(rec.lines, vec![out("done")]);
}

#[tokio::test]
async fn huge_line_is_truncated() {
    let mut rec = Rec::default();
    let outcome = run_bounded(
        sh(
            "head -c 100000 /dev/zero | tr '\\000' a; echo; echo next",
            TEST_LIMIT,
            Duration::from_secs(2),
        ),
        &mut rec,
        CancelHandle::new(),
    )
    .await;
    assert_eq!(outcome, Outcome::Exited { code: 0 });
    let expected = format!("{}{}", "a".repeat(MAX_LINE_BYTES), TRUNCATION_MARKER);
    assert_eq!(rec.lines, vec![out(&expected), out("next")]);
}

#[tokio::test]
async fn dropping_the_run_terminates_the_group() {
    let mut rec = Rec::default();
    let res = tokio::time::timeout(
        Duration::from_secs(1),
        run(
            sh("sleep 300", TEST_LIMIT, Duration::from_secs(1)),
            &mut rec,
            CancelHandle::new(),
        ),
    )
    .await;
    assert!(res.is_err(), "run should still have been running");
    let pgid = rec.pgid.expect("started");
    assert!(
        group_gone_eventually(pgid).await,
        "group {pgid} still alive"
    );
}

#[test]
fn truncation_does_not_split_characters() {
    let mut buf = "ab€".as_bytes()[..4].to_vec(); // "ab" + 2 of the 3 bytes of '€'
    let line = make_line(Stream::Stdout, &mut buf, true);
    assert_eq!(line.text, format!("ab{TRUNCATION_MARKER}"));
    assert!(buf.is_empty());
    let mut buf = "ab€".as_bytes().to_vec();
    assert_eq!(
        make_line(Stream::Stdout, &mut buf, true).text,
        format!("ab€{TRUNCATION_MARKER}")
    );
}

#[tokio::test]
async fn group_helpers_ignore_dangerous_ids() {
    assert!(!group_alive(0));
    assert!(!group_alive(1));
    assert!(!group_alive(-5));
    // Must return immediately without signalling anything.
    terminate_group(0, Duration::from_secs(5)).await;
    terminate_group(1, Duration::from_secs(5)).await;
    terminate_group(-1, Duration::from_secs(5)).await;
}
