//! The comparison table: filtered, ranked rows over a [`PricingBook`], built once when the
//! book or the options change (never per frame), plus the formula behind one price.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{AccountPricing, Billing, BillingType, PriceRow, PricingBook, currency_symbol, usd_to_site_currency};
use crate::domain::money::real_cost;

/// Workload weights in percent (blended = Σ meter price × weight / 100).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// Input tokens, %.
    pub input_pct: f64,
    /// Output tokens, %.
    pub output_pct: f64,
    /// Cache-read tokens, %.
    pub cache_read_pct: f64,
    /// Cache-write tokens, %.
    pub cache_write_pct: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Preset::Chat.weights(None)
    }
}

/// A workload preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Chat: 85 % input, 15 % output.
    #[default]
    Chat,
    /// Coding agent: 98.7 % input, 1.3 % output.
    CodingAgent,
    /// The user's own weights.
    Custom,
}

impl Preset {
    /// Every preset, in menu order.
    pub const ALL: [Preset; 3] = [Preset::Chat, Preset::CodingAgent, Preset::Custom];

    /// Stable name (`chat`, `coding-agent`, `custom`) for the CLI and settings.
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Chat => "chat",
            Preset::CodingAgent => "coding-agent",
            Preset::Custom => "custom",
        }
    }

    /// Inverse of [`Preset::as_str`].
    pub fn parse(s: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The weights; `custom` supplies them for [`Preset::Custom`] (else chat's).
    pub fn weights(self, custom: Option<Weights>) -> Weights {
        let w = |input_pct, output_pct| Weights { input_pct, output_pct, cache_read_pct: 0.0, cache_write_pct: 0.0 };
        match self {
            Preset::Chat => w(85.0, 15.0),
            Preset::CodingAgent => w(98.7, 1.3),
            Preset::Custom => custom.unwrap_or_else(|| w(85.0, 15.0)),
        }
    }
}

/// The money every price column is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceUnit {
    /// US dollars of quota.
    #[default]
    Usd,
    /// The site's own display currency (ranked by USD).
    SiteCurrency,
    /// What the user really pays: USD × the account's paid ratio.
    RealCost,
}

/// A sortable column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortColumn {
    /// Model name.
    Model,
    /// Site name.
    Site,
    /// Group name.
    Group,
    /// Input price.
    Input,
    /// Output price.
    Output,
    /// Cache-read price.
    Cache,
    /// Per-call price.
    PerCall,
    /// Real cost of the effective price.
    RealCost,
    /// Effective (workload-weighted) price.
    #[default]
    Effective,
}

/// Which rows to keep.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RowFilter {
    /// Model name: a substring, or a `*` wildcard pattern matching the whole name (case-insensitive).
    pub model_pattern: String,
    /// Exact vendor.
    pub vendor: Option<String>,
    /// Exact site name.
    pub site: Option<String>,
    /// Billing type.
    pub billing: Option<BillingType>,
    /// Every eligible group, not only each account's cheapest.
    pub all_groups: bool,
}

/// Everything a comparison depends on besides the book.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CompareOptions {
    /// Row filter.
    pub filter: RowFilter,
    /// Display unit (real cost ranks by real cost; the others by USD).
    pub unit: PriceUnit,
    /// Workload weights for the effective price.
    pub weights: Weights,
    /// Sort column.
    pub sort: SortColumn,
    /// Largest first.
    pub descending: bool,
}

/// One row of the comparison: indices into the book plus the derived figures.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareRow {
    /// Index into `book.accounts`.
    pub account: usize,
    /// Index into that account's `rows`.
    pub row: usize,
    /// Effective price in USD (per 1M tokens, or per call).
    pub effective_usd: Option<f64>,
    /// Effective real cost in the book's paid currency.
    pub effective_real: Option<f64>,
    /// The cheapest row for its model and billing type among the shown rows.
    pub cheapest: bool,
}

/// The derived table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Comparison {
    /// Rows, filtered and sorted.
    pub rows: Vec<CompareRow>,
    /// Distinct models among the rows.
    pub model_count: usize,
    /// Every vendor in the book, sorted.
    pub vendors: Vec<String>,
    /// Every site in the book, sorted.
    pub sites: Vec<String>,
}

/// Case-insensitive model match: a substring, or with `*` a wildcard over the whole name.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p = pattern.trim().as_bytes();
    let t = text.as_bytes();
    if p.is_empty() {
        return true;
    }
    let find = |hay: &[u8], needle: &[u8]| -> Option<usize> {
        if needle.is_empty() {
            return Some(0);
        }
        hay.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle))
    };
    if !p.contains(&b'*') {
        return find(t, p).is_some();
    }
    let parts: Vec<&[u8]> = p.split(|b| *b == b'*').collect();
    let (first, rest) = match parts.split_first() {
        Some(x) => x,
        None => return true,
    };
    if t.len() < first.len() || !t[..first.len()].eq_ignore_ascii_case(first) {
        return false;
    }
    let mut pos = first.len();
    let Some((last, middle)) = rest.split_last() else { return pos == t.len() };
    for part in middle {
        match find(&t[pos..], part) {
            Some(i) => pos += i + part.len(),
            None => return false,
        }
    }
    t.len() >= pos + last.len() && t[t.len() - last.len()..].eq_ignore_ascii_case(last)
}

/// The workload-weighted price in USD: per 1M tokens (Σ meter × weight / 100, a missing meter
/// with a weight makes it unknown), or the per-call price.
pub fn effective_usd(row: &PriceRow, w: &Weights) -> Option<f64> {
    match row.billing_type()? {
        BillingType::PerCall => row.usd_per_call,
        BillingType::PerToken => {
            let meters = [
                (row.input_usd_per_1m, w.input_pct),
                (row.output_usd_per_1m, w.output_pct),
                (row.cache_read_usd_per_1m, w.cache_read_pct),
                (row.cache_write_usd_per_1m, w.cache_write_pct),
            ];
            let mut total = 0.0;
            let mut weighted = false;
            for (price, pct) in meters {
                if pct > 0.0 {
                    total += price? * pct / 100.0;
                    weighted = true;
                }
            }
            weighted.then_some(total)
        }
    }
}

/// A USD figure in the chosen unit for one account: `(amount, symbol)`; `None` when real cost
/// is asked for and the account has no paid ratio.
pub fn in_unit<'a>(
    usd: f64,
    unit: PriceUnit,
    account: &'a AccountPricing,
    paid_currency: &'a str,
) -> Option<(f64, &'a str)> {
    match unit {
        PriceUnit::Usd => Some((usd, "$")),
        PriceUnit::SiteCurrency => Some(usd_to_site_currency(usd, &account.currency)),
        PriceUnit::RealCost => real_cost(usd, account.paid_per_usd).map(|v| (v, currency_symbol(paid_currency))),
    }
}

/// A price for display: more decimals for small amounts.
pub fn format_amount(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 || a >= 1.0 {
        format!("{v:.2}")
    } else if a >= 0.01 {
        format!("{v:.4}")
    } else {
        format!("{v:.6}")
    }
}

/// A figure in ranking terms for the unit: real cost for [`PriceUnit::RealCost`], else USD.
fn ranked(usd: Option<f64>, unit: PriceUnit, account: &AccountPricing) -> Option<f64> {
    match unit {
        PriceUnit::RealCost => real_cost(usd?, account.paid_per_usd),
        PriceUnit::Usd | PriceUnit::SiteCurrency => usd,
    }
}

fn keep(row: &PriceRow, account: &AccountPricing, f: &RowFilter) -> bool {
    (f.all_groups || row.cheapest_group || row.group.is_none())
        && f.site.as_ref().is_none_or(|s| *s == account.site_name)
        && f.vendor.as_ref().is_none_or(|v| row.vendor.as_ref() == Some(v))
        && f.billing.is_none_or(|b| row.billing_type() == Some(b))
        && wildcard_match(&f.model_pattern, &row.model)
}

fn compare_row(account: usize, row: usize, p: &PriceRow, a: &AccountPricing, weights: &Weights) -> CompareRow {
    let effective_usd = effective_usd(p, weights);
    let effective_real = effective_usd.and_then(|u| real_cost(u, a.paid_per_usd));
    CompareRow { account, row, effective_usd, effective_real, cheapest: false }
}

/// Marks the cheapest row per model and billing type, in ranking terms for the unit (ties all marked).
fn mark_cheapest(book: &PricingBook, rows: &mut [CompareRow], unit: PriceUnit) {
    let rank = |r: &CompareRow| match unit {
        PriceUnit::RealCost => r.effective_real,
        PriceUnit::Usd | PriceUnit::SiteCurrency => r.effective_usd,
    };
    let mut best: HashMap<(&str, Option<BillingType>), f64> = HashMap::new();
    for r in rows.iter() {
        if let Some(v) = rank(r) {
            let p = &book.accounts[r.account].rows[r.row];
            let e = best.entry((p.model.as_str(), p.billing_type())).or_insert(v);
            *e = e.min(v);
        }
    }
    for r in rows.iter_mut() {
        let p = &book.accounts[r.account].rows[r.row];
        let v = rank(r);
        r.cheapest = v.is_some() && best.get(&(p.model.as_str(), p.billing_type())).copied() == v;
    }
}

/// Builds the comparison: filter, effective prices, the cheapest row per model and billing
/// type (in ranking terms), then the sort. Unknown values always sort last.
pub fn build_comparison(book: &PricingBook, opts: &CompareOptions) -> Comparison {
    let mut rows = Vec::new();
    let mut vendors = HashSet::new();
    let mut sites = HashSet::new();
    for (ai, account) in book.accounts.iter().enumerate() {
        sites.insert(account.site_name.as_str());
        for (ri, row) in account.rows.iter().enumerate() {
            if let Some(v) = &row.vendor {
                vendors.insert(v.as_str());
            }
            if keep(row, account, &opts.filter) {
                rows.push(compare_row(ai, ri, row, account, &opts.weights));
            }
        }
    }
    mark_cheapest(book, &mut rows, opts.unit);
    let models: HashSet<&str> = rows.iter().map(|r| book.accounts[r.account].rows[r.row].model.as_str()).collect();
    let model_count = models.len();
    sort_rows(book, &mut rows, opts);
    let sorted = |set: HashSet<&str>| {
        let mut v: Vec<String> = set.into_iter().map(str::to_string).collect();
        v.sort();
        v
    };
    Comparison { rows, model_count, vendors: sorted(vendors), sites: sorted(sites) }
}

fn sort_rows(book: &PricingBook, rows: &mut Vec<CompareRow>, opts: &CompareOptions) {
    use std::cmp::Ordering;
    // Keys computed once per row, not once per comparison.
    // An effective price is per 1M tokens or per call: ranking the two in one run would
    // put every per-call price (cents) before any token price. Token prices come first,
    // then per-call prices, each run sorted on its own.
    let mixed_units = matches!(opts.sort, SortColumn::Effective | SortColumn::RealCost);
    let mut keyed: Vec<(bool, Option<f64>, [&str; 4], CompareRow)> = rows
        .drain(..)
        .map(|r| {
            let a = &book.accounts[r.account];
            let p = &a.rows[r.row];
            let per_call = mixed_units && p.usd_per_call.is_some() && p.input_usd_per_1m.is_none();
            let num = match opts.sort {
                SortColumn::Input => ranked(p.input_usd_per_1m, opts.unit, a),
                SortColumn::Output => ranked(p.output_usd_per_1m, opts.unit, a),
                SortColumn::Cache => ranked(p.cache_read_usd_per_1m, opts.unit, a),
                SortColumn::PerCall => ranked(p.usd_per_call, opts.unit, a),
                SortColumn::RealCost => r.effective_real,
                SortColumn::Effective => ranked(r.effective_usd, opts.unit, a),
                SortColumn::Model | SortColumn::Site | SortColumn::Group => None,
            };
            let names =
                [p.model.as_str(), a.site_name.as_str(), a.account_label.as_str(), p.group.as_deref().unwrap_or("")];
            (per_call, num, names, r)
        })
        .collect();
    let dir = |o: Ordering| if opts.descending { o.reverse() } else { o };
    keyed.sort_by(|(xc, xn, x, xr), (yc, yn, y, yr)| {
        let primary = match opts.sort {
            SortColumn::Model => dir(x[0].cmp(y[0])),
            SortColumn::Site => dir(x[1].cmp(y[1])),
            SortColumn::Group => dir(x[3].cmp(y[3])),
            _ => match (xn, yn) {
                (Some(a), Some(b)) => dir(a.total_cmp(b)),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            },
        };
        xc.cmp(yc).then(primary).then_with(|| x.cmp(y)).then_with(|| xr.account.cmp(&yr.account))
    });
    rows.extend(keyed.into_iter().map(|(_, _, _, r)| r));
}

/// One line of a formula: a translation key for its label and the arithmetic.
#[derive(Debug, Clone, PartialEq)]
pub struct FormulaLine {
    /// Translation key (`pricing.formula.*`).
    pub label_key: &'static str,
    /// The numbers, e.g. `15 × 0.8 × 1000000 / 500000 = $24.00`; `None` when unknown.
    pub expr: Option<String>,
}

fn line(label_key: &'static str, expr: Option<String>) -> FormulaLine {
    FormulaLine { label_key, expr }
}

/// The numbers that produced a row's prices, effective price and conversions.
pub fn explain(row: &PriceRow, account: &AccountPricing, weights: &Weights, paid_currency: &str) -> Vec<FormulaLine> {
    let money = |v: f64| format!("${}", format_amount(v));
    let mut out = Vec::new();
    let gr = row.group_ratio;
    out.push(line("pricing.formula.group", row.group.as_ref().zip(gr).map(|(g, r)| format!("{g} × {r}"))));
    let q = row.quota_per_unit;
    match &row.billing {
        Billing::Ratio { model_ratio, completion_ratio, cache_read_ratio, cache_write_ratio } => {
            let input = row.input_usd_per_1m;
            out.push(line(
                "pricing.formula.input",
                gr.zip(input).map(|(g, i)| format!("{model_ratio} × {g} × 1000000 / {q} = {} / 1M", money(i))),
            ));
            let derived = |ratio: &Option<f64>, v: Option<f64>| {
                input.zip(*ratio).zip(v).map(|((i, r), v)| format!("{} × {r} = {} / 1M", money(i), money(v)))
            };
            out.push(line("pricing.formula.output", derived(completion_ratio, row.output_usd_per_1m)));
            out.push(line("pricing.formula.cache_read", derived(cache_read_ratio, row.cache_read_usd_per_1m)));
            out.push(line("pricing.formula.cache_write", derived(cache_write_ratio, row.cache_write_usd_per_1m)));
        }
        Billing::CallUsd { usd_per_call } => out.push(line(
            "pricing.formula.per_call",
            gr.zip(row.usd_per_call).map(|(g, c)| format!("${usd_per_call} × {g} = {} / call", money(c))),
        )),
        Billing::CallRatio { ratio_per_call } => out.push(line(
            "pricing.formula.per_call",
            gr.zip(row.usd_per_call).map(|(g, c)| format!("{ratio_per_call} × {g} × 1000 / {q} = {} / call", money(c))),
        )),
        Billing::Unknown { reason } => out.push(line("pricing.formula.unknown", Some(reason.clone()))),
    }
    let effective = effective_usd(row, weights);
    if row.billing_type() == Some(BillingType::PerToken) {
        let terms = [
            ("in", row.input_usd_per_1m, weights.input_pct),
            ("out", row.output_usd_per_1m, weights.output_pct),
            ("cache read", row.cache_read_usd_per_1m, weights.cache_read_pct),
            ("cache write", row.cache_write_usd_per_1m, weights.cache_write_pct),
        ];
        let parts: Vec<String> = terms
            .iter()
            .filter(|t| t.2 > 0.0)
            .map(|(n, v, pct)| match v {
                Some(v) => format!("{} × {pct}%", format_amount(*v)),
                None => format!("{n}? × {pct}%"),
            })
            .collect();
        // A weighted meter without a price shows as `name?`: the blend is not comparable.
        let expr = match effective {
            Some(e) => Some(format!("{} = {} / 1M", parts.join(" + "), money(e))),
            None if !parts.is_empty() => Some(format!("{} = ?", parts.join(" + "))),
            None => None,
        };
        out.push(line("pricing.formula.effective", expr));
    } else if let Some(e) = effective {
        out.push(line("pricing.formula.effective", Some(format!("{} / call", money(e)))));
    }
    if let Some(e) = effective {
        let (amount, sym) = usd_to_site_currency(e, &account.currency);
        if sym != "$" {
            let (rate, _) = usd_to_site_currency(1.0, &account.currency);
            out.push(line(
                "pricing.formula.site_currency",
                Some(format!("{} × {rate} = {sym}{}", money(e), format_amount(amount))),
            ));
        }
    }
    let real = effective.zip(account.paid_per_usd).and_then(|(e, p)| Some((e, p, real_cost(e, Some(p))?)));
    let sym = currency_symbol(paid_currency);
    out.push(line(
        "pricing.formula.real",
        real.map(|(e, p, r)| format!("{} × {p} = {sym}{}", money(e), format_amount(r))),
    ));
    out
}

/// Where each model's offers are: model → `(account index, row index)` of every row
/// [`model_offers`] lists for it (the cheapest usable group, or the one row of a model with
/// none), in book order. Built with a comparison, off the UI thread, so selecting a row
/// finds its model's offers without scanning every row of every account.
pub type OfferIndex = HashMap<String, Vec<(u32, u32)>>;

/// Whether a row is the one an account offers its model at.
fn is_offer(r: &PriceRow) -> bool {
    r.cheapest_group || r.group.is_none()
}

/// Builds the [`OfferIndex`] of a book.
pub fn offer_index(book: &PricingBook) -> OfferIndex {
    let mut index: OfferIndex = HashMap::new();
    for (ai, a) in book.accounts.iter().enumerate() {
        for (ri, r) in a.rows.iter().enumerate().filter(|(_, r)| is_offer(r)) {
            let at = (ai as u32, ri as u32);
            match index.get_mut(r.model.as_str()) {
                Some(v) => v.push(at),
                None => {
                    index.insert(r.model.clone(), vec![at]);
                }
            }
        }
    }
    index
}

/// Every account offering exactly `model` (its cheapest usable group), ranked by the effective
/// price in the options' unit, unknown last; the cheapest per billing type marked.
pub fn model_offers(book: &PricingBook, model: &str, opts: &CompareOptions) -> Vec<CompareRow> {
    let at: Vec<(u32, u32)> = book
        .accounts
        .iter()
        .enumerate()
        .flat_map(|(ai, a)| {
            a.rows
                .iter()
                .enumerate()
                .filter(|(_, r)| r.model == model && is_offer(r))
                .map(move |(ri, _)| (ai as u32, ri as u32))
        })
        .collect();
    offers_at(book, &at, opts)
}

/// [`model_offers`] from the model's entry of an [`OfferIndex`] of `book` (none: no offers).
pub fn indexed_offers(book: &PricingBook, index: &OfferIndex, model: &str, opts: &CompareOptions) -> Vec<CompareRow> {
    offers_at(book, index.get(model).map(Vec::as_slice).unwrap_or_default(), opts)
}

fn offers_at(book: &PricingBook, at: &[(u32, u32)], opts: &CompareOptions) -> Vec<CompareRow> {
    let mut rows: Vec<CompareRow> = at
        .iter()
        .filter_map(|&(ai, ri)| {
            let (ai, ri) = (ai as usize, ri as usize);
            let a = book.accounts.get(ai)?;
            Some(compare_row(ai, ri, a.rows.get(ri)?, a, &opts.weights))
        })
        .collect();
    mark_cheapest(book, &mut rows, opts.unit);
    let by_price = CompareOptions { sort: SortColumn::Effective, descending: false, ..opts.clone() };
    sort_rows(book, &mut rows, &by_price);
    rows
}
