//! One message to one channel, as each service documents its request.
//!
//! The HTTP channels are built as plain [`HttpPost`]s first ([`requests`], pure and
//! tested against fakes that check the documented shape), then sent with the relay
//! client's HTTP client for the URL (the saved proxy, timeouts, extra CA file), without
//! its limiter and without ever logging a URL: Telegram's holds the bot token, the
//! webhook robots' hold their keys. Errors name the service's own message, never a URL.
//!
//! | kind | request | success | limit |
//! | --- | --- | --- | --- |
//! | telegram | `POST {api}/bot<token>/sendMessage` `{"chat_id","text"}` | `{"ok":true}` | 4096 characters |
//! | webhook | `POST <url>` JSON, `X-Webhook-Secret` | 2xx | none |
//! | ntfy | `POST {server}/` `{"topic","title","message","priority","tags"}` | 2xx | 4096 bytes |
//! | bark | `POST {server}/push` `{"device_key","title","body","group"}` | `{"code":200}` | 4 KB APNs payload |
//! | feishu | `POST <url>` `{"timestamp","sign","msg_type":"text","content":{"text"}}` | `{"code":0}` | 20 KB body |
//! | dingtalk | `POST <url>&timestamp=&sign=` `{"msgtype":"text","text":{"content"}}` | `{"errcode":0}` | see below |
//! | wecom | `POST <url>` `{"msgtype":"text","text":{"content"}}` | `{"errcode":0}` | 2048 bytes |

use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::domain::notify::{
    APP_NAME, ChannelKind, ChannelSpec, Level, Limit, Message, split_message, truncated_marker,
};
use crate::domain::settings::Lang;
use crate::relay::RelayClient;

/// Telegram's Bot API server.
pub const TELEGRAM_API: &str = "https://api.telegram.org";
/// The public ntfy server.
pub const NTFY_SERVER: &str = "https://ntfy.sh";
/// Bark's own push server.
pub const BARK_SERVER: &str = "https://api.day.app";
/// The webhook channel's secret header.
pub const WEBHOOK_SECRET_HEADER: &str = "X-Webhook-Secret";

/// Largest reply read from a channel (its error text is all we use).
const MAX_REPLY_BYTES: usize = 64 * 1024;

/// A failed send, in words fit for the history and the status line (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SendError(pub String);

/// One HTTP request a channel makes.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpPost {
    /// Full URL (may hold a secret: never logged or shown).
    pub url: String,
    /// Extra headers (`Content-Type: application/json` is always sent).
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub body: Value,
}

type HmacSha256 = Hmac<Sha256>;

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length: `new_from_slice` cannot fail for it.
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(msg);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Feishu / Lark custom bot signature: HMAC-SHA256 with `timestamp + "\n" + secret` as
/// the key over an empty message, Base64; the timestamp in seconds, within an hour of
/// Feishu's clock. (Feishu open platform, "Custom bot usage guide", signature
/// verification: open.feishu.cn/document/client-docs/bot-v3/add-custom-bot.)
pub fn feishu_sign(secret: &str, timestamp_secs: i64) -> String {
    let key = format!("{timestamp_secs}\n{secret}");
    base64::engine::general_purpose::STANDARD.encode(hmac_sha256(key.as_bytes(), b""))
}

/// DingTalk custom robot signature: HMAC-SHA256 with the secret (`SEC…`) as the key over
/// `timestamp + "\n" + secret`, Base64, then URL-encoded (UTF-8); the timestamp in
/// milliseconds, within an hour. Both go on the webhook URL as `&timestamp=…&sign=…`.
/// (DingTalk open platform, custom robot access, security settings → 加签:
/// open.dingtalk.com/document/group/custom-robot-access.)
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let to_sign = format!("{timestamp_ms}\n{secret}");
    let b64 = base64::engine::general_purpose::STANDARD.encode(hmac_sha256(secret.as_bytes(), to_sign.as_bytes()));
    percent_encoding::utf8_percent_encode(&b64, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A channel's size limit for one message and how many messages one send may take
/// (the robots allow about 20 messages a minute: a long summary is cut, not spread).
pub fn limit_of(kind: ChannelKind) -> Option<(Limit, usize)> {
    match kind {
        // Telegram Bot API, sendMessage: "Text of the message to be sent, 1-4096
        // characters after entities parsing" (core.telegram.org/bots/api#sendmessage).
        ChannelKind::Telegram => Some((Limit::Chars(4096), 5)),
        // ntfy: messages over the server's message-size-limit (4096 bytes by default,
        // docs.ntfy.sh/publish/#limitations) become attachments: stay under it.
        ChannelKind::Ntfy => Some((Limit::Bytes(4000), 3)),
        // Bark rides on APNs, whose payload is at most 4 KB with title and extras.
        ChannelKind::Bark => Some((Limit::Bytes(3000), 3)),
        // Feishu custom bot: "the request body must not exceed 20 KB" and 100 messages
        // a minute, 5 a second (Custom bot usage guide): the text leaves room for JSON.
        ChannelKind::Feishu => Some((Limit::Bytes(18_000), 3)),
        // DingTalk custom robot: 20 messages a minute per robot (then 10 minutes of
        // throttling); its text size is not given as a number in the robot docs, so
        // messages stay short and summaries are cut at 4000 bytes.
        ChannelKind::Dingtalk => Some((Limit::Bytes(4000), 3)),
        // WeCom group robot, text: "content … 最长不超过2048个字节，必须是utf8编码"
        // (developer.work.weixin.qq.com/document/path/91770); 20 messages a minute.
        ChannelKind::Wecom => Some((Limit::Bytes(2048), 4)),
        ChannelKind::Webhook | ChannelKind::Email => None,
    }
}

/// `text` in parts within the channel's limit, each prefixed `(i/n)` when there are
/// several; the last one ends with the cut marker if something did not fit.
pub fn parts_for(kind: ChannelKind, text: &str, lang: Lang) -> Vec<String> {
    let Some((limit, max_parts)) = limit_of(kind) else { return vec![text.to_string()] };
    // Room for the "(i/n) " prefix.
    let room = match limit {
        Limit::Chars(n) => Limit::Chars(n - 8),
        Limit::Bytes(n) => Limit::Bytes(n - 8),
    };
    let parts = split_message(text, room, max_parts, truncated_marker(lang));
    let n = parts.len();
    if n == 1 {
        return parts;
    }
    parts.into_iter().enumerate().map(|(i, p)| format!("({}/{n}) {p}", i + 1)).collect()
}

fn base(v: &str, default: &str) -> String {
    let v = v.trim();
    if v.is_empty() { default.to_string() } else { v.trim_end_matches('/').to_string() }
}

/// The requests an HTTP channel makes for `msg` (one per part). `now_ms` is the clock
/// for signatures. Email has none (it is SMTP).
pub fn requests(spec: &ChannelSpec, msg: &Message, lang: Lang, now_ms: i64) -> Vec<HttpPost> {
    let c = &spec.config;
    let json_only = |url: String, body: Value| HttpPost { url, headers: Vec::new(), body };
    match spec.kind {
        ChannelKind::Telegram => {
            let url = format!("{}/bot{}/sendMessage", base(&c.api_base, TELEGRAM_API), c.token.trim());
            // `chat_id`: "Integer or String": a numeric id as a number, `@channel` as text.
            let chat: Value = match c.chat_id.trim().parse::<i64>() {
                Ok(n) => json!(n),
                Err(_) => json!(c.chat_id.trim()),
            };
            parts_for(spec.kind, &msg.text(), lang)
                .into_iter()
                .map(|text| json_only(url.clone(), json!({"chat_id": chat, "text": text})))
                .collect()
        }
        ChannelKind::Webhook => {
            let headers = if c.secret.is_empty() {
                Vec::new()
            } else {
                vec![(WEBHOOK_SECRET_HEADER.to_string(), c.secret.clone())]
            };
            let body = json!({
                "source": "api-hub-desk",
                "title": msg.title,
                "text": msg.body,
                "level": msg.level.as_str(),
            });
            vec![HttpPost { url: c.url.trim().to_string(), headers, body }]
        }
        ChannelKind::Ntfy => {
            // Publish as JSON: POST to the server root with the topic in the body
            // (docs.ntfy.sh/publish/#publish-as-json); an access token as Bearer.
            let url = format!("{}/", base(&c.server, NTFY_SERVER));
            let headers = if c.token.trim().is_empty() {
                Vec::new()
            } else {
                vec![("Authorization".to_string(), format!("Bearer {}", c.token.trim()))]
            };
            let (priority, tag) = match msg.level {
                Level::Error => (4, "rotating_light"),
                Level::Warning => (3, "warning"),
                Level::Info => (2, "bar_chart"),
            };
            parts_for(spec.kind, &msg.body, lang)
                .into_iter()
                .map(|part| HttpPost {
                    url: url.clone(),
                    headers: headers.clone(),
                    body: json!({"topic": c.topic.trim(), "title": msg.title, "message": part,
                                 "priority": priority, "tags": [tag]}),
                })
                .collect()
        }
        ChannelKind::Bark => {
            // bark-server API v2: POST /push with the device key in the JSON body
            // (github.com/Finb/bark-server docs/API_V2.md), so no key sits in a URL.
            let url = format!("{}/push", base(&c.server, BARK_SERVER));
            parts_for(spec.kind, &msg.body, lang)
                .into_iter()
                .map(|part| {
                    json_only(
                        url.clone(),
                        json!({"device_key": c.token.trim(), "title": msg.title, "body": part, "group": APP_NAME}),
                    )
                })
                .collect()
        }
        ChannelKind::Feishu => {
            let ts = now_ms / 1000;
            parts_for(spec.kind, &msg.text(), lang)
                .into_iter()
                .map(|text| {
                    let mut body = json!({"msg_type": "text", "content": {"text": text}});
                    if !c.secret.is_empty() {
                        body["timestamp"] = json!(ts.to_string());
                        body["sign"] = json!(feishu_sign(&c.secret, ts));
                    }
                    json_only(c.url.trim().to_string(), body)
                })
                .collect()
        }
        ChannelKind::Dingtalk => {
            let url = if c.secret.is_empty() {
                c.url.trim().to_string()
            } else {
                let joiner = if c.url.contains('?') { '&' } else { '?' };
                format!("{}{joiner}timestamp={now_ms}&sign={}", c.url.trim(), dingtalk_sign(&c.secret, now_ms))
            };
            parts_for(spec.kind, &msg.text(), lang)
                .into_iter()
                .map(|text| json_only(url.clone(), json!({"msgtype": "text", "text": {"content": text}})))
                .collect()
        }
        ChannelKind::Wecom => parts_for(spec.kind, &msg.text(), lang)
            .into_iter()
            .map(|text| json_only(c.url.trim().to_string(), json!({"msgtype": "text", "text": {"content": text}})))
            .collect(),
        ChannelKind::Email => Vec::new(),
    }
}

fn short(s: &str) -> String {
    let s = s.trim();
    let cut: String = s.chars().take(200).collect();
    if cut.len() < s.len() { format!("{cut}…") } else { cut }
}

/// Whether a reply means "delivered"; the error is the service's own words.
pub fn check_reply(kind: ChannelKind, status: u16, body: &[u8]) -> Result<(), String> {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let field = |k: &str| json.as_ref().and_then(|j| j.get(k)).cloned();
    let text = |k: &str| field(k).and_then(|v| v.as_str().map(str::to_string));
    let code = |k: &str| field(k).and_then(|v| v.as_i64());
    let http = |what: &str| {
        let words = if what.is_empty() { String::new() } else { format!(": {}", short(what)) };
        format!("HTTP {status}{words}")
    };
    let raw = String::from_utf8_lossy(body).to_string();
    let ok2xx = (200..300).contains(&status);
    match kind {
        ChannelKind::Telegram => {
            if ok2xx && field("ok") == Some(Value::Bool(true)) {
                return Ok(());
            }
            let mut e = text("description").unwrap_or_else(|| short(&raw));
            if let Some(after) = field("parameters").and_then(|p| p.get("retry_after").and_then(Value::as_i64)) {
                e.push_str(&format!(" (retry after {after} s)"));
            }
            Err(format!("Telegram: {}", http(&e)))
        }
        ChannelKind::Webhook => {
            if ok2xx {
                Ok(())
            } else {
                Err(format!("webhook: {}", http(&raw)))
            }
        }
        ChannelKind::Ntfy => {
            if ok2xx {
                Ok(())
            } else {
                Err(format!("ntfy: {}", http(&text("error").unwrap_or(raw))))
            }
        }
        ChannelKind::Bark => match code("code") {
            Some(200) if ok2xx => Ok(()),
            None if ok2xx => Ok(()),
            _ => Err(format!("Bark: {}", http(&text("message").unwrap_or(raw)))),
        },
        ChannelKind::Feishu => {
            // New replies: {"code":0,"msg":"success"}; older ones {"StatusCode":0,…}.
            let c = code("code").or_else(|| code("StatusCode"));
            if ok2xx && c == Some(0) {
                return Ok(());
            }
            let msg = text("msg").or_else(|| text("StatusMessage")).unwrap_or(raw);
            let with_code = c.map(|c| format!("{msg} (code {c})")).unwrap_or(msg);
            Err(format!("Feishu: {}", http(&with_code)))
        }
        ChannelKind::Dingtalk | ChannelKind::Wecom => {
            let name = if kind == ChannelKind::Dingtalk { "DingTalk" } else { "WeCom" };
            let c = code("errcode");
            if ok2xx && c == Some(0) {
                return Ok(());
            }
            let msg = text("errmsg").unwrap_or(raw);
            let with_code = c.map(|c| format!("{msg} (errcode {c})")).unwrap_or(msg);
            Err(format!("{name}: {}", http(&with_code)))
        }
        ChannelKind::Email => Ok(()),
    }
}

/// What went wrong on the wire, without the URL.
fn transport(kind: ChannelKind, e: reqwest::Error) -> SendError {
    let e = e.without_url();
    let mut chain = String::new();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        src = s.source();
    }
    let what = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        format!("could not connect{chain}")
    } else {
        format!("request failed{chain}")
    };
    SendError(format!("{kind}: {what}"))
}

async fn post(client: &RelayClient, kind: ChannelKind, p: &HttpPost, timeout: Duration) -> Result<(), SendError> {
    let http = client.http_client_for(&p.url).map_err(|e| SendError(format!("{kind}: {e}")))?;
    let mut rb = http.post(&p.url).timeout(timeout).json(&p.body);
    for (k, v) in &p.headers {
        rb = rb.header(k.as_str(), v.as_str());
    }
    let mut resp = rb.send().await.map_err(|e| transport(kind, e))?;
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport(kind, e))? {
        if body.len() + chunk.len() > MAX_REPLY_BYTES {
            break;
        }
        body.extend_from_slice(&chunk);
    }
    check_reply(kind, status, &body).map_err(SendError)
}

/// Sends `msg` on a channel. Every part is sent in order; the first failure stops.
pub async fn send(
    client: &RelayClient,
    spec: &ChannelSpec,
    msg: &Message,
    lang: Lang,
    timeout: Duration,
) -> Result<(), SendError> {
    if let Err(e) = spec.config.check(spec.kind) {
        return Err(SendError(format!("{}: {e}", spec.kind)));
    }
    if spec.kind == ChannelKind::Email {
        let extra_ca = client.config().extra_ca_file;
        return super::email::send(&spec.config, msg, extra_ca.as_deref(), timeout).await;
    }
    let now_ms = chrono::Utc::now().timestamp_millis();
    let posts = requests(spec, msg, lang, now_ms);
    let n = posts.len();
    for (i, p) in posts.iter().enumerate() {
        post(client, spec.kind, p, timeout)
            .await
            .map_err(|e| if n > 1 { SendError(format!("{} (part {} of {n})", e.0, i + 1)) } else { e })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::notify::ChannelConfig;

    fn spec(kind: ChannelKind, config: ChannelConfig) -> ChannelSpec {
        ChannelSpec { name: "t".into(), kind, config, events: vec![], enabled: true }
    }

    fn msg(body: &str) -> Message {
        Message { title: "API Hub Desk: low balance".into(), body: body.into(), level: Level::Warning }
    }

    #[test]
    fn signatures_match_the_documented_recipes() {
        // Recomputed by hand from the recipe, with a fixed clock.
        let f = feishu_sign("demo", 1_599_360_473);
        assert_eq!(
            base64::engine::general_purpose::STANDARD.decode(&f).unwrap(),
            hmac_sha256(b"1599360473\ndemo", b"")
        );
        let d = dingtalk_sign("SECdemo", 1_599_360_473_000);
        assert!(!d.contains(['+', '/', '=']), "URL-encoded: {d}");
        let decoded = percent_encoding::percent_decode_str(&d).decode_utf8().unwrap();
        assert_eq!(
            base64::engine::general_purpose::STANDARD.decode(decoded.as_bytes()).unwrap(),
            hmac_sha256(b"SECdemo", b"1599360473000\nSECdemo")
        );
    }

    #[test]
    fn requests_per_kind() {
        let tg = spec(
            ChannelKind::Telegram,
            ChannelConfig { token: "1:A".into(), chat_id: "-100".into(), ..Default::default() },
        );
        let r = requests(&tg, &msg("x"), Lang::En, 0);
        assert_eq!(r[0].url, "https://api.telegram.org/bot1:A/sendMessage");
        assert_eq!(r[0].body, json!({"chat_id": -100, "text": "API Hub Desk: low balance\nx"}));
        let tg = spec(ChannelKind::Telegram, ChannelConfig { chat_id: "@ops".into(), ..tg.config });
        assert_eq!(requests(&tg, &msg("x"), Lang::En, 0)[0].body["chat_id"], "@ops");
        let dt = spec(
            ChannelKind::Dingtalk,
            ChannelConfig {
                url: "https://oapi.dingtalk.com/robot/send?access_token=T".into(),
                secret: "S".into(),
                ..Default::default()
            },
        );
        let r = requests(&dt, &msg("x"), Lang::En, 1_000);
        assert!(
            r[0].url.starts_with("https://oapi.dingtalk.com/robot/send?access_token=T&timestamp=1000&sign="),
            "{}",
            r[0].url
        );
        // A WeCom text over 2048 bytes goes out in numbered parts, each within the limit.
        let long = "告警内容".repeat(400);
        let wc = spec(
            ChannelKind::Wecom,
            ChannelConfig { url: "https://qyapi.weixin.qq.com/x?key=K".into(), ..Default::default() },
        );
        let r = requests(&wc, &msg(&long), Lang::ZhCn, 0);
        assert!(r.len() > 1);
        for p in &r {
            assert!(p.body["text"]["content"].as_str().unwrap().len() <= 2048);
        }
        assert!(r[0].body["text"]["content"].as_str().unwrap().starts_with("(1/"));
    }

    #[test]
    fn replies_are_judged_by_each_services_rules() {
        assert!(check_reply(ChannelKind::Telegram, 200, br#"{"ok":true,"result":{}}"#).is_ok());
        let e = check_reply(
            ChannelKind::Telegram,
            400,
            br#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#,
        )
        .unwrap_err();
        assert_eq!(e, "Telegram: HTTP 400: Bad Request: chat not found");
        assert!(check_reply(ChannelKind::Feishu, 200, br#"{"code":0,"msg":"success","data":{}}"#).is_ok());
        assert!(check_reply(ChannelKind::Feishu, 200, br#"{"StatusCode":0,"StatusMessage":"success"}"#).is_ok());
        let e = check_reply(
            ChannelKind::Feishu,
            200,
            br#"{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}"#,
        )
        .unwrap_err();
        assert!(e.contains("sign match fail") && e.contains("19021"), "{e}");
        let e =
            check_reply(ChannelKind::Dingtalk, 200, br#"{"errcode":310000,"errmsg":"sign not match"}"#).unwrap_err();
        assert!(e.contains("sign not match") && e.contains("310000"), "{e}");
        assert!(check_reply(ChannelKind::Wecom, 200, br#"{"errcode":0,"errmsg":"ok"}"#).is_ok());
        assert!(check_reply(ChannelKind::Bark, 200, br#"{"code":200,"message":"success"}"#).is_ok());
        assert!(
            check_reply(ChannelKind::Bark, 400, br#"{"code":400,"message":"failed to get device token"}"#).is_err()
        );
        assert!(check_reply(ChannelKind::Webhook, 204, b"").is_ok());
        let e = check_reply(ChannelKind::Webhook, 503, b"<html>down</html>").unwrap_err();
        assert_eq!(e, "webhook: HTTP 503: <html>down</html>");
    }
}
