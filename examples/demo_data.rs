//! Demo data: N accounts of mixed kinds, currencies, states and errors, written into a
//! data dir. Used by `benches/frames.rs`, the layout tests in `tests/ui.rs` and for screenshots:
//!
//!     cargo run --example demo_data -- DATA_DIR [N] [AGE_SECS]
//!
//! AGE_SECS (default 0) dates the states that long ago, so an auto refresh is due at
//! start (the footprint bench measures that burst).
//!     cargo run -- --data-dir DATA_DIR
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use apihub::domain::money::{Amount, CurrencySettings, DisplayType};
use apihub::domain::pricing::{Billing, GroupRatio as PriceGroupRatio, ModelOffer, SitePricing};
use apihub::domain::snapshot::{
    AccountState, ApiKey, CheckinState, ErrorInfo, GroupRatio, Part, Snapshot, TodayUsage, UserInfo,
};
use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use apihub::store::{AccountMeta, Store};

const NAMES: [&str; 10] =
    ["公益站", "Relay", "星河 API", "OpenRouter 中转", "小鸡 API", "DeepLink", "云雾", "AnyRouter", "团队站", "Hub"];
const MODELS: [&str; 12] = [
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "o3-mini",
    "claude-3-5-sonnet-20241022",
    "claude-sonnet-4",
    "gemini-2.5-pro",
    "gemini-2.0-flash",
    "deepseek-chat",
    "deepseek-reasoner",
    "qwen-max",
    "text-embedding-3-small",
];

/// Seeds `n` accounts into `store`, their states as of `now` (unix seconds).
pub fn seed(store: &mut Store, n: usize, now: i64) {
    let kinds = SiteKind::ALL;
    for i in 0..n {
        let kind = kinds[i % kinds.len()];
        let site = i % (n / 2).max(1);
        let id = store
            .upsert_account(&NewAccount {
                site_url: format!("https://{}.relay{site}.example.com", kind.as_str()),
                site_name: format!("{} {site}", NAMES[site % NAMES.len()]),
                kind,
                user_id: (1000 + i).to_string(),
                username: format!("user{i}"),
                auth: AuthMethod::AccessToken,
                credentials: Credentials { access_token: Some(format!("tok{i:032}")), ..Default::default() },
            })
            .expect("seed account");
        let mut meta = AccountMeta::of(&store.account(id).expect("account"));
        meta.group_name = ["", "工作", "personal", "备用"][i % 4].to_string();
        meta.paid_per_usd = (i % 3 == 0).then_some(0.5 + (i % 5) as f64 * 0.5);
        meta.disabled = i % 23 == 22;
        store.update_account_meta(id, &meta).expect("meta");
        store.save_account_state(id, &state(i, now), "2026-11-26").expect("state");
    }
}

fn state(i: usize, now: i64) -> AccountState {
    let mut currency = CurrencySettings::default();
    if i % 4 == 1 {
        currency.display = DisplayType::Cny;
    }
    // Money-native kinds (sub2api, VoAPI v2) report money, no quota: every other
    // VoAPI v2 site bills in CNY.
    let kind = SiteKind::ALL[i % SiteKind::ALL.len()];
    let figure = |quota: i64| {
        if kind.is_money_native() {
            let cur = if kind == SiteKind::VoapiV2 && i.is_multiple_of(2) { "CNY" } else { "USD" };
            Amount::money(quota as f64 / 500_000.0, cur)
        } else {
            Amount::Quota(quota)
        }
    };
    let models: Vec<String> = MODELS.iter().cycle().skip(i % 5).take(4 + i % 9).map(|m| m.to_string()).collect();
    let keys: Vec<ApiKey> = (0..(i % 7) + 1)
        .map(|k| ApiKey {
            id: k as i64 + 1,
            name: format!("key-{k}"),
            key: format!("sk-{i:04}{k:02}abcdefghijklmnopqrstuvwxyz0123456789"),
            masked: false,
            status: if k == 3 { 2 } else { 1 },
            remain: figure(500_000 * k as i64),
            used: figure(12_345 * k as i64),
            unlimited_quota: k % 2 == 0,
            expired_time: if k == 1 { now + 3 * 86_400 } else { -1 },
            group: String::new(),
            models: String::new(),
        })
        .collect();
    let snapshot = Snapshot {
        fetched_at: now - (i as i64 % 90) * 60 - 30,
        system_name: None,
        notice: None,
        currency,
        user: Part::complete(UserInfo {
            id: (1000 + i).to_string(),
            username: format!("user{i}"),
            group: "default".into(),
            role: 1,
            balance: figure(((i * 7_919) % 40_000_000) as i64 + if i.is_multiple_of(11) { 0 } else { 150_000 }),
            used: figure(((i * 104_729) % 90_000_000) as i64),
            ..Default::default()
        }),
        today: Part::complete(TodayUsage {
            spend: figure(((i * 3_571) % 2_500_000) as i64),
            prompt_tokens: Some(((i * 7_717) % 900_000) as i64),
            completion_tokens: Some(((i * 1_231) % 200_000) as i64),
            requests: Some((i % 340) as i64),
        }),
        keys: Part::complete(keys),
        models: Part::complete(models),
        groups: Part::complete(vec![
            GroupRatio { name: "default".into(), ratio: Some(1.0), desc: String::new() },
            GroupRatio { name: "vip".into(), ratio: Some(0.8), desc: String::new() },
        ]),
        checkin: if i.is_multiple_of(3) {
            Part::complete(CheckinState { supported: true, checked_in_today: Some(i.is_multiple_of(2)) })
        } else {
            Part::unsupported()
        },
        pricing: pricing(i),
    };
    let (last_error, consecutive_failures) = match i % 10 {
        3 => (Some(ErrorInfo { kind: "auth".into(), message: "access token invalid (HTTP 401)".into() }), 2),
        7 => (
            Some(ErrorInfo {
                kind: "challenge".into(),
                message: "Cloudflare challenge page instead of JSON: open the site in a browser".into(),
            }),
            1,
        ),
        9 if i % 20 == 9 => {
            (Some(ErrorInfo { kind: "unavailable".into(), message: "connect timed out after 10 s".into() }), 5)
        }
        _ => (None, 0),
    };
    AccountState {
        snapshot: Some(Box::new(snapshot)),
        last_error,
        last_attempt_at: Some(now - 60),
        consecutive_failures,
    }
}

/// Prices for the new-api-like accounts (every other one), "unknown" for some others.
fn pricing(i: usize) -> Part<SitePricing> {
    if i % 4 == 3 {
        return Part::unsupported();
    }
    let models: Vec<ModelOffer> = MODELS
        .iter()
        .enumerate()
        .map(|(m, name)| ModelOffer {
            model: name.to_string(),
            vendor: Some(name.split('-').next().unwrap_or("").to_string()),
            billing: if i % 4 == 2 {
                Billing::Unknown { reason: "no pricing endpoint".into() }
            } else if m == 11 {
                Billing::CallUsd { usd_per_call: 0.002 + (i % 5) as f64 * 0.001 }
            } else {
                Billing::Ratio {
                    model_ratio: [2.5, 0.075, 1.0, 0.55, 1.5, 1.5, 0.625, 0.05, 0.135, 0.275, 0.8, 0.01][m]
                        * (0.8 + (i % 7) as f64 * 0.1),
                    completion_ratio: Some([4.0, 4.0, 4.0, 4.0, 5.0, 5.0, 8.0, 4.0, 4.0, 4.0, 3.0, 1.0][m]),
                    cache_read_ratio: (m < 4).then_some(0.5),
                    cache_write_ratio: None,
                }
            },
            groups: None,
        })
        .collect();
    let mut group_ratios = std::collections::BTreeMap::new();
    group_ratios.insert("default".to_string(), PriceGroupRatio::Ratio(1.0));
    group_ratios.insert("vip".to_string(), PriceGroupRatio::Ratio(0.6 + (i % 4) as f64 * 0.1));
    Part::complete(SitePricing { models, group_ratios, usable_groups: None, ..Default::default() })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: demo_data DATA_DIR [N] [AGE_SECS]");
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let age: i64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let mut store = Store::open(std::path::Path::new(&dir)).expect("open store").store;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 - age;
    seed(&mut store, n, now);
    println!("seeded {n} accounts into {dir}");
}
