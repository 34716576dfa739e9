//! POST check-in routes: new-api, Veloera, AnyRouter (`sign_in`). Flips
//! `checked_in_today` so the second attempt is "already".

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{FakeConfig, FakeState, Variant, check_auth, fail};

pub fn handle(st: &FakeState, cfg: &FakeConfig, method: &Method, path: &str, headers: &HeaderMap) -> Option<Response> {
    if method != Method::POST {
        return None;
    }
    let route = match (cfg.variant, path) {
        (Variant::Veloera, "/api/user/check_in") => "veloera",
        (Variant::AnyRouter, "/api/user/sign_in") => "anyrouter",
        (v, "/api/user/checkin")
            if !matches!(v, Variant::Veloera | Variant::OneApi | Variant::OneHub | Variant::DoneHub) =>
        {
            "newapi"
        }
        _ => return None,
    };
    if let Some(r) = check_auth(cfg, headers) {
        return Some(r);
    }
    let enabled = match route {
        "veloera" => cfg.status_extra.get("check_in_enabled").and_then(Value::as_bool) == Some(true),
        "newapi" => cfg.status_extra.get("checkin_enabled").and_then(Value::as_bool) == Some(true),
        _ => true,
    };
    if !enabled {
        return Some(fail(StatusCode::OK, "签到功能未启用"));
    }
    if route == "newapi" && cfg.status_extra.get("turnstile_check").and_then(Value::as_bool) == Some(true) {
        return Some(fail(StatusCode::OK, "Turnstile token 为空"));
    }
    let already = cfg.checked_in_today;
    st.cfg.lock().unwrap().checked_in_today = true;
    Some(match (route, already) {
        ("anyrouter", true) => axum::Json(json!({"code": 0, "ret": 0, "success": true, "message": ""})).into_response(),
        ("anyrouter", false) => axum::Json(json!({"code": 0, "ret": 1, "success": true, "message": "签到成功"})).into_response(),
        ("veloera", true) => fail(StatusCode::OK, "你今天已经签到过了"),
        ("veloera", false) => axum::Json(json!({"success": true, "message": "签到成功", "data": {"quota": 2500}})).into_response(),
        (_, true) => fail(StatusCode::OK, "今日已签到"),
        (_, false) => axum::Json(json!({"success": true, "message": "签到成功", "data": {"quota_awarded": cfg.checkin_reward_quota, "checkin_date": "2026-11-26"}}))
            .into_response(),
    })
}
