//! Live updates: server-sent events for board changes and log lines, resumable across a
//! restart with Last-Event-ID.

use serde_json::Value;
use slipway_model::Role;
use slipway_tests::app::{deploying_pipeline, spawn_app};
use slipway_tests::git::TestRepo;
use slipway_tests::sse::SseReader;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn an_sse_client_gets_board_changes_and_log_lines_and_resumes_after_a_restart() {
    let mut repo = TestRepo::new().unwrap();
    let out = tempfile::tempdir().unwrap();
    let script = r#"echo "line one for $SLIPWAY_SHA"; echo "line two" >&2"#;
    let app = spawn_app(&deploying_pipeline(repo.path(), out.path(), script, ""))
        .await
        .unwrap();
    let viewer = app.logged_in("vera", &[Role::Viewer]).await.unwrap();
    let actor = app
        .logged_in("olga", &[Role::Ops, Role::Qa, Role::Dev])
        .await
        .unwrap();
    let url = app.url("/api/v1/events?pipeline=web");

    // A browser session is enough for the event stream.
    let mut events = SseReader::open(&viewer, &url, None, None).await.unwrap();
    let sha = repo.commit("Live change").unwrap();
    app.post_form(&actor, "/pipelines/web/ready", &[("sha", &sha)])
        .await
        .unwrap();
    let (ready, _) = events.until(WAIT, |e| e.event == "board").await.unwrap();
    let data: Value = serde_json::from_str(&ready.data).unwrap();
    assert_eq!(data["pipeline"], "web");
    assert_eq!(data["what"], "ready");
    let ready_id: i64 = ready.id.clone().unwrap().parse().unwrap();

    let id = app.promote(&actor, &sha, "qa").await.unwrap().unwrap();
    let (done, seen) = events
        .until(WAIT, |e| {
            e.event == "deployment" && e.data.contains("\"succeeded\"")
        })
        .await
        .unwrap();
    let lines: Vec<Value> = seen
        .iter()
        .filter(|e| e.event == "log")
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{seen:?}");
    assert_eq!(lines[0]["line"], format!("line one for {sha}"));
    assert_eq!(lines[0]["deployment"], id.get());
    assert_eq!(lines[1]["stream"], "stderr");
    let ids: Vec<i64> = seen
        .iter()
        .chain([&done])
        .filter_map(|e| e.id.as_ref()?.parse().ok())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");
    drop(events);

    // Restart the server; a client that saw only the ready mark resumes from there.
    let app = app.restart().await.unwrap();
    let viewer = app.logged_in("vera2", &[Role::Viewer]).await.unwrap();
    let mut resumed = SseReader::open(&viewer, &url, None, Some(&ready_id.to_string()))
        .await
        .unwrap();
    let (end, replayed) = resumed
        .until(WAIT, |e| {
            e.event == "deployment" && e.data.contains("\"succeeded\"")
        })
        .await
        .unwrap();
    assert!(replayed.iter().chain([&end]).all(|e| e
        .id
        .as_ref()
        .is_some_and(|i| i.parse::<i64>().unwrap() > ready_id)));
    assert!(replayed
        .iter()
        .any(|e| e.event == "log" && e.data.contains("line one")));
    assert!(replayed
        .iter()
        .any(|e| e.event == "deployment" && e.data.contains("\"running\"")));

    // Live again after the replay.
    let next = repo.commit("After restart").unwrap();
    let actor = app.logged_in("olga2", &[Role::Dev]).await.unwrap();
    app.post_form(&actor, "/pipelines/web/ready", &[("sha", &next)])
        .await
        .unwrap();
    resumed
        .until(WAIT, |e| e.event == "board" && e.data.contains("ready"))
        .await
        .unwrap();

    // A bearer token works too, and a client resuming from an id this database never
    // sent (another server's, say) is told to resync. (A negative id is malformed: 400,
    // tested below.)
    let mut stale = SseReader::open(&viewer, &url, None, Some("999999999"))
        .await
        .unwrap();
    assert_eq!(stale.next(WAIT).await.unwrap().event, "resync");
    let anonymous = reqwest::Client::new();
    assert!(
        SseReader::open(&anonymous, &url, None, None).await.is_err(),
        "no session, no token: refused"
    );
}

#[tokio::test]
async fn new_commits_found_by_the_background_fetch_reach_open_boards() {
    let mut repo = TestRepo::new().unwrap();
    let out = tempfile::tempdir().unwrap();
    let config = deploying_pipeline(repo.path(), out.path(), "true", "").replace(
        "fetch_interval_seconds = 3600",
        "fetch_interval_seconds = 5",
    );
    let app = spawn_app(&config).await.unwrap();
    let viewer = app.logged_in("vera", &[Role::Viewer]).await.unwrap();
    let mut events = SseReader::open(&viewer, &app.url("/api/v1/events?pipeline=web"), None, None)
        .await
        .unwrap();
    let sha = repo.commit("Pushed while the board is open").unwrap();
    // The first fetch after start may announce the commits that were already there;
    // wait for the announcement after which the board holds the new one.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let (ev, _) = events
            .until(left, |e| {
                e.event == "board" && e.data.contains("\"commits\"")
            })
            .await
            .expect("a fetch announces the new commit before the deadline");
        let (_, html) = app.get_text(&viewer, "/pipelines/web").await.unwrap();
        if html.contains(&sha) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the board never showed the new commit (last event {ev:?})"
        );
    }
}

#[tokio::test]
async fn a_resume_from_the_largest_id_gets_a_resync_and_then_live_events_and_a_malformed_id_a_400()
{
    let mut repo = TestRepo::new().unwrap();
    let out = tempfile::tempdir().unwrap();
    let app = spawn_app(&deploying_pipeline(repo.path(), out.path(), "true", ""))
        .await
        .unwrap();
    let viewer = app.logged_in("vera", &[Role::Viewer]).await.unwrap();
    let dev = app.logged_in("dave", &[Role::Dev]).await.unwrap();
    let url = app.url("/api/v1/events?pipeline=web");

    // i64::MAX: `last + 1` used to overflow (a panic in debug builds).
    let mut events = SseReader::open(&viewer, &url, None, Some(&i64::MAX.to_string()))
        .await
        .unwrap();
    let first = events.next(WAIT).await.unwrap();
    assert_eq!(first.event, "resync", "an id from the future means: reload");
    let sha = repo.commit("Change").unwrap();
    app.post_form(&dev, "/pipelines/web/ready", &[("sha", &sha)])
        .await
        .unwrap();
    // Marking a commit the mirror lacks fetches first, which announces `commits`
    // before the `ready` change: wait for the latter.
    events
        .until(WAIT, |e| e.event == "board" && e.data.contains("\"ready\""))
        .await
        .expect("the ready mark reaches the open stream");

    for bad in ["-1", "abc", "99999999999999999999"] {
        let res = viewer
            .get(&url)
            .header("last-event-id", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "Last-Event-ID {bad:?}");
        let body: Value = res.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains("Last-Event-ID"),
            "{body}"
        );
    }
    let res = viewer
        .get(app.url("/api/v1/events?after=-3"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

/// Reads until the stream ends; fails if it is still open after `within`.
async fn ends_within(events: &mut SseReader, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match events.next(left).await {
            Ok(_) => continue,
            Err(e) => {
                assert!(e.to_string().contains("ended"), "still open: {e}");
                return;
            }
        }
    }
}

#[tokio::test]
async fn an_open_stream_ends_within_seconds_of_its_token_s_revocation_or_its_user_s_disabling() {
    let repo = TestRepo::new().unwrap();
    let out = tempfile::tempdir().unwrap();
    let app = spawn_app(&deploying_pipeline(repo.path(), out.path(), "true", ""))
        .await
        .unwrap();
    let admin = app.logged_in("ada", &[Role::Admin]).await.unwrap();
    let viewer = app.logged_in("vera", &[Role::Viewer]).await.unwrap();
    let token = app.create_token(&viewer, "dashboard").await.unwrap();
    let url = app.url("/api/v1/events");
    let auth = format!("Bearer {token}");
    let client = reqwest::Client::new();

    let mut by_token = SseReader::open(&client, &url, Some(&auth), None)
        .await
        .unwrap();
    let vera = app
        .state
        .storage
        .user_by_name(&slipway_model::UserName::parse("vera").unwrap())
        .await
        .unwrap()
        .unwrap();
    let tokens = app.state.storage.tokens_of(vera.id).await.unwrap();
    assert!(app
        .state
        .storage
        .revoke_token(vera.id, tokens[0].id)
        .await
        .unwrap());
    ends_within(&mut by_token, Duration::from_secs(10)).await;

    let mut by_cookie = SseReader::open(&viewer, &url, None, None).await.unwrap();
    let res = app
        .post_form(&admin, "/admin/users/disable", &[("name", "vera")])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    ends_within(&mut by_cookie, Duration::from_secs(10)).await;
}

#[tokio::test]
async fn one_user_may_hold_a_bounded_number_of_streams() {
    let repo = TestRepo::new().unwrap();
    let out = tempfile::tempdir().unwrap();
    let app = spawn_app(&deploying_pipeline(repo.path(), out.path(), "true", ""))
        .await
        .unwrap();
    let viewer = app.logged_in("vera", &[Role::Viewer]).await.unwrap();
    let url = app.url("/api/v1/events");
    let mut open = Vec::new();
    for _ in 0..slipway_core::events::MAX_STREAMS_PER_USER {
        open.push(SseReader::open(&viewer, &url, None, None).await.unwrap());
    }
    let res = viewer.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 429);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "too_many_streams");
    // Closing one frees its place.
    open.pop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    SseReader::open(&viewer, &url, None, None).await.unwrap();
}

#[tokio::test]
async fn a_client_too_far_behind_is_told_to_resync_instead_of_replayed_and_a_near_one_is_replayed()
{
    let repo = TestRepo::new().unwrap();
    let out = tempfile::tempdir().unwrap();
    let app = spawn_app(&deploying_pipeline(repo.path(), out.path(), "true", ""))
        .await
        .unwrap();
    let viewer = app.logged_in("vera", &[Role::Viewer]).await.unwrap();
    let url = app.url("/api/v1/events?pipeline=web");
    // More history than a resume may replay (10,000 events), as a busy day would leave.
    let data = r#"{"type":"board","pipeline":"web","change":"commits"}"#;
    let first = app
        .state
        .storage
        .append_event("web", "board", data)
        .await
        .unwrap();
    for _ in 0..10_050 {
        app.state
            .storage
            .append_event("web", "board", data)
            .await
            .unwrap();
    }
    let (_, newest) = app.state.storage.event_id_range().await.unwrap();

    // From the first of them: 10,050 behind, so reload instead of a replay that would
    // hold the server's memory and the client's attention for minutes.
    let mut far = SseReader::open(&viewer, &url, None, Some(&first.id.to_string()))
        .await
        .unwrap();
    assert_eq!(far.next(WAIT).await.unwrap().event, "resync");
    assert!(
        far.next(Duration::from_millis(500)).await.is_err(),
        "nothing of the backlog follows the resync"
    );

    // Five behind: exactly those five, in order.
    let mut near = SseReader::open(&viewer, &url, None, Some(&(newest - 5).to_string()))
        .await
        .unwrap();
    for expected in newest - 4..=newest {
        let ev = near.next(WAIT).await.unwrap();
        assert_eq!(ev.id.as_deref(), Some(expected.to_string().as_str()));
    }
}
