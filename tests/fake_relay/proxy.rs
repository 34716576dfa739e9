//! A counting HTTP proxy for network tests: receives absolute-form requests, records
//! each target URL, and forwards the request (method, body, auth and User-Agent
//! headers) directly to the target. [`CountingProxy::start_mapping`] also maps a host
//! name that does not resolve (e.g. `relay.invalid`) to a local server, so a client
//! reaches that server only through the proxy.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::IntoResponse;

/// A running proxy.
pub struct CountingProxy {
    /// `http://127.0.0.1:port`.
    pub url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl CountingProxy {
    /// Starts a proxy on 127.0.0.1.
    pub async fn start() -> CountingProxy {
        CountingProxy::start_mapping(Vec::new()).await
    }

    /// Starts a proxy that sends requests for each `(from, to)` base URL (e.g.
    /// `http://relay.invalid` → `http://127.0.0.1:1234`) to `to`; others go where they say.
    pub async fn start_mapping(map: Vec<(String, String)>) -> CountingProxy {
        let map = Arc::new(map);
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let s = seen.clone();
        let direct = apihub::tls::client_builder().no_proxy().build().unwrap();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let s = s.clone();
            let direct = direct.clone();
            let map = map.clone();
            async move {
                // Absolute form: a proxy sees the whole target URL.
                assert!(uri.authority().is_some(), "a proxy receives absolute-form requests, got {uri}");
                s.lock().unwrap().push(uri.to_string());
                let target = uri.to_string();
                let target = map
                    .iter()
                    .find_map(|(from, to)| target.strip_prefix(from.as_str()).map(|rest| format!("{to}{rest}")))
                    .unwrap_or(target);
                let mut rb = direct.request(method, target).body(body);
                for (name, v) in &headers {
                    let n = name.as_str();
                    if !matches!(n, "host" | "connection" | "proxy-connection" | "content-length")
                        && !n.starts_with("proxy-")
                    {
                        rb = rb.header(name, v.clone());
                    }
                }
                match rb.send().await {
                    Ok(r) => {
                        let status = axum::http::StatusCode::from_u16(r.status().as_u16()).unwrap();
                        let ct = r.headers().get("content-type").cloned();
                        let body = r.bytes().await.unwrap_or_default();
                        let mut resp = (status, body).into_response();
                        if let Some(ct) = ct {
                            resp.headers_mut().insert("content-type", ct);
                        }
                        resp
                    }
                    Err(_) => axum::http::StatusCode::BAD_GATEWAY.into_response(),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        CountingProxy { url, seen }
    }

    /// How many requests went to targets under `base`.
    pub fn count_to(&self, base: &str) -> usize {
        self.seen.lock().unwrap().iter().filter(|u| u.starts_with(base)).count()
    }

    /// Every target seen.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}
