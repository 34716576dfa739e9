//! "Try a model": one minimal request through the site's OpenAI-compatible API with one
//! of the account's keys, measuring the latency.
//!
//! - chat models: `POST {base}/v1/chat/completions` with `stream: true`, one user message
//!   and the `max_tokens` the user chose (never more); SSE `data:` lines are read until
//!   `[DONE]`; the time to first token is when the first chunk carrying text arrives.
//! - embedding models: `POST {base}/v1/embeddings` with a short input; the vector's
//!   dimensions and the latency are reported.
//!
//! Errors in OpenAI's shape `{"error":{"message","type","code"}}` (also one-api / new-api's
//! `one_api_error` / `new_api_error`, and `{"message"}` / `{"detail"}` bodies) are classified
//! into a [`TryError`] that keeps the server's own message. Requests pass the per-origin
//! limiter and the client's timeouts like every other call.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::json_message;
use super::http::transport_error;
use super::limiter::origin_of;
use super::{RelayClient, RelayError, classify};

/// The prompt used when the user gives none.
pub const DEFAULT_PROMPT: &str = "Say hi";
/// `max_tokens` used when the user gives none.
pub const DEFAULT_MAX_TOKENS: u32 = 16;
/// The largest `max_tokens` a try may ask for.
pub const MAX_TOKENS_LIMIT: u32 = 4_096;
/// Longest reply text kept (the rest is cut; the request is small anyway).
const MAX_REPLY_CHARS: usize = 4_000;
/// Input sent to an embedding model.
pub const EMBEDDING_INPUT: &str = "hello";

/// Chat or embeddings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TryKind {
    /// `/v1/chat/completions`, streamed.
    Chat,
    /// `/v1/embeddings`.
    Embedding,
}

impl TryKind {
    /// Embeddings for models whose name says so (`text-embedding-3-small`, `nomic-embed-text`, `embed-english-v3.0`).
    pub fn for_model(model: &str) -> TryKind {
        let m = model.to_ascii_lowercase();
        if m.contains("embedding") || m.contains("-embed") || m.starts_with("embed") {
            TryKind::Embedding
        } else {
            TryKind::Chat
        }
    }
}

/// What to send.
#[derive(Debug, Clone, PartialEq)]
pub struct TryRequest {
    /// The exact model name.
    pub model: String,
    /// The user's one-line prompt (chat) or input (embeddings).
    pub prompt: String,
    /// Most tokens of the reply (clamped to 1 ..= [`MAX_TOKENS_LIMIT`]).
    pub max_tokens: u32,
    /// Chat or embeddings.
    pub kind: TryKind,
}

impl TryRequest {
    /// A request with the defaults for `model` (kind from its name).
    pub fn new(model: &str) -> TryRequest {
        TryRequest {
            model: model.to_string(),
            prompt: DEFAULT_PROMPT.to_string(),
            max_tokens: DEFAULT_MAX_TOKENS,
            kind: TryKind::for_model(model),
        }
    }

    /// The JSON body sent.
    pub fn body(&self) -> Value {
        let prompt = self.prompt.trim();
        match self.kind {
            TryKind::Chat => json!({
                "model": self.model,
                "messages": [{"role": "user", "content": if prompt.is_empty() { DEFAULT_PROMPT } else { prompt }}],
                "stream": true,
                "max_tokens": self.max_tokens.clamp(1, MAX_TOKENS_LIMIT),
            }),
            TryKind::Embedding => json!({
                "model": self.model,
                "input": if prompt.is_empty() { EMBEDDING_INPUT } else { prompt },
            }),
        }
    }

    fn path(&self) -> &'static str {
        match self.kind {
            TryKind::Chat => "/v1/chat/completions",
            TryKind::Embedding => "/v1/embeddings",
        }
    }
}

/// A successful try.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TryOutcome {
    /// Chat or embeddings.
    pub kind: TryKind,
    /// The reply text (chat; empty for embeddings).
    pub reply: String,
    /// Time to the first chunk carrying text, ms (chat; `None` when no text came).
    pub ttft_ms: Option<u64>,
    /// Time until the reply was complete, ms.
    pub total_ms: u64,
    /// Length of the embedding vector (embeddings).
    pub dimensions: Option<usize>,
    /// `finish_reason` of the last choice, when given (`stop`, `length`).
    pub finish_reason: Option<String>,
}

/// Why a try failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TryErrorKind {
    /// The key is invalid, disabled, expired or not allowed (401 / 403).
    Auth,
    /// 429 or the site's "too many requests" / "upstream saturated".
    RateLimited,
    /// The model does not exist, is not allowed for the key, or no channel serves it.
    ModelUnavailable,
    /// The key or the user ran out of quota.
    Quota,
    /// The site refused the request itself (400-class).
    BadRequest,
    /// Unreachable, timed out, 5xx.
    Unavailable,
    /// A browser challenge / WAF page.
    Challenge,
    /// The site has no such endpoint (web page or 404 without an error body).
    NotSupported,
    /// The reply could not be understood.
    Malformed,
}

impl TryErrorKind {
    /// Stable short name (`auth`, `rate_limited`, `model_unavailable`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            TryErrorKind::Auth => "auth",
            TryErrorKind::RateLimited => "rate_limited",
            TryErrorKind::ModelUnavailable => "model_unavailable",
            TryErrorKind::Quota => "quota",
            TryErrorKind::BadRequest => "bad_request",
            TryErrorKind::Unavailable => "unavailable",
            TryErrorKind::Challenge => "challenge",
            TryErrorKind::NotSupported => "not_supported",
            TryErrorKind::Malformed => "malformed",
        }
    }

    /// Inverse of [`TryErrorKind::as_str`] (unknown names are `Malformed`).
    pub fn parse(s: &str) -> TryErrorKind {
        [
            TryErrorKind::Auth,
            TryErrorKind::RateLimited,
            TryErrorKind::ModelUnavailable,
            TryErrorKind::Quota,
            TryErrorKind::BadRequest,
            TryErrorKind::Unavailable,
            TryErrorKind::Challenge,
            TryErrorKind::NotSupported,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .unwrap_or(TryErrorKind::Malformed)
    }
}

/// A failed try: the class, the HTTP status and the server's own message.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[error("{}{}: {message}", kind.as_str(), status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
pub struct TryError {
    /// The class.
    pub kind: TryErrorKind,
    /// HTTP status, when a reply came.
    pub status: Option<u16>,
    /// The server's message (or what went wrong).
    pub message: String,
    /// The error body's `code` or `type`, when given (`model_not_found`, `new_api_error`).
    pub code: Option<String>,
}

impl From<RelayError> for TryError {
    fn from(e: RelayError) -> Self {
        let kind = match &e {
            RelayError::Auth { .. } => TryErrorKind::Auth,
            RelayError::Challenge { .. } => TryErrorKind::Challenge,
            RelayError::NotSupported { .. } => TryErrorKind::NotSupported,
            RelayError::RateLimited { .. } => TryErrorKind::RateLimited,
            RelayError::Unavailable { .. } => TryErrorKind::Unavailable,
            RelayError::Malformed { .. } => TryErrorKind::Malformed,
            RelayError::Server { .. } => TryErrorKind::BadRequest,
        };
        let message = match e {
            RelayError::Auth { message, .. }
            | RelayError::Challenge { message }
            | RelayError::NotSupported { message }
            | RelayError::Unavailable { message }
            | RelayError::Malformed { message }
            | RelayError::Server { message } => message,
            RelayError::RateLimited { .. } => e.to_string(),
        };
        TryError { kind, status: None, message, code: None }
    }
}

fn short(s: &str) -> String {
    let s = s.trim();
    let t: String = s.chars().take(300).collect();
    if t.len() < s.len() { format!("{t}…") } else { t }
}

fn code_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

const MODEL_MARKERS: &[&str] = &[
    "model_not_found",
    "无可用渠道",
    "no available channel",
    "does not exist",
    "not found",
    "无权使用模型",
    "no access to model",
    "model not allowed",
    "不支持该模型",
    "unsupported model",
    "not supported model",
    "invalid model",
];
const QUOTA_MARKERS: &[&str] = &["insufficient", "额度不足", "余额不足", "quota", "额度已用尽", "pre_consume"];
const RATE_MARKERS: &[&str] =
    &["rate_limit", "rate limit", "too many requests", "负载已饱和", "请求过于频繁", "请稍后再试"];
const AUTH_MARKERS: &[&str] =
    &["invalid_api_key", "incorrect api key", "无效的令牌", "令牌已过期", "令牌已被禁用", "unauthorized"];

/// Classifies a non-2xx reply (or a 2xx carrying an `error`): OpenAI-style bodies keep the
/// server's message; other bodies go through the relay classification.
pub fn classify_error(status: u16, headers: &HeaderMap, body: &[u8]) -> TryError {
    let parsed: Option<Value> = std::str::from_utf8(body).ok().and_then(|s| serde_json::from_str(s.trim()).ok());
    let Some(v) = parsed.filter(Value::is_object) else {
        let relay = match classify(status, headers, body, "try") {
            Err(e) => e,
            Ok(_) => RelayError::Malformed { message: format!("HTTP {status}") },
        };
        let mut e = TryError::from(relay);
        if status == 429 {
            e.kind = TryErrorKind::RateLimited;
        }
        e.status = Some(status);
        return e;
    };
    let err = v.get("error");
    let message = match err {
        Some(Value::String(s)) => s.clone(),
        Some(e @ Value::Object(_)) => e.get("message").and_then(Value::as_str).unwrap_or_default().to_string(),
        _ => json_message(&v),
    };
    let inner = err.filter(|e| e.is_object()).unwrap_or(&v);
    let code = code_text(inner.get("code")).or_else(|| code_text(inner.get("type")));
    let haystack =
        format!("{} {} {}", message, code.as_deref().unwrap_or(""), code_text(inner.get("type")).unwrap_or_default())
            .to_lowercase();
    let has = |list: &[&str]| list.iter().any(|m| haystack.contains(&m.to_lowercase()));
    let kind = if status == 429 || has(RATE_MARKERS) && !has(QUOTA_MARKERS) {
        TryErrorKind::RateLimited
    } else if status == 401 || has(AUTH_MARKERS) {
        TryErrorKind::Auth
    } else if has(MODEL_MARKERS) {
        TryErrorKind::ModelUnavailable
    } else if status == 402 || has(QUOTA_MARKERS) {
        TryErrorKind::Quota
    } else if status == 403 {
        TryErrorKind::Auth
    } else if status >= 500 {
        TryErrorKind::Unavailable
    } else {
        TryErrorKind::BadRequest
    };
    let message = if message.trim().is_empty() { format!("HTTP {status}") } else { short(&message) };
    TryError { kind, status: Some(status), message, code }
}

/// What one SSE `data:` payload said.
enum Event {
    Done,
    Text {
        /// Reply text in this chunk.
        text: String,
        /// Whether the chunk carried any token (text or a reasoning model's thinking).
        token: bool,
        finish: Option<String>,
    },
}

fn parse_event(data: &str) -> Result<Event, TryError> {
    if data == "[DONE]" {
        return Ok(Event::Done);
    }
    let v: Value = serde_json::from_str(data).map_err(|_| TryError {
        kind: TryErrorKind::Malformed,
        status: None,
        message: format!("stream chunk is not JSON: {}", short(data)),
        code: None,
    })?;
    if v.get("error").is_some_and(|e| !e.is_null()) {
        let mut e = classify_error(200, &HeaderMap::new(), data.as_bytes());
        e.status = None;
        return Err(e);
    }
    let choice = v.get("choices").and_then(|c| c.get(0));
    let delta = choice.and_then(|c| c.get("delta").or_else(|| c.get("message")));
    let part = |k: &str| delta.and_then(|d| d.get(k)).and_then(Value::as_str).unwrap_or_default();
    // Reasoning models stream their thinking first: it is the first token too, but not the reply.
    let text = part("content").to_string();
    let thinking = !part("reasoning_content").is_empty() || !part("reasoning").is_empty();
    let finish = choice.and_then(|c| c.get("finish_reason")).and_then(Value::as_str).map(str::to_string);
    Ok(Event::Text { token: !text.is_empty() || thinking, text, finish })
}

/// Reads an SSE stream: reply text, time to first token, finish reason.
struct SseReader {
    buf: Vec<u8>,
    reply: String,
    first: Option<Duration>,
    finish: Option<String>,
    done: bool,
}

impl SseReader {
    fn new() -> SseReader {
        SseReader { buf: Vec::new(), reply: String::new(), first: None, finish: None, done: false }
    }

    /// Feeds bytes; complete lines are handled at once.
    fn feed(&mut self, chunk: &[u8], elapsed: Duration) -> Result<(), TryError> {
        self.buf.extend_from_slice(chunk);
        while let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=pos).collect();
            self.line(&String::from_utf8_lossy(&line), elapsed)?;
            if self.done {
                return Ok(());
            }
        }
        Ok(())
    }

    fn finish_buf(&mut self, elapsed: Duration) -> Result<(), TryError> {
        let rest = std::mem::take(&mut self.buf);
        if !rest.is_empty() {
            self.line(&String::from_utf8_lossy(&rest), elapsed)?;
        }
        Ok(())
    }

    fn line(&mut self, line: &str, elapsed: Duration) -> Result<(), TryError> {
        let line = line.trim();
        let Some(data) = line.strip_prefix("data:") else { return Ok(()) };
        match parse_event(data.trim())? {
            Event::Done => self.done = true,
            Event::Text { text, token, finish } => {
                if token && self.first.is_none() {
                    self.first = Some(elapsed);
                }
                if self.reply.chars().count() < MAX_REPLY_CHARS {
                    self.reply.push_str(&text);
                }
                if finish.is_some() {
                    self.finish = finish;
                }
            }
        }
        Ok(())
    }
}

fn ms(d: Duration) -> u64 {
    (d.as_millis() as u64).max(1)
}

impl RelayClient {
    /// Sends one try with `key` to the site at `base_url` (see the module doc).
    pub async fn try_model(&self, base_url: &str, key: &str, req: &TryRequest) -> Result<TryOutcome, TryError> {
        self.try_model_live(base_url, key, req, &|_| {}).await
    }

    /// [`RelayClient::try_model`], calling `on_text` with the reply so far whenever a streamed chunk adds text.
    pub async fn try_model_live(
        &self,
        base_url: &str,
        key: &str,
        req: &TryRequest,
        on_text: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<TryOutcome, TryError> {
        let inner = &self.inner;
        let url = format!("{}{}", base_url.trim_end_matches('/'), req.path());
        let origin = origin_of(&url).ok_or_else(|| TryError {
            kind: TryErrorKind::Unavailable,
            status: None,
            message: format!("not a valid URL: {url}"),
            code: None,
        })?;
        let key = key.trim();
        let auth = HeaderValue::from_str(&format!("Bearer {}", super::parse::with_sk(key))).map_err(|_| TryError {
            kind: TryErrorKind::Auth,
            status: None,
            message: "the key holds characters HTTP forbids".into(),
            code: None,
        })?;
        let route = inner.route(&url).map_err(TryError::from)?;
        let limiter = inner.limiters.get(&origin);
        let timeout = Duration::from_secs(route.request_timeout_secs.max(1));
        let _permit = limiter
            .acquire(timeout)
            .await
            .map_err(|p| TryError::from(RelayError::RateLimited { retry_after_secs: Some(p.remaining_secs) }))?;
        let overall = timeout + Duration::from_secs(2);
        let what = req.path();
        let run = async {
            let mut headers = HeaderMap::new();
            headers.insert(reqwest::header::AUTHORIZATION, auth);
            let accept = if req.kind == TryKind::Chat { "text/event-stream" } else { "application/json" };
            headers.insert(reqwest::header::ACCEPT, HeaderValue::from_static(accept));
            headers.insert(reqwest::header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            let start = Instant::now();
            let mut resp = route
                .client
                .post(&url)
                .headers(headers)
                .json(&req.body())
                .send()
                .await
                .map_err(|e| TryError::from(transport_error(&e, what)))?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let cap = route.max_body_bytes;
            let is_sse = headers
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("event-stream"));
            if (200..300).contains(&status) && is_sse {
                let mut sse = SseReader::new();
                let mut read = 0usize;
                while let Some(chunk) = resp.chunk().await.map_err(|e| TryError::from(transport_error(&e, what)))? {
                    read += chunk.len();
                    if read > cap {
                        return Err(TryError {
                            kind: TryErrorKind::Malformed,
                            status: Some(status),
                            message: "the stream is too large".into(),
                            code: None,
                        });
                    }
                    let before = sse.reply.len();
                    sse.feed(&chunk, start.elapsed())?;
                    if sse.reply.len() != before {
                        on_text(&sse.reply);
                    }
                    if sse.done {
                        break;
                    }
                }
                let total = start.elapsed();
                sse.finish_buf(total)?;
                return Ok(TryOutcome {
                    kind: req.kind,
                    reply: sse.reply,
                    ttft_ms: sse.first.map(ms),
                    total_ms: ms(total),
                    dimensions: None,
                    finish_reason: sse.finish,
                });
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| TryError::from(transport_error(&e, what)))? {
                if body.len() + chunk.len() > cap {
                    return Err(TryError {
                        kind: TryErrorKind::Malformed,
                        status: Some(status),
                        message: "the reply is too large".into(),
                        code: None,
                    });
                }
                body.extend_from_slice(&chunk);
            }
            let total = start.elapsed();
            if status == 429 {
                let retry = headers
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                limiter.pause(retry);
            }
            log::debug!("POST {url} → {status} ({} bytes)", body.len());
            let v: Option<Value> = serde_json::from_slice(&body).ok();
            let has_error = v.as_ref().and_then(|v| v.get("error")).is_some_and(|e| !e.is_null());
            if !(200..300).contains(&status) || has_error {
                return Err(classify_error(status, &headers, &body));
            }
            let Some(v) = v else { return Err(classify_error(status, &headers, &body)) };
            plain_outcome(req.kind, &v, total)
        };
        match tokio::time::timeout(overall, run).await {
            Ok(r) => r,
            Err(_) => Err(TryError {
                kind: TryErrorKind::Unavailable,
                status: None,
                message: format!("{what}: timed out"),
                code: None,
            }),
        }
    }
}

/// A non-streamed success: an embeddings list, or a chat completion from a site that
/// ignored `stream` (then the first token is the whole reply).
fn plain_outcome(kind: TryKind, v: &Value, total: Duration) -> Result<TryOutcome, TryError> {
    let malformed = |m: &str| TryError { kind: TryErrorKind::Malformed, status: None, message: m.into(), code: None };
    match kind {
        TryKind::Embedding => {
            let dims = v
                .get("data")
                .and_then(|d| d.get(0))
                .and_then(|d| d.get("embedding"))
                .and_then(|e| match e {
                    Value::Array(a) => Some(a.len()),
                    // base64-encoded float32s
                    Value::String(s) => {
                        use base64::Engine as _;
                        base64::engine::general_purpose::STANDARD.decode(s).ok().map(|b| b.len() / 4)
                    }
                    _ => None,
                })
                .ok_or_else(|| malformed("the embeddings reply has no `data[0].embedding`"))?;
            Ok(TryOutcome {
                kind,
                reply: String::new(),
                ttft_ms: None,
                total_ms: ms(total),
                dimensions: Some(dims),
                finish_reason: None,
            })
        }
        TryKind::Chat => {
            let choice =
                v.get("choices").and_then(|c| c.get(0)).ok_or_else(|| malformed("the reply has no choices"))?;
            let reply: String = choice
                .get("message")
                .and_then(|m| m.get("content"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .chars()
                .take(MAX_REPLY_CHARS)
                .collect();
            Ok(TryOutcome {
                kind,
                ttft_ms: (!reply.is_empty()).then(|| ms(total)),
                reply,
                total_ms: ms(total),
                dimensions: None,
                finish_reason: choice.get("finish_reason").and_then(Value::as_str).map(str::to_string),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(status: u16, body: &str) -> TryError {
        classify_error(status, &HeaderMap::new(), body.as_bytes())
    }

    #[test]
    fn error_bodies_are_classified_with_the_servers_message() {
        let e = err(
            401,
            r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#,
        );
        assert_eq!(
            (e.kind, e.message.as_str(), e.code.as_deref()),
            (TryErrorKind::Auth, "Incorrect API key provided", Some("invalid_api_key"))
        );
        let e = err(
            503,
            r#"{"error":{"message":"当前分组 default 下对于模型 x 无可用渠道","type":"new_api_error","code":"model_not_found"}}"#,
        );
        assert_eq!(e.kind, TryErrorKind::ModelUnavailable);
        let e = err(503, r#"{"error":{"message":"当前分组 default 下对于模型 x 无可用渠道","type":"one_api_error"}}"#);
        assert_eq!(e.kind, TryErrorKind::ModelUnavailable);
        assert_eq!(e.code.as_deref(), Some("one_api_error"));
        let e = err(
            403,
            r#"{"error":{"message":"用户额度不足, 剩余额度: $0.00","type":"new_api_error","code":"insufficient_user_quota"}}"#,
        );
        assert_eq!(e.kind, TryErrorKind::Quota);
        let e = err(429, r#"{"error":{"message":"当前分组上游负载已饱和，请稍后再试","type":"new_api_error"}}"#);
        assert_eq!(e.kind, TryErrorKind::RateLimited);
        assert_eq!(e.message, "当前分组上游负载已饱和，请稍后再试");
        assert_eq!(err(400, r#"{"message":"bad json","success":false}"#).kind, TryErrorKind::BadRequest);
        assert_eq!(err(500, r#"{"detail":"boom"}"#).kind, TryErrorKind::Unavailable);
        assert_eq!(err(502, "bad gateway").kind, TryErrorKind::Unavailable);
        assert_eq!(err(429, "").kind, TryErrorKind::RateLimited);
        assert_eq!(err(200, "<!doctype html><div id=root></div>").kind, TryErrorKind::NotSupported);
        assert_eq!(TryErrorKind::parse("quota"), TryErrorKind::Quota);
        assert_eq!(TryErrorKind::parse("??"), TryErrorKind::Malformed);
    }

    #[test]
    fn the_sse_reader_assembles_text_across_split_chunks() {
        let mut r = SseReader::new();
        let d = Duration::from_millis;
        r.feed(b"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n", d(5)).unwrap();
        assert!(r.first.is_none(), "a chunk without text is not the first token");
        r.feed(b"data: {\"choices\":[{\"delta\":{\"content\":\"Hel", d(10)).unwrap();
        r.feed(b"lo\"}}]}\n\n: keep-alive\n\ndata: {\"choices\":[{\"delta\":{\"content\":\" you\"},\"finish_reason\":\"length\"}]}\n", d(20))
            .unwrap();
        r.feed(b"data: [DONE]\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"late\"}}]}\n", d(30)).unwrap();
        assert!(r.done);
        assert_eq!(r.reply, "Hello you");
        assert_eq!(r.first, Some(d(20)), "the line completed with the second feed");
        assert_eq!(r.finish.as_deref(), Some("length"));
        let mut r = SseReader::new();
        let e = r
            .feed(b"data: {\"error\":{\"message\":\"quota exceeded\",\"type\":\"insufficient_quota\"}}\n", d(1))
            .unwrap_err();
        assert_eq!(e.kind, TryErrorKind::Quota);
    }

    #[test]
    fn requests_never_ask_for_more_than_given() {
        let mut r = TryRequest::new("gpt-4o-mini");
        assert_eq!(r.kind, TryKind::Chat);
        assert_eq!(r.body()["max_tokens"], 16);
        assert_eq!(r.body()["stream"], true);
        r.max_tokens = 1_000_000;
        assert_eq!(r.body()["max_tokens"], MAX_TOKENS_LIMIT);
        assert_eq!(TryRequest::new("text-embedding-3-small").kind, TryKind::Embedding);
        assert_eq!(TryKind::for_model("nomic-embed-text"), TryKind::Embedding);
        assert_eq!(TryKind::for_model("deepseek-chat"), TryKind::Chat);
        assert!(TryRequest::new("text-embedding-3-small").body().get("max_tokens").is_none());
    }
}
