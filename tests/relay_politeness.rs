//! Politeness: the per-origin limiter holds across many accounts on one origin.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_relay;

use apihub::domain::{AuthMethod, Credentials, SiteKind};
use apihub::relay::{AccountRef, ClientConfig, OriginLimits, ProxySetting, RelayClient, RelayError};
use fake_relay::{FakeConfig, FakeRelay, Variant};

fn client(limits: OriginLimits) -> RelayClient {
    RelayClient::new(ClientConfig { proxy: ProxySetting::Direct, per_origin: limits, ..ClientConfig::default() })
        .unwrap()
}

fn acc(f: &FakeRelay) -> (AccountRef, Credentials) {
    let cfg = f.cfg();
    (
        AccountRef {
            site_url: f.url.clone(),
            kind: SiteKind::NewApi,
            user_id: cfg.user_id.to_string(),
            auth: AuthMethod::AccessToken,
        },
        Credentials { access_token: Some(cfg.token), ..Default::default() },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_accounts_on_one_origin_never_exceed_the_in_flight_limit() {
    let mut cfg = FakeConfig::new(Variant::NewApiClassic);
    cfg.delay_ms = 15;
    cfg.key_count = 5;
    cfg.logs.truncate(20);
    let f = FakeRelay::start(cfg).await;
    let c = client(OriginLimits { max_in_flight: 2, per_sec: 10_000.0, burst: 1000, ..OriginLimits::default() });
    let (a, creds) = acc(&f);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (c, a, creds) = (c.clone(), a.clone(), creds.clone());
        tasks.push(tokio::spawn(async move { c.fetch_snapshot(&a, &creds).await }));
    }
    for t in tasks {
        let s = t.await.unwrap().unwrap();
        assert_eq!(s.keys.value.unwrap().len(), 5);
    }
    assert!(f.requests() >= 20 * 7, "every account made its calls: {}", f.requests());
    assert_eq!(f.max_in_flight(), 2, "the limit is reached but never exceeded");
}

#[tokio::test]
async fn a_429_pauses_only_that_origin() {
    let mut cfg = FakeConfig::new(Variant::OneApi);
    cfg.rate_limit_after = Some(0);
    let limited = FakeRelay::start(cfg).await;
    let other = FakeRelay::start(FakeConfig::new(Variant::NewApiClassic)).await;
    let c = client(OriginLimits { per_sec: 1000.0, burst: 100, pause_on_429_secs: 300, ..OriginLimits::default() });

    let (a, creds) = acc(&limited);
    let e = c.fetch_snapshot(&a, &creds).await.unwrap_err();
    assert_eq!(e, RelayError::RateLimited { retry_after_secs: None });
    assert_eq!(limited.requests(), 1, "the first 429 stops the account's other calls");

    // A second account on the same origin is not sent at all while the origin is paused.
    let e = c.fetch_snapshot(&a, &creds).await.unwrap_err();
    match e {
        RelayError::RateLimited { retry_after_secs: Some(s) } => assert!(s > 200 && s <= 300, "{s}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(limited.requests(), 1);

    // Another origin is unaffected.
    let (b, creds_b) = acc(&other);
    assert!(c.fetch_snapshot(&b, &creds_b).await.is_ok());
}

#[test]
fn fetch_snapshot_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let c = client(OriginLimits::default());
    let a = AccountRef {
        site_url: "http://127.0.0.1:1".into(),
        kind: SiteKind::NewApi,
        user_id: "1".into(),
        auth: AuthMethod::AccessToken,
    };
    let creds = Credentials::default();
    let fut = c.fetch_snapshot(&a, &creds);
    assert_send(&fut);
}
