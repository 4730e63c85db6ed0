//! Process groups: the unit the runner starts, signals and waits for, so that nothing a
//! deploy command starts (a shell's children, a backgrounded helper) outlives it.
//!
//! Every function refuses group ids `<= 1` and the server's own group: a bug elsewhere
//! must never turn into "kill everything".

use super::{instant_after, POLL_INTERVAL};
use nix::errno::Errno;
use nix::unistd::Pid;
use std::time::Duration;
use tokio::time::Instant;

pub(super) use nix::sys::signal::Signal;

/// Whether any process of group `pgid` still exists (used at start-up to find
/// groups left behind by a crashed server). EPERM counts as alive. Always false for
/// `pgid <= 1`.
pub fn group_alive(pgid: i32) -> bool {
    if pgid <= 1 {
        return false;
    }
    // Signal 0 only checks for existence and permission.
    let exists = match nix::sys::signal::killpg(Pid::from_raw(pgid), None) {
        Ok(()) => true,
        Err(e) => e == Errno::EPERM,
    };
    // kill(2) also counts zombies: ended processes whose parent (often PID 1, which
    // may be slow to reap) has not collected them yet. Where /proc exists, only a
    // member that is not a zombie keeps the group alive.
    exists && live_member_in_proc(pgid).unwrap_or(true)
}

/// Every live (not zombie) process in `/proc`, as its directory and its process group;
/// `None` where there is no `/proc`.
fn live_processes() -> Option<impl Iterator<Item = (std::path::PathBuf, i32)>> {
    let entries = std::fs::read_dir("/proc").ok()?;
    Some(entries.flatten().filter_map(|entry| {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
        // Fields after the parenthesised command: state ppid pgrp …
        let rest = &stat[stat.rfind(')')? + 1..];
        let mut fields = rest.split_whitespace();
        let state = fields.next()?;
        let _ppid = fields.next();
        let pgrp = fields.next()?.parse::<i32>().ok()?;
        (state != "Z" && state != "X").then(|| (entry.path(), pgrp))
    }))
}

/// The process groups of live processes whose environment holds `name=value`, from
/// `/proc` (empty where there is none). The server's own group is never listed.
pub fn groups_with_env(name: &str, value: &str) -> Vec<i32> {
    let wanted = format!("{name}={value}");
    let mut groups = Vec::new();
    for (dir, pgrp) in live_processes().into_iter().flatten() {
        if is_own_group(pgrp) || groups.contains(&pgrp) {
            continue;
        }
        let Ok(environ) = std::fs::read(dir.join("environ")) else {
            continue;
        };
        if environ.split(|b| *b == 0).any(|v| v == wanted.as_bytes()) {
            groups.push(pgrp);
        }
    }
    groups
}

/// Whether /proc shows a non-zombie process in group `pgid` (`None` without /proc).
fn live_member_in_proc(pgid: i32) -> Option<bool> {
    Some(live_processes()?.any(|(_, pgrp)| pgrp == pgid))
}

/// Terminates a whole process group: SIGTERM, wait up to `grace` for it to
/// disappear, then SIGKILL whatever is left. Used at server start-up for
/// groups persisted by a previous (crashed) server, and by the runner.
/// Does nothing for `pgid <= 1` or for the server's own process group.
pub async fn terminate_group(pgid: i32, grace: Duration) {
    if pgid <= 1 || is_own_group(pgid) || !group_alive(pgid) {
        return;
    }
    tracing::info!(pgid, "terminating process group");
    signal_group(pgid, Signal::SIGTERM);
    let until = instant_after(grace);
    loop {
        if !group_alive(pgid) {
            return;
        }
        let now = Instant::now();
        if now >= until {
            break;
        }
        tokio::time::sleep(POLL_INTERVAL.min(until - now)).await;
    }
    if group_alive(pgid) {
        tracing::warn!(pgid, "process group survived SIGTERM; sending SIGKILL");
        signal_group(pgid, Signal::SIGKILL);
    }
}

/// Sends `sig` to group `pgid`; refuses `pgid <= 1` and the server's own group.
pub(super) fn signal_group(pgid: i32, sig: Signal) -> bool {
    if pgid <= 1 || is_own_group(pgid) {
        tracing::warn!(pgid, %sig, "refusing to signal this process group");
        return false;
    }
    match nix::sys::signal::killpg(Pid::from_raw(pgid), sig) {
        Ok(()) => true,
        Err(Errno::ESRCH) => false,
        Err(err) => {
            tracing::warn!(pgid, %sig, error = %err, "failed to signal process group");
            false
        }
    }
}

fn is_own_group(pgid: i32) -> bool {
    pgid == nix::unistd::getpgrp().as_raw()
}
