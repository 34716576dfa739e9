//! Parsers for the pricing endpoints' raw JSON (see `reference/servers.md` §2, §3, §5).
//!
//! - new-api / Veloera `GET /api/pricing`: `{success, data:[item], group_ratio, usable_group
//!   (V-API: group_names), auto_groups?, vendors?}`; the body is read whole, not just `data`.
//! - one-hub / done-hub `GET /api/available_model` (`model → {groups, owned_by, price}`) and
//!   `GET /api/user_group_map` (`symbol → {ratio, enable, …}`).
//! - new-api `GET /api/user/self/groups` (`group → {ratio, desc}`; `auto` has a string ratio).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Billing, GroupRatio, ModelOffer, SitePricing};

/// Why a pricing body could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum PricingParseError {
    /// `success:false` with the server's message (e.g. "pricing is disabled").
    Server(String),
    /// Not the shape we expect.
    Malformed(String),
}

impl std::fmt::Display for PricingParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PricingParseError::Server(m) => write!(f, "the site said: {m}"),
            PricingParseError::Malformed(m) => write!(f, "unexpected pricing data: {m}"),
        }
    }
}

impl std::error::Error for PricingParseError {}

/// A number, also when sent as a numeric string.
fn num(v: &Value) -> Option<f64> {
    v.as_f64().or_else(|| v.as_str()?.trim().parse().ok()).filter(|x: &f64| x.is_finite())
}

fn field(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(num)
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn group_ratio(v: &Value) -> GroupRatio {
    match num(v) {
        Some(r) if r >= 0.0 => GroupRatio::Ratio(r),
        _ => GroupRatio::NotNumeric(v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())),
    }
}

/// Rejects a `success:false` body with the server's message.
fn check_success(body: &Value) -> Result<(), PricingParseError> {
    if body.get("success").and_then(Value::as_bool) == Some(false) {
        let msg = text(body, "message").unwrap_or_else(|| "request refused".into());
        return Err(PricingParseError::Server(msg));
    }
    Ok(())
}

fn string_list(v: Option<&Value>) -> Option<Vec<String>> {
    let arr = v?.as_array()?;
    Some(arr.iter().filter_map(Value::as_str).map(str::to_string).collect())
}

/// Reads a positive optional ratio; 0 or absent means "the site gives no such meter".
fn meter_ratio(item: &Value, key: &str) -> Option<f64> {
    field(item, key).filter(|r| *r >= 0.0)
}

fn new_api_billing(item: &Value) -> Billing {
    let unknown = |reason: &str| Billing::Unknown { reason: reason.into() };
    if item.get("billing_mode").and_then(Value::as_str).is_some_and(|m| m.eq_ignore_ascii_case("tiered_expr")) {
        return unknown("tiered pricing");
    }
    match item.get("quota_type").and_then(Value::as_i64) {
        Some(1) => match field(item, "model_price") {
            Some(p) if p >= 0.0 => Billing::CallUsd { usd_per_call: p },
            _ => unknown("no per-call price"),
        },
        Some(0) | None => match field(item, "model_ratio") {
            Some(r) if r >= 0.0 => Billing::Ratio {
                model_ratio: r,
                // new-api defaults a missing completion ratio to 1 server-side; we only trust what is sent.
                completion_ratio: meter_ratio(item, "completion_ratio"),
                cache_read_ratio: meter_ratio(item, "cache_ratio"),
                cache_write_ratio: meter_ratio(item, "create_cache_ratio"),
            },
            _ => unknown("no model ratio"),
        },
        Some(_) => unknown("unknown quota type"),
    }
}

/// Parses a new-api / Veloera `GET /api/pricing` body (the whole body, not just `data`).
pub fn parse_new_api_pricing(body: &Value) -> Result<SitePricing, PricingParseError> {
    check_success(body)?;
    let items = body
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| PricingParseError::Malformed("`data` is not a list".into()))?;
    // Current builds send vendors separately and refer to them by id.
    let vendors: BTreeMap<i64, String> = body
        .get("vendors")
        .and_then(Value::as_array)
        .map(|vs| vs.iter().filter_map(|v| Some((v.get("id")?.as_i64()?, text(v, "name")?))).collect())
        .unwrap_or_default();
    let mut models = Vec::with_capacity(items.len());
    let mut endpoint_types = BTreeMap::new();
    for item in items {
        let Some(model) = text(item, "model_name") else { continue };
        if let Some(types) = string_list(item.get("supported_endpoint_types")).filter(|t| !t.is_empty()) {
            endpoint_types.insert(model.clone(), types);
        }
        let vendor = item
            .get("vendor_id")
            .and_then(Value::as_i64)
            .and_then(|id| vendors.get(&id).cloned())
            .or_else(|| text(item, "owner_by"))
            .or_else(|| text(item, "owned_by"));
        models.push(ModelOffer {
            model,
            vendor,
            billing: new_api_billing(item),
            groups: string_list(item.get("enable_groups")),
        });
    }
    let group_ratios = body
        .get("group_ratio")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(g, r)| (g.clone(), group_ratio(r))).collect())
        .unwrap_or_default();
    let usable_groups = body
        .get("usable_group")
        .or_else(|| body.get("group_names"))
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
        .map(|m| m.keys().cloned().collect::<BTreeSet<_>>());
    let auto_groups = string_list(body.get("auto_groups")).unwrap_or_default();
    Ok(SitePricing { models, group_ratios, usable_groups, auto_groups, endpoint_types })
}

fn one_hub_billing(price: Option<&Value>) -> Billing {
    let unknown = |reason: &str| Billing::Unknown { reason: reason.into() };
    let Some(price) = price.filter(|p| p.is_object()) else { return unknown("no price") };
    let input = field(price, "input");
    let output = field(price, "output");
    let kind = price.get("type").and_then(Value::as_str).unwrap_or("tokens");
    match (kind, input) {
        (_, None) => unknown("no price"),
        (_, Some(i)) if i < 0.0 => unknown("price unavailable"),
        ("times", Some(i)) => Billing::CallRatio { ratio_per_call: i },
        ("tokens", Some(i)) => {
            let extra = price.get("extra_ratios");
            let extra_ratio = |keys: &[&str]| {
                keys.iter().find_map(|k| extra.and_then(|e| e.get(*k)).and_then(num)).filter(|r| *r >= 0.0)
            };
            let completion_ratio = match output {
                Some(o) if i > 0.0 && o >= 0.0 => Some(o / i),
                Some(o) if i == 0.0 && o > 0.0 => return unknown("price unavailable"),
                // Both zero: free both ways.
                Some(o) if i == 0.0 && o == 0.0 => Some(1.0),
                _ => None,
            };
            Billing::Ratio {
                model_ratio: i,
                completion_ratio,
                cache_read_ratio: extra_ratio(&["cached_read_tokens", "cached_tokens"]),
                cache_write_ratio: extra_ratio(&["cached_write_tokens"]),
            }
        }
        _ => unknown("unknown price type"),
    }
}

/// Parses one-hub / done-hub `GET /api/available_model` with `GET /api/user_group_map`
/// (`None` when that call failed: every price is then unknown, the models still listed).
/// Groups with `enable:false` are dropped; a model with no groups is in `default`.
pub fn parse_one_hub_pricing(
    available_model: &Value,
    user_group_map: Option<&Value>,
) -> Result<SitePricing, PricingParseError> {
    check_success(available_model)?;
    let data = available_model.get("data").unwrap_or(available_model);
    let map = data.as_object().ok_or_else(|| PricingParseError::Malformed("`data` is not an object".into()))?;
    let mut models: Vec<ModelOffer> = map
        .iter()
        .filter(|(name, _)| !name.trim().is_empty())
        .map(|(name, m)| {
            let groups =
                string_list(m.get("groups")).filter(|g| !g.is_empty()).unwrap_or_else(|| vec!["default".into()]);
            ModelOffer {
                model: name.clone(),
                vendor: text(m, "owned_by"),
                billing: one_hub_billing(m.get("price")),
                groups: Some(groups),
            }
        })
        .collect();
    // Object order is not meaningful: sort by name.
    models.sort_by(|a, b| a.model.cmp(&b.model));
    let mut group_ratios = BTreeMap::new();
    if let Some(ugm) = user_group_map {
        check_success(ugm)?;
        let groups = ugm.get("data").unwrap_or(ugm);
        let groups =
            groups.as_object().ok_or_else(|| PricingParseError::Malformed("group map is not an object".into()))?;
        for (symbol, g) in groups {
            let enabled = g.get("enable").and_then(Value::as_bool).unwrap_or(true);
            let accessible = !g.get("inaccessible").and_then(Value::as_bool).unwrap_or(false);
            if enabled && accessible {
                let ratio = g.get("ratio").map(group_ratio).unwrap_or(GroupRatio::NotNumeric("missing".into()));
                group_ratios.insert(symbol.clone(), ratio);
            }
        }
    }
    let usable_groups = user_group_map.map(|_| group_ratios.keys().cloned().collect());
    Ok(SitePricing { models, group_ratios, usable_groups, auto_groups: Vec::new(), endpoint_types: BTreeMap::new() })
}

/// Parses new-api / Veloera `GET /api/user/self/groups` (`group → {ratio, desc}`, enveloped or
/// not). The `auto` group's ratio is a string ("自动"): it stays [`GroupRatio::NotNumeric`].
pub fn parse_user_groups(body: &Value) -> Result<BTreeMap<String, GroupRatio>, PricingParseError> {
    check_success(body)?;
    let data = body.get("data").unwrap_or(body);
    let map = data.as_object().ok_or_else(|| PricingParseError::Malformed("groups are not an object".into()))?;
    Ok(map
        .iter()
        .map(|(g, v)| {
            let r = v.get("ratio").unwrap_or(v);
            (g.clone(), group_ratio(r))
        })
        .collect())
}
