//! A fake inference upstream (a relay's `/v1` API) on 127.0.0.1: every endpoint the
//! gateway routes, JSON or SSE in each protocol's real shape with a usage block, and the
//! failures the taxonomy knows, switchable at run time. Counts hits per path, keeps the
//! last request, and notices when a client drops a stream. Shared with `benches/gateway.rs`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};

/// How the upstream answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// A good reply (JSON, or SSE when the body asks to stream).
    Ok,
    /// This status and body (and `Retry-After` when given).
    Status(u16, String, Option<String>),
    /// SSE: the first event, then the connection is cut.
    BreakAfterFirst,
    /// SSE: the first event, then silence until the client goes away.
    HangAfterFirst,
    /// Wait this long before answering, then as `Ok`.
    Delay(Duration),
}

/// What the last request carried.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

/// (endpoint, model, JSON rather than SSE, chunks) of a cached good reply.
type ReplyKey = (Kind, String, bool, usize);

/// Shared state.
#[derive(Debug)]
pub struct UpState {
    pub name: String,
    pub mode: Mutex<Mode>,
    pub hits: AtomicUsize,
    pub last: Mutex<Option<Seen>>,
    /// Streams whose client went away before the end.
    pub dropped: AtomicUsize,
    /// Open streams right now.
    pub open: AtomicUsize,
    /// SSE chunks in a good stream's text (at least 2).
    pub chunks: AtomicUsize,
    /// Keep the last request (off in benches).
    pub record: AtomicBool,
    /// Good replies, made once per (endpoint, model, stream, chunks).
    cache: Mutex<HashMap<ReplyKey, Arc<Vec<Bytes>>>>,
}

/// A running fake upstream.
pub struct Upstream {
    pub url: String,
    pub state: Arc<UpState>,
}

impl Upstream {
    pub fn set(&self, m: Mode) {
        *self.state.mode.lock().unwrap() = m;
    }
    pub fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }
    pub fn last(&self) -> Seen {
        self.state.last.lock().unwrap().clone().expect("no request seen")
    }
    pub fn dropped(&self) -> usize {
        self.state.dropped.load(Ordering::SeqCst)
    }
}

/// Starts one on a free port of the current runtime.
pub async fn start(name: &str) -> Upstream {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start_on(name, listener).await
}

/// Starts one on a bound listener.
pub async fn start_on(name: &str, listener: tokio::net::TcpListener) -> Upstream {
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = Arc::new(UpState {
        name: name.to_string(),
        mode: Mutex::new(Mode::Ok),
        hits: AtomicUsize::new(0),
        last: Mutex::new(None),
        dropped: AtomicUsize::new(0),
        open: AtomicUsize::new(0),
        chunks: AtomicUsize::new(2),
        record: AtomicBool::new(true),
        cache: Mutex::new(HashMap::new()),
    });
    let app = Router::new().fallback(handle).with_state(state.clone());
    tokio::spawn(async move {
        let l = axum::serve::ListenerExt::tap_io(listener, |t| {
            let _ = t.set_nodelay(true);
        });
        axum::serve(l, app).await.unwrap();
    });
    Upstream { url, state }
}

/// A URL nothing listens on (connection refused).
pub fn refused_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    url
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Kind {
    Chat,
    Completions,
    Embeddings,
    Responses,
    Messages,
    CountTokens,
}

fn json_reply(status: u16, v: &Value) -> Response {
    let mut r = Response::new(Body::from(v.to_string()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn text_parts(name: &str, n: usize) -> Vec<String> {
    let mut parts = vec!["hello".to_string(), format!(" from {name}")];
    while parts.len() < n {
        parts.push(".".into());
    }
    parts
}

fn full_text(name: &str, n: usize) -> String {
    text_parts(name, n).concat()
}

fn ok_json(kind: Kind, model: &str, name: &str, n: usize) -> Value {
    let text = full_text(name, n);
    match kind {
        Kind::Chat => json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}),
        Kind::Completions => json!({"id": "cmpl-1", "object": "text_completion", "created": 1, "model": model,
            "choices": [{"text": text, "index": 0, "logprobs": null, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}),
        Kind::Embeddings => json!({"object": "list", "model": model,
            "data": [{"object": "embedding", "index": 0, "embedding": [0.25, -0.5, 1.0]}],
            "usage": {"prompt_tokens": 3, "total_tokens": 3}}),
        Kind::Responses => json!({"id": "resp_1", "object": "response", "created_at": 1, "status": "completed",
            "model": model, "output": [{"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}]}],
            "parallel_tool_calls": true, "tool_choice": "auto", "tools": [],
            "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15,
                "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}}),
        Kind::Messages => json!({"id": "msg_1", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 5}}),
        Kind::CountTokens => json!({"input_tokens": 7}),
    }
}

fn sse(event: Option<&str>, data: &Value) -> Bytes {
    match event {
        Some(e) => Bytes::from(format!("event: {e}\ndata: {data}\n\n")),
        None => Bytes::from(format!("data: {data}\n\n")),
    }
}

/// The events of a good stream.
fn ok_events(kind: Kind, model: &str, name: &str, n: usize) -> Vec<Bytes> {
    let parts = text_parts(name, n);
    let mut out = Vec::new();
    match kind {
        Kind::Chat | Kind::Completions | Kind::Embeddings | Kind::CountTokens => {
            for (i, p) in parts.iter().enumerate() {
                let delta = if i == 0 { json!({"role": "assistant", "content": p}) } else { json!({"content": p}) };
                out.push(sse(
                    None,
                    &json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                    "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": null}], "usage": null}),
                ));
            }
            out.push(sse(
                None,
                &json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model,
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": null}),
            ));
            out.push(sse(
                None,
                &json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model,
                "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}),
            ));
            out.push(Bytes::from_static(b"data: [DONE]\n\n"));
        }
        Kind::Responses => {
            let mut seq = 0;
            let mut ev = |out: &mut Vec<Bytes>, t: &str, mut v: Value| {
                v["type"] = json!(t);
                v["sequence_number"] = json!(seq);
                seq += 1;
                out.push(sse(Some(t), &v));
            };
            let resp = |status: &str, text: Option<&str>| {
                let output = match text {
                    Some(t) => json!([{"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                        "content": [{"type": "output_text", "text": t, "annotations": []}]}]),
                    None => json!([]),
                };
                json!({"id": "resp_1", "object": "response", "created_at": 1, "status": status, "model": model,
                    "output": output, "parallel_tool_calls": true, "tool_choice": "auto", "tools": [],
                    "usage": if text.is_some() { json!({"input_tokens": 10, "output_tokens": 5, "total_tokens": 15,
                        "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}) } else { Value::Null }})
            };
            ev(&mut out, "response.created", json!({"response": resp("in_progress", None)}));
            for p in &parts {
                ev(
                    &mut out,
                    "response.output_text.delta",
                    json!({"item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": p}),
                );
            }
            let text = parts.concat();
            ev(&mut out, "response.completed", json!({"response": resp("completed", Some(&text))}));
        }
        Kind::Messages => {
            out.push(sse(
                Some("message_start"),
                &json!({"type": "message_start", "message": {"id": "msg_1", "type": "message",
                "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 10, "output_tokens": 1}}}),
            ));
            out.push(sse(
                Some("content_block_start"),
                &json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}}),
            ));
            for p in &parts {
                out.push(sse(
                    Some("content_block_delta"),
                    &json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": p}}),
                ));
            }
            out.push(sse(Some("content_block_stop"), &json!({"type": "content_block_stop", "index": 0})));
            out.push(sse(
                Some("message_delta"),
                &json!({"type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 5}}),
            ));
            out.push(sse(Some("message_stop"), &json!({"type": "message_stop"})));
        }
    }
    out
}

/// Counts a stream as dropped when the client leaves before its end.
struct Guard {
    st: Arc<UpState>,
    finished: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.st.open.fetch_sub(1, Ordering::SeqCst);
        if !self.finished {
            self.st.dropped.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn sse_response(st: Arc<UpState>, events: Arc<Vec<Bytes>>, then: Mode) -> Response {
    st.open.fetch_add(1, Ordering::SeqCst);
    let guard = Guard { st, finished: false };
    let stream = futures_util::stream::unfold((events, guard, then, 0usize), |(it, mut g, then, i)| async move {
        match it.get(i).cloned() {
            Some(b) => Some((Ok::<Bytes, std::io::Error>(b), (it, g, then, i + 1))),
            None => match then {
                Mode::BreakAfterFirst => {
                    // Let the first event go out before the cut.
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    Some((Err(std::io::Error::other("cut")), (it, g, Mode::Ok, i)))
                }
                Mode::HangAfterFirst => {
                    std::future::pending::<()>().await;
                    None
                }
                _ => {
                    g.finished = true;
                    drop(g);
                    None
                }
            },
        }
    });
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

async fn handle(
    axum::extract::State(st): axum::extract::State<Arc<UpState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Infallible> {
    let path = uri.path().to_string();
    let kind = match path.as_str() {
        "/v1/chat/completions" => Kind::Chat,
        "/v1/completions" => Kind::Completions,
        "/v1/embeddings" => Kind::Embeddings,
        "/v1/responses" => Kind::Responses,
        "/v1/messages" | "/claude/v1/messages" => Kind::Messages,
        "/v1/messages/count_tokens" => Kind::CountTokens,
        _ => return Ok(json_reply(404, &json!({"error": {"message": "404 page not found"}}))),
    };
    st.hits.fetch_add(1, Ordering::SeqCst);
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = req["model"].as_str().unwrap_or("?").to_string();
    let stream = req["stream"] == json!(true);
    if st.record.load(Ordering::Relaxed) {
        *st.last.lock().unwrap() = Some(Seen { path: path.clone(), headers, body: req });
    }
    let mut mode = st.mode.lock().unwrap().clone();
    // Models that always misbehave (benches and SDK checks use them).
    match model.as_str() {
        "idle" => mode = Mode::HangAfterFirst,
        "break" if stream => mode = Mode::BreakAfterFirst,
        _ => {}
    }
    let n = st.chunks.load(Ordering::Relaxed);
    let name = st.name.clone();
    let json_body = !stream || kind == Kind::Embeddings || kind == Kind::CountTokens;
    let good = || {
        let key = (kind, model.clone(), json_body, n);
        let mut cache = st.cache.lock().unwrap();
        cache
            .entry(key)
            .or_insert_with(|| {
                Arc::new(if json_body {
                    vec![Bytes::from(ok_json(kind, &model, &name, n).to_string())]
                } else {
                    ok_events(kind, &model, &name, n)
                })
            })
            .clone()
    };
    match mode {
        Mode::Status(code, body, retry) => {
            let mut r = Response::new(Body::from(body));
            *r.status_mut() = StatusCode::from_u16(code).unwrap();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            if let Some(s) = retry {
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_str(&s).unwrap());
            }
            Ok(r)
        }
        Mode::BreakAfterFirst | Mode::HangAfterFirst => {
            let first = Arc::new(ok_events(kind, &model, &name, n).into_iter().take(1).collect());
            Ok(sse_response(st, first, mode))
        }
        Mode::Delay(_) | Mode::Ok => {
            if let Mode::Delay(d) = mode {
                tokio::time::sleep(d).await;
            }
            let body = good();
            if json_body {
                let mut r = Response::new(Body::from(body[0].clone()));
                r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                Ok(r)
            } else {
                Ok(sse_response(st, body, Mode::Ok))
            }
        }
    }
}

/// The text a good reply carries (to tell which upstream answered).
pub fn reply_text(name: &str) -> String {
    full_text(name, 2)
}
