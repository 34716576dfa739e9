//! Network settings against real servers on 127.0.0.1: a counting HTTP proxy, per-site
//! proxy overrides (proxy / no proxy), User-Agent precedence (cookie > site > global),
//! an extra CA file for a self-signed HTTPS server, and `/api/log…` spacing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_relay;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apihub::domain::network::{SiteNetwork, SiteProxy};
use apihub::domain::{AuthMethod, Credentials, SiteKind};
use apihub::relay::http::Request;
use apihub::relay::{AccountRef, ClientConfig, OriginLimits, ProxySetting, RelayClient, RelayError};
use axum::http::{HeaderMap, Uri};
use fake_relay::proxy::CountingProxy;

/// One request as a fake saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    user_agent: String,
    at: Instant,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// A fake relay answering every path: `/api/user/self` with a user, the rest with `[]`.
async fn fake_relay() -> (String, Log) {
    let log: Log = Arc::default();
    let l = log.clone();
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let l = l.clone();
        async move {
            let ua = headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            l.lock().unwrap().push(Seen { path: uri.path().to_string(), user_agent: ua, at: Instant::now() });
            let body = if uri.path() == "/api/user/self" {
                serde_json::json!({"success": true, "data": {"id": 1, "username": "alice", "quota": 500000}})
            } else {
                serde_json::json!({"success": true, "data": []})
            };
            axum::Json(body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, log)
}

fn config(proxy: ProxySetting) -> ClientConfig {
    ClientConfig {
        proxy,
        connect_timeout_secs: 3,
        request_timeout_secs: 5,
        per_origin: OriginLimits { per_sec: 1000.0, burst: 100, ..OriginLimits::default() },
        ..ClientConfig::default()
    }
}

async fn get(client: &RelayClient, url: String) -> Result<u16, RelayError> {
    client.send(&Request::get(url), "test").await.map(|r| r.status)
}

#[tokio::test]
async fn a_site_with_a_proxy_override_goes_through_it_and_others_stay_direct() {
    let p = CountingProxy::start().await;
    let proxy = p.url.clone();
    let (a, a_log) = fake_relay().await;
    let (b, b_log) = fake_relay().await;
    let client = RelayClient::new(config(ProxySetting::Direct)).unwrap();
    client.set_site_networks([(a.clone(), SiteNetwork { proxy: SiteProxy::Url(proxy.clone()), user_agent: None })]);
    for _ in 0..2 {
        assert_eq!(get(&client, format!("{a}/api/status")).await.unwrap(), 200);
        assert_eq!(get(&client, format!("{b}/api/status")).await.unwrap(), 200);
    }
    assert_eq!(p.count_to(&a), 2, "site A's requests went through its proxy: {:?}", p.seen());
    assert_eq!(p.count_to(&b), 0, "site B stayed direct");
    assert_eq!(a_log.lock().unwrap().len(), 2);
    assert_eq!(b_log.lock().unwrap().len(), 2);

    // A global proxy, and "no proxy" on site B: A inherits the global proxy, B bypasses it.
    client.reconfigure(config(ProxySetting::Url(proxy.clone()))).unwrap();
    client.set_site_networks([
        (a.clone(), SiteNetwork::default()),
        (b.clone(), SiteNetwork { proxy: SiteProxy::Direct, user_agent: None }),
    ]);
    assert_eq!(get(&client, format!("{a}/api/status")).await.unwrap(), 200);
    assert_eq!(get(&client, format!("{b}/api/status")).await.unwrap(), 200);
    assert_eq!(p.count_to(&a), 3, "site A inherits the global proxy");
    assert_eq!(p.count_to(&b), 0, "\"no proxy\" on site B bypasses the global proxy");
    assert_eq!(b_log.lock().unwrap().len(), 3);

    // A site proxy that is not a URL fails that site's requests clearly, not others'.
    client.set_site_network(&b, SiteNetwork { proxy: SiteProxy::Url("::nope::".into()), user_agent: None });
    let e = get(&client, format!("{b}/api/status")).await.unwrap_err();
    assert!(e.to_string().contains("proxy"), "{e}");
    assert_eq!(get(&client, format!("{a}/api/status")).await.unwrap(), 200);
}

#[tokio::test]
async fn user_agent_precedence_is_cookie_then_site_then_global() {
    let (url, log) = fake_relay().await;
    let client =
        RelayClient::new(ClientConfig { user_agent: Some("Global/1".into()), ..config(ProxySetting::Direct) }).unwrap();
    let last_ua = || log.lock().unwrap().last().map(|s| s.user_agent.clone()).unwrap_or_default();
    get(&client, format!("{url}/api/status")).await.unwrap();
    assert_eq!(last_ua(), "Global/1");
    client.set_site_network(&url, SiteNetwork { proxy: SiteProxy::Inherit, user_agent: Some("Site/2".into()) });
    let token = AccountRef {
        site_url: url.clone(),
        kind: SiteKind::NewApi,
        user_id: "1".into(),
        auth: AuthMethod::AccessToken,
    };
    let user = client.verify_access_token(&url, SiteKind::NewApi, "1", "tok").await.unwrap();
    assert_eq!(user.username, "alice");
    assert_eq!(last_ua(), "Site/2", "the site's own User-Agent");
    client.list_keys(&token, &Credentials { access_token: Some("tok".into()), ..Default::default() }).await.unwrap();
    assert_eq!(last_ua(), "Site/2");
    // A cookie carries the browser User-Agent its cf_clearance was issued to.
    let cookie = AccountRef { auth: AuthMethod::Cookie, ..token };
    let creds = Credentials {
        cookie: Some("session=s; cf_clearance=c".into()),
        user_agent: Some("Mozilla/5.0 Browser/3".into()),
        ..Default::default()
    };
    let before = log.lock().unwrap().len();
    client.list_keys(&cookie, &creds).await.unwrap();
    let sent: Vec<Seen> = log.lock().unwrap()[before..].to_vec();
    assert!(!sent.is_empty());
    assert!(sent.iter().all(|s| s.user_agent == "Mozilla/5.0 Browser/3"), "{sent:?}");
    // Without any setting: the app's own User-Agent.
    let plain = RelayClient::new(config(ProxySetting::Direct)).unwrap();
    get(&plain, format!("{url}/api/status")).await.unwrap();
    assert!(last_ua().starts_with("API-Hub-Desk/"), "{}", last_ua());
}

/// A one-shot-per-connection HTTPS server with the self-signed test CA's certificate.
async fn tls_server() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;
    let cert = rustls::pki_types::CertificateDer::from(include_bytes!("fixtures/tls/leaf.der").to_vec());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(include_bytes!("fixtures/tls/leaf.key.der").to_vec().into());
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let body = r#"{"success":true,"data":{"system_name":"tls"}}"#;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(reply.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    url
}

#[tokio::test]
async fn a_self_signed_ca_works_once_its_pem_file_is_configured() {
    let url = tls_server().await;
    let client = RelayClient::new(config(ProxySetting::Direct)).unwrap();
    let e = get(&client, format!("{url}/api/status")).await.unwrap_err();
    assert_eq!(e.kind(), "unavailable", "{e}");
    assert!(e.to_string().contains("TLS"), "a classified TLS error: {e}");

    let ca = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls/ca.pem");
    let with_ca =
        RelayClient::new(ClientConfig { extra_ca_file: Some(ca.clone()), ..config(ProxySetting::Direct) }).unwrap();
    assert_eq!(get(&with_ca, format!("{url}/api/status")).await.unwrap(), 200);
    // Reconfiguring a running client (what Settings does) takes effect for every clone.
    let clone = client.clone();
    client.reconfigure(ClientConfig { extra_ca_file: Some(ca), ..config(ProxySetting::Direct) }).unwrap();
    assert_eq!(get(&clone, format!("{url}/api/status")).await.unwrap(), 200);

    // A malformed PEM file is a clear error and leaves the client as it was.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----\n").unwrap();
    let e = client.reconfigure(ClientConfig { extra_ca_file: Some(bad), ..config(ProxySetting::Direct) }).unwrap_err();
    assert!(e.to_string().contains("extra CA certificate file"), "{e}");
    assert_eq!(get(&clone, format!("{url}/api/status")).await.unwrap(), 200);
}

#[tokio::test]
async fn log_requests_on_one_origin_are_spaced_and_other_paths_are_not() {
    let (url, log) = fake_relay().await;
    let client = RelayClient::new(config(ProxySetting::Direct)).unwrap();
    get(&client, format!("{url}/api/status")).await.unwrap(); // connection warm-up
    let start = Instant::now();
    let (l1, l2, u) = tokio::join!(
        get(&client, format!("{url}/api/log/self?p=1")),
        get(&client, format!("{url}/api/log/self?p=2")),
        get(&client, format!("{url}/api/user/self")),
    );
    assert_eq!((l1.unwrap(), l2.unwrap(), u.unwrap()), (200, 200, 200));
    let seen = log.lock().unwrap().clone();
    let logs: Vec<Instant> = seen.iter().filter(|s| s.path == "/api/log/self").map(|s| s.at).collect();
    assert_eq!(logs.len(), 2);
    let gap = logs[1].max(logs[0]) - logs[1].min(logs[0]);
    assert!(gap >= Duration::from_millis(200), "log requests {gap:?} apart");
    let user = seen.iter().find(|s| s.path == "/api/user/self").unwrap().at;
    assert!(user - start < Duration::from_millis(150), "/api/user/self was not delayed: {:?}", user - start);
}

#[test]
fn site_network_settings_survive_reopen_and_backup_round_trip() {
    use apihub::backup::bundle::{SecretsMode, create_bundle};
    use apihub::backup::{RestoreMode, restore_bundle};
    use apihub::domain::NewAccount;
    use apihub::domain::network::NetworkSettings;
    use apihub::store::Store;

    let acc = |url: &str| NewAccount {
        site_url: url.into(),
        site_name: url.into(),
        kind: SiteKind::NewApi,
        user_id: "1".into(),
        username: "alice".into(),
        auth: AuthMethod::AccessToken,
        credentials: Credentials { access_token: Some("tok".into()), ..Default::default() },
    };
    let by_url = |s: &Store| {
        let mut v: Vec<(String, SiteNetwork)> =
            s.site_networks().unwrap().into_iter().map(|(_, u, n)| (u, n)).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let a_net = SiteNetwork {
        proxy: SiteProxy::Url("socks5://bob:s3cret-proxy@127.0.0.1:1080".into()),
        user_agent: Some("UA/site-a".into()),
    };
    let b_net = SiteNetwork { proxy: SiteProxy::Direct, user_agent: None };
    let global = NetworkSettings {
        proxy: ProxySetting::Url("http://corp:gl0bal-pass@10.0.0.1:3128".into()),
        connect_timeout_secs: 4,
        request_timeout_secs: 12,
        extra_ca_file: "/etc/corp-ca.pem".into(),
    };
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = Store::open(dir.path()).unwrap().store;
        s.upsert_account(&acc("https://a.example")).unwrap();
        s.upsert_account(&acc("https://b.example")).unwrap();
        s.upsert_account(&acc("https://c.example")).unwrap();
        s.set_site_network_by_url("https://a.example", &a_net).unwrap();
        s.set_site_network_by_url("https://b.example", &b_net).unwrap();
        s.set_network_settings(&global).unwrap();
    }
    let src = Store::open(dir.path()).unwrap().store;
    let expected = vec![
        ("https://a.example".to_string(), a_net.clone()),
        ("https://b.example".to_string(), b_net.clone()),
        ("https://c.example".to_string(), SiteNetwork::default()),
    ];
    assert_eq!(by_url(&src), expected, "survives reopening");
    assert_eq!(src.network_settings().unwrap(), global);

    // With secrets (passphrase): everything comes back; proxy passwords are encrypted.
    let bytes = create_bundle(&src, &SecretsMode::Passphrase("pw".into())).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(!text.contains("s3cret-proxy") && !text.contains("gl0bal-pass"), "proxy passwords are secrets");
    assert!(text.contains("UA/site-a"));
    let dst_dir = tempfile::tempdir().unwrap();
    let mut dst = Store::open(dst_dir.path()).unwrap().store;
    restore_bundle(&mut dst, &bytes, Some("pw"), RestoreMode::Merge).unwrap();
    assert_eq!(by_url(&dst), expected, "restored from the bundle");
    assert_eq!(dst.network_settings().unwrap(), global);

    // Without secrets: the User-Agent comes back, the proxy override needs re-entry and a
    // merge into a store that has one keeps it.
    let bare = create_bundle(&src, &SecretsMode::Without).unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let mut fresh = Store::open(d2.path()).unwrap().store;
    restore_bundle(&mut fresh, &bare, None, RestoreMode::Merge).unwrap();
    assert_eq!(by_url(&fresh)[0].1, SiteNetwork { proxy: SiteProxy::Inherit, user_agent: Some("UA/site-a".into()) });
    restore_bundle(&mut dst, &bare, None, RestoreMode::Merge).unwrap();
    assert_eq!(by_url(&dst), expected, "a merge without secrets keeps the stored proxies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_accounts_add_with_a_site_proxy_uses_it_and_refresh_keeps_using_it() {
    use fake_relay::{FakeConfig, FakeRelay, Variant};
    let cfg = FakeConfig::new(Variant::NewApiClassic);
    let fake = FakeRelay::start(cfg.clone()).await;
    let proxy = CountingProxy::start().await;
    let dir = tempfile::tempdir().unwrap();
    let run = |args: Vec<String>| {
        let d = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_apihub"))
                .env("APIHUB_LOG", "off")
                .arg("--data-dir")
                .arg(d)
                .args(args)
                .output()
                .unwrap()
        })
    };
    let add = |proxy: &str| {
        ["accounts", "add", "--url", &fake.url, "--kind", "new-api", "--token", &cfg.token, "--user-id", "42"]
            .into_iter()
            .chain(["--proxy", proxy, "--user-agent", "CLI-UA/1"])
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let out = run(add("ftp://nope")).await.unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--proxy"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(fake.requests(), 0, "nothing sent with a bad proxy");

    let out = run(add(&proxy.url)).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after_add = proxy.count_to(&fake.url);
    assert!(after_add > 0 && after_add == fake.requests(), "every request of the add went through the site's proxy");

    let out = run(vec!["refresh".into(), "--json".into()]).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["status"], "ok", "{v}");
    assert!(proxy.count_to(&fake.url) > after_add, "a later refresh uses the stored site proxy");
    assert_eq!(proxy.count_to(&fake.url), fake.requests());

    let store = apihub::store::Store::open(dir.path()).unwrap().store;
    let (_, _, net) = store.site_networks().unwrap().into_iter().next().unwrap();
    assert_eq!(net, SiteNetwork { proxy: SiteProxy::Url(proxy.url.clone()), user_agent: Some("CLI-UA/1".into()) });
}
