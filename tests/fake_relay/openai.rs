//! The OpenAI-compatible relay routes used by "try a model": `POST /v1/chat/completions`
//! (SSE stream of a few chunks with a small delay, then `[DONE]`; or one JSON reply when
//! `stream` is false) and `POST /v1/embeddings`. Every request body is recorded.
//!
//! Errors as the servers send them: a wrong key → 401 with an OpenAI error body; a model
//! the site does not serve → new-api family 503 "无可用渠道" (`model_not_found`), one-api /
//! one-hub 400 OpenAI `model_not_found`; `chat_rate_limited` → 429 with new-api's body.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::{FakeConfig, FakeState, Variant, key_of};

fn error(status: StatusCode, message: &str, typ: &str, code: Value) -> Response {
    (status, axum::Json(json!({"error": {"message": message, "type": typ, "param": "", "code": code}}))).into_response()
}

fn key_ok(cfg: &FakeConfig, headers: &HeaderMap) -> bool {
    let a = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    let k = a.strip_prefix("Bearer ").unwrap_or(a).trim();
    let k = k.strip_prefix("sk-").unwrap_or(k);
    k == cfg.sk_key || (0..cfg.key_count).any(|i| key_of(cfg.variant, i) == k)
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
    if method != Method::POST || !matches!(path, "/v1/chat/completions" | "/v1/embeddings") {
        return None;
    }
    let req: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    st.bodies.lock().unwrap().push((path.to_string(), req.clone()));
    let new_family = !matches!(cfg.variant, Variant::OneApi | Variant::OneHub | Variant::DoneHub);
    let err_type = if new_family { "new_api_error" } else { "one_api_error" };
    if !key_ok(cfg, headers) {
        let msg = if new_family { "无效的令牌 (request id: fake)" } else { "Incorrect API key provided" };
        let code = if new_family { Value::Null } else { json!("invalid_api_key") };
        return Some(error(
            StatusCode::UNAUTHORIZED,
            msg,
            if new_family { err_type } else { "invalid_request_error" },
            code,
        ));
    }
    if cfg.chat_rate_limited {
        return Some(error(
            StatusCode::TOO_MANY_REQUESTS,
            "当前分组上游负载已饱和，请稍后再试",
            err_type,
            json!("rate_limit_exceeded"),
        ));
    }
    let model = req.get("model").and_then(Value::as_str).unwrap_or_default().to_string();
    if !cfg.models.contains(&model) {
        return Some(if new_family {
            let msg = format!("当前分组 default 下对于模型 {model} 无可用渠道 (request id: fake)");
            error(StatusCode::SERVICE_UNAVAILABLE, &msg, err_type, json!("model_not_found"))
        } else {
            let msg = format!("The model `{model}` does not exist or you do not have access to it.");
            error(StatusCode::BAD_REQUEST, &msg, "invalid_request_error", json!("model_not_found"))
        });
    }
    if path == "/v1/embeddings" {
        let embedding: Vec<f64> = (0..cfg.embedding_dims).map(|i| i as f64 / 100.0).collect();
        return Some(
            axum::Json(json!({"object": "list", "model": model,
                "data": [{"object": "embedding", "index": 0, "embedding": embedding}],
                "usage": {"prompt_tokens": 1, "total_tokens": 1}}))
            .into_response(),
        );
    }
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    if req.get("stream").and_then(Value::as_bool) != Some(true) {
        return Some(
            axum::Json(json!({"id": "chatcmpl-fake", "object": "chat.completion", "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": cfg.chat_reply.concat()}, "finish_reason": "stop"}]}))
            .into_response(),
        );
    }
    // A role-only chunk first (no text: not the first token), then the text in pieces.
    let mut events = vec![chunk(json!({"role": "assistant", "content": ""}), Value::Null)];
    events.extend(cfg.chat_reply.iter().map(|t| chunk(json!({"content": t}), Value::Null)));
    events.push(chunk(json!({}), json!("stop")));
    let mut lines: Vec<String> = events.into_iter().map(|e| format!("data: {e}\n\n")).collect();
    lines.push("data: [DONE]\n\n".into());
    let delay = Duration::from_millis(cfg.chunk_delay_ms);
    let stream = futures_util::stream::iter(lines).then(move |l| async move {
        tokio::time::sleep(delay).await;
        Ok::<_, Infallible>(Bytes::from(l))
    });
    Some(
        Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "text/event-stream")
            .header("cache-control", "no-cache")
            .body(Body::from_stream(stream))
            .unwrap(),
    )
}
