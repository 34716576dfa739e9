//! Detection and sign-in against the fakes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_relay;

use apihub::domain::{AuthMethod, Credentials, SiteKind};
use apihub::relay::detect::Confidence;
use apihub::relay::login::LoginStep;
use apihub::relay::{AccountRef, ClientConfig, OriginLimits, ProxySetting, RelayClient};
use fake_relay::hostile::{Canned, canned};
use fake_relay::{FakeConfig, FakeRelay, Variant};
use serde_json::json;

fn client() -> RelayClient {
    RelayClient::new(ClientConfig {
        proxy: ProxySetting::Direct,
        request_timeout_secs: 5,
        per_origin: OriginLimits { per_sec: 1000.0, burst: 100, ..OriginLimits::default() },
        ..ClientConfig::default()
    })
    .unwrap()
}

#[tokio::test]
async fn detects_each_kind_from_its_fingerprint() {
    let cases = [
        (Variant::Veloera, json!({"check_in_enabled": false}), SiteKind::Veloera, Confidence::Certain),
        (Variant::NewApiClassic, json!({"quota_display_type": "USD"}), SiteKind::NewApi, Confidence::Certain),
        (Variant::OneHub, json!({"PaymentUSDRate": 7.3}), SiteKind::OneHub, Confidence::Certain),
        (
            Variant::DoneHub,
            json!({"PaymentUSDRate": 7.3, "max_log_query_days": 180}),
            SiteKind::DoneHub,
            Confidence::Certain,
        ),
        (Variant::OneApi, json!({}), SiteKind::OneApi, Confidence::Likely),
        (Variant::Sub2api, json!({}), SiteKind::Sub2api, Confidence::Certain),
        (Variant::VoapiV2, json!({}), SiteKind::VoapiV2, Confidence::Certain),
    ];
    for (variant, extra, kind, confidence) in cases {
        let mut cfg = FakeConfig::new(variant);
        cfg.status_extra = extra;
        let f = FakeRelay::start(cfg).await;
        let d = client().detect(&f.url).await.unwrap();
        assert_eq!((d.kind, d.confidence), (kind, confidence), "{variant:?}: {}", d.reason);
    }
    // Nothing recognisable: a guess, labelled as such.
    let mut cfg = FakeConfig::new(Variant::NewApiClassic);
    cfg.status_extra = json!({"system_name": "My relay"});
    let f = FakeRelay::start(cfg).await;
    let d = client().detect(&f.url).await.unwrap();
    assert_eq!((d.kind, d.confidence), (SiteKind::Unknown, Confidence::Guessed));
    // A challenge is an error, never a guess.
    let url = canned(Canned::new(503, "<html><title>Just a moment...</title></html>")).await;
    assert_eq!(client().detect(&url).await.unwrap_err().kind(), "challenge");
}

#[tokio::test]
async fn verify_token_and_cookie() {
    let f = FakeRelay::start(FakeConfig::new(Variant::NewApiClassic)).await;
    let cfg = f.cfg();
    let u = client().verify_access_token(&f.url, SiteKind::NewApi, "42", &cfg.token).await.unwrap();
    assert_eq!((u.id.as_str(), u.balance.quota()), ("42", Some(cfg.quota)));
    let e = client().verify_access_token(&f.url, SiteKind::NewApi, "43", &cfg.token).await.unwrap_err();
    assert_eq!(e.kind(), "auth");
    let e = client().verify_access_token(&f.url, SiteKind::NewApi, "42", "bad").await.unwrap_err();
    assert_eq!(e.kind(), "auth");
    let cookie = fake_relay::login::session_cookie(&cfg);
    assert_eq!(client().verify_cookie(&f.url, SiteKind::NewApi, "42", &cookie).await.unwrap().username, "alice");
}

#[tokio::test]
async fn classic_password_login_with_cookie_bound_2fa() {
    let mut cfg = FakeConfig::new(Variant::NewApiClassic);
    cfg.totp = Some("123456".into());
    let f = FakeRelay::start(cfg).await;
    let c = client();
    // "用户名或密码错误，或用户已被封禁": a credential failure.
    let e = c.login_password(&f.url, SiteKind::NewApi, "alice", "wrong").await.unwrap_err();
    assert_eq!(e.kind(), "auth");
    let LoginStep::Needs2fa(p) = c.login_password(&f.url, SiteKind::NewApi, "alice", "hunter2").await.unwrap() else {
        panic!("2FA expected")
    };
    assert_eq!(c.login_2fa(&p, "000000").await.unwrap_err().kind(), "server");
    let r = c.login_2fa(&p, "123456").await.unwrap();
    assert_eq!((r.user_id.as_str(), r.auth), ("42", AuthMethod::Cookie));
    // The session cookie works for a snapshot.
    let acc = AccountRef { site_url: f.url.clone(), kind: SiteKind::NewApi, user_id: r.user_id.clone(), auth: r.auth };
    let s = c.fetch_snapshot(&acc, &r.credentials).await.unwrap();
    assert_eq!(s.user.value.unwrap().balance.quota(), Some(f.cfg().quota));
}

#[tokio::test]
async fn current_login_with_flow_token_then_explicit_mint() {
    let mut cfg = FakeConfig::new(Variant::NewApiCurrent);
    cfg.totp = Some("654321".into());
    let f = FakeRelay::start(cfg).await;
    let c = client();
    let LoginStep::Needs2fa(p) = c.login_password(&f.url, SiteKind::NewApi, "alice", "hunter2").await.unwrap() else {
        panic!("2FA expected")
    };
    let r = c.login_2fa(&p, "654321").await.unwrap();
    assert_eq!(r.auth, AuthMethod::AccessToken);
    assert_eq!(r.credentials.access_token.as_deref(), Some(fake_relay::login::JWT));
    assert_eq!(r.credentials.refresh_token.as_deref(), Some("refresh-1"));
    let acc = AccountRef { site_url: f.url.clone(), kind: SiteKind::NewApi, user_id: r.user_id.clone(), auth: r.auth };
    assert!(!f.paths().iter().any(|p| p.starts_with("/api/user/token")));
    let old = f.cfg().token;
    let pat = c.mint_access_token(&acc, &r.credentials).await.unwrap();
    assert_ne!(pat, old);
    let e = c.verify_access_token(&f.url, SiteKind::NewApi, "42", &old).await.unwrap_err();
    assert_eq!(e.kind(), "auth", "minting replaced the old token");
    assert!(c.verify_access_token(&f.url, SiteKind::NewApi, "42", &pat).await.is_ok());
}

#[tokio::test]
async fn plain_login_and_turnstile() {
    let f = FakeRelay::start(FakeConfig::new(Variant::OneApi)).await;
    let LoginStep::Done(r) = client().login_password(&f.url, SiteKind::OneApi, "alice", "hunter2").await.unwrap()
    else {
        panic!()
    };
    assert_eq!(r.credentials.cookie.as_deref(), Some(fake_relay::login::session_cookie(&f.cfg()).as_str()));
    let acc =
        AccountRef { site_url: f.url.clone(), kind: SiteKind::OneApi, user_id: "42".into(), auth: AuthMethod::Cookie };
    assert!(client().fetch_snapshot(&acc, &r.credentials).await.is_ok());

    let mut cfg = FakeConfig::new(Variant::Veloera);
    cfg.status_extra = json!({"turnstile_check": true});
    let f = FakeRelay::start(cfg).await;
    match client().login_password(&f.url, SiteKind::Veloera, "alice", "hunter2").await.unwrap_err() {
        apihub::relay::RelayError::Auth { message, hint } => {
            assert!(message.contains("Turnstile"));
            assert!(hint.unwrap().contains("access-token"));
        }
        other => panic!("{other:?}"),
    }
    assert!(!f.paths().iter().any(|p| p.starts_with("/api/user/login")), "no doomed login attempt");
    let _ = Credentials::default();
}
