//! Key management and redeem against the fake relays: create (every reply shape),
//! edit, enable/disable, delete, reveal after create, redeem int vs Veloera object.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_relay;

use apihub::domain::{AuthMethod, Credentials, SiteKind};
use apihub::relay::keys::KeySpec;
use apihub::relay::{AccountRef, ClientConfig, OriginLimits, ProxySetting, RelayClient};
use fake_relay::{FakeConfig, FakeRelay, Variant};

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
    (
        AccountRef { site_url: f.url.clone(), kind, user_id: c.user_id.to_string(), auth: AuthMethod::AccessToken },
        Credentials { access_token: Some(c.token), ..Default::default() },
    )
}

const KINDS: [(Variant, SiteKind); 6] = [
    (Variant::NewApiClassic, SiteKind::NewApi),
    (Variant::NewApiCurrent, SiteKind::NewApi),
    (Variant::OneApi, SiteKind::OneApi),
    (Variant::OneHub, SiteKind::OneHub),
    (Variant::DoneHub, SiteKind::DoneHub),
    (Variant::Veloera, SiteKind::Veloera),
];

#[tokio::test]
async fn create_edit_disable_delete_on_every_kind() {
    for (variant, kind) in KINDS {
        let mut cfg = FakeConfig::new(variant);
        cfg.key_count = 3;
        let f = FakeRelay::start(cfg).await;
        let (a, c) = acc(&f, kind);
        let spec = KeySpec {
            name: "desk".into(),
            remain_quota: 5_000_000,
            expired_time: -1,
            models: vec!["gpt-4o-mini".into()],
            ..KeySpec::default()
        };
        let created = client().create_key(&a, &c, &spec).await.unwrap();
        assert_eq!(created.id, 4, "{variant:?}");
        assert_eq!(created.name, "desk", "{variant:?}");
        assert_eq!(created.remain.quota(), Some(5_000_000), "{variant:?}");
        assert_eq!(created.masked, variant == Variant::NewApiCurrent, "{variant:?}: {}", created.key);
        assert!(created.key.starts_with("sk-"), "{variant:?}");
        let listed = client().list_keys(&a, &c).await.unwrap();
        assert_eq!(listed.len(), 4, "{variant:?}");

        let edited = KeySpec { name: "desk2".into(), unlimited_quota: true, ..spec.clone() };
        client().update_key(&a, &c, created.id, &edited).await.unwrap();
        client().set_key_enabled(&a, &c, created.id, false).await.unwrap();
        let k = client().list_keys(&a, &c).await.unwrap().into_iter().find(|k| k.id == created.id).unwrap();
        assert_eq!((k.name.as_str(), k.unlimited_quota, k.status), ("desk2", true, 2), "{variant:?}");
        assert!(f.paths().iter().any(|p| p == "/api/token/?status_only=true"), "{variant:?}");

        client().delete_key(&a, &c, created.id).await.unwrap();
        let after = client().list_keys(&a, &c).await.unwrap();
        assert_eq!(after.len(), 3, "{variant:?}");
        assert!(after.iter().all(|k| k.id != created.id));
        assert!(f.paths().iter().any(|p| p == "/api/token/4"), "{variant:?}");
        // Deleting it again is the server's refusal, not a crash.
        assert_eq!(client().delete_key(&a, &c, created.id).await.unwrap_err().kind(), "server");
    }
}

#[tokio::test]
async fn a_created_masked_key_is_revealed_in_full() {
    let mut cfg = FakeConfig::new(Variant::NewApiCurrent);
    cfg.key_count = 2;
    let f = FakeRelay::start(cfg).await;
    let (a, c) = acc(&f, SiteKind::NewApi);
    let k = client()
        .create_key(&a, &c, &KeySpec { name: "m".into(), expired_time: -1, ..KeySpec::default() })
        .await
        .unwrap();
    assert!(k.masked);
    let full = client().reveal_keys(&a, &c, &[k.id]).await.unwrap();
    assert_eq!(full, vec![(3, format!("sk-{:n>48}", "new3z"))]);
}

#[tokio::test]
async fn a_bad_name_is_refused_before_any_request() {
    let f = FakeRelay::start(FakeConfig::new(Variant::NewApiClassic)).await;
    let (a, c) = acc(&f, SiteKind::NewApi);
    let e = client().create_key(&a, &c, &KeySpec { name: " ".into(), ..KeySpec::default() }).await.unwrap_err();
    assert_eq!(e.kind(), "server");
    assert_eq!(f.requests(), 0);
}

#[tokio::test]
async fn redeem_returns_the_quota_int_or_veloera_object() {
    for (variant, kind) in KINDS {
        let mut cfg = FakeConfig::new(variant);
        cfg.redeem_codes = vec![("CODE-1".into(), 2_500_000)];
        let f = FakeRelay::start(cfg).await;
        let (a, c) = acc(&f, kind);
        let r = client().redeem(&a, &c, " CODE-1 ").await.unwrap();
        assert_eq!(r.quota, 2_500_000, "{variant:?}");
        assert_eq!(r.is_gift, (variant == Variant::Veloera).then_some(false), "{variant:?}");
        assert_eq!(f.cfg().quota, 3_650_000 + 2_500_000);
        // Used: refused with the server's words; exactly one request (never retried).
        let before = f.requests();
        let e = client().redeem(&a, &c, "CODE-1").await.unwrap_err();
        assert_eq!(e.kind(), "server", "{variant:?}");
        assert_eq!(f.requests(), before + 1, "{variant:?}: no retry");
        if variant == Variant::NewApiCurrent {
            assert!(e.to_string().contains("does not say why"), "{e}");
        } else {
            assert!(e.to_string().contains("无效的兑换码"), "{e}");
        }
    }
}

#[tokio::test]
async fn redeem_rate_limited_is_not_retried() {
    let mut cfg = FakeConfig::new(Variant::NewApiCurrent);
    cfg.rate_limit_after = Some(0);
    cfg.redeem_codes = vec![("C".into(), 1)];
    let f = FakeRelay::start(cfg).await;
    let (a, c) = acc(&f, SiteKind::NewApi);
    let e = client().redeem(&a, &c, "C").await.unwrap_err();
    assert_eq!(e.kind(), "rate_limited");
    assert_eq!(f.requests(), 1);
}
