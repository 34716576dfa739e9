//! Quota ↔ money, done with the site's own settings from `/api/status`.
//!
//! Quota is an integer; USD = quota / `quota_per_unit` (500 000 by default). The site
//! shows money as USD, CNY (× `usd_exchange_rate`), a custom currency
//! (× `custom_currency_exchange_rate`) or raw tokens. USD-native kinds (sub2api,
//! VoAPI v2) report money, converted back to quota with the same factor. Nothing
//! here guesses from the size of a number.

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

    /// USD (from a USD-native kind) back to quota.
    pub fn usd_to_quota(&self, usd: f64) -> i64 {
        (usd * self.quota_per_unit).round() as i64
    }

    /// An amount in the site's display unit (as `/v1/dashboard/billing/*` report it)
    /// back to quota: USD and custom → × qpu, CNY → ÷ rate × qpu, TOKENS → as is.
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

    /// An amount for display: `$1.23`, `¥8.98`, `1,234,567 tokens`.
    pub fn format_quota(&self, quota: i64) -> String {
        let a = self.quota_to_amount(quota);
        match self.display {
            DisplayType::Usd => format!("${a:.2}"),
            DisplayType::Cny => format!("¥{a:.2}"),
            DisplayType::Custom => format!("{}{a:.2}", self.custom_symbol),
            DisplayType::Tokens => format!("{quota} tokens"),
        }
    }
}

/// A figure in quota, with its value in the site's currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Money {
    /// Quota points (`None` for USD-native kinds that report no quota).
    pub quota: Option<i64>,
    /// Amount in `currency`.
    pub amount: f64,
    /// `USD`, `CNY`, `TOKENS` or a custom symbol.
    pub currency: String,
}

impl Money {
    /// A quota figure converted with the site's settings.
    pub fn from_quota(quota: i64, cs: &CurrencySettings) -> Money {
        Money { quota: Some(quota), amount: cs.quota_to_amount(quota), currency: cs.currency() }
    }
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
