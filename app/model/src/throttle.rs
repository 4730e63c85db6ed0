//! Login throttling: how long a client must wait after failed logins. Pure: the caller
//! passes the times of recent failures (per account, or per client address) and the
//! clock.
//!
//! Sliding window with exponential delay: the first few failures cost nothing (people
//! mistype), then each further failure doubles the wait, up to a cap. Old failures fall
//! out of the window by themselves, so the throttle releases without anyone's help.

use std::time::Duration;

/// The throttle's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Failures older than this are forgotten.
    pub window: Duration,
    /// Failures allowed in the window before any delay.
    pub free_failures: usize,
    /// The delay after the first failure past the free ones; doubles with each further one.
    pub base_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
}

/// Per account: a few typos are free; guessing slows down fast.
pub const PER_ACCOUNT: Policy = Policy {
    window: Duration::from_secs(15 * 60),
    free_failures: 4,
    base_delay: Duration::from_secs(1),
    max_delay: Duration::from_secs(15 * 60),
};

/// Per client address: more room (an office behind one address), same shape.
pub const PER_CLIENT: Policy = Policy {
    window: Duration::from_secs(15 * 60),
    free_failures: 20,
    base_delay: Duration::from_secs(1),
    max_delay: Duration::from_secs(15 * 60),
};

impl Policy {
    /// How long to wait from `now` before the next attempt, given the unix times (in
    /// seconds, fractional) of past failures; `None` when an attempt may be made now.
    pub fn retry_after(&self, failures: &[f64], now: f64) -> Option<Duration> {
        let window = self.window.as_secs_f64();
        let recent: Vec<f64> = failures
            .iter()
            .copied()
            .filter(|t| now - t < window)
            .collect();
        if recent.len() <= self.free_failures {
            return None;
        }
        let extra = u32::try_from(recent.len() - self.free_failures - 1)
            .unwrap_or(u32::MAX)
            .min(30);
        let delay = (self.base_delay.as_secs_f64() * f64::from(2u32.saturating_pow(extra)))
            .min(self.max_delay.as_secs_f64());
        let last = recent.iter().copied().fold(f64::MIN, f64::max);
        let wait = last + delay - now;
        (wait > 0.0).then(|| Duration::from_secs_f64(wait))
    }
}

/// "try again in 2 minutes": a wait rounded up to a unit people read.
pub fn describe_wait(d: Duration) -> String {
    let s = d.as_secs_f64().ceil().max(1.0) as u64;
    if s < 90 {
        format!("{s} second{}", if s == 1 { "" } else { "s" })
    } else {
        let m = s.div_ceil(60);
        format!("{m} minutes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fails(n: usize, at: f64) -> Vec<f64> {
        (0..n).map(|i| at + i as f64 * 0.1).collect()
    }

    #[test]
    fn the_first_failures_are_free() {
        assert_eq!(PER_ACCOUNT.retry_after(&fails(4, 100.0), 101.0), None);
    }

    #[test]
    fn each_failure_past_the_free_ones_doubles_the_wait() {
        let p = PER_ACCOUNT;
        // 5 failures ending at 100.4: 1 s after the last one.
        let w = p.retry_after(&fails(5, 100.0), 100.4).unwrap();
        assert!((w.as_secs_f64() - 1.0).abs() < 1e-6, "{w:?}");
        let w = p.retry_after(&fails(6, 100.0), 100.5).unwrap();
        assert!((w.as_secs_f64() - 2.0).abs() < 1e-6, "{w:?}");
        let w = p.retry_after(&fails(8, 100.0), 100.7).unwrap();
        assert!((w.as_secs_f64() - 8.0).abs() < 1e-6, "{w:?}");
        let w = p.retry_after(&fails(60, 100.0), 106.0).unwrap();
        assert!(w <= p.max_delay);
    }

    #[test]
    fn the_throttle_releases_when_the_wait_is_over_or_failures_leave_the_window() {
        let p = PER_ACCOUNT;
        assert_eq!(
            p.retry_after(&fails(5, 100.0), 101.5),
            None,
            "waited long enough"
        );
        assert_eq!(
            p.retry_after(&fails(30, 0.0), 0.0 + 16.0 * 60.0),
            None,
            "out of the window"
        );
    }

    #[test]
    fn waits_read_naturally() {
        assert_eq!(describe_wait(Duration::from_millis(300)), "1 second");
        assert_eq!(describe_wait(Duration::from_secs(8)), "8 seconds");
        assert_eq!(describe_wait(Duration::from_secs(200)), "4 minutes");
    }
}
