//! sub2api and VoAPI v2 fakes (USD-native, `{code, …}` envelopes).

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{FakeConfig, FakeState, LogRow, query_map};

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
    let known = matches!(uri.path(), "/api/v1/auth/me" | "/api/v1/keys" | "/api/v1/usage/stats" | "/api/v1/usage");
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
        "/api/v1/usage" => usage_list(cfg, &q),
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

/// VoAPI v2: raw JWT (no Bearer), `{code, data, msg}`, money strings (six decimals, as
/// documented) in `cfg.money_currency`; `cfg.user_extra` is laid over `/api/user/info`.
pub fn voapi_v2(st: &FakeState, cfg: &FakeConfig, method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    if auth != cfg.token {
        return axum::Json(json!({"code": 2, "data": null, "msg": "登录已过期，请重新登录"})).into_response();
    }
    let q = query_map(uri);
    match uri.path() {
        "/api/user/info" => {
            let mut info = json!({"id": cfg.user_id, "username": cfg.username, "nickname": "Al",
                "basicBalance": format!("{:.6}", cfg.usd_balance), "bindBalance": "2.500000",
                "usedBasicBalance": "1.000000", "usedBindBalance": "0.500000", "currency": cfg.money_currency,
                "totalRequest": 42, "totalToken": 9000});
            for (k, v) in cfg.user_extra.as_object().into_iter().flatten() {
                info[k] = v.clone();
            }
            ok(json!(0), info, "msg")
        }
        "/api/check_in" if method == Method::POST => {
            let already = cfg.checked_in_today;
            st.cfg.lock().unwrap().checked_in_today = true;
            if already {
                return axum::Json(json!({"code": 1, "data": null, "msg": "今日已签到"})).into_response();
            }
            ok(json!(0), json!({"amount": "0.004000", "bonusAmount": "0.000900"}), "msg")
        }
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

/// A `start_date`/`end_date` bound like sub2api's `timezone.ParseRangeBoundary`: RFC 3339 as
/// is, `YYYY-MM-DD` = that UTC midnight (an end = the next midnight). `Err` = sub2api's 400.
fn bound(q: &std::collections::HashMap<String, String>, k: &str, end: bool) -> Result<Option<i64>, ()> {
    let Some(v) = q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty()) else { return Ok(None) };
    if v.len() == 10 {
        let d = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| ())?;
        let t = d.and_hms_opt(0, 0, 0).ok_or(())?.and_utc().timestamp();
        return Ok(Some(if end { t + 86_400 } else { t }));
    }
    chrono::DateTime::parse_from_rfc3339(v).map(|t| Some(t.timestamp())).map_err(|_| ())
}

/// The sub2api `dto.UsageLog` of consume row `i` of the fake's logs (USD at 500,000 quota).
pub fn sub2api_usage_json(cfg: &FakeConfig, i: usize, r: &LogRow) -> Value {
    let actual = r.quota as f64 / 500_000.0;
    let created = chrono::DateTime::from_timestamp(r.created_at, 0).unwrap().to_rfc3339();
    let stream = i.is_multiple_of(2);
    json!({"id": i + 1, "user_id": cfg.user_id, "api_key_id": i % 3 + 1, "account_id": 7,
        "request_id": format!("req-{i:06}"), "model": r.model_name, "group_id": 1, "subscription_id": null,
        "input_tokens": r.prompt_tokens, "output_tokens": r.completion_tokens,
        "cache_creation_tokens": 0, "cache_read_tokens": i % 4 * 10, "cache_creation_5m_tokens": 0,
        "cache_creation_1h_tokens": 0, "input_cost": actual * 0.6, "output_cost": actual * 0.4,
        "cache_creation_cost": 0.0, "cache_read_cost": 0.0, "total_cost": actual * 1.25, "actual_cost": actual,
        "rate_multiplier": 0.8, "billing_type": 0, "request_type": if stream { "stream" } else { "sync" },
        "stream": stream, "openai_ws_mode": false, "duration_ms": 1500 + i as i64, "first_token_ms": 300,
        "image_count": 0, "image_size": null, "media_type": null, "user_agent": "curl/8", "cache_ttl_overridden": false,
        "created_at": created,
        "api_key": {"id": i % 3 + 1, "user_id": cfg.user_id, "key": "sk-hidden", "name": format!("key-{}", i % 3),
            "group_id": 1, "status": "active"},
        "group": {"id": 1, "name": "default", "platform": "anthropic", "rate_multiplier": 0.8}})
}

/// `GET /api/v1/usage`: the consume rows (sub2api lists billed requests only) in the
/// half-open window, `created_at DESC`, paged like `response.Paginated`.
fn usage_list(cfg: &FakeConfig, q: &std::collections::HashMap<String, String>) -> Response {
    let (Ok(s), Ok(e)) = (bound(q, "start_date", false), bound(q, "end_date", true)) else {
        let body = json!({"code": 400, "message": "Invalid start_date format, use YYYY-MM-DD or RFC3339"});
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    };
    let (s, e) = (s.unwrap_or(i64::MIN), e.unwrap_or(i64::MAX));
    let mut rows: Vec<(usize, &LogRow)> =
        cfg.logs.iter().enumerate().filter(|(_, r)| r.log_type == 2 && r.created_at >= s && r.created_at < e).collect();
    rows.sort_by_key(|(i, r)| std::cmp::Reverse((r.created_at, *i)));
    let page = num(q, "page", 1).max(1) as usize;
    let size = match num(q, "page_size", 20) {
        n @ 1..=1000 => n as usize,
        _ => 20,
    };
    let items: Vec<Value> =
        rows.iter().skip((page - 1) * size).take(size).map(|(i, r)| sub2api_usage_json(cfg, *i, r)).collect();
    let pages = rows.len().div_ceil(size).max(1);
    ok(
        json!(0),
        json!({"items": items, "total": rows.len(), "page": page, "page_size": size, "pages": pages}),
        "message",
    )
}
