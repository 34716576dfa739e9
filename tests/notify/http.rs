//! Each HTTP channel against its fake: the exact documented request (path, headers,
//! JSON body, signatures checked by the fake's own HMAC), then a success, the service's
//! error body, a 502 and a timeout, each a clear result that names no secret.

use std::time::Duration;

use apihub::domain::notify::{ChannelConfig, ChannelKind, ChannelSpec, Level, Message};
use apihub::domain::settings::Lang;
use apihub::notify::channels;
use apihub::relay::{ClientConfig, ProxySetting, RelayClient};
use serde_json::json;

use super::fakes::{SECRET, Seen, fakes};

const TIMEOUT: Duration = Duration::from_millis(800);
const TITLE: &str = "API Hub Desk: low balance";
const BODY: &str = "Fake / alice: balance $7.30 is below $10.00";

pub fn client() -> RelayClient {
    RelayClient::new(ClientConfig { proxy: ProxySetting::Direct, connect_timeout_secs: 2, ..Default::default() })
        .unwrap()
}

fn msg() -> Message {
    Message { title: TITLE.into(), body: BODY.into(), level: Level::Warning }
}

fn spec(kind: ChannelKind, config: ChannelConfig) -> ChannelSpec {
    ChannelSpec { name: "t".into(), kind, config, events: vec![], enabled: true }
}

async fn send(s: &ChannelSpec) -> Result<(), String> {
    channels::send(&client(), s, &msg(), Lang::En, TIMEOUT).await.map_err(|e| e.0)
}

/// Sends once per mode (`make(target)` builds the channel) and checks the outcomes:
/// success; the error body's words; the 502; the timeout. Returns the successful request.
async fn four_modes(id: &str, make: impl Fn(&str) -> ChannelSpec, error_words: &str, secrets: &[&str]) -> Seen {
    send(&make(&format!("ok-{id}"))).await.unwrap();
    let seen = fakes().seen(id);
    assert_eq!(seen.len(), 1, "{seen:?}");
    let e = send(&make(&format!("err-{id}"))).await.unwrap_err();
    assert!(e.contains(error_words), "{e}");
    let e5 = send(&make(&format!("5xx-{id}"))).await.unwrap_err();
    assert!(e5.contains("HTTP 502"), "{e5}");
    let et = send(&make(&format!("slow-{id}"))).await.unwrap_err();
    assert!(et.contains("timed out"), "{et}");
    for e in [&e, &e5, &et] {
        for s in secrets {
            assert!(!e.contains(s), "an error names no secret: {e}");
        }
        assert!(!e.contains(&fakes().url), "an error names no URL: {e}");
    }
    let s = seen[0].clone();
    assert_eq!(s.header("content-type"), Some("application/json"), "{s:?}");
    s
}

#[tokio::test]
async fn telegram_send_message() {
    let base = fakes().url.clone();
    let make = |token: &str| {
        spec(
            ChannelKind::Telegram,
            ChannelConfig { token: token.into(), chat_id: "42".into(), api_base: base.clone(), ..Default::default() },
        )
    };
    let s = four_modes("tg1", make, "Bad Request: chat not found", &["ok-tg1"]).await;
    assert_eq!(s.path, "/botok-tg1/sendMessage");
    assert_eq!(s.body, json!({"chat_id": 42, "text": format!("{TITLE}\n{BODY}")}));

    // Over 4096 characters: numbered parts, each within the limit, nothing lost.
    let long =
        Message { title: TITLE.into(), body: "余额不足 — low balance\n".repeat(400), level: Level::Warning };
    channels::send(&client(), &make("ok-tg2"), &long, Lang::En, TIMEOUT).await.unwrap();
    let parts = fakes().seen("tg2");
    assert!(parts.len() >= 2, "{}", parts.len());
    for (i, p) in parts.iter().enumerate() {
        let text = p.body["text"].as_str().unwrap();
        assert!(text.chars().count() <= 4096, "part {i}: {}", text.chars().count());
        assert!(text.starts_with(&format!("({}/{}) ", i + 1, parts.len())), "{}", &text[..20]);
    }
}

#[tokio::test]
async fn webhook_post_json_with_the_secret_header() {
    let base = fakes().url.clone();
    let make = |t: &str| {
        spec(
            ChannelKind::Webhook,
            ChannelConfig { url: format!("{base}/hook/{t}"), secret: "s3cr3t-value".into(), ..Default::default() },
        )
    };
    let s = four_modes("wh1", make, "HTTP 401: bad secret", &["s3cr3t-value"]).await;
    assert_eq!(s.path, "/hook/ok-wh1");
    assert_eq!(s.header("x-webhook-secret"), Some("s3cr3t-value"));
    assert_eq!(s.body, json!({"source": "api-hub-desk", "title": TITLE, "text": BODY, "level": "warning"}));
    // Without a secret: no header.
    send(&spec(ChannelKind::Webhook, ChannelConfig { url: format!("{base}/hook/ok-wh2"), ..Default::default() }))
        .await
        .unwrap();
    assert_eq!(fakes().seen("wh2")[0].header("x-webhook-secret"), None);
}

#[tokio::test]
async fn ntfy_publish_as_json_with_a_token() {
    let base = fakes().url.clone();
    let make = |t: &str| {
        spec(
            ChannelKind::Ntfy,
            ChannelConfig { server: base.clone(), topic: t.into(), token: "tk_secret123".into(), ..Default::default() },
        )
    };
    let s = four_modes("nt1", make, "ntfy: HTTP 403: forbidden", &["tk_secret123"]).await;
    assert_eq!(s.path, "/");
    assert_eq!(s.header("authorization"), Some("Bearer tk_secret123"));
    assert_eq!(s.body, json!({"topic": "ok-nt1", "title": TITLE, "message": BODY, "priority": 3, "tags": ["warning"]}));
}

#[tokio::test]
async fn bark_push_with_the_device_key_in_the_body() {
    let base = fakes().url.clone();
    let make = |t: &str| {
        spec(ChannelKind::Bark, ChannelConfig { server: base.clone(), token: t.into(), ..Default::default() })
    };
    let s = four_modes("bk1", make, "device key not found", &[]).await;
    assert_eq!(s.path, "/push");
    assert_eq!(s.body, json!({"device_key": "ok-bk1", "title": TITLE, "body": BODY, "group": "API Hub Desk"}));
}

#[tokio::test]
async fn feishu_custom_bot_signed_and_plain() {
    let base = fakes().url.clone();
    let make = |t: &str| {
        spec(
            ChannelKind::Feishu,
            ChannelConfig {
                url: format!("{base}/open-apis/bot/v2/hook/{t}"),
                secret: SECRET.into(),
                ..Default::default()
            },
        )
    };
    // The fake accepts the signed targets only with its own HMAC of the recipe.
    let signed = |t: &str| make(&t.replacen('-', "-signed-", 1));
    let s = four_modes("fs1", signed, "Bad Request (code 9499)", &[SECRET]).await;
    assert_eq!(s.path, "/open-apis/bot/v2/hook/ok-signed-fs1");
    assert_eq!(s.body["msg_type"], "text");
    assert_eq!(s.body["content"], json!({"text": format!("{TITLE}\n{BODY}")}));
    let ts: i64 = s.body["timestamp"].as_str().unwrap().parse().unwrap();
    assert!((ts - chrono::Utc::now().timestamp()).abs() < 600, "seconds, not ms: {ts}");
    // A wrong secret: Feishu's own sign error, named.
    let mut wrong = make("ok-signed-fs2");
    wrong.config.secret = "SECwrong".into();
    let e = send(&wrong).await.unwrap_err();
    assert!(e.contains("sign match fail") && e.contains("19021"), "{e}");
    assert!(!e.contains("SECwrong"));
    // Unsigned: exactly the text body, no timestamp or sign.
    let mut plain = make("ok-fs3");
    plain.config.secret.clear();
    send(&plain).await.unwrap();
    assert_eq!(
        fakes().seen("fs3")[0].body,
        json!({"msg_type": "text", "content": {"text": format!("{TITLE}\n{BODY}")}})
    );
}

#[tokio::test]
async fn dingtalk_robot_signed_and_plain() {
    let base = fakes().url.clone();
    let make = |t: &str| {
        spec(
            ChannelKind::Dingtalk,
            ChannelConfig {
                url: format!("{base}/robot/send?access_token={}", t.replacen('-', "-signed-", 1)),
                secret: SECRET.into(),
                ..Default::default()
            },
        )
    };
    let s = four_modes("dt1", make, "token is not exist (errcode 300001)", &[SECRET]).await;
    assert!(s.query.starts_with("access_token=ok-signed-dt1&timestamp="), "{}", s.query);
    assert!(s.query.contains("&sign="), "{}", s.query);
    assert_eq!(s.body, json!({"msgtype": "text", "text": {"content": format!("{TITLE}\n{BODY}")}}));
    let mut wrong = make("ok-dt2");
    wrong.config.secret = "SECwrong".into();
    let e = send(&wrong).await.unwrap_err();
    assert!(e.contains("sign not match") && e.contains("310000"), "{e}");
    let plain = spec(
        ChannelKind::Dingtalk,
        ChannelConfig { url: format!("{base}/robot/send?access_token=ok-dt3"), ..Default::default() },
    );
    send(&plain).await.unwrap();
    assert_eq!(fakes().seen("dt3")[0].query, "access_token=ok-dt3");
}

#[tokio::test]
async fn wecom_group_robot_and_its_2048_byte_limit() {
    let base = fakes().url.clone();
    let make = |t: &str| {
        spec(
            ChannelKind::Wecom,
            ChannelConfig { url: format!("{base}/cgi-bin/webhook/send?key={t}"), ..Default::default() },
        )
    };
    let s = four_modes("wc1", make, "invalid webhook url (errcode 93000)", &[]).await;
    assert_eq!(s.query, "key=ok-wc1");
    assert_eq!(s.body, json!({"msgtype": "text", "text": {"content": format!("{TITLE}\n{BODY}")}}));
    // A long Chinese text: parts within 2048 bytes (the fake refuses more), all accepted.
    let long =
        Message { title: TITLE.into(), body: "账户余额不足，请充值。\n".repeat(150), level: Level::Warning };
    channels::send(&client(), &make("ok-wc2"), &long, Lang::ZhCn, TIMEOUT).await.unwrap();
    let parts = fakes().seen("wc2");
    assert!(parts.len() >= 2 && parts.len() <= 4, "{}", parts.len());
    assert!(parts.iter().all(|p| p.body["text"]["content"].as_str().unwrap().len() <= 2048));
}
