//! Hostile and broken servers: every case asserts the exact error class.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_relay;

use apihub::domain::{AuthMethod, Credentials, SiteKind};
use apihub::relay::{AccountRef, ClientConfig, OriginLimits, ProxySetting, RelayClient, RelayError};
use fake_relay::hostile::{Canned, canned, drip, huge, reset};

fn config() -> ClientConfig {
    ClientConfig {
        proxy: ProxySetting::Direct,
        connect_timeout_secs: 3,
        request_timeout_secs: 5,
        per_origin: OriginLimits { per_sec: 1000.0, burst: 100, pause_on_429_secs: 1, ..OriginLimits::default() },
        ..ClientConfig::default()
    }
}

async fn fetch_with(cfg: ClientConfig, url: &str, kind: SiteKind) -> RelayError {
    let client = RelayClient::new(cfg).unwrap();
    let acc = AccountRef { site_url: url.to_string(), kind, user_id: "1".into(), auth: AuthMethod::AccessToken };
    let creds = Credentials { access_token: Some("secret-token-value".into()), ..Default::default() };
    let r = tokio::time::timeout(std::time::Duration::from_secs(30), client.fetch_snapshot(&acc, &creds))
        .await
        .expect("must not hang");
    match r {
        Ok(s) => panic!("expected an error, got {s:?}"),
        Err(e) => {
            assert!(!e.to_string().contains("secret-token-value"), "never echo the token: {e}");
            e
        }
    }
}

async fn fetch(url: &str) -> RelayError {
    fetch_with(config(), url, SiteKind::NewApi).await
}

async fn kind_of(c: Canned) -> &'static str {
    fetch(&canned(c).await).await.kind()
}

const CF_PAGE: &str =
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>";

#[tokio::test]
async fn cloudflare_just_a_moment_is_a_challenge() {
    assert_eq!(kind_of(Canned::new(503, CF_PAGE).header("content-type", "text/html")).await, "challenge");
}

#[tokio::test]
async fn cf_mitigated_header_is_a_challenge_even_with_200() {
    assert_eq!(kind_of(Canned::new(200, "<html></html>").header("cf-mitigated", "challenge")).await, "challenge");
}

#[tokio::test]
async fn aliyun_acw_sc_v2_is_a_challenge() {
    let body = "<html><script>var arg1='3F2A1B';function setCookie(){document.cookie='acw_sc__v2='+x}</script></html>";
    assert_eq!(kind_of(Canned::new(200, body)).await, "challenge");
}

#[tokio::test]
async fn bunkerweb_is_a_challenge() {
    assert_eq!(kind_of(Canned::new(403, "<html><body>BunkerWeb bot detection</body></html>")).await, "challenge");
}

#[tokio::test]
async fn http_200_auth_failure_is_auth() {
    let body = r#"{"success":false,"message":"无权进行此操作，access token 无效"}"#;
    assert_eq!(kind_of(Canned::new(200, body)).await, "auth");
    let en = r#"{"success":false,"message":"Unauthorized, invalid access token"}"#;
    assert_eq!(kind_of(Canned::new(200, en)).await, "auth");
}

#[tokio::test]
async fn http_401_with_json_is_auth() {
    let body = r#"{"success":false,"code":"AUTH_TOKEN_EXPIRED","message":"expired"}"#;
    assert_eq!(kind_of(Canned::new(401, body).header("content-type", "application/json")).await, "auth");
}

#[tokio::test]
async fn truncated_json_is_malformed() {
    assert_eq!(kind_of(Canned::new(200, r#"{"success":true,"data":{"quota":12"#)).await, "malformed");
}

#[tokio::test]
async fn wrong_field_types_are_malformed() {
    assert_eq!(kind_of(Canned::new(200, r#"{"success":true,"data":{"id":1,"quota":"lots"}}"#)).await, "malformed");
    assert_eq!(kind_of(Canned::new(200, r#"{"success":true,"data":[1,2,3]}"#)).await, "malformed");
}

#[tokio::test]
async fn success_without_data_and_empty_body_are_malformed() {
    assert_eq!(kind_of(Canned::new(200, r#"{"success":true,"message":""}"#)).await, "malformed");
    assert_eq!(kind_of(Canned::new(200, "")).await, "malformed");
}

#[tokio::test]
async fn a_50_mb_body_hits_the_size_cap() {
    let e = fetch(&huge(50 * 1024 * 1024).await).await;
    assert_eq!(e.kind(), "malformed");
    assert!(e.to_string().contains("too large"), "{e}");
}

#[tokio::test]
async fn a_declared_huge_content_length_is_refused_early() {
    let cfg = ClientConfig { max_body_bytes: 1024, ..config() };
    let url = canned(Canned::new(200, vec![b' '; 4096])).await;
    let e = fetch_with(cfg, &url, SiteKind::NewApi).await;
    assert_eq!(e.kind(), "malformed");
    assert!(e.to_string().contains("too large"));
}

#[tokio::test]
async fn a_server_dripping_one_byte_a_second_times_out() {
    let cfg = ClientConfig { request_timeout_secs: 2, ..config() };
    let e = fetch_with(cfg, &drip().await, SiteKind::NewApi).await;
    assert_eq!(e.kind(), "unavailable");
    assert!(e.to_string().contains("timed out"), "{e}");
}

#[tokio::test]
async fn a_redirect_loop_is_unavailable_with_a_clear_message() {
    let e = fetch(&canned(Canned::new(302, "").header("location", "/api/status")).await).await;
    assert_eq!(e.kind(), "unavailable");
    assert!(e.to_string().contains("redirect"), "{e}");
}

#[tokio::test]
async fn non_utf8_is_malformed() {
    assert_eq!(kind_of(Canned::new(200, vec![0xff, 0xfe, b'{', 0xc3, 0x28])).await, "malformed");
}

#[tokio::test]
async fn http_500_is_unavailable() {
    assert_eq!(kind_of(Canned::new(500, "")).await, "unavailable");
}

#[tokio::test]
async fn http_502_is_unavailable() {
    assert_eq!(kind_of(Canned::new(502, "<html>Bad gateway</html>")).await, "unavailable");
}

#[tokio::test]
async fn http_503_is_unavailable() {
    assert_eq!(kind_of(Canned::new(503, r#"{"error":{"message":"overloaded"}}"#)).await, "unavailable");
}

#[tokio::test]
async fn http_429_without_retry_after() {
    let e = fetch(&canned(Canned::new(429, "")).await).await;
    assert_eq!(e, RelayError::RateLimited { retry_after_secs: None });
}

#[tokio::test]
async fn http_429_with_retry_after() {
    let e = fetch(&canned(Canned::new(429, "").header("retry-after", "7")).await).await;
    assert_eq!(e, RelayError::RateLimited { retry_after_secs: Some(7) });
}

#[tokio::test]
async fn connection_reset_is_unavailable() {
    assert_eq!(fetch(&reset().await).await.kind(), "unavailable");
}

#[tokio::test]
async fn connection_refused_is_unavailable() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    assert_eq!(fetch(&format!("http://127.0.0.1:{port}")).await.kind(), "unavailable");
}

#[tokio::test]
async fn tls_to_a_plain_http_port_says_tls() {
    let url = canned(Canned::new(200, "{}")).await;
    let e = fetch(&url.replace("http://", "https://")).await;
    assert_eq!(e.kind(), "unavailable");
    assert!(e.to_string().contains("TLS"), "{e}");
}

#[tokio::test]
async fn spa_index_html_on_an_api_path_is_not_supported() {
    let body = "<!doctype html><html><head><title>New API</title></head><body><div id=\"root\"></div><script src=\"/assets/index.js\"></script></body></html>";
    assert_eq!(kind_of(Canned::new(200, body).header("content-type", "text/html")).await, "not_supported");
}

#[tokio::test]
async fn gin_404_invalid_url_is_not_supported() {
    let body = r#"{"error":{"message":"Invalid URL (GET /api/user/self)","type":"invalid_request_error","param":"","code":""}}"#;
    assert_eq!(kind_of(Canned::new(404, body)).await, "not_supported");
}

#[tokio::test]
async fn ip_ban_is_unavailable() {
    assert_eq!(kind_of(Canned::new(403, "您的IP已被封锁")).await, "unavailable");
}

#[tokio::test]
async fn business_error_is_server() {
    assert_eq!(kind_of(Canned::new(200, r#"{"success":false,"message":"数据库繁忙"}"#)).await, "server");
}

#[tokio::test]
async fn sub2api_string_code_is_auth() {
    let url = canned(Canned::new(200, r#"{"code":"TOKEN_EXPIRED","message":"token expired"}"#)).await;
    assert_eq!(fetch_with(config(), &url, SiteKind::Sub2api).await.kind(), "auth");
}

#[tokio::test]
async fn voapi_v2_code_2_is_auth() {
    let url = canned(Canned::new(200, r#"{"code":2,"data":null,"msg":"请重新登录"}"#)).await;
    assert_eq!(fetch_with(config(), &url, SiteKind::VoapiV2).await.kind(), "auth");
}

#[tokio::test]
async fn deeply_nested_json_is_malformed_not_a_crash() {
    let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(kind_of(Canned::new(200, body)).await, "malformed");
}
