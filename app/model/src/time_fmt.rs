//! Human-readable ages ("3 minutes ago"). Computed on the server from its clock and sent
//! as text, so server and browser render the same string and hydration never diverges.

/// Formats an elapsed number of seconds as a short English age.
pub fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    let (n, unit) = match s {
        0..=59 => return "just now".to_owned(),
        60..=3_599 => (s / 60, "minute"),
        3_600..=86_399 => (s / 3_600, "hour"),
        86_400..=2_591_999 => (s / 86_400, "day"),
        2_592_000..=31_535_999 => (s / 2_592_000, "month"),
        _ => (s / 31_536_000, "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// Formats a number of seconds still to go as a short English duration ("in 3 days").
pub fn until(seconds: i64) -> String {
    match age(seconds).strip_suffix(" ago") {
        Some(d) => format!("in {d}"),
        None => "in under a minute".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{age, until};

    #[test]
    fn remaining_time_reads_naturally() {
        assert_eq!(until(30), "in under a minute");
        assert_eq!(until(86_400 * 6 + 5), "in 6 days");
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(-5), "just now");
        assert_eq!(age(59), "just now");
        assert_eq!(age(60), "1 minute ago");
        assert_eq!(age(7_200), "2 hours ago");
        assert_eq!(age(86_400 * 3), "3 days ago");
        assert_eq!(age(86_400 * 400), "1 year ago");
    }
}
