//! Auto refresh: each enabled account is due `interval` after its last attempt, plus a
//! fixed per-account jitter (so 300 accounts do not fire in the same second), and the
//! whole schedule pauses while the machine looks offline.

use std::collections::HashMap;

use crate::domain::snapshot::AccountState;
use crate::domain::{Account, AccountId};

/// Shortest interval allowed.
pub const MIN_INTERVAL_MINS: u32 = crate::domain::settings::MIN_REFRESH_MINUTES;
/// Default interval.
pub const DEFAULT_INTERVAL_MINS: u32 = crate::domain::settings::DEFAULT_REFRESH_MINUTES;
/// How long to wait before trying again when offline.
pub const OFFLINE_RETRY_SECS: i64 = 5 * 60;

/// The global schedule: the `refresh` section of the settings.
pub type Schedule = crate::domain::settings::RefreshSettings;

/// Fixed jitter of an account: up to a tenth of the interval.
pub fn jitter_secs(id: AccountId, interval_secs: i64) -> i64 {
    let spread = (interval_secs / 10).max(1);
    // SplitMix64 of the id: stable, well spread.
    let mut z = (id as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z % spread as u64) as i64
}

/// The interval in force for an account: its own override, else the global one (both
/// at least [`MIN_INTERVAL_MINS`]).
pub fn interval_mins(account: &Account, schedule: &Schedule) -> u32 {
    account.refresh_interval_mins.unwrap_or(schedule.interval_mins).max(MIN_INTERVAL_MINS)
}

/// When an account is next due (never refreshed: now).
pub fn due_at(account: &Account, state: Option<&AccountState>, schedule: &Schedule, now: i64) -> i64 {
    let interval_secs = i64::from(interval_mins(account, schedule)) * 60;
    match state.and_then(|s| s.last_attempt_at) {
        None => now,
        Some(last) => last + interval_secs + jitter_secs(account.id, interval_secs),
    }
}

/// The accounts due now and when the next one is due after them.
pub fn due_accounts(
    accounts: &[Account],
    states: &HashMap<AccountId, AccountState>,
    schedule: &Schedule,
    now: i64,
) -> (Vec<AccountId>, Option<i64>) {
    if !schedule.enabled {
        return (Vec::new(), None);
    }
    let mut due = Vec::new();
    let mut next: Option<i64> = None;
    for a in accounts.iter().filter(|a| !a.disabled) {
        let at = due_at(a, states.get(&a.id), schedule, now);
        if at <= now {
            due.push(a.id);
        } else {
            next = Some(next.map_or(at, |n| n.min(at)));
        }
    }
    (due, next)
}

/// Whether a finished run suggests the machine is offline: every attempted account
/// failed as unavailable (connection, DNS, timeout).
pub fn looks_offline<'a>(outcomes: impl IntoIterator<Item = &'a AccountState>) -> bool {
    let mut any = false;
    for s in outcomes {
        any = true;
        if s.last_error.as_ref().is_none_or(|e| e.kind != "unavailable") {
            return false;
        }
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::snapshot::ErrorInfo;
    use crate::domain::{AuthMethod, Site, SiteKind};

    fn acc(id: i64, disabled: bool) -> Account {
        Account {
            id,
            site: Site { id, name: "s".into(), url: "https://s".into(), kind: SiteKind::NewApi },
            user_id: id.to_string(),
            username: String::new(),
            auth: AuthMethod::AccessToken,
            group_name: String::new(),
            paid_per_usd: None,
            disabled,
            notes: String::new(),
            low_balance_threshold: None,
            refresh_interval_mins: None,
            name: String::new(),
        }
    }

    fn attempted(at: i64, error: Option<&str>) -> AccountState {
        AccountState {
            last_attempt_at: Some(at),
            last_error: error.map(|k| ErrorInfo { kind: k.into(), message: String::new() }),
            ..Default::default()
        }
    }

    #[test]
    fn settings_default_and_floor() {
        assert_eq!(Schedule::default(), Schedule { enabled: true, interval_mins: 30 });
        let mut s = crate::domain::settings::Settings::default();
        assert!(s.set("refresh.interval_minutes", "1").is_err(), "below the floor");
        s.set("refresh.auto", "off").unwrap();
        assert!(!s.refresh.enabled);
    }

    #[test]
    fn due_accounts_respect_interval_jitter_and_disabled() {
        let s = Schedule { enabled: true, interval_mins: 30 };
        let accounts = vec![acc(1, false), acc(2, false), acc(3, true), acc(4, false)];
        let mut states = HashMap::new();
        states.insert(1, attempted(0, None)); // long ago: due
        states.insert(2, attempted(10_000, None)); // just now: not due
        let (due, next) = due_accounts(&accounts, &states, &s, 10_060);
        assert_eq!(due, vec![1, 4], "never-refreshed 4 is due; disabled 3 is skipped");
        let j = jitter_secs(2, 1800);
        assert!((0..180).contains(&j));
        assert_eq!(next, Some(10_000 + 1800 + j));
        assert!(due_accounts(&accounts, &states, &Schedule { enabled: false, ..s }, 10_060).0.is_empty());
    }

    #[test]
    fn per_account_interval_overrides_the_global_one() {
        let s = Schedule { enabled: true, interval_mins: 30 };
        let mut a = acc(7, false);
        let st = attempted(1_000, None);
        assert_eq!(due_at(&a, Some(&st), &s, 1_000), 1_000 + 1800 + jitter_secs(7, 1800));
        a.refresh_interval_mins = Some(120);
        assert_eq!(due_at(&a, Some(&st), &s, 1_000), 1_000 + 7200 + jitter_secs(7, 7200));
        // Below the floor: 5 minutes.
        a.refresh_interval_mins = Some(1);
        assert_eq!(interval_mins(&a, &s), 5);
        assert_eq!(due_at(&a, Some(&st), &s, 1_000), 1_000 + 300 + jitter_secs(7, 300));
        // A short override makes the account due while others wait for the global interval.
        let mut states = HashMap::new();
        states.insert(7, st.clone());
        states.insert(8, st);
        a.refresh_interval_mins = Some(10);
        let (due, next) = due_accounts(&[a, acc(8, false)], &states, &s, 1_000 + 700);
        assert_eq!(due, vec![7]);
        assert_eq!(next, Some(1_000 + 1800 + jitter_secs(8, 1800)));
    }

    #[test]
    fn jitter_spreads_accounts() {
        let distinct: std::collections::HashSet<i64> = (1..=100).map(|id| jitter_secs(id, 1800)).collect();
        assert!(distinct.len() > 50, "jitter spreads: {}", distinct.len());
    }

    #[test]
    fn offline_only_when_everything_was_unreachable() {
        let a = attempted(1, Some("unavailable"));
        let b = attempted(1, Some("auth"));
        assert!(looks_offline([&a, &a]));
        assert!(!looks_offline([&a, &b]));
        assert!(!looks_offline(std::iter::empty()));
    }
}
