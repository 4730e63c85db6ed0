//! Where a process's resident memory is: `/proc/PID/smaps`, summed by kind of mapping.

use anyhow::{Context as _, Result};

/// Resident KiB by kind of mapping, and the thread count.
#[derive(Debug, Default)]
pub struct Breakdown {
    /// The executable's own mappings: code, read-only data, its data.
    pub executable: u64,
    /// Shared libraries (libc, libgcc…).
    pub libraries: u64,
    /// `[heap]`, the brk heap.
    pub heap: u64,
    /// Anonymous mappings: allocator arenas (glibc gives threads their own), thread
    /// stacks, large allocations.
    pub anonymous: u64,
    /// Everything else (vdso, the SQLite database's shared memory file…).
    pub other: u64,
    pub threads: u64,
}

impl Breakdown {
    pub fn of(pid: u32) -> Result<Self> {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"))?;
        let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps"))
            .with_context(|| format!("reading /proc/{pid}/smaps"))?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let mut b = Self {
            threads: field(&status, "Threads:").unwrap_or(0),
            ..Self::default()
        };
        let mut current = Kind::Other;
        for line in smaps.lines() {
            if let Some(kib) = field(line, "Rss:") {
                *b.slot(current) += kib;
            } else if is_mapping(line) {
                let path = line.split_whitespace().nth(5).unwrap_or("");
                current = match path {
                    "" => Kind::Anonymous,
                    "[heap]" => Kind::Heap,
                    "[stack]" => Kind::Anonymous,
                    p if std::path::Path::new(p) == exe => Kind::Executable,
                    p if p.contains(".so") => Kind::Libraries,
                    _ => Kind::Other,
                };
            }
        }
        Ok(b)
    }

    fn slot(&mut self, kind: Kind) -> &mut u64 {
        match kind {
            Kind::Executable => &mut self.executable,
            Kind::Libraries => &mut self.libraries,
            Kind::Heap => &mut self.heap,
            Kind::Anonymous => &mut self.anonymous,
            Kind::Other => &mut self.other,
        }
    }

    /// `executable 30.1, heap 0.2, anonymous 13.9, libraries 1.2, other 0.1 MiB; 9 threads`.
    pub fn describe(&self) -> String {
        let mib = |kib: u64| kib as f64 / 1024.0;
        format!(
            "executable {:.1}, anonymous {:.1}, heap {:.1}, libraries {:.1}, other {:.1} MiB; {} threads",
            mib(self.executable),
            mib(self.anonymous),
            mib(self.heap),
            mib(self.libraries),
            mib(self.other),
            self.threads
        )
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Executable,
    Libraries,
    Heap,
    Anonymous,
    Other,
}

/// `Rss:    1234 kB` → 1234 for `name` = `Rss:`.
fn field(line: &str, name: &str) -> Option<u64> {
    line.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A mapping's header: `start-end perms offset dev inode [path]`.
fn is_mapping(line: &str) -> bool {
    line.split_whitespace().next().is_some_and(|range| {
        range.contains('-') && range.bytes().all(|c| c.is_ascii_hexdigit() || c == b'-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_mostly_accounted_for() {
        let b = Breakdown::of(std::process::id()).expect("this process's smaps");
        let total = b.executable + b.libraries + b.heap + b.anonymous + b.other;
        let status = std::fs::read_to_string("/proc/self/status").expect("status");
        let rss = field(&status, "VmRSS:").expect("VmRSS");
        assert!(b.executable > 0 && b.threads >= 1, "{b:?}");
        // Read a moment apart while the other tests' threads come and go: a small
        // process's RSS moves by hundreds of KiB meanwhile.
        assert!(
            total.abs_diff(rss) * 4 < rss,
            "{total} KiB of {rss} KiB: {b:?}"
        );
    }
}
