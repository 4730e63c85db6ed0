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

/// Formats a length of time as short English ("45 seconds", "12 minutes", "1.5 hours",
/// "3 days"): one decimal below ten hours or days, so medians read precisely enough.
pub fn span(seconds: i64) -> String {
    let s = seconds.max(0);
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let tenths = |unit_seconds: i64, unit: &str| {
        let t = (s * 10 + unit_seconds / 2) / unit_seconds;
        let (whole, tenth) = (t / 10, t % 10);
        if whole >= 10 || tenth == 0 {
            plural(whole, unit)
        } else {
            format!("{whole}.{tenth} {unit}s")
        }
    };
    match s {
        0..=59 => plural(s, "second"),
        60..=3_599 => plural(s / 60, "minute"),
        3_600..=86_399 => tenths(3_600, "hour"),
        _ => tenths(86_400, "day"),
    }
}

#[cfg(test)]
mod tests {
    use super::{age, span, until};

    #[test]
    fn a_span_reads_in_the_largest_unit_with_a_decimal_below_ten() {
        assert_eq!(span(1), "1 second");
        assert_eq!(span(45), "45 seconds");
        assert_eq!(span(60 * 12 + 30), "12 minutes");
        assert_eq!(span(3_600), "1 hour");
        assert_eq!(span(5_400), "1.5 hours");
        assert_eq!(span(3_600 * 14), "14 hours");
        assert_eq!(span(86_400 * 3), "3 days");
        assert_eq!(span(86_400 * 2 + 43_200), "2.5 days");
        assert_eq!(span(86_400 * 40), "40 days");
        assert_eq!(span(-5), "0 seconds");
    }

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
