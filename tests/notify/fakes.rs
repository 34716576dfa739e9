//! Fakes of the notification services: one axum server (started once, on its own
//! thread, shared by every test) that answers each service's documented endpoint.
//!
//! What a request does is picked by a "mode" in the part of the request that names the
//! target (the bot token, the robot key, the topic, the device key, the hook path):
//! `ok-<id>` answers success, `err-<id>` the service's own error body, `5xx-<id>` a
//! 502 page, `slow-<id>` answers after 3 s (the client's timeout is shorter). `<id>`
//! keeps each test's requests apart. The Feishu and DingTalk fakes check the signature
//! with their own HMAC of the documented recipe (secret [`SECRET`]) and answer the
//! service's "sign" error when it does not match.
#![allow(dead_code)]

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// The signing secret the Feishu and DingTalk fakes expect.
pub const SECRET: &str = "SECtest-secret";

/// A request a fake received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `telegram`, `webhook`, `ntfy`, `bark`, `feishu`, `dingtalk`, `wecom`.
    pub service: &'static str,
    /// Path as received.
    pub path: String,
    /// Query string.
    pub query: String,
    /// Headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: Value,
    /// The target key (token, key, topic…) it carried.
    pub target: String,
}

impl Seen {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The shared fake server.
pub struct Fakes {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    seen: &'static Mutex<Vec<Seen>>,
}

impl Fakes {
    /// Requests whose target ends with `-<id>`.
    pub fn seen(&self, id: &str) -> Vec<Seen> {
        let suffix = format!("-{id}");
        self.seen.lock().unwrap().iter().filter(|s| s.target.ends_with(&suffix)).cloned().collect()
    }
}

static SEEN: Mutex<Vec<Seen>> = Mutex::new(Vec::new());

/// Starts the fakes once; every test gets the same server.
pub fn fakes() -> &'static Fakes {
    static FAKES: OnceLock<Fakes> = OnceLock::new();
    FAKES.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(format!("http://{}", listener.local_addr().unwrap())).unwrap();
                axum::serve(listener, router()).await.unwrap();
            });
        });
        Fakes { url: rx.recv().unwrap(), seen: &SEEN }
    })
}

fn router() -> Router {
    Router::new()
        .route("/bot{token}/sendMessage", post(telegram))
        .route("/hook/{target}", post(webhook))
        .route("/", post(ntfy))
        .route("/push", post(bark))
        .route("/open-apis/bot/v2/hook/{target}", post(feishu))
        .route("/robot/send", post(dingtalk))
        .route("/cgi-bin/webhook/send", post(wecom))
}

fn mode(target: &str) -> &str {
    target.split('-').next().unwrap_or_default()
}

fn headers_of(h: &HeaderMap) -> Vec<(String, String)> {
    h.iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string())).collect()
}

fn record(service: &'static str, path: String, query: String, h: &HeaderMap, body: &Bytes, target: &str) -> Value {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    SEEN.lock().unwrap().push(Seen {
        service,
        path,
        query,
        headers: headers_of(h),
        body: json.clone(),
        target: target.to_string(),
    });
    json
}

/// The common modes: `Some(response)` for 5xx and the wait of `slow`.
async fn common(target: &str) -> Option<Response> {
    match mode(target) {
        "5xx" => Some((StatusCode::BAD_GATEWAY, "<html><body>502 Bad Gateway</body></html>").into_response()),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            None
        }
        _ => None,
    }
}

fn is_json(h: &HeaderMap) -> bool {
    h.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"))
}

fn bad_request(why: &str) -> Response {
    (StatusCode::UNSUPPORTED_MEDIA_TYPE, why.to_string()).into_response()
}

async fn telegram(Path(token): Path<String>, h: HeaderMap, body: Bytes) -> Response {
    record("telegram", format!("/bot{token}/sendMessage"), String::new(), &h, &body, &token);
    if !is_json(&h) {
        return bad_request("not JSON");
    }
    if let Some(r) = common(&token).await {
        return r;
    }
    match mode(&token) {
        // The Bot API's error shape (core.telegram.org/bots/api#making-requests).
        "err" => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"})),
        )
            .into_response(),
        _ => axum::Json(json!({"ok": true, "result": {"message_id": 1, "chat": {"id": 42}, "date": 0, "text": "…"}}))
            .into_response(),
    }
}

async fn webhook(Path(target): Path<String>, h: HeaderMap, body: Bytes) -> Response {
    record("webhook", format!("/hook/{target}"), String::new(), &h, &body, &target);
    if !is_json(&h) {
        return bad_request("not JSON");
    }
    if let Some(r) = common(&target).await {
        return r;
    }
    match mode(&target) {
        "err" => (StatusCode::UNAUTHORIZED, "bad secret").into_response(),
        _ => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn ntfy(h: HeaderMap, body: Bytes) -> Response {
    let topic = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["topic"].as_str().map(str::to_string))
        .unwrap_or_default();
    record("ntfy", "/".into(), String::new(), &h, &body, &topic);
    if !is_json(&h) {
        return bad_request("not JSON");
    }
    if let Some(r) = common(&topic).await {
        return r;
    }
    match mode(&topic) {
        // ntfy's error JSON (e.g. a token without write access).
        "err" => (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"code": 40301, "http": 403, "error": "forbidden", "link": "https://ntfy.sh/docs/publish/#authentication"})),
        )
            .into_response(),
        _ => axum::Json(json!({"id": "abc", "time": 0, "event": "message", "topic": topic})).into_response(),
    }
}

async fn bark(h: HeaderMap, body: Bytes) -> Response {
    let key = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["device_key"].as_str().map(str::to_string))
        .unwrap_or_default();
    record("bark", "/push".into(), String::new(), &h, &body, &key);
    if !is_json(&h) {
        return bad_request("not JSON");
    }
    if let Some(r) = common(&key).await {
        return r;
    }
    match mode(&key) {
        "err" => (
            StatusCode::BAD_REQUEST,
            axum::Json(
                json!({"code": 400, "message": "failed to get device token: device key not found", "timestamp": 0}),
            ),
        )
            .into_response(),
        _ => axum::Json(json!({"code": 200, "message": "success", "timestamp": 0})).into_response(),
    }
}

type HmacSha256 = Hmac<Sha256>;

fn hmac_b64(key: &[u8], msg: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(key).unwrap();
    mac.update(msg);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

async fn feishu(Path(target): Path<String>, h: HeaderMap, body: Bytes) -> Response {
    let v = record("feishu", format!("/open-apis/bot/v2/hook/{target}"), String::new(), &h, &body, &target);
    if !is_json(&h) {
        return bad_request("not JSON");
    }
    if let Some(r) = common(&target).await {
        return r;
    }
    // Signed bots: HmacSHA256 keyed with `timestamp + "\n" + secret` over nothing, Base64;
    // a timestamp (seconds, as a string) more than an hour off is refused too.
    let sign_fail = || {
        axum::Json(json!({"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time", "data": {}}))
            .into_response()
    };
    if target.contains("signed") {
        let Some(ts) = v["timestamp"].as_str().and_then(|t| t.parse::<i64>().ok()) else { return sign_fail() };
        if (ts - chrono::Utc::now().timestamp()).abs() > 3600 {
            return sign_fail();
        }
        let expected = hmac_b64(format!("{ts}\n{SECRET}").as_bytes(), b"");
        if v["sign"].as_str() != Some(expected.as_str()) {
            return sign_fail();
        }
    }
    match mode(&target) {
        "err" => axum::Json(json!({"code": 9499, "msg": "Bad Request", "data": {}})).into_response(),
        _ => axum::Json(json!({"code": 0, "msg": "success", "data": {}})).into_response(),
    }
}

fn query_param(q: &str, name: &str) -> Option<String> {
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| percent_encoding::percent_decode_str(v).decode_utf8_lossy().to_string())
    })
}

async fn dingtalk(RawQuery(q): RawQuery, h: HeaderMap, body: Bytes) -> Response {
    let q = q.unwrap_or_default();
    let token = query_param(&q, "access_token").unwrap_or_default();
    let _ = record("dingtalk", "/robot/send".into(), q.clone(), &h, &body, &token);
    if !is_json(&h) {
        return bad_request("not JSON");
    }
    if let Some(r) = common(&token).await {
        return r;
    }
    // Signed robots: HmacSHA256 keyed with the secret over `timestamp + "\n" + secret`
    // (timestamp in ms, within an hour), Base64, URL-encoded in `sign`.
    if token.contains("signed") {
        let fail = || {
            axum::Json(json!({"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"})).into_response()
        };
        let Some(ts) = query_param(&q, "timestamp").and_then(|t| t.parse::<i64>().ok()) else { return fail() };
        if (ts - chrono::Utc::now().timestamp_millis()).abs() > 3_600_000 {
            return fail();
        }
        let expected = hmac_b64(SECRET.as_bytes(), format!("{ts}\n{SECRET}").as_bytes());
        if query_param(&q, "sign").as_deref() != Some(expected.as_str()) {
            return fail();
        }
    }
    match mode(&token) {
        "err" => axum::Json(json!({"errcode": 300001, "errmsg": "token is not exist"})).into_response(),
        _ => axum::Json(json!({"errcode": 0, "errmsg": "ok"})).into_response(),
    }
}

async fn wecom(RawQuery(q): RawQuery, h: HeaderMap, body: Bytes) -> Response {
    let q = q.unwrap_or_default();
    let key = query_param(&q, "key").unwrap_or_default();
    let v = record("wecom", "/cgi-bin/webhook/send".into(), q, &h, &body, &key);
    if !is_json(&h) {
        return bad_request("not JSON");
    }
    if let Some(r) = common(&key).await {
        return r;
    }
    // Text over 2048 bytes is refused (errcode 40058, as the robot answers).
    if v["text"]["content"].as_str().is_some_and(|c| c.len() > 2048) {
        return axum::Json(json!({"errcode": 40058, "errmsg": "content exceed max length 2048"})).into_response();
    }
    match mode(&key) {
        "err" => axum::Json(json!({"errcode": 93000, "errmsg": "invalid webhook url"})).into_response(),
        _ => axum::Json(json!({"errcode": 0, "errmsg": "ok"})).into_response(),
    }
}
