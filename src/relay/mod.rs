//! Async HTTP to relay sites: one client, one [`profile::Profile`] per site kind,
//! typed errors ([`RelayError`]), a per-origin limiter, and the snapshot fetch.
//!
//! `fetch_snapshot` never calls `GET /api/user/token` (it rotates the token) and never
//! signs in with a password.
//!
//! | file | what |
//! | --- | --- |
//! | `error.rs` | `RelayError` and `classify(status, headers, body)` (clients.md §1) |
//! | `http.rs` | reqwest client, limiter around every request, capped body read, transport errors |
//! | `limiter.rs` | per-origin in-flight cap, token bucket, 429 pause |
//! | `profile.rs` | one `Profile` per `SiteKind`: endpoints, page params, headers, check-in |
//! | `lists.rs` | the tolerant pager (every list shape, page-base detection, caps) |
//! | `parse.rs` | JSON → `domain` types |
//! | `snapshot.rs` | `fetch_snapshot` for the One API family, request context, auth headers |
//! | `native.rs` | key-only accounts, sub2api, VoAPI v2 |
//! | `login.rs` | verify token/cookie, password + 2FA sign-in, explicit token mint |
//! | `detect.rs` | site-kind detection |
//! | `checkin.rs` | performing check-in |
//! | `channels.rs` | channel search/create/update on a site the user administers (channel import) |
//! | `keys.rs` | key list/create/edit/enable/delete; revealing masked new-api keys (explicit, critical-limited) |
//! | `redeem.rs` | redeeming a code (int vs Veloera object; never retried) |
//! | `try_model.rs` | "try a model": streamed chat / embeddings with one key, TTFT and total time, OpenAI error bodies classified |

pub mod channels;
pub mod checkin;
pub(crate) mod ctx;
pub mod detect;
pub mod error;
pub mod http;
pub mod keys;
pub mod limiter;
pub mod lists;
pub mod login;
pub mod logs;
pub mod native;
pub mod parse;
pub mod pricing;
pub mod redeem;
pub mod snapshot;
pub mod try_model;

use std::sync::Arc;

pub use crate::domain::profile::{self, Profile};
pub use error::{RelayError, classify};

use crate::domain::{AuthMethod, SiteKind};

pub use crate::domain::network::{ProxySetting, SiteNetwork, SiteProxy};

/// Politeness limits applied to every origin separately.
#[derive(Debug, Clone, PartialEq)]
pub struct OriginLimits {
    /// Concurrent requests per origin.
    pub max_in_flight: usize,
    /// Sustained requests per second.
    pub per_sec: f64,
    /// Requests allowed at once before the sustained rate applies.
    pub burst: u32,
    /// Pause after a 429 without `Retry-After`.
    pub pause_on_429_secs: u64,
    /// Longest pause honoured (a larger `Retry-After` is capped).
    pub max_pause_secs: u64,
    /// Least time between two `/api/log…` requests to the origin (servers rate-limit
    /// their log endpoints separately); other paths are not delayed by it.
    pub log_min_gap_ms: u64,
}

impl Default for OriginLimits {
    fn default() -> Self {
        OriginLimits {
            max_in_flight: 2,
            per_sec: 1.0,
            burst: 4,
            pause_on_429_secs: 60,
            max_pause_secs: 600,
            log_min_gap_ms: 220,
        }
    }
}

/// Settings of the [`RelayClient`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// TCP + TLS connect timeout.
    pub connect_timeout_secs: u64,
    /// Whole-request timeout (headers and body).
    pub request_timeout_secs: u64,
    /// Largest body read; larger replies are `Malformed("response too large")`.
    pub max_body_bytes: usize,
    /// `User-Agent` (default `API-Hub-Desk/<version>`); a site's own or a cookie's wins.
    pub user_agent: Option<String>,
    /// Proxy choice (a site may override it, see [`RelayClient::set_site_networks`]).
    pub proxy: ProxySetting,
    /// A PEM file of extra root certificates (corporate or self-signed CAs), trusted
    /// beside the platform's roots.
    pub extra_ca_file: Option<std::path::PathBuf>,
    /// Per-origin limits.
    pub per_origin: OriginLimits,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout_secs: 10,
            request_timeout_secs: 30,
            max_body_bytes: 16 * 1024 * 1024,
            user_agent: None,
            proxy: ProxySetting::System,
            extra_ca_file: None,
            per_origin: OriginLimits::default(),
        }
    }
}

impl ClientConfig {
    /// This configuration with the user's global network settings applied.
    pub fn with_network(self, n: &crate::domain::network::NetworkSettings) -> ClientConfig {
        let ca = n.extra_ca_file.trim();
        ClientConfig {
            connect_timeout_secs: n.connect_timeout_secs.max(1),
            request_timeout_secs: n.request_timeout_secs.max(1),
            proxy: n.proxy.clone(),
            extra_ca_file: (!ca.is_empty()).then(|| std::path::PathBuf::from(ca)),
            ..self
        }
    }
}

/// The account to talk about: where, what kind, who, how it signs in.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRef {
    /// Base URL (normalised, no trailing slash).
    pub site_url: String,
    /// Site kind (picks the profile).
    pub kind: SiteKind,
    /// Numeric user id (sent under every user-id header on new-api-family kinds).
    pub user_id: String,
    /// Sign-in method.
    pub auth: AuthMethod,
}

/// The relay client: cheap to clone (an `Arc` inside), shared by every job. Every clone
/// sees [`RelayClient::reconfigure`] and the per-site network settings.
#[derive(Clone, Debug)]
pub struct RelayClient {
    pub(crate) inner: Arc<http::Inner>,
}

impl RelayClient {
    /// Builds the client (rustls, timeouts, proxy, user agent, ≤ 5 redirects). A bad
    /// proxy URL or an unreadable extra CA file is an error here, not later.
    pub fn new(cfg: ClientConfig) -> Result<RelayClient, RelayError> {
        Ok(RelayClient { inner: Arc::new(http::Inner::new(cfg)?) })
    }

    /// The configuration in force.
    pub fn config(&self) -> ClientConfig {
        self.inner.config()
    }

    /// Replaces the global configuration (proxy, timeouts, user agent, extra CA) for
    /// every clone. On error nothing changes. Per-origin limiters are kept.
    pub fn reconfigure(&self, cfg: ClientConfig) -> Result<(), RelayError> {
        self.inner.reconfigure(cfg)
    }

    /// Replaces every site's own network settings (by site base URL).
    pub fn set_site_networks(&self, sites: impl IntoIterator<Item = (String, SiteNetwork)>) {
        self.inner.set_site_networks(sites.into_iter().collect());
    }

    /// Sets (or with the default value, clears) one site's own network settings.
    pub fn set_site_network(&self, site_url: &str, net: SiteNetwork) {
        self.inner.set_site_network(site_url, net);
    }

    /// The client the local gateway sends a site's traffic with: that site's proxy and
    /// User-Agent and the extra CA file, without the relay calls' whole-request timeout,
    /// redirects, decompression or per-origin limiter (the user's own API traffic is not
    /// management polling). Kept per (proxy, User-Agent); rebuilt after [`Self::reconfigure`].
    pub fn passthrough_client(&self, url: &str) -> Result<reqwest::Client, RelayError> {
        self.inner.passthrough_client(url)
    }

    /// The HTTP client requests to `url` use (the saved proxy, timeouts, extra CA file
    /// and User-Agent), for HTTP that is not a relay site's API (alert channels). No
    /// limiter, no logging of the URL (it may hold a key).
    pub(crate) fn http_client_for(&self, url: &str) -> Result<reqwest::Client, RelayError> {
        Ok(self.inner.route(url)?.client)
    }

    /// Sends one request as every relay call does (the site's client, the origin's
    /// limiter, the body cap), without classifying the reply.
    pub async fn send(&self, req: &http::Request, what: &str) -> Result<http::RawReply, RelayError> {
        self.inner.send(req, what).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_ca_file_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("apihub-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("bad.pem");
        std::fs::write(&f, "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n").unwrap();
        let e =
            RelayClient::new(ClientConfig { extra_ca_file: Some(f.clone()), ..ClientConfig::default() }).unwrap_err();
        assert!(e.to_string().contains("CA certificate"), "{e}");
        std::fs::write(&f, "hello").unwrap();
        let e =
            RelayClient::new(ClientConfig { extra_ca_file: Some(f.clone()), ..ClientConfig::default() }).unwrap_err();
        assert!(e.to_string().contains("no certificate"), "{e}");
        let e =
            RelayClient::new(ClientConfig { extra_ca_file: Some(dir.join("missing.pem")), ..ClientConfig::default() })
                .unwrap_err();
        assert!(e.to_string().contains("CA certificate"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn proxy_settings_build_or_fail_clearly() {
        for p in [ProxySetting::System, ProxySetting::Direct, ProxySetting::Url("socks5://u:p@127.0.0.1:1080".into())] {
            assert!(RelayClient::new(ClientConfig { proxy: p, ..ClientConfig::default() }).is_ok());
        }
        let e =
            RelayClient::new(ClientConfig { proxy: ProxySetting::Url("::nope::".into()), ..ClientConfig::default() })
                .unwrap_err();
        assert!(e.to_string().contains("proxy"), "{e}");
    }
}
