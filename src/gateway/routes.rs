//! Candidates and their order: pure functions over the stored accounts, states and settings.
//!
//! A candidate is one (account, key, upstream model) where the account is enabled, the key
//! is enabled, full (not masked), not expired and not exhausted, and the key's group sells
//! the model (the site's pricing when it has one, else its model list). Each candidate
//! knows which endpoints it may serve: the model's `supported_endpoint_types` when the site
//! gives them, the site kind's routes otherwise.
//!
//! Static order per policy (the request path only re-sorts for `fastest`):
//! - `cheapest`: effective price (the pricing panel's workload weights) × the account's
//!   paid ratio, i.e. real cost in the paid currency; candidates whose account has no paid
//!   ratio follow, ranked by USD; unknown prices last;
//! - `balance`: most USD of remaining balance first, unknown last;
//! - `order`: the gateway's account order, then the Sites order.
//!
//! Ties break by account rank, key id, then upstream model name.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::protocol::{EndpointSet, endpoints_from_types, kind_endpoints};
use crate::domain::gateway::{GatewaySettings, Policy};
use crate::domain::money::{Amount, real_cost};
use crate::domain::pricing::{GroupRatio, ModelOffer, PriceRow, SitePricing, effective_usd, price_row};
use crate::domain::snapshot::{AccountState, ApiKey, Snapshot};
use crate::domain::{Account, AccountId, SiteKind};

/// A secret key (Debug never prints it).
#[derive(Clone, PartialEq)]
pub struct Secret(pub(crate) String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<key>")
    }
}

/// One way to serve a model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateInfo {
    /// The account.
    pub account_id: AccountId,
    /// `site / user` for display.
    pub account_label: String,
    /// The site's base URL.
    pub site_url: String,
    /// The site kind (picks the upstream paths).
    pub kind: SiteKind,
    /// The key's id on the site (0 = the account's own key).
    pub key_id: i64,
    /// The key's name.
    pub key_name: String,
    /// The key itself.
    #[serde(skip)]
    pub key: Secret,
    /// The model name on the site.
    pub upstream_model: String,
    /// The group the key bills in, when known.
    pub group: Option<String>,
    /// Endpoints this candidate may serve.
    #[serde(skip)]
    pub endpoints: EndpointSet,
    /// The price row in that group, when the site publishes prices.
    #[serde(skip)]
    pub price: Option<PriceRow>,
    /// Workload-weighted USD (per 1M tokens, or per call).
    pub cost_usd: Option<f64>,
    /// `cost_usd` × the account's paid ratio (in the paid currency).
    pub cost_real: Option<f64>,
    /// Remaining balance in USD of quota.
    pub balance_usd: Option<f64>,
    /// The account's real money per 1 USD of quota (for the real cost of a reply).
    pub paid_per_usd: Option<f64>,
    /// Position in the user's account order.
    pub account_rank: usize,
}

/// Something that kept an account or key out of the table (shown beside the candidates).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanNote {
    /// The account.
    pub account_id: AccountId,
    /// Why, in a few English words.
    pub reason: String,
}

/// The candidates and each client model's static order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Every candidate.
    pub candidates: Vec<CandidateInfo>,
    /// Client model name → candidate indices in the policy's static order.
    pub models: BTreeMap<String, Vec<usize>>,
    /// Client model names that are aliases.
    pub aliases: BTreeSet<String>,
    /// Client model names that are pinned (order fixed by the pin list).
    pub pinned: BTreeSet<String>,
    /// Accounts and keys left out, with why.
    pub notes: Vec<PlanNote>,
}

/// What a plan is made from.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// Every account, in the Sites order.
    pub accounts: &'a [Account],
    /// Their stored states.
    pub states: &'a HashMap<AccountId, AccountState>,
    /// Key-only accounts' own keys.
    pub own_keys: &'a HashMap<AccountId, String>,
    /// The gateway settings.
    pub settings: &'a GatewaySettings,
    /// Now (Unix seconds), for key expiry.
    pub now_unix: i64,
}

/// Why a key cannot be used, or `None` when it can.
pub fn key_unusable(k: &ApiKey, now_unix: i64) -> Option<&'static str> {
    if k.status != 1 {
        return Some(match k.status {
            2 => "disabled",
            3 => "expired",
            4 => "exhausted",
            _ => "not enabled",
        });
    }
    if k.expired_time > 0 && k.expired_time <= now_unix {
        return Some("expired");
    }
    let left = match &k.remain {
        Amount::Quota(q) => *q as f64,
        Amount::Money(c) => c.amount,
    };
    if !k.unlimited_quota && left <= 0.0 {
        return Some("exhausted");
    }
    if k.masked || k.key.contains('*') {
        return Some("masked (reveal it in the app to route with it)");
    }
    None
}

/// The model list a key may use (`models` field), empty = any.
fn key_limit(k: &ApiKey) -> Vec<&str> {
    k.models.split([',', '\n']).map(str::trim).filter(|m| !m.is_empty()).collect()
}

/// A group's numeric ratio, following new-api's `auto` group to its first priced auto group
/// that sells the model.
fn group_price(site: &SitePricing, offer: &ModelOffer, group: &str) -> Option<(String, f64)> {
    let sells = |g: &str| offer.groups.as_ref().is_none_or(|gs| gs.iter().any(|x| x == g));
    match site.group_ratios.get(group) {
        Some(GroupRatio::Ratio(r)) if sells(group) => Some((group.to_string(), *r)),
        _ if group == "auto" => site
            .auto_groups
            .iter()
            .filter(|g| sells(g))
            .find_map(|g| Some((g.clone(), site.group_ratios.get(g)?.value()?))),
        _ => None,
    }
}

/// Whether `group` sells `offer` (a site without group lists sells everything to everyone).
fn group_sells(site: &SitePricing, offer: &ModelOffer, group: Option<&str>) -> bool {
    let Some(group) = group else { return true };
    match &offer.groups {
        None => true,
        Some(gs) if group == "auto" => {
            site.auto_groups.iter().any(|a| gs.contains(a)) || gs.iter().any(|g| g == "auto")
        }
        Some(gs) => gs.iter().any(|g| g == group),
    }
}

/// The balance in USD when that needs no guess (quota through the site's unit, or USD
/// money; money in another currency is unknown and ranks last under `balance`).
fn balance_usd(snap: &Snapshot) -> Option<f64> {
    snap.user.value.as_ref().and_then(|u| u.balance.usd(&snap.currency))
}

fn label(a: &Account, snap: Option<&Snapshot>) -> String {
    let site =
        snap.and_then(|s| s.system_name.clone()).filter(|s| !s.is_empty()).unwrap_or_else(|| a.site.name.clone());
    let user = if a.username.is_empty() { a.user_id.as_str() } else { a.username.as_str() };
    if user.is_empty() { site } else { format!("{site} / {user}") }
}

/// A usable key of an account.
struct KeyUse {
    id: i64,
    name: String,
    key: Secret,
    /// The group it bills in (its own, else the user's).
    group: Option<String>,
    /// Models it is limited to (empty = any).
    limit: Vec<String>,
}

/// The candidates of one account.
fn account_candidates(
    a: &Account,
    rank: usize,
    input: &PlanInput<'_>,
    out: &mut Vec<CandidateInfo>,
    notes: &mut Vec<PlanNote>,
) {
    let note = |notes: &mut Vec<PlanNote>, reason: String| notes.push(PlanNote { account_id: a.id, reason });
    let Some(snap) = input.states.get(&a.id).and_then(|s| s.snapshot.as_ref()) else {
        note(notes, "never refreshed: no keys or models known".into());
        return;
    };
    let user_group = snap.user.value.as_ref().map(|u| u.group.clone()).filter(|g| !g.is_empty());
    let mut keys: Vec<KeyUse> = Vec::new();
    for k in snap.keys.value.iter().flatten() {
        match key_unusable(k, input.now_unix) {
            Some(why) => note(notes, format!("key \"{}\" {why}", k.name)),
            None => {
                let group = Some(k.group.clone()).filter(|g| !g.is_empty()).or_else(|| user_group.clone());
                let limit = key_limit(k).into_iter().map(str::to_string).collect();
                keys.push(KeyUse { id: k.id, name: k.name.clone(), key: Secret(k.key.clone()), group, limit });
            }
        }
    }
    if let Some(own) = input.own_keys.get(&a.id).filter(|k| !k.trim().is_empty()) {
        keys.push(KeyUse {
            id: 0,
            name: "account key".into(),
            key: Secret(own.trim().to_string()),
            group: user_group.clone(),
            limit: Vec::new(),
        });
    }
    if keys.is_empty() {
        note(notes, "no usable key".into());
        return;
    }
    let kind_eps = kind_endpoints(a.site.kind);
    let pricing = snap.pricing.value.as_ref().filter(|p| !p.models.is_empty());
    let weights = input.settings.cost_preset.weights(None);
    let label = label(a, Some(snap));
    let balance = balance_usd(snap);
    let endpoints_of = |model: &str| -> EndpointSet {
        match pricing.and_then(|p| p.endpoint_types.get(model)) {
            Some(types) => endpoints_from_types(types).intersect(kind_eps),
            None => kind_eps,
        }
    };
    for KeyUse { id: key_id, name: key_name, key, group, limit } in &keys {
        let allowed = |m: &str| limit.is_empty() || limit.iter().any(|l| l == m);
        let mut push = |model: &str, price: Option<PriceRow>| {
            let endpoints = endpoints_of(model);
            if endpoints.is_empty() {
                return;
            }
            let cost_usd = price.as_ref().and_then(|p| effective_usd(p, &weights));
            out.push(CandidateInfo {
                account_id: a.id,
                account_label: label.clone(),
                site_url: a.site.url.clone(),
                kind: a.site.kind,
                key_id: *key_id,
                key_name: key_name.clone(),
                key: key.clone(),
                upstream_model: model.to_string(),
                group: price.as_ref().and_then(|p| p.group.clone()).or_else(|| group.clone()),
                endpoints,
                cost_usd,
                cost_real: cost_usd.and_then(|u| real_cost(u, a.paid_per_usd)),
                price,
                balance_usd: balance,
                paid_per_usd: a.paid_per_usd,
                account_rank: rank,
            });
        };
        match pricing {
            Some(site) => {
                for offer in site.models.iter().filter(|o| allowed(&o.model)) {
                    if !group_sells(site, offer, group.as_deref()) {
                        continue;
                    }
                    let priced = match group.as_deref() {
                        Some(g) => group_price(site, offer, g),
                        // No group known: the cheapest usable one.
                        None => site.eligible_groups(offer).into_iter().next(),
                    };
                    let row = priced.map(|g| price_row(offer, Some(g), snap.currency.quota_per_unit));
                    push(&offer.model, row);
                }
            }
            None => {
                for m in snap.models.value.iter().flatten().filter(|m| allowed(m)) {
                    push(m, None);
                }
            }
        }
    }
}

fn cost_key(c: &CandidateInfo) -> (u8, f64) {
    match (c.cost_real, c.cost_usd) {
        (Some(r), _) => (0, r),
        (None, Some(u)) => (1, u),
        _ => (2, 0.0),
    }
}

/// The tie-break every policy ends with.
pub fn tie_break(a: &CandidateInfo, b: &CandidateInfo) -> Ordering {
    a.account_rank
        .cmp(&b.account_rank)
        .then(a.key_id.cmp(&b.key_id))
        .then_with(|| a.upstream_model.cmp(&b.upstream_model))
}

/// The static order of a policy (`fastest` falls back to the tie-break here).
pub fn policy_cmp(policy: Policy, a: &CandidateInfo, b: &CandidateInfo) -> Ordering {
    let first = match policy {
        Policy::Cheapest => {
            let (ta, va) = cost_key(a);
            let (tb, vb) = cost_key(b);
            ta.cmp(&tb).then(va.total_cmp(&vb))
        }
        Policy::Balance => match (a.balance_usd, b.balance_usd) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        },
        Policy::Fastest | Policy::Order => Ordering::Equal,
    };
    first.then_with(|| tie_break(a, b))
}

/// Builds the plan.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    let settings = input.settings;
    let rank_of = |pos: usize, id: AccountId| match settings.order.iter().position(|x| *x == id) {
        Some(p) => p,
        None => settings.order.len() + pos,
    };
    let mut candidates = Vec::new();
    let mut notes = Vec::new();
    for (pos, a) in input.accounts.iter().enumerate() {
        if a.disabled {
            continue;
        }
        account_candidates(a, rank_of(pos, a.id), input, &mut candidates, &mut notes);
    }
    let mut by_model: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, c) in candidates.iter().enumerate() {
        by_model.entry(c.upstream_model.clone()).or_default().push(i);
    }
    let mut aliases = BTreeSet::new();
    for (name, targets) in &settings.aliases {
        let mut list: Vec<usize> = candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                targets.iter().any(|t| t.model == c.upstream_model && t.account.is_none_or(|a| a == c.account_id))
            })
            .map(|(i, _)| i)
            .collect();
        list.dedup();
        by_model.insert(name.clone(), list);
        aliases.insert(name.clone());
    }
    let mut pinned = BTreeSet::new();
    for list in by_model.values_mut() {
        list.sort_by(|x, y| policy_cmp(settings.policy, &candidates[*x], &candidates[*y]));
    }
    for (name, accounts) in &settings.pins {
        if let Some(list) = by_model.get_mut(name) {
            list.retain(|i| accounts.contains(&candidates[*i].account_id));
            // Stable: the policy's order stays within one account.
            list.sort_by_key(|i| accounts.iter().position(|a| *a == candidates[*i].account_id));
            pinned.insert(name.clone());
        }
    }
    Plan { candidates, models: by_model, aliases, pinned, notes }
}

#[cfg(test)]
mod tests;
