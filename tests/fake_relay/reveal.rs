//! new-api ≥ 2026-03 key reveal: `POST /api/token/batch/keys` and `POST /api/token/:id/key`.

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::{FakeConfig, Variant, check_auth, env, fail, invalid_url};

pub fn handle(cfg: &FakeConfig, method: &Method, path: &str, headers: &HeaderMap, body: &[u8]) -> Option<Response> {
    if method != Method::POST || !path.starts_with("/api/token/") {
        return None;
    }
    let batch = path == "/api/token/batch/keys";
    let single =
        path.strip_prefix("/api/token/").and_then(|r| r.strip_suffix("/key")).and_then(|id| id.parse::<usize>().ok());
    if !batch && single.is_none() {
        return None;
    }
    // Only current new-api has these routes; builds of 2026-03 lack the batch one.
    if cfg.variant != Variant::NewApiCurrent || (batch && !cfg.batch_reveal) {
        return Some(invalid_url(method, path));
    }
    if let Some(r) = check_auth(cfg, headers) {
        return Some(r);
    }
    let full = |id: usize| {
        super::keyops::token_full(cfg, id as i64).and_then(|t| t.get("key").and_then(Value::as_str).map(str::to_string))
    };
    if let Some(id) = single {
        return Some(match full(id) {
            Some(k) => env(json!({"key": k})),
            None => fail(StatusCode::OK, "令牌不存在"),
        });
    }
    let b: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let ids: Vec<usize> = b
        .get("ids")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_u64()).map(|v| v as usize).collect())
        .unwrap_or_default();
    if ids.len() > 100 {
        return Some(fail(StatusCode::OK, "too many ids"));
    }
    let keys: serde_json::Map<String, Value> =
        ids.iter().filter_map(|id| full(*id).map(|k| (id.to_string(), json!(k)))).collect();
    Some(env(json!({"keys": keys})))
}
