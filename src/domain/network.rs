//! Network choices: the global proxy, a site's own proxy override and User-Agent, and how
//! they are written in settings and the store.

use serde::{Deserialize, Serialize};

/// How requests reach the internet (the global choice). Its serde form is the stored
/// text (`system`, `none` or the URL).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ProxySetting {
    /// Honour `HTTP(S)_PROXY` / `ALL_PROXY` / `NO_PROXY` (the default).
    #[default]
    System,
    /// Never use a proxy.
    Direct,
    /// This proxy: `http://`, `https://` or `socks5://user:pass@host:port`.
    Url(String),
}

impl ProxySetting {
    /// Reads the stored form: `""`/`"system"` → System, `"none"` → Direct, else a URL.
    pub fn from_stored(s: &str) -> ProxySetting {
        match s.trim() {
            "" | "system" => ProxySetting::System,
            "none" | "direct" => ProxySetting::Direct,
            url => ProxySetting::Url(url.to_string()),
        }
    }

    /// The stored form (inverse of [`ProxySetting::from_stored`]).
    pub fn to_stored(&self) -> String {
        match self {
            ProxySetting::System => "system".into(),
            ProxySetting::Direct => "none".into(),
            ProxySetting::Url(u) => u.trim().to_string(),
        }
    }
}

impl From<String> for ProxySetting {
    fn from(s: String) -> Self {
        ProxySetting::from_stored(&s)
    }
}

impl From<ProxySetting> for String {
    fn from(p: ProxySetting) -> Self {
        p.to_stored()
    }
}

/// A site's proxy choice.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteProxy {
    /// Use the global setting.
    #[default]
    Inherit,
    /// Connect directly, whatever the global setting says.
    Direct,
    /// Use this proxy URL.
    Url(String),
}

impl SiteProxy {
    /// Reads the stored form: `""` → Inherit, `"none"` → Direct, else a URL.
    pub fn from_stored(s: &str) -> SiteProxy {
        match s.trim() {
            "" | "inherit" => SiteProxy::Inherit,
            "none" | "direct" => SiteProxy::Direct,
            url => SiteProxy::Url(url.to_string()),
        }
    }

    /// The stored form (inverse of [`SiteProxy::from_stored`]).
    pub fn to_stored(&self) -> String {
        match self {
            SiteProxy::Inherit => String::new(),
            SiteProxy::Direct => "none".into(),
            SiteProxy::Url(u) => u.trim().to_string(),
        }
    }

    /// The proxy in force for this site given the global choice.
    pub fn resolve(&self, global: &ProxySetting) -> ProxySetting {
        match self {
            SiteProxy::Inherit => global.clone(),
            SiteProxy::Direct => ProxySetting::Direct,
            SiteProxy::Url(u) => ProxySetting::Url(u.clone()),
        }
    }
}

/// A site's own network settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SiteNetwork {
    /// Proxy override.
    #[serde(default)]
    pub proxy: SiteProxy,
    /// Custom `User-Agent` (a cookie's own User-Agent still wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

impl SiteNetwork {
    /// True when nothing is overridden.
    pub fn is_default(&self) -> bool {
        self.proxy == SiteProxy::Inherit && self.user_agent.as_deref().is_none_or(|u| u.trim().is_empty())
    }

    /// The custom User-Agent, trimmed, if set.
    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref().map(str::trim).filter(|u| !u.is_empty())
    }
}

/// The global network settings the user edits in Settings (`network.*` keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkSettings {
    /// Global proxy.
    pub proxy: ProxySetting,
    /// TCP + TLS connect timeout, seconds.
    pub connect_timeout_secs: u64,
    /// Whole-request timeout, seconds.
    pub request_timeout_secs: u64,
    /// Path of a PEM file with extra root certificates (empty = none) (`network.ca_file`).
    #[serde(rename = "ca_file")]
    pub extra_ca_file: String,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            proxy: ProxySetting::System,
            connect_timeout_secs: 10,
            request_timeout_secs: 30,
            extra_ca_file: String::new(),
        }
    }
}

impl NetworkSettings {
    /// Checks what the user typed: a valid proxy URL, timeouts within 1..=600 s.
    pub fn validate(&self) -> Result<(), String> {
        if let ProxySetting::Url(u) = &self.proxy {
            validate_proxy_url(u)?;
        }
        for t in [self.connect_timeout_secs, self.request_timeout_secs] {
            if !(1..=600).contains(&t) {
                return Err(format!("timeouts must be between 1 and 600 seconds (got {t})"));
            }
        }
        Ok(())
    }
}

/// Checks a proxy URL: `http`, `https`, `socks5` or `socks5h` with a host (and optional
/// `user:pass@`). The error says what is wrong without echoing a password.
pub fn validate_proxy_url(s: &str) -> Result<(), String> {
    let u = url::Url::parse(s.trim()).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(u.scheme(), "http" | "https" | "socks5" | "socks5h") {
        return Err(format!("unsupported proxy scheme {:?} (use http, https or socks5)", u.scheme()));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err("the proxy URL has no host".into());
    }
    Ok(())
}

/// Hides the password of a proxy URL for display and logs.
pub fn redact_proxy_url(s: &str) -> String {
    match url::Url::parse(s.trim()) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => s.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_forms_round_trip() {
        for p in [ProxySetting::System, ProxySetting::Direct, ProxySetting::Url("socks5://u:p@h:1".into())] {
            assert_eq!(ProxySetting::from_stored(&p.to_stored()), p);
        }
        for p in [SiteProxy::Inherit, SiteProxy::Direct, SiteProxy::Url("http://h:8080".into())] {
            assert_eq!(SiteProxy::from_stored(&p.to_stored()), p);
        }
        assert_eq!(SiteProxy::Inherit.resolve(&ProxySetting::Direct), ProxySetting::Direct);
        assert_eq!(SiteProxy::Direct.resolve(&ProxySetting::Url("http://x".into())), ProxySetting::Direct);
    }

    #[test]
    fn proxy_urls_are_checked_and_redacted() {
        assert!(validate_proxy_url("socks5://u:p@127.0.0.1:1080").is_ok());
        assert!(validate_proxy_url("https://proxy.corp:443").is_ok());
        assert!(validate_proxy_url("ftp://x").is_err());
        assert!(validate_proxy_url("::nope::").is_err());
        let r = redact_proxy_url("http://bob:s3cret@p:3128");
        assert!(!r.contains("s3cret") && r.contains("bob"), "{r}");
    }
}
