//! Token and log list pagination per variant (servers.md §7.2).

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{FakeConfig, LogRow, Variant, env, fail};

fn num(q: &HashMap<String, String>, k: &str) -> Option<i64> {
    q.get(k).and_then(|v| v.parse().ok())
}

pub fn tokens(cfg: &FakeConfig, q: &HashMap<String, String>) -> Response {
    let all: Vec<Value> = super::keyops::all_tokens(cfg);
    match cfg.variant {
        Variant::OneApi => {
            let p = num(q, "p").unwrap_or(0).max(0) as usize;
            env(json!(all.iter().skip(p * 10).take(10).cloned().collect::<Vec<_>>()))
        }
        Variant::NewApiOld | Variant::Veloera => {
            let p = num(q, "p").unwrap_or(0).max(0) as usize;
            let size = num(q, "size").unwrap_or(10).clamp(1, 100) as usize;
            env(json!(all.iter().skip(p * size).take(size).cloned().collect::<Vec<_>>()))
        }
        Variant::OneHub | Variant::DoneHub => hub_page(&all, q),
        _ => {
            let p = num(q, "p").unwrap_or(1).max(1) as usize;
            let size =
                num(q, "page_size").or_else(|| num(q, "ps")).or_else(|| num(q, "size")).unwrap_or(10).clamp(1, 100)
                    as usize;
            let items: Vec<Value> = all.iter().skip((p - 1) * size).take(size).cloned().collect();
            env(json!({"page": p, "page_size": size, "total": all.len(), "items": items}))
        }
    }
}

pub fn hub_page(all: &[Value], q: &HashMap<String, String>) -> Response {
    let page = num(q, "page").unwrap_or(1).max(1) as usize;
    let size = num(q, "size").unwrap_or(10);
    if size > 100 {
        return fail(StatusCode::OK, "size 参数不能超过 100");
    }
    let size = size.max(1) as usize;
    let items: Vec<Value> = all.iter().skip((page - 1) * size).take(size).cloned().collect();
    env(json!({"data": items, "page": page, "size": size, "total_count": all.len()}))
}

/// One row in the variant's own shape (servers.md §7.3). `idx` is the row's place in
/// the newest-first listing (new-api sends it as `id`: a display index, not stable).
pub fn log_json(cfg: &FakeConfig, r: &LogRow, idx: usize) -> Value {
    let request_id = format!("req-{}-{}-{}", r.created_at, r.quota, r.prompt_tokens);
    let mut v = json!({"user_id": cfg.user_id, "created_at": r.created_at, "type": r.log_type, "content": "",
        "username": cfg.username, "token_name": "key-1", "model_name": r.model_name, "quota": r.quota,
        "prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens, "is_stream": false});
    match cfg.variant {
        Variant::OneApi => {
            v["id"] = json!(0);
            v["channel"] = json!(3);
            v["elapsed_time"] = json!(1200);
            v["request_id"] = json!(request_id);
        }
        Variant::OneHub | Variant::DoneHub => {
            v["id"] = json!(100_000 + r.created_at % 100_000 + r.quota);
            v["channel_id"] = json!(if cfg.variant == Variant::DoneHub { 0 } else { 3 });
            v["request_time"] = json!(1200);
            v["metadata"] = json!({"cache_tokens": 0});
            v["source_ip"] = json!("");
            if cfg.variant == Variant::DoneHub {
                v["request_id"] = json!(request_id);
            }
        }
        _ => {
            v["id"] = json!(idx + 1);
            v["channel"] = json!(3);
            v["use_time"] = json!(1);
            v["group"] = json!("default");
            v["request_id"] = json!(request_id);
            v["other"] = json!("{}");
        }
    }
    v
}

pub fn logs(cfg: &FakeConfig, q: &HashMap<String, String>) -> Response {
    let hub = matches!(cfg.variant, Variant::OneHub | Variant::DoneHub);
    let type_param = if hub { "log_type" } else { "type" };
    let t = num(q, type_param).unwrap_or(0);
    let s = num(q, "start_timestamp").unwrap_or(0);
    let e = num(q, "end_timestamp").unwrap_or(i64::MAX);
    if cfg.variant == Variant::DoneHub && s > 0 && e != i64::MAX && e - s > 180 * 86_400 {
        return fail(StatusCode::OK, "查询时间范围不能超过 180 天");
    }
    let mut matching: Vec<&LogRow> =
        cfg.logs.iter().filter(|r| (t == 0 || r.log_type == t) && r.created_at >= s && r.created_at <= e).collect();
    // Newest first, like `ORDER BY id DESC`.
    matching.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    let rows: Vec<Value> = matching.iter().enumerate().map(|(i, r)| log_json(cfg, r, i)).collect();
    match cfg.variant {
        Variant::OneApi => {
            let p = num(q, "p").unwrap_or(0).max(0) as usize;
            env(json!(rows.iter().skip(p * 10).take(10).cloned().collect::<Vec<_>>()))
        }
        _ if hub => hub_page(&rows, q),
        _ => {
            let p = num(q, "p").unwrap_or(1).max(1) as usize;
            // Older builds: a missing page_size is LIMIT 0.
            let size = num(q, "page_size").unwrap_or(0).clamp(0, 100) as usize;
            let items: Vec<Value> = rows.iter().skip((p - 1) * size).take(size).cloned().collect();
            env(json!({"page": p, "page_size": size, "total": rows.len(), "items": items}))
        }
    }
}
