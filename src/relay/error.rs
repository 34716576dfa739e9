//! `RelayError` and the one function that classifies a reply (clients.md §1, top to bottom).

use reqwest::header::HeaderMap;
use serde_json::Value;

/// Why a call to a relay site failed. One clear line per account; details go to the log.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RelayError {
    /// The credential is invalid, expired, lacks permission, or the user id is wrong.
    #[error("authentication failed: {message}")]
    Auth {
        /// What the server said (or what we concluded).
        message: String,
        /// What the user can do about it (e.g. "check the user id"), when known.
        hint: Option<String>,
    },
    /// A Cloudflare / WAF challenge page: needs a human in a real browser.
    #[error("blocked by a browser challenge: {message}")]
    Challenge {
        /// Which marker matched.
        message: String,
    },
    /// The site (kind or version) does not offer this endpoint.
    #[error("not supported by this site: {message}")]
    NotSupported {
        /// The endpoint and the evidence.
        message: String,
    },
    /// HTTP 429: back off (the whole origin is paused).
    #[error("rate limited{}", .retry_after_secs.map(|s| format!(" (retry after {s} s)")).unwrap_or_default())]
    RateLimited {
        /// `Retry-After` in seconds, when given.
        retry_after_secs: Option<u64>,
    },
    /// Unreachable, timed out, TLS failure, 5xx, IP banned.
    #[error("site unavailable: {message}")]
    Unavailable {
        /// The cause.
        message: String,
    },
    /// The reply is not what we expect (not JSON, wrong types, not UTF-8, too large).
    #[error("unexpected reply: {message}")]
    Malformed {
        /// What was wrong.
        message: String,
    },
    /// The server refused with its own message (`success:false`).
    #[error("server said: {message}")]
    Server {
        /// The server's message.
        message: String,
    },
}

impl RelayError {
    /// A stable short name of the class: `auth`, `challenge`, `not_supported`,
    /// `rate_limited`, `unavailable`, `malformed`, `server`.
    pub fn kind(&self) -> &'static str {
        match self {
            RelayError::Auth { .. } => "auth",
            RelayError::Challenge { .. } => "challenge",
            RelayError::NotSupported { .. } => "not_supported",
            RelayError::RateLimited { .. } => "rate_limited",
            RelayError::Unavailable { .. } => "unavailable",
            RelayError::Malformed { .. } => "malformed",
            RelayError::Server { .. } => "server",
        }
    }

    /// Whether the whole site should be given up for this refresh (no point in
    /// calling its other endpoints).
    pub fn is_site_fatal(&self) -> bool {
        matches!(self, RelayError::Challenge { .. } | RelayError::RateLimited { .. } | RelayError::Unavailable { .. })
    }

    pub(crate) fn malformed(message: impl Into<String>) -> RelayError {
        RelayError::Malformed { message: message.into() }
    }

    pub(crate) fn auth(message: impl Into<String>) -> RelayError {
        let message = message.into();
        let hint = auth_hint(&message);
        RelayError::Auth { message, hint }
    }
}

const CHALLENGE_MARKERS: &[&str] = &[
    "just a moment",
    "checking your browser",
    "please wait while we check",
    "cf-browser-verification",
    "cf-challenge",
    "challenge-platform",
    "bot detection",
    "bunkerweb",
    "acw_sc__v2",
    "var arg1=",
];

const AUTH_SUBSTRINGS: &[&str] = &[
    "登录已过期",
    "登录过期",
    "登录可能已过期",
    "未登录",
    "认证失败",
    "鉴权失败",
    "access token 无效",
    "无权进行此操作",
    "用户已被封禁",
    "token expired",
    "token has expired",
    "token_expired",
    "jwt expired",
    "access token expired",
    "invalid token",
    "invalid access token",
    "unauthorized",
    "unauthenticated",
    "forbidden",
    "not login",
    "not logged in",
    "http 401",
    "http 403",
];

const AUTH_CODES: &[&str] = &[
    "401",
    "403",
    "TOKEN_EXPIRED",
    "UNAUTHORIZED",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "INVALID_TOKEN",
    "INVALID_ACCESS_TOKEN",
    "ACCESS_TOKEN_EXPIRED",
];

const USER_ID_HEADERS: &[&str] = &["new-api-user", "veloera-user", "voapi-user", "user-id", "x-api-user"];

fn auth_hint(message: &str) -> Option<String> {
    let lower = message.to_lowercase();
    if USER_ID_HEADERS.iter().any(|h| lower.contains(h)) {
        Some("the user id does not match this token: check the account's user id".into())
    } else if message.contains("用户已被封禁") || lower.contains("banned") || lower.contains("disabled") {
        Some("the account is banned or disabled on the site; signing in again will not help".into())
    } else if lower.contains("expired") || message.contains("过期") {
        Some("the token or session expired: paste a new access token or cookie".into())
    } else {
        Some("check the access token (personal settings → system access token) or the cookie".into())
    }
}

fn is_auth_message(message: &str) -> bool {
    let lower = message.to_lowercase();
    AUTH_SUBSTRINGS.iter().any(|s| lower.contains(s))
}

fn is_auth_code(code: &Value) -> bool {
    match code {
        Value::Number(n) => n.as_i64().is_some_and(|c| c == 401 || c == 403),
        Value::String(s) => {
            let up = s.to_ascii_uppercase();
            up.starts_with("AUTH_") || AUTH_CODES.contains(&up.as_str())
        }
        _ => false,
    }
}

/// The human message of a JSON error body: `message`, `msg`, `error` (string or
/// `{message}`), `detail`.
pub(crate) fn json_message(v: &Value) -> String {
    for k in ["message", "msg", "detail"] {
        if let Some(s) = v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()) {
            return s.to_string();
        }
    }
    match v.get("error") {
        Some(Value::String(s)) => s.clone(),
        Some(e) => e.get("message").and_then(Value::as_str).unwrap_or_default().to_string(),
        None => String::new(),
    }
}

fn retry_after_secs(headers: &HeaderMap) -> Option<u64> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    v.parse::<u64>()
        .ok()
        .or_else(|| v.parse::<f64>().ok().filter(|f| f.is_finite() && *f >= 0.0).map(|f| f.ceil() as u64))
}

fn looks_like_html(body: &str, headers: &HeaderMap) -> bool {
    let ct = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let start = body.trim_start().get(..15).unwrap_or(body.trim_start()).to_ascii_lowercase();
    ct.contains("text/html") || start.starts_with("<!doctype") || start.starts_with("<html") || start.starts_with('<')
}

fn short(s: &str) -> String {
    let t: String = s.chars().take(160).collect();
    if t.len() < s.len() { format!("{t}…") } else { t }
}

/// Classifies one reply (status, headers, body) following clients.md §1. On success
/// returns the parsed JSON value (the whole body: envelope or not). `what` names the
/// endpoint for messages. Never panics.
pub fn classify(status: u16, headers: &HeaderMap, body: &[u8], what: &str) -> Result<Value, RelayError> {
    // 2. Rate limited.
    if status == 429 {
        return Err(RelayError::RateLimited { retry_after_secs: retry_after_secs(headers) });
    }
    let text = String::from_utf8_lossy(body);
    // 3. IP ban.
    if text.contains("IP已被封锁") || text.to_lowercase().contains("ip has been blocked") {
        return Err(RelayError::Unavailable { message: format!("{what}: this IP has been blocked by the site") });
    }
    let parsed: Option<Value> = std::str::from_utf8(body).ok().and_then(|s| serde_json::from_str(s.trim()).ok());
    // 4. Challenge.
    let mitigated = headers
        .get("cf-mitigated")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("challenge"));
    if mitigated {
        return Err(RelayError::Challenge { message: format!("{what}: Cloudflare challenge (cf-mitigated)") });
    }
    if parsed.is_none() {
        let lower = text.to_lowercase();
        if let Some(m) = CHALLENGE_MARKERS.iter().find(|m| lower.contains(*m)) {
            return Err(RelayError::Challenge { message: format!("{what}: challenge page ({m})") });
        }
        // A bare script that only sets a cookie and reloads (WAF); an SPA page has markup.
        let cookie_script = lower.contains("<script") && lower.contains("document.cookie") && !lower.contains("<div");
        if cookie_script && lower.len() < 8192 {
            return Err(RelayError::Challenge { message: format!("{what}: cookie-setting script (WAF)") });
        }
    }
    // 5. 5xx.
    if status >= 500 {
        let detail = parsed.as_ref().map(json_message).filter(|m| !m.is_empty()).unwrap_or_default();
        let message = if detail.is_empty() {
            format!("{what}: HTTP {status}")
        } else {
            format!("{what}: HTTP {status}: {}", short(&detail))
        };
        return Err(RelayError::Unavailable { message });
    }
    // 6. 401/403 (JSON or not), or auth codes in JSON.
    if let Some(v) = &parsed {
        let code_auth = v.get("code").is_some_and(is_auth_code) || v.get("status").is_some_and(is_auth_code);
        if status == 401 || status == 403 || code_auth {
            let m = json_message(v);
            let m = if m.is_empty() { format!("{what}: HTTP {status}") } else { m };
            return Err(RelayError::auth(m));
        }
    } else if status == 401 {
        return Err(RelayError::auth(format!("{what}: HTTP 401")));
    } else if status == 403 {
        return Err(RelayError::Challenge { message: format!("{what}: HTTP 403 with a non-JSON page (firewall?)") });
    }
    // 8 (early for non-JSON). HTML without challenge markers on an API path: the SPA index.
    let Some(v) = parsed else {
        if std::str::from_utf8(body).is_err() {
            return Err(RelayError::malformed(format!("{what}: reply is not UTF-8")));
        }
        if looks_like_html(&text, headers) {
            return Err(RelayError::NotSupported { message: format!("{what}: the site answered with a web page") });
        }
        if status == 404 || status == 405 {
            return Err(RelayError::NotSupported { message: format!("{what}: HTTP {status}") });
        }
        if text.trim().is_empty() {
            return Err(RelayError::malformed(format!("{what}: empty reply (HTTP {status})")));
        }
        return Err(RelayError::malformed(format!("{what}: reply is not JSON ({})", short(text.trim()))));
    };
    let message = json_message(&v);
    let invalid_url = message.starts_with("Invalid URL");
    if status == 404 || status == 405 || invalid_url {
        return Err(RelayError::NotSupported { message: format!("{what}: {}", short(&message)) });
    }
    // 7 / 9 / 11: envelopes that say "failed".
    let failed = match v.get("success") {
        Some(Value::Bool(b)) => !b,
        _ => match v.get("code") {
            // sub2api / VoAPI v2: 0 = ok.
            Some(Value::Number(n))
                if v.get("data").is_some() || v.get("msg").is_some() || v.get("message").is_some() =>
            {
                n.as_i64() != Some(0)
            }
            Some(Value::String(s)) => !s.is_empty() && s != "0" && !s.eq_ignore_ascii_case("ok"),
            _ => v.get("error").is_some_and(|e| !e.is_null()) && v.get("data").is_none(),
        },
    };
    if failed {
        // VoAPI v2: code 2 = auth expired.
        if v.get("code").and_then(Value::as_i64) == Some(2) && v.get("success").is_none() {
            return Err(RelayError::auth(if message.is_empty() { "login expired".to_string() } else { message }));
        }
        if is_auth_message(&message) {
            return Err(RelayError::auth(message));
        }
        let message = if message.is_empty() { format!("{what}: request failed") } else { message };
        return Err(RelayError::Server { message });
    }
    if !(200..300).contains(&status) {
        let message = if message.is_empty() { format!("{what}: HTTP {status}") } else { message };
        return Err(RelayError::Server { message });
    }
    Ok(v)
}

/// The `data` member of a successful envelope; `Malformed` when absent or null.
pub(crate) fn envelope_data<'a>(v: &'a Value, what: &str) -> Result<&'a Value, RelayError> {
    match v.get("data") {
        Some(d) if !d.is_null() => Ok(d),
        _ => Err(RelayError::malformed(format!("{what}: success without data"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(status: u16, body: &str) -> Result<Value, RelayError> {
        classify(status, &HeaderMap::new(), body.as_bytes(), "test")
    }

    #[test]
    fn classification_table() {
        assert_eq!(c(429, "").unwrap_err().kind(), "rate_limited");
        assert_eq!(c(403, "<html><title>Just a moment...</title></html>").unwrap_err().kind(), "challenge");
        assert_eq!(c(200, "<html><script>var arg1='abc';</script></html>").unwrap_err().kind(), "challenge");
        assert_eq!(c(502, "bad gateway").unwrap_err().kind(), "unavailable");
        assert_eq!(c(401, r#"{"success":false,"message":"x"}"#).unwrap_err().kind(), "auth");
        assert_eq!(
            c(200, r#"{"success":false,"message":"Unauthorized, invalid access token"}"#).unwrap_err().kind(),
            "auth"
        );
        assert_eq!(c(200, "<!doctype html><div id=\"root\"></div>").unwrap_err().kind(), "not_supported");
        let spa = "<html><script>document.cookie='lang=zh'</script><div id=\"app\"></div></html>";
        assert_eq!(c(200, spa).unwrap_err().kind(), "not_supported");
        let waf = "<html><script>document.cookie='__waf=1';location.reload()</script></html>";
        assert_eq!(c(200, waf).unwrap_err().kind(), "challenge");
        assert_eq!(
            c(404, r#"{"error":{"message":"Invalid URL (GET /x)","type":"invalid_request_error"}}"#)
                .unwrap_err()
                .kind(),
            "not_supported"
        );
        assert_eq!(c(200, r#"{"success":false,"message":"今日已签到"}"#).unwrap_err().kind(), "server");
        assert_eq!(c(200, r#"{"success":true,"da"#).unwrap_err().kind(), "malformed");
        assert_eq!(classify(200, &HeaderMap::new(), &[0xff, 0xfe, 0x00], "t").unwrap_err().kind(), "malformed");
        assert_eq!(c(200, r#"{"code":"TOKEN_EXPIRED","message":"expired"}"#).unwrap_err().kind(), "auth");
        assert_eq!(c(200, r#"{"code":2,"data":null,"msg":"请重新登录"}"#).unwrap_err().kind(), "auth");
        assert!(c(200, r#"{"code":0,"message":"success","data":{"balance":1}}"#).is_ok());
        assert!(c(200, r#"{"object":"list","total_usage":12}"#).is_ok());
    }

    #[test]
    fn user_id_header_messages_carry_a_hint() {
        let e = c(401, r#"{"success":false,"message":"无权进行此操作，未提供 New-Api-User"}"#).unwrap_err();
        match e {
            RelayError::Auth { hint: Some(h), .. } => assert!(h.contains("user id")),
            other => panic!("{other:?}"),
        }
    }
}
