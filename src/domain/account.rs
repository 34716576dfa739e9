//! Sites and the accounts a user holds on them.

use serde::{Deserialize, Serialize};

use super::SiteKind;

/// Row id of a site in the store.
pub type SiteId = i64;
/// Row id of an account in the store.
pub type AccountId = i64;

/// A relay site, identified by its normalised base URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    /// Store id.
    pub id: SiteId,
    /// Display name (the site's `system_name` or what the user typed).
    pub name: String,
    /// Base URL without a trailing slash, e.g. `https://api.example.com`.
    pub url: String,
    /// The server family.
    pub kind: SiteKind,
}

/// How an account signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// System access token + user id.
    AccessToken,
    /// Username + password (the password is kept only if the user asks).
    Password,
    /// A pasted browser cookie.
    Cookie,
    /// Only an OpenAI-style `sk-` key.
    ApiKey,
}

impl AuthMethod {
    /// Stable identifier for the store.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::AccessToken => "access_token",
            AuthMethod::Password => "password",
            AuthMethod::Cookie => "cookie",
            AuthMethod::ApiKey => "api_key",
        }
    }

    /// Inverse of [`AuthMethod::as_str`].
    pub fn parse(s: &str) -> Option<AuthMethod> {
        [AuthMethod::AccessToken, AuthMethod::Password, AuthMethod::Cookie, AuthMethod::ApiKey]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// The secret part of an account. Stored encrypted; never logged.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Credentials {
    /// Access token (PAT) or JWT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// Password, only when the user chose to keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Cookie header value (`session=…; cf_clearance=…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    /// OpenAI-style key for key-only accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Rotating refresh token (sub2api, new-api current auth).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The browser User-Agent a `cf_clearance` cookie was issued to (sent with the cookie).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mark = |o: &Option<String>| if o.is_some() { "<set>" } else { "<none>" };
        f.debug_struct("Credentials")
            .field("access_token", &mark(&self.access_token))
            .field("password", &mark(&self.password))
            .field("cookie", &mark(&self.cookie))
            .field("api_key", &mark(&self.api_key))
            .field("refresh_token", &mark(&self.refresh_token))
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

/// An account on a site, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// Store id.
    pub id: AccountId,
    /// The site it belongs to.
    pub site: Site,
    /// The user id on the site (numeric for One API family; may be empty for key-only).
    pub user_id: String,
    /// The username, when known.
    pub username: String,
    /// How it signs in.
    pub auth: AuthMethod,
    /// A user-chosen group name for the Sites table.
    pub group_name: String,
    /// Real money (usually CNY) paid per 1 USD of quota, e.g. 7.2 when ¥7.2 buys
    /// $1 of quota, or 0.5 on a site selling $1 of quota for ¥0.5. Real cost = USD × this.
    pub paid_per_usd: Option<f64>,
    /// Skipped by refresh-all and check-in-all.
    pub disabled: bool,
    /// Free-form notes.
    pub notes: String,
    /// Low-balance alert threshold in the site's currency (None = the global default).
    #[serde(default)]
    pub low_balance_threshold: Option<f64>,
    /// Auto-refresh interval in minutes for this account (None = the global one).
    #[serde(default)]
    pub refresh_interval_mins: Option<u32>,
    /// The user's own name for the account (empty: none; shown as the username).
    #[serde(default)]
    pub name: String,
}

/// What is needed to create (or update) an account.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAccount {
    /// Base URL of the site.
    pub site_url: String,
    /// Display name of the site.
    pub site_name: String,
    /// Site kind.
    pub kind: SiteKind,
    /// User id on the site.
    pub user_id: String,
    /// Username, when known.
    pub username: String,
    /// Sign-in method.
    pub auth: AuthMethod,
    /// The secrets.
    pub credentials: Credentials,
}

/// Normalises a site URL: trims, adds `https://` when no scheme, drops trailing `/`.
pub fn normalize_site_url(input: &str) -> String {
    let t = input.trim();
    let with_scheme = if t.contains("://") { t.to_string() } else { format!("https://{t}") };
    with_scheme.trim_end_matches('/').to_string()
}

/// A site URL as the key that tells whether two devices mean the same site:
/// [`normalize_site_url`], with the scheme and host in lower case and the scheme's
/// default port dropped (`HTTPS://API.X.com:443/` and `api.x.com` are one site).
pub fn site_key_url(input: &str) -> String {
    let url = normalize_site_url(input);
    let Some((scheme, rest)) = url.split_once("://") else { return url };
    let scheme = scheme.to_ascii_lowercase();
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut host = host.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => "",
    };
    if !default_port.is_empty() && host.ends_with(default_port) {
        host.truncate(host.len() - default_port.len());
    }
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_keys_ignore_case_and_default_ports() {
        assert_eq!(site_key_url("HTTPS://API.X.com:443/"), "https://api.x.com");
        assert_eq!(site_key_url("api.x.com"), "https://api.x.com");
        assert_eq!(site_key_url("http://127.0.0.1:3000/Path/"), "http://127.0.0.1:3000/Path");
    }

    #[test]
    fn urls_are_normalised() {
        assert_eq!(normalize_site_url(" api.x.com/ "), "https://api.x.com");
        assert_eq!(normalize_site_url("http://127.0.0.1:3000//"), "http://127.0.0.1:3000");
    }

    #[test]
    fn credentials_debug_hides_secrets() {
        let c = Credentials { access_token: Some("sekrit".into()), ..Default::default() };
        let s = format!("{c:?}");
        assert!(!s.contains("sekrit"));
        assert!(s.contains("<set>"));
    }
}
