//! What one refresh of an account learns. Each part records its own availability,
//! so one missing endpoint does not fail the account.

use serde::{Deserialize, Serialize};

use super::money::{Amount, CurrencySettings};

/// How complete one part of a snapshot is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", content = "detail", rename_all = "snake_case")]
pub enum Availability {
    /// Fetched fully.
    Complete,
    /// Fetched, but not all of it (e.g. a page failed).
    Partial(String),
    /// The site kind or version does not offer it.
    Unsupported,
    /// Fetching it failed.
    Failed(String),
}

/// One part of a snapshot: its value (if any) and availability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part<T> {
    /// The value, when fetched (fully or partly).
    pub value: Option<T>,
    /// How complete it is.
    pub availability: Availability,
}

impl<T> Part<T> {
    /// A fully fetched value.
    pub fn complete(value: T) -> Self {
        Part { value: Some(value), availability: Availability::Complete }
    }
    /// Not offered by the site.
    pub fn unsupported() -> Self {
        Part { value: None, availability: Availability::Unsupported }
    }
    /// Failed with a message.
    pub fn failed(msg: impl Into<String>) -> Self {
        Part { value: None, availability: Availability::Failed(msg.into()) }
    }
}

impl<T> Default for Part<T> {
    fn default() -> Self {
        Part::unsupported()
    }
}

/// The user as the site reports it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UserInfo {
    /// Numeric id as a string.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// The user's group.
    pub group: String,
    /// Role (1 common, 10 admin, 100 root).
    pub role: i64,
    /// Balance: quota on quota sites, money on money-native kinds (stored as `quota` by
    /// older builds).
    #[serde(alias = "quota")]
    pub balance: Amount,
    /// Used so far, as the balance.
    #[serde(alias = "used_quota")]
    pub used: Amount,
    /// Requests made.
    pub request_count: i64,
}

/// An API key (a "token" on the sites).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ApiKey {
    /// Site id of the key.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The key with `sk-` prefix; masked keys keep the site's `*`s.
    pub key: String,
    /// Whether `key` is masked (`abcd**********wxyz`).
    pub masked: bool,
    /// 1 enabled, 2 disabled, 3 expired, 4 exhausted.
    pub status: i64,
    /// What is left of the key's limit (quota, or money on money-native kinds).
    #[serde(alias = "remain_quota")]
    pub remain: Amount,
    /// Used by the key.
    #[serde(alias = "used_quota")]
    pub used: Amount,
    /// No quota limit.
    pub unlimited_quota: bool,
    /// Unix seconds; -1 never.
    pub expired_time: i64,
    /// Group ("" = the user's group).
    pub group: String,
    /// Allowed models (comma list) when limited.
    pub models: String,
}

/// Today's usage in the local-midnight window.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TodayUsage {
    /// Spent today (quota, or money on money-native kinds).
    #[serde(alias = "spend_quota")]
    pub spend: Amount,
    /// Prompt tokens (None when only the stat endpoint answered).
    pub prompt_tokens: Option<i64>,
    /// Completion tokens.
    pub completion_tokens: Option<i64>,
    /// Requests.
    pub requests: Option<i64>,
}

/// A group the user can use, with its ratio (None when the site gives a string
/// such as new-api's "auto" group).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRatio {
    /// Group name.
    pub name: String,
    /// Price multiplier.
    pub ratio: Option<f64>,
    /// Description.
    pub desc: String,
}

/// Check-in state for today (in the site's day boundary).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CheckinState {
    /// Whether the site offers check-in (enabled).
    pub supported: bool,
    /// Whether today's check-in is done (None when unknown).
    pub checked_in_today: Option<bool>,
}

/// Everything one refresh learned about an account.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// Unix seconds.
    pub fetched_at: i64,
    /// The site's `system_name`, when given.
    pub system_name: Option<String>,
    /// The site's notice.
    pub notice: Option<String>,
    /// Currency settings in force.
    pub currency: CurrencySettings,
    /// The user.
    pub user: Part<UserInfo>,
    /// Today's usage.
    pub today: Part<TodayUsage>,
    /// All API keys.
    pub keys: Part<Vec<ApiKey>>,
    /// Model names.
    pub models: Part<Vec<String>>,
    /// Groups and ratios.
    pub groups: Part<Vec<GroupRatio>>,
    /// Check-in state.
    pub checkin: Part<CheckinState>,
    /// Model prices (per group) as the site publishes them.
    #[serde(default)]
    pub pricing: Part<super::pricing::SitePricing>,
}

/// A failed refresh, as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// `auth`, `challenge`, `not_supported`, `rate_limited`, `unavailable`, `malformed`, `server`.
    pub kind: String,
    /// One clear line for the user.
    pub message: String,
}

/// How the message of an account that must be signed in again starts: its credentials
/// were reset after a lost key, or cannot be decrypted. Such an account stays flagged
/// until credentials are entered again (refresh does not ask the site meanwhile).
pub const SIGN_IN_NEEDED: &str = "sign-in needed";

impl ErrorInfo {
    /// The account's credentials are gone or unreadable ([`SIGN_IN_NEEDED`]), as
    /// opposed to a site that refused working credentials.
    pub fn is_sign_in_needed(&self) -> bool {
        self.kind == "auth" && self.message.starts_with(SIGN_IN_NEEDED)
    }
}

/// What the app knows about an account's remote state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AccountState {
    /// The merged last good data.
    pub snapshot: Option<Box<Snapshot>>,
    /// The last refresh's error, if it failed.
    pub last_error: Option<ErrorInfo>,
    /// When the last refresh was attempted (unix seconds).
    pub last_attempt_at: Option<i64>,
    /// Failed refreshes in a row.
    pub consecutive_failures: u32,
}

impl Snapshot {
    /// The currency of a money-native balance (`None` on quota sites).
    pub fn money_currency(&self) -> Option<&str> {
        self.user.value.as_ref().and_then(|u| u.balance.cash()).map(|c| c.currency.as_str())
    }

    /// Gives back the spare capacity of the lists, which grow by doubling as they are
    /// parsed: what an account's state keeps for as long as the app runs.
    pub fn shrink_to_fit(&mut self) {
        if let Some(keys) = self.keys.value.as_mut() {
            keys.shrink_to_fit();
        }
        if let Some(models) = self.models.value.as_mut() {
            models.shrink_to_fit();
        }
        if let Some(groups) = self.groups.value.as_mut() {
            groups.shrink_to_fit();
        }
    }

    /// States written before money-native amounts existed hold quota invented from
    /// money (USD × 500 000, whatever the site's currency). For a money-native kind such
    /// a figure is turned back into the USD it came from; new states never hold one.
    pub fn upgrade_money_native(&mut self) {
        let back = |a: &mut Amount| {
            if let Amount::Quota(q) = *a {
                *a = Amount::money(q as f64 / super::money::DEFAULT_QUOTA_PER_UNIT, "USD");
            }
        };
        if let Some(u) = self.user.value.as_mut() {
            back(&mut u.balance);
            back(&mut u.used);
        }
        if let Some(t) = self.today.value.as_mut() {
            back(&mut t.spend);
        }
        for k in self.keys.value.iter_mut().flatten() {
            back(&mut k.remain);
            back(&mut k.used);
        }
    }
}

impl AccountState {
    /// Whether the last refresh succeeded.
    pub fn is_ok(&self) -> bool {
        self.last_error.is_none() && self.snapshot.is_some()
    }
}
