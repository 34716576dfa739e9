//! The JSON object the CLI prints per account (`refresh --json`, `accounts list --json`).
//! A figure the site cannot provide is `null`, never 0.

use serde::Serialize;

use crate::domain::Account;
use crate::domain::alerts::Alert;
use crate::domain::money::{Amount, amount_text};
use crate::domain::snapshot::AccountState;

/// Today's figures from synced usage-log rows for the accounts whose log sync reached
/// past local midnight (they replace the snapshot's estimate; others keep it).
pub fn overlay_local_today(
    store: &crate::store::Store,
    states: &mut std::collections::HashMap<crate::domain::AccountId, AccountState>,
) -> Result<(), crate::store::StoreError> {
    let (day_start, _) = crate::domain::time::local_day_window();
    crate::domain::usage_log::overlay_today_all(states, &store.today_from_logs(day_start)?);
    Ok(())
}

/// A triggered alert: `{"kind": "low_balance" | "failing" | "key_expiring", "message": …, …details}`.
#[derive(Debug, Serialize, PartialEq)]
pub struct AlertJson {
    /// The alert with its kind and details.
    #[serde(flatten)]
    pub alert: Alert,
    /// One English line.
    pub message: String,
}

/// An amount in quota and in the site's currency.
#[derive(Debug, Serialize, PartialEq)]
pub struct AmountJson {
    /// Quota points; `null` for money-native kinds, which have no quota.
    pub quota: Option<i64>,
    /// Amount in `currency`.
    pub amount: Option<f64>,
    /// `USD`, `CNY`, `TOKENS`, the site's custom symbol, or the money-native site's own
    /// currency code.
    pub currency: String,
}

/// Today's usage.
#[derive(Debug, Serialize, PartialEq)]
pub struct TodayJson {
    /// Quota spent today (`null` for money-native kinds).
    pub spend_quota: Option<i64>,
    /// The same in the balance's currency.
    pub spend_amount: Option<f64>,
    /// Prompt tokens.
    pub prompt_tokens: Option<i64>,
    /// Completion tokens.
    pub completion_tokens: Option<i64>,
    /// Requests.
    pub requests: Option<i64>,
}

/// Check-in state.
#[derive(Debug, Serialize, PartialEq)]
pub struct CheckinJson {
    /// The site offers check-in.
    pub supported: bool,
    /// Done today (null when unknown).
    pub checked_in_today: Option<bool>,
}

/// An error line.
#[derive(Debug, Serialize, PartialEq)]
pub struct ErrorJson {
    /// auth, challenge, not_supported, rate_limited, unavailable, malformed, server.
    pub kind: String,
    /// The message.
    pub message: String,
}

/// One account.
#[derive(Debug, Serialize, PartialEq)]
pub struct AccountReport {
    /// Store id.
    pub account_id: i64,
    /// Site name.
    pub site_name: String,
    /// Site base URL.
    pub site_url: String,
    /// Site kind.
    pub kind: String,
    /// Username on the site.
    pub username: String,
    /// The account's own name (`""`: none).
    pub name: String,
    /// The user's notes.
    pub notes: String,
    /// `ok`, `error`, or null when never refreshed.
    pub status: Option<&'static str>,
    /// The last refresh's error.
    pub error: Option<ErrorJson>,
    /// Balance.
    pub balance: Option<AmountJson>,
    /// Used quota.
    pub used: Option<AmountJson>,
    /// Today's usage.
    pub today: Option<TodayJson>,
    /// Number of API keys.
    pub keys: Option<usize>,
    /// Number of models.
    pub models: Option<usize>,
    /// Check-in state.
    pub checkin: Option<CheckinJson>,
    /// When the shown data was fetched (unix seconds).
    pub fetched_at: Option<i64>,
    /// Skipped by refresh-all.
    pub disabled: bool,
    /// Alerts this account triggers now (empty when none).
    pub alerts: Vec<AlertJson>,
}

impl AccountReport {
    /// Builds the report of an account from its stored state.
    pub fn new(a: &Account, state: Option<&AccountState>) -> AccountReport {
        let snap = state.and_then(|s| s.snapshot.as_ref());
        let cs = snap.map(|s| &s.currency);
        // Quota with its value in the site's currency, or money with `quota: null`.
        let amount = |a: &Amount| {
            cs.map(|cs| AmountJson { quota: a.quota(), amount: Some(a.value(cs)), currency: a.currency(cs) })
        };
        let user = snap.and_then(|s| s.user.value.as_ref());
        AccountReport {
            account_id: a.id,
            site_name: snap.and_then(|s| s.system_name.clone()).unwrap_or_else(|| a.site.name.clone()),
            site_url: a.site.url.clone(),
            kind: a.site.kind.as_str().to_string(),
            username: if a.username.is_empty() {
                user.map(|u| u.username.clone()).unwrap_or_default()
            } else {
                a.username.clone()
            },
            name: a.name.clone(),
            notes: a.notes.clone(),
            status: state
                .filter(|s| s.last_attempt_at.is_some())
                .map(|s| if s.last_error.is_some() { "error" } else { "ok" }),
            error: state
                .and_then(|s| s.last_error.as_ref())
                .map(|e| ErrorJson { kind: e.kind.clone(), message: e.message.clone() }),
            balance: user.and_then(|u| amount(&u.balance)),
            used: user.and_then(|u| amount(&u.used)),
            today: snap.and_then(|s| s.today.value.as_ref()).map(|t| TodayJson {
                spend_quota: t.spend.quota(),
                spend_amount: cs.map(|cs| t.spend.value(cs)),
                prompt_tokens: t.prompt_tokens,
                completion_tokens: t.completion_tokens,
                requests: t.requests,
            }),
            keys: snap.and_then(|s| s.keys.value.as_ref()).map(Vec::len),
            models: snap.and_then(|s| s.models.value.as_ref()).map(Vec::len),
            checkin: snap
                .and_then(|s| s.checkin.value.as_ref())
                .map(|c| CheckinJson { supported: c.supported, checked_in_today: c.checked_in_today }),
            fetched_at: snap.map(|s| s.fetched_at),
            disabled: a.disabled,
            alerts: Vec::new(),
        }
    }

    /// The report with these alerts.
    pub fn with_alerts(mut self, alerts: Vec<Alert>) -> AccountReport {
        self.alerts = alerts.into_iter().map(|alert| AlertJson { message: alert.message(), alert }).collect();
        self
    }

    /// One line for humans.
    pub fn line(&self) -> String {
        let balance = self
            .balance
            .as_ref()
            .and_then(|b| b.amount.map(|a| format!("{} {}", amount_text(a), b.currency)))
            .unwrap_or_else(|| "-".into());
        let today = self.today.as_ref().and_then(|t| t.spend_amount).map(amount_text).unwrap_or_else(|| "-".into());
        let status = match (&self.status, &self.error) {
            (_, Some(e)) => format!("{}: {}", e.kind, e.message),
            (Some(s), None) => s.to_string(),
            (None, None) => "never refreshed".into(),
        };
        let mut line = format!(
            "{:>4}  {:<10}  {:<24}  {:<16}  {:>16}  {:>10}  {status}",
            self.account_id,
            self.kind,
            self.site_name,
            if self.name.is_empty() { &self.username } else { &self.name },
            balance,
            today
        );
        for a in &self.alerts {
            line.push_str(&format!("\n      alert: {}", a.message));
        }
        line
    }
}
