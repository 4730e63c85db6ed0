//! The one place the core reads the time.
//!
//! Expiries, throttles, lock ends, log timestamps (and deploy windows and freezes,
//! coming next) all ask a [`Clock`], so a test can pin "now" to a Monday 18:59 instead
//! of waiting for one. Production uses [`SystemClock`].

use std::sync::Mutex;
use time::OffsetDateTime;

/// A source of the current time (UTC).
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> OffsetDateTime;

    /// Now, as whole seconds since the Unix epoch (what expiries are stored as).
    fn unix(&self) -> i64 {
        self.now().unix_timestamp()
    }

    /// Now, as fractional seconds since the Unix epoch (what the login throttle counts
    /// in).
    fn unix_f64(&self) -> f64 {
        let now = self.now();
        // i128 nanoseconds to f64 loses precision below a microsecond: irrelevant here.
        now.unix_timestamp_nanos() as f64 / 1e9
    }
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until told to move: for tests.
#[derive(Debug)]
pub struct FixedClock(Mutex<OffsetDateTime>);

impl FixedClock {
    /// A clock showing `at`.
    pub fn new(at: OffsetDateTime) -> Self {
        Self(Mutex::new(at))
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: OffsetDateTime) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: time::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_fixed_clock_moves_only_when_told() {
        let clock = FixedClock::new(datetime!(2026-12-07 18:59 UTC));
        assert_eq!(clock.now(), datetime!(2026-12-07 18:59 UTC));
        clock.advance(time::Duration::minutes(2));
        assert_eq!(clock.now(), datetime!(2026-12-07 19:01 UTC));
        assert_eq!(clock.unix(), clock.now().unix_timestamp());
        assert!((clock.unix_f64() - clock.unix() as f64).abs() < 1e-6);
    }

    #[test]
    fn the_system_clock_is_close_to_the_os_time() {
        let drift = SystemClock.now() - OffsetDateTime::now_utc();
        assert!(drift.whole_seconds().abs() < 5);
    }
}
