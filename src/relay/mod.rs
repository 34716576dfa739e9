//! Async HTTP to relay sites: one client, one [`profile::Profile`] per site kind,
//! typed errors ([`RelayError`]), a per-origin limiter, and the snapshot fetch.
//!
//! `fetch_snapshot` never calls `GET /api/user/token` (it rotates the token) and never
//! signs in with a password.

pub mod error;
pub mod http;
pub mod limiter;
pub mod lists;
pub mod logs;
pub mod native;
pub mod parse;
pub mod profile;
pub mod snapshot;

use std::sync::Arc;

pub use error::{RelayError, classify};
pub use profile::Profile;

use crate::domain::{AuthMethod, SiteKind};

/// How requests reach the internet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ProxySetting {
    /// Honour `HTTP(S)_PROXY` / `ALL_PROXY` / `NO_PROXY` (the default).
    #[default]
    System,
    /// Never use a proxy.
    Direct,
    /// This proxy: `http://`, `https://` or `socks5://user:pass@host:port`.
    Url(String),
}

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
}

impl Default for OriginLimits {
    fn default() -> Self {
        OriginLimits { max_in_flight: 2, per_sec: 1.0, burst: 4, pause_on_429_secs: 60, max_pause_secs: 600 }
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
    /// `User-Agent` (default `API-Hub-Desk/<version>`).
    pub user_agent: Option<String>,
    /// Proxy choice.
    pub proxy: ProxySetting,
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
            per_origin: OriginLimits::default(),
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

/// The relay client: cheap to clone (an `Arc` inside), shared by every job.
#[derive(Clone, Debug)]
pub struct RelayClient {
    pub(crate) inner: Arc<http::Inner>,
}

impl RelayClient {
    /// Builds the client (rustls, timeouts, proxy, user agent, ≤ 5 redirects).
    pub fn new(cfg: ClientConfig) -> Result<RelayClient, RelayError> {
        Ok(RelayClient { inner: Arc::new(http::Inner::new(cfg)?) })
    }

    /// The configuration in force.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.cfg
    }
}
