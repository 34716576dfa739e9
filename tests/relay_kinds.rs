//! Every site kind against its fake: snapshot values asserted against what the fake holds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_relay;

use apihub::domain::money::Amount;
use apihub::domain::snapshot::{Availability, Snapshot};
use apihub::domain::time::local_day_window;
use apihub::domain::{AuthMethod, Credentials, SiteKind};
use apihub::relay::{AccountRef, ClientConfig, OriginLimits, ProxySetting, RelayClient};
use fake_relay::{FakeConfig, FakeRelay, Variant, key_of, masked};
use serde_json::json;

fn client() -> RelayClient {
    RelayClient::new(ClientConfig {
        proxy: ProxySetting::Direct,
        request_timeout_secs: 10,
        per_origin: OriginLimits { max_in_flight: 2, per_sec: 1000.0, burst: 100, ..OriginLimits::default() },
        ..ClientConfig::default()
    })
    .unwrap()
}

fn account(f: &FakeRelay, kind: SiteKind, auth: AuthMethod) -> AccountRef {
    AccountRef { site_url: f.url.clone(), kind, user_id: f.cfg().user_id.to_string(), auth }
}

fn token_creds(f: &FakeRelay) -> Credentials {
    Credentials { access_token: Some(f.cfg().token), ..Default::default() }
}

async fn snap(f: &FakeRelay, kind: SiteKind) -> Snapshot {
    client().fetch_snapshot(&account(f, kind, AuthMethod::AccessToken), &token_creds(f)).await.unwrap()
}

/// The parts every One API-family kind must get right.
fn assert_common(s: &Snapshot, f: &FakeRelay) {
    let cfg = f.cfg();
    let user = s.user.value.as_ref().unwrap();
    assert_eq!(s.user.availability, Availability::Complete);
    assert_eq!(user.balance, Amount::Quota(cfg.quota));
    assert_eq!(user.used, Amount::Quota(cfg.used_quota));
    assert_eq!(user.id, cfg.user_id.to_string());
    assert_eq!(user.request_count, cfg.request_count);

    let (start, end) = local_day_window();
    let today = s.today.value.as_ref().unwrap();
    assert_eq!(s.today.availability, Availability::Complete, "{:?}", s.today);
    assert_eq!(today.spend, Amount::Quota(cfg.today_spend(start, end)));
    let (requests, prompt, completion) = cfg.today_model_rows(start, end);
    assert_eq!(today.requests, Some(requests));
    assert_eq!(today.prompt_tokens, Some(prompt));
    assert_eq!(today.completion_tokens, Some(completion));

    let keys = s.keys.value.as_ref().unwrap();
    assert_eq!(s.keys.availability, Availability::Complete);
    assert_eq!(keys.len(), cfg.key_count);
    let mut ids: Vec<i64> = keys.iter().map(|k| k.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), cfg.key_count, "no key twice");
    assert!(keys.iter().all(|k| k.key.starts_with("sk-")));

    assert!(!f.paths().iter().any(|p| p.starts_with("/api/user/token")), "never rotates the token");
    assert!(!f.paths().iter().any(|p| p.starts_with("/api/token?")), "always the trailing slash");
}

fn key_pages(f: &FakeRelay) -> usize {
    f.paths().iter().filter(|p| p.starts_with("/api/token/")).count()
}

#[tokio::test]
async fn one_api_usd_ten_keys_per_page() {
    let f = FakeRelay::start(FakeConfig::new(Variant::OneApi)).await;
    let s = snap(&f, SiteKind::OneApi).await;
    assert_common(&s, &f);
    assert_eq!(s.currency.currency(), "USD");
    assert_eq!(s.user.value.as_ref().unwrap().balance.text(&s.currency), "$7.30");
    assert_eq!(s.system_name.as_deref(), Some("One API"));
    assert_eq!(s.notice.as_deref(), Some("Welcome"));
    assert!(key_pages(&f) >= 3, "25 keys at 10 per page");
    let keys = s.keys.value.unwrap();
    assert!(keys.iter().any(|k| k.key == format!("sk-{}", key_of(Variant::OneApi, 7)) && !k.masked));
    assert_eq!(s.models.value.unwrap(), vec!["claude-sonnet", "deepseek-chat", "gpt-4o-mini"]);
    assert_eq!(s.groups.availability, Availability::Unsupported);
    assert_eq!(s.checkin.availability, Availability::Unsupported);
}

#[tokio::test]
async fn new_api_classic_cny_checkin_and_auto_group() {
    let mut cfg = FakeConfig::new(Variant::NewApiClassic);
    cfg.key_count = 250;
    cfg.status_extra = json!({"quota_display_type": "CNY", "usd_exchange_rate": 7.3, "checkin_enabled": true});
    cfg.checked_in_today = true;
    let f = FakeRelay::start(cfg).await;
    let s = snap(&f, SiteKind::NewApi).await;
    assert_common(&s, &f);
    assert_eq!(s.currency.currency(), "CNY");
    assert_eq!(s.currency.format_quota(3_650_000), "¥53.29");
    assert_eq!(key_pages(&f), 3, "250 keys, 100 per page, p=0 ≡ p=1 handled");
    let groups = s.groups.value.unwrap();
    let auto = groups.iter().find(|g| g.name == "auto").unwrap();
    assert_eq!(auto.ratio, None);
    assert_eq!(groups.iter().find(|g| g.name == "vip").unwrap().ratio, Some(0.8));
    let c = s.checkin.value.unwrap();
    assert!(c.supported);
    assert_eq!(c.checked_in_today, Some(true));
    assert_eq!(s.models.value.unwrap().len(), 3);
}

#[tokio::test]
async fn new_api_current_masked_keys_tokens_display() {
    let mut cfg = FakeConfig::new(Variant::NewApiCurrent);
    cfg.key_count = 230;
    cfg.status_extra = json!({"quota_display_type": "TOKENS", "display_in_currency": false, "checkin_enabled": true});
    let f = FakeRelay::start(cfg).await;
    let s = snap(&f, SiteKind::NewApi).await;
    assert_common(&s, &f);
    assert_eq!(s.currency.currency(), "TOKENS");
    assert_eq!(s.currency.format_quota(3_650_000), "3650000 tokens");
    let keys = s.keys.value.unwrap();
    assert!(keys.iter().all(|k| k.masked));
    let k = keys.iter().find(|k| k.id == 6).unwrap();
    assert_eq!(k.key, format!("sk-{}", masked(&key_of(Variant::NewApiCurrent, 5))));
    assert_eq!(s.checkin.value.unwrap().checked_in_today, Some(false));
}

#[tokio::test]
async fn new_api_old_bare_arrays_zero_based() {
    let mut cfg = FakeConfig::new(Variant::NewApiOld);
    cfg.key_count = 205;
    let f = FakeRelay::start(cfg).await;
    let s = snap(&f, SiteKind::NewApi).await;
    assert_common(&s, &f);
    assert_eq!(key_pages(&f), 3);
    // No check-in flag in status → not offered.
    assert_eq!(s.checkin.availability, Availability::Unsupported);
}

#[tokio::test]
async fn veloera_needs_its_header_and_reports_checkin() {
    let mut cfg = FakeConfig::new(Variant::Veloera);
    cfg.key_count = 201;
    cfg.status_extra = json!({"check_in_enabled": true});
    let f = FakeRelay::start(cfg).await;
    let s = snap(&f, SiteKind::Veloera).await;
    assert_common(&s, &f);
    assert_eq!(
        s.checkin.value.unwrap(),
        apihub::domain::snapshot::CheckinState { supported: true, checked_in_today: Some(false) }
    );
    let g = s.groups.value.unwrap();
    assert_eq!(g.len(), 2);
    assert!(g.iter().all(|g| g.ratio.is_some()));
}

#[tokio::test]
async fn one_hub_and_done_hub_nested_pages_and_log_type() {
    for (variant, kind) in [(Variant::OneHub, SiteKind::OneHub), (Variant::DoneHub, SiteKind::DoneHub)] {
        let mut cfg = FakeConfig::new(variant);
        cfg.key_count = 260;
        let f = FakeRelay::start(cfg).await;
        let s = snap(&f, kind).await;
        assert_common(&s, &f);
        assert_eq!(key_pages(&f), 3);
        let keys = s.keys.value.unwrap();
        assert!(keys.iter().any(|k| k.key == format!("sk-{}", key_of(variant, 0))));
        assert!(keys.iter().all(|k| k.key.contains('_')));
        // `enable:false` groups are dropped.
        let g = s.groups.value.unwrap();
        assert_eq!(g.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), vec!["default", "vip"]);
        assert_eq!(g[1].ratio, Some(0.5));
        assert_eq!(s.models.value.unwrap().len(), 3);
        assert_eq!(s.checkin.availability, Availability::Unsupported);
        assert!(f.paths().iter().any(|p| p.starts_with("/api/log/self?page=1&size=100&log_type=2")));
    }
}

#[tokio::test]
async fn voapi_legacy_and_super_api_send_their_headers() {
    for (variant, kind) in [(Variant::VoapiLegacy, SiteKind::Voapi), (Variant::SuperApi, SiteKind::SuperApi)] {
        let f = FakeRelay::start(FakeConfig { key_count: 250, ..FakeConfig::new(variant) }).await;
        let s = snap(&f, kind).await;
        assert_common(&s, &f);
        assert_eq!(key_pages(&f), 3);
    }
}

#[tokio::test]
async fn unknown_kind_is_generic_new_api() {
    let f = FakeRelay::start(FakeConfig { key_count: 250, ..FakeConfig::new(Variant::NewApiClassic) }).await;
    let s = snap(&f, SiteKind::Unknown).await;
    assert_common(&s, &f);
    assert_eq!(key_pages(&f), 3);
}

#[tokio::test]
async fn anyrouter_uses_the_accounts_cookie() {
    let f = FakeRelay::start(FakeConfig { key_count: 250, ..FakeConfig::new(Variant::AnyRouter) }).await;
    let creds = Credentials { cookie: Some(f.cfg().cookie), ..Default::default() };
    let s = client().fetch_snapshot(&account(&f, SiteKind::Anyrouter, AuthMethod::Cookie), &creds).await.unwrap();
    assert_common(&s, &f);
    assert_eq!(key_pages(&f), 3);
    assert!(s.checkin.value.unwrap().supported);
    // Another account's cookie fails the account.
    let other = Credentials { cookie: Some("session=someone-else".into()), ..Default::default() };
    let e = client().fetch_snapshot(&account(&f, SiteKind::Anyrouter, AuthMethod::Cookie), &other).await.unwrap_err();
    assert_eq!(e.kind(), "auth");
}

#[tokio::test]
async fn sub2api_balances_are_usd_money() {
    let mut cfg = FakeConfig::new(Variant::Sub2api);
    cfg.key_count = 230;
    let f = FakeRelay::start(cfg).await;
    let s = snap(&f, SiteKind::Sub2api).await;
    let u = s.user.value.unwrap();
    assert_eq!(u.balance, Amount::money(13.0, "USD"), "12.5 + 0.5 points");
    assert_eq!(u.balance.quota(), None, "no quota is invented");
    let t = s.today.value.unwrap();
    assert_eq!(t.spend, Amount::money(0.75, "USD"));
    assert_eq!(t.requests, Some(12));
    assert_eq!(t.prompt_tokens, Some(3400));
    let keys = s.keys.value.unwrap();
    assert_eq!(keys.len(), 230);
    assert_eq!(keys[0].remain, Amount::money(5.0, "USD"));
    assert_eq!(s.keys.availability, Availability::Complete);
    assert_eq!(f.paths().iter().filter(|p| p.starts_with("/api/v1/keys")).count(), 3);
}

#[tokio::test]
async fn voapi_v2_raw_jwt_money_strings() {
    let mut cfg = FakeConfig::new(Variant::VoapiV2);
    cfg.key_count = 207;
    cfg.checked_in_today = true;
    let f = FakeRelay::start(cfg).await;
    let s = snap(&f, SiteKind::VoapiV2).await;
    let u = s.user.value.unwrap();
    assert_eq!(u.balance, Amount::money(15.0, "USD"), "12.50 + 2.50 USD");
    assert_eq!(u.used, Amount::money(1.5, "USD"));
    let keys = s.keys.value.unwrap();
    assert_eq!(keys.len(), 207);
    assert!(keys.iter().all(|k| k.masked));
    assert_eq!(f.paths().iter().filter(|p| p.starts_with("/api/keys")).count(), 3);
    assert_eq!(s.checkin.value.unwrap().checked_in_today, Some(true));
}

#[tokio::test]
async fn key_only_accounts_use_billing_and_usage_token() {
    // one-api: billing endpoints, USD.
    let f = FakeRelay::start(FakeConfig::new(Variant::OneApi)).await;
    let cfg = f.cfg();
    let creds = Credentials { api_key: Some(format!("sk-{}", cfg.sk_key)), ..Default::default() };
    let acc = AccountRef { user_id: String::new(), ..account(&f, SiteKind::OneApi, AuthMethod::ApiKey) };
    let s = client().fetch_snapshot(&acc, &creds).await.unwrap();
    let u = s.user.value.unwrap();
    // The billing endpoints give money in the site's currency: it stays money.
    assert_eq!((u.balance, u.used), (Amount::money(7.3, "USD"), Amount::money(2.0, "USD")));
    assert_eq!(s.models.value.unwrap().len(), 3);
    assert!(f.paths().iter().all(|p| !p.contains("credit_grants")));
    // Its keys part is the key itself, in full, with the key's quota.
    let keys = s.keys.value.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].key, format!("sk-{}", cfg.sk_key));
    assert!(!keys[0].masked);
    assert_eq!((&keys[0].remain, &keys[0].used), (&Amount::money(7.3, "USD"), &Amount::money(2.0, "USD")));

    // new-api CNY site: billing amounts are CNY and stay CNY.
    let mut c2 = FakeConfig::new(Variant::NewApiClassic);
    c2.status_extra = json!({"quota_display_type": "CNY", "usd_exchange_rate": 7.3});
    let f = FakeRelay::start(c2).await;
    let acc = account(&f, SiteKind::NewApi, AuthMethod::ApiKey);
    let s = client().fetch_snapshot(&acc, &creds).await.unwrap();
    let u = s.user.value.unwrap();
    assert_eq!((u.balance, u.used), (Amount::money(53.29, "CNY"), Amount::money(14.6, "CNY")));

    // new-api current: /api/usage/token/ with Bearer sk-.
    let f = FakeRelay::start(FakeConfig::new(Variant::NewApiCurrent)).await;
    let s = client().fetch_snapshot(&account(&f, SiteKind::NewApi, AuthMethod::ApiKey), &creds).await.unwrap();
    let u = s.user.value.unwrap();
    assert_eq!((u.balance, u.used), (Amount::Quota(cfg.quota), Amount::Quota(cfg.used_quota)), "quota integers");
    assert!(f.paths().iter().any(|p| p == "/api/usage/token/"));
    assert!(!f.paths().iter().any(|p| p.contains("billing")));
    let keys = s.keys.value.unwrap();
    assert_eq!(keys[0].name, "mykey", "the site's name for the key");
    assert_eq!((keys[0].unlimited_quota, keys[0].expired_time), (false, -1), "expires_at 0 = never");
}

#[tokio::test]
async fn wrong_user_id_is_auth_with_a_hint() {
    let f = FakeRelay::start(FakeConfig::new(Variant::Veloera)).await;
    let acc = AccountRef { user_id: "7".into(), ..account(&f, SiteKind::Veloera, AuthMethod::AccessToken) };
    let e = client().fetch_snapshot(&acc, &token_creds(&f)).await.unwrap_err();
    match e {
        apihub::relay::RelayError::Auth { message, hint } => {
            assert!(message.contains("Veloera-User"), "{message}");
            assert!(hint.unwrap().contains("user id"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn current_new_api_bad_token_is_auth() {
    let f = FakeRelay::start(FakeConfig::new(Variant::NewApiCurrent)).await;
    let creds = Credentials { access_token: Some("nope".into()), ..Default::default() };
    let e = client().fetch_snapshot(&account(&f, SiteKind::NewApi, AuthMethod::AccessToken), &creds).await.unwrap_err();
    assert_eq!(e.kind(), "auth");
    let f = FakeRelay::start(FakeConfig::new(Variant::OneApi)).await;
    let e = client().fetch_snapshot(&account(&f, SiteKind::OneApi, AuthMethod::AccessToken), &creds).await.unwrap_err();
    assert_eq!(e.kind(), "auth", "HTTP 200 success:false 'access token 无效'");
}

#[tokio::test]
async fn one_missing_endpoint_does_not_fail_the_account() {
    let mut cfg = FakeConfig::new(Variant::NewApiClassic);
    cfg.fail_paths = vec![
        ("/api/user/models".into(), 500, "oops".into()),
        ("/api/user/self/groups".into(), 200, r#"{"success":false,"message":"无权进行此操作，权限不足"}"#.into()),
        ("/api/log/self?".into(), 404, r#"{"error":{"message":"Invalid URL (GET /api/log/self)"}}"#.into()),
        ("/api/notice".into(), 200, "<!doctype html><div id=\"root\"></div>".into()),
    ];
    let f = FakeRelay::start(cfg).await;
    let s = snap(&f, SiteKind::NewApi).await;
    let cfg = f.cfg();
    assert_eq!(s.user.value.unwrap().balance, Amount::Quota(cfg.quota));
    assert!(matches!(s.models.availability, Availability::Failed(_)), "{:?}", s.models);
    assert_eq!(s.groups.availability, Availability::Unsupported);
    assert_eq!(s.keys.availability, Availability::Complete);
    let (start, end) = local_day_window();
    let t = s.today.value.unwrap();
    assert_eq!(t.spend, Amount::Quota(cfg.today_spend(start, end)), "spend from the stat endpoint");
    assert_eq!(t.requests, None);
    assert!(matches!(s.today.availability, Availability::Partial(_)));
    assert_eq!(s.notice, None);
}

#[tokio::test]
async fn a_failing_later_log_page_makes_today_partial() {
    let mut cfg = FakeConfig::new(Variant::NewApiClassic);
    cfg.fail_paths = vec![("/api/log/self?p=2".into(), 502, String::new())];
    let f = FakeRelay::start(cfg).await;
    let s = snap(&f, SiteKind::NewApi).await;
    let t = s.today.value.clone().unwrap();
    // The fake lists newest first: the first page is the 100 newest of today's consume rows.
    let (start, end) = local_day_window();
    let mut rows: Vec<_> =
        f.cfg().logs.into_iter().filter(|r| r.log_type == 2 && r.created_at >= start && r.created_at <= end).collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    let first_page_models = rows.iter().take(100).filter(|r| !r.model_name.trim().is_empty()).count() as i64;
    assert_eq!(t.requests, Some(first_page_models), "the first page's model rows");
    assert!(matches!(s.today.availability, Availability::Partial(ref why) if why.contains("page 2")), "{:?}", s.today);
}

#[tokio::test]
async fn a_challenge_mid_refresh_skips_the_remaining_endpoints() {
    let mut cfg = FakeConfig::new(Variant::NewApiClassic);
    cfg.fail_paths = vec![("/api/token/".into(), 403, "<html><title>Just a moment...</title></html>".into())];
    let f = FakeRelay::start(cfg).await;
    let s = snap(&f, SiteKind::NewApi).await;
    assert!(matches!(s.keys.availability, Availability::Failed(ref m) if m.contains("challenge")), "{:?}", s.keys);
    assert!(matches!(s.models.availability, Availability::Failed(_)));
    assert!(matches!(s.groups.availability, Availability::Failed(_)));
    assert!(!f.paths().iter().any(|p| p.starts_with("/api/user/models") || p.starts_with("/api/user/self/groups")));
    assert_eq!(s.user.availability, Availability::Complete);
}

#[tokio::test]
async fn a_wrongly_typed_key_list_fails_only_the_keys_part() {
    let mut cfg = FakeConfig::new(Variant::NewApiClassic);
    cfg.fail_paths =
        vec![("/api/token/".into(), 200, r#"{"success":true,"message":"","data":{"items":"nope"}}"#.into())];
    let f = FakeRelay::start(cfg).await;
    let s = snap(&f, SiteKind::NewApi).await;
    assert!(matches!(s.keys.availability, Availability::Failed(ref m) if m.contains("list shape")), "{:?}", s.keys);
    assert_eq!(s.models.availability, Availability::Complete);
    assert_eq!(s.user.availability, Availability::Complete);
}

#[tokio::test]
async fn masked_keys_are_revealed_only_on_request() {
    let f = FakeRelay::start(FakeConfig { key_count: 150, ..FakeConfig::new(Variant::NewApiCurrent) }).await;
    let s = snap(&f, SiteKind::NewApi).await;
    assert!(!f.paths().iter().any(|p| p.contains("/key")), "a refresh never reveals keys");
    let ids: Vec<i64> = s.keys.value.unwrap().iter().map(|k| k.id).collect();
    let acc = account(&f, SiteKind::NewApi, AuthMethod::AccessToken);
    let full = client().reveal_keys(&acc, &token_creds(&f), &ids).await.unwrap();
    assert_eq!(full.len(), 150);
    for (id, key) in &full {
        assert_eq!(key, &format!("sk-{}", key_of(Variant::NewApiCurrent, (*id - 1) as usize)));
    }
    assert_eq!(f.paths().iter().filter(|p| p.starts_with("/api/token/batch/keys")).count(), 2, "two batches of ≤100");

    // Builds without the batch route: one call per id.
    let f =
        FakeRelay::start(FakeConfig { key_count: 3, batch_reveal: false, ..FakeConfig::new(Variant::NewApiCurrent) })
            .await;
    let acc = account(&f, SiteKind::NewApi, AuthMethod::AccessToken);
    let full = client().reveal_keys(&acc, &token_creds(&f), &[1, 3]).await.unwrap();
    assert_eq!(
        full,
        vec![
            (1, format!("sk-{}", key_of(Variant::NewApiCurrent, 0))),
            (3, format!("sk-{}", key_of(Variant::NewApiCurrent, 2)))
        ]
    );
}

#[tokio::test]
async fn auth_failure_in_a_secondary_call_fails_the_refresh() {
    let mut cfg = FakeConfig::new(Variant::NewApiClassic);
    let body = r#"{"success":false,"message":"无权进行此操作，access token 无效"}"#;
    cfg.fail_paths = vec![("/api/token/".into(), 200, body.into())];
    let f = FakeRelay::start(cfg).await;
    let e = client().fetch_snapshot(&account(&f, SiteKind::NewApi, AuthMethod::AccessToken), &token_creds(&f)).await;
    assert_eq!(e.unwrap_err().kind(), "auth", "never save empties under a dead login");
}
