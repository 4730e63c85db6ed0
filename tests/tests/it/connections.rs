//! The HTTP server's own limits against slow, idle and too many clients (real binary,
//! real sockets, a real file descriptor limit).

use slipway_tests::app::pipeline_config;
use slipway_tests::git::TestRepo;
use slipway_tests::process::Installation;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The start of a request whose headers never end.
const HALF_A_REQUEST: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

/// A server for a fresh repository with `settings` in its config.
fn install(settings: &str) -> (TestRepo, Installation) {
    let repo = TestRepo::new().unwrap();
    let install = Installation::new(settings, &pipeline_config(repo.path()));
    (repo, install)
}

async fn half_sent(base: &str) -> TcpStream {
    let addr = base.trim_start_matches("http://");
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(HALF_A_REQUEST)
        .await
        .expect("send half a request");
    tcp
}

/// Reads until the server closes the connection; the answer it sent before, if any.
async fn until_closed(tcp: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_request_whose_headers_never_end_is_closed_after_the_header_timeout() {
    let (_repo, install) = install("[http]\nheader_timeout_seconds = 1");
    let server = install.start();
    server.wait_up().await;

    let started = Instant::now();
    let mut tcp = half_sent(&install.base).await;
    let closed = tokio::time::timeout(Duration::from_secs(10), until_closed(&mut tcp)).await;
    assert!(
        closed.is_ok(),
        "the half-sent request was still open after 10 s"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "closed before the timeout: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn slow_clients_beyond_the_descriptor_limit_do_not_keep_others_out() {
    // 300 connections that never finish their headers, against a server allowed 256
    // file descriptors: before the limits, accept failed with "Too many open files"
    // and /healthz never answered while they stayed open.
    let (_repo, install) = install("[http]\nheader_timeout_seconds = 1");
    let server = install.start_with_fd_limit(256);
    server.wait_up().await;

    let mut slow = Vec::new();
    for _ in 0..300 {
        slow.push(half_sent(&install.base).await);
    }
    let res = reqwest::Client::new()
        .get(format!("{}/healthz", install.base))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("/healthz answers while 300 slow clients hold connections");
    assert!(res.status().is_success());
    drop(slow);
}

#[tokio::test]
async fn sigterm_stops_the_server_within_the_drain_period_despite_a_half_open_connection() {
    let (_repo, install) = install(
        "shutdown_grace_seconds = 0\n[http]\nheader_timeout_seconds = 120\ndrain_seconds = 1",
    );
    let mut server = install.start();
    server.wait_up().await;
    let _half = half_sent(&install.base).await;
    // An idle keep-alive connection too: it closes at once.
    let client = reqwest::Client::new();
    client
        .get(format!("{}/healthz", install.base))
        .send()
        .await
        .unwrap();

    let status = tokio::task::spawn_blocking(move || server.terminate(Duration::from_secs(10)))
        .await
        .unwrap();
    let status = status.expect("the server exits within 10 s of SIGTERM (drain: 1 s)");
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn beyond_the_connection_limit_clients_wait_to_be_accepted_and_get_in_when_one_closes() {
    let (_repo, install) = install("[http]\nheader_timeout_seconds = 120\nmax_connections = 8");
    let server = install.start();
    server.wait_up().await;
    // The health check above used a connection that is closed by now; fill all 8.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut slow = Vec::new();
    for _ in 0..8 {
        slow.push(half_sent(&install.base).await);
    }
    let client = reqwest::Client::new();
    let url = format!("{}/healthz", install.base);
    let waiting = client
        .get(&url)
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(
        waiting.is_err(),
        "a ninth client was served while 8 connections were open"
    );
    // One closes: the next client in the queue is accepted and answered.
    slow.pop();
    let res = client
        .get(&url)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("answered once a connection closed");
    assert!(res.status().is_success());
}

#[tokio::test]
async fn forty_simultaneous_login_guesses_cost_the_memory_of_a_few_hashes_not_forty() {
    // Each argon2id verification holds 19 MiB. Unbounded, forty at once took a server
    // from 111 MiB to 874 MiB; with hashing bounded to the cores, the rest wait (or get
    // a 503 with Retry-After) and the peak stays near a few hashes' worth — and the
    // memory goes back once they are done (glibc used to keep every hash's buffer).
    let (_repo, install) = install("");
    install.add_user("ada", &["admin"], "a long enough passphrase");
    let server = install.start();
    server.wait_up().await;
    let (before, _) = server.memory_mib().unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let guesses = (0..40).map(|i| {
        let client = client.clone();
        let base = install.base.clone();
        // Half for a real account, half for names that do not exist (a dummy hash).
        let user = if i % 2 == 0 {
            "ada".to_owned()
        } else {
            format!("nobody{i}")
        };
        async move {
            client
                .post(format!("{base}/login"))
                .header("origin", &base)
                .form(&[
                    ("username", user.as_str()),
                    ("password", "wrong guess"),
                    ("next", ""),
                ])
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    let statuses = futures::future::join_all(guesses).await;
    assert!(
        statuses.iter().all(|s| matches!(s, Ok(303 | 429 | 503))),
        "{statuses:?}"
    );
    let (after, peak) = server.memory_mib().unwrap();
    // Two cores: two hashes at a time, 38 MiB; plus room for the requests themselves.
    assert!(
        peak - before < 100.0,
        "forty guesses raised the peak from {before:.0} MiB to {peak:.0} MiB"
    );
    assert!(
        after - before < 50.0,
        "forty guesses left the server at {after:.0} MiB (from {before:.0} MiB)"
    );
}
