//! Freezes from iCalendar feeds: each `VEVENT` is a freeze named by its `SUMMARY`;
//! recurring events (`RRULE`, `EXDATE`) are expanded with the `rrule` crate, in the
//! event's own zone (`TZID`), so a weekly 18:00 event stays at 18:00 local across a
//! daylight-saving change. Parsing is the `icalendar` crate's; nothing is hand-written.
//!
//! Times: `…Z` is UTC, `TZID=Area/City` is that IANA zone, a floating time or an all-day
//! `DATE` is read in UTC. An event without an end lasts a day when it is all-day, and
//! is skipped otherwise (it closes nothing).

use chrono::{NaiveDate, NaiveDateTime, TimeZone as _};
use icalendar::{CalendarDateTime, Component as _, DatePerhapsTime};
use time::OffsetDateTime;

/// One freeze read from a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedFreeze {
    pub from: OffsetDateTime,
    pub until: OffsetDateTime,
    pub reason: String,
}

/// At most this many occurrences per recurring event are expanded.
const MAX_OCCURRENCES: u16 = 500;

/// The freezes of `text` that overlap `[from, until)`, by start.
pub fn freezes_between(
    text: &str,
    from: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<Vec<FeedFreeze>, String> {
    let calendar: icalendar::Calendar = text
        .parse()
        .map_err(|e| format!("not an iCalendar document: {e}"))?;
    let mut out = Vec::new();
    for event in calendar.events() {
        let reason = event
            .get_summary()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("(calendar event without a summary)")
            .chars()
            .take(500)
            .collect::<String>();
        let Some(start) = event.get_start() else {
            continue;
        };
        let (start_local, zone) = local(&start)?;
        let end = match event.get_end() {
            Some(end) => local(&end)?.0,
            None if matches!(start, DatePerhapsTime::Date(_)) => {
                start_local + chrono::Duration::days(1)
            }
            None => continue,
        };
        let length = end - start_local;
        if length <= chrono::Duration::zero() {
            continue;
        }
        let starts: Vec<i64> = match event.property_value("RRULE") {
            None => instant(zone, start_local).into_iter().collect(),
            Some(rule) => expand(event, rule, start_local, zone, from, until, length)?,
        };
        for s in starts {
            let e = s + length.num_seconds();
            if e > from.unix_timestamp() && s < until.unix_timestamp() {
                out.push(FeedFreeze {
                    from: at(s)?,
                    until: at(e)?,
                    reason: reason.clone(),
                });
            }
        }
    }
    out.sort_by_key(|f| f.from);
    Ok(out)
}

/// The local date-time of a property and the zone it is in.
fn local(value: &DatePerhapsTime) -> Result<(NaiveDateTime, chrono_tz::Tz), String> {
    Ok(match value {
        DatePerhapsTime::Date(d) => (midnight(*d), chrono_tz::UTC),
        DatePerhapsTime::DateTime(CalendarDateTime::Utc(t)) => (t.naive_utc(), chrono_tz::UTC),
        DatePerhapsTime::DateTime(CalendarDateTime::Floating(t)) => (*t, chrono_tz::UTC),
        DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone { date_time, tzid }) => {
            let zone = tzid.parse().map_err(|_| {
                format!("TZID {tzid:?} is not an IANA time zone name (like Europe/Berlin)")
            })?;
            (*date_time, zone)
        }
    })
}

fn midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_time(chrono::NaiveTime::MIN)
}

/// The instant of a local time (the earlier one when a clock change repeats it).
fn instant(zone: chrono_tz::Tz, local: NaiveDateTime) -> Option<i64> {
    zone.from_local_datetime(&local)
        .earliest()
        .map(|t| t.timestamp())
}

fn at(seconds: i64) -> Result<OffsetDateTime, String> {
    OffsetDateTime::from_unix_timestamp(seconds).map_err(|e| format!("a date out of range: {e}"))
}

/// The starts (Unix seconds) of a recurring event's occurrences that may overlap
/// `[from, until)`.
fn expand(
    event: &icalendar::Event,
    rule: &str,
    start: NaiveDateTime,
    zone: chrono_tz::Tz,
    from: OffsetDateTime,
    until: OffsetDateTime,
    length: chrono::Duration,
) -> Result<Vec<i64>, String> {
    let stamp = |t: NaiveDateTime| t.format("%Y%m%dT%H%M%S").to_string();
    let mut text = format!(
        "DTSTART;TZID={}:{}\nRRULE:{rule}",
        zone.name(),
        stamp(start)
    );
    if let Some(exdates) = event.property_value("EXDATE") {
        text.push_str(&format!("\nEXDATE;TZID={}:{exdates}", zone.name()));
    }
    let set: rrule::RRuleSet = text
        .parse()
        .map_err(|e| format!("the recurrence {rule:?} is not valid: {e}"))?;
    let utc = |s: i64| rrule::Tz::UTC.timestamp_opt(s, 0).single();
    let (Some(after), Some(before)) = (
        utc(from.unix_timestamp() - length.num_seconds()),
        utc(until.unix_timestamp()),
    ) else {
        return Ok(Vec::new());
    };
    Ok(set
        .after(after)
        .before(before)
        .all(MAX_OCCURRENCES)
        .dates
        .iter()
        .map(|d| d.timestamp())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const FEED: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
BEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20261201T000000Z\r\nSUMMARY:Labs until 19:00\r\n\
DTSTART:20261203T150000Z\r\nDTEND:20261203T180000Z\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:2\r\nDTSTAMP:20261201T000000Z\r\nSUMMARY:Weekly release train\r\n\
DTSTART;TZID=Europe/Berlin:20261015T180000\r\nDTEND;TZID=Europe/Berlin:20261015T190000\r\n\
RRULE:FREQ=WEEKLY;COUNT=10\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:3\r\nDTSTAMP:20261201T000000Z\r\nSUMMARY:Christmas\r\n\
DTSTART;VALUE=DATE:20261224\r\nDTEND;VALUE=DATE:20261227\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";

    #[test]
    fn events_become_freezes_and_recurrences_stay_at_their_local_hour_across_dst() {
        let got = freezes_between(
            FEED,
            datetime!(2026-10-01 0:00 UTC),
            datetime!(2026-12-31 0:00 UTC),
        )
        .expect("a valid feed");
        let weekly: Vec<_> = got
            .iter()
            .filter(|f| f.reason == "Weekly release train")
            .map(|f| (f.from, f.until))
            .collect();
        assert_eq!(weekly.len(), 10);
        // 18:00 Berlin: 16:00 UTC in summer time (15 and 22 October), 17:00 UTC after
        // the change on 25 October.
        assert_eq!(
            weekly[0],
            (
                datetime!(2026-10-15 16:00 UTC),
                datetime!(2026-10-15 17:00 UTC)
            )
        );
        assert_eq!(weekly[1].0, datetime!(2026-10-22 16:00 UTC));
        assert_eq!(weekly[2].0, datetime!(2026-10-29 17:00 UTC));
        let labs = got
            .iter()
            .find(|f| f.reason == "Labs until 19:00")
            .expect("labs");
        assert_eq!(
            (labs.from, labs.until),
            (
                datetime!(2026-12-03 15:00 UTC),
                datetime!(2026-12-03 18:00 UTC)
            )
        );
        let christmas = got
            .iter()
            .find(|f| f.reason == "Christmas")
            .expect("christmas");
        assert_eq!(christmas.until - christmas.from, time::Duration::days(3));
    }

    #[test]
    fn only_what_overlaps_the_range_is_kept_and_bad_feeds_say_why() {
        let got = freezes_between(
            FEED,
            datetime!(2026-12-03 16:00 UTC),
            datetime!(2026-12-04 0:00 UTC),
        )
        .expect("a valid feed");
        let reasons: Vec<&str> = got.iter().map(|f| f.reason.as_str()).collect();
        assert_eq!(reasons, ["Labs until 19:00", "Weekly release train"]);
        let bad_zone = FEED.replace("Europe/Berlin", "Mars/Olympus");
        let err = freezes_between(
            &bad_zone,
            datetime!(2026-10-01 0:00 UTC),
            datetime!(2026-12-31 0:00 UTC),
        )
        .unwrap_err();
        assert!(err.contains("Mars/Olympus"), "{err}");
    }
}
