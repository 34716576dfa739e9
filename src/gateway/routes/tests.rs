use std::collections::{BTreeMap, HashMap};

use super::*;
use crate::domain::gateway::AliasTarget;
use crate::domain::money::{Amount, CurrencySettings};
use crate::domain::pricing::{Billing, GroupRatio, ModelOffer, SitePricing};
use crate::domain::snapshot::{Part, UserInfo};
use crate::domain::{AuthMethod, Site};
use crate::gateway::protocol::Endpoint;

const NOW: i64 = 1_800_000_000;

fn account(id: AccountId, kind: SiteKind, paid: Option<f64>) -> Account {
    Account {
        id,
        site: Site { id, name: format!("site{id}"), url: format!("http://127.0.0.1:{}", 9000 + id), kind },
        user_id: id.to_string(),
        username: format!("u{id}"),
        auth: AuthMethod::AccessToken,
        group_name: String::new(),
        paid_per_usd: paid,
        disabled: false,
        notes: String::new(),
        low_balance_threshold: None,
        refresh_interval_mins: None,
        name: String::new(),
    }
}

fn key(id: i64, group: &str) -> ApiKey {
    ApiKey {
        id,
        name: format!("k{id}"),
        key: format!("sk-full{id}"),
        status: 1,
        unlimited_quota: true,
        expired_time: -1,
        group: group.into(),
        ..ApiKey::default()
    }
}

fn offer(model: &str, ratio: f64, groups: Option<&[&str]>) -> ModelOffer {
    ModelOffer {
        model: model.into(),
        vendor: None,
        billing: Billing::Ratio {
            model_ratio: ratio,
            completion_ratio: Some(1.0),
            cache_read_ratio: None,
            cache_write_ratio: None,
        },
        groups: groups.map(|g| g.iter().map(|s| s.to_string()).collect()),
    }
}

fn state(balance_quota: i64, keys: Vec<ApiKey>, pricing: Option<SitePricing>, models: &[&str]) -> AccountState {
    AccountState {
        snapshot: Some(Box::new(Snapshot {
            currency: CurrencySettings::default(),
            user: Part::complete(UserInfo {
                balance: Amount::Quota(balance_quota),
                group: "default".into(),
                ..Default::default()
            }),
            keys: Part::complete(keys),
            models: Part::complete(models.iter().map(|s| s.to_string()).collect()),
            pricing: match pricing {
                Some(p) => Part::complete(p),
                None => Part::unsupported(),
            },
            ..Default::default()
        })),
        ..Default::default()
    }
}

fn pricing(offers: Vec<ModelOffer>, groups: &[(&str, f64)]) -> SitePricing {
    SitePricing {
        models: offers,
        group_ratios: groups.iter().map(|(g, r)| (g.to_string(), GroupRatio::Ratio(*r))).collect(),
        ..Default::default()
    }
}

struct World {
    accounts: Vec<Account>,
    states: HashMap<AccountId, AccountState>,
    own: HashMap<AccountId, String>,
    settings: GatewaySettings,
}

impl World {
    fn plan(&self) -> Plan {
        plan(&PlanInput {
            accounts: &self.accounts,
            states: &self.states,
            own_keys: &self.own,
            settings: &self.settings,
            now_unix: NOW,
        })
    }
}

/// Three accounts selling gpt-4o: A (ratio 2.5, paid 7.0), B (ratio 1.25 in group vip ×0.8,
/// paid 3.0), C (no prices, balance the biggest).
fn world() -> World {
    let a = account(1, SiteKind::NewApi, Some(7.0));
    let b = account(2, SiteKind::NewApi, Some(3.0));
    let c = account(3, SiteKind::OneApi, None);
    let mut states = HashMap::new();
    states.insert(
        1,
        state(500_000, vec![key(11, "")], Some(pricing(vec![offer("gpt-4o", 2.5, None)], &[("default", 1.0)])), &[]),
    );
    states.insert(
        2,
        state(
            1_000_000,
            vec![key(21, "vip"), key(22, "default")],
            Some(pricing(
                vec![offer("gpt-4o", 1.25, Some(&["vip", "default"])), offer("vip-only", 1.0, Some(&["vip"]))],
                &[("default", 1.0), ("vip", 0.8)],
            )),
            &[],
        ),
    );
    states.insert(3, state(5_000_000, vec![key(31, "")], None, &["gpt-4o", "text-embedding-3-small"]));
    World { accounts: vec![a, b, c], states, own: HashMap::new(), settings: GatewaySettings::default() }
}

fn order(p: &Plan, model: &str) -> Vec<(AccountId, i64)> {
    p.models[model].iter().map(|i| (p.candidates[*i].account_id, p.candidates[*i].key_id)).collect()
}

#[test]
fn cheapest_ranks_real_cost_then_usd_then_unknown() {
    let p = world().plan();
    // A: 2.5 × 1 → $5/1M in and out → ¥35; B/vip: 1.25 × 0.8 → $2 → ¥6; B/default $2.5 → ¥7.5.
    assert_eq!(order(&p, "gpt-4o"), [(2, 21), (2, 22), (1, 11), (3, 31)]);
    let b_vip = &p.candidates[p.models["gpt-4o"][0]];
    assert!((b_vip.cost_usd.unwrap() - 2.0).abs() < 1e-9);
    assert!((b_vip.cost_real.unwrap() - 6.0).abs() < 1e-9);
    assert_eq!(b_vip.group.as_deref(), Some("vip"));
    // Without a paid ratio B is ranked by USD after every real cost.
    let mut w = world();
    w.accounts[1].paid_per_usd = None;
    assert_eq!(order(&w.plan(), "gpt-4o"), [(1, 11), (2, 21), (2, 22), (3, 31)]);
}

#[test]
fn groups_and_key_limits_decide_what_is_sold() {
    let mut w = world();
    let p = w.plan();
    assert_eq!(order(&p, "vip-only"), [(2, 21)], "the default-group key does not get the vip model");
    // A key limited to other models sells nothing else.
    w.states.get_mut(&1).unwrap().snapshot.as_mut().unwrap().keys.value.as_mut().unwrap()[0].models = "o1".into();
    assert!(!w.plan().models["gpt-4o"].iter().any(|i| w.plan().candidates[*i].account_id == 1));
    // Without pricing, the model list decides.
    assert_eq!(order(&p, "text-embedding-3-small"), [(3, 31)]);
}

#[test]
fn unusable_keys_and_accounts_are_left_out_with_a_note() {
    let mut w = world();
    let keys = w.states.get_mut(&2).unwrap().snapshot.as_mut().unwrap().keys.value.as_mut().unwrap();
    keys[0].status = 2;
    keys[1].masked = true;
    keys[1].key = "sk-ab****yz".into();
    w.states.get_mut(&1).unwrap().snapshot.as_mut().unwrap().keys.value.as_mut().unwrap()[0].expired_time = NOW - 1;
    w.accounts[2].disabled = true;
    let p = w.plan();
    assert!(!p.models.contains_key("gpt-4o"), "{:?}", p.models);
    let reasons: Vec<_> = p.notes.iter().map(|n| format!("{}:{}", n.account_id, n.reason)).collect();
    assert!(reasons.iter().any(|r| r.starts_with("2:key \"k21\" disabled")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("masked")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.starts_with("1:key \"k11\" expired")), "{reasons:?}");
    // Exhausted (limited key with nothing left).
    let mut k = key(1, "");
    k.unlimited_quota = false;
    k.remain = Amount::Quota(0);
    assert_eq!(key_unusable(&k, NOW), Some("exhausted"));
    // Money-native keys: money left decides.
    k.remain = Amount::money(0.5, "USD");
    assert_eq!(key_unusable(&k, NOW), None);
    k.remain = Amount::money(0.0, "USD");
    assert_eq!(key_unusable(&k, NOW), Some("exhausted"));
}

#[test]
fn balance_and_order_policies() {
    let mut w = world();
    w.settings.policy = Policy::Balance;
    assert_eq!(order(&w.plan(), "gpt-4o"), [(3, 31), (2, 21), (2, 22), (1, 11)]);
    w.settings.policy = Policy::Order;
    assert_eq!(order(&w.plan(), "gpt-4o"), [(1, 11), (2, 21), (2, 22), (3, 31)], "the Sites order");
    w.settings.order = vec![3, 1];
    assert_eq!(order(&w.plan(), "gpt-4o"), [(3, 31), (1, 11), (2, 21), (2, 22)]);
}

#[test]
fn aliases_and_pins() {
    let mut w = world();
    w.settings.aliases = BTreeMap::from([(
        "smart".to_string(),
        vec![
            AliasTarget { model: "gpt-4o".into(), account: Some(1) },
            AliasTarget { model: "vip-only".into(), account: None },
        ],
    )]);
    w.settings.pins = BTreeMap::from([("gpt-4o".to_string(), vec![3, 1])]);
    let p = w.plan();
    assert!(p.aliases.contains("smart"));
    assert_eq!(order(&p, "smart"), [(2, 21), (1, 11)], "cheapest first among the alias targets");
    let c = &p.candidates[p.models["smart"][1]];
    assert_eq!(c.upstream_model, "gpt-4o");
    assert_eq!(order(&p, "gpt-4o"), [(3, 31), (1, 11)], "pinned: only those accounts, in that order");
    assert!(p.pinned.contains("gpt-4o"));
}

#[test]
fn endpoints_follow_kind_and_endpoint_types() {
    let mut w = world();
    let site = w.states.get_mut(&1).unwrap().snapshot.as_mut().unwrap().pricing.value.as_mut().unwrap();
    site.models.push(offer("claude-x", 1.0, None));
    site.endpoint_types.insert("claude-x".into(), vec!["anthropic".into()]);
    site.models.push(offer("gemini-only", 1.0, None));
    site.endpoint_types.insert("gemini-only".into(), vec!["gemini".into()]);
    let p = w.plan();
    let claude = &p.candidates[p.models["claude-x"][0]];
    assert!(claude.endpoints.contains(Endpoint::Messages));
    assert!(!claude.endpoints.contains(Endpoint::ChatCompletions));
    assert!(!p.models.contains_key("gemini-only"), "no endpoint of ours: not routable");
    // one-api (account 3) has no /v1/messages.
    let c3 = p.candidates.iter().find(|c| c.account_id == 3).unwrap();
    assert!(!c3.endpoints.contains(Endpoint::Messages));
    assert!(c3.endpoints.contains(Endpoint::Embeddings));
}

#[test]
fn key_only_accounts_use_their_own_key() {
    let mut w = world();
    let mut k = account(4, SiteKind::NewApi, None);
    k.auth = AuthMethod::ApiKey;
    w.accounts.push(k);
    w.states.insert(4, state(0, vec![], None, &["gpt-4o"]));
    w.own.insert(4, "sk-own".into());
    let p = w.plan();
    let c = p.candidates.iter().find(|c| c.account_id == 4).unwrap();
    assert_eq!((c.key_id, c.key.0.as_str(), c.key_name.as_str()), (0, "sk-own", "account key"));
    assert!(!format!("{c:?}").contains("sk-own"), "Debug hides the key");
}

#[test]
fn money_native_balances_rank_in_usd_without_guessing() {
    let mut w = world();
    w.settings.policy = Policy::Balance;
    let money = |amount: f64, cur: &str| Amount::money(amount, cur);
    // Account 2 (B) becomes money-native with $20: first; account 3 (C) in CNY: unknown, last.
    w.states.get_mut(&2).unwrap().snapshot.as_mut().unwrap().user.value.as_mut().unwrap().balance = money(20.0, "USD");
    w.states.get_mut(&3).unwrap().snapshot.as_mut().unwrap().user.value.as_mut().unwrap().balance = money(999.0, "CNY");
    let p = w.plan();
    assert_eq!(order(&p, "gpt-4o"), [(2, 21), (2, 22), (1, 11), (3, 31)]);
    assert_eq!(p.candidates[p.models["gpt-4o"][0]].balance_usd, Some(20.0));
    assert_eq!(p.candidates[p.models["gpt-4o"][3]].balance_usd, None);
}
