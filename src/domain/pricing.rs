//! Pricing maths: what one model costs on one site, per group, normalised to USD.
//!
//! Sites price in *ratio units*: ratio 1 = 1 quota per token, so with the default
//! 500 000 quota per USD a ratio of 1 is $2 per 1M tokens ($0.002 per 1K). The general
//! formula is `USD per 1M = ratio × group ratio × 1 000 000 / quota_per_unit`.
//! new-api per-call models (`quota_type` 1) give USD per call directly
//! (`model_price × group ratio`); one-hub `times` prices are ratio units per call where
//! 1 = 1 000 quota (= $0.002 at the default quota per USD).
//!
//! Missing data is `None` ("unknown"), never 0: a price of 0 is a real, free price.
//!
//! - [`parse`]: raw JSON from `/api/pricing` (new-api, Veloera) and `/api/available_model` +
//!   `/api/user_group_map` (one-hub, done-hub) into a [`SitePricing`].
//! - this module: group eligibility and normalisation into [`PriceRow`]s, and the
//!   [`PricingBook`] that holds every account's rows.
//! - [`compare`]: the filtered, sorted comparison table built from a book.

mod book;
pub mod compare;
pub mod parse;
mod verified;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::money::CurrencySettings;
use super::{AccountId, SiteKind};

pub use book::book_from;
pub use compare::{
    CompareOptions, CompareRow, Comparison, FormulaLine, Preset, PriceUnit, RowFilter, SortColumn, Weights,
    build_comparison, effective_usd, explain, wildcard_match,
};
pub use parse::{PricingParseError, parse_new_api_pricing, parse_one_hub_pricing, parse_user_groups};
pub use verified::{LastVerified, VerifiedMap, latency_text};

/// Tokens in the "per 1M tokens" unit every price is shown in.
pub const TOKENS_PER_MILLION: f64 = 1_000_000.0;
/// Quota charged per call for one ratio unit of a one-hub `times` price (= $0.002 at 500 000/USD).
pub const QUOTA_PER_CALL_RATIO_UNIT: f64 = 1_000.0;

/// How a model is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingType {
    /// Per input / output token.
    PerToken,
    /// A fixed price per call.
    PerCall,
}

/// A model's base price on a site, before the group ratio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Billing {
    /// Per token in ratio units (1 = 1 quota per input token).
    Ratio {
        /// Input ratio (`model_ratio`, one-hub `input`).
        model_ratio: f64,
        /// Output price ÷ input price; `None` when the site did not say.
        completion_ratio: Option<f64>,
        /// Cache read price ÷ input price, when the site gives one.
        cache_read_ratio: Option<f64>,
        /// Cache write price ÷ input price, when the site gives one.
        cache_write_ratio: Option<f64>,
    },
    /// A fixed price per call in USD (new-api `model_price`).
    CallUsd {
        /// USD per call at group ratio 1.
        usd_per_call: f64,
    },
    /// A price per call in ratio units (one-hub `times`: 1 = 1 000 quota).
    CallRatio {
        /// Ratio units per call at group ratio 1.
        ratio_per_call: f64,
    },
    /// The site lists the model but its price cannot be compared (none given, tiered, negative…).
    Unknown {
        /// Why, in a few words (not translated).
        reason: String,
    },
}

impl Billing {
    /// Per token or per call; `None` when unknown.
    pub fn billing_type(&self) -> Option<BillingType> {
        match self {
            Billing::Ratio { .. } => Some(BillingType::PerToken),
            Billing::CallUsd { .. } | Billing::CallRatio { .. } => Some(BillingType::PerCall),
            Billing::Unknown { .. } => None,
        }
    }
}

/// A group's ratio as the site gave it. new-api's `auto` group has a *string* ratio ("自动").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupRatio {
    /// A finite, non-negative multiplier.
    Ratio(f64),
    /// Anything else (a string such as "自动", a negative or non-finite number).
    NotNumeric(String),
}

impl GroupRatio {
    /// The multiplier, when it is a usable number.
    pub fn value(&self) -> Option<f64> {
        match self {
            GroupRatio::Ratio(r) => Some(*r),
            GroupRatio::NotNumeric(_) => None,
        }
    }
}

/// One model as a site offers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelOffer {
    /// The exact model name.
    pub model: String,
    /// Vendor / owner (`owner_by`, `owned_by`, or the vendor's name), when known.
    pub vendor: Option<String>,
    /// Base price.
    pub billing: Billing,
    /// Groups the model is enabled in; `None` when the site did not say (then every usable group).
    pub groups: Option<Vec<String>>,
}

/// Everything a site's pricing endpoints said, before normalisation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SitePricing {
    /// The models, in the site's order.
    pub models: Vec<ModelOffer>,
    /// Group → ratio, as given (`group_ratio`, `user_group_map`).
    pub group_ratios: BTreeMap<String, GroupRatio>,
    /// Groups this user may use (`usable_group` keys); `None` when the site did not say.
    pub usable_groups: Option<BTreeSet<String>>,
    /// new-api `auto_groups`: where the `auto` group routes (not priced on its own).
    pub auto_groups: Vec<String>,
    /// new-api `supported_endpoint_types` per model (`openai`, `anthropic`, `openai-response`,
    /// `embeddings`, …); models the site said nothing about are absent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub endpoint_types: BTreeMap<String, Vec<String>>,
}

impl SitePricing {
    /// A site that lists models but no prices (kinds without a pricing endpoint).
    pub fn unpriced(models: impl IntoIterator<Item = String>) -> SitePricing {
        let models = models
            .into_iter()
            .map(|model| ModelOffer {
                model,
                vendor: None,
                billing: Billing::Unknown { reason: "no pricing endpoint".into() },
                groups: None,
            })
            .collect();
        SitePricing { models, ..Default::default() }
    }

    /// Replaces usable groups and ratios with the account's own (`/api/user/self/groups`):
    /// its keys are the groups this user may use, its ratios are the user-specific ones.
    pub fn with_user_groups(mut self, groups: BTreeMap<String, GroupRatio>) -> SitePricing {
        if groups.is_empty() {
            return self;
        }
        self.usable_groups = Some(groups.keys().cloned().collect());
        self.group_ratios.extend(groups);
        self
    }

    /// The groups a model can be used in by this user, with their ratios, cheapest first
    /// (ties by name): enabled groups ∩ usable groups ∩ groups with a numeric ratio.
    /// When the site did not list usable groups, every group with a ratio counts as usable.
    pub fn eligible_groups(&self, offer: &ModelOffer) -> Vec<(String, f64)> {
        let usable = |g: &str| self.usable_groups.as_ref().is_none_or(|u| u.contains(g));
        let mut out: Vec<(String, f64)> = match &offer.groups {
            Some(groups) => groups
                .iter()
                .filter(|g| usable(g))
                .filter_map(|g| Some((g.clone(), self.group_ratios.get(g)?.value()?)))
                .collect(),
            None => self
                .group_ratios
                .iter()
                .filter(|(g, _)| usable(g))
                .filter_map(|(g, r)| Some((g.clone(), r.value()?)))
                .collect(),
        };
        out.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        out.dedup_by(|a, b| a.0 == b.0);
        out
    }
}

/// One model in one group on one account, normalised to USD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceRow {
    /// Exact model name.
    pub model: String,
    /// Vendor, when known.
    pub vendor: Option<String>,
    /// The group; `None` when no usable group could be priced.
    pub group: Option<String>,
    /// That group's ratio.
    pub group_ratio: Option<f64>,
    /// The site's base price (kept to explain the formula).
    pub billing: Billing,
    /// The site's quota per USD used in the conversion.
    pub quota_per_unit: f64,
    /// USD per 1M input tokens.
    pub input_usd_per_1m: Option<f64>,
    /// USD per 1M output tokens.
    pub output_usd_per_1m: Option<f64>,
    /// USD per 1M cache-read tokens.
    pub cache_read_usd_per_1m: Option<f64>,
    /// USD per 1M cache-write tokens.
    pub cache_write_usd_per_1m: Option<f64>,
    /// USD per call.
    pub usd_per_call: Option<f64>,
    /// Whether this is the account's cheapest usable group for the model.
    pub cheapest_group: bool,
}

impl PriceRow {
    /// Per token or per call; `None` when unknown.
    pub fn billing_type(&self) -> Option<BillingType> {
        self.billing.billing_type()
    }
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// Prices one offer in one group (`group_ratio` `None` = no usable group: all unknown).
pub fn price_row(offer: &ModelOffer, group: Option<(String, f64)>, quota_per_unit: f64) -> PriceRow {
    let (group, group_ratio) = match group {
        Some((g, r)) => (Some(g), Some(r)),
        None => (None, None),
    };
    let qpu = if quota_per_unit.is_finite() && quota_per_unit > 0.0 { Some(quota_per_unit) } else { None };
    let mut row = PriceRow {
        model: offer.model.clone(),
        vendor: offer.vendor.clone(),
        group,
        group_ratio,
        billing: offer.billing.clone(),
        quota_per_unit,
        input_usd_per_1m: None,
        output_usd_per_1m: None,
        cache_read_usd_per_1m: None,
        cache_write_usd_per_1m: None,
        usd_per_call: None,
        cheapest_group: false,
    };
    let Some(gr) = group_ratio else { return row };
    match &offer.billing {
        Billing::Ratio { model_ratio, completion_ratio, cache_read_ratio, cache_write_ratio } => {
            let input = qpu.and_then(|q| finite(model_ratio * gr * TOKENS_PER_MILLION / q));
            row.input_usd_per_1m = input;
            row.output_usd_per_1m = input.zip(*completion_ratio).and_then(|(i, c)| finite(i * c));
            row.cache_read_usd_per_1m = input.zip(*cache_read_ratio).and_then(|(i, c)| finite(i * c));
            row.cache_write_usd_per_1m = input.zip(*cache_write_ratio).and_then(|(i, c)| finite(i * c));
        }
        Billing::CallUsd { usd_per_call } => row.usd_per_call = finite(usd_per_call * gr),
        Billing::CallRatio { ratio_per_call } => {
            row.usd_per_call = qpu.and_then(|q| finite(ratio_per_call * gr * QUOTA_PER_CALL_RATIO_UNIT / q));
        }
        Billing::Unknown { .. } => {}
    }
    row
}

/// Normalises a site's pricing: one row per model and eligible group, the cheapest group
/// marked; a model with no eligible group (or an unknown price) gets one row of unknowns.
pub fn normalise(site: &SitePricing, quota_per_unit: f64) -> Vec<PriceRow> {
    let mut rows = Vec::with_capacity(site.models.len());
    for offer in &site.models {
        let groups =
            if matches!(offer.billing, Billing::Unknown { .. }) { Vec::new() } else { site.eligible_groups(offer) };
        if groups.is_empty() {
            rows.push(price_row(offer, None, quota_per_unit));
            continue;
        }
        for (i, g) in groups.into_iter().enumerate() {
            let mut row = price_row(offer, Some(g), quota_per_unit);
            row.cheapest_group = i == 0;
            rows.push(row);
        }
    }
    rows
}

/// How the account's last refresh went.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "state", content = "error", rename_all = "snake_case")]
pub enum RefreshState {
    /// Never refreshed.
    #[default]
    Never,
    /// The last refresh worked.
    Ok,
    /// The last refresh failed with this one-line error.
    Error(String),
}

/// One account's pricing, ready to compare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountPricing {
    /// Store id of the account.
    pub account_id: AccountId,
    /// Site display name.
    pub site_name: String,
    /// Account label (username or user id).
    pub account_label: String,
    /// Site kind.
    pub kind: SiteKind,
    /// The site's currency settings.
    pub currency: CurrencySettings,
    /// Real money paid per 1 USD of quota (see [`crate::domain::money::real_cost`]).
    pub paid_per_usd: Option<f64>,
    /// Balance in USD, when known.
    pub balance_usd: Option<f64>,
    /// When the pricing was fetched (Unix seconds).
    pub fetched_at_unix: Option<i64>,
    /// The last refresh's outcome.
    pub status: RefreshState,
    /// Normalised rows.
    pub rows: Vec<PriceRow>,
}

/// Every account's pricing: what the Pricing panel and `apihub pricing` read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricingBook {
    /// One entry per account.
    pub accounts: Vec<AccountPricing>,
    /// Currency of the accounts' paid ratios, i.e. of real cost (`CNY` by default).
    pub paid_currency: String,
}

impl Default for PricingBook {
    fn default() -> Self {
        PricingBook { accounts: Vec::new(), paid_currency: "CNY".into() }
    }
}

impl PricingBook {
    /// Total rows over every account.
    pub fn row_count(&self) -> usize {
        self.accounts.iter().map(|a| a.rows.len()).sum()
    }
}

/// The symbol for a currency code: `$`, `¥`, or the code itself.
pub fn currency_symbol(code: &str) -> &str {
    match code {
        "USD" => "$",
        "CNY" | "RMB" => "¥",
        other => other,
    }
}

/// USD in the site's own currency: `(amount, symbol)`. A `TOKENS` site shows USD.
pub fn usd_to_site_currency(usd: f64, cs: &CurrencySettings) -> (f64, &str) {
    use super::money::DisplayType;
    match cs.display {
        DisplayType::Usd | DisplayType::Tokens => (usd, "$"),
        DisplayType::Cny => (usd * cs.usd_exchange_rate, "¥"),
        DisplayType::Custom => (usd * cs.custom_rate, cs.custom_symbol.as_str()),
    }
}

#[cfg(test)]
mod tests;
