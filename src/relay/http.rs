//! The HTTP layer: the reqwest client, the per-origin limiter around every request, a
//! size-capped body read, and transport errors mapped to [`RelayError`].

use std::collections::HashMap;
use std::error::Error as _;
use std::sync::RwLock;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::limiter::{LimiterRegistry, origin_of};
use super::{ClientConfig, ProxySetting, RelayError, SiteNetwork, classify};

/// Shared state behind [`super::RelayClient`]: the configuration, the sites' own network
/// settings, one reqwest client per (proxy, User-Agent) in use, and the per-origin limiters
/// (shared by every client, so a site's proxy does not escape its origin's budget).
pub struct Inner {
    net: RwLock<Net>,
    pub(crate) limiters: LimiterRegistry,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner").field("limiters", &self.limiters).finish_non_exhaustive()
    }
}

struct Net {
    cfg: ClientConfig,
    /// Extra roots read from `cfg.extra_ca_file`.
    roots: Vec<reqwest::Certificate>,
    /// Sites' own settings, longest base URL first.
    sites: Vec<(String, SiteNetwork)>,
    clients: HashMap<ClientKey, reqwest::Client>,
    /// The gateway's pass-through clients (see [`Inner::passthrough_client`]).
    pass_clients: HashMap<ClientKey, reqwest::Client>,
}

/// What makes two clients different.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    proxy: ProxySetting,
    user_agent: String,
}

/// What one request is sent with.
/// The client and limits to use for one URL (its site's proxy and User-Agent).
pub(crate) struct Route {
    pub(crate) client: reqwest::Client,
    pub(crate) max_body_bytes: usize,
    pub(crate) request_timeout_secs: u64,
}

fn default_user_agent() -> String {
    format!("API-Hub-Desk/{}", crate::VERSION)
}

/// Reads the extra CA file: every `CERTIFICATE` block of a PEM file.
fn load_roots(path: Option<&std::path::Path>) -> Result<Vec<reqwest::Certificate>, RelayError> {
    let Some(path) = path else { return Ok(Vec::new()) };
    let fail = |why: String| RelayError::Unavailable {
        message: format!("extra CA certificate file {}: {why}", path.display()),
    };
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&bytes)
        .map_err(|e| fail(format!("not a valid PEM file ({})", e.source().map_or(e.to_string(), |s| s.to_string()))))?;
    if certs.is_empty() {
        return Err(fail("no certificate found (expected -----BEGIN CERTIFICATE-----)".into()));
    }
    Ok(certs)
}

/// Mozilla's root certificates (webpki-root-certs), converted once.
fn bundled_roots() -> &'static [reqwest::Certificate] {
    static ROOTS: std::sync::OnceLock<Vec<reqwest::Certificate>> = std::sync::OnceLock::new();
    ROOTS.get_or_init(|| {
        webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .filter_map(|c| reqwest::Certificate::from_der(c.as_ref()).ok())
            .collect()
    })
}

/// How a client is used: the app's own calls, or the gateway's pass-through requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    /// Management and try calls: whole-request timeout, redirects, gzip.
    Relay,
    /// Gateway requests: no whole-request timeout (the gateway keeps its own first-byte,
    /// idle and total timeouts for streams), no redirects (a POST is never replayed as a
    /// GET), bodies passed through as sent (no decompression).
    Passthrough,
}

fn build_client(
    cfg: &ClientConfig,
    roots: &[reqwest::Certificate],
    key: &ClientKey,
    usage: Use,
) -> Result<reqwest::Client, RelayError> {
    let mut b = crate::tls::client_builder()
        .connect_timeout(Duration::from_secs(cfg.connect_timeout_secs.max(1)))
        .user_agent(key.user_agent.clone());
    b = match usage {
        Use::Relay => b
            .timeout(Duration::from_secs(cfg.request_timeout_secs.max(1)))
            .redirect(reqwest::redirect::Policy::limited(5))
            .gzip(true),
        Use::Passthrough => b.redirect(reqwest::redirect::Policy::none()).gzip(false).tcp_nodelay(true),
    };
    // The platform's roots (rustls-platform-verifier), plus Mozilla's bundled roots and
    // the user's extra CA file.
    b = b.tls_certs_merge(bundled_roots().iter().cloned().chain(roots.iter().cloned()));
    b = match &key.proxy {
        ProxySetting::System => b,
        ProxySetting::Direct => b.no_proxy(),
        ProxySetting::Url(u) => {
            let p = reqwest::Proxy::all(u.as_str()).map_err(|e| RelayError::Unavailable {
                message: format!("invalid proxy setting: {}", e.without_url()),
            })?;
            b.proxy(p)
        }
    };
    b.build().map_err(|e| {
        let chain = e.source().map(|s| format!(" ({s})")).unwrap_or_default();
        let what =
            if roots.is_empty() { "cannot build client" } else { "cannot build client with the extra CA certificate" };
        RelayError::Unavailable { message: format!("{what}: {e}{chain}") }
    })
}

impl Net {
    fn global_key(&self) -> ClientKey {
        ClientKey {
            proxy: self.cfg.proxy.clone(),
            user_agent: self.cfg.user_agent.clone().filter(|u| !u.trim().is_empty()).unwrap_or_else(default_user_agent),
        }
    }

    /// The client key for a URL: the site's own proxy and User-Agent over the global ones.
    fn key_for(&self, url: &str) -> ClientKey {
        let mut key = self.global_key();
        if let Some((_, net)) = self.sites.iter().find(|(base, _)| belongs_to(url, base)) {
            key.proxy = net.proxy.resolve(&self.cfg.proxy);
            if let Some(ua) = net.user_agent() {
                key.user_agent = ua.to_string();
            }
        }
        key
    }
}

/// Whether `url` is under the site base URL `base` (no trailing slash).
fn belongs_to(url: &str, base: &str) -> bool {
    url.strip_prefix(base).is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?', '#']))
}

fn normalise_base(url: &str) -> String {
    crate::domain::account::normalize_site_url(url)
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

impl Net {
    fn build(cfg: ClientConfig) -> Result<Net, RelayError> {
        let roots = load_roots(cfg.extra_ca_file.as_deref())?;
        let mut net = Net { cfg, roots, sites: Vec::new(), clients: HashMap::new(), pass_clients: HashMap::new() };
        let key = net.global_key();
        let client = build_client(&net.cfg, &net.roots, &key, Use::Relay)?;
        net.clients.insert(key, client);
        Ok(net)
    }
}

impl Inner {
    pub(crate) fn new(cfg: ClientConfig) -> Result<Inner, RelayError> {
        let limiters = LimiterRegistry::new(cfg.per_origin.clone());
        let net = Net::build(cfg)?;
        Ok(Inner { net: RwLock::new(net), limiters })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Net> {
        self.net.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Net> {
        self.net.write().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn config(&self) -> ClientConfig {
        self.read().cfg.clone()
    }

    pub(crate) fn reconfigure(&self, cfg: ClientConfig) -> Result<(), RelayError> {
        let fresh = Net::build(cfg)?;
        let mut net = self.write();
        let sites = std::mem::take(&mut net.sites);
        *net = Net { sites, ..fresh };
        Ok(())
    }

    pub(crate) fn set_site_networks(&self, sites: Vec<(String, SiteNetwork)>) {
        let mut list: Vec<(String, SiteNetwork)> =
            sites.into_iter().filter(|(_, n)| !n.is_default()).map(|(u, n)| (normalise_base(&u), n)).collect();
        list.sort_by_key(|s| std::cmp::Reverse(s.0.len()));
        self.write().sites = list;
    }

    pub(crate) fn set_site_network(&self, site_url: &str, net: SiteNetwork) {
        let base = normalise_base(site_url);
        let mut g = self.write();
        g.sites.retain(|(u, _)| *u != base);
        if !net.is_default() {
            g.sites.push((base, net));
            g.sites.sort_by_key(|s| std::cmp::Reverse(s.0.len()));
        }
    }

    /// The client (built once per key and kept) and limits for a URL.
    pub(crate) fn route(&self, url: &str) -> Result<Route, RelayError> {
        {
            let net = self.read();
            let key = net.key_for(url);
            if let Some(client) = net.clients.get(&key) {
                return Ok(Route {
                    client: client.clone(),
                    max_body_bytes: net.cfg.max_body_bytes,
                    request_timeout_secs: net.cfg.request_timeout_secs,
                });
            }
        }
        let mut net = self.write();
        let key = net.key_for(url);
        let client = match net.clients.get(&key) {
            Some(c) => c.clone(),
            None => {
                let c = build_client(&net.cfg, &net.roots, &key, Use::Relay)?;
                net.clients.insert(key, c.clone());
                c
            }
        };
        Ok(Route { client, max_body_bytes: net.cfg.max_body_bytes, request_timeout_secs: net.cfg.request_timeout_secs })
    }

    /// The gateway's client for a URL: the site's proxy, User-Agent and the extra CA like
    /// every relay call, but no whole-request timeout, no redirects and no decompression.
    /// Built once per (proxy, User-Agent) and kept; the caller keeps its own clone.
    pub(crate) fn passthrough_client(&self, url: &str) -> Result<reqwest::Client, RelayError> {
        {
            let net = self.read();
            if let Some(c) = net.pass_clients.get(&net.key_for(url)) {
                return Ok(c.clone());
            }
        }
        let mut net = self.write();
        let key = net.key_for(url);
        if let Some(c) = net.pass_clients.get(&key) {
            return Ok(c.clone());
        }
        let c = build_client(&net.cfg, &net.roots, &key, Use::Passthrough)?;
        net.pass_clients.insert(key, c.clone());
        Ok(c)
    }

    /// Sends one request through the origin's limiter and reads the body with the cap.
    pub async fn send(&self, req: &Request, what: &str) -> Result<RawReply, RelayError> {
        let origin = origin_of(&req.url)
            .ok_or_else(|| RelayError::Unavailable { message: format!("{what}: not a valid URL: {}", req.url) })?;
        let route = self.route(&req.url)?;
        let limiter = self.limiters.get(&origin);
        let max_wait = Duration::from_secs(route.request_timeout_secs.max(1));
        let path = url::Url::parse(&req.url).map(|u| u.path().to_string()).unwrap_or_default();
        let _permit = limiter
            .acquire_for(&path, max_wait)
            .await
            .map_err(|p| RelayError::RateLimited { retry_after_secs: Some(p.remaining_secs) })?;
        let overall = Duration::from_secs(route.request_timeout_secs.max(1) + 2);
        let reply = match tokio::time::timeout(overall, send_unlimited(&route, req, what)).await {
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
}

async fn send_unlimited(route: &Route, req: &Request, what: &str) -> Result<RawReply, RelayError> {
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
    let mut rb = route.client.request(req.method.clone(), &req.url).headers(headers);
    if let Some(j) = &req.json {
        rb = rb.json(j);
    }
    let mut resp = rb.send().await.map_err(|e| transport_error(&e, what))?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let cap = route.max_body_bytes;
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

impl Inner {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_root_is_trusted_and_a_client_builds_with_them() {
        assert!(bundled_roots().len() > 100);
        assert_eq!(bundled_roots().len(), webpki_root_certs::TLS_SERVER_ROOT_CERTS.len());
        let started = std::time::Instant::now();
        let net = Net::build(ClientConfig::default()).unwrap();
        eprintln!("client built in {:?}", started.elapsed());
        assert_eq!(net.clients.len(), 1);
    }
}
