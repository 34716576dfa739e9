//! Token CRUD and redeem: `POST/PUT /api/token/`, `DELETE /api/token/:id`,
//! `POST /api/user/topup`. Create replies differ per server (servers.md §7.5);
//! redeem replies an int, Veloera `{quota, is_gift}` (§7.4); current new-api hides
//! every redeem failure behind one generic line.

use std::collections::{BTreeMap, HashSet};

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{FakeConfig, FakeState, Variant, check_auth, env, fail, key_of, masked};

/// Changes made to the token list through the API.
#[derive(Debug, Clone, Default)]
pub struct TokenEdits {
    /// Created tokens (full key stored), by id.
    pub added: BTreeMap<i64, Value>,
    /// Deleted ids.
    pub deleted: HashSet<i64>,
    /// Edited tokens (full object, full key), by id.
    pub edited: BTreeMap<i64, Value>,
}

/// The token with id `id` (full key) as held now, base or added.
pub fn token_full(cfg: &FakeConfig, id: i64) -> Option<Value> {
    if cfg.edits.deleted.contains(&id) {
        return None;
    }
    if let Some(t) = cfg.edits.edited.get(&id).or_else(|| cfg.edits.added.get(&id)) {
        return Some(t.clone());
    }
    (id >= 1 && id as usize <= cfg.key_count).then(|| base_token(cfg, id as usize - 1))
}

/// Base token `i` (0-based), with its full key.
pub fn base_token(cfg: &FakeConfig, i: usize) -> Value {
    json!({"id": i + 1, "user_id": cfg.user_id, "key": key_of(cfg.variant, i), "status": 1, "name": format!("key-{}", i + 1),
        "created_time": 1_700_000_000, "accessed_time": 1_700_000_000, "expired_time": -1, "remain_quota": 1000 * i as i64,
        "unlimited_quota": i.is_multiple_of(2), "used_quota": 10 * i as i64, "models": null, "group": ""})
}

/// Every token as listed (newest first), keys masked on current new-api.
pub fn all_tokens(cfg: &FakeConfig) -> Vec<Value> {
    let mut ids: Vec<i64> = (1..=cfg.key_count as i64).chain(cfg.edits.added.keys().copied()).collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids.into_iter().filter_map(|id| token_full(cfg, id)).map(|t| shown(cfg, t)).collect()
}

fn shown(cfg: &FakeConfig, mut t: Value) -> Value {
    if cfg.variant == Variant::NewApiCurrent
        && let Some(k) = t.get("key").and_then(Value::as_str).map(str::to_string)
    {
        t["key"] = json!(masked(&k));
    }
    t
}

fn apply_fields(t: &mut Value, b: &Value) {
    for k in ["name", "remain_quota", "unlimited_quota", "expired_time", "model_limits", "allow_ips", "group", "models"]
    {
        if let Some(v) = b.get(k) {
            t[k] = v.clone();
        }
    }
}

/// Handles the routes; `None` for every other request.
pub fn handle(
    st: &FakeState,
    cfg: &FakeConfig,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Response> {
    let delete_id = path.strip_prefix("/api/token/").and_then(|s| s.parse::<i64>().ok());
    let ours = matches!(
        (method.as_str(), path),
        ("POST", "/api/token/") | ("PUT", "/api/token/") | ("POST", "/api/user/topup")
    ) || ((method == Method::DELETE || method == Method::GET) && delete_id.is_some());
    if !ours || matches!(cfg.variant, Variant::Sub2api | Variant::VoapiV2) {
        return None;
    }
    if let Some(r) = check_auth(cfg, headers) {
        return Some(r);
    }
    let b: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let mut c = st.cfg.lock().unwrap();
    Some(match (method.as_str(), path) {
        ("GET", _) => match token_full(&c, delete_id.unwrap_or(0)) {
            Some(t) => env(shown(cfg, t)),
            None => fail(StatusCode::OK, "record not found"),
        },
        ("POST", "/api/user/topup") => {
            let code = b.get("key").and_then(Value::as_str).unwrap_or("").to_string();
            let generic = cfg.variant == Variant::NewApiCurrent;
            match c.redeem_codes.iter().position(|(k, _)| *k == code) {
                None if generic => fail(StatusCode::OK, "兑换失败，请稍后重试"),
                None if code.is_empty() => fail(StatusCode::OK, "未提供兑换码"),
                None => fail(StatusCode::OK, "兑换失败，无效的兑换码"),
                Some(i) => {
                    let (_, quota) = c.redeem_codes.remove(i);
                    c.quota += quota;
                    if cfg.variant == Variant::Veloera {
                        env(json!({"quota": quota, "is_gift": false}))
                    } else {
                        env(json!(quota))
                    }
                }
            }
        }
        ("POST", _) => {
            let name = b.get("name").and_then(Value::as_str).unwrap_or("");
            if name.is_empty() {
                return Some(fail(StatusCode::OK, "令牌名称不能为空"));
            }
            let id = c.key_count as i64 + c.edits.added.len() as i64 + 1;
            let key = format!("{:n>48}", format!("new{id}z"));
            let mut t = json!({"id": id, "user_id": cfg.user_id, "key": key, "status": 1, "created_time": 1_800_000_000,
                "accessed_time": 0, "used_quota": 0, "models": null, "group": ""});
            apply_fields(&mut t, &b);
            c.edits.added.insert(id, t.clone());
            match cfg.variant {
                Variant::OneApi => env(t),
                Variant::DoneHub => env(json!({"id": id, "key": key})),
                _ => axum::Json(json!({"success": true, "message": ""})).into_response(),
            }
        }
        ("PUT", _) => {
            let Some(id) = b.get("id").and_then(Value::as_i64) else {
                return Some(fail(StatusCode::OK, "无效的参数"));
            };
            let Some(mut t) = token_full(&c, id) else {
                return Some(fail(StatusCode::OK, "record not found"));
            };
            // axum's Uri query is not passed here: the status-only form sends only id + status.
            if b.get("key").and_then(Value::as_str).is_some_and(|k| k.contains('*')) {
                return Some(fail(StatusCode::OK, "a masked key was written back"));
            }
            if b.get("name").is_none() {
                t["status"] = b.get("status").cloned().unwrap_or(json!(1));
            } else {
                apply_fields(&mut t, &b);
            }
            c.edits.edited.insert(id, t.clone());
            env(shown(cfg, t))
        }
        _ => {
            let id = delete_id.unwrap_or(0);
            if token_full(&c, id).is_none() {
                return Some(fail(StatusCode::OK, "record not found"));
            }
            c.edits.deleted.insert(id);
            axum::Json(json!({"success": true, "message": ""})).into_response()
        }
    })
}
