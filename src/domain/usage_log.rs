//! Usage log rows as the app keeps them (one shape for every site kind), the filter
//! the Logs panel and the CLI apply, and the pure statistics over rows.
//!
//! Log type numbers mean different things per kind (Veloera 5 = check-in, new-api 5 =
//! error, one-api 5 = test); [`LogKind::from_raw`] (through the kind's profile) maps them to one meaning.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::AccountId;

/// What a log row records, whatever number the site used for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    /// A type the app does not know (or 0).
    #[default]
    Unknown,
    /// Top-up / redeem.
    Topup,
    /// A billed request.
    Consume,
    /// Admin adjustment.
    Manage,
    /// System message (new-api check-in rewards land here).
    System,
    /// A failed request (new-api 5, Veloera 6).
    Error,
    /// Refund (new-api 6).
    Refund,
    /// Sign-in (new-api 7).
    Login,
    /// Check-in reward (Veloera 5).
    CheckIn,
    /// Channel test (one-api 5).
    Test,
}

impl LogKind {
    /// Every kind, in display order.
    pub const ALL: [LogKind; 10] = [
        LogKind::Consume,
        LogKind::Topup,
        LogKind::Refund,
        LogKind::Error,
        LogKind::System,
        LogKind::CheckIn,
        LogKind::Manage,
        LogKind::Login,
        LogKind::Test,
        LogKind::Unknown,
    ];

    /// Maps a raw type number (servers.md §7.9) given what 5, 6 and 7 mean on the site's
    /// kind (`Profile::log_types_5_6_7`; `Profile::log_kind` is the usual entry).
    pub fn from_raw(raw: i64, kind_5_6_7: &[LogKind; 3]) -> LogKind {
        match raw {
            1 => LogKind::Topup,
            2 => LogKind::Consume,
            3 => LogKind::Manage,
            4 => LogKind::System,
            5..=7 => kind_5_6_7[(raw - 5) as usize],
            _ => LogKind::Unknown,
        }
    }

    /// Stable identifier (store, CLI, JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Unknown => "unknown",
            LogKind::Topup => "topup",
            LogKind::Consume => "consume",
            LogKind::Manage => "manage",
            LogKind::System => "system",
            LogKind::Error => "error",
            LogKind::Refund => "refund",
            LogKind::Login => "login",
            LogKind::CheckIn => "check_in",
            LogKind::Test => "test",
        }
    }

    /// Inverse of [`LogKind::as_str`].
    pub fn parse(s: &str) -> Option<LogKind> {
        LogKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One usage log row, normalised across kinds.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UsageLog {
    /// The account the row belongs to.
    pub account_id: AccountId,
    /// Unix seconds.
    pub created_at: i64,
    /// Normalised type.
    pub kind: LogKind,
    /// The site's own type number.
    pub raw_type: i64,
    /// Model name (may be empty).
    pub model: String,
    /// API key name.
    pub token_name: String,
    /// Cost in quota points (site currency = quota / quota_per_unit …).
    pub quota: i64,
    /// Prompt tokens.
    pub prompt_tokens: i64,
    /// Completion tokens.
    pub completion_tokens: i64,
    /// Request duration in milliseconds (`use_time` s × 1000, `request_time`/`elapsed_time` ms).
    pub duration_ms: Option<i64>,
    /// Streamed response.
    pub is_stream: bool,
    /// Channel id (`channel` or `channel_id`), when the site tells users.
    pub channel_id: Option<i64>,
    /// Group (new-api, Veloera).
    pub group: String,
    /// Request id, when present.
    pub request_id: String,
    /// Free text from the site.
    pub content: String,
    /// Extra billing info as JSON text (`other` string or `metadata` object).
    pub other: String,
    /// Identity of the row by content (the site's `id` is not stable).
    pub content_hash: String,
}

/// Which rows to show or total.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LogFilter {
    /// Only these accounts (empty = all).
    pub accounts: Vec<AccountId>,
    /// From this time (unix s, inclusive).
    pub since: Option<i64>,
    /// Until this time (unix s, inclusive).
    pub until: Option<i64>,
    /// Only this type.
    pub kind: Option<LogKind>,
    /// Exact model name.
    pub model: Option<String>,
    /// Exact key name.
    pub token_name: Option<String>,
    /// Substring of model, key name, content or request id.
    pub text: Option<String>,
}

impl LogFilter {
    /// Whether a row passes (the same rules the store's SQL applies).
    pub fn matches(&self, r: &UsageLog) -> bool {
        (self.accounts.is_empty() || self.accounts.contains(&r.account_id))
            && self.since.is_none_or(|s| r.created_at >= s)
            && self.until.is_none_or(|u| r.created_at <= u)
            && self.kind.is_none_or(|k| r.kind == k)
            && self.model.as_ref().is_none_or(|m| &r.model == m)
            && self.token_name.as_ref().is_none_or(|t| &r.token_name == t)
            && self.text.as_ref().is_none_or(|t| {
                let t = t.to_lowercase();
                [&r.model, &r.token_name, &r.content, &r.request_id]
                    .iter()
                    .any(|f| super::search::contains_folded(f, &t))
            })
    }
}

/// Totals over billed rows: requests are consume rows; cost and tokens sum them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LogTotals {
    /// Consume rows.
    pub requests: i64,
    /// Sum of their quota.
    pub quota: i64,
    /// Sum of their prompt tokens.
    pub prompt_tokens: i64,
    /// Sum of their completion tokens.
    pub completion_tokens: i64,
}

impl LogTotals {
    /// Adds one row (only consume rows count).
    pub fn add(&mut self, r: &UsageLog) {
        if r.kind == LogKind::Consume {
            self.requests += 1;
            self.quota += r.quota;
            self.prompt_tokens += r.prompt_tokens;
            self.completion_tokens += r.completion_tokens;
        }
    }

    /// Prompt + completion tokens.
    pub fn tokens(&self) -> i64 {
        self.prompt_tokens + self.completion_tokens
    }
}

/// One line of a breakdown table (per model, per account, per day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakdown {
    /// Model name, account id or `YYYY-MM-DD`.
    pub key: String,
    /// Totals of that group.
    pub totals: LogTotals,
}

/// Statistics for a filter.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LogStats {
    /// Over every matching row.
    pub totals: LogTotals,
    /// Per model, most expensive first.
    pub by_model: Vec<Breakdown>,
    /// Per account id, most expensive first.
    pub by_account: Vec<Breakdown>,
    /// Per local day, oldest first.
    pub by_day: Vec<Breakdown>,
}

/// Sorts a breakdown most expensive first, then by key (stable for display).
pub fn sort_by_cost(v: &mut [Breakdown]) {
    v.sort_by(|a, b| b.totals.quota.cmp(&a.totals.quota).then_with(|| a.key.cmp(&b.key)));
}

/// Statistics of rows in memory (`day_of` maps unix seconds to the local day). The store
/// computes the same figures in SQL; this is the reference.
pub fn stats(rows: &[UsageLog], day_of: impl Fn(i64) -> String) -> LogStats {
    let mut totals = LogTotals::default();
    let mut by_model: BTreeMap<String, LogTotals> = BTreeMap::new();
    let mut by_account: BTreeMap<String, LogTotals> = BTreeMap::new();
    let mut by_day: BTreeMap<String, LogTotals> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.kind == LogKind::Consume) {
        totals.add(r);
        by_model.entry(r.model.clone()).or_default().add(r);
        by_account.entry(r.account_id.to_string()).or_default().add(r);
        by_day.entry(day_of(r.created_at)).or_default().add(r);
    }
    let collect = |m: BTreeMap<String, LogTotals>| -> Vec<Breakdown> {
        m.into_iter().map(|(key, totals)| Breakdown { key, totals }).collect()
    };
    let mut by_model = collect(by_model);
    let mut by_account = collect(by_account);
    sort_by_cost(&mut by_model);
    sort_by_cost(&mut by_account);
    LogStats { totals, by_model, by_account, by_day: collect(by_day) }
}

/// Puts today's usage summed from synced log rows in place of the snapshot's figure
/// (an account whose sync reached past local midnight has every row of today). An
/// account without a snapshot keeps none: its currency is unknown.
pub fn overlay_today(state: &mut super::snapshot::AccountState, local: Option<&super::snapshot::TodayUsage>) {
    if let (Some(snap), Some(t)) = (state.snapshot.as_mut(), local) {
        snap.today = super::snapshot::Part::complete(t.clone());
    }
}

/// [`overlay_today`] over every account that has local sums.
pub fn overlay_today_all(
    states: &mut std::collections::HashMap<AccountId, super::snapshot::AccountState>,
    local: &std::collections::HashMap<AccountId, super::snapshot::TodayUsage>,
) {
    for (id, t) in local {
        if let Some(st) = states.get_mut(id) {
            overlay_today(st, Some(t));
        }
    }
}

/// Column names of the CSV export.
pub const CSV_HEADER: &str = "time,account,type,model,token_name,prompt_tokens,completion_tokens,quota,cost,currency,\
duration_ms,stream,group,request_id,content";

/// Quotes a CSV field when it needs it.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// One CSV line (no newline). `time` is already formatted; `cost` is in `currency`. The
/// quota column stays empty for a money-native site (sub2api), whose rows hold cost units
/// of the table, not quota points the user could look up on the site.
pub fn csv_line(r: &UsageLog, time: &str, account: &str, money_native: bool, cost: f64, currency: &str) -> String {
    [
        csv_field(time),
        csv_field(account),
        r.kind.as_str().to_string(),
        csv_field(&r.model),
        csv_field(&r.token_name),
        r.prompt_tokens.to_string(),
        r.completion_tokens.to_string(),
        if money_native { String::new() } else { r.quota.to_string() },
        format!("{cost:.6}"),
        csv_field(currency),
        r.duration_ms.map(|d| d.to_string()).unwrap_or_default(),
        r.is_stream.to_string(),
        csv_field(&r.group),
        csv_field(&r.request_id),
        csv_field(&r.content),
    ]
    .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SiteKind;
    use crate::domain::profile::Profile;

    fn row(acc: i64, t: i64, kind: LogKind, model: &str, quota: i64) -> UsageLog {
        UsageLog {
            account_id: acc,
            created_at: t,
            kind,
            model: model.into(),
            quota,
            prompt_tokens: 10,
            completion_tokens: 1,
            ..Default::default()
        }
    }

    #[test]
    fn type_numbers_mean_different_things_per_kind() {
        assert_eq!(Profile::for_kind(SiteKind::Veloera).log_kind(5), LogKind::CheckIn);
        assert_eq!(Profile::for_kind(SiteKind::NewApi).log_kind(5), LogKind::Error);
        assert_eq!(Profile::for_kind(SiteKind::OneApi).log_kind(5), LogKind::Test);
        assert_eq!(Profile::for_kind(SiteKind::Veloera).log_kind(6), LogKind::Error);
        assert_eq!(Profile::for_kind(SiteKind::NewApi).log_kind(6), LogKind::Refund);
        assert_eq!(Profile::for_kind(SiteKind::DoneHub).log_kind(2), LogKind::Consume);
        for k in LogKind::ALL {
            assert_eq!(LogKind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn stats_count_only_consume_rows_and_sort_breakdowns() {
        let rows = vec![
            row(1, 100, LogKind::Consume, "a", 5),
            row(1, 200, LogKind::Consume, "b", 50),
            row(2, 90_000, LogKind::Consume, "a", 7),
            row(2, 90_001, LogKind::Topup, "", 500_000),
        ];
        let s = stats(&rows, |t| format!("d{}", t / 86_400));
        assert_eq!(s.totals, LogTotals { requests: 3, quota: 62, prompt_tokens: 30, completion_tokens: 3 });
        assert_eq!(s.by_model[0].key, "b");
        assert_eq!(s.by_model[1].totals.quota, 12);
        assert_eq!(s.by_account[0].key, "1");
        assert_eq!(s.by_day.iter().map(|b| b.key.as_str()).collect::<Vec<_>>(), vec!["d0", "d1"]);
        let f = LogFilter { model: Some("a".into()), ..Default::default() };
        assert_eq!(rows.iter().filter(|r| f.matches(r)).count(), 2);
        let line = csv_line(&UsageLog { content: "a,\"b\"".into(), ..rows[0].clone() }, "t", "x", false, 0.5, "USD");
        assert!(line.ends_with(",\"a,\"\"b\"\"\""), "{line}");
        assert_eq!(line.split(',').count(), CSV_HEADER.split(',').count() + 1, "one comma inside quotes");
        let f = LogFilter { text: Some("B".into()), ..Default::default() };
        assert_eq!(rows.iter().filter(|r| f.matches(r)).count(), 1);
    }
}
