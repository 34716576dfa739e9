//! The one clock: "now", local days and midnights, local date/time text and ages.
//! Every layer asks here (the store, relay, engine, app, CLI and views), so a test or a
//! time-zone question has one place to look.

use chrono::{DateTime, FixedOffset, Local, NaiveDate, TimeZone};

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Milliseconds since the Unix epoch, now (never negative).
pub fn now_ms() -> u64 {
    chrono::Utc::now().timestamp_millis().max(0) as u64
}

/// A clock that reads [`now_ms`] unless set: the store stamps edits with it (the time
/// sync versions a field by), and a test sets it to play devices whose edits happen at
/// chosen times. Clones share the setting.
#[derive(Debug, Clone, Default)]
pub struct EditClock(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl EditClock {
    /// Now in milliseconds: the time set, else the wall clock.
    pub fn now_ms(&self) -> u64 {
        match self.0.load(std::sync::atomic::Ordering::Relaxed) {
            0 => now_ms(),
            set => set,
        }
    }

    /// Sets the time (`None`: back to the wall clock).
    pub fn set_ms(&self, ms: Option<u64>) {
        self.0.store(ms.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
    }
}

/// Now in UTC (file names, bundle stamps).
pub fn utc_now() -> DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// The local date and time now, with its UTC offset.
pub fn local_now() -> DateTime<FixedOffset> {
    Local::now().fixed_offset()
}

/// `unix` as a local date and time (None when out of range).
pub fn local_at(unix: i64) -> Option<DateTime<FixedOffset>> {
    DateTime::from_timestamp(unix, 0).map(|t| t.with_timezone(&Local).fixed_offset())
}

/// `unix` formatted in local time with a `chrono` format (`""` when out of range).
pub fn local_text(unix: i64, format: &str) -> String {
    local_at(unix).map(|t| t.format(format).to_string()).unwrap_or_default()
}

/// The local date `YYYY-MM-DD` of `unix`.
pub fn local_day(unix: i64) -> String {
    local_text(unix, "%Y-%m-%d")
}

/// Today's local date.
pub fn local_today() -> NaiveDate {
    Local::now().date_naive()
}

/// Local midnight of `day`, unix seconds (the earliest, across a DST change).
pub fn midnight_of(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .and_then(|t| Local.from_local_datetime(&t).earliest())
        .map_or_else(|| utc_midnight_of(now_unix()), |t| t.timestamp())
}

/// A typed `YYYY-MM-DD` (surrounding spaces allowed) as a date.
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// 23:59:59 local on `day`, unix seconds.
pub fn day_end_of(day: NaiveDate) -> Option<i64> {
    Local.from_local_datetime(&day.and_hms_opt(23, 59, 59)?).earliest().map(|t| t.timestamp())
}

/// Local midnight `days_ago` days before today, unix seconds.
pub fn local_midnight(days_ago: i64) -> i64 {
    midnight_of(local_today() - chrono::Days::new(days_ago.max(0).unsigned_abs()))
}

/// Local midnight and 23:59:59 today, unix seconds.
pub fn local_day_window() -> (i64, i64) {
    let start = local_midnight(0);
    (start, start + 86_399)
}

fn utc_midnight_of(unix: i64) -> i64 {
    unix - unix.rem_euclid(86_400)
}

/// How long ago something happened, in the unit a person reads it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Age {
    /// Under a minute (or in the future: clock skew).
    JustNow,
    /// Whole minutes (1–59).
    Minutes(i64),
    /// Whole hours (1–23).
    Hours(i64),
    /// Whole days.
    Days(i64),
}

/// The age of `then_unix` at `now_unix`.
pub fn age(then_unix: i64, now_unix: i64) -> Age {
    let secs = (now_unix - then_unix).max(0);
    match secs {
        0..60 => Age::JustNow,
        60..3600 => Age::Minutes(secs / 60),
        3600..86400 => Age::Hours(secs / 3600),
        _ => Age::Days(secs / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_days() {
        assert_eq!(age(100, 110), Age::JustNow);
        assert_eq!(age(0, 180), Age::Minutes(3));
        assert_eq!(age(0, 7200), Age::Hours(2));
        assert_eq!(age(0, 86400 * 5), Age::Days(5));
        assert_eq!(age(10, 0), Age::JustNow, "clock skew is not negative");
        let (start, end) = local_day_window();
        assert_eq!(end - start, 86_399);
        assert!(start <= now_unix() && now_unix() <= end + 3600, "today's window holds now (DST aside)");
        assert_eq!(local_day(start), local_today().format("%Y-%m-%d").to_string());
        assert_eq!(local_midnight(1), midnight_of(local_today() - chrono::Days::new(1)));
        assert_eq!(local_text(i64::MAX, "%Y"), "", "out of range is empty, not a panic");
    }
}
