//! Performing check-in against the fakes: done, already, needs human, unsupported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_relay;

use apihub::domain::{AuthMethod, Credentials, SiteKind};
use apihub::relay::checkin::CheckinOutcome;
use apihub::relay::{AccountRef, ClientConfig, OriginLimits, ProxySetting, RelayClient};
use fake_relay::{FakeConfig, FakeRelay, Variant};
use serde_json::json;

fn client() -> RelayClient {
    RelayClient::new(ClientConfig {
        proxy: ProxySetting::Direct,
        per_origin: OriginLimits { per_sec: 1000.0, burst: 100, ..OriginLimits::default() },
        ..ClientConfig::default()
    })
    .unwrap()
}

fn acc(f: &FakeRelay, kind: SiteKind) -> (AccountRef, Credentials) {
    let c = f.cfg();
    let auth = if kind == SiteKind::Anyrouter { AuthMethod::Cookie } else { AuthMethod::AccessToken };
    (
        AccountRef { site_url: f.url.clone(), kind, user_id: c.user_id.to_string(), auth },
        Credentials { access_token: Some(c.token), cookie: Some(c.cookie), ..Default::default() },
    )
}

#[tokio::test]
async fn new_api_veloera_anyrouter_done_then_already() {
    let cases = [
        (Variant::NewApiClassic, SiteKind::NewApi, json!({"checkin_enabled": true}), Some(4321)),
        (Variant::Veloera, SiteKind::Veloera, json!({"check_in_enabled": true}), Some(2500)),
        (Variant::AnyRouter, SiteKind::Anyrouter, json!({}), None),
    ];
    for (variant, kind, extra, reward) in cases {
        let mut cfg = FakeConfig::new(variant);
        cfg.status_extra = extra;
        let f = FakeRelay::start(cfg).await;
        let (a, c) = acc(&f, kind);
        assert_eq!(
            client().checkin(&a, &c).await.unwrap(),
            CheckinOutcome::Done { reward: reward.map(apihub::domain::money::Amount::Quota) },
            "{variant:?}"
        );
        assert_eq!(client().checkin(&a, &c).await.unwrap(), CheckinOutcome::AlreadyDone, "{variant:?}");
        // The refresh now reports it (AnyRouter has no read-only status).
        if kind != SiteKind::Anyrouter {
            let s = client().fetch_snapshot(&a, &c).await.unwrap();
            assert_eq!(s.checkin.value.unwrap().checked_in_today, Some(true));
        }
    }
}

#[tokio::test]
async fn turnstile_needs_a_human_and_disabled_is_a_server_error() {
    let mut cfg = FakeConfig::new(Variant::NewApiClassic);
    cfg.status_extra = json!({"checkin_enabled": true, "turnstile_check": true});
    let f = FakeRelay::start(cfg).await;
    let (a, c) = acc(&f, SiteKind::NewApi);
    assert!(matches!(client().checkin(&a, &c).await.unwrap(), CheckinOutcome::NeedsHuman { .. }));

    let f = FakeRelay::start(FakeConfig::new(Variant::NewApiClassic)).await;
    let (a, c) = acc(&f, SiteKind::NewApi);
    assert_eq!(client().checkin(&a, &c).await.unwrap_err().kind(), "server");
}

#[tokio::test]
async fn kinds_without_checkin_are_not_supported() {
    let f = FakeRelay::start(FakeConfig::new(Variant::OneHub)).await;
    let (a, c) = acc(&f, SiteKind::OneHub);
    assert_eq!(client().checkin(&a, &c).await.unwrap_err().kind(), "not_supported");
    assert_eq!(f.requests(), 0);
}
