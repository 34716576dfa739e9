//! The client-facing protocols: the endpoints the gateway serves, which upstream path each
//! site kind offers for them, and errors in each protocol's own shape (OpenAI chat /
//! completions / embeddings, OpenAI Responses, Anthropic Messages), plain and as a
//! stream's closing event.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;

use crate::domain::SiteKind;
pub use crate::domain::gateway::{Endpoint, EndpointSet};

/// The error shape a client expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `{"error":{"message","type","param","code"}}`.
    OpenAi,
    /// `{"type":"error","error":{"type","message"}}`.
    Anthropic,
}

/// The error shape of an endpoint's clients.
pub fn shape(e: Endpoint) -> Shape {
    if e.is_anthropic() { Shape::Anthropic } else { Shape::OpenAi }
}

/// The upstream path a site kind serves an endpoint on, `None` when it does not.
///
/// The new-api family serves all of them on `/v1`; one-hub and done-hub serve Anthropic
/// messages under `/claude/v1` and have no token counting; one-api and VoAPI v2 speak
/// only the OpenAI chat, completions and embeddings routes; sub2api serves messages, token
/// counting, Responses and chat, not the older routes.
pub fn upstream_path(kind: SiteKind, e: Endpoint) -> Option<&'static str> {
    use SiteKind::*;
    match (kind, e) {
        (NewApi | Veloera | SuperApi | Anyrouter | Voapi | Unknown, _) => Some(e.path()),
        (OneHub | DoneHub, Endpoint::Messages) => Some("/claude/v1/messages"),
        (OneHub | DoneHub, Endpoint::CountTokens) => None,
        (OneHub | DoneHub, _) => Some(e.path()),
        (OneApi | VoapiV2, Endpoint::ChatCompletions | Endpoint::Completions | Endpoint::Embeddings) => Some(e.path()),
        (OneApi | VoapiV2, _) => None,
        (Sub2api, Endpoint::Messages | Endpoint::CountTokens | Endpoint::Responses | Endpoint::ChatCompletions) => {
            Some(e.path())
        }
        (Sub2api, _) => None,
    }
}

/// What a kind offers at all.
pub fn kind_endpoints(kind: SiteKind) -> EndpointSet {
    Endpoint::ALL.into_iter().filter(|e| upstream_path(kind, *e).is_some()).collect()
}

/// Endpoints named by new-api's `supported_endpoint_types` for a model (`openai` → chat and
/// completions, and embeddings; `openai-response` → Responses; `anthropic` → messages and
/// token counting; `embeddings` → embeddings; others such as `gemini` → none of ours).
pub fn endpoints_from_types(types: &[String]) -> EndpointSet {
    let mut set = EndpointSet::default();
    for t in types {
        set = match t.trim().to_ascii_lowercase().as_str() {
            "openai" => set.with(Endpoint::ChatCompletions).with(Endpoint::Completions).with(Endpoint::Embeddings),
            "openai-response" => set.with(Endpoint::Responses),
            "anthropic" => set.with(Endpoint::Messages).with(Endpoint::CountTokens),
            "embeddings" | "embedding" => set.with(Endpoint::Embeddings),
            _ => set,
        };
    }
    set
}

/// The class of a gateway-made error (picks the `type` field per shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400, 413, 404 …: the request itself.
    InvalidRequest,
    /// 401.
    Authentication,
    /// 404 of a model or route.
    NotFound,
    /// 413.
    TooLarge,
    /// 429.
    RateLimit,
    /// 502 / 504: upstreams failed.
    Upstream,
    /// 503: nothing available right now.
    Overloaded,
}

impl ErrorKind {
    fn openai_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest | ErrorKind::NotFound | ErrorKind::TooLarge => "invalid_request_error",
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::RateLimit => "rate_limit_error",
            ErrorKind::Upstream | ErrorKind::Overloaded => "api_error",
        }
    }

    fn anthropic_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request_error",
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::NotFound => "not_found_error",
            ErrorKind::TooLarge => "request_too_large",
            ErrorKind::RateLimit => "rate_limit_error",
            ErrorKind::Upstream => "api_error",
            ErrorKind::Overloaded => "overloaded_error",
        }
    }
}

/// A gateway-made error, ready to become a response in the client's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayFault {
    /// HTTP status.
    pub status: StatusCode,
    /// Class.
    pub kind: ErrorKind,
    /// Machine code (`model_not_found`, `invalid_api_key`, …).
    pub code: &'static str,
    /// One line for the user (never a secret).
    pub message: String,
    /// Seconds for a `Retry-After` header.
    pub retry_after_secs: Option<u64>,
}

impl GatewayFault {
    /// A fault without `Retry-After`.
    pub fn new(status: StatusCode, kind: ErrorKind, code: &'static str, message: impl Into<String>) -> GatewayFault {
        GatewayFault { status, kind, code, message: message.into(), retry_after_secs: None }
    }

    /// The JSON body in `shape`.
    pub fn body(&self, shape: Shape) -> serde_json::Value {
        match shape {
            Shape::OpenAi => json!({"error": {"message": self.message, "type": self.kind.openai_type(),
                "param": null, "code": self.code}}),
            Shape::Anthropic => json!({"type": "error", "error": {"type": self.kind.anthropic_type(),
                "message": self.message}}),
        }
    }

    /// The response in `shape`.
    pub fn response(&self, shape: Shape) -> Response {
        let body = self.body(shape).to_string();
        let mut r =
            (self.status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response();
        if let Some(s) = self.retry_after_secs {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}

/// The SSE event that ends a stream after an upstream failure once bytes were sent, in the
/// endpoint's own shape: Anthropic `event: error`, Responses `event: error` with the next
/// `sequence_number`, chat / completions a `data:` line holding an `error` object.
/// `needs_break` prefixes a blank line to close a half-sent event first.
pub fn stream_error_event(e: Endpoint, message: &str, next_sequence: Option<u64>, needs_break: bool) -> Bytes {
    let data = match e {
        Endpoint::Messages | Endpoint::CountTokens => {
            json!({"type": "error", "error": {"type": "api_error", "message": message}})
        }
        Endpoint::Responses => json!({"type": "error", "code": "upstream_stream_error", "message": message,
            "param": null, "sequence_number": next_sequence.unwrap_or(0)}),
        _ => json!({"error": {"message": message, "type": "api_error", "param": null,
            "code": "upstream_stream_error"}}),
    };
    let event = match e {
        Endpoint::Messages | Endpoint::CountTokens | Endpoint::Responses => "event: error\n",
        _ => "",
    };
    let brk = if needs_break { "\n\n" } else { "" };
    Bytes::from(format!("{brk}{event}data: {data}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_offer_the_documented_paths() {
        assert_eq!(upstream_path(SiteKind::NewApi, Endpoint::Messages), Some("/v1/messages"));
        assert_eq!(upstream_path(SiteKind::OneHub, Endpoint::Messages), Some("/claude/v1/messages"));
        assert_eq!(upstream_path(SiteKind::OneApi, Endpoint::Responses), None);
        assert_eq!(upstream_path(SiteKind::Sub2api, Endpoint::Embeddings), None);
        assert!(kind_endpoints(SiteKind::Veloera).contains(Endpoint::CountTokens));
        assert!(!kind_endpoints(SiteKind::DoneHub).contains(Endpoint::CountTokens));
        for k in SiteKind::ALL {
            assert!(kind_endpoints(k).contains(Endpoint::ChatCompletions) || k == SiteKind::Sub2api);
        }
    }

    #[test]
    fn endpoint_types_map_to_endpoints() {
        let s = |t: &[&str]| endpoints_from_types(&t.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert!(s(&["anthropic"]).contains(Endpoint::Messages));
        assert!(!s(&["anthropic"]).contains(Endpoint::ChatCompletions));
        assert!(s(&["openai-response"]).contains(Endpoint::Responses));
        assert!(s(&["gemini"]).is_empty());
        let set = s(&["openai", "anthropic"]);
        assert_eq!(set.iter().count(), 5, "all but Responses");
    }

    #[test]
    fn faults_take_each_shape() {
        let f = GatewayFault::new(StatusCode::NOT_FOUND, ErrorKind::NotFound, "model_not_found", "no such model");
        assert_eq!(f.body(Shape::OpenAi)["error"]["code"], "model_not_found");
        assert_eq!(f.body(Shape::OpenAi)["error"]["type"], "invalid_request_error");
        assert_eq!(f.body(Shape::Anthropic)["type"], "error");
        assert_eq!(f.body(Shape::Anthropic)["error"]["type"], "not_found_error");
    }

    #[test]
    fn stream_errors_take_each_shape() {
        let text = |b: Bytes| String::from_utf8(b.to_vec()).unwrap();
        let chat = text(stream_error_event(Endpoint::ChatCompletions, "gone", None, false));
        assert!(chat.starts_with("data: {\"error\""), "{chat}");
        assert!(chat.ends_with("\n\n"));
        let resp = text(stream_error_event(Endpoint::Responses, "gone", Some(7), true));
        assert!(resp.starts_with("\n\nevent: error\ndata: "), "{resp}");
        let v: serde_json::Value =
            serde_json::from_str(resp.trim().trim_start_matches("event: error\ndata: ")).unwrap();
        assert_eq!(v["sequence_number"], 7);
        assert_eq!(v["code"], "upstream_stream_error");
        let msg = text(stream_error_event(Endpoint::Messages, "gone", None, false));
        assert!(msg.contains("\"api_error\"") && msg.starts_with("event: error\n"));
    }
}
