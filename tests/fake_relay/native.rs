//! sub2api and VoAPI v2 fakes (USD-native, `{code, …}` envelopes).

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{FakeConfig, query_map};

fn ok(code_ok: Value, data: Value, msg_key: &str) -> Response {
    let mut b = json!({"code": code_ok, "data": data});
    b[msg_key] = json!("success");
    axum::Json(b).into_response()
}

fn num(q: &std::collections::HashMap<String, String>, k: &str, d: i64) -> i64 {
    q.get(k).and_then(|v| v.parse().ok()).unwrap_or(d)
}

/// sub2api: `Authorization: Bearer <JWT>`, `{code, message, data}`.
pub fn sub2api(cfg: &FakeConfig, method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    let known = matches!(uri.path(), "/api/v1/auth/me" | "/api/v1/keys" | "/api/v1/usage/stats");
    if !known || method != Method::GET {
        return (StatusCode::NOT_FOUND, axum::Json(json!({"code": 404, "message": "not found"}))).into_response();
    }
    if auth != format!("Bearer {}", cfg.token) {
        let body = json!({"code": "UNAUTHORIZED", "message": "invalid token", "error": "unauthorized"});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    let q = query_map(uri);
    match uri.path() {
        "/api/v1/auth/me" => ok(
            json!(0),
            json!({"id": cfg.user_id, "username": cfg.username, "email": "a@example.com", "role": "user",
                "balance": cfg.usd_balance, "points": 0.5, "concurrency": 5, "status": "active"}),
            "message",
        ),
        "/api/v1/usage/stats" => ok(
            json!(0),
            json!({"total_requests": 12, "total_input_tokens": 3400, "total_output_tokens": 560,
                "total_cost": 0.9, "total_actual_cost": 0.75}),
            "message",
        ),
        _ => {
            let page = num(&q, "page", 1).max(1) as usize;
            let size = num(&q, "page_size", 20).clamp(1, 1000) as usize;
            let all: Vec<Value> = (0..cfg.key_count)
                .map(|i| json!({"id": i + 1, "user_id": cfg.user_id, "key": format!("sk-s2a{:0>40}", i), "name": format!("k{i}"),
                    "group_id": 1, "status": "active", "quota": 5.0, "quota_used": 1.25, "expires_at": null}))
                .collect();
            let items: Vec<Value> = all.iter().skip((page - 1) * size).take(size).cloned().collect();
            let pages = all.len().div_ceil(size);
            ok(
                json!(0),
                json!({"items": items, "total": all.len(), "page": page, "page_size": size, "pages": pages}),
                "message",
            )
        }
    }
}

/// VoAPI v2: raw JWT (no Bearer), `{code, data, msg}`, money strings.
pub fn voapi_v2(cfg: &FakeConfig, _method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    if auth != cfg.token {
        return axum::Json(json!({"code": 2, "data": null, "msg": "登录已过期，请重新登录"})).into_response();
    }
    let q = query_map(uri);
    match uri.path() {
        "/api/user/info" => ok(
            json!(0),
            json!({"id": cfg.user_id, "username": cfg.username, "nickname": "Al", "basicBalance": format!("{:.2}", cfg.usd_balance),
                "bindBalance": "2.50", "usedBasicBalance": "1.00", "usedBindBalance": "0.50", "currency": "USD",
                "totalRequest": 42, "totalToken": 9000}),
            "msg",
        ),
        "/api/keys" => {
            let page = num(&q, "page", 1).max(1) as usize;
            let size = num(&q, "pageSize", 10).clamp(1, 100) as usize;
            let all: Vec<Value> = (0..cfg.key_count)
                .map(|i| json!({"id": i + 1, "name": format!("v{i}"), "tokenMasked": format!("sk-ab{i}***xyz"), "groups": ["default"],
                    "enable": true, "expireTime": -1, "boundlessAmount": false, "amount": "3.00", "used": "0.50", "note": ""}))
                .collect();
            let items: Vec<Value> = all.iter().skip((page - 1) * size).take(size).cloned().collect();
            ok(json!(0), json!({"records": items, "total": all.len()}), "msg")
        }
        "/api/check_in/stats" => ok(
            json!(0),
            json!({"todaySigned": cfg.checked_in_today, "nextAmount": "0.10", "consecutiveDays": 3}),
            "msg",
        ),
        _ => (StatusCode::NOT_FOUND, "404 page not found").into_response(),
    }
}
