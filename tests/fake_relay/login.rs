//! Password sign-in: classic session cookie (+ cookie-bound 2FA) and current new-api
//! AuthBundle (+ `flow_token` 2FA); Turnstile refusal.

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{FakeConfig, Variant, env, fail};

/// The dashboard JWT the current-auth fake hands out and accepts.
pub const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJuZXctYXBpIn0.fake";

/// The session cookie a classic login sets.
pub fn session_cookie(cfg: &FakeConfig) -> String {
    format!("session=sess-{}", cfg.user_id)
}

fn pending_cookie(cfg: &FakeConfig) -> String {
    format!("session=pending-{}", cfg.user_id)
}

fn with_cookie(mut r: Response, c: String) -> Response {
    r.headers_mut().append("set-cookie", c.parse().unwrap());
    r
}

fn success(cfg: &FakeConfig) -> Response {
    if cfg.variant == Variant::NewApiCurrent {
        let r = env(json!({"access_token": JWT, "token_type": "Bearer", "access_expires_at": 2_000_000_000,
            "session": {"sid": "s1", "current": true}, "user": {"id": cfg.user_id, "username": cfg.username, "quota": cfg.quota}}));
        return with_cookie(r, "new_api_refresh=refresh-1; Path=/api/user/auth; HttpOnly; SameSite=Strict".into());
    }
    let r = env(
        json!({"id": cfg.user_id, "username": cfg.username, "display_name": "Alice", "role": 1, "status": 1, "group": "default"}),
    );
    with_cookie(r, format!("{}; Path=/; Max-Age=2592000; HttpOnly", session_cookie(cfg)))
}

/// Handles the login routes; `None` for every other path.
pub fn handle(cfg: &FakeConfig, method: &Method, path: &str, headers: &HeaderMap, body: &[u8]) -> Option<Response> {
    if method != Method::POST {
        return None;
    }
    let b: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let s = |k: &str| b.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    match path {
        "/api/user/login" => {
            if cfg.status_extra.get("turnstile_check").and_then(Value::as_bool) == Some(true) {
                return Some(fail(StatusCode::OK, "Turnstile token 为空"));
            }
            if s("username") != cfg.username || s("password") != cfg.password {
                return Some(fail(StatusCode::OK, "用户名或密码错误，或用户已被封禁"));
            }
            if cfg.totp.is_none() {
                return Some(success(cfg));
            }
            if cfg.variant == Variant::NewApiCurrent {
                return Some(env(json!({"require_2fa": true, "flow_token": "flow-1", "expires_at": 2_000_000_000})));
            }
            let r = axum::Json(json!({"success": true, "message": "请输入两步验证码", "data": {"require_2fa": true}}))
                .into_response();
            Some(with_cookie(r, format!("{}; Path=/; HttpOnly", pending_cookie(cfg))))
        }
        "/api/user/login/2fa" => {
            let code_ok = cfg.totp.as_deref() == Some(s("code").as_str());
            let bound = if cfg.variant == Variant::NewApiCurrent {
                s("flow_token") == "flow-1"
            } else {
                headers.get("cookie").and_then(|v| v.to_str().ok()).is_some_and(|c| c.contains(&pending_cookie(cfg)))
            };
            Some(match (bound, code_ok) {
                (false, _) => fail(StatusCode::OK, "会话已过期，请重新登录"),
                (true, false) => fail(StatusCode::OK, "验证码或备用码错误，请重试"),
                (true, true) => success(cfg),
            })
        }
        _ => None,
    }
}
