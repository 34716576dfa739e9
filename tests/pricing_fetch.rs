//! Prices fetched with the refresh from fake relay sites, normalised into the book.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_relay;

use std::collections::HashMap;

use apihub::domain::pricing::book_from;
use apihub::domain::snapshot::{AccountState, Availability};
use apihub::domain::{Account, AuthMethod, Credentials, Site, SiteKind};
use apihub::relay::{AccountRef, ClientConfig, OriginLimits, RelayClient};
use fake_relay::{FakeConfig, FakeRelay, Variant};

fn client() -> RelayClient {
    RelayClient::new(ClientConfig {
        per_origin: OriginLimits { per_sec: 1000.0, burst: 100, ..OriginLimits::default() },
        ..ClientConfig::default()
    })
    .unwrap()
}

async fn book_for(variant: Variant, kind: SiteKind) -> apihub::domain::pricing::PricingBook {
    let fake = FakeRelay::start(FakeConfig::new(variant)).await;
    let cfg = fake.cfg();
    let target = AccountRef {
        site_url: fake.url.clone(),
        kind,
        user_id: cfg.user_id.to_string(),
        auth: AuthMethod::AccessToken,
    };
    let creds = Credentials { access_token: Some(cfg.token.clone()), ..Default::default() };
    let snap = client().fetch_snapshot(&target, &creds).await.unwrap();
    assert_eq!(snap.pricing.availability, Availability::Complete, "{:?}", snap.pricing.availability);
    let account = Account {
        id: 1,
        site: Site { id: 1, name: "fake".into(), url: fake.url.clone(), kind },
        user_id: cfg.user_id.to_string(),
        username: cfg.username.clone(),
        auth: AuthMethod::AccessToken,
        group_name: String::new(),
        paid_per_usd: None,
        disabled: false,
        notes: String::new(),
        low_balance_threshold: None,
        refresh_interval_mins: None,
        name: String::new(),
    };
    let mut states = HashMap::new();
    states.insert(1, AccountState { snapshot: Some(Box::new(snap)), last_attempt_at: Some(1), ..Default::default() });
    book_from(&[account], &states)
}

#[tokio::test]
async fn new_api_pricing_gives_usd_per_million_by_group() {
    let book = book_for(Variant::NewApiClassic, SiteKind::NewApi).await;
    let rows = &book.accounts[0].rows;
    let gpt = |g: &str| rows.iter().find(|r| r.model == "gpt-4o-mini" && r.group.as_deref() == Some(g)).unwrap();
    // ratio 15 × $2 per 1M × group ratio.
    assert_eq!(gpt("default").input_usd_per_1m, Some(30.0));
    assert_eq!(gpt("vip").input_usd_per_1m, Some(24.0));
    assert_eq!(gpt("vip").output_usd_per_1m, Some(48.0), "completion ratio 2");
    let per_call = rows.iter().find(|r| r.model == "claude-sonnet").unwrap();
    assert_eq!(per_call.usd_per_call, Some(0.04));
    assert_eq!(per_call.input_usd_per_1m, None, "a per-call model has no token price, not 0");
}

#[tokio::test]
async fn one_hub_pricing_uses_the_group_map() {
    let book = book_for(Variant::OneHub, SiteKind::OneHub).await;
    let rows = &book.accounts[0].rows;
    let r = rows.iter().find(|r| r.model == "gpt-4o-mini").unwrap();
    // input ratio 1.5 → $3 per 1M in the model's only group, "default" (ratio 1).
    assert_eq!(r.group.as_deref(), Some("default"));
    assert_eq!(r.input_usd_per_1m, Some(3.0));
    assert_eq!(r.output_usd_per_1m, Some(15.0));
}

#[tokio::test]
async fn kinds_without_pricing_list_models_with_unknown_prices() {
    let book = book_for(Variant::OneApi, SiteKind::OneApi).await;
    let rows = &book.accounts[0].rows;
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.input_usd_per_1m.is_none() && r.usd_per_call.is_none()));
}
