//! Daily automatic check-in: inside a user-chosen local time window, check in every
//! eligible enabled account not done today (in the site's own day: Veloera UTC,
//! others local), then retry only the failed ones every [`RETRY_SECS`], at most
//! [`MAX_TRIES`] times a day. Accounts done today (by us, by the site's word, or
//! marked done by hand) and those needing a human are never run again that day.
//!
//! [`due_checkins`] is the pure decision; the app keeps the per-account attempts in
//! memory and drives it from `App::logic()`.

use std::collections::HashMap;

use chrono::{DateTime, Duration, FixedOffset, NaiveTime, TimeZone, Timelike};

use crate::domain::snapshot::{AccountState, Availability};
use crate::domain::{Account, AccountId, SiteKind};
use crate::relay::Profile;
use crate::relay::profile::CheckinSource;
use crate::store::{CheckinRecord, CheckinRecordOutcome};

/// Minutes between tries of a failed account.
pub const RETRY_SECS: i64 = 30 * 60;
/// Tries per account and day (the first run included).
pub const MAX_TRIES: u32 = 3;

/// The daily automatic check-in settings: the `checkin` section of the settings.
pub type AutoCheckin = crate::domain::settings::CheckinSettings;
pub use crate::domain::settings::{format_hhmm, parse_hhmm};

impl AutoCheckin {
    /// Whether `minute` (after local midnight) is inside the window.
    pub fn contains(&self, minute: u32) -> bool {
        match self.start_min.cmp(&self.end_min) {
            std::cmp::Ordering::Less => (self.start_min..self.end_min).contains(&minute),
            std::cmp::Ordering::Greater => minute >= self.start_min || minute < self.end_min,
            std::cmp::Ordering::Equal => true,
        }
    }

    /// The next window start strictly after `now` (unix seconds).
    pub fn next_start(&self, now: DateTime<FixedOffset>) -> Option<i64> {
        let t = NaiveTime::from_hms_opt(self.start_min / 60, self.start_min % 60, 0)?;
        let today = now.offset().from_local_datetime(&now.date_naive().and_time(t)).single()?;
        let at = if today > now { today } else { today + Duration::days(1) };
        Some(at.timestamp())
    }
}

/// The day a check-in of `kind` belongs to at `now`: Veloera counts in UTC, the
/// others in `now`'s (local) zone.
pub fn site_day(kind: SiteKind, now: DateTime<FixedOffset>) -> String {
    if Profile::for_kind(kind).checkin_day_utc {
        now.with_timezone(&chrono::Utc).format("%Y-%m-%d").to_string()
    } else {
        now.format("%Y-%m-%d").to_string()
    }
}

/// The day an account's check-in belongs to: Veloera counts in UTC, the others in
/// local time (`now_unix` in seconds).
pub fn checkin_day(kind: SiteKind, now_unix: i64) -> String {
    let Some(t) = crate::domain::time::local_at(now_unix) else { return String::new() };
    site_day(kind, t)
}

/// Whether the account's kind has check-in and its site has it switched on (per the
/// last refresh). Never-refreshed accounts of a check-in kind are tried.
pub fn checkin_eligible(account: &Account, state: Option<&AccountState>) -> bool {
    let p = Profile::for_kind(account.site.kind);
    if p.checkin == CheckinSource::None || account.auth == crate::domain::AuthMethod::ApiKey {
        return false;
    }
    if p.checkin == CheckinSource::PerformOnly {
        return true;
    }
    match state.and_then(|s| s.snapshot.as_ref()) {
        None => true,
        Some(snap) => {
            snap.checkin.availability != Availability::Unsupported
                && snap.checkin.value.as_ref().is_none_or(|c| c.supported)
        }
    }
}

/// What the automatic runs did to an account on a day.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attempt {
    /// The site day of these tries.
    pub day: String,
    /// Automatic tries that day.
    pub tries: u32,
    /// The last try (unix seconds).
    pub last_at: i64,
}

/// What to do now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    /// Accounts to check in now.
    pub run: Vec<AccountId>,
    /// When something may next be due (unix seconds); `None` when auto check-in is off.
    pub next_at: Option<i64>,
}

/// Decides which accounts the automatic check-in runs now. `records` are the stored
/// last check-ins, `attempts` the automatic tries so far.
pub fn due_checkins(
    accounts: &[Account],
    states: &HashMap<AccountId, AccountState>,
    records: &HashMap<AccountId, CheckinRecord>,
    attempts: &HashMap<AccountId, Attempt>,
    window: &AutoCheckin,
    now: DateTime<FixedOffset>,
) -> Decision {
    if !window.enabled {
        return Decision::default();
    }
    let next_window = window.next_start(now);
    let minute = now.hour() * 60 + now.minute();
    if !window.contains(minute) {
        return Decision { run: Vec::new(), next_at: next_window };
    }
    let ts = now.timestamp();
    let mut run = Vec::new();
    let mut next_retry: Option<i64> = None;
    for a in accounts.iter().filter(|a| !a.disabled) {
        let st = states.get(&a.id);
        if !checkin_eligible(a, st) {
            continue;
        }
        let today = site_day(a.site.kind, now);
        let rec = records.get(&a.id).filter(|r| r.day == today);
        if rec.is_some_and(|r| r.outcome.is_done() || r.outcome == CheckinRecordOutcome::NeedsHuman) {
            continue;
        }
        // The site's own flag from a refresh of today says it is done.
        let site_done = st.and_then(|s| s.snapshot.as_ref()).is_some_and(|snap| {
            snap.checkin.value.as_ref().and_then(|c| c.checked_in_today) == Some(true)
                && DateTime::from_timestamp(snap.fetched_at, 0)
                    .is_some_and(|t| site_day(a.site.kind, t.with_timezone(now.offset())) == today)
        });
        if site_done {
            continue;
        }
        let tried = attempts.get(&a.id).filter(|t| t.day == today);
        if tried.is_some_and(|t| t.tries >= MAX_TRIES) {
            continue;
        }
        let failed_at = rec.filter(|r| r.outcome == CheckinRecordOutcome::Failed).map(|r| r.updated_at);
        let last = tried.map(|t| t.last_at).into_iter().chain(failed_at).max();
        match last {
            Some(last) if last + RETRY_SECS > ts => {
                let at = last + RETRY_SECS;
                next_retry = Some(next_retry.map_or(at, |n| n.min(at)));
            }
            _ => run.push(a.id),
        }
    }
    Decision { next_at: if run.is_empty() { next_retry.or(next_window) } else { Some(ts) }, run }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::snapshot::{CheckinState, Part, Snapshot};
    use crate::domain::{AuthMethod, Site};

    fn acc(id: i64, kind: SiteKind) -> Account {
        Account {
            id,
            site: Site { id, name: format!("s{id}"), url: format!("https://s{id}.example"), kind },
            user_id: id.to_string(),
            username: String::new(),
            auth: AuthMethod::AccessToken,
            group_name: String::new(),
            paid_per_usd: None,
            disabled: false,
            notes: String::new(),
            low_balance_threshold: None,
            refresh_interval_mins: None,
            name: String::new(),
        }
    }

    /// 2026-11-26 at `hh:mm` in UTC+8.
    fn at(hh: u32, mm: u32) -> DateTime<FixedOffset> {
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        tz.with_ymd_and_hms(2026, 11, 26, hh, mm, 0).unwrap()
    }

    fn rec(day: &str, outcome: CheckinRecordOutcome, updated_at: i64) -> CheckinRecord {
        CheckinRecord { day: day.into(), outcome, reward: None, message: String::new(), updated_at }
    }

    const WIN: AutoCheckin = AutoCheckin { enabled: true, start_min: 8 * 60, end_min: 10 * 60 };

    fn decide(
        accounts: &[Account],
        records: &HashMap<AccountId, CheckinRecord>,
        attempts: &HashMap<AccountId, Attempt>,
        now: DateTime<FixedOffset>,
    ) -> Decision {
        due_checkins(accounts, &HashMap::new(), records, attempts, &WIN, now)
    }

    #[test]
    fn settings_parse_with_defaults() {
        assert!(!AutoCheckin::default().enabled, "off by default");
        let mut s = crate::domain::settings::Settings::default();
        s.set("checkin.auto", "on").unwrap();
        s.set("checkin.window_start", "07:30").unwrap();
        assert!(s.set("checkin.window_end", "25:00").is_err());
        let w = s.checkin;
        assert_eq!((w.enabled, w.start_min, w.end_min), (true, 450, 600));
        assert_eq!(format_hhmm(450), "07:30");
        assert_eq!(parse_hhmm("9:05"), Some(545));
        assert_eq!(parse_hhmm("x"), None);
        let night = AutoCheckin { enabled: true, start_min: 22 * 60, end_min: 60 };
        assert!(night.contains(23 * 60) && night.contains(30) && !night.contains(12 * 60));
    }

    #[test]
    fn nothing_before_the_window_then_every_open_account_once_inside() {
        let accounts = vec![acc(1, SiteKind::NewApi), acc(2, SiteKind::Veloera), acc(3, SiteKind::OneHub)];
        let (none, no_tries) = (HashMap::new(), HashMap::new());
        let before = decide(&accounts, &none, &no_tries, at(7, 59));
        assert!(before.run.is_empty());
        assert_eq!(before.next_at, Some(at(8, 0).timestamp()), "next: the window's start");
        let inside = decide(&accounts, &none, &no_tries, at(8, 0));
        assert_eq!(inside.run, vec![1, 2], "one-hub has no check-in");
        let after = decide(&accounts, &none, &no_tries, at(10, 0));
        assert!(after.run.is_empty(), "the end is exclusive");
        assert_eq!(after.next_at, Some(at(8, 0).timestamp() + 86_400), "tomorrow's start");
        let off = due_checkins(&accounts, &HashMap::new(), &none, &no_tries, &AutoCheckin::default(), at(9, 0));
        assert_eq!(off, Decision::default(), "off by default");
    }

    #[test]
    fn done_manual_and_needs_human_are_never_run_again_today() {
        let accounts: Vec<_> = (1..=5).map(|i| acc(i, SiteKind::NewApi)).collect();
        let mut records = HashMap::new();
        records.insert(1, rec("2026-11-26", CheckinRecordOutcome::Done, 0));
        records.insert(2, rec("2026-11-26", CheckinRecordOutcome::Already, 0));
        records.insert(3, rec("2026-11-26", CheckinRecordOutcome::Manual, 0));
        records.insert(4, rec("2026-11-26", CheckinRecordOutcome::NeedsHuman, 0));
        records.insert(5, rec("2026-11-25", CheckinRecordOutcome::Done, 0)); // yesterday
        let d = decide(&accounts, &records, &HashMap::new(), at(9, 0));
        assert_eq!(d.run, vec![5]);
        let mut disabled = accounts.clone();
        disabled[4].disabled = true;
        assert!(decide(&disabled, &records, &HashMap::new(), at(9, 0)).run.is_empty(), "disabled skipped");
    }

    #[test]
    fn only_failed_ones_retry_after_the_interval_up_to_the_limit() {
        let accounts = vec![acc(1, SiteKind::NewApi), acc(2, SiteKind::NewApi)];
        let first = at(8, 0).timestamp();
        let mut records = HashMap::new();
        records.insert(1, rec("2026-11-26", CheckinRecordOutcome::Done, first));
        records.insert(2, rec("2026-11-26", CheckinRecordOutcome::Failed, first));
        let mut attempts = HashMap::new();
        for id in [1, 2] {
            attempts.insert(id, Attempt { day: "2026-11-26".into(), tries: 1, last_at: first });
        }
        let soon = decide(&accounts, &records, &attempts, at(8, 29));
        assert!(soon.run.is_empty(), "not before the retry interval");
        assert_eq!(soon.next_at, Some(first + RETRY_SECS));
        assert_eq!(decide(&accounts, &records, &attempts, at(8, 30)).run, vec![2], "only the failed one");
        attempts.insert(2, Attempt { day: "2026-11-26".into(), tries: MAX_TRIES, last_at: first });
        let spent = decide(&accounts, &records, &attempts, at(9, 30));
        assert!(spent.run.is_empty(), "at most {MAX_TRIES} tries");
        assert_eq!(spent.next_at, Some(at(8, 0).timestamp() + 86_400));
        // Yesterday's tries do not count today.
        attempts.insert(2, Attempt { day: "2026-11-25".into(), tries: MAX_TRIES, last_at: first - 86_400 });
        records.insert(2, rec("2026-11-25", CheckinRecordOutcome::Failed, first - 86_400));
        assert_eq!(decide(&accounts, &records, &attempts, at(8, 0)).run, vec![2]);
    }

    #[test]
    fn a_failure_recorded_by_hand_also_waits_for_the_interval() {
        let accounts = vec![acc(1, SiteKind::NewApi)];
        let mut records = HashMap::new();
        records.insert(1, rec("2026-11-26", CheckinRecordOutcome::Failed, at(7, 50).timestamp()));
        assert!(decide(&accounts, &records, &HashMap::new(), at(8, 5)).run.is_empty());
        assert_eq!(decide(&accounts, &records, &HashMap::new(), at(8, 20)).run, vec![1]);
    }

    #[test]
    fn veloera_days_are_utc() {
        // 07:30 in UTC+8 on the 26th is 23:30 UTC on the 25th: Veloera's record of the
        // 25th still holds. 08:30 local is 00:30 UTC on the 26th, a new Veloera day,
        // while the new-api account done on the local 26th stays done.
        let accounts = vec![acc(1, SiteKind::NewApi), acc(2, SiteKind::Veloera)];
        let mut records = HashMap::new();
        records.insert(1, rec("2026-11-26", CheckinRecordOutcome::Done, 0));
        records.insert(2, rec("2026-11-25", CheckinRecordOutcome::Done, 0));
        assert_eq!(site_day(SiteKind::Veloera, at(7, 30)), "2026-11-25");
        assert_eq!(site_day(SiteKind::NewApi, at(7, 30)), "2026-11-26");
        let early = AutoCheckin { enabled: true, start_min: 7 * 60, end_min: 10 * 60 };
        let d = due_checkins(&accounts, &HashMap::new(), &records, &HashMap::new(), &early, at(7, 30));
        assert!(d.run.is_empty(), "still the 25th for Veloera");
        let d = due_checkins(&accounts, &HashMap::new(), &records, &HashMap::new(), &early, at(8, 30));
        assert_eq!(d.run, vec![2], "a new UTC day for Veloera only");
    }

    #[test]
    fn the_sites_own_flag_from_todays_refresh_counts_as_done() {
        let accounts = vec![acc(1, SiteKind::NewApi)];
        let snap = Snapshot {
            fetched_at: at(7, 0).timestamp(),
            checkin: Part::complete(CheckinState { supported: true, checked_in_today: Some(true) }),
            ..Default::default()
        };
        let mut states = HashMap::new();
        states.insert(1, AccountState { snapshot: Some(Box::new(snap)), ..Default::default() });
        let d = due_checkins(&accounts, &states, &HashMap::new(), &HashMap::new(), &WIN, at(8, 0));
        assert!(d.run.is_empty());
    }
}
