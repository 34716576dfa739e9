//! A request context for one account ([`Ctx`]: base URL, profile, auth headers, the
//! site-fatal stop) and the helpers every fetch shares: reading `/api/status`, turning a
//! call's result into a snapshot part. Used by `snapshot.rs`, `native.rs`, `pricing.rs`,
//! the key, check-in, redeem and login calls.

use serde_json::Value;

use super::error::envelope_data;
use super::http::{Inner, Request};
use super::lists::Listing;
use super::parse;
use super::profile::{AuthStyle, Profile};
use super::{AccountRef, RelayError, classify};
use crate::domain::money::CurrencySettings;
use crate::domain::snapshot::{Availability, Part, Snapshot};
use crate::domain::{AuthMethod, Credentials};

/// A request context for one account: base URL, profile and the headers to send.
pub(crate) struct Ctx<'a> {
    pub inner: &'a Inner,
    pub base: String,
    pub profile: Profile,
    pub headers: Vec<(String, String)>,
    /// The account's user id (may be empty).
    pub user_id: String,
    /// Set after a site-wide failure: later parts are skipped, not requested.
    pub fatal: std::sync::Mutex<Option<RelayError>>,
}

impl<'a> Ctx<'a> {
    pub fn new(inner: &'a Inner, account: &AccountRef, creds: &Credentials) -> Result<Ctx<'a>, RelayError> {
        let profile = Profile::for_kind(account.kind);
        let headers = auth_headers(account, creds, &profile)?;
        Ok(Ctx {
            inner,
            base: account.site_url.trim().trim_end_matches('/').to_string(),
            profile,
            headers,
            user_id: account.user_id.trim().to_string(),
            fatal: std::sync::Mutex::new(None),
        })
    }

    fn fatal_error(&self) -> Option<RelayError> {
        match self.fatal.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// GET `path` (with query), classified; the whole JSON body.
    pub async fn get(&self, path: &str) -> Result<Value, RelayError> {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// Any method, with an optional JSON body; classified.
    pub async fn call(&self, method: reqwest::Method, path: &str, json: Option<Value>) -> Result<Value, RelayError> {
        if let Some(e) = self.fatal_error() {
            return Err(e);
        }
        let req = Request { method, url: format!("{}{path}", self.base), headers: self.headers.clone(), json };
        let what = path.split('?').next().unwrap_or(path).to_string();
        // Transport failures, challenges and 429s stop the site's other endpoints for
        // this refresh; an HTTP 5xx on one endpoint does not.
        let r = match self.inner.send(&req, &what).await {
            Ok(raw) => classify(raw.status, &raw.headers, &raw.body, &what),
            Err(e) => {
                self.set_fatal(&e);
                return Err(e);
            }
        };
        if let Err(e @ (RelayError::Challenge { .. } | RelayError::RateLimited { .. })) = &r {
            self.set_fatal(e);
        }
        r
    }

    fn set_fatal(&self, e: &RelayError) {
        match self.fatal.lock() {
            Ok(mut g) => *g = Some(e.clone()),
            Err(p) => *p.into_inner() = Some(e.clone()),
        }
    }

    /// GET `path` and return the envelope's `data`.
    pub async fn get_data(&self, path: &str) -> Result<Value, RelayError> {
        let v = self.get(path).await?;
        envelope_data(&v, path.split('?').next().unwrap_or(path)).cloned()
    }
}

/// The credential and user-id headers for an account.
pub(crate) fn auth_headers(
    account: &AccountRef,
    creds: &Credentials,
    profile: &Profile,
) -> Result<Vec<(String, String)>, RelayError> {
    let nonempty = |o: &Option<String>| o.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let mut h = Vec::new();
    let authz = |t: String| match profile.auth_style {
        AuthStyle::Bearer => format!("Bearer {t}"),
        AuthStyle::Raw => t,
    };
    match account.auth {
        AuthMethod::ApiKey => {
            let k = nonempty(&creds.api_key)
                .ok_or_else(|| RelayError::Auth { message: "no API key stored".into(), hint: None })?;
            h.push(("Authorization".into(), format!("Bearer {}", parse::with_sk(&k))));
            return Ok(h);
        }
        AuthMethod::Cookie => {
            let c = nonempty(&creds.cookie)
                .ok_or_else(|| RelayError::Auth { message: "no cookie stored".into(), hint: None })?;
            h.push(("Cookie".into(), c));
        }
        AuthMethod::AccessToken | AuthMethod::Password => {
            if let Some(t) = nonempty(&creds.access_token) {
                h.push(("Authorization".into(), authz(t)));
            } else if let Some(c) = nonempty(&creds.cookie) {
                h.push(("Cookie".into(), c));
            } else {
                return Err(RelayError::Auth {
                    message: "no access token stored".into(),
                    hint: Some("sign in again or paste the system access token".into()),
                });
            }
        }
    }
    // A cf_clearance cookie only works with the browser User-Agent it was issued to; it
    // wins over the site's and the global User-Agent.
    if h.iter().any(|(k, _)| k == "Cookie")
        && let Some(ua) = nonempty(&creds.user_agent)
    {
        h.push(("User-Agent".into(), ua));
    }
    let uid = account.user_id.trim();
    if !uid.is_empty() {
        for name in profile.user_id_headers {
            h.push(((*name).to_string(), uid.to_string()));
        }
    }
    Ok(h)
}

/// A failed call as a part: NotSupported → unsupported, otherwise failed.
pub(crate) fn part_from_error<T>(e: &RelayError) -> Part<T> {
    match e {
        RelayError::NotSupported { .. } => Part::unsupported(),
        e if is_privilege_refusal(e) => Part::unsupported(),
        other => Part::failed(other.to_string()),
    }
}

/// A listing as a part.
pub(crate) fn part_from_listing<T>(value: T, l: &Listing) -> Part<T> {
    match &l.partial {
        None => Part::complete(value),
        Some(why) => Part { value: Some(value), availability: Availability::Partial(why.clone()) },
    }
}

/// `/api/status` → (currency, system name, check-in enabled). Site-fatal errors abort.
pub(crate) async fn read_status(ctx: &Ctx<'_>, snap: &mut Snapshot) -> Result<Option<Value>, RelayError> {
    let Some(path) = ctx.profile.status_path else { return Ok(None) };
    match ctx.get(path).await {
        Ok(v) => {
            let data = v.get("data").cloned().unwrap_or(Value::Null);
            if data.is_object() {
                snap.currency = CurrencySettings::from_status(&data);
                snap.system_name =
                    data.get("system_name").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
                Ok(Some(data))
            } else {
                Ok(None)
            }
        }
        Err(e) if e.is_site_fatal() => Err(e),
        Err(e) => {
            log::info!("{}: /api/status unusable ({e}); using default currency settings", ctx.base);
            Ok(None)
        }
    }
}

/// Fails the account on an auth error in any part (never save empties under a dead login).
/// A "low role" refusal on a secondary endpoint is the admin `/api/user/:id` route
/// swallowing a path this fork lacks, not a dead login: the part is unsupported.
pub(crate) fn is_privilege_refusal(e: &RelayError) -> bool {
    match e {
        RelayError::Auth { message, .. } => {
            let l = message.to_lowercase();
            message.contains("权限不足") || l.contains("insufficient privilege") || l.contains("permission denied")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SiteKind;

    fn headers(kind: SiteKind, auth: AuthMethod) -> Vec<(String, String)> {
        let acc = AccountRef { site_url: "https://x.example".into(), kind, user_id: "42".into(), auth };
        let creds = Credentials {
            access_token: Some("tok".into()),
            cookie: Some("session=c".into()),
            api_key: Some("abc".into()),
            ..Default::default()
        };
        auth_headers(&acc, &creds, &Profile::for_kind(kind)).unwrap()
    }

    #[test]
    fn user_id_headers_go_to_every_new_api_family_kind_only() {
        for kind in [SiteKind::NewApi, SiteKind::Veloera, SiteKind::Voapi, SiteKind::SuperApi, SiteKind::Unknown] {
            let h = headers(kind, AuthMethod::AccessToken);
            for name in crate::relay::profile::NEW_API_USER_HEADERS {
                assert!(h.iter().any(|(k, v)| k == name && v == "42"), "{kind}: {name}");
            }
            assert!(h.iter().any(|(k, v)| k == "Authorization" && v == "Bearer tok"));
        }
        for kind in [SiteKind::OneApi, SiteKind::OneHub, SiteKind::DoneHub, SiteKind::Sub2api] {
            let h = headers(kind, AuthMethod::AccessToken);
            assert_eq!(h, vec![("Authorization".to_string(), "Bearer tok".to_string())], "{kind}");
        }
        assert_eq!(headers(SiteKind::VoapiV2, AuthMethod::AccessToken)[0].1, "tok", "raw JWT, no Bearer");
        let cookie = headers(SiteKind::Anyrouter, AuthMethod::Cookie);
        assert_eq!(cookie[0], ("Cookie".to_string(), "session=c".to_string()));
        assert!(!cookie.iter().any(|(k, _)| k == "Authorization"));
        assert_eq!(
            headers(SiteKind::NewApi, AuthMethod::ApiKey),
            vec![("Authorization".into(), "Bearer sk-abc".into())]
        );
    }

    #[test]
    fn a_cookie_carries_its_own_user_agent() {
        let acc = AccountRef {
            site_url: "https://x".into(),
            kind: SiteKind::NewApi,
            user_id: "1".into(),
            auth: AuthMethod::Cookie,
        };
        let creds = Credentials {
            cookie: Some("cf_clearance=x".into()),
            user_agent: Some("Browser/1".into()),
            ..Default::default()
        };
        let h = auth_headers(&acc, &creds, &Profile::for_kind(SiteKind::NewApi)).unwrap();
        assert!(h.contains(&("User-Agent".to_string(), "Browser/1".to_string())));
        let token = AccountRef { auth: AuthMethod::AccessToken, ..acc };
        let creds = Credentials { access_token: Some("t".into()), ..creds };
        let h = auth_headers(&token, &creds, &Profile::for_kind(SiteKind::NewApi)).unwrap();
        assert!(!h.iter().any(|(k, _)| k == "User-Agent"), "no cookie sent, no cookie UA");
    }
}
