//! Deploy windows: when a stage is open, in the local time of the people who run it.
//!
//! A window is a set of weekdays and a local time range in an IANA time zone ("Mon-Thu,
//! 09:00–16:00, Europe/Berlin"). Its hours follow the zone's clock across daylight-saving
//! changes (09:00 is 09:00 local in winter and in summer), a range whose end is not after
//! its start runs past midnight into the next day, and a start that a clock change skips
//! (02:30 on the spring-forward night) begins at the first local time that exists.
//!
//! Pure: the caller passes the instant (the store's clock), so tests pin any moment.
//! The zone database is chrono-tz's bundled copy (nothing read from the machine).

use chrono::{Datelike as _, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _};
use chrono_tz::Tz;
use time::OffsetDateTime;

/// One deploy window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Weekdays a window starts on: bit 0 = Monday … bit 6 = Sunday.
    days: u8,
    from: NaiveTime,
    to: NaiveTime,
    zone: Tz,
}

/// Whether the stage is open at an instant, and until when, or when it opens next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opening {
    /// Inside a window that ends at `until` (windows that touch or overlap are one).
    Open { until: OffsetDateTime },
    /// Outside every window; `next` is when the next one starts (none within a week,
    /// e.g. no windows at all: `None`).
    Closed { next: Option<OffsetDateTime> },
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Window {
    /// Parses a window from its config values: `days` like `"Mon-Thu"`, `"Mon,Wed,Fri"`,
    /// `"Fri-Mon"` or `"daily"`; `from`/`to` as `"HH:MM"`; `zone` an IANA name. The error
    /// says which value is wrong and what is expected.
    pub fn parse(days: &str, from: &str, to: &str, zone: &str) -> Result<Self, String> {
        let time = |v: &str, key: &str| {
            NaiveTime::parse_from_str(v.trim(), "%H:%M").map_err(|_| {
                format!("{key} = {v:?} is not a time: use 24-hour HH:MM, like \"09:00\"")
            })
        };
        let (from, to) = (time(from, "from")?, time(to, "to")?);
        if from == to {
            return Err(format!(
                "from and to are both {from}: a window needs a length (to before from runs past midnight)"
            ));
        }
        let zone: Tz = zone.trim().parse().map_err(|_| {
            format!("time_zone = {zone:?} is not a time zone: use an IANA name like \"Europe/Berlin\" or \"UTC\"")
        })?;
        Ok(Self {
            days: parse_days(days)?,
            from,
            to,
            zone,
        })
    }

    /// The occurrence starting on local date `date`, as instants, if the window starts
    /// on that weekday.
    fn occurrence(&self, date: NaiveDate) -> Option<(i64, i64)> {
        if self.days & (1 << date.weekday().num_days_from_monday()) == 0 {
            return None;
        }
        let end_date = if self.to > self.from {
            date
        } else {
            date.succ_opt()?
        };
        let start = self.instant(date.and_time(self.from))?;
        let end = self.instant(end_date.and_time(self.to))?;
        Some((start, end))
    }

    /// The instant (Unix seconds) of a local time: the earlier one when a clock change
    /// repeats it, the first existing one after it when a clock change skips it.
    fn instant(&self, local: NaiveDateTime) -> Option<i64> {
        (0..=12).find_map(|step| {
            self.zone
                .from_local_datetime(&(local + Duration::minutes(15 * step)))
                .earliest()
                .map(|t| t.timestamp())
        })
    }

    /// Occurrences that could cover `at` or come within the next week, in start order.
    fn occurrences_around(&self, at: i64) -> Vec<(i64, i64)> {
        let Some(local) = self.zone.timestamp_opt(at, 0).single() else {
            return Vec::new();
        };
        let today = local.date_naive();
        (-1..=8)
            .filter_map(|d| today.checked_add_signed(Duration::days(d)))
            .filter_map(|date| self.occurrence(date))
            .collect()
    }
}

/// Whether `windows` are open at `at`. No windows at all means always open.
pub fn opening(windows: &[Window], at: OffsetDateTime) -> Opening {
    if windows.is_empty() {
        return Opening::Open {
            until: OffsetDateTime::from_unix_timestamp(253_402_300_799)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        };
    }
    let now = at.unix_timestamp();
    let mut spans: Vec<(i64, i64)> = windows
        .iter()
        .flat_map(|w| w.occurrences_around(now))
        .collect();
    spans.sort_unstable();
    let instant = |s: i64| OffsetDateTime::from_unix_timestamp(s).unwrap_or(at);
    match spans
        .iter()
        .position(|&(start, end)| start <= now && now < end)
    {
        Some(i) => {
            // Follow windows that touch or overlap this one.
            let mut until = spans[i].1;
            for &(start, end) in &spans[i + 1..] {
                if start <= until {
                    until = until.max(end);
                }
            }
            Opening::Open {
                until: instant(until),
            }
        }
        None => Opening::Closed {
            next: spans
                .iter()
                .map(|&(start, _)| start)
                .find(|&start| start > now)
                .map(instant),
        },
    }
}

impl Window {
    /// The zone its hours are in.
    pub fn zone(&self) -> Tz {
        self.zone
    }
}

/// An instant written for people in `zone`: "Mon 07 Dec 09:00 Europe/Berlin".
pub fn local_label(at: OffsetDateTime, zone: Tz) -> String {
    match zone.timestamp_opt(at.unix_timestamp(), 0).single() {
        Some(local) => format!("{} {}", local.format("%a %d %b %H:%M"), zone.name()),
        None => at.to_string(),
    }
}

/// A time range written for people in `zone`: "Thu 03 Dec 18:00 – 19:00 Europe/Berlin",
/// or with both dates when it spans days.
pub fn range_label(from: OffsetDateTime, until: OffsetDateTime, zone: Tz) -> String {
    let local = |t: OffsetDateTime| zone.timestamp_opt(t.unix_timestamp(), 0).single();
    match (local(from), local(until)) {
        (Some(a), Some(b)) if a.date_naive() == b.date_naive() => format!(
            "{} – {} {}",
            a.format("%a %d %b %H:%M"),
            b.format("%H:%M"),
            zone.name()
        ),
        (Some(a), Some(b)) => format!(
            "{} – {} {}",
            a.format("%a %d %b %H:%M"),
            b.format("%a %d %b %H:%M"),
            zone.name()
        ),
        _ => format!("{from} – {until}"),
    }
}

/// A local date (`YYYY-MM-DD`) and time (`HH:MM`) in `zone` as an instant (a time a
/// clock change skips: the first that exists after it).
pub fn local_instant(date: &str, time: &str, zone: Tz) -> Result<OffsetDateTime, String> {
    let d = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{date:?} is not a date: use YYYY-MM-DD"))?;
    let t = NaiveTime::parse_from_str(time.trim(), "%H:%M")
        .map_err(|_| format!("{time:?} is not a time: use 24-hour HH:MM, like \"18:00\""))?;
    let w = Window {
        days: 0x7f,
        from: t,
        to: t,
        zone,
    };
    w.instant(d.and_time(t))
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .ok_or_else(|| format!("{date} {time} does not exist in {}", zone.name()))
}

/// The stretches of open windows overlapping `[from, until)`, clipped to it and merged,
/// by start. No windows: all of it.
pub fn open_spans(
    windows: &[Window],
    from: OffsetDateTime,
    until: OffsetDateTime,
) -> Vec<(OffsetDateTime, OffsetDateTime)> {
    if windows.is_empty() {
        return vec![(from, until)];
    }
    let (a, b) = (from.unix_timestamp(), until.unix_timestamp());
    let mut spans: Vec<(i64, i64)> = Vec::new();
    for w in windows {
        let (Some(first), Some(last)) = (
            w.zone.timestamp_opt(a, 0).single(),
            w.zone.timestamp_opt(b, 0).single(),
        ) else {
            continue;
        };
        let mut date = first.date_naive().pred_opt();
        while let Some(d) = date.filter(|d| *d <= last.date_naive()) {
            if let Some((s, e)) = w.occurrence(d).filter(|(s, e)| *e > a && *s < b) {
                spans.push((s.max(a), e.min(b)));
            }
            date = d.succ_opt();
        }
    }
    spans.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::new();
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let instant = |s: i64| OffsetDateTime::from_unix_timestamp(s).unwrap_or(from);
    merged
        .into_iter()
        .map(|(s, e)| (instant(s), instant(e)))
        .collect()
}

/// An instant's local time of day in `zone` ("18:00").
pub fn local_time(at: OffsetDateTime, zone: Tz) -> String {
    zone.timestamp_opt(at.unix_timestamp(), 0)
        .single()
        .map(|t| t.format("%H:%M").to_string())
        .unwrap_or_default()
}

/// Midnight starting the local day of `at` in `zone`, and `days` later, as instants.
pub fn local_days(at: OffsetDateTime, zone: Tz, days: i64) -> Vec<(OffsetDateTime, String)> {
    let Some(local) = zone.timestamp_opt(at.unix_timestamp(), 0).single() else {
        return Vec::new();
    };
    let today = local.date_naive();
    // From the Monday of this week.
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    (0..=days)
        .filter_map(|i| monday.checked_add_signed(Duration::days(i)))
        .filter_map(|d| {
            let start = zone
                .from_local_datetime(&d.and_time(NaiveTime::MIN))
                .earliest()?;
            let t = OffsetDateTime::from_unix_timestamp(start.timestamp()).ok()?;
            Some((t, d.format("%a %d %b").to_string()))
        })
        .collect()
}

/// The local date of an instant in `zone` (YYYY-MM-DD).
pub fn local_date(at: OffsetDateTime, zone: Tz) -> String {
    zone.timestamp_opt(at.unix_timestamp(), 0)
        .single()
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Whether `[from, until)` lies inside one stretch of open windows (no windows: yes).
pub fn covers(windows: &[Window], from: OffsetDateTime, until: OffsetDateTime) -> bool {
    match opening(windows, from) {
        Opening::Open { until: open_until } => until <= open_until,
        Opening::Closed { .. } => false,
    }
}

/// `"Mon-Thu"`, `"Mon,Wed,Fri"`, `"Fri-Mon"` (wrapping), `"daily"` → a weekday mask.
fn parse_days(days: &str) -> Result<u8, String> {
    let wrong = || {
        format!(
            "days = {days:?} is not a list of weekdays: use names like \"Mon-Thu\", \"Mon,Wed,Fri\" or \"daily\""
        )
    };
    let day = |name: &str| {
        let name = name.trim().to_ascii_lowercase();
        DAY_NAMES
            .iter()
            .position(|d| is_day_name(&name) && name.starts_with(d))
            .ok_or_else(wrong)
    };
    if days.trim().eq_ignore_ascii_case("daily") {
        return Ok(0x7f);
    }
    let mut mask = 0u8;
    for part in days.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                let mut d = a;
                loop {
                    mask |= 1 << d;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => mask |= 1 << day(part)?,
        }
    }
    Ok(mask)
}

/// Whether `name` (lowercase) is a weekday's short or full English name.
fn is_day_name(name: &str) -> bool {
    const FULL: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    DAY_NAMES.contains(&name) || FULL.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn office() -> Window {
        Window::parse("Mon-Thu", "09:00", "16:00", "Europe/Berlin").unwrap()
    }

    fn open_until(w: &[Window], at: OffsetDateTime) -> Option<OffsetDateTime> {
        match opening(w, at) {
            Opening::Open { until } => Some(until),
            Opening::Closed { .. } => None,
        }
    }

    fn next_opening(w: &[Window], at: OffsetDateTime) -> Option<OffsetDateTime> {
        match opening(w, at) {
            Opening::Closed { next } => next,
            Opening::Open { .. } => panic!("open at {at}"),
        }
    }

    #[test]
    fn open_spans_are_clipped_merged_and_follow_dst() {
        let w = Window::parse("Mon-Fri", "09:00", "16:00", "Europe/Berlin").expect("a window");
        // The week of the autumn change (Sunday 25 October 2026).
        let spans = open_spans(
            std::slice::from_ref(&w),
            datetime!(2026-10-23 00:00 UTC),
            datetime!(2026-10-27 00:00 UTC),
        );
        assert_eq!(
            spans,
            vec![
                (
                    datetime!(2026-10-23 07:00 UTC),
                    datetime!(2026-10-23 14:00 UTC)
                ),
                (
                    datetime!(2026-10-26 08:00 UTC),
                    datetime!(2026-10-26 15:00 UTC)
                ),
            ]
        );
        let clipped = open_spans(
            &[w],
            datetime!(2026-10-23 10:00 UTC),
            datetime!(2026-10-23 12:00 UTC),
        );
        assert_eq!(
            clipped,
            vec![(
                datetime!(2026-10-23 10:00 UTC),
                datetime!(2026-10-23 12:00 UTC)
            )]
        );
        let days = local_days(
            datetime!(2026-10-28 12:00 UTC),
            "Europe/Berlin".parse().expect("a zone"),
            13,
        );
        assert_eq!(days.len(), 14);
        assert_eq!(days[0].1, "Mon 26 Oct");
        assert_eq!(days[0].0, datetime!(2026-10-25 23:00 UTC));
    }

    #[test]
    fn a_slot_is_written_in_local_time_and_checked_against_the_windows() {
        let berlin: Tz = "Europe/Berlin".parse().expect("a zone");
        let w = Window::parse("Mon-Thu", "09:00", "16:00", "Europe/Berlin").expect("a window");
        let (from, until) = (
            datetime!(2026-12-03 13:00 UTC),
            datetime!(2026-12-03 14:00 UTC),
        );
        assert_eq!(
            range_label(from, until, berlin),
            "Thu 03 Dec 14:00 – 15:00 Europe/Berlin"
        );
        assert!(covers(std::slice::from_ref(&w), from, until));
        // 17:00–18:00 Berlin is after the window closes.
        let late = (
            datetime!(2026-12-03 16:00 UTC),
            datetime!(2026-12-03 17:00 UTC),
        );
        assert!(!covers(std::slice::from_ref(&w), late.0, late.1));
        // 15:30–16:30 starts inside and runs past the close.
        let across = (
            datetime!(2026-12-03 14:30 UTC),
            datetime!(2026-12-03 15:30 UTC),
        );
        assert!(!covers(&[w], across.0, across.1));
        assert!(covers(&[], late.0, late.1), "no windows: always open");
    }

    #[test]
    fn an_instant_is_written_in_the_zone_s_local_time() {
        let berlin: Tz = "Europe/Berlin".parse().expect("a zone");
        // 08:00 UTC is 09:00 in Berlin in winter, 10:00 in summer.
        assert_eq!(
            local_label(datetime!(2026-12-07 08:00 UTC), berlin),
            "Mon 07 Dec 09:00 Europe/Berlin"
        );
        assert_eq!(
            local_label(datetime!(2026-07-06 08:00 UTC), berlin),
            "Mon 06 Jul 10:00 Europe/Berlin"
        );
    }

    #[test]
    fn office_hours_are_open_inside_and_say_when_they_open_next_outside() {
        let w = [office()];
        // Monday 2026-12-07, 10:00 in Berlin (CET, UTC+1) = 09:00 UTC.
        assert_eq!(
            open_until(&w, datetime!(2026-12-07 09:00 UTC)),
            Some(datetime!(2026-12-07 15:00 UTC))
        );
        // Friday: closed until Monday 09:00 local.
        assert_eq!(
            next_opening(&w, datetime!(2026-12-11 09:00 UTC)),
            Some(datetime!(2026-12-14 08:00 UTC))
        );
        // The end is not part of the window; the start is.
        assert_eq!(open_until(&w, datetime!(2026-12-07 15:00 UTC)), None);
        assert!(open_until(&w, datetime!(2026-12-07 08:00 UTC)).is_some());
    }

    #[test]
    fn hours_stay_local_across_daylight_saving_time() {
        let w = [office()];
        // Monday before the spring change (CET): 09:00 local = 08:00 UTC.
        assert!(open_until(&w, datetime!(2026-03-23 08:00 UTC)).is_some());
        // Monday after it (CEST, UTC+2): 09:00 local = 07:00 UTC, so 07:30 UTC is open
        // and 14:30 UTC (16:30 local) is not.
        assert!(open_until(&w, datetime!(2026-03-30 07:30 UTC)).is_some());
        assert_eq!(open_until(&w, datetime!(2026-03-30 14:30 UTC)), None);
        // After the autumn change (2026-10-25), 09:00 local is 08:00 UTC again.
        assert_eq!(
            next_opening(&w, datetime!(2026-10-26 07:30 UTC)),
            Some(datetime!(2026-10-26 08:00 UTC))
        );
    }

    #[test]
    fn a_start_the_clock_skips_begins_at_the_first_local_time_that_exists() {
        // 2026-03-29 in Berlin: 02:00 CET becomes 03:00 CEST; 02:30 does not exist.
        let w = [Window::parse("Sun", "02:30", "05:00", "Europe/Berlin").unwrap()];
        // It opens at 03:00 CEST = 01:00 UTC and ends at 05:00 CEST = 03:00 UTC.
        assert_eq!(
            next_opening(&w, datetime!(2026-03-29 00:30 UTC)),
            Some(datetime!(2026-03-29 01:00 UTC))
        );
        assert_eq!(
            open_until(&w, datetime!(2026-03-29 01:00 UTC)),
            Some(datetime!(2026-03-29 03:00 UTC))
        );
    }

    #[test]
    fn a_window_past_midnight_ends_the_next_day() {
        let w = [Window::parse("Fri", "22:00", "02:00", "UTC").unwrap()];
        // Saturday 01:00 belongs to Friday's window.
        assert_eq!(
            open_until(&w, datetime!(2026-12-12 01:00 UTC)),
            Some(datetime!(2026-12-12 02:00 UTC))
        );
        assert_eq!(open_until(&w, datetime!(2026-12-12 02:00 UTC)), None);
        // Thursday 23:00 is not in it (it starts on Fridays only).
        assert_eq!(
            next_opening(&w, datetime!(2026-12-10 23:00 UTC)),
            Some(datetime!(2026-12-11 22:00 UTC))
        );
    }

    #[test]
    fn windows_that_touch_are_one_opening() {
        let w = [
            Window::parse("daily", "09:00", "12:00", "UTC").unwrap(),
            Window::parse("daily", "12:00", "18:00", "UTC").unwrap(),
        ];
        assert_eq!(
            open_until(&w, datetime!(2026-12-07 10:00 UTC)),
            Some(datetime!(2026-12-07 18:00 UTC))
        );
    }

    #[test]
    fn no_windows_means_always_open() {
        assert!(open_until(&[], datetime!(2026-12-07 03:00 UTC)).is_some());
    }

    #[test]
    fn day_lists_and_their_mistakes() {
        assert_eq!(parse_days("Mon-Thu"), Ok(0b000_1111));
        assert_eq!(parse_days("mon,wed,FRI"), Ok(0b001_0101));
        assert_eq!(parse_days("Fri-Mon"), Ok(0b111_0001));
        assert_eq!(parse_days("Tuesday"), Ok(0b000_0010));
        assert_eq!(parse_days("daily"), Ok(0x7f));
        for bad in ["", "Mo", "Mon-", "Funday", "Mon;Tue", "éé", "Mö"] {
            let e = parse_days(bad).unwrap_err();
            assert!(e.contains("Mon-Thu"), "{bad:?}: {e}");
        }
        let e = Window::parse("Mon", "9am", "16:00", "UTC").unwrap_err();
        assert!(e.contains("HH:MM"), "{e}");
        let e = Window::parse("Mon", "09:00", "16:00", "Mars/Olympus").unwrap_err();
        assert!(e.contains("IANA"), "{e}");
        let e = Window::parse("Mon", "09:00", "09:00", "UTC").unwrap_err();
        assert!(e.contains("length"), "{e}");
    }
}
