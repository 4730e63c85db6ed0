//! Low-level runner of one deploy command.
//!
//! Slipway's server runs deploy commands itself, so this module owns the
//! dangerous part: starting a process from an argv (never a shell string),
//! streaming its output line by line to the caller while it runs, and making
//! sure that nothing it started outlives it. Every command runs in its own
//! process group; the group id is handed to the caller before any output is
//! read so it can be persisted, and [`terminate_group`] lets the next server
//! start clean up after a crash.
//!
//! Higher layers (deploy bookkeeping, storage, UI) build on [`run`]; they never
//! touch processes directly.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

/// Longest line (in bytes, before the marker) delivered to the observer;
/// longer lines are cut so one runaway line cannot exhaust memory or storage.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// Appended to a line that was cut at [`MAX_LINE_BYTES`], so readers of the log
/// know the text is incomplete.
pub const TRUNCATION_MARKER: &str = " …[truncated]";

/// How often the group is polled while waiting for it to die.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// How long output is still read after the main child exited and its group was
/// dealt with. Pipes can be held open by a process that left the group (e.g.
/// via `setsid`); we must not wait for their EOF forever.
const DRAIN_BOUND: Duration = Duration::from_secs(2);

/// Lines buffered between the pipe readers and the observer; gives
/// backpressure to the child if the observer (e.g. a database) is slow.
const LINE_CHANNEL_CAPACITY: usize = 256;

/// Everything needed to run one deploy command; built by the deploy layer from
/// the repository's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSpec {
    /// Program and arguments, passed to the OS as-is (no shell is involved).
    pub argv: Vec<String>,
    /// The command's whole environment: nothing of the server's is inherited beyond
    /// what the caller put here.
    pub env: Vec<(String, String)>,
    /// Working directory of the command.
    pub workdir: PathBuf,
    /// Wall-clock limit; when it elapses the whole group is terminated.
    pub timeout: Duration,
    /// Time between SIGTERM and SIGKILL when terminating the group.
    pub grace: Duration,
}

/// Which pipe a line came from, so the log can show stderr differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// The command's standard output.
    Stdout,
    /// The command's standard error.
    Stderr,
}

impl Stream {
    /// Stable lowercase name (`"stdout"`/`"stderr"`), for storage and display.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Receives what happens during a run, as it happens, so the caller can
/// persist the process group and store output lines live. Each call is awaited
/// before the next one is made.
#[async_trait::async_trait]
pub trait RunObserver: Send {
    /// The command started; `pgid` is its process group (= its pid). Called
    /// once, before any line, so the caller can persist it and kill the group
    /// after a server crash.
    async fn started(&mut self, pgid: i32);

    /// One output line (without its line terminator), in arrival order, with
    /// the UTC time it was read.
    async fn line(&mut self, stream: Stream, at: OffsetDateTime, text: String);
}

/// How a run ended; the deploy layer turns it into a deploy status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The command exited by itself with this code (0 = success).
    Exited {
        /// The exit code.
        code: i32,
    },
    /// The command was killed by a signal it did not get from us.
    Signalled {
        /// The signal number.
        signal: i32,
    },
    /// The timeout elapsed and the group was terminated.
    TimedOut,
    /// The run was cancelled through its [`CancelHandle`] and the group was
    /// terminated.
    Cancelled,
    /// The command could not be started at all; `message` says which program
    /// and why.
    SpawnFailed {
        /// Human-readable reason, e.g. "failed to start `./deploy.sh`: No
        /// such file or directory (os error 2)".
        message: String,
    },
}

impl Outcome {
    /// Whether the command ran and exited with code 0.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Exited { code: 0 })
    }
}

/// Lets another task (e.g. a "cancel deploy" request) stop a running command.
/// Cloning shares the same flag; cancelling before [`run`] starts means the
/// command is never spawned.
#[derive(Clone)]
pub struct CancelHandle(Arc<watch::Sender<bool>>);

impl CancelHandle {
    /// A fresh, not-cancelled handle.
    pub fn new() -> Self {
        let (tx, _rx) = watch::channel(false);
        CancelHandle(Arc::new(tx))
    }

    /// Requests cancellation: the run's process group gets SIGTERM, then
    /// SIGKILL after the grace period. Idempotent.
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }

    /// Whether [`cancel`](Self::cancel) was called on this handle or a clone.
    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once cancelled (immediately if already cancelled).
    pub async fn cancelled(&self) {
        let mut rx = self.0.subscribe();
        if rx.wait_for(|c| *c).await.is_err() {
            // Cannot happen (we hold the sender), but never report a false cancel.
            std::future::pending::<()>().await;
        }
    }
}

impl Default for CancelHandle {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelHandle")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// Runs one command to completion, streaming its output to `observer`, and
/// guarantees that no process of its group is left when it returns (or when
/// this future is dropped: the group is then terminated in the background).
///
/// See the module docs and [`RunSpec`] for what is run and how.
pub async fn run(spec: RunSpec, observer: &mut dyn RunObserver, cancel: CancelHandle) -> Outcome {
    let RunSpec {
        argv,
        env,
        workdir,
        timeout,
        grace,
    } = spec;
    let Some(program) = argv.first() else {
        return Outcome::SpawnFailed {
            message: "failed to start: the command is empty".to_owned(),
        };
    };
    if cancel.is_cancelled() {
        return Outcome::Cancelled;
    }
    // A missing working directory makes spawn fail with ENOENT too; say so
    // instead of blaming the program.
    match tokio::fs::metadata(&workdir).await {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Outcome::SpawnFailed {
                message: format!(
                    "failed to start `{program}`: working directory `{}` is not a directory",
                    workdir.display()
                ),
            }
        }
        Err(e) => {
            return Outcome::SpawnFailed {
                message: format!(
                    "failed to start `{program}`: working directory `{}`: {e}",
                    workdir.display()
                ),
            }
        }
    }

    let mut cmd = Command::new(program);
    cmd.args(&argv[1..])
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(&workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(false);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            return Outcome::SpawnFailed {
                message: format!("failed to start `{program}`: {e}"),
            }
        }
    };
    let pgid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .unwrap_or(0);
    tracing::info!(pgid, program = %program, workdir = %workdir.display(), "deploy command started");

    // From here on, dropping this future must not leave the group running.
    let mut guard = GroupGuard {
        pgid,
        grace,
        armed: true,
        readers: Vec::new(),
    };
    let deadline = instant_after(timeout);

    observer.started(pgid).await;

    let (tx, mut rx) = mpsc::channel::<Line>(LINE_CHANNEL_CAPACITY);
    if let Some(out) = child.stdout.take() {
        guard
            .readers
            .push(tokio::spawn(pump(out, Stream::Stdout, tx.clone())));
    }
    if let Some(err) = child.stderr.take() {
        guard
            .readers
            .push(tokio::spawn(pump(err, Stream::Stderr, tx.clone())));
    }
    drop(tx);

    let mut stop: Option<Outcome> = None; // TimedOut / Cancelled once we started terminating
    let mut kill_at: Option<Instant> = None;
    let mut killed = false;
    let mut exit: Option<io::Result<ExitStatus>> = None;
    let mut group_done = false;
    let mut drain_until: Option<Instant> = None;
    let mut streams_open = true;
    let mut drain_timed_out = false;
    let mut poll = tokio::time::interval(POLL_INTERVAL);
    poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let cancelled = cancel.cancelled();
    tokio::pin!(cancelled);

    loop {
        if group_done && !streams_open {
            break;
        }
        tokio::select! {
            msg = rx.recv(), if streams_open => match msg {
                Some(l) => observer.line(l.stream, l.at, l.text).await,
                None => streams_open = false,
            },
            status = child.wait(), if exit.is_none() => {
                exit = Some(status);
                if kill_at.is_none() {
                    // Exited by itself: sweep up anything it left in its group.
                    if group_alive(pgid) {
                        tracing::debug!(pgid, "command exited leaving processes in its group; terminating them");
                        signal_group(pgid, Signal::SIGTERM);
                        kill_at = Some(instant_after(grace));
                    } else {
                        group_done = true;
                    }
                }
            }
            _ = tokio::time::sleep_until(deadline), if stop.is_none() && exit.is_none() => {
                tracing::warn!(pgid, ?timeout, "deploy command timed out; terminating its group");
                stop = Some(Outcome::TimedOut);
                signal_group(pgid, Signal::SIGTERM);
                kill_at = Some(instant_after(grace));
            }
            _ = &mut cancelled, if stop.is_none() && exit.is_none() => {
                tracing::info!(pgid, "deploy command cancelled; terminating its group");
                stop = Some(Outcome::Cancelled);
                signal_group(pgid, Signal::SIGTERM);
                kill_at = Some(instant_after(grace));
            }
            _ = tokio::time::sleep_until(kill_at.unwrap_or(deadline)), if kill_at.is_some() && !killed && exit.is_none() => {
                tracing::warn!(pgid, "process group survived SIGTERM; sending SIGKILL");
                signal_group(pgid, Signal::SIGKILL);
                killed = true;
            }
            _ = poll.tick(), if exit.is_some() && !group_done => {
                if !group_alive(pgid) {
                    group_done = true;
                } else if kill_at.is_none_or(|k| Instant::now() >= k) {
                    tracing::warn!(pgid, "processes left in the group after SIGTERM; sending SIGKILL");
                    signal_group(pgid, Signal::SIGKILL);
                    group_done = true;
                }
            }
            _ = tokio::time::sleep_until(drain_until.unwrap_or(deadline)), if drain_until.is_some() => {
                drain_timed_out = true;
                break;
            }
            else => break,
        }
        if group_done {
            guard.armed = false;
            if drain_until.is_none() {
                drain_until = Some(instant_after(DRAIN_BOUND));
            }
        }
    }

    if drain_timed_out {
        tracing::warn!(pgid, "output pipes still open after the command's group ended (a process left the group?); stopped reading");
        for reader in &guard.readers {
            reader.abort();
        }
        // Deliver what was already read.
        while let Ok(l) = rx.try_recv() {
            observer.line(l.stream, l.at, l.text).await;
        }
    }

    let outcome = match (stop, exit) {
        (Some(stopped), _) => stopped,
        (None, Some(Ok(status))) => outcome_of(status),
        (None, Some(Err(e))) => {
            tracing::error!(pgid, error = %e, "failed to wait for deploy command");
            Outcome::Exited { code: -1 }
        }
        (None, None) => {
            tracing::error!(pgid, "deploy command runner stopped without an exit status");
            Outcome::Exited { code: -1 }
        }
    };
    tracing::info!(pgid, ?outcome, "deploy command finished");
    outcome
}

/// One line read by a pipe reader, on its way to the observer.
struct Line {
    stream: Stream,
    at: OffsetDateTime,
    text: String,
}

/// Terminates the group if [`run`] is dropped before the group was dealt
/// with, and always stops the pipe readers.
struct GroupGuard {
    pgid: i32,
    grace: Duration,
    armed: bool,
    readers: Vec<JoinHandle<()>>,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        for reader in &self.readers {
            reader.abort();
        }
        if self.armed {
            tracing::warn!(
                pgid = self.pgid,
                "deploy runner dropped while the command was running; terminating its group"
            );
            match tokio::runtime::Handle::try_current() {
                Ok(handle) => {
                    handle.spawn(terminate_group(self.pgid, self.grace));
                }
                Err(_) => {
                    signal_group(self.pgid, Signal::SIGKILL);
                }
            }
        }
    }
}

/// Reads one pipe line by line with bounded memory, sending each line on `tx`.
async fn pump<R: AsyncRead + Unpin>(pipe: R, stream: Stream, tx: mpsc::Sender<Line>) {
    let mut reader = BufReader::new(pipe);
    let mut buf: Vec<u8> = Vec::new();
    let mut truncated = false;
    loop {
        let (used, complete) = match reader.fill_buf().await {
            Ok([]) => {
                if !buf.is_empty() || truncated {
                    let _ = tx.send(make_line(stream, &mut buf, truncated)).await;
                }
                return;
            }
            Ok(chunk) => {
                let newline = chunk.iter().position(|&b| b == b'\n');
                let part = &chunk[..newline.unwrap_or(chunk.len())];
                let room = MAX_LINE_BYTES.saturating_sub(buf.len());
                if part.len() > room {
                    buf.extend_from_slice(&part[..room]);
                    truncated = true;
                } else {
                    buf.extend_from_slice(part);
                }
                (newline.map_or(chunk.len(), |i| i + 1), newline.is_some())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::warn!(error = %e, stream = stream.as_str(), "reading deploy command output failed");
                if !buf.is_empty() || truncated {
                    let _ = tx.send(make_line(stream, &mut buf, truncated)).await;
                }
                return;
            }
        };
        reader.consume(used);
        if complete {
            if tx
                .send(make_line(stream, &mut buf, truncated))
                .await
                .is_err()
            {
                return; // runner is gone
            }
            truncated = false;
        }
    }
}

/// Turns the collected bytes into a line (lossy UTF-8, `\r` stripped, marker
/// appended if cut) and clears the buffer.
fn make_line(stream: Stream, buf: &mut Vec<u8>, truncated: bool) -> Line {
    let at = OffsetDateTime::now_utc();
    if truncated {
        // Don't leave half a character (it would become U+FFFD).
        let keep = complete_utf8_prefix(buf);
        buf.truncate(keep);
    } else if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    let mut text = String::from_utf8_lossy(buf).into_owned();
    if truncated {
        text.push_str(TRUNCATION_MARKER);
    }
    buf.clear();
    Line { stream, at, text }
}

/// Length of `bytes` without a trailing incomplete UTF-8 sequence.
fn complete_utf8_prefix(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=len.min(4) {
        let b = bytes[len - back];
        if b & 0xC0 == 0x80 {
            continue; // continuation byte: look further back for the lead byte
        }
        let needed = match b {
            0xF0..=0xFF => 4,
            0xE0..=0xEF => 3,
            0xC0..=0xDF => 2,
            _ => 1,
        };
        return if needed > back { len - back } else { len };
    }
    len
}

fn outcome_of(status: ExitStatus) -> Outcome {
    if let Some(code) = status.code() {
        Outcome::Exited { code }
    } else if let Some(signal) = status.signal() {
        Outcome::Signalled { signal }
    } else {
        Outcome::Exited { code: -1 }
    }
}

/// `now + d`, saturating far in the future instead of overflowing.
fn instant_after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(60 * 60 * 24 * 365 * 30))
}

mod group;

pub use group::{group_alive, groups_with_env, terminate_group};
use group::{signal_group, Signal};

#[cfg(test)]
mod tests;
