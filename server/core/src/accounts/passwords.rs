//! Password hashing: argon2id with OWASP's parameters, always off the async runtime
//! (a hash takes tens of milliseconds of pure CPU).

use anyhow::Context as _;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use slipway_model::error::AppError;
use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

/// Shortest password accepted.
pub const MIN_LEN: usize = 12;
/// Longest password accepted (argon2 is fine with more; this bounds the work per login).
pub const MAX_LEN: usize = 128;

/// A candidate password. `Debug` never prints it, so it cannot leak into logs.
#[derive(Clone)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Why a new password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than [`MIN_LEN`] characters.
    #[error("a password needs at least {MIN_LEN} characters (got {0}); a passphrase of a few words works well")]
    TooShort(usize),
    /// More than [`MAX_LEN`] characters.
    #[error("a password may have at most {MAX_LEN} characters (got {0})")]
    TooLong(usize),
    /// On the list of common (leaked) passwords.
    #[error("this password is on a list of commonly used, leaked passwords; choose another (a few unrelated words work well)")]
    Common,
}

/// Common passwords of 12+ characters (see `server/core/data/README.md`), lowercase, one per line.
static COMMON: &str = include_str!("../../data/common-passwords.txt");

/// Whether `candidate` (compared in lowercase) is a known common password.
pub fn is_common(candidate: &str) -> bool {
    sorted_lines_contain(COMMON, &candidate.to_lowercase())
}

/// Whether `text`, lines in byte order (`LC_ALL=C sort`), holds the line `needle`: a
/// binary search over the embedded bytes themselves, so the list costs no memory
/// beyond the binary's read-only pages (a set built from it held about 2 MB).
fn sorted_lines_contain(text: &str, needle: &str) -> bool {
    let bytes = text.as_bytes();
    // The line starting at or after byte `at`, as (start, end).
    let line_at = |at: usize| -> (usize, usize) {
        let start = bytes[..at]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let end = bytes[start..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(bytes.len(), |i| start + i);
        (start, end)
    };
    let (mut lo, mut hi) = (0, bytes.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let (start, end) = line_at(mid);
        match text[start..end].trim_end_matches('\r').cmp(needle) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => lo = end + 1,
            std::cmp::Ordering::Greater => hi = start,
        }
    }
    false
}

impl Password {
    /// Accepts a new password if its length is within bounds.
    pub fn new(s: String) -> Result<Self, PasswordError> {
        let n = s.chars().count();
        if n < MIN_LEN {
            Err(PasswordError::TooShort(n))
        } else if n > MAX_LEN {
            Err(PasswordError::TooLong(n))
        } else if is_common(&s) {
            Err(PasswordError::Common)
        } else {
            Ok(Self(s))
        }
    }

    /// Wraps a password typed at login: not checked, only compared.
    pub fn candidate(s: String) -> Self {
        Self(s)
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn argon2() -> Argon2<'static> {
    // OWASP: argon2id, m = 19 MiB, t = 2, p = 1.
    let params = Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every hasher stayed busy for the hasher's queue wait: try again shortly.
    #[error("the server is busy checking passwords; try again in a few seconds")]
    Busy,
    /// The hashing task failed.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<HashError> for AppError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => AppError::Unavailable(e.to_string()),
            HashError::Failed(e) => crate::authz::internal(format!("{e:#}")),
        }
    }
}

/// Runs argon2 with bounded concurrency, on threads of its own. Each hash holds 19 MiB
/// and a core for tens of milliseconds; unbounded, forty simultaneous logins took a
/// server from 111 MiB to 874 MiB. Work beyond the permits waits, briefly, then is
/// refused as busy (503 with `Retry-After`) rather than queued without end.
///
/// The hashes run on a fixed set of threads, not on tokio's blocking pool: that pool
/// starts a new thread whenever none is idle at that instant, and the allocator keeps
/// each thread's freed 19 MiB for its next use, so even two hashes at a time over many
/// short-lived threads held hundreds of MiB.
pub struct Hasher {
    permits: tokio::sync::Semaphore,
    queue_wait: Duration,
    jobs: std::sync::mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

impl Hasher {
    /// A hasher running at most `concurrent` hashes, each on one of `concurrent` threads
    /// of its own, whose callers wait at most `queue_wait` for a turn.
    pub fn new(concurrent: usize, queue_wait: Duration) -> Self {
        let concurrent = concurrent.max(1);
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        for i in 0..concurrent {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("slipway-hash-{i}"))
                .spawn(move || loop {
                    let job = match queue.lock() {
                        Ok(queue) => match queue.recv() {
                            Ok(job) => job,
                            // The hasher is gone.
                            Err(_) => return,
                        },
                        Err(_) => return,
                    };
                    // A panicking hash fails its caller (its result channel drops), not
                    // this thread.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "failed to start a password hashing thread");
            }
        }
        Self {
            permits: tokio::sync::Semaphore::new(concurrent),
            queue_wait,
            jobs,
        }
    }

    /// The process-wide hasher: one hash per core, callers wait up to five seconds.
    pub fn global() -> &'static Hasher {
        static GLOBAL: OnceLock<Hasher> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            Hasher::new(cores, Duration::from_secs(5))
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = tokio::time::timeout(self.queue_wait, self.permits.acquire())
            .await
            .map_err(|_| HashError::Busy)?
            .map_err(|_| HashError::Busy)?;
        let (done, result) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = done.send(work());
            }))
            .map_err(|_| HashError::Failed(anyhow::anyhow!("no password hashing thread runs")))?;
        result
            .await
            .context("the password hashing task failed")
            .map_err(HashError::Failed)
    }

    /// Hashes a password into a PHC string.
    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2()
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("failed to hash a password: {e}"))
        })
        .await?
        .map_err(HashError::Failed)
    }

    /// Verifies `candidate` against `stored` (or against a dummy hash when there is no
    /// user, so unknown names take as long as known ones). False on any mismatch or
    /// malformed hash.
    pub async fn verify(
        &self,
        stored: Option<String>,
        candidate: Password,
    ) -> Result<bool, HashError> {
        self.run(move || {
            let exists = stored.is_some();
            let phc = stored.unwrap_or_else(|| dummy_hash().to_owned());
            let Ok(parsed) = PasswordHash::new(&phc) else {
                return false;
            };
            let ok = argon2()
                .verify_password(candidate.expose().as_bytes(), &parsed)
                .is_ok();
            ok && exists
        })
        .await
    }
}

/// Hashes a password with the [global](Hasher::global) hasher.
pub async fn hash(password: Password) -> Result<String, HashError> {
    Hasher::global().hash(password).await
}

/// A hash of a random password, verified against when the user does not exist so that
/// unknown and known user names take the same time.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(b"slipway-no-such-user-placeholder", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Verifies with the [global](Hasher::global) hasher; see [`Hasher::verify`].
pub async fn verify(stored: Option<String>, candidate: Password) -> Result<bool, HashError> {
    Hasher::global().verify(stored, candidate).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_busy_hasher_refuses_after_its_queue_wait_instead_of_queueing_forever() {
        let hasher = std::sync::Arc::new(Hasher::new(1, Duration::from_millis(50)));
        let held = hasher.permits.acquire().await.expect("a permit");
        let started = std::time::Instant::now();
        let busy = hasher
            .verify(None, Password::candidate("anything".into()))
            .await;
        assert!(matches!(busy, Err(HashError::Busy)), "{busy:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(matches!(
            AppError::from(HashError::Busy),
            AppError::Unavailable(_)
        ));
        drop(held);
        let stored = hasher
            .hash(Password::candidate("zq8-kettle-4".into()))
            .await
            .expect("a free hasher hashes");
        assert!(hasher
            .verify(Some(stored), Password::candidate("zq8-kettle-4".into()))
            .await
            .expect("and verifies"));
    }

    #[test]
    fn length_bounds_are_enforced_with_a_helpful_message() {
        assert_eq!(
            Password::new("short".into()).unwrap_err(),
            PasswordError::TooShort(5)
        );
        assert!(Password::new("zq8-kettle-4".into()).is_ok());
        assert!(Password::new(format!("zq8-{}", "k".repeat(124))).is_ok());
        assert_eq!(
            Password::new("x".repeat(129)).unwrap_err(),
            PasswordError::TooLong(129)
        );
        assert!(PasswordError::TooShort(3)
            .to_string()
            .contains("at least 12"));
    }

    #[test]
    fn the_common_password_list_is_in_byte_order_so_it_can_be_searched() {
        let lines: Vec<&str> = COMMON.lines().collect();
        assert!(lines.len() > 40_000, "{} lines", lines.len());
        assert!(
            lines.windows(2).all(|w| w[0] < w[1]),
            "sort with LC_ALL=C sort -u"
        );
        // Every line is found, and a word between two lines is not.
        assert!(lines.iter().all(|l| sorted_lines_contain(COMMON, l)));
        for absent in [
            "",
            "!",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "\u{10ffff}",
        ] {
            assert!(!sorted_lines_contain(COMMON, absent), "{absent:?}");
        }
        assert!(sorted_lines_contain("a\nb\nc", "c") && !sorted_lines_contain("a\nc", "b"));
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        for common in ["123456789012", "PasswordPassword", "qwertyuiopasdfghjkl"] {
            assert_eq!(
                Password::new(common.into()).unwrap_err(),
                PasswordError::Common,
                "{common}"
            );
        }
        assert!(Password::new("violet kettle harbour nine".into()).is_ok());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let p = Password::candidate("hunter2hunter2".into());
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = hash(Password::new("correct horse battery".into()).unwrap())
            .await
            .unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify(
            Some(h.clone()),
            Password::candidate("correct horse battery".into())
        )
        .await
        .unwrap());
        assert!(
            !verify(Some(h), Password::candidate("wrong horse battery".into()))
                .await
                .unwrap()
        );
        assert!(!verify(None, Password::candidate("anything at all".into()))
            .await
            .unwrap());
    }
}
