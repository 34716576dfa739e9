//! The upstream error taxonomy (reference `exports-and-gateway.md` §4): what one failed
//! attempt means for failover and for the cool-down of the account, key or model.
//!
//! Codes are matched first (`error.code`, new-api's `insufficient_user_quota`,
//! `pre_consume_token_quota_failed`, `model_not_found` …), then the message text, then the
//! status. A genuine client error (a bad body, a context too long, a blocked prompt) is
//! returned to the client unchanged and never fails over.

use axum::http::HeaderMap;
use serde_json::Value;

/// What an upstream failure means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailClass {
    /// Connection refused / reset / timed out, 5xx, Cloudflare 52x, 408/409/425: try the
    /// next candidate; short cool-down of the account.
    Transient,
    /// 429: next candidate; the account cools down until `Retry-After`.
    RateLimited {
        /// The upstream's `Retry-After` (or `retry-after-ms`), in milliseconds.
        retry_after_ms: Option<u64>,
    },
    /// The key is invalid, expired, disabled or refused (401, most 403s): next; the key
    /// cools down long.
    KeyAuth,
    /// The key's own quota is used up: next; the key cools down long.
    KeyQuota,
    /// The account's balance is used up: next; the account cools down long.
    AccountQuota,
    /// The site has no channel for the model in the key's group, or the key may not use
    /// it: next; this key's model cools down long.
    ModelMissing,
    /// 404 / 405 / a redirect: the site has no such route (older build): next; this key's
    /// model cools down.
    Unsupported,
    /// The request itself is at fault: returned to the client unchanged.
    Client,
}

impl FailClass {
    /// Stable name for logs and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            FailClass::Transient => "transient",
            FailClass::RateLimited { .. } => "rate_limited",
            FailClass::KeyAuth => "key_auth",
            FailClass::KeyQuota => "key_quota",
            FailClass::AccountQuota => "account_quota",
            FailClass::ModelMissing => "model_missing",
            FailClass::Unsupported => "unsupported",
            FailClass::Client => "client_error",
        }
    }

    /// Whether another candidate is tried.
    pub fn fails_over(self) -> bool {
        self != FailClass::Client
    }

    /// Whether the app should raise an alert on the account (its key or balance needs the user).
    pub fn alerts(self) -> bool {
        matches!(self, FailClass::KeyAuth | FailClass::KeyQuota | FailClass::AccountQuota | FailClass::ModelMissing)
    }
}

/// The parts of an error body worth reading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorText {
    /// `error.code` (or a top-level `code`), lower case.
    pub code: String,
    /// `error.type` (or a top-level `type` other than "error"), lower case.
    pub kind: String,
    /// The message (`error.message`, `message`, `msg`, or the body text), at most 300 chars.
    pub message: String,
}

fn as_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// Reads an OpenAI, Anthropic or One API error body (or plain text / HTML).
pub fn error_text(body: &[u8]) -> ErrorText {
    let mut out = ErrorText::default();
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => {
            let err = v.get("error");
            let inner = err.filter(|e| e.is_object());
            out.code = as_text(inner.and_then(|e| e.get("code")).or_else(|| v.get("code"))).to_lowercase();
            out.kind = as_text(inner.and_then(|e| e.get("type")).or_else(|| v.get("type").filter(|t| *t != "error")))
                .to_lowercase();
            out.message = as_text(
                inner
                    .and_then(|e| e.get("message"))
                    .or_else(|| err.filter(|e| e.is_string()))
                    .or_else(|| v.get("message"))
                    .or_else(|| v.get("msg")),
            );
        }
        Err(_) => out.message = String::from_utf8_lossy(&body[..body.len().min(600)]).trim().to_string(),
    }
    if out.message.chars().count() > 300 {
        out.message = out.message.chars().take(300).collect::<String>() + "…";
    }
    out.message = crate::logging::redact(&out.message);
    out
}

fn any(hay: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| hay.contains(n))
}

const ACCOUNT_QUOTA: &[&str] = &[
    "insufficient_user_quota",
    "用户额度不足",
    "预扣费额度失败",
    "user quota is not enough",
    "insufficient_quota",
    "insufficient_balance",
    "insufficient_account_balance",
    "billing_error",
    "upstream_quota_exhausted",
    "credit balance is too low",
    "exceeded your current quota",
    "余额不足",
];
const KEY_QUOTA: &[&str] = &[
    "pre_consume_token_quota_failed",
    "insufficient_token_quota",
    "token quota is not enough",
    "令牌额度不足",
    "该令牌额度已用尽",
    "tokenstatusexhausted",
    "token quota is exhausted",
];
const MODEL_MISSING: &[&str] = &[
    "model_not_found",
    "no available channel",
    "无可用渠道",
    "has no access to model",
    "no access to any model",
    "unsupported model",
    "no such model",
    "不支持所选模型",
    "do not have access to the model",
    "model_price_error",
];
const KEY_AUTH: &[&str] = &[
    "invalid token",
    "invalid api key",
    "invalid_api_key",
    "无效的令牌",
    "token has expired",
    "该令牌已过期",
    "token status is unavailable",
    "该令牌状态不可用",
];
const VALIDATION: &[&str] = &[
    "invalid request body",
    "validation",
    "missing required",
    "unknown parameter",
    "malformed",
    "invalid json",
    "cannot parse",
    "context length",
    "context_length_exceeded",
    "maximum context",
    "too many tokens",
    "model name not specified",
];

/// Parses `Retry-After` (seconds or an HTTP date) or `retry-after-ms`, in milliseconds.
pub fn retry_after_ms(headers: &HeaderMap) -> Option<u64> {
    if let Some(ms) =
        headers.get("retry-after-ms").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<f64>().ok())
    {
        return (ms.is_finite() && ms >= 0.0).then_some(ms as u64);
    }
    let v = headers.get(axum::http::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then_some((secs * 1000.0) as u64);
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let ms = when.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    Some(ms.max(0) as u64)
}

/// Classifies an upstream reply with a status ≥ 300.
pub fn classify(status: u16, headers: &HeaderMap, body: &[u8]) -> (FailClass, ErrorText) {
    let text = error_text(body);
    let hay = format!("{} {} {}", text.code, text.kind, text.message.to_lowercase());
    let class = classify_text(status, &hay, || retry_after_ms(headers));
    (class, text)
}

fn classify_text(status: u16, hay: &str, retry: impl Fn() -> Option<u64>) -> FailClass {
    if status == 429 {
        // A 429 that says the balance is gone is a quota problem, not a rate.
        return if any(hay, ACCOUNT_QUOTA) && !hay.contains("rate") {
            FailClass::AccountQuota
        } else {
            FailClass::RateLimited { retry_after_ms: retry() }
        };
    }
    if status == 500 && hay.contains("sensitive_words_detected") {
        return FailClass::Client;
    }
    if any(hay, KEY_QUOTA) {
        return FailClass::KeyQuota;
    }
    if any(hay, ACCOUNT_QUOTA) || status == 402 {
        return FailClass::AccountQuota;
    }
    if any(hay, MODEL_MISSING) {
        return FailClass::ModelMissing;
    }
    match status {
        401 | 403 => FailClass::KeyAuth,
        404 | 405 | 300..=399 => FailClass::Unsupported,
        408 | 409 | 425 | 500..=599 => FailClass::Transient,
        400 | 413 | 422 => {
            if any(hay, VALIDATION) {
                FailClass::Client
            } else if any(hay, KEY_AUTH) {
                FailClass::KeyAuth
            } else if any(hay, &["please use /v1/responses", "unsupported endpoint", "not supported on this endpoint"])
            {
                FailClass::Unsupported
            } else if any(hay, &["rate limit", "bad gateway", "service unavailable", "timeout", "timed out"]) {
                FailClass::Transient
            } else {
                FailClass::Client
            }
        }
        _ => FailClass::Client,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(status: u16, body: &str) -> FailClass {
        classify(status, &HeaderMap::new(), body.as_bytes()).0
    }

    #[test]
    fn the_reference_table_classifies() {
        // 401 key texts (new-api, classic and Chinese).
        assert_eq!(
            c(401, r#"{"error":{"message":"Invalid token (request id: x)","type":"new_api_error"}}"#),
            FailClass::KeyAuth
        );
        assert_eq!(c(401, r#"{"error":{"message":"该令牌已过期","type":"one_api_error"}}"#), FailClass::KeyAuth);
        assert_eq!(
            c(401, r#"{"error":{"message":"This token quota is exhausted TokenStatusExhausted[sk-ab***yz]"}}"#),
            FailClass::KeyQuota
        );
        // 403 account balance.
        assert_eq!(
            c(403, r#"{"error":{"message":"用户额度不足, 剩余额度: ＄0.01","code":"insufficient_user_quota"}}"#),
            FailClass::AccountQuota
        );
        assert_eq!(c(403, r#"{"error":{"message":"user quota is not enough"}}"#), FailClass::AccountQuota);
        // 403 key quota.
        assert_eq!(
            c(
                403,
                r#"{"error":{"message":"token quota is not enough, token remain quota: 1","code":"pre_consume_token_quota_failed"}}"#
            ),
            FailClass::KeyQuota
        );
        // Model missing in the group / for the key.
        assert_eq!(
            c(
                503,
                r#"{"error":{"message":"No available channel for model x under group default (distributor)","code":"model_not_found"}}"#
            ),
            FailClass::ModelMissing
        );
        assert_eq!(
            c(503, r#"{"error":{"message":"当前分组 default 下对于模型 x 无可用渠道"}}"#),
            FailClass::ModelMissing
        );
        assert_eq!(
            c(403, r#"{"error":{"message":"This token has no access to model gpt-9"}}"#),
            FailClass::ModelMissing
        );
        // Group not usable / banned: the key's configuration.
        assert_eq!(c(403, r#"{"error":{"message":"无权访问 vip 分组"}}"#), FailClass::KeyAuth);
        // Transient.
        assert_eq!(c(502, "<html>Bad gateway</html>"), FailClass::Transient);
        assert_eq!(c(524, ""), FailClass::Transient);
        assert_eq!(c(500, r#"{"error":{"message":"get_channel_failed"}}"#), FailClass::Transient);
        // Client errors stay with the client.
        assert_eq!(
            c(
                400,
                r#"{"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","code":"context_length_exceeded"}}"#
            ),
            FailClass::Client
        );
        assert_eq!(c(400, r#"{"error":{"message":"Unknown parameter: 'foo'"}}"#), FailClass::Client);
        assert_eq!(c(422, "{}"), FailClass::Client);
        assert_eq!(c(500, r#"{"error":{"message":"blocked","code":"sensitive_words_detected"}}"#), FailClass::Client);
        // Channel-local 400s fail over.
        assert_eq!(c(400, r#"{"error":{"message":"Invalid API key provided"}}"#), FailClass::KeyAuth);
        assert_eq!(c(400, r#"{"error":{"message":"please use /v1/responses"}}"#), FailClass::Unsupported);
        // No route on an older build.
        assert_eq!(c(404, "404 page not found"), FailClass::Unsupported);
        // Anthropic shapes.
        assert_eq!(
            c(
                400,
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"messages: field required (validation)"}}"#
            ),
            FailClass::Client
        );
        assert_eq!(
            c(
                400,
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low"}}"#
            ),
            FailClass::AccountQuota
        );
        assert_eq!(c(402, "{}"), FailClass::AccountQuota);
    }

    #[test]
    fn rate_limits_read_retry_after() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(classify(429, &h, b"{}").0, FailClass::RateLimited { retry_after_ms: Some(7000) });
        h.insert("retry-after-ms", "1500".parse().unwrap());
        assert_eq!(retry_after_ms(&h), Some(1500));
        let mut d = HeaderMap::new();
        d.insert("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after_ms(&d), Some(0), "a past date: now");
        assert_eq!(classify(429, &HeaderMap::new(), b"").0, FailClass::RateLimited { retry_after_ms: None });
        assert_eq!(
            classify(
                429,
                &HeaderMap::new(),
                br#"{"error":{"code":"insufficient_quota","message":"You exceeded your current quota"}}"#
            )
            .0,
            FailClass::AccountQuota
        );
    }

    #[test]
    fn error_text_reads_every_shape_and_redacts() {
        let t = error_text(
            br#"{"error":{"message":"bad key sk-abcdefghijklmnopqrstuvwxyz0123456789","type":"x","code":"y"}}"#,
        );
        assert_eq!(t.code, "y");
        assert!(!t.message.contains("sk-abcdefghijklmnopqrstuvwxyz0123456789"), "{}", t.message);
        let t = error_text(br#"{"success":false,"message":"pricing disabled"}"#);
        assert_eq!(t.message, "pricing disabled");
        let t = error_text(br#"{"error":"plain string"}"#);
        assert_eq!(t.message, "plain string");
        let long = "x".repeat(2000);
        assert!(error_text(long.as_bytes()).message.chars().count() <= 301);
    }
}
