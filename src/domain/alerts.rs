//! Alerts: low balance (per-account threshold over a global default, in the site's
//! currency), a site failing N refreshes in a row, and enabled keys expiring within N
//! days (or already expired). Pure: the app, the table and the CLI all call [`evaluate`].

use serde::{Deserialize, Serialize};

use super::Account;
use super::snapshot::AccountState;

/// Default "failing N refreshes in a row".
pub const DEFAULT_FAILURES: u32 = 3;
/// Default "key expires within N days".
pub const DEFAULT_KEY_DAYS: u32 = 7;
const DAY_SECS: i64 = 86_400;

/// The global alert settings (`alerts.*` keys of [`super::settings::Settings`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertSettings {
    /// Global default low-balance threshold in each site's currency (None = off).
    pub low_balance: Option<f64>,
    /// Global low-balance threshold in US dollars, for balances that convert without a
    /// guess (quota, or money in USD); checked when the site-currency one is not hit.
    pub low_balance_usd: Option<f64>,
    /// Failed refreshes in a row before alerting (0 = off).
    pub failures: u32,
    /// Alert on enabled keys expiring within this many days.
    pub key_days: u32,
    /// Show a desktop notification when an alert newly triggers.
    pub desktop: bool,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            low_balance: None,
            low_balance_usd: None,
            failures: DEFAULT_FAILURES,
            key_days: DEFAULT_KEY_DAYS,
            desktop: false,
        }
    }
}

/// Parses a threshold as typed (`1.5`, `1,5`); empty, negative or not a number = none.
pub fn parse_threshold(text: &str) -> Option<f64> {
    text.trim().replace(',', ".").parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0)
}

/// How serious an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertLevel {
    /// Look soon.
    Warning,
    /// Broken now.
    Error,
}

/// A triggered alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Alert {
    /// The balance is below the threshold (both in `currency`).
    LowBalance {
        /// The balance.
        balance: f64,
        /// The threshold in force.
        threshold: f64,
        /// The site's currency (`USD`, `CNY`, `TOKENS` or its custom symbol).
        currency: String,
    },
    /// The last `count` refreshes failed.
    Failing {
        /// Failed refreshes in a row.
        count: u32,
    },
    /// An enabled key expires within the configured days (or already expired).
    KeyExpiring {
        /// The key's name.
        key_name: String,
        /// Unix seconds.
        expires_at: i64,
        /// Whole days left (0 = less than a day; negative = expired).
        days: i64,
    },
}

impl Alert {
    /// `low_balance`, `failing` or `key_expiring`.
    pub fn kind(&self) -> &'static str {
        match self {
            Alert::LowBalance { .. } => "low_balance",
            Alert::Failing { .. } => "failing",
            Alert::KeyExpiring { .. } => "key_expiring",
        }
    }

    /// How serious it is.
    pub fn level(&self) -> AlertLevel {
        match self {
            Alert::LowBalance { .. } => AlertLevel::Warning,
            Alert::Failing { .. } => AlertLevel::Error,
            Alert::KeyExpiring { expires_at, days, .. } => {
                if *days < 0 || *expires_at <= 0 {
                    AlertLevel::Error
                } else {
                    AlertLevel::Warning
                }
            }
        }
    }

    /// What identifies "the same alert" across refreshes (a notification is shown once
    /// per id until the alert clears). Balance and failure counts are not part of it.
    pub fn id(&self) -> String {
        match self {
            Alert::LowBalance { .. } | Alert::Failing { .. } => self.kind().to_string(),
            Alert::KeyExpiring { key_name, expires_at, days } => {
                let expired = if *days < 0 { ":expired" } else { "" };
                format!("key_expiring:{key_name}:{expires_at}{expired}")
            }
        }
    }

    /// One English line (CLI JSON and logs; the UI translates on its own).
    pub fn message(&self) -> String {
        match self {
            Alert::LowBalance { balance, threshold, currency } => {
                let (b, t) = (super::money::amount_text(*balance), super::money::amount_text(*threshold));
                format!("balance {b} {currency} is below {t} {currency}")
            }
            Alert::Failing { count } => format!("the last {count} refreshes failed"),
            Alert::KeyExpiring { key_name, days, .. } if *days < 0 => format!("key \"{key_name}\" has expired"),
            Alert::KeyExpiring { key_name, days: 0, .. } => format!("key \"{key_name}\" expires within a day"),
            Alert::KeyExpiring { key_name, days, .. } => format!("key \"{key_name}\" expires in {days} days"),
        }
    }
}

/// Key status values that count as "enabled by the user": 1 enabled, 3 expired (the
/// site's own mark once the expiry passed). 2 disabled and 4 exhausted never alert.
fn key_counts(status: i64) -> bool {
    status == 1 || status == 3
}

/// The alerts an account triggers now. Disabled accounts raise nothing; an unknown
/// balance raises no low-balance alert; never-expiring keys never raise one.
pub fn evaluate(account: &Account, state: Option<&AccountState>, settings: &AlertSettings, now: i64) -> Vec<Alert> {
    let mut out = Vec::new();
    if account.disabled {
        return out;
    }
    let Some(state) = state else { return out };
    let snap = state.snapshot.as_ref();
    let threshold = account.low_balance_threshold.or(settings.low_balance).filter(|t| t.is_finite());
    if let (Some(threshold), Some(snap)) = (threshold, snap)
        && let Some(user) = &snap.user.value
    {
        // The threshold is in the currency the balance is shown in (the site's).
        let balance = user.balance.value(&snap.currency);
        if balance < threshold {
            out.push(Alert::LowBalance { balance, threshold, currency: user.balance.currency(&snap.currency) });
        }
    }
    if let (Some(threshold), Some(snap)) = (settings.low_balance_usd.filter(|t| t.is_finite()), snap)
        && !out.iter().any(|a| matches!(a, Alert::LowBalance { .. }))
        && let Some(usd) = snap.user.value.as_ref().and_then(|u| u.balance.usd(&snap.currency))
        && usd < threshold
    {
        out.push(Alert::LowBalance { balance: usd, threshold, currency: "USD".into() });
    }
    if settings.failures > 0 && state.consecutive_failures >= settings.failures {
        out.push(Alert::Failing { count: state.consecutive_failures });
    }
    if let Some(keys) = snap.and_then(|s| s.keys.value.as_ref()) {
        let window = i64::from(settings.key_days) * DAY_SECS;
        for k in keys.iter().filter(|k| key_counts(k.status) && k.expired_time > 0) {
            let left = k.expired_time - now;
            if left <= window {
                out.push(Alert::KeyExpiring {
                    key_name: k.name.clone(),
                    expires_at: k.expired_time,
                    days: if left < 0 { -1 } else { left / DAY_SECS },
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::{CurrencySettings, DisplayType};
    use crate::domain::snapshot::{ApiKey, Part, Snapshot, UserInfo};
    use crate::domain::{AuthMethod, Site, SiteKind};

    const NOW: i64 = 1_800_000_000;

    fn acc(threshold: Option<f64>) -> Account {
        Account {
            id: 1,
            site: Site { id: 1, name: "s".into(), url: "https://s".into(), kind: SiteKind::NewApi },
            user_id: "1".into(),
            username: "u".into(),
            auth: AuthMethod::AccessToken,
            group_name: String::new(),
            paid_per_usd: None,
            disabled: false,
            notes: String::new(),
            low_balance_threshold: threshold,
            refresh_interval_mins: None,
            name: String::new(),
        }
    }

    /// `quota` in quota units (500,000 = $1).
    fn state(quota: Option<i64>, keys: Vec<ApiKey>, failures: u32) -> AccountState {
        AccountState {
            snapshot: Some(Box::new(Snapshot {
                user: match quota {
                    Some(q) => Part::complete(UserInfo {
                        balance: crate::domain::money::Amount::Quota(q),
                        ..Default::default()
                    }),
                    None => Part::failed("no user"),
                },
                keys: Part::complete(keys),
                ..Default::default()
            })),
            consecutive_failures: failures,
            last_attempt_at: Some(NOW),
            ..Default::default()
        }
    }

    fn key(name: &str, status: i64, expired_time: i64) -> ApiKey {
        ApiKey { name: name.into(), status, expired_time, ..Default::default() }
    }

    fn kinds(alerts: &[Alert]) -> Vec<&'static str> {
        alerts.iter().map(Alert::kind).collect()
    }

    #[test]
    fn low_balance_is_strictly_below_and_per_account_overrides_global() {
        let global = AlertSettings { low_balance: Some(1.0), ..Default::default() };
        // $1.00 exactly at the threshold: no alert; a quota unit less: alert.
        assert!(evaluate(&acc(None), Some(&state(Some(500_000), vec![], 0)), &global, NOW).is_empty());
        let a = evaluate(&acc(None), Some(&state(Some(499_999), vec![], 0)), &global, NOW);
        assert!(
            matches!(&a[..], [Alert::LowBalance { threshold, currency, .. }] if *threshold == 1.0 && currency == "USD")
        );
        // The account's own threshold wins over the global one, both ways.
        assert!(evaluate(&acc(Some(0.5)), Some(&state(Some(400_000), vec![], 0)), &global, NOW).is_empty());
        let off = AlertSettings::default();
        assert_eq!(
            kinds(&evaluate(&acc(Some(5.0)), Some(&state(Some(2_000_000), vec![], 0)), &off, NOW)),
            ["low_balance"]
        );
        // Global default off and no account threshold: nothing.
        assert!(evaluate(&acc(None), Some(&state(Some(0), vec![], 0)), &off, NOW).is_empty());
    }

    #[test]
    fn low_balance_uses_the_sites_currency_and_needs_a_known_balance() {
        let s = AlertSettings { low_balance: Some(10.0), ..Default::default() };
        // Unknown balance (user part never fetched): no alert.
        assert!(evaluate(&acc(None), Some(&state(None, vec![], 0)), &s, NOW).is_empty());
        assert!(evaluate(&acc(None), None, &s, NOW).is_empty());
        // A CNY site: $2 = ¥14.6 at the default rate, above ¥10.
        let mut st = state(Some(1_000_000), vec![], 0);
        let snap = st.snapshot.as_mut().unwrap();
        snap.currency = CurrencySettings { display: DisplayType::Cny, ..Default::default() };
        assert!(evaluate(&acc(None), Some(&st), &s, NOW).is_empty());
        let a = evaluate(&acc(Some(20.0)), Some(&st), &s, NOW);
        assert!(
            matches!(&a[..], [Alert::LowBalance { currency, balance, .. }] if currency == "CNY" && *balance > 10.0)
        );
        assert!(a[0].message().contains("CNY"), "{}", a[0].message());
    }

    #[test]
    fn a_usd_threshold_converts_quota_and_usd_money_but_never_guesses_a_rate() {
        let usd = AlertSettings { low_balance_usd: Some(5.0), ..Default::default() };
        // A CNY quota site: ¥14.60 shown, $2 behind it: below $5.
        let mut st = state(Some(1_000_000), vec![], 0);
        st.snapshot.as_mut().unwrap().currency = CurrencySettings { display: DisplayType::Cny, ..Default::default() };
        let a = evaluate(&acc(None), Some(&st), &usd, NOW);
        assert!(
            matches!(&a[..], [Alert::LowBalance { balance, threshold, currency }]
                if (*balance - 2.0).abs() < 1e-9 && *threshold == 5.0 && currency == "USD"),
            "{a:?}"
        );
        // Money in CNY: no exchange rate known, no USD alert.
        let mut cny = state(None, vec![], 0);
        cny.snapshot.as_mut().unwrap().user =
            Part::complete(UserInfo { balance: crate::domain::money::Amount::money(1.0, "CNY"), ..Default::default() });
        assert!(evaluate(&acc(None), Some(&cny), &usd, NOW).is_empty());
        // Money in USD: compared as it is.
        let mut m = state(None, vec![], 0);
        m.snapshot.as_mut().unwrap().user =
            Part::complete(UserInfo { balance: crate::domain::money::Amount::money(4.0, "USD"), ..Default::default() });
        assert_eq!(kinds(&evaluate(&acc(None), Some(&m), &usd, NOW)), ["low_balance"]);
        // The site-currency threshold, when hit, is the one alert (not two).
        let both = AlertSettings { low_balance: Some(100.0), low_balance_usd: Some(5.0), ..Default::default() };
        let a = evaluate(&acc(None), Some(&st), &both, NOW);
        assert!(matches!(&a[..], [Alert::LowBalance { currency, .. }] if currency == "CNY"), "{a:?}");
    }

    #[test]
    fn failing_counts_refreshes_in_a_row() {
        let s = AlertSettings::default();
        assert!(evaluate(&acc(None), Some(&state(Some(1), vec![], 2)), &s, NOW).is_empty());
        assert_eq!(evaluate(&acc(None), Some(&state(Some(1), vec![], 3)), &s, NOW), [Alert::Failing { count: 3 }]);
        let off = AlertSettings { failures: 0, ..Default::default() };
        assert!(evaluate(&acc(None), Some(&state(Some(1), vec![], 9)), &off, NOW).is_empty());
        assert_eq!(Alert::Failing { count: 3 }.level(), AlertLevel::Error);
    }

    #[test]
    fn keys_expiring_within_days_expired_but_never_unlimited_or_disabled() {
        let s = AlertSettings::default(); // 7 days
        let keys = vec![
            key("never", 1, -1),
            key("later", 1, NOW + 8 * DAY_SECS),
            key("edge", 1, NOW + 7 * DAY_SECS),
            key("soon", 1, NOW + 3600),
            key("gone", 3, NOW - 10),
            key("off", 2, NOW + 3600),
            key("empty", 4, NOW + 3600),
        ];
        let a = evaluate(&acc(None), Some(&state(Some(1), keys, 0)), &s, NOW);
        let names: Vec<(&str, i64)> = a
            .iter()
            .filter_map(|a| match a {
                Alert::KeyExpiring { key_name, days, .. } => Some((key_name.as_str(), *days)),
                _ => None,
            })
            .collect();
        assert_eq!(names, [("edge", 7), ("soon", 0), ("gone", -1)]);
        assert_eq!(a[2].level(), AlertLevel::Error);
        assert_eq!(a[1].level(), AlertLevel::Warning);
        assert!(a[2].message().contains("expired"));
        assert_ne!(a[1].id(), a[2].id());
    }

    #[test]
    fn disabled_accounts_raise_nothing() {
        let s = AlertSettings { low_balance: Some(100.0), ..Default::default() };
        let mut a = acc(Some(100.0));
        a.disabled = true;
        let st = state(Some(0), vec![key("soon", 1, NOW + 10)], 10);
        assert!(evaluate(&a, Some(&st), &s, NOW).is_empty());
        a.disabled = false;
        assert_eq!(kinds(&evaluate(&a, Some(&st), &s, NOW)), ["low_balance", "failing", "key_expiring"]);
    }

    #[test]
    fn settings_round_trip_with_defaults() {
        let d = AlertSettings::default();
        assert!(!d.desktop && d.low_balance.is_none());
        let s = AlertSettings {
            low_balance: Some(2.5),
            low_balance_usd: Some(1.0),
            failures: 5,
            key_days: 3,
            desktop: true,
        };
        let back: AlertSettings = serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        assert_eq!(parse_threshold(" 1,5 "), Some(1.5));
        assert_eq!(parse_threshold("-1"), None);
        assert_eq!(parse_threshold(""), None);
    }

    #[test]
    fn alerts_serialise_with_their_kind() {
        let v = serde_json::to_value(Alert::Failing { count: 4 }).unwrap();
        assert_eq!(v, serde_json::json!({"kind": "failing", "count": 4}));
    }
}
