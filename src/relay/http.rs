//! The HTTP layer: the reqwest client, the per-origin limiter around every request, a
//! size-capped body read, and transport errors mapped to [`RelayError`].

use std::error::Error as _;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::limiter::{LimiterRegistry, origin_of};
use super::{ClientConfig, ProxySetting, RelayError, classify};

/// Shared state behind [`super::RelayClient`].
#[derive(Debug)]
pub struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) cfg: ClientConfig,
    pub(crate) limiters: LimiterRegistry,
}

/// A raw reply: status, headers and the (capped) body.
#[derive(Debug, Clone)]
pub struct RawReply {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body bytes (decompressed).
    pub body: Vec<u8>,
}

/// One request to send.
#[derive(Debug, Clone)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Full URL.
    pub url: String,
    /// Extra headers (auth, user-id headers…).
    pub headers: Vec<(String, String)>,
    /// JSON body, for POST/PUT.
    pub json: Option<Value>,
}

impl Request {
    /// A GET of `url`.
    pub fn get(url: impl Into<String>) -> Request {
        Request { method: Method::GET, url: url.into(), headers: Vec::new(), json: None }
    }
}

impl Inner {
    pub(crate) fn new(cfg: ClientConfig) -> Result<Inner, RelayError> {
        let ua = cfg.user_agent.clone().unwrap_or_else(|| format!("API-Hub-Desk/{}", crate::VERSION));
        let mut b = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(cfg.connect_timeout_secs.max(1)))
            .timeout(Duration::from_secs(cfg.request_timeout_secs.max(1)))
            .redirect(reqwest::redirect::Policy::limited(5))
            .user_agent(ua)
            .gzip(true);
        b = match &cfg.proxy {
            ProxySetting::System => b,
            ProxySetting::Direct => b.no_proxy(),
            ProxySetting::Url(u) => {
                let p = reqwest::Proxy::all(u.as_str()).map_err(|e| RelayError::Unavailable {
                    message: format!("invalid proxy setting: {}", e.without_url()),
                })?;
                b.proxy(p)
            }
        };
        let http = b.build().map_err(|e| RelayError::Unavailable { message: format!("cannot build client: {e}") })?;
        let limiters = LimiterRegistry::new(cfg.per_origin.clone());
        Ok(Inner { http, cfg, limiters })
    }

    /// Sends one request through the origin's limiter and reads the body with the cap.
    pub async fn send(&self, req: &Request, what: &str) -> Result<RawReply, RelayError> {
        let origin = origin_of(&req.url)
            .ok_or_else(|| RelayError::Unavailable { message: format!("{what}: not a valid URL: {}", req.url) })?;
        let limiter = self.limiters.get(&origin);
        let max_wait = Duration::from_secs(self.cfg.request_timeout_secs.max(1));
        let _permit = limiter
            .acquire(max_wait)
            .await
            .map_err(|p| RelayError::RateLimited { retry_after_secs: Some(p.remaining_secs) })?;
        let overall = Duration::from_secs(self.cfg.request_timeout_secs.max(1) + 2);
        let reply = match tokio::time::timeout(overall, self.send_unlimited(req, what)).await {
            Ok(r) => r?,
            Err(_) => return Err(RelayError::Unavailable { message: format!("{what}: timed out") }),
        };
        if reply.status == 429 {
            let retry = reply
                .headers
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            limiter.pause(retry);
        }
        log::debug!("{} {} → {} ({} bytes)", req.method, req.url, reply.status, reply.body.len());
        Ok(reply)
    }

    async fn send_unlimited(&self, req: &Request, what: &str) -> Result<RawReply, RelayError> {
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(reqwest::header::PRAGMA, HeaderValue::from_static("no-cache"));
        headers.insert(reqwest::header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        for (k, v) in &req.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| RelayError::malformed(format!("{what}: bad header name {k}")))?;
            // Never echo the value: it may be a token or a cookie.
            let value = HeaderValue::from_str(v)
                .map_err(|_| RelayError::malformed(format!("{what}: header {k} holds characters HTTP forbids")))?;
            headers.insert(name, value);
        }
        let mut rb = self.http.request(req.method.clone(), &req.url).headers(headers);
        if let Some(j) = &req.json {
            rb = rb.json(j);
        }
        let mut resp = rb.send().await.map_err(|e| transport_error(&e, what))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let cap = self.cfg.max_body_bytes;
        if resp.content_length().is_some_and(|n| n > cap as u64) {
            return Err(too_large(what, cap));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport_error(&e, what))? {
            if body.len() + chunk.len() > cap {
                return Err(too_large(what, cap));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(RawReply { status, headers, body })
    }

    /// Sends and classifies: the parsed JSON on success.
    pub async fn json(&self, req: &Request, what: &str) -> Result<Value, RelayError> {
        let r = self.send(req, what).await?;
        classify(r.status, &r.headers, &r.body, what)
    }
}

fn too_large(what: &str, cap: usize) -> RelayError {
    RelayError::malformed(format!("{what}: response too large (over {} MiB)", cap / (1024 * 1024)))
}

/// Maps a transport failure (connect, DNS, TLS, timeout, redirects, reset) to `Unavailable`.
pub fn transport_error(e: &reqwest::Error, what: &str) -> RelayError {
    let mut chain = String::new();
    let mut src: Option<&dyn std::error::Error> = e.source();
    while let Some(s) = src {
        chain.push_str(" / ");
        chain.push_str(&s.to_string());
        src = s.source();
    }
    let lower = chain.to_lowercase();
    let message = if e.is_redirect() {
        format!("{what}: too many redirects (a redirect loop?)")
    } else if e.is_timeout() {
        format!("{what}: timed out")
    } else if lower.contains("certificate") || lower.contains("unknownissuer") || lower.contains("notvalidforname") {
        format!("{what}: TLS certificate problem{chain}")
    } else if lower.contains("tls")
        || lower.contains("ssl")
        || lower.contains("handshake")
        || lower.contains("corrupt message")
        || lower.contains("invalidcontenttype")
        || lower.contains("wrong version number")
    {
        format!("{what}: TLS handshake failed (is the site really https?){chain}")
    } else if e.is_connect() {
        format!("{what}: could not connect{chain}")
    } else if e.is_body() || e.is_decode() {
        format!("{what}: connection dropped while reading the reply{chain}")
    } else {
        format!("{what}: request failed{chain}")
    };
    RelayError::Unavailable { message }
}
