//! The listener: axum on hyper (HTTP/1.1, `TCP_NODELAY`), one route per endpoint, the
//! model list, and protocol-shaped errors for anything else.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::local_key;
use super::protocol::{Endpoint, ErrorKind, GatewayFault, Shape};
use super::proxy::{Core, relay};

type S = State<Arc<Core>>;

/// The route of one generation endpoint.
fn generation(e: Endpoint) -> axum::routing::MethodRouter<Arc<Core>> {
    post(move |State(c): S, h: HeaderMap, b: Body| relay(c, e, h, b))
}

/// Anthropic clients send `anthropic-version`; they get Anthropic shapes.
fn shape_of(h: &HeaderMap) -> Shape {
    if h.contains_key("anthropic-version") { Shape::Anthropic } else { Shape::OpenAi }
}

/// `None` when the local key is right, else the 401 to send.
fn refusal(c: &Core, h: &HeaderMap) -> Option<Response> {
    match local_key::presented(h) {
        Some(k) if c.table().key.matches(k) => None,
        _ => {
            c.refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Some(
                GatewayFault::new(
                    StatusCode::UNAUTHORIZED,
                    ErrorKind::Authentication,
                    "invalid_api_key",
                    "missing or wrong local key",
                )
                .response(shape_of(h)),
            )
        }
    }
}

fn model_json(id: &str, anthropic: bool) -> serde_json::Value {
    if anthropic {
        json!({"type": "model", "id": id, "display_name": id, "created_at": "1970-01-01T00:00:00Z"})
    } else {
        json!({"id": id, "object": "model", "created": 0, "owned_by": "apihub"})
    }
}

fn json_reply(v: serde_json::Value) -> Response {
    let mut r = ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], v.to_string()).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `GET /v1/models`: every routable model and alias (Anthropic's shape when asked with
/// `anthropic-version`).
async fn models(State(c): S, h: HeaderMap) -> Response {
    if let Some(r) = refusal(&c, &h) {
        return r;
    }
    let t = c.table();
    let anthropic = shape_of(&h) == Shape::Anthropic;
    let data: Vec<_> = t.model_names.iter().map(|m| model_json(m, anthropic)).collect();
    if anthropic {
        json_reply(json!({"data": data, "has_more": false,
            "first_id": t.model_names.first(), "last_id": t.model_names.last()}))
    } else {
        json_reply(json!({"object": "list", "data": data}))
    }
}

/// `GET /v1/models/{id}`.
async fn model(State(c): S, h: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(r) = refusal(&c, &h) {
        return r;
    }
    let t = c.table();
    if t.model_names.binary_search(&id).is_ok() {
        json_reply(model_json(&id, shape_of(&h) == Shape::Anthropic))
    } else {
        GatewayFault::new(StatusCode::NOT_FOUND, ErrorKind::NotFound, "model_not_found", format!("no model `{id}`"))
            .response(shape_of(&h))
    }
}

async fn not_found(h: HeaderMap, uri: axum::http::Uri) -> Response {
    let path = uri.path();
    let msg = format!(
        "the gateway does not serve {path} (it serves /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses, /v1/messages, /v1/models)"
    );
    GatewayFault::new(StatusCode::NOT_FOUND, ErrorKind::NotFound, "unsupported_route", msg).response(shape_of(&h))
}

async fn method_not_allowed(h: HeaderMap) -> Response {
    GatewayFault::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorKind::InvalidRequest,
        "method_not_allowed",
        "use POST (GET for /v1/models)",
    )
    .response(shape_of(&h))
}

/// The router over a shared core.
pub(crate) fn router(core: Arc<Core>) -> Router {
    let mut r = Router::new();
    for e in Endpoint::ALL {
        r = r.route(e.path(), generation(e));
    }
    r.route("/v1/models", get(models))
        .route("/v1/models/{id}", get(model))
        .route("/", get(|| async { "API Hub Desk gateway\n" }))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(core)
}
