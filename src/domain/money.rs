//! Money as the site gives it.
//!
//! Quota sites (the One API family) give integer quota; USD = quota / `quota_per_unit`
//! (500 000 by default) and the site shows money as USD, CNY (× `usd_exchange_rate`), a
//! custom currency (× `custom_currency_exchange_rate`) or raw tokens, all read from its
//! `/api/status`. Money-native kinds (VoAPI v2, sub2api, key-only billing endpoints) give
//! an amount in a currency and no quota at all: [`Amount`] says which one a figure is, and
//! nothing here turns money into quota. Nothing guesses from the size of a number.
//!
//! Text: an amount is shown with two decimals unless that would show a non-zero amount as
//! zero; then it gets two significant digits (`$0.0049`), or `< $0.01` where space is short.

use serde::{Deserialize, Serialize};

/// The default quota per 1 USD across the family.
pub const DEFAULT_QUOTA_PER_UNIT: f64 = 500_000.0;

/// How the site displays amounts (`quota_display_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum DisplayType {
    /// US dollars.
    #[default]
    Usd,
    /// Chinese yuan, via `usd_exchange_rate`.
    Cny,
    /// Raw quota points.
    Tokens,
    /// A site-defined currency.
    Custom,
}

/// The site's currency settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurrencySettings {
    /// Quota points per 1 USD.
    pub quota_per_unit: f64,
    /// Display type.
    pub display: DisplayType,
    /// CNY per USD (for `Cny`).
    pub usd_exchange_rate: f64,
    /// Symbol of the custom currency.
    pub custom_symbol: String,
    /// Custom units per USD.
    pub custom_rate: f64,
}

impl Default for CurrencySettings {
    fn default() -> Self {
        CurrencySettings {
            quota_per_unit: DEFAULT_QUOTA_PER_UNIT,
            display: DisplayType::Usd,
            usd_exchange_rate: 7.3,
            custom_symbol: "¤".into(),
            custom_rate: 1.0,
        }
    }
}

fn positive(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite() && *x > 0.0)
}

impl CurrencySettings {
    /// Reads the settings from an `/api/status` `data` object. Missing
    /// `quota_display_type` is derived from `display_in_currency` (true → USD,
    /// false → TOKENS), as the servers themselves do.
    pub fn from_status(data: &serde_json::Value) -> CurrencySettings {
        let d = CurrencySettings::default();
        let num = |k: &str| data.get(k).and_then(|v| v.as_f64().or_else(|| v.as_str()?.trim().parse().ok()));
        let display = match data.get("quota_display_type").and_then(|v| v.as_str()) {
            Some(s) if s.eq_ignore_ascii_case("CNY") => DisplayType::Cny,
            Some(s) if s.eq_ignore_ascii_case("TOKENS") => DisplayType::Tokens,
            Some(s) if s.eq_ignore_ascii_case("CUSTOM") => DisplayType::Custom,
            Some(s) if s.eq_ignore_ascii_case("USD") => DisplayType::Usd,
            _ => match data.get("display_in_currency").and_then(|v| v.as_bool()) {
                Some(false) => DisplayType::Tokens,
                _ => DisplayType::Usd,
            },
        };
        CurrencySettings {
            quota_per_unit: positive(num("quota_per_unit")).unwrap_or(d.quota_per_unit),
            display,
            usd_exchange_rate: positive(num("usd_exchange_rate")).unwrap_or(d.usd_exchange_rate),
            custom_symbol: data
                .get("custom_currency_symbol")
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .unwrap_or(&d.custom_symbol)
                .to_string(),
            custom_rate: positive(num("custom_currency_exchange_rate")).unwrap_or(d.custom_rate),
        }
    }

    /// The site's currency code: `USD`, `CNY`, `TOKENS` or the custom symbol.
    pub fn currency(&self) -> String {
        match self.display {
            DisplayType::Usd => "USD".into(),
            DisplayType::Cny => "CNY".into(),
            DisplayType::Tokens => "TOKENS".into(),
            DisplayType::Custom => self.custom_symbol.clone(),
        }
    }

    /// Quota in US dollars.
    pub fn quota_to_usd(&self, quota: i64) -> f64 {
        quota as f64 / self.quota_per_unit
    }

    /// Quota in the site's own currency.
    pub fn quota_to_amount(&self, quota: i64) -> f64 {
        let usd = self.quota_to_usd(quota);
        match self.display {
            DisplayType::Usd => usd,
            DisplayType::Cny => usd * self.usd_exchange_rate,
            DisplayType::Custom => usd * self.custom_rate,
            DisplayType::Tokens => quota as f64,
        }
    }

    /// USD back to quota, for amounts the user types on a quota site (a key's limit).
    pub fn usd_to_quota(&self, usd: f64) -> i64 {
        (usd * self.quota_per_unit).round() as i64
    }

    /// An amount in the site's display unit, as the user types it on a quota site (a
    /// key's limit), back to quota: USD and custom → × qpu, CNY → ÷ rate × qpu, TOKENS →
    /// as is. Never used on what a site reports.
    pub fn amount_to_quota(&self, amount: f64) -> i64 {
        if !amount.is_finite() {
            return 0;
        }
        match self.display {
            DisplayType::Usd | DisplayType::Custom => self.usd_to_quota(amount),
            DisplayType::Cny => self.usd_to_quota(amount / self.usd_exchange_rate),
            DisplayType::Tokens => amount.round() as i64,
        }
    }

    /// An amount for display: `$1.23`, `¥8.98`, `$0.0049`, `1234567 tokens`.
    pub fn format_quota(&self, quota: i64) -> String {
        self.quota_text(quota, false)
    }

    fn quota_text(&self, quota: i64, short: bool) -> String {
        let a = self.quota_to_amount(quota);
        match self.display {
            DisplayType::Usd => money_text_as(a, "USD", short),
            DisplayType::Cny => money_text_as(a, "CNY", short),
            DisplayType::Custom => with_symbol(&self.custom_symbol, a, short),
            DisplayType::Tokens => format!("{quota} tokens"),
        }
    }
}

/// Money as a money-native site reports it: an amount in a currency, no quota behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cash {
    /// The amount, in `currency`.
    pub amount: f64,
    /// An ISO code as the site names it (`USD`, `CNY`), or the site's symbol.
    pub currency: String,
}

/// A figure as the site gives it: quota (money only through the site's
/// [`CurrencySettings`]) or money in a currency (money-native kinds). Stored as a bare
/// integer for quota, which is also how every state written before money-native amounts
/// existed reads back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Amount {
    /// Quota points.
    Quota(i64),
    /// Money; there is no quota.
    Money(Cash),
}

impl Default for Amount {
    fn default() -> Self {
        Amount::Quota(0)
    }
}

/// Usage-log rows of money-native kinds (sub2api's `actual_cost` in USD) keep their cost
/// in the log table's integer column at this many units per USD: the family's default
/// quota scale, so one table and one daily rollup serve every kind. A storage scale only:
/// such units are shown as USD money and never reported as quota.
pub const LOG_COST_UNITS_PER_USD: f64 = DEFAULT_QUOTA_PER_UNIT;

/// A USD cost in [`LOG_COST_UNITS_PER_USD`] units (0 for a non-finite cost).
pub fn usd_to_log_units(usd: f64) -> i64 {
    if usd.is_finite() { (usd * LOG_COST_UNITS_PER_USD).round() as i64 } else { 0 }
}

/// A usage-log sum as a figure: quota, or for a money-native kind USD money.
pub fn from_log_units(units: i64, money_native: bool) -> Amount {
    if money_native { Amount::money(units as f64 / LOG_COST_UNITS_PER_USD, "USD") } else { Amount::Quota(units) }
}

/// A currency code as a site names it, tidied: trimmed, upper-case, `RMB` → `CNY`;
/// an empty one is `USD` (what money-native sites bill in unless they say).
pub fn currency_code(raw: &str) -> String {
    let c = raw.trim();
    if c.is_empty() {
        return "USD".into();
    }
    let up = c.to_uppercase();
    match up.as_str() {
        "RMB" | "CNH" => "CNY".into(),
        _ if c.chars().all(|ch| ch.is_ascii_alphabetic()) => up,
        _ => c.to_string(),
    }
}

/// Sums rounded to nanos, so `18.64 + 2.5` prints as `21.14`.
fn tidy(x: f64) -> f64 {
    if x.is_finite() { (x * 1e9).round() / 1e9 } else { x }
}

impl Amount {
    /// Money in `currency` (tidied with [`currency_code`]).
    pub fn money(amount: f64, currency: &str) -> Amount {
        Amount::Money(Cash { amount: tidy(amount), currency: currency_code(currency) })
    }

    /// The quota, for quota sites only.
    pub fn quota(&self) -> Option<i64> {
        match self {
            Amount::Quota(q) => Some(*q),
            Amount::Money(_) => None,
        }
    }

    /// The money, for money-native figures only.
    pub fn cash(&self) -> Option<&Cash> {
        match self {
            Amount::Quota(_) => None,
            Amount::Money(c) => Some(c),
        }
    }

    /// The amount in the currency it is shown in ([`Amount::currency`]).
    pub fn value(&self, cs: &CurrencySettings) -> f64 {
        match self {
            Amount::Quota(q) => cs.quota_to_amount(*q),
            Amount::Money(c) => c.amount,
        }
    }

    /// The currency it is shown in: the site's for quota, its own for money.
    pub fn currency(&self, cs: &CurrencySettings) -> String {
        match self {
            Amount::Quota(_) => cs.currency(),
            Amount::Money(c) => c.currency.clone(),
        }
    }

    /// In US dollars when that needs no guess: quota through the site's unit, money
    /// already in USD. Money in another currency is `None` (no exchange rate is known).
    pub fn usd(&self, cs: &CurrencySettings) -> Option<f64> {
        match self {
            Amount::Quota(q) => Some(cs.quota_to_usd(*q)),
            Amount::Money(c) if c.currency == "USD" => Some(c.amount),
            Amount::Money(_) => None,
        }
    }

    /// Adds another figure of the same kind and currency (`None` when they differ).
    pub fn plus(&self, other: &Amount) -> Option<Amount> {
        match (self, other) {
            (Amount::Quota(a), Amount::Quota(b)) => Some(Amount::Quota(a.saturating_add(*b))),
            (Amount::Money(a), Amount::Money(b)) if a.currency == b.currency => {
                Some(Amount::Money(Cash { amount: tidy(a.amount + b.amount), currency: a.currency.clone() }))
            }
            _ => None,
        }
    }

    /// For display, never showing a non-zero amount as zero: `$21.14`, `¥3.60`, `$0.0049`.
    pub fn text(&self, cs: &CurrencySettings) -> String {
        match self {
            Amount::Quota(q) => cs.quota_text(*q, false),
            Amount::Money(c) => money_text(c.amount, &c.currency),
        }
    }

    /// As [`Amount::text`], but `< $0.01` instead of more decimals (narrow cells).
    pub fn short_text(&self, cs: &CurrencySettings) -> String {
        match self {
            Amount::Quota(q) => cs.quota_text(*q, true),
            Amount::Money(c) => money_text_short(c.amount, &c.currency),
        }
    }
}

/// How many decimals show `amount` without turning a non-zero amount into zero: two,
/// or two significant digits below half a cent (0.004862 → 4 → `0.0049`).
pub fn decimals(amount: f64) -> usize {
    let a = amount.abs();
    if !a.is_finite() || a == 0.0 || a >= 0.005 {
        return 2;
    }
    ((-a.log10()).floor() as usize + 2).min(12)
}

/// A bare number for display with [`decimals`]: `21.14`, `0.0049`.
pub fn amount_text(amount: f64) -> String {
    format!("{amount:.*}", decimals(amount))
}

/// The symbol written before amounts of an ISO code (`None`: write the code after).
fn symbol(code: &str) -> Option<&str> {
    match code {
        "USD" => Some("$"),
        "CNY" => Some("¥"),
        "EUR" => Some("€"),
        "GBP" => Some("£"),
        c if c.chars().all(|ch| ch.is_ascii_alphabetic()) => None,
        c => Some(c),
    }
}

// The texts below are written in one `format!` each (the number formatted in place, not
// through `amount_text`'s own `String`): the Sites rows format two amounts per account
// whenever they are built, and a nested `format!` was most of that build.
fn with_symbol(sym: &str, amount: f64, short: bool) -> String {
    if short && amount != 0.0 && amount.abs() < 0.005 {
        return if amount > 0.0 { format!("< {sym}0.01") } else { format!("> -{sym}0.01") };
    }
    format!("{sym}{amount:.*}", decimals(amount))
}

fn money_text_as(amount: f64, code: &str, short: bool) -> String {
    match symbol(code) {
        Some(sym) => with_symbol(sym, amount, short),
        None if short && amount != 0.0 && amount.abs() < 0.005 => {
            if amount > 0.0 {
                format!("< 0.01 {code}")
            } else {
                format!("> -0.01 {code}")
            }
        }
        None => format!("{amount:.*} {code}", decimals(amount)),
    }
}

/// Money for display: `$21.14`, `¥3.60`, `$0.0049`, `12.50 HKD`.
pub fn money_text(amount: f64, currency: &str) -> String {
    money_text_as(amount, currency, false)
}

/// Money for a narrow cell: as [`money_text`] but `< $0.01` for a non-zero amount under
/// half a cent.
pub fn money_text_short(amount: f64, currency: &str) -> String {
    money_text_as(amount, currency, true)
}

/// What the user really pays: USD of quota × the account's "paid per 1 USD" ratio.
pub fn real_cost(usd: f64, paid_per_usd: Option<f64>) -> Option<f64> {
    paid_per_usd.filter(|r| r.is_finite() && *r >= 0.0).map(|r| usd * r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn usd_site_defaults() {
        let cs = CurrencySettings::from_status(&json!({"quota_per_unit": 500000, "display_in_currency": true}));
        assert_eq!(cs.display, DisplayType::Usd);
        assert_eq!(cs.quota_to_amount(1_000_000), 2.0);
        assert_eq!(cs.currency(), "USD");
        assert_eq!(cs.format_quota(1_250_000), "$2.50");
    }

    #[test]
    fn cny_site_uses_its_exchange_rate() {
        let cs = CurrencySettings::from_status(
            &json!({"quota_per_unit": 500000.0, "quota_display_type": "CNY", "usd_exchange_rate": 7.2}),
        );
        assert!((cs.quota_to_amount(500_000) - 7.2).abs() < 1e-9);
        assert_eq!(cs.currency(), "CNY");
        assert_eq!(cs.format_quota(250_000), "¥3.60");
    }

    #[test]
    fn custom_and_tokens_and_legacy_flags() {
        let cs = CurrencySettings::from_status(&json!({"quota_display_type": "CUSTOM",
            "custom_currency_symbol": "€", "custom_currency_exchange_rate": "0.9"}));
        assert!((cs.quota_to_amount(500_000) - 0.9).abs() < 1e-9);
        assert_eq!(cs.currency(), "€");
        let tokens = CurrencySettings::from_status(&json!({"display_in_currency": false}));
        assert_eq!(tokens.display, DisplayType::Tokens);
        assert_eq!(tokens.quota_to_amount(12345), 12345.0);
        // A site with its own unit size.
        let big = CurrencySettings::from_status(&json!({"quota_per_unit": 1000000}));
        assert_eq!(big.quota_to_usd(3_000_000), 3.0);
        // Nonsense values fall back to defaults instead of dividing by zero.
        let bad = CurrencySettings::from_status(&json!({"quota_per_unit": 0, "usd_exchange_rate": -1}));
        assert_eq!(bad.quota_per_unit, DEFAULT_QUOTA_PER_UNIT);
        assert_eq!(bad.usd_exchange_rate, 7.3);
    }

    #[test]
    fn small_amounts_are_never_shown_as_zero() {
        let cs = CurrencySettings::default();
        // A new-api check-in reward of 2,431 quota is $0.004862.
        assert_eq!(cs.format_quota(2_431), "$0.0049");
        assert_eq!(Amount::Quota(2_431).short_text(&cs), "< $0.01");
        assert_eq!(Amount::Quota(1).text(&cs), "$0.0000020");
        assert_eq!(Amount::Quota(0).text(&cs), "$0.00");
        assert_eq!(Amount::Quota(2_500).text(&cs), "$0.01", "half a cent rounds up, not to zero");
        assert_eq!(Amount::Quota(-2_431).text(&cs), "$-0.0049");
        assert_eq!(Amount::Quota(-2_431).short_text(&cs), "> -$0.01");
        assert_eq!(Amount::money(0.0049, "CNY").text(&cs), "¥0.0049");
        assert_eq!(Amount::money(0.003, "HKD").short_text(&cs), "< 0.01 HKD");
        assert_eq!(Amount::money(12.5, "hkd").text(&cs), "12.50 HKD");
        let custom = CurrencySettings { display: DisplayType::Custom, custom_symbol: "€".into(), ..cs };
        assert_eq!(custom.format_quota(100), "€0.00020");
        assert_eq!(amount_text(1234.5), "1234.50");
    }

    #[test]
    fn money_stays_money() {
        let cs = CurrencySettings::default();
        let usd = Amount::money(18.64, " usd ");
        let sum = usd.plus(&Amount::money(2.5, "USD")).unwrap();
        assert_eq!(sum, Amount::Money(Cash { amount: 21.14, currency: "USD".into() }));
        assert_eq!(sum.quota(), None);
        assert_eq!(sum.usd(&cs), Some(21.14));
        assert_eq!(sum.text(&cs), "$21.14");
        let cny = Amount::money(7.3, "RMB");
        assert_eq!((cny.value(&cs), cny.currency(&cs)), (7.3, "CNY".to_string()));
        assert_eq!(cny.usd(&cs), None, "no exchange rate is guessed");
        assert_eq!(cny.plus(&usd), None);
        assert_eq!(Amount::Quota(3).plus(&Amount::Quota(4)), Some(Amount::Quota(7)));
        assert_eq!(Amount::money(1.0, ""), Amount::money(1.0, "USD"));
        // Quota is stored as a bare integer, as states written by older builds hold it.
        assert_eq!(serde_json::to_string(&Amount::Quota(5)).unwrap(), "5");
        assert_eq!(serde_json::from_str::<Amount>("5").unwrap(), Amount::Quota(5));
        let j = serde_json::to_string(&sum).unwrap();
        assert_eq!(j, r#"{"amount":21.14,"currency":"USD"}"#);
        assert_eq!(serde_json::from_str::<Amount>(&j).unwrap(), sum);
    }

    #[test]
    fn usd_native_round_trip_and_real_cost() {
        let cs = CurrencySettings::default();
        assert_eq!(cs.usd_to_quota(1.5), 750_000);
        assert_eq!(real_cost(10.0, Some(0.5)), Some(5.0));
        assert_eq!(real_cost(10.0, None), None);
        let cny = CurrencySettings { display: DisplayType::Cny, usd_exchange_rate: 7.0, ..CurrencySettings::default() };
        assert_eq!(cny.amount_to_quota(14.0), 1_000_000);
        let tokens = CurrencySettings { display: DisplayType::Tokens, ..CurrencySettings::default() };
        assert_eq!(tokens.amount_to_quota(1234.0), 1234);
    }
}
