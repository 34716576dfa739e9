//! Worked numbers for the pricing maths (see `reference/clients.md` §8).

use serde_json::json;

use super::*;
use crate::domain::money::{CurrencySettings, DisplayType};

const QPU: f64 = 500_000.0;

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

fn account(rows: Vec<PriceRow>, paid: Option<f64>) -> AccountPricing {
    AccountPricing {
        account_id: 1,
        site_name: "Alpha".into(),
        account_label: "ann".into(),
        kind: SiteKind::NewApi,
        currency: CurrencySettings::default(),
        paid_per_usd: paid,
        balance_usd: Some(10.0),
        fetched_at_unix: Some(100),
        status: RefreshState::Ok,
        rows,
    }
}

fn new_api_example() -> serde_json::Value {
    json!({"success":true,
      "data":[{"model_name":"gpt-4o-mini","quota_type":0,"model_ratio":0.075,"model_price":0,
               "completion_ratio":4,"cache_ratio":0.5,"enable_groups":["default","vip","svip"]}],
      "group_ratio":{"default":1,"vip":0.8,"svip":0.5},"usable_group":{"default":"默认分组","vip":"VIP"}})
}

#[test]
fn ratio_15_times_2_times_group_0_8_is_24_usd_per_million_input() {
    let body = json!({"success":true,
        "data":[{"model_name":"claude-3-opus","quota_type":0,"model_ratio":15,"completion_ratio":5,
                 "enable_groups":["vip"]}],
        "group_ratio":{"vip":0.8},"usable_group":{"vip":"VIP"}});
    let site = parse_new_api_pricing(&body).unwrap();
    let rows = normalise(&site, QPU);
    assert_eq!(rows.len(), 1);
    assert!(close(rows[0].input_usd_per_1m, 24.0), "{:?}", rows[0].input_usd_per_1m);
    // Completion ratio 5: output = 24 × 5.
    assert!(close(rows[0].output_usd_per_1m, 120.0));
    assert_eq!(rows[0].group.as_deref(), Some("vip"));
    assert!(rows[0].cheapest_group);
    assert_eq!(rows[0].cache_read_usd_per_1m, None, "no cache ratio given: unknown, not 0");
    assert_eq!(rows[0].usd_per_call, None);
}

#[test]
fn clients_example_1_usable_groups_completion_and_cache() {
    let site = parse_new_api_pricing(&new_api_example()).unwrap();
    let rows = normalise(&site, QPU);
    // svip is enabled but not usable: only default and vip, vip (0.8) cheapest.
    let groups: Vec<_> = rows.iter().map(|r| r.group.clone().unwrap()).collect();
    assert_eq!(groups, ["vip", "default"]);
    let vip = &rows[0];
    assert!(vip.cheapest_group && !rows[1].cheapest_group);
    assert!(close(vip.input_usd_per_1m, 0.12));
    assert!(close(vip.output_usd_per_1m, 0.48));
    assert!(close(vip.cache_read_usd_per_1m, 0.06));
    assert_eq!(vip.cache_write_usd_per_1m, None);
    // Default preset of the reference (84.54/15.46): 0.1757/1M; paid 2.0 → 0.351.
    let w = Weights { input_pct: 84.54, output_pct: 15.46, cache_read_pct: 0.0, cache_write_pct: 0.0 };
    let e = effective_usd(vip, &w).unwrap();
    assert!((e - 0.175_656).abs() < 1e-6, "{e}");
    assert!((crate::domain::money::real_cost(e, Some(2.0)).unwrap() - 0.351_312).abs() < 1e-6);
}

#[test]
fn per_call_new_api_is_usd_times_group_ratio() {
    let body = json!({"success":true,
        "data":[{"model_name":"mj_imagine","quota_type":1,"model_price":0.1,"model_ratio":0,"enable_groups":["default","vip"]}],
        "group_ratio":{"default":1,"vip":0.5},"usable_group":{"default":"","vip":""}});
    let rows = normalise(&parse_new_api_pricing(&body).unwrap(), QPU);
    assert_eq!(rows[0].group.as_deref(), Some("vip"));
    assert!(close(rows[0].usd_per_call, 0.05));
    assert!(close(rows[1].usd_per_call, 0.1));
    assert_eq!(rows[0].input_usd_per_1m, None);
    assert_eq!(rows[0].billing_type(), Some(BillingType::PerCall));
    // A per-call row's effective price is its per-call price, whatever the weights.
    assert!(close(effective_usd(&rows[0], &Weights::default()), 0.05));
    // The per-call price does not depend on quota_per_unit.
    let big = normalise(&parse_new_api_pricing(&body).unwrap(), 1_000_000.0);
    assert!(close(big[0].usd_per_call, 0.05));
}

#[test]
fn one_hub_tokens_times_cache_and_groups() {
    let models = json!({"success":true,"data":{
        "claude-sonnet":{"groups":["default"],"owned_by":"Anthropic",
            "price":{"type":"tokens","input":1.5,"output":7.5,"extra_ratios":{"cached_read_tokens":0.1}}},
        "mj-imagine":{"groups":["default","half"],"owned_by":"Midjourney","price":{"type":"times","input":20,"output":0}},
        "no-groups":{"groups":[],"owned_by":"X","price":{"type":"tokens","input":1,"output":1}},
        "broken":{"groups":["default"],"price":{"type":"tokens","input":0,"output":3}},
        "locked-out":{"groups":["vip"],"price":{"type":"tokens","input":1,"output":2}}}});
    let groups = json!({"success":true,"data":{
        "default":{"id":1,"symbol":"default","name":"默认","ratio":1,"enable":true},
        "half":{"symbol":"half","ratio":0.5,"enable":true},
        "vip":{"symbol":"vip","ratio":0.1,"enable":false}}});
    let site = parse_one_hub_pricing(&models, Some(&groups)).unwrap();
    let rows = normalise(&site, QPU);
    let find = |m: &str| rows.iter().find(|r| r.model == m).unwrap();
    let sonnet = find("claude-sonnet");
    assert!(close(sonnet.input_usd_per_1m, 3.0));
    assert!(close(sonnet.output_usd_per_1m, 15.0));
    assert!(close(sonnet.cache_read_usd_per_1m, 0.30));
    assert_eq!(sonnet.cache_write_usd_per_1m, None);
    assert_eq!(sonnet.vendor.as_deref(), Some("Anthropic"));
    // Reference example 2, tracelab coding-agent weights: 0.4647 / 1M.
    let w = Weights { input_pct: 4.25, output_pct: 0.34, cache_read_pct: 95.41, cache_write_pct: 0.0 };
    assert!((effective_usd(sonnet, &w).unwrap() - 0.4647).abs() < 1e-4);
    // A weight on a meter the site does not price: not comparable, never free.
    let w2 = Weights { cache_write_pct: 10.0, ..w };
    assert_eq!(effective_usd(sonnet, &w2), None);
    // times: 20 × 0.5 × 0.002 = $0.02 per call in the cheapest group.
    let mj = find("mj-imagine");
    assert_eq!(mj.group.as_deref(), Some("half"));
    assert!(close(mj.usd_per_call, 0.02));
    // Empty groups mean `default`.
    assert_eq!(find("no-groups").group.as_deref(), Some("default"));
    // Input 0 with an output price: unavailable, listed as unknown.
    let broken = find("broken");
    assert!(matches!(broken.billing, Billing::Unknown { .. }));
    assert_eq!((broken.input_usd_per_1m, broken.output_usd_per_1m), (None, None));
    // Only group is disabled: listed, no group, unknown price.
    let locked = find("locked-out");
    assert_eq!(locked.group, None);
    assert_eq!(locked.input_usd_per_1m, None);
}

#[test]
fn one_hub_without_group_map_keeps_models_with_unknown_prices() {
    let models =
        json!({"success":true,"data":{"m":{"groups":["default"],"price":{"type":"tokens","input":1,"output":1}}}});
    let rows = normalise(&parse_one_hub_pricing(&models, None).unwrap(), QPU);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].input_usd_per_1m, None);
    assert_eq!(rows[0].group, None);
}

#[test]
fn auto_group_with_a_string_ratio_is_never_eligible() {
    let body = json!({"success":true,
        "data":[{"model_name":"gpt-4o","quota_type":0,"model_ratio":1.25,"completion_ratio":4,
                 "enable_groups":["default","auto","vip"]}],
        "group_ratio":{"default":1,"auto":"自动","vip":"0.5"},
        "usable_group":{"default":"","auto":"自动分组"},
        "auto_groups":["default","vip"]});
    let site = parse_new_api_pricing(&body).unwrap();
    assert_eq!(site.group_ratios["auto"], GroupRatio::NotNumeric("自动".into()));
    // A numeric string is a number.
    assert_eq!(site.group_ratios["vip"], GroupRatio::Ratio(0.5));
    assert_eq!(site.auto_groups, ["default", "vip"]);
    // vip is cheaper but not usable; auto is usable but has no numeric ratio.
    let groups = site.eligible_groups(&site.models[0]);
    assert_eq!(groups, vec![("default".to_string(), 1.0)]);
    // The account's own groups (`/api/user/self/groups`) also carry the string ratio.
    let mine = parse_user_groups(&json!({"success":true,"data":{
        "default":{"ratio":1,"desc":"默认"},"vip":{"ratio":0.6,"desc":"VIP"},"auto":{"ratio":"自动","desc":""}}}))
    .unwrap();
    assert!(mine["auto"].value().is_none());
    let site = site.with_user_groups(mine);
    let groups = site.eligible_groups(&site.models[0]);
    assert_eq!(groups, vec![("vip".to_string(), 0.6), ("default".to_string(), 1.0)]);
}

#[test]
fn eligibility_edge_cases() {
    // No usable_group: every group with a numeric ratio counts; ties by name.
    let body = json!({"success":true,
        "data":[{"model_name":"a","quota_type":0,"model_ratio":1,"enable_groups":["z","y","ghost"]},
                {"model_name":"b","quota_type":0,"model_ratio":1},
                {"model_name":"c","quota_type":0,"model_ratio":1,"enable_groups":[]}],
        "group_ratio":{"z":0.5,"y":0.5,"w":2}});
    let site = parse_new_api_pricing(&body).unwrap();
    assert_eq!(site.usable_groups, None);
    let g = |i: usize| site.eligible_groups(&site.models[i]).into_iter().map(|(g, _)| g).collect::<Vec<_>>();
    assert_eq!(g(0), ["y", "z"], "ghost has no ratio; ties sorted by name");
    assert_eq!(g(1), ["y", "z", "w"], "no enable_groups: every priced group");
    assert!(g(2).is_empty(), "enabled in no group");
    let rows = normalise(&site, QPU);
    let c: Vec<_> = rows.iter().filter(|r| r.model == "c").collect();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].group, None);
    assert_eq!(c[0].input_usd_per_1m, None, "no usable group: unknown, not free");
}

#[test]
fn free_is_zero_and_unknown_stays_unknown() {
    let body = json!({"success":true,
        "data":[{"model_name":"free","quota_type":0,"model_ratio":0,"completion_ratio":1,"enable_groups":["default"]},
                {"model_name":"noratio","quota_type":0,"enable_groups":["default"]},
                {"model_name":"tiered","quota_type":0,"model_ratio":1,"billing_mode":"tiered_expr","enable_groups":["default"]}],
        "group_ratio":{"default":1}});
    let rows = normalise(&parse_new_api_pricing(&body).unwrap(), QPU);
    assert_eq!(rows[0].input_usd_per_1m, Some(0.0));
    assert_eq!(rows[0].output_usd_per_1m, Some(0.0));
    assert_eq!(rows[1].input_usd_per_1m, None);
    assert!(matches!(rows[1].billing, Billing::Unknown { .. }));
    assert!(matches!(rows[2].billing, Billing::Unknown { .. }));
    assert_eq!(effective_usd(&rows[1], &Weights::default()), None);
    // Sites without pricing list their models with unknown prices.
    let rows = normalise(&SitePricing::unpriced(["m1".to_string()]), QPU);
    assert_eq!(rows[0].model, "m1");
    assert_eq!(rows[0].billing_type(), None);
}

#[test]
fn errors_and_veloera_shapes() {
    let err = parse_new_api_pricing(&json!({"success":false,"message":"pricing is disabled"})).unwrap_err();
    assert_eq!(err, PricingParseError::Server("pricing is disabled".into()));
    assert!(matches!(parse_new_api_pricing(&json!({"success":true,"data":{}})), Err(PricingParseError::Malformed(_))));
    // Veloera: old shape (no auto_groups, no vendors), owner_by as vendor; V-API: group_names.
    let body = json!({"success":true,"data":[{"model_name":"deepseek-chat","quota_type":0,"model_ratio":0.135,
        "completion_ratio":2,"owner_by":"deepseek","enable_groups":["default"]}],
        "group_ratio":{"default":1},"group_names":{"default":"默认"}});
    let site = parse_new_api_pricing(&body).unwrap();
    assert_eq!(site.models[0].vendor.as_deref(), Some("deepseek"));
    assert_eq!(site.usable_groups.as_ref().map(|u| u.len()), Some(1));
    // Current new-api: vendor by id.
    let body = json!({"success":true,"vendors":[{"id":3,"name":"OpenAI"}],
        "data":[{"model_name":"gpt","quota_type":0,"model_ratio":1,"vendor_id":3}],"group_ratio":{}});
    assert_eq!(parse_new_api_pricing(&body).unwrap().models[0].vendor.as_deref(), Some("OpenAI"));
}

#[test]
fn cny_site_currency_and_paid_ratio() {
    let cs = CurrencySettings { display: DisplayType::Cny, usd_exchange_rate: 7.3, ..Default::default() };
    let (amount, sym) = usd_to_site_currency(24.0, &cs);
    assert!((amount - 175.2).abs() < 1e-9);
    assert_eq!(sym, "¥");
    let usd = CurrencySettings::default();
    assert_eq!(usd_to_site_currency(24.0, &usd), (24.0, "$"));
    // A site with its own quota per unit: ratio 15 × group 0.8 at 1 000 000 quota/USD = $12 / 1M.
    let site = parse_new_api_pricing(&json!({"success":true,
        "data":[{"model_name":"m","quota_type":0,"model_ratio":15,"enable_groups":["vip"]}],"group_ratio":{"vip":0.8}}))
    .unwrap();
    let rows = normalise(&site, 1_000_000.0);
    assert!(close(rows[0].input_usd_per_1m, 12.0));
    // Real cost: paid 2.0 per USD.
    let mut a = account(rows, Some(2.0));
    a.currency = cs;
    assert_eq!(compare::in_unit(12.0, PriceUnit::RealCost, &a, "CNY"), Some((24.0, "¥")));
    assert_eq!(compare::in_unit(12.0, PriceUnit::SiteCurrency, &a, "CNY").map(|x| x.1), Some("¥"));
    a.paid_per_usd = None;
    assert_eq!(compare::in_unit(12.0, PriceUnit::RealCost, &a, "CNY"), None, "no paid ratio: unknown");
}

#[test]
fn wildcards_and_substrings() {
    assert!(wildcard_match("", "anything"));
    assert!(wildcard_match("4o", "GPT-4o-mini"));
    assert!(wildcard_match("gpt-*", "GPT-4o-mini"));
    assert!(!wildcard_match("gpt-*", "chatgpt-4o"));
    assert!(wildcard_match("*mini", "gpt-4o-mini"));
    assert!(!wildcard_match("*mini", "gpt-4o-mini-2024"));
    assert!(wildcard_match("claude*sonnet*", "claude-3-5-sonnet-20241022"));
    assert!(!wildcard_match("claude*opus", "claude-3-5-sonnet"));
    assert!(wildcard_match("*", ""));
}

fn book_of_two() -> PricingBook {
    let mk = |model_ratio: f64, gr: f64, site: &str, id: i64, paid: Option<f64>| {
        let body = json!({"success":true,
            "data":[{"model_name":"gpt-4o","quota_type":0,"model_ratio":model_ratio,"completion_ratio":4,
                     "owner_by":"OpenAI","enable_groups":["default"]},
                    {"model_name":"claude","quota_type":0,"model_ratio":1.5,"completion_ratio":5,
                     "owner_by":"Anthropic","enable_groups":["default"]},
                    {"model_name":"mystery","quota_type":0,"enable_groups":["default"]}],
            "group_ratio":{"default":gr}});
        let mut a = account(normalise(&parse_new_api_pricing(&body).unwrap(), QPU), paid);
        a.site_name = site.into();
        a.account_id = id;
        a
    };
    PricingBook {
        accounts: vec![mk(1.25, 1.0, "Alpha", 1, Some(7.0)), mk(1.25, 0.5, "Beta", 2, Some(1.0))],
        ..Default::default()
    }
}

#[test]
fn comparison_filters_ranks_and_highlights() {
    let book = book_of_two();
    let opts = CompareOptions::default();
    let c = build_comparison(&book, &opts);
    assert_eq!(c.rows.len(), 6);
    assert_eq!(c.model_count, 3);
    assert_eq!(c.sites, ["Alpha", "Beta"]);
    assert_eq!(c.vendors, ["Anthropic", "OpenAI"]);
    // Sorted by effective USD ascending, unknown last.
    let eff: Vec<_> = c.rows.iter().map(|r| r.effective_usd).collect();
    assert!(eff.windows(2).all(|w| match (w[0], w[1]) {
        (Some(a), Some(b)) => a <= b,
        (None, Some(_)) => false,
        _ => true,
    }));
    assert_eq!(eff.last().copied().flatten(), None);
    // Beta (group 0.5) is cheapest in USD for both priced models; mystery is never cheapest.
    for r in &c.rows {
        let a = &book.accounts[r.account];
        let m = &a.rows[r.row].model;
        assert_eq!(r.cheapest, m != "mystery" && a.site_name == "Beta", "{m} on {}", a.site_name);
    }
    // Real cost: Alpha pays 7.0 per USD, Beta 1.0: Beta still cheapest; paid 7 × 2.5 × .85... checked by value.
    let real = build_comparison(&book, &CompareOptions { unit: PriceUnit::RealCost, ..opts.clone() });
    let first = &real.rows[0];
    assert_eq!(book.accounts[first.account].site_name, "Beta");
    // Filter narrows: wildcard and site.
    let mut f = opts.clone();
    f.filter.model_pattern = "gpt*".into();
    assert_eq!(build_comparison(&book, &f).rows.len(), 2);
    f.filter.site = Some("Alpha".into());
    let only = build_comparison(&book, &f);
    assert_eq!(only.rows.len(), 1);
    assert!(only.rows[0].cheapest, "cheapest among the shown rows");
    f.filter = RowFilter { vendor: Some("Anthropic".into()), ..Default::default() };
    assert_eq!(build_comparison(&book, &f).rows.len(), 2);
    f.filter = RowFilter { billing: Some(BillingType::PerCall), ..Default::default() };
    assert!(build_comparison(&book, &f).rows.is_empty());
    // Sort by model descending.
    let by_model = build_comparison(&book, &CompareOptions { sort: SortColumn::Model, descending: true, ..opts });
    assert_eq!(book.accounts[by_model.rows[0].account].rows[by_model.rows[0].row].model, "mystery");
}

#[test]
fn real_cost_can_reverse_the_usd_ranking() {
    let mut book = book_of_two();
    // Beta is cheaper in USD but its quota costs 10 per USD; Alpha's costs 1.
    book.accounts[0].paid_per_usd = Some(1.0);
    book.accounts[1].paid_per_usd = Some(10.0);
    let only_gpt = |unit| CompareOptions {
        unit,
        filter: RowFilter { model_pattern: "gpt-4o".into(), ..Default::default() },
        ..Default::default()
    };
    let usd = build_comparison(&book, &only_gpt(PriceUnit::Usd));
    assert_eq!(book.accounts[usd.rows[0].account].site_name, "Beta");
    let real = build_comparison(&book, &only_gpt(PriceUnit::RealCost));
    assert_eq!(book.accounts[real.rows[0].account].site_name, "Alpha");
    assert!(real.rows[0].cheapest && !real.rows[1].cheapest);
}

#[test]
fn the_formula_shows_the_numbers() {
    let body = json!({"success":true,
        "data":[{"model_name":"claude-3-opus","quota_type":0,"model_ratio":15,"completion_ratio":5,"enable_groups":["vip"]}],
        "group_ratio":{"vip":0.8}});
    let rows = normalise(&parse_new_api_pricing(&body).unwrap(), QPU);
    let mut a = account(rows.clone(), Some(2.0));
    a.currency = CurrencySettings { display: DisplayType::Cny, usd_exchange_rate: 7.3, ..Default::default() };
    let lines = explain(&rows[0], &a, &Preset::Chat.weights(None), "CNY");
    let get = |k: &str| lines.iter().find(|l| l.label_key == k).and_then(|l| l.expr.clone()).unwrap_or_default();
    assert_eq!(get("pricing.formula.group"), "vip × 0.8");
    assert_eq!(get("pricing.formula.input"), "15 × 0.8 × 1000000 / 500000 = $24.00 / 1M");
    assert_eq!(get("pricing.formula.output"), "$24.00 × 5 = $120.00 / 1M");
    // 24 × 0.85 + 120 × 0.15 = 38.4
    assert_eq!(get("pricing.formula.effective"), "24.00 × 85% + 120.00 × 15% = $38.40 / 1M");
    assert_eq!(get("pricing.formula.site_currency"), "$38.40 × 7.3 = ¥280.32");
    assert_eq!(get("pricing.formula.real"), "$38.40 × 2 = ¥76.80");
    let cache = lines.iter().find(|l| l.label_key == "pricing.formula.cache_read").unwrap();
    assert_eq!(cache.expr, None, "unknown is shown as unknown");
    // A workload that weighs a meter the site does not price names the missing meter.
    let w = Weights { input_pct: 50.0, output_pct: 0.0, cache_read_pct: 50.0, cache_write_pct: 0.0 };
    let lines = explain(&rows[0], &a, &w, "CNY");
    let eff = lines.iter().find(|l| l.label_key == "pricing.formula.effective").unwrap();
    assert_eq!(eff.expr.as_deref(), Some("24.00 × 50% + cache read? × 50% = ?"));
    assert!(lines.iter().find(|l| l.label_key == "pricing.formula.real").unwrap().expr.is_none());
}

#[test]
fn presets() {
    assert_eq!(Preset::CodingAgent.weights(None).input_pct, 98.7);
    assert_eq!(Preset::CodingAgent.weights(None).output_pct, 1.3);
    assert_eq!(Preset::Chat.weights(None).output_pct, 15.0);
    let custom = Weights { input_pct: 50.0, output_pct: 50.0, cache_read_pct: 0.0, cache_write_pct: 0.0 };
    assert_eq!(Preset::Custom.weights(Some(custom)), custom);
    assert_eq!(Preset::parse("Coding-Agent"), Some(Preset::CodingAgent));
}

#[test]
fn the_offer_index_finds_the_same_offers_as_a_scan_of_every_row() {
    let book = book_of_two();
    let index = compare::offer_index(&book);
    let mut models: Vec<&str> = book.accounts.iter().flat_map(|a| a.rows.iter().map(|r| r.model.as_str())).collect();
    models.sort();
    models.dedup();
    assert!(models.len() >= 2);
    for opts in [CompareOptions::default(), CompareOptions { unit: PriceUnit::RealCost, ..Default::default() }] {
        for m in &models {
            let scanned = compare::model_offers(&book, m, &opts);
            assert!(!scanned.is_empty(), "{m}");
            assert_eq!(compare::indexed_offers(&book, &index, m, &opts), scanned, "{m}");
        }
    }
    // Only the offered rows are indexed (one per account and model), and a model no
    // account lists has none.
    assert!(index.values().all(|v| {
        let mut accounts: Vec<u32> = v.iter().map(|&(a, _)| a).collect();
        accounts.dedup();
        accounts.len() == v.len()
    }));
    assert!(index.values().all(|v| v.iter().all(|&(a, r)| {
        let row = &book.accounts[a as usize].rows[r as usize];
        row.cheapest_group || row.group.is_none()
    })));
    assert!(compare::indexed_offers(&book, &index, "gpt", &CompareOptions::default()).is_empty());
}

#[test]
fn model_offers_lists_every_account_cheapest_first() {
    let book = book_of_two();
    let offers = compare::model_offers(&book, "gpt-4o", &CompareOptions::default());
    let sites: Vec<_> = offers.iter().map(|r| book.accounts[r.account].site_name.as_str()).collect();
    assert_eq!(sites, ["Beta", "Alpha"], "group 0.5 beats group 1");
    assert!(offers[0].cheapest && !offers[1].cheapest);
    // Indices point at the real rows of the book.
    assert!(offers.iter().all(|r| book.accounts[r.account].rows[r.row].model == "gpt-4o"));
    // An exact name: "gpt" matches nothing, unlike the substring filter.
    assert!(compare::model_offers(&book, "gpt", &CompareOptions::default()).is_empty());
    // Unknown prices are listed last, never cheapest.
    let mystery = compare::model_offers(&book, "mystery", &CompareOptions::default());
    assert_eq!(mystery.len(), 2);
    assert!(mystery.iter().all(|r| !r.cheapest && r.effective_usd.is_none()));
}

#[test]
fn per_call_prices_rank_after_token_prices_not_among_them() {
    // A per-call price of $0.002 is not "cheaper" than $2.5 per 1M tokens.
    let body = json!({"success":true,
        "data":[{"model_name":"gpt-4o","quota_type":0,"model_ratio":1.25,"completion_ratio":4,"enable_groups":["default"]},
                {"model_name":"mj-imagine","quota_type":1,"model_price":0.002,"enable_groups":["default"]},
                {"model_name":"gpt-4o-mini","quota_type":0,"model_ratio":0.075,"completion_ratio":4,"enable_groups":["default"]},
                {"model_name":"dall-e-3","quota_type":1,"model_price":0.04,"enable_groups":["default"]}],
        "group_ratio":{"default":1}});
    let book = PricingBook {
        accounts: vec![account(normalise(&parse_new_api_pricing(&body).unwrap(), QPU), Some(7.0))],
        ..Default::default()
    };
    for sort in [SortColumn::Effective, SortColumn::RealCost] {
        let c = build_comparison(&book, &CompareOptions { sort, ..Default::default() });
        let models: Vec<_> = c.rows.iter().map(|r| book.accounts[r.account].rows[r.row].model.as_str()).collect();
        assert_eq!(models, ["gpt-4o-mini", "gpt-4o", "mj-imagine", "dall-e-3"], "{sort:?}");
    }
    // Sorting by the per-call column alone ranks by that price.
    let c = build_comparison(&book, &CompareOptions { sort: SortColumn::PerCall, ..Default::default() });
    assert_eq!(book.accounts[c.rows[0].account].rows[c.rows[0].row].model, "mj-imagine");
}

#[test]
fn supported_endpoint_types_are_kept_per_model() {
    let body = json!({"success":true,
        "data":[{"model_name":"claude-x","quota_type":0,"model_ratio":1,"supported_endpoint_types":["anthropic","openai"]},
                {"model_name":"plain","quota_type":0,"model_ratio":1},
                {"model_name":"empty","quota_type":0,"model_ratio":1,"supported_endpoint_types":[]}],
        "group_ratio":{"default":1}});
    let site = parse_new_api_pricing(&body).unwrap();
    assert_eq!(site.endpoint_types.get("claude-x").unwrap(), &["anthropic", "openai"]);
    assert!(!site.endpoint_types.contains_key("plain"), "not said: absent");
    assert!(!site.endpoint_types.contains_key("empty"), "an empty list says nothing");
    // Stored snapshots from before the field still read.
    let old: SitePricing =
        serde_json::from_value(json!({"models":[],"group_ratios":{},"usable_groups":null,"auto_groups":[]})).unwrap();
    assert!(old.endpoint_types.is_empty());
}
